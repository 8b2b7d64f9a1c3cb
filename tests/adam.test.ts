// Adam (wgsl/adam.wgsl) in real headless Chromium against refAdam (float64), with
// both learning-rate schedules, partial row counts, and moments that follow a row
// reorder; and the schedules' values.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import type { AdamJobGroup, AdamJobResult, AdamJobStep } from '../harness/page/adam_job.ts';
import { ADAM_EPS, learningRate, refAdam, type AdamState, type LrSchedule } from '../harness/splat/adam_ref.ts';
import { mulberry32 } from './helpers/random.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

function randomF32(n: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (next() / 2 ** 32 - 0.5) * 2 * scale);
}

const POSITION_LR: LrSchedule = { kind: 'exponential', lrInit: 1e-3, lrFinal: 2e-5, maxSteps: 6 };

/** Three groups shaped like the Gaussian model's (means, opacity, SH degree 1). */
function makeGroups(capacity: number, seed: number): AdamJobGroup[] {
  return [
    { name: 'means', width: 3, capacity, params: randomF32(capacity * 3, seed), lr: POSITION_LR },
    { name: 'opacity_logits', width: 1, capacity, params: randomF32(capacity, seed + 1), lr: { kind: 'constant', lr: 0.05 } },
    { name: 'sh', width: 12, capacity, params: randomF32(capacity * 12, seed + 2), lr: { kind: 'exponential', lrInit: 0.01, lrFinal: 1e-4, maxSteps: 4, delaySteps: 3, delayMult: 0.1 } },
  ];
}

/** Gradients of mixed scales; some entries exactly 0 (their parameters must not move). */
function makeSteps(groups: AdamJobGroup[], count: number, rows: (s: number) => AdamJobStep['rows'], seed: number): AdamJobStep[] {
  return Array.from({ length: count }, (_, s) => ({
    rows: rows(s),
    grads: Object.fromEntries(
      groups.map((g, gi) => {
        const grad = randomF32(g.capacity * g.width, seed + 31 * s + gi, 10 ** -(gi + s % 3));
        for (let i = 0; i < grad.length; i += 7) grad[i] = 0;
        return [g.name, grad];
      }),
    ),
  }));
}

function rowsFor(rows: AdamJobStep['rows'], g: AdamJobGroup): number {
  return rows === undefined ? g.capacity : typeof rows === 'number' ? rows : (rows[g.name] ?? g.capacity);
}

/** refAdam over the same steps (and reorder), in float64. */
function reference(groups: AdamJobGroup[], steps: AdamJobStep[], reorder?: { afterStep: number; order: Uint32Array }): Record<string, AdamState> {
  const state: Record<string, AdamState> = {};
  for (const g of groups) {
    const n = g.capacity * g.width;
    state[g.name] = { params: Float64Array.from(g.params), m: new Float64Array(n), v: new Float64Array(n) };
  }
  steps.forEach((step, s) => {
    for (const g of groups) {
      state[g.name] = refAdam(state[g.name]!, step.grads[g.name]!, { lr: learningRate(g.lr, s + 1), t: s + 1, count: rowsFor(step.rows, g), width: g.width });
    }
    if (reorder && reorder.afterStep === s + 1) {
      for (const g of groups) {
        const st = state[g.name]!;
        for (const key of ['params', 'm', 'v'] as const) {
          const old = st[key];
          const moved = new Float64Array(old.length);
          reorder.order.forEach((from, to) => moved.set(old.subarray(from * g.width, (from + 1) * g.width), to * g.width));
          st[key] = moved;
        }
      }
    }
  });
  return state;
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

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The GPU result against refAdam: f32 arithmetic against float64. */
function checkResult(t: ExecutionContext, groups: AdamJobGroup[], steps: AdamJobStep[], got: AdamJobResult, reorder?: { afterStep: number; order: Uint32Array }) {
  const want = reference(groups, steps, reorder);
  t.is(got.stepCount, steps.length);
  for (const g of groups) {
    const w = want[g.name]!;
    // A step moves a parameter by at most ~lr; f32 rounding of p dominates. The
    // moments are sums of terms that may cancel: their error scales with the largest.
    assertClose(t, got.params[g.name]!, w.params, 1e-6, 2e-6, `${g.name} params`);
    assertClose(t, got.m[g.name]!, w.m, 1e-6 * maxAbs(w.m), 1e-5, `${g.name} m`);
    assertClose(t, got.v[g.name]!, w.v, 1e-6 * maxAbs(w.v), 1e-5, `${g.name} v`);
    // Step t (from 1) uses the schedule's rate at t, as 3DGS's update_learning_rate(iteration).
    // (Chromium's and Node's Math.exp/sin may differ in the last bit.)
    assertClose(t, got.lrs[g.name]!, steps.map((_, s) => learningRate(g.lr, s + 1)), 0, 1e-14, `${g.name} rates`);
  }
}

const adam = (args: Record<string, unknown>) => session.run<AdamJobResult>('adam', args);

test('six steps of every row match refAdam (constant, exponential and delayed exponential schedules)', async (t) => {
  const groups = makeGroups(50, 1);
  const steps = makeSteps(groups, 6, () => undefined, 100);
  checkResult(t, groups, steps, await adam({ groups, steps }));
});

test('only rows < count move: counts per step and per group, spare rows keep parameters and zero moments', async (t) => {
  const groups = makeGroups(40, 2);
  const counts = [30, 30, 35, { means: 40, opacity_logits: 0, sh: 12 }, 33];
  const steps = makeSteps(groups, counts.length, (s) => counts[s], 200);
  const got = await adam({ groups, steps });
  checkResult(t, groups, steps, got);
  // Rows past the largest count a group ever had: untouched.
  for (const g of groups) {
    const maxRows = Math.max(...steps.map((s) => rowsFor(s.rows, g)));
    const from = maxRows * g.width;
    t.deepEqual(got.params[g.name]!.subarray(from), g.params.subarray(from), `${g.name} rows >= ${maxRows}`);
    t.true(got.m[g.name]!.subarray(from).every((x) => x === 0), `${g.name} m of spare rows`);
    t.true(got.v[g.name]!.subarray(from).every((x) => x === 0), `${g.name} v of spare rows`);
  }
});

test('moments follow a row reorder through adam.state() (what densification will do)', async (t) => {
  const capacity = 24;
  const groups = makeGroups(capacity, 3);
  const steps = makeSteps(groups, 5, () => undefined, 300);
  // A permutation that also duplicates (clone) and drops rows.
  const order = Uint32Array.from({ length: capacity }, (_, r) => (r * 7 + 3) % capacity);
  order[5] = order[4]!;
  const reorder = { afterStep: 3, order };
  checkResult(t, groups, steps, await adam({ groups, steps, reorder }), reorder);
  // Without the moments moving, the result would differ: the check has teeth.
  const stale = reference(groups, steps, undefined);
  const moved = reference(groups, steps, reorder);
  t.notDeepEqual(stale.means!.params, moved.means!.params);
});

test('a long group on a folded 2-D grid (maxWorkgroupsPerDimension 8: 36 workgroups -> 8 x 5)', async (t) => {
  const capacity = 3000;
  const groups: AdamJobGroup[] = [{ name: 'sh', width: 3, capacity, params: randomF32(capacity * 3, 4), lr: POSITION_LR }];
  const steps = makeSteps(groups, 3, (s) => (s === 1 ? 2999 : undefined), 400);
  checkResult(t, groups, steps, await adam({ groups, steps, maxWorkgroupsPerDimension: 8 }));
});

test('custom betas and eps reach the kernel', async (t) => {
  const groups = makeGroups(10, 5).slice(0, 1);
  const steps = makeSteps(groups, 3, () => undefined, 500);
  const got = await adam({ groups, steps, beta1: 0.5, beta2: 0.9, eps: 1e-3 });
  const st = { params: Float64Array.from(groups[0]!.params), m: new Float64Array(30), v: new Float64Array(30) };
  let s: AdamState = st;
  steps.forEach((step, i) => (s = refAdam(s, step.grads.means!, { lr: learningRate(POSITION_LR, i + 1), t: i + 1, count: 10, width: 3, beta1: 0.5, beta2: 0.9, eps: 1e-3 })));
  assertClose(t, got.params.means!, s.params, 1e-6, 2e-6, 'params');
  assertClose(t, got.m.means!, s.m, 1e-6 * maxAbs(s.m), 1e-5, 'm');
});

test('bad groups, rows and schedules are PageJobErrors', async (t) => {
  const groups = makeGroups(8, 6);
  const steps = makeSteps(groups, 1, () => undefined, 600);
  await t.throwsAsync(adam({ groups, steps: makeSteps(groups, 1, () => 9, 600) }), { instanceOf: PageJobError, message: /row count 9 is not in \[0, 8\]/ });
  await t.throwsAsync(adam({ groups, steps: makeSteps(groups, 1, () => ({ scales: 3 }), 600) }), { instanceOf: PageJobError, message: /no parameter group 'scales'/ });
  const badLr = [{ ...groups[0]!, lr: { kind: 'exponential', lrInit: 1e-3, lrFinal: 0, maxSteps: 10 } }];
  await t.throwsAsync(adam({ groups: badLr, steps }), { instanceOf: PageJobError, message: /must both be > 0/ });
  await t.throwsAsync(adam({ groups: [groups[0]!, groups[0]!], steps }), { instanceOf: PageJobError, message: /given twice/ });
});

// --- schedules and refAdam on the CPU ----------------------------------------

test('exponential schedule: lrInit at step 0, geometric mean at mid, lrFinal at and after the end', (t) => {
  const s: LrSchedule = { kind: 'exponential', lrInit: 1.6e-4, lrFinal: 1.6e-6, maxSteps: 30_000 };
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.abs(b);
  t.true(near(learningRate(s, 0), 1.6e-4));
  t.true(near(learningRate(s, 15_000), Math.sqrt(1.6e-4 * 1.6e-6)), `mid ${learningRate(s, 15_000)}`);
  t.true(near(learningRate(s, 7_500), 1.6e-4 * (1.6e-6 / 1.6e-4) ** 0.25));
  t.true(near(learningRate(s, 30_000), 1.6e-6));
  t.true(near(learningRate(s, 90_000), 1.6e-6), 'clamped past maxSteps');
  t.is(learningRate(s, -1), 0);
  t.is(learningRate({ kind: 'exponential', lrInit: 0, lrFinal: 0, maxSteps: 10 }, 5), 0);
  // Monotone decreasing along the way.
  for (let k = 1; k <= 10; k++) t.true(learningRate(s, k * 3000) < learningRate(s, (k - 1) * 3000));
});

test('exponential schedule with delay: delayMult·lr at step 0, full rate from delaySteps on', (t) => {
  const s: LrSchedule = { kind: 'exponential', lrInit: 1e-2, lrFinal: 1e-4, maxSteps: 100, delaySteps: 20, delayMult: 0.01 };
  const plain: LrSchedule = { ...s, delaySteps: 0 };
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.abs(b);
  t.true(near(learningRate(s, 0), 0.01 * 1e-2));
  t.true(near(learningRate(s, 10), (0.01 + 0.99 * Math.sin(Math.PI / 4)) * learningRate(plain, 10)));
  t.true(near(learningRate(s, 20), learningRate(plain, 20)));
  t.true(near(learningRate(s, 100), 1e-4));
});

test('constant schedule ignores the step', (t) => {
  for (const step of [0, 1, 500, 1e9]) t.is(learningRate({ kind: 'constant', lr: 0.05 }, step), 0.05);
});

test('refAdam: the first step moves each parameter by lr·sign(g) (bias correction), zero gradients do not move', (t) => {
  const state = { params: new Float64Array([1, 2, 3, 4]), m: new Float64Array(4), v: new Float64Array(4) };
  const r = refAdam(state, [0.5, -2, 0, 1e-3], { lr: 0.1, t: 1, count: 4, width: 1 });
  t.true(Math.abs(r.params[0]! - 0.9) < 1e-12);
  t.true(Math.abs(r.params[1]! - 2.1) < 1e-12);
  t.is(r.params[2], 3);
  t.true(Math.abs(r.params[3]! - 3.9) < 1e-9, 'a tiny gradient still takes a full step (eps 1e-15)');
  t.is(ADAM_EPS, 1e-15);
  t.deepEqual([...state.params], [1, 2, 3, 4], 'input untouched');
  // count limits the rows.
  const part = refAdam(state, [1, 1, 1, 1], { lr: 0.1, t: 1, count: 1, width: 2 });
  t.deepEqual([...part.params.subarray(2)], [3, 4]);
  t.deepEqual([...part.m.subarray(2)], [0, 0]);
});
