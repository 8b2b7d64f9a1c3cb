// The MLP deformation field (harness/deform/mlp.ts: wgsl/mlp.wgsl, mlp_bwd.wgsl on
// the batched linear layers) in real headless Chromium against refMlpField /
// refMlpFieldBwd (float64): several times and row counts, two frames with their
// own times in one encoder, gradients summed over them, zero heads, bad configs;
// and the references against finite differences.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { encodingWidth, initMlpParams, MLP_PAPER, mlpFieldConfig, mlpLayers, refMlpEncode, refMlpField, refMlpFieldBwd, type MlpFieldConfig } from '../harness/deform/mlp_ref.ts';
import type { DeformArrays, MlpFieldJobArgs, MlpFieldJobResult } from '../harness/page/mlp_job.ts';
import { mulberry32 } from './helpers/random.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const mlpField = (args: MlpFieldJobArgs) => session.run<MlpFieldJobResult>('mlpField', args as unknown as Record<string, unknown>);

function randomF32(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (next() / 2 ** 32 - 0.5) * 2 * scale + shift);
}

/** Canonical rows: means in ±1.5 (the HexPlane bounds' range), log-scales, unnormalised quaternions. */
function gaussians(n: number, seed: number): DeformArrays {
  return { means: randomF32(n * 3, seed, 1.5), log_scales: randomF32(n * 3, seed + 1, 1, -3), quats: randomF32(n * 4, seed + 2) };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** |got − want| ≤ atol + rtol·max|want| elementwise (f32 sums of many terms vs float64). */
function assertClose(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-6) {
  t.is(got.length, want.length, `${what}: length`);
  const tol = atol + rtol * maxAbs(want);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) return t.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (tol ${tol})`);
  }
  t.pass();
}

const GROUPS = ['means', 'log_scales', 'quats'] as const;

/** Parameters with the `mlp.` prefix of the GPU's names stripped (the reference's names). */
function refParams(p: Record<string, Float32Array>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/^mlp\./, ''), v]));
}

const SMALL = { depth: 2, width: 32, skipAt: 0 };
const PRESET = { depth: 4, width: 64, skipAt: 2 };

test('forward matches refMlpField at several times and row counts (D=2 W=32, D=4 W=64)', async (t) => {
  for (const [k, [options, count]] of ([[SMALL, 1], [SMALL, 100], [PRESET, 2049]] as const).entries()) {
    const canonical = gaussians(count, 10 * k);
    const times = [0, 0.37, 1];
    const got = await mlpField({ options, count, canonical, calls: times.map((time) => ({ time })) });
    const p = refParams(got.params);
    times.forEach((time, j) => {
      const want = refMlpField(p, got.config, canonical, count, time);
      for (const g of GROUPS) assertClose(t, got.deformed[j]![g], want[g], `D${options.depth} N${count} t=${time} ${g}`, 2e-6, 1e-6);
    });
    // The deformation is not trivially zero, and depends on t.
    t.true(maxAbs(got.deformed[0]!.means.map((v, i) => v - canonical.means[i]!)) > 1e-3);
    t.true(maxAbs(got.deformed[0]!.means.map((v, i) => v - got.deformed[1]!.means[i]!)) > 1e-5);
  }
});

test('the paper network (D=8 W=256, skip at 4) matches refMlpField', async (t) => {
  const count = 37;
  const canonical = gaussians(count, 5);
  const got = await mlpField({ options: {}, count, canonical, calls: [{ time: 0.5 }] });
  t.is(got.parameterCount, mlpLayers(MLP_PAPER).reduce((s, l) => s + l.outputs * (l.inputs + 1), 0));
  const want = refMlpField(refParams(got.params), got.config, canonical, count, 0.5);
  for (const g of GROUPS) assertClose(t, got.deformed[0]![g], want[g], `paper ${g}`, 2e-6, 1e-6);
});

test('backward: two frames with their own times in one encoder, gradients summed, dCanonical += dOut', async (t) => {
  for (const options of [SMALL, PRESET]) {
    const count = 100;
    const canonical = gaussians(count, 20);
    const dOut = [gaussians(count, 30), gaussians(count, 40)];
    const dCanonical = gaussians(count, 50);
    const times = [0.25, 0.8];
    const got = await mlpField({ options, count, canonical, calls: times.map((time, j) => ({ time, dOut: dOut[j] })), dCanonical });
    const p = refParams(got.params);
    const grads: Record<string, Float64Array> = {};
    times.forEach((time, j) => {
      for (const g of GROUPS) assertClose(t, got.deformed[j]![g], refMlpField(p, got.config, canonical, count, time)[g], `frame ${j} ${g}`, 2e-6, 1e-6);
      const r = refMlpFieldBwd(p, got.config, canonical, count, time, dOut[j]!);
      for (const [k, v] of Object.entries(r.grads)) grads[k] = grads[k] ? grads[k]!.map((x, i) => x + v[i]!) : v;
    });
    t.is(Object.keys(got.grads).length, 2 * (options.depth + 3));
    for (const [k, want] of Object.entries(grads)) assertClose(t, got.grads[`mlp.${k}`]!, want, `D${options.depth} d${k}`, 2e-4);
    for (const g of GROUPS) {
      const want = dCanonical[g].map((v, i) => v + dOut[0]![g][i]! + dOut[1]![g][i]!);
      assertClose(t, got.dCanonical![g], want, `dCanonical.${g}`, 1e-6, 1e-6);
    }
  }
});

test('zeroHeads: deformed == canonical bit for bit, and the heads still get gradients', async (t) => {
  const count = 300;
  const canonical = gaussians(count, 60);
  const got = await mlpField({ options: { ...PRESET, zeroHeads: true }, count, canonical, calls: [{ time: 0.6, dOut: gaussians(count, 61) }] });
  for (const g of GROUPS) t.deepEqual(got.deformed[0]![g], canonical[g], g);
  t.true(maxAbs(got.grads['mlp.warp.weight']!) > 0, 'head weights get a gradient');
  // No gradient reaches the hidden layers through zero heads.
  t.is(maxAbs(got.grads['mlp.layer0.weight']!), 0);
});

test('parameters given to the field are used; Adam groups cover every weight and bias with the schedule', async (t) => {
  const config = mlpFieldConfig({ ...SMALL, seed: 3 });
  const params = initMlpParams(config);
  const count = 20;
  const canonical = gaussians(count, 70);
  const got = await mlpField({ options: { ...SMALL, seed: 99 }, params, count, canonical, calls: [{ time: 0.1 }] });
  for (const [k, v] of Object.entries(params)) t.deepEqual(got.params[`mlp.${k}`], v, k);
  t.deepEqual(
    got.adamGroups,
    mlpLayers(config).flatMap((l) => [
      { name: `mlp.${l.name}.weight`, width: l.inputs, capacity: l.outputs },
      { name: `mlp.${l.name}.bias`, width: l.outputs, capacity: 1 },
    ]),
  );
  const want = refMlpField(params, config, canonical, count, 0.1);
  for (const g of GROUPS) assertClose(t, got.deformed[0]![g], want[g], g, 2e-6, 1e-6);
});

test('bad configs are PageJobErrors naming the field', async (t) => {
  const base = { count: 1, canonical: gaussians(1, 1), calls: [] };
  await t.throwsAsync(mlpField({ ...base, options: { depth: 0 } }), { instanceOf: PageJobError, message: /mlp field: depth 0 must be an integer in \[1, 64\]/ });
  await t.throwsAsync(mlpField({ ...base, options: { depth: 4, skipAt: 3 } }), { instanceOf: PageJobError, message: /mlp field: skipAt 3 must be an integer in \[0, 2\]/ });
  await t.throwsAsync(mlpField({ ...base, options: { width: 2.5 } }), { instanceOf: PageJobError, message: /mlp field: width 2.5/ });
  await t.throwsAsync(mlpField({ ...base, options: { posFreq: 4 } }), { instanceOf: PageJobError, message: /mlp field: unknown option 'posFreq'/ });
  await t.throwsAsync(mlpField({ ...base, options: { lr: { kind: 'exponential', lrInit: 1e-3, lrFinal: 0, maxSteps: 10 } } }), { instanceOf: PageJobError, message: /mlp field: lr/ });
});

// --- references on the CPU ----------------------------------------------------

test('encoding: width, order (x, sin, cos per band, then t), no π', (t) => {
  const c = mlpFieldConfig({ posFreqs: 2, timeFreqs: 1 });
  t.deepEqual(encodingWidth(c), { pos: 15, time: 3, total: 18 });
  t.deepEqual(encodingWidth(MLP_PAPER).total, 63 + 13);
  const e = refMlpEncode(c, [0.1, 0.2, 0.3], 1, 0.5);
  const want = [0.1, 0.2, 0.3, ...[0.1, 0.2, 0.3].map(Math.sin), ...[0.1, 0.2, 0.3].map(Math.cos), ...[0.2, 0.4, 0.6].map(Math.sin), ...[0.2, 0.4, 0.6].map(Math.cos), 0.5, Math.sin(0.5), Math.cos(0.5)];
  t.deepEqual([...e], want);
});

test('refMlpFieldBwd matches central finite differences of refMlpField (with and without skip)', (t) => {
  const count = 3;
  for (const options of [{ depth: 3, width: 5, skipAt: 0, posFreqs: 2, timeFreqs: 1 }, { depth: 2, width: 4, skipAt: null, posFreqs: 1, timeFreqs: 2 }]) {
    const c: MlpFieldConfig = mlpFieldConfig(options);
    const p0 = initMlpParams(c);
    const p: Record<string, Float64Array> = Object.fromEntries(Object.entries(p0).map(([k, v]) => [k, Float64Array.from(v)]));
    const canonical = { means: Float64Array.from(randomF32(count * 3, 1)), log_scales: Float64Array.from(randomF32(count * 3, 2)), quats: Float64Array.from(randomF32(count * 4, 3)) };
    const dOut = { means: Float64Array.from(randomF32(count * 3, 4)), log_scales: Float64Array.from(randomF32(count * 3, 5)), quats: Float64Array.from(randomF32(count * 4, 6)) };
    const time = 0.3;
    const loss = (q: Record<string, Float64Array>, cn: typeof canonical) => {
      const d = refMlpField(q, c, cn, count, time);
      let s = 0;
      for (const g of GROUPS) d[g].forEach((v, i) => (s += v * dOut[g][i]!));
      return s;
    };
    const { grads, dCanonical } = refMlpFieldBwd(p, c, canonical, count, time, dOut);
    const h = 1e-6;
    const near = (a: number, b: number, what: string) => t.true(Math.abs(a - b) <= 1e-6 * (1 + Math.abs(b)), `${what}: ${a} vs fd ${b}`);
    for (const [name, v] of Object.entries(p)) {
      // Every bias entry, and a spread of weights.
      for (let i = 0; i < v.length; i += name.endsWith('bias') ? 1 : 7) {
        const f = (e: number) => loss({ ...p, [name]: v.map((x, j) => (j === i ? x + e : x)) }, canonical);
        near(grads[name]![i]!, (f(h) - f(-h)) / (2 * h), `${name}[${i}]`);
      }
    }
    // The canonical gradient is the identity path only: the encoded mean is detached.
    for (const g of ['log_scales', 'quats'] as const) {
      for (let i = 0; i < canonical[g].length; i++) {
        const f = (e: number) => loss(p, { ...canonical, [g]: canonical[g].map((x, j) => (j === i ? x + e : x)) });
        near(dCanonical[g][i]!, (f(h) - f(-h)) / (2 * h), `d${g}[${i}]`);
      }
    }
    t.deepEqual([...dCanonical.means], [...dOut.means]);
  }
});

test('mlpFieldConfig: paper defaults, lrSteps sets the schedule length, presets-size configs', (t) => {
  t.deepEqual(mlpFieldConfig({}), MLP_PAPER);
  const c = mlpFieldConfig({ depth: 4, width: 64, skipAt: 2, lrSteps: 300 });
  t.deepEqual(c.lr, { kind: 'exponential', lrInit: 8e-4, lrFinal: 1.6e-6, maxSteps: 300 });
  t.deepEqual(mlpLayers(c).map((l) => [l.name, l.inputs, l.outputs]), [
    ['layer0', 76, 64],
    ['layer1', 64, 64],
    ['layer2', 64, 64],
    ['layer3', 140, 64],
    ['warp', 64, 3],
    ['rotation', 64, 4],
    ['scaling', 64, 3],
  ]);
  t.throws(() => mlpFieldConfig({ depth: 1 }), { message: /mlp field: skipAt 4 needs depth >= 2/ });
  t.notThrows(() => mlpFieldConfig({ depth: 1, skipAt: null }));
});
