// The HexPlane deformation field (wgsl/hexplane.wgsl, hexplane_bwd.wgsl, the
// decoder's linear layers) in real headless Chromium against the float64
// reference refHexPlaneField / refHexPlaneFieldBwd, whose gradients are checked
// against central finite differences first. Also: zero-initialised heads give
// the canonical rows bit for bit, two times in one encoder, points outside the
// AABB, several scales, config errors, and the initialisation.
import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import {
  HEXPLANE_MAX_SCALES,
  HEXPLANE_PAPER,
  hexPlaneGroupSizes,
  hexPlaneLayout,
  initHexPlaneParams,
  LAYER_LABELS,
  PLANE_AXES,
  PLANE_GROUP,
  refCell,
  refHexPlaneField,
  refHexPlaneFieldBwd,
  resolveHexPlaneConfig,
  type HexPlaneConfig,
  type HexPlaneParams,
  type RefDeformRows,
  type RefHexPlaneInput,
} from '../harness/deform/hexplane_ref.ts';
import type { HexPlaneBenchRow, HexPlaneJobCall, HexPlaneJobResult, HexPlaneRows } from '../harness/page/hexplane_job.ts';
import { seededRandom } from '../harness/pipeline/rng.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

/** Small enough for float64 finite differences; two scales, uneven axes. */
const SMALL: HexPlaneConfig = {
  ...HEXPLANE_PAPER,
  resolution: [4, 5, 3, null],
  scales: [1, 2],
  features: 4,
  width: 8,
  bounds: { min: [-1, -1.5, -0.8], max: [1, 1.2, 1.1] },
  seed: 3,
};
const FRAMES = 5;

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array<ArrayBuffer> {
  const next = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** Initial parameters with random heads and time planes (at init both are constant, which would hide mistakes). */
function randomParams(config: HexPlaneConfig, frames: number, seed: number): HexPlaneParams {
  const p = initHexPlaneParams(config, frames);
  const layout = hexPlaneLayout(config, frames);
  layout.res.forEach((r, s) =>
    PLANE_AXES.forEach(([a, b], q) => {
      if (b !== 3) return;
      const o = layout.offsets[s]![q]!;
      p[PLANE_GROUP]!.set(uniform(r[a] * r[b] * layout.features, seed + 10 * s + q, 0.5, 1.5), o);
    }),
  );
  let k = 0;
  for (const name of Object.keys(p)) if (name !== PLANE_GROUP && !name.startsWith(LAYER_LABELS.feature)) p[name] = uniform(p[name]!.length, seed + 100 + k++, -0.5, 0.5);
  return p;
}

/** Rows with means inside the bounds, a few outside (every axis, both sides). */
function makeRows(count: number, seed: number, config: HexPlaneConfig, outside = true): HexPlaneRows {
  const { min, max } = config.bounds;
  const next = seededRandom(seed);
  const means = new Float32Array(count * 3);
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < 3; k++) {
      const lo = min[k]!;
      const hi = max[k]!;
      // Every 7th Gaussian 30 % of the extent past one end.
      const u = outside && n % 7 === 3 ? (k === n % 3 ? -0.3 : 1.3) : next();
      means[3 * n + k] = lo + u * (hi - lo);
    }
  }
  return { means, log_scales: uniform(count * 3, seed + 1, -3, 0), quats: uniform(count * 4, seed + 2, -1, 1) };
}

function input(config: HexPlaneConfig, frames: number, params: Record<string, ArrayLike<number>>, canonical: RefDeformRows, count: number, time: number): RefHexPlaneInput {
  return { layout: hexPlaneLayout(config, frames), bounds: config.bounds, params, canonical, count, time };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function assertClose(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string) {
  t.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= atol + rtol * Math.abs(want[i]!))) {
      t.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (atol ${atol}, rtol ${rtol})`);
      return;
    }
  }
  t.pass();
}

/** Σ dOut · deformed, the scalar the backward differentiates. */
function objective(x: RefHexPlaneInput, dOut: RefDeformRows): number {
  const out = refHexPlaneField(x);
  let s = 0;
  for (const k of ['means', 'log_scales', 'quats'] as const) for (let i = 0; i < out[k].length; i++) s += out[k][i]! * dOut[k][i]!;
  return s;
}

const field = (args: Record<string, unknown>) => session.run<HexPlaneJobResult>('hexplaneField', args);

// --- reference on the CPU ----------------------------------------------------

test('refHexPlaneFieldBwd matches central differences of refHexPlaneField for every group (planes, feature layer, residual branches, heads)', (t) => {
  const count = 9;
  const rows = makeRows(count, 11, SMALL);
  const dOut = makeRows(count, 12, SMALL, false);
  const params = randomParams(SMALL, FRAMES, 13);
  // float64 copies so the differences are not limited by f32 storage.
  const p64: Record<string, Float64Array> = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)]));
  const x = input(SMALL, FRAMES, p64, rows, count, 0.37);
  const { grads, dCanonical } = refHexPlaneFieldBwd(x, dOut);
  const h = 1e-6;
  const next = seededRandom(14);
  for (const [name, v] of Object.entries(p64)) {
    // Every entry of small groups, 40 random ones of the planes (most planes entries are untouched: their gradient is 0 both ways).
    const picks = v.length <= 64 ? [...v.keys()] : Array.from({ length: 40 }, () => Math.floor(next() * v.length));
    if (name === PLANE_GROUP) for (let i = 0; i < v.length && picks.length < 80; i++) if (grads[name]![i] !== 0) picks.push(i);
    let worst = 0;
    const scale = maxAbs(grads[name]!) + 1e-12;
    for (const i of picks) {
      const keep = v[i]!;
      v[i] = keep + h;
      const up = objective(x, dOut);
      v[i] = keep - h;
      const down = objective(x, dOut);
      v[i] = keep;
      worst = Math.max(worst, Math.abs((up - down) / (2 * h) - grads[name]![i]!) / scale);
    }
    t.true(worst < 1e-6, `${name}: worst relative error ${worst}`);
    t.true(maxAbs(grads[name]!) > 0, `${name}: gradient is not all zero`);
  }
  // The input position is detached: dCanonical is dOut exactly.
  t.deepEqual([...dCanonical.means], [...dOut.means]);
  t.deepEqual([...dCanonical.quats], [...dOut.quats]);
});

test('refCell: align_corners=True texel centres at the ends, clamped outside, one-texel axes', (t) => {
  t.deepEqual(refCell(0, 5), { i0: 0, i1: 1, a: 0 });
  t.deepEqual(refCell(1, 5), { i0: 3, i1: 4, a: 1 });
  t.deepEqual(refCell(0.5, 5), { i0: 2, i1: 3, a: 0 });
  t.deepEqual(refCell(0.3, 5), { i0: 1, i1: 2, a: 0.3 * 4 - 1 });
  t.deepEqual(refCell(-0.2, 5), { i0: 0, i1: 1, a: 0 });
  t.deepEqual(refCell(7, 5), { i0: 3, i1: 4, a: 1 });
  t.deepEqual(refCell(0.6, 1), { i0: 0, i1: 0, a: 0 });
});

test('initialisation: spatial planes in [0.1, 0.5], time planes 1, heads 0, feature layer U(±1/√in); seeded; time resolution = frames', (t) => {
  const layout = hexPlaneLayout(SMALL, FRAMES);
  t.deepEqual(layout.res, [
    [4, 5, 3, 5],
    [8, 10, 6, 5],
  ]);
  const p = initHexPlaneParams(SMALL, FRAMES);
  layout.res.forEach((r, s) =>
    PLANE_AXES.forEach(([a, b], q) => {
      const o = layout.offsets[s]![q]!;
      const v = p[PLANE_GROUP]!.subarray(o, o + r[a] * r[b] * layout.features);
      if (b === 3) t.true(v.every((x) => x === 1), `scale ${s} plane ${q}: ones`);
      else t.true(v.every((x) => x >= 0.1 && x <= 0.5) && new Set(v).size > v.length / 2, `scale ${s} plane ${q}: U[0.1, 0.5]`);
    }),
  );
  const bound = 1 / Math.sqrt(layout.featureDim);
  t.true(p[`${LAYER_LABELS.feature}.weight`]!.every((x) => Math.abs(x) <= bound) && maxAbs(p[`${LAYER_LABELS.feature}.weight`]!) > bound / 2);
  for (const [name, v] of Object.entries(p)) if (name !== PLANE_GROUP && !name.startsWith(LAYER_LABELS.feature)) t.true(v.every((x) => x === 0), `${name} zero`);
  t.deepEqual(initHexPlaneParams(SMALL, FRAMES), p, 'same seed, same parameters');
  t.notDeepEqual(initHexPlaneParams({ ...SMALL, seed: 4 }, FRAMES)[PLANE_GROUP], p[PLANE_GROUP]);
  // Paper config: [32, 32, 32, T], 32 features, width 64.
  const paper = hexPlaneLayout(HEXPLANE_PAPER, 32);
  t.deepEqual(paper.res, [[32, 32, 32, 32]]);
  t.deepEqual(hexPlaneLayout({ ...HEXPLANE_PAPER, resolution: [16, 16, 16, 0] }, 7).res, [[16, 16, 16, 7]], 't = 0 also means frames');
  const sizes = hexPlaneGroupSizes(paper);
  t.is(sizes[PLANE_GROUP], (3 * 32 * 32 + 3 * 32 * 32) * 32);
  t.is(sizes[`${LAYER_LABELS.feature}.weight`], 64 * 32);
});

test('config errors name the field', (t) => {
  const bad = (patch: Partial<HexPlaneConfig>, frames: number, re: RegExp) => t.throws(() => resolveHexPlaneConfig({ ...SMALL, ...patch }, frames), { message: re });
  bad({ resolution: [4, 1, 3, 5] }, 5, /resolution\.y: 1 must be an integer >= 2/);
  bad({ resolution: [4, 4, 4, null] }, 0, /frames: 0 must be an integer >= 1/);
  bad({ resolution: [4, 4, 4, 2.5] }, 5, /resolution\.t/);
  bad({ scales: [] }, 5, /scales: needs 1 to 4/);
  bad({ scales: [1, 2, 4, 8, 16] }, 5, /scales/);
  bad({ features: 6 }, 5, /features: 6 must be a positive multiple of 4/);
  bad({ width: 0 }, 5, /width/);
  bad({ bounds: { min: [0, 0, 1], max: [1, 1, 1] } }, 5, /bounds: axis z/);
  bad({ seed: -1 }, 5, /seed/);
  t.is(HEXPLANE_MAX_SCALES, Number(/const MAX_SCALES: u32 = (\d+)u;/.exec(readFileSync(new URL('../wgsl/hexplane.wgsl', import.meta.url), 'utf8'))![1]));
});

// --- GPU against the reference -------------------------------------------------

test('zero-initialised heads: deformed == canonical bit for bit (inside and outside the AABB); only the output layers get gradients', async (t) => {
  const count = 40;
  const canonical = makeRows(count, 21, SMALL);
  const dOut = makeRows(count, 22, SMALL, false);
  const got = await field({ config: SMALL, frames: FRAMES, canonical, count, calls: [{ time: 0.6, dOut }] });
  for (const k of ['means', 'log_scales', 'quats'] as const) t.deepEqual(got.outs[0]![k], canonical[k], k);
  t.true(got.grads[PLANE_GROUP]!.every((x) => x === 0), 'planes');
  t.true(got.grads[`${LAYER_LABELS.feature}.weight`]!.every((x) => x === 0), 'feature layer');
  t.true(maxAbs(got.grads['hexplane.position.weight']!) > 0, 'position head');
  t.true(maxAbs(got.grads['hexplane.rotation.bias']!) > 0, 'rotation head');
  t.deepEqual(got.params, initHexPlaneParams(SMALL, FRAMES), 'the page initialises as initHexPlaneParams');
  const sizes = hexPlaneGroupSizes(hexPlaneLayout(SMALL, FRAMES));
  t.is(got.parameterCount, Object.values(sizes).reduce((a, b) => a + b, 0));
});

/** GPU grads and outputs against the reference (f32 against float64). */
function checkAgainstRef(t: ExecutionContext, config: HexPlaneConfig, frames: number, params: HexPlaneParams, canonical: HexPlaneRows, count: number, calls: HexPlaneJobCall[], got: HexPlaneJobResult) {
  const want: Record<string, Float64Array> = {};
  calls.forEach((call, i) => {
    const x = input(config, frames, params, canonical, count, call.time);
    const out = refHexPlaneField(x);
    for (const k of ['means', 'log_scales', 'quats'] as const) assertClose(t, got.outs[i]![k], out[k], 2e-5, 2e-5, `call ${i} ${k}`);
    if (!call.dOut) return;
    const { grads } = refHexPlaneFieldBwd(x, call.dOut);
    for (const [k, v] of Object.entries(grads)) {
      const acc = (want[k] ??= new Float64Array(v.length));
      v.forEach((g, j) => (acc[j] = acc[j]! + g));
    }
  });
  for (const [k, v] of Object.entries(want)) assertClose(t, got.grads[k]!, v, 2e-5 * maxAbs(v), 1e-4, `grad ${k}`);
}

test('forward and backward match the reference: two scales, random heads, points outside the AABB, dCanonical = dOut', async (t) => {
  const count = 70;
  const canonical = makeRows(count, 31, SMALL);
  const dOut = makeRows(count, 32, SMALL, false);
  const params = randomParams(SMALL, FRAMES, 33);
  const calls = [{ time: 0.3, dOut }];
  const got = await field({ config: SMALL, frames: FRAMES, canonical, count, calls, params, dCanonical: true });
  t.deepEqual(got.params, params, 'upload');
  checkAgainstRef(t, SMALL, FRAMES, params, canonical, count, calls, got);
  for (const k of ['means', 'log_scales', 'quats'] as const) t.deepEqual(got.dCanonical![k], dOut[k], `dCanonical.${k}`);
});

test('two calls at different times in ONE encoder: each forward sees its own time, gradients accumulate (= two submits after reserve())', async (t) => {
  const count = 50;
  const canonical = makeRows(count, 41, SMALL);
  const params = randomParams(SMALL, FRAMES, 43);
  const calls = [
    { time: 0.1, dOut: makeRows(count, 42, SMALL, false) },
    { time: 0.85, dOut: makeRows(count, 44, SMALL, false) },
  ];
  const one = await field({ config: SMALL, frames: FRAMES, canonical, count, calls, params, oneEncoder: true });
  checkAgainstRef(t, SMALL, FRAMES, params, canonical, count, calls, one);
  t.notDeepEqual(one.outs[0]!.means, one.outs[1]!.means, 'the two times deform differently');
  // Created for 10 rows and grown by reserve().
  const two = await field({ config: SMALL, frames: FRAMES, canonical, count, calls, params, rows: 10, reserve: count });
  t.deepEqual(one.outs, two.outs, 'outputs identical to separate submits');
  // Time planes are summed without atomics: bitwise equal however the work was submitted.
  const layout = hexPlaneLayout(SMALL, FRAMES);
  for (let s = 0; s < layout.res.length; s++) {
    for (const q of [3, 4, 5]) {
      const r = layout.res[s]!;
      const o = layout.offsets[s]![q]!;
      const n = r[PLANE_AXES[q]![0]] * r[3] * layout.features;
      t.deepEqual(one.grads[PLANE_GROUP]!.subarray(o, o + n), two.grads[PLANE_GROUP]!.subarray(o, o + n), `scale ${s} plane ${q} gradient`);
    }
  }
});

test('paper-shaped field (one scale, 32 features, width 64, T = frames) at t = 0 and 1, sampling on a folded 2-D grid (38 workgroups -> 19 x 2)', async (t) => {
  const config: HexPlaneConfig = { ...HEXPLANE_PAPER, resolution: [8, 8, 8, null], seed: 5 };
  const frames = 4;
  const count = 300;
  const canonical = makeRows(count, 51, config);
  const params = randomParams(config, frames, 53);
  const calls = [
    { time: 0, dOut: makeRows(count, 52, config, false) },
    { time: 1, dOut: makeRows(count, 54, config, false) },
  ];
  const got = await field({ config, frames, canonical, count, calls, params, oneEncoder: true, maxWorkgroupsPerDimension: 20 });
  checkAgainstRef(t, config, frames, params, canonical, count, calls, got);
});

test('bad config, count and time are PageJobErrors naming the field', async (t) => {
  const canonical = makeRows(4, 61, SMALL);
  await t.throwsAsync(field({ config: { ...SMALL, features: 5 }, frames: FRAMES, canonical, count: 4, calls: [] }), { instanceOf: PageJobError, message: /hexplane config: features: 5/ });
  await t.throwsAsync(field({ config: SMALL, frames: FRAMES, canonical, count: 4, rows: 3, calls: [{ time: 0.5 }] }), { instanceOf: PageJobError, message: /count 4 is not in \[0, 3\]/ });
  await t.throwsAsync(field({ config: SMALL, frames: FRAMES, canonical, count: 4, calls: [{ time: 1.5 }] }), { instanceOf: PageJobError, message: /time 1.5 is not in \[0, 1\]/ });
  await t.throwsAsync(field({ config: SMALL, frames: FRAMES, canonical, count: 4, calls: [], params: { 'hexplane.planes': new Float32Array(3) } }), { instanceOf: PageJobError, message: /group 'hexplane.planes' needs a Float32Array/ });
});

test('hexplaneBench reports forward and backward times per label', async (t) => {
  const rows = await session.run<HexPlaneBenchRow[]>('hexplaneBench', { cases: [{ label: 'tiny', config: { ...SMALL, resolution: [4, 4, 4, 0] }, frames: 3, count: 64 }], iterations: 1 });
  t.is(rows.length, 1);
  const r = rows[0]!;
  t.true(r.forwardMs > 0 && r.backwardMs > 0, `${r.forwardMs} / ${r.backwardMs} ms`);
  if (r.method === 'timestamp') for (const label of ['hexplane', 'linear', 'hexplane_bwd', 'linear_bwd']) t.true(label in r.kernels, label);
});
