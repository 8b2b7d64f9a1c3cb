// Image losses (wgsl/loss.wgsl) in real headless Chromium against refLoss (float64),
// and refLoss's own gradient against central finite differences of its value.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { WgslLayouts } from '../harness/gpu/layout.ts';
import type { LossBenchResult, LossJobResult } from '../harness/page/loss_job.ts';
import { SSIM_C1, SSIM_C2, SSIM_SIGMA, SSIM_WINDOW_RADIUS, refLoss, ssimWindow1d, type RefLossWeights } from '../harness/splat/loss_ref.ts';
import { mulberry32 } from './helpers/random.ts';

const TERMS = ['rgbMse', 'rgbL1', 'dssim', 'alphaMse'] as const;
type Term = (typeof TERMS)[number];
// Sizes as [width, height]: a power of two and an odd, non-square one.
const SIZES: [number, number][] = [
  [64, 64],
  [37, 23],
];

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

interface Images {
  width: number;
  height: number;
  render: Float32Array;
  target: Float32Array;
}

/**
 * A smooth pattern with noise (so SSIM sees structure), and a target that
 * differs from it by a shift, a contrast change and noise. Values in [0,1].
 * The mask mixes exact 0s, exact 1s and fractions.
 */
function makeImages(width: number, height: number, seed: number): { img: Images; mask: Float32Array } {
  const next = mulberry32(seed);
  const u = () => next() / 2 ** 32;
  const n = width * height;
  const render = new Float32Array(n * 4);
  const target = new Float32Array(n * 4);
  const mask = new Float32Array(n);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      for (let c = 0; c < 4; c++) {
        const base = 0.5 + 0.3 * Math.sin(0.31 * x + 0.7 * c) * Math.cos(0.23 * y - 0.4 * c);
        render[4 * p + c] = clamp(base + 0.15 * (u() - 0.5));
        const shifted = 0.5 + 0.25 * Math.sin(0.31 * (x + 1.5) + 0.7 * c) * Math.cos(0.23 * (y - 1) - 0.4 * c);
        target[4 * p + c] = clamp(shifted + 0.1 * (u() - 0.5));
      }
      const r = u();
      mask[p] = r < 0.2 ? 0 : r < 0.4 ? 1 : u();
    }
  }
  return { img: { width, height, render, target }, mask };
}

const loss = (args: Record<string, unknown>) => session.run<LossJobResult>('loss', args);

/** |got − want| <= atol + rtol·|want| everywhere; reports the worst entry. */
function assertClose(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string) {
  t.is(got.length, want.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    const excess = err - (atol + rtol * Math.abs(want[i]!));
    if (!(excess <= worstExcess) || Number.isNaN(got[i]!)) {
      worst = i;
      worstExcess = Number.isNaN(got[i]!) ? Infinity : excess;
    }
  }
  t.is(worst, -1, worst >= 0 ? `${what}: entry ${worst} got ${got[worst]}, want ${want[worst]} (atol ${atol}, rtol ${rtol})` : undefined);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

// f32 inputs, f32 arithmetic and sums of thousands of terms on the GPU against
// float64: values to ~1e-5 relative, gradients to 1e-4 of their largest entry.
const VALUE_RTOL = 2e-5;
const VALUE_ATOL = 1e-7;
const GRAD_RTOL = 1e-3;
const GRAD_ATOL_OF_MAX = 1e-4;

function checkAgainstRef(t: ExecutionContext, img: Images, mask: Float32Array | null, weights: RefLossWeights, got: LossJobResult, calls = 1, gradInit?: Float32Array) {
  const want = refLoss({ ...img, mask, weights });
  const v = got.values;
  t.is(v.calls, calls, 'calls');
  const close = (name: string, g: number, w: number) =>
    t.true(Math.abs(g - w) <= VALUE_ATOL + VALUE_RTOL * Math.abs(w), `${name}: got ${g}, want ${w} (rel ${Math.abs(g - w) / Math.abs(w)})`);
  close('rgbMse', v.rgbMse, calls * want.rgbMse);
  close('rgbL1', v.rgbL1, calls * want.rgbL1);
  close('alphaMse', v.alphaMse, calls * want.alphaMse);
  // The GPU skips the D-SSIM kernels (and reports 0) when its weight is 0.
  close('dssim', v.dssim, weights.dssim ? calls * want.dssim : 0);
  close('total', v.total, calls * want.total);
  close('maskSum', v.maskSum, calls * want.maskSum);
  const wantGrad = Float64Array.from(want.grad!, (g, i) => calls * g + (gradInit ? gradInit[i]! : 0));
  const gmax = maxAbs(want.grad!) * calls;
  t.true(gmax > 0 || !Object.values(weights).some(Boolean), 'the reference gradient is not all zero');
  assertClose(t, got.grad, wantGrad, GRAD_ATOL_OF_MAX * gmax, GRAD_RTOL, 'gradient');
}

// --- the WGSL constants are the reference's ---------------------------------

test('wgsl/loss.wgsl declares the SSIM constants and window of loss_ref.ts', (t) => {
  const src = readFileSync(new URL('../wgsl/loss.wgsl', import.meta.url), 'utf8');
  const l = new WgslLayouts(src);
  t.is(l.constant('WINDOW_RADIUS'), SSIM_WINDOW_RADIUS);
  t.is(l.constant('SSIM_SIGMA'), SSIM_SIGMA);
  t.is(Math.fround(l.constant('SSIM_C1')), Math.fround(SSIM_C1));
  t.is(Math.fround(l.constant('SSIM_C2')), Math.fround(SSIM_C2));
  const m = /const GAUSS = array<f32, (\d+)>\(([^)]*)\)/.exec(src);
  t.truthy(m, 'GAUSS literal');
  const taps = m![2]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  t.is(taps.length, 2 * SSIM_WINDOW_RADIUS + 1);
  t.is(Number(m![1]), taps.length);
  const want = ssimWindow1d();
  taps.forEach((g, i) => t.true(Math.abs(g - want[i]!) < 1e-9, `tap ${i}: ${g} vs ${want[i]}`));
});

// --- each term, plain and masked, at two sizes: GPU vs refLoss ---------------

SIZES.forEach(([w, h], si) => {
  for (const term of TERMS) {
    for (const masked of [false, true]) {
      test(`${term}${masked ? ' (masked)' : ''} at ${w}x${h}: value and gradient match refLoss`, async (t) => {
        const { img, mask } = makeImages(w, h, 100 + si);
        const weights = { [term]: 1.7 };
        const got = await loss({ ...img, mask: masked ? mask : undefined, weights });
        checkAgainstRef(t, img, masked ? mask : null, weights, got);
      });
    }
  }
});

test('all four terms at once (3DGS-like weights, masked, 37x23 on a folded 2-D grid)', async (t) => {
  const { img, mask } = makeImages(37, 23, 7);
  const weights = { rgbMse: 0.5, rgbL1: 0.8, dssim: 0.4, alphaMse: 3 };
  const got = await loss({ ...img, weights, maxWorkgroupsPerDimension: 4 });
  checkAgainstRef(t, img, null, weights, got);
  const gotMasked = await loss({ ...img, mask, weights, maxWorkgroupsPerDimension: 4 });
  checkAgainstRef(t, img, mask, weights, gotMasked);
});

test('calls accumulate: three calls on one encoder add three gradients to gradInit and three values', async (t) => {
  const { img, mask } = makeImages(37, 23, 8);
  const next = mulberry32(9);
  const gradInit = Float32Array.from({ length: img.width * img.height * 4 }, () => (next() / 2 ** 32 - 0.5) * 1e-3);
  const weights = { rgbMse: 1, dssim: 0.5, alphaMse: 0.25 };
  const got = await loss({ ...img, mask, weights, gradInit, calls: 3 });
  checkAgainstRef(t, img, mask, weights, got, 3, gradInit);
});

test('an all-zero mask gives zero values and leaves the gradient untouched (no 0/0)', async (t) => {
  const { img } = makeImages(37, 23, 10);
  const gradInit = Float32Array.from({ length: img.width * img.height * 4 }, (_, i) => i * 1e-6);
  const got = await loss({ ...img, mask: new Float32Array(img.width * img.height), weights: { rgbMse: 1, rgbL1: 1, dssim: 1, alphaMse: 1 }, gradInit });
  t.deepEqual({ ...got.values }, { rgbMse: 0, rgbL1: 0, dssim: 0, alphaMse: 0, total: 0, maskSum: 0, calls: 1 });
  t.deepEqual(got.grad, gradInit);
});

test('ssim: true reports D-SSIM at weight 0 without adding its gradient', async (t) => {
  const { img } = makeImages(64, 64, 11);
  const got = await loss({ ...img, weights: { rgbMse: 2 }, ssim: true });
  const want = refLoss({ ...img, weights: { rgbMse: 2 } });
  t.true(Math.abs(got.values.dssim - want.dssim) <= VALUE_RTOL * want.dssim, `dssim ${got.values.dssim} vs ${want.dssim}`);
  t.true(want.dssim > 0.01 && want.dssim < 0.5, `a meaningful SSIM: dssim ${want.dssim}`);
  assertClose(t, got.grad, want.grad!, GRAD_ATOL_OF_MAX * maxAbs(want.grad!), GRAD_RTOL, 'gradient (MSE only)');
});

test('identical images: every term is 0 and SSIM is exactly 1 up to f32', async (t) => {
  const { img } = makeImages(37, 23, 12);
  const got = await loss({ ...img, target: img.render, weights: { rgbMse: 1, rgbL1: 1, dssim: 1, alphaMse: 1 } });
  t.is(got.values.rgbMse, 0);
  t.is(got.values.rgbL1, 0);
  t.is(got.values.alphaMse, 0);
  t.true(Math.abs(got.values.dssim) < 1e-6, `dssim ${got.values.dssim}`);
  t.true(maxAbs(got.grad) < 1e-7, `gradient at the optimum: max ${maxAbs(got.grad)}`);
});

test('bad inputs are PageJobErrors naming the argument', async (t) => {
  const { img } = makeImages(37, 23, 13);
  await t.throwsAsync(loss({ ...img, render: img.render.subarray(4), weights: { rgbMse: 1 } }), { instanceOf: PageJobError, message: /args\.render holds/ });
  await t.throwsAsync(loss({ ...img, mask: new Float32Array(5), weights: { rgbMse: 1 } }), { instanceOf: PageJobError, message: /args\.mask holds/ });
  await t.throwsAsync(loss({ ...img, target: new Float64Array(img.target), weights: { rgbMse: 1 } }), { instanceOf: PageJobError, message: /args\.target must be a Float32Array/ });
  // NaN would cross the page boundary as null (JSON); a non-number weight is refused.
  await t.throwsAsync(loss({ ...img, weights: { rgbMse: 'heavy' } }), { instanceOf: PageJobError, message: /rgbMse = heavy is not finite/ });
  await t.throwsAsync(loss({ ...img, width: 0, weights: {} }), { instanceOf: PageJobError, message: /positive integers/ });
});

test('one forward+backward at 128x128, all terms (timing logged, not asserted)', async (t) => {
  const r = await session.run<LossBenchResult>('lossBench', { width: 128, height: 128, iterations: 5 });
  t.is(r.gpuMs.length, 5);
  t.true(r.gpuMs.every((ms) => Number.isFinite(ms) && ms >= 0));
  t.log(`128x128 loss fwd+bwd: GPU ${r.gpuMedianMs.toFixed(2)} ms median (${r.timing}), wall ${r.wallMedianMs.toFixed(2)} ms`);
});

// --- refLoss against finite differences of itself (float64) -----------------

/** Entries to probe: spread over the image, borders included, the right channels for the term. */
function probeEntries(width: number, height: number, term: Term, seed: number): number[] {
  const next = mulberry32(seed);
  const pixels = [0, width - 1, (height - 1) * width, width * height - 1];
  for (let i = 0; i < 8; i++) pixels.push(next() % (width * height));
  return pixels.map((p, i) => 4 * p + (term === 'alphaMse' ? 3 : i % 3));
}

SIZES.forEach(([w, h], si) => {
  for (const term of TERMS) {
    for (const masked of [false, true]) {
      test(`refLoss ${term}${masked ? ' (masked)' : ''} gradient at ${w}x${h} matches central differences (rel < 1e-3)`, (t) => {
        const { img, mask } = makeImages(w, h, 200 + si);
        const render = Float64Array.from(img.render);
        const weights = { [term]: 1.3 };
        const input = { width: w, height: h, render, target: img.target, mask: masked ? mask : null, weights };
        const an = refLoss(input).grad!;
        const gmax = maxAbs(an);
        t.true(gmax > 0);
        for (const e of probeEntries(w, h, term, 300 + si)) {
          // L1 has a kink at r = t: keep the step well inside one side.
          const d = Math.abs(render[e]! - img.target[e]!);
          const step = term === 'rgbL1' ? Math.min(1e-5, d / 4) : 1e-5;
          const at = (v: number) => {
            const saved = render[e]!;
            render[e] = v;
            const total = refLoss(input, { grad: false }).total;
            render[e] = saved;
            return total;
          };
          const fd = (at(render[e]! + step) - at(render[e]! - step)) / (2 * step);
          const rel = Math.abs(fd - an[e]!) / Math.max(Math.abs(an[e]!), 1e-2 * gmax);
          t.true(rel < 1e-3, `entry ${e}: analytic ${an[e]}, central difference ${fd}, rel ${rel}`);
        }
      });
    }
  }
});

test('refLoss: known values on tiny images', (t) => {
  // 2x1, one channel differs by 0.5 at one pixel: MSE = 0.25/6, L1 = 0.5/6.
  const render = new Float64Array([0.5, 0.2, 0.2, 1, 0.1, 0.1, 0.1, 0]);
  const target = new Float64Array([0, 0.2, 0.2, 0.5, 0.1, 0.1, 0.1, 0]);
  const r = refLoss({ width: 2, height: 1, render, target, weights: { rgbMse: 1 } });
  t.true(Math.abs(r.rgbMse - 0.25 / 6) < 1e-15);
  t.true(Math.abs(r.rgbL1 - 0.5 / 6) < 1e-15);
  t.true(Math.abs(r.alphaMse - 0.25 / 2) < 1e-15);
  t.is(r.maskSum, 2);
  t.true(Math.abs(r.grad![0]! - (2 * 0.5) / 6) < 1e-15);
  // Masking out the differing pixel removes every term but D-SSIM's window reach.
  const masked = refLoss({ width: 2, height: 1, render, target, mask: [0, 1], weights: { rgbMse: 1, alphaMse: 1 } });
  t.is(masked.rgbMse, 0);
  t.is(masked.alphaMse, 0);
  t.is(masked.maskSum, 1);
  // Identical images: SSIM = 1 exactly.
  const same = refLoss({ width: 2, height: 1, render, target: render, weights: { dssim: 1 } });
  t.true(Math.abs(same.dssim) < 1e-15);
  t.true(Math.abs(ssimWindow1d().reduce((a, b) => a + b, 0) - 1) < 1e-15);
});
