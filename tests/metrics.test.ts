// Image metrics on the GPU (wgsl/psnr.wgsl, ssim.wgsl, temporal_consistency.wgsl,
// metrics_composite.wgsl, metrics_reduce.wgsl) in real headless Chromium against
// their float64 CPU references of the same names (harness/metrics/image_metrics.ts),
// plain and masked, on random and structured images, with the edge cases (identical
// images -> PSNR +Infinity, empty mask -> NaN, out-of-range renders clamped).
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { WgslLayouts } from '../harness/gpu/layout.ts';
import { refFrameChange, refMetricsComposite, refPsnr, refSsim, refTemporalConsistency, summarizeTemporal, unpackViewScores, viewSequences } from '../harness/metrics/image_metrics.ts';
import type { ImageMetricsJobResult, SetScoresPacked } from '../harness/page/metrics_job.ts';
import { SSIM_C1, SSIM_C2, SSIM_SIGMA, SSIM_WINDOW_RADIUS, refLoss, ssimWindow1d } from '../harness/splat/loss_ref.ts';
import { mulberry32 } from './helpers/random.ts';
import { cameraAt, randomScene } from './helpers/splat_scenes.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

interface Got {
  psnr: number;
  ssim: number;
  psnrMasked: number | null;
  ssimMasked: number | null;
  change: { render: number; gt: number; error: number } | null;
}

/** The job's packed rows (Infinity and NaN survive the page boundary only in typed arrays); NaN there means 'not computed'. */
async function metrics(args: Record<string, unknown>): Promise<ImageMetricsJobResult & { rows: Got[] }> {
  const r = await session.run<ImageMetricsJobResult>('imageMetrics', args);
  const rows: Got[] = [];
  for (let i = 0; i < r.views.length; i += 7) {
    const [psnr, ssim, pm, sm, cr, cg, ce] = r.views.subarray(i, i + 7);
    rows.push({ psnr: psnr!, ssim: ssim!, psnrMasked: pm!, ssimMasked: sm!, change: Number.isNaN(cr!) ? null : { render: cr!, gt: cg!, error: ce! } });
  }
  return { ...r, rows };
}

// f32 sums of a few thousand terms against float64.
const PSNR_ATOL = 2e-4; // dB
const SSIM_ATOL = 2e-6;
const RTOL = 2e-5;

function close(t: ExecutionContext, got: number | null | undefined, want: number, atol: number, what: string) {
  t.true(got !== null && got !== undefined && Math.abs(got - want) <= atol + RTOL * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

function uniform(seed: number) {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}

/** Uniform noise in [lo, hi] per value (alpha 1). */
function noise(w: number, h: number, seed: number, lo = 0, hi = 1): Float32Array {
  const u = uniform(seed);
  const out = new Float32Array(w * h * 4);
  for (let i = 0; i < out.length; i++) out[i] = i % 4 === 3 ? 1 : lo + (hi - lo) * u();
  return out;
}

/** A smooth pattern (phase shifts it), plus a little noise: what SSIM is for. */
function pattern(w: number, h: number, phase: number, seed: number): Float32Array {
  const u = uniform(seed);
  const out = new Float32Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = 4 * (y * w + x);
      for (let c = 0; c < 3; c++) out[p + c] = Math.min(1, Math.max(0, 0.5 + 0.35 * Math.sin(0.3 * (x + phase) + c) * Math.cos(0.2 * y - 0.5 * c) + 0.05 * (u() - 0.5)));
      out[p + 3] = 1;
    }
  }
  return out;
}

/** Mixes exact 0s, exact 1s and fractions. */
function mask(w: number, h: number, seed: number): Float32Array {
  const u = uniform(seed);
  return Float32Array.from({ length: w * h }, () => {
    const r = u();
    return r < 0.3 ? 0 : r < 0.6 ? 1 : u();
  });
}

/** A premultiplied target: a disc of coverage (soft edge) over transparent black, colour inside. */
function premultipliedDisc(w: number, h: number, seed: number): Float32Array {
  const base = pattern(w, h, 2, seed);
  const out = new Float32Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = 4 * (y * w + x);
      const r = Math.hypot(x - w / 2, y - h / 2) / (0.35 * Math.min(w, h));
      const a = Math.min(1, Math.max(0, (1.2 - r) * 3));
      for (let c = 0; c < 3; c++) out[p + c] = base[p + c]! * a;
      out[p + 3] = a;
    }
  }
  return out;
}

test('WGSL constants: SSIM window and constants are loss_ref.ts\'s; MetricParams is one layout in every metrics shader', (t) => {
  const read = (f: string) => readFileSync(new URL(`../wgsl/${f}.wgsl`, import.meta.url), 'utf8');
  const src = read('ssim');
  const l = new WgslLayouts(src);
  t.is(l.constant('WINDOW_RADIUS'), SSIM_WINDOW_RADIUS);
  t.is(l.constant('SSIM_SIGMA'), SSIM_SIGMA);
  t.is(Math.fround(l.constant('SSIM_C1')), Math.fround(SSIM_C1));
  t.is(Math.fround(l.constant('SSIM_C2')), Math.fround(SSIM_C2));
  const taps = /const GAUSS = array<f32, 11>\(([^)]*)\)/.exec(src)![1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const want = ssimWindow1d();
  t.is(taps.length, want.length);
  taps.forEach((g, i) => t.true(Math.abs(g - want[i]!) < 1e-9, `tap ${i}`));
  const layouts = ['metrics_composite', 'metrics_reduce', 'psnr', 'ssim', 'temporal_consistency'].map((f) => {
    const s = new WgslLayouts(read(f)).struct('MetricParams');
    return s.fields.map((x) => `${x.name}:${x.type}@${x.offset}`).join(',') + `/${s.size}`;
  });
  t.is(new Set(layouts).size, 1, layouts.join(' | '));
  const reduce = new WgslLayouts(read('metrics_reduce'));
  t.is(reduce.constant('BLOCK'), reduce.constant('WORKGROUP_SIZE') * reduce.constant('RUN_LENGTH'));
});

test('PSNR and SSIM, plain and masked: GPU matches refPsnr/refSsim on random and structured images (37x23 folded grid, 64x64)', async (t) => {
  const cases = [
    { w: 37, h: 23, render: noise(37, 23, 1), target: noise(37, 23, 2), what: 'random' },
    { w: 37, h: 23, render: pattern(37, 23, 0, 3), target: pattern(37, 23, 1.5, 4), what: 'structured 37x23' },
    { w: 64, h: 64, render: pattern(64, 64, 0, 5), target: pattern(64, 64, 0.5, 6), what: 'structured 64x64' },
    // Out of range renders are clamped, as a saved image would be.
    { w: 64, h: 64, render: noise(64, 64, 7, -0.3, 1.3), target: pattern(64, 64, 0, 8), what: 'out-of-range render' },
  ];
  for (const c of cases) {
    const m = mask(c.w, c.h, 9);
    const got = await metrics({ width: c.w, height: c.h, renders: [c.render, c.render], targets: [c.target, c.target], masks: [null, m], maxWorkgroupsPerDimension: c.w === 37 ? 4 : undefined });
    const [plain, masked] = got.rows;
    const psnr = refPsnr(c.render, c.target);
    const ssim = refSsim(c.render, c.target, c.w, c.h);
    close(t, plain!.psnr, psnr, PSNR_ATOL, `${c.what} psnr`);
    close(t, plain!.ssim, ssim, SSIM_ATOL, `${c.what} ssim`);
    t.true(Number.isNaN(plain!.psnrMasked) && Number.isNaN(plain!.ssimMasked), 'no mask: no masked value');
    close(t, masked!.psnr, psnr, PSNR_ATOL, `${c.what} psnr (masked call, plain value)`);
    close(t, masked!.psnrMasked, refPsnr(c.render, c.target, m), PSNR_ATOL, `${c.what} psnr masked`);
    close(t, masked!.ssimMasked, refSsim(c.render, c.target, c.w, c.h, m), SSIM_ATOL, `${c.what} ssim masked`);
    t.true(ssim > -1 && ssim < 1 && Number.isFinite(psnr), `${c.what}: a meaningful value (ssim ${ssim}, psnr ${psnr})`);
  }
});

test('refSsim is the SSIM of the D-SSIM loss reference (1 - 2 dssim), refPsnr the closed form on constant images', (t) => {
  const r = pattern(23, 17, 0, 10);
  const g = pattern(23, 17, 1, 11);
  const { dssim } = refLoss({ width: 23, height: 17, render: r, target: g, weights: { dssim: 1 } }, { grad: false });
  t.true(Math.abs(refSsim(r, g, 23, 17) - (1 - 2 * dssim)) < 1e-12);
  const a = new Float32Array(5 * 3 * 4).fill(0.25);
  const b = new Float32Array(5 * 3 * 4).fill(0.75);
  t.true(Math.abs(refPsnr(a, b) - -20 * Math.log10(0.5)) < 1e-9);
  // Only the masked pixels count: pixel 0 differs by 0.5, pixel 1 matches.
  const two = new Float32Array([0.5, 0.5, 0.5, 1, 0.2, 0.2, 0.2, 1]);
  const twoT = new Float32Array([0, 0, 0, 1, 0.2, 0.2, 0.2, 1]);
  t.true(Math.abs(refPsnr(two, twoT, [1, 0]) - -10 * Math.log10(0.25)) < 1e-9);
  t.is(refPsnr(two, twoT, [0, 1]), Infinity);
  t.true(Number.isNaN(refPsnr(two, twoT, [0, 0])));
});

test('premultiplied targets: composited on white on the GPU as refMetricsComposite, alpha as the mask of the masked metrics', async (t) => {
  const [w, h] = [40, 30];
  const target = premultipliedDisc(w, h, 12);
  const render = pattern(w, h, 0.7, 13);
  const got = await metrics({ width: w, height: h, renders: [render], targets: [target], premultiplied: true });
  const want = refMetricsComposite(target);
  t.deepEqual(Array.from(got.masks[0]!), Array.from(want.mask));
  let worst = 0;
  for (let i = 0; i < want.rgba.length; i++) worst = Math.max(worst, Math.abs(got.composited[0]![i]! - want.rgba[i]!));
  t.true(worst < 1e-6, `composite max error ${worst}`);
  const v = got.rows[0]!;
  close(t, v.psnr, refPsnr(render, want.rgba), PSNR_ATOL, 'psnr vs composite');
  close(t, v.ssim, refSsim(render, want.rgba, w, h), SSIM_ATOL, 'ssim vs composite');
  close(t, v.psnrMasked, refPsnr(render, want.rgba, want.mask), PSNR_ATOL, 'psnr masked by alpha');
  close(t, v.ssimMasked, refSsim(render, want.rgba, w, h, want.mask), SSIM_ATOL, 'ssim masked by alpha');
  // The background is white: a white render scores perfectly outside the disc.
  t.true(want.rgba[0] === 1 && want.mask[0] === 0);
});

test('temporal consistency of a sequence: each frame pair matches refFrameChange, the summary refTemporalConsistency', async (t) => {
  const [w, h] = [32, 24];
  const T = 5;
  // The truth moves steadily; the renders move less and flicker with noise.
  const targets = Array.from({ length: T }, (_, k) => pattern(w, h, 1.2 * k, 20 + k));
  const renders = Array.from({ length: T }, (_, k) => {
    const img = pattern(w, h, 0.6 * k, 30 + k);
    const n = noise(w, h, 40 + k, -0.1, 0.1);
    return img.map((v, i) => (i % 4 === 3 ? 1 : v + n[i]!));
  });
  const got = await metrics({ width: w, height: h, renders, targets, sequence: true });
  t.is(got.rows[0]!.change, null, 'the first frame has no predecessor');
  for (let k = 1; k < T; k++) {
    const want = refFrameChange(renders[k]!, renders[k - 1]!, targets[k]!, targets[k - 1]!);
    const c = got.rows[k]!.change!;
    close(t, c.render, want.render, 1e-7, `pair ${k} render change`);
    close(t, c.gt, want.gt, 1e-7, `pair ${k} gt change`);
    close(t, c.error, want.error, 1e-7, `pair ${k} error`);
  }
  const want = refTemporalConsistency(renders, targets)!;
  const mine = summarizeTemporal(got.rows.slice(1).map((v) => v.change!))!;
  t.is(mine.pairs, T - 1);
  close(t, mine.ratio, want.ratio!, 1e-6, 'ratio');
  close(t, mine.diff, want.diff, 1e-6, 'diff');
  t.true(want.ratio! > 0 && want.ratio! < 1.5, `ratio ${want.ratio}`);
  // A frozen render against a moving truth: ratio 0; identical sequences: ratio 1, error 0.
  const frozen = refTemporalConsistency([renders[0]!, renders[0]!], targets.slice(0, 2))!;
  t.is(frozen.render, 0);
  t.is(frozen.ratio, 0);
  const same = refTemporalConsistency(targets, targets)!;
  t.true(Math.abs(same.ratio! - 1) < 1e-12 && same.error === 0 && same.diff === 0);
  t.is(refTemporalConsistency([renders[0]!], [targets[0]!]), null, 'one frame: no pair');
});

test('identical images: PSNR is +Infinity (plain and masked), SSIM 1; an all-zero mask gives NaN masked values', async (t) => {
  const [w, h] = [37, 23];
  const img = pattern(w, h, 0, 50);
  const got = await metrics({ width: w, height: h, renders: [img, img], targets: [img, img], masks: [mask(w, h, 51), new Float32Array(w * h)] });
  const [a, b] = got.rows;
  t.is(a!.psnr, Infinity);
  t.is(a!.psnrMasked, Infinity);
  t.true(Math.abs(a!.ssim! - 1) < 1e-6 && Math.abs(a!.ssimMasked! - 1) < 1e-6, `ssim ${a!.ssim}, masked ${a!.ssimMasked}`);
  t.is(refPsnr(img, img), Infinity);
  t.true(Number.isNaN(b!.psnrMasked!) && Number.isNaN(b!.ssimMasked!), `empty mask: ${b!.psnrMasked}, ${b!.ssimMasked}`);
  t.true(Number.isNaN(refSsim(img, img, w, h, new Float32Array(w * h))));
});

test('viewSequences: frames grouped by camera pose in time order; lone views are no sequence', (t) => {
  const cam = (az: number, time: number) => ({ c2w: [[Math.cos(az), 0, Math.sin(az), 0], [0, 1, 0, 0], [0, 0, 1, 2], [0, 0, 0, 1]], fovx: 0.8, width: 8, height: 8, time });
  const cams = [cam(0, 0.5), cam(1, 0), cam(0, 0), cam(1, 1), cam(2, 0.3), cam(0, 1)];
  t.deepEqual(viewSequences(cams), [[2, 0, 5], [1, 3]]);
  t.deepEqual(viewSequences([cam(0, 0), cam(1, 0.5), cam(2, 1)]), []);
});

test('bad inputs are PageJobErrors naming the argument', async (t) => {
  const img = noise(8, 8, 60);
  await t.throwsAsync(metrics({ width: 8, height: 8, renders: [img.subarray(4)], targets: [img] }), { instanceOf: PageJobError, message: /args\.renders\[0\] must be a Float32Array of 256 floats/ });
  await t.throwsAsync(metrics({ width: 8, height: 8, renders: [img], targets: [img, img] }), { instanceOf: PageJobError, message: /args\.targets must be an array of 1/ });
  await t.throwsAsync(metrics({ width: 8, height: 8, renders: [img], targets: [img], masks: [new Float32Array(3)] }), { instanceOf: PageJobError, message: /args\.masks/ });
  await t.throwsAsync(metrics({ width: 0, height: 8, renders: [], targets: [] }), { instanceOf: PageJobError, message: /positive integers/ });
});

test('the pipeline\'s evaluation path (evaluateScene): GPU scores of each render match the CPU references on the renders it returns', async (t) => {
  const [w, h] = [32, 24];
  const params = randomScene(300, 70, { spread: 0.6, logScale: [-3, -2] });
  const front = cameraAt([0, 0, 2.5], w, h);
  const side = cameraAt([2.5, 0.3, 0], w, h);
  // The front view's frames listed out of time order and interleaved with a lone side view.
  const cameras = [
    { ...front, time: 0.5 },
    { ...side, time: 0.2 },
    { ...front, time: 0 },
    { ...front, time: 1 },
  ];
  const targets = cameras.map((_, k) => premultipliedDisc(w, h, 80 + k));
  const packed = await session.run<Record<string, SetScoresPacked>>('evaluateStatic', {
    params,
    background: [1, 1, 1],
    sets: { s: { cameras, targets, previews: [0, 1, 2, 3] } },
  });
  const got = packed.s!;
  const views = unpackViewScores(got.views);
  t.deepEqual(got.previews.map((p) => p.index), [0, 1, 2, 3]);
  const renders = got.previews.map((p) => p.rgba);
  const gt = targets.map((x) => refMetricsComposite(x));
  views.forEach((v, i) => {
    close(t, v.psnr, refPsnr(renders[i]!, gt[i]!.rgba), PSNR_ATOL, `view ${i} psnr`);
    close(t, v.ssim, refSsim(renders[i]!, gt[i]!.rgba, w, h), SSIM_ATOL, `view ${i} ssim`);
    close(t, v.psnrMasked, refPsnr(renders[i]!, gt[i]!.rgba, gt[i]!.mask), PSNR_ATOL, `view ${i} psnr masked`);
    close(t, v.ssimMasked, refSsim(renders[i]!, gt[i]!.rgba, w, h, gt[i]!.mask), SSIM_ATOL, `view ${i} ssim masked`);
    t.is(v.lpips, null, 'no model');
  });
  t.true(renders[0]!.some((x, i) => i % 4 !== 3 && x < 0.9), 'the render shows the Gaussians, not only the background');
  // Temporal: the front sequence is views 2 -> 0 -> 3 (times 0, 0.5, 1).
  t.is(views[2]!.change, null, 'first frame of the sequence');
  t.is(views[1]!.change, null, 'lone view');
  const want = refTemporalConsistency([renders[2]!, renders[0]!, renders[3]!], [gt[2]!.rgba, gt[0]!.rgba, gt[3]!.rgba])!;
  t.is(got.temporal!.pairs, 2);
  close(t, got.temporal!.gt, want.gt, 1e-7, 'temporal gt');
  close(t, got.temporal!.render, want.render, 1e-7, 'temporal render (a static scene: 0)');
  close(t, got.temporal!.error, want.error, 1e-7, 'temporal error');
  t.true(want.gt > 0);
});
