// Densification and opacity reset (wgsl/densify.wgsl) in real headless Chromium
// against refDensify / refOpacityReset: clone, split, prune, all mixed, capacity
// overflow, Adam moments following their rows, determinism; and the reference's
// own behaviour on hand-built cases.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession } from '../harness/browser/session.ts';
import type { DensifyJobArgs, DensifyJobResult } from '../harness/page/densify_job.ts';
import {
  densifyThresholds,
  OPACITY_RESET_LOGIT,
  refDensify,
  refOpacityReset,
  splitNormals,
  SPLIT_SCALE_DIVISOR,
  type DensifyOptions,
  type DensifyResult,
  groupWidth,
  PARAM_GROUPS,
  type Moments,
} from '../harness/splat/densify_ref.ts';
import type { GaussianParams, ParamGroup } from '../harness/splat/model.ts';
import { mulberry32 } from './helpers/random.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const densify = (args: DensifyJobArgs) => session.run<DensifyJobResult>('densify', args as unknown as Record<string, unknown>);

/** percentDense · sceneExtent = 0.1: log-scales below ln 0.1 clone, above split. */
const BASE_OPTIONS: DensifyOptions = { gradThreshold: 0.05, percentDense: 0.1, sceneExtent: 1, minOpacity: 0.005, seed: 7 };

interface CaseSpec {
  n: number;
  shDegree: number;
  seed: number;
  /** Range of the per-row largest world scale (the other axes are smaller). */
  scale: [number, number];
  /** Fraction of rows whose mean gradient is above the threshold. */
  hot: number;
  /** Fraction of rows with opacity below minOpacity. */
  faint: number;
}

interface Case {
  params: GaussianParams;
  moments: Moments;
  gradAccum: Float32Array;
  gradCount: Float32Array;
}

/** Random Gaussians whose decisions are never borderline (values keep clear of every threshold). */
function makeCase(spec: CaseSpec): Case {
  const rnd = mulberry32(spec.seed);
  const u = () => rnd() / 2 ** 32;
  const between = (a: number, b: number) => a + (b - a) * u();
  const { n, shDegree } = spec;
  const p = { count: n, shDegree } as GaussianParams;
  for (const g of PARAM_GROUPS) p[g] = new Float32Array(n * groupWidth(g, shDegree));
  const gradAccum = new Float32Array(n);
  const gradCount = new Float32Array(n);
  const t = BASE_OPTIONS.gradThreshold;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) p.means[3 * i + k] = between(-1, 1);
    const largest = Math.log(Math.exp(between(Math.log(spec.scale[0]), Math.log(spec.scale[1]))));
    for (let k = 0; k < 3; k++) p.log_scales[3 * i + k] = largest - (k === i % 3 ? 0 : between(0.05, 1.5));
    for (let k = 0; k < 4; k++) p.quats[4 * i + k] = between(-1, 1);
    p.quats[4 * i] = p.quats[4 * i]! + 1.5; // never near zero length
    p.opacity_logits[i] = u() < spec.faint ? between(-9, -5.5) : between(-5, 4);
    for (let k = 0; k < 3 * (shDegree + 1) ** 2; k++) p.sh[i * 3 * (shDegree + 1) ** 2 + k] = between(-1, 1);
    const views = Math.floor(between(0, 6));
    const mean = u() < spec.hot ? between(1.2, 5) * t : between(0, 0.8) * t;
    gradCount[i] = views;
    gradAccum[i] = mean * Math.max(views, 1);
  }
  const moments: Moments = {};
  for (const g of PARAM_GROUPS) {
    const w = groupWidth(g, shDegree);
    moments[g] = { m: Float32Array.from({ length: n * w }, () => between(-1, 1)), v: Float32Array.from({ length: n * w }, () => between(0, 1)) };
  }
  return { params: p, moments, gradAccum, gradCount };
}

function assertAllZero(t: ExecutionContext, a: ArrayLike<number>, what: string) {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== 0) {
      t.fail(`${what}[${i}] = ${a[i]}, want 0`);
      return;
    }
  }
}

/** GPU result vs refDensify: decisions, order and copies exact; split children's means within f32 rounding. */
function checkAgainstRef(t: ExecutionContext, c: Case, got: DensifyJobResult, want: DensifyResult, capacity: number) {
  t.deepEqual(got.stats[0], want.stats, 'stats');
  const n = want.params.count;
  t.is(got.params.count, n, 'count');
  for (const g of PARAM_GROUPS) {
    if (g === 'means') continue;
    t.deepEqual(got.params[g], want.params[g], `${g} bit-exact`);
  }
  let worst = 0;
  want.sources.forEach((s, o) => {
    const ls = c.params.log_scales.subarray(3 * s.row, 3 * s.row + 3);
    // Split children's normals go through log/sqrt/cos/sin, which WGSL bounds loosely
    // (cos and sin to 2^-11 absolute; SwiftShader's are off by ~2e-4); everything else is exact.
    const tol = s.kind === 'split-child' ? 1e-6 + 5e-3 * Math.exp(Math.max(...ls)) : 0;
    for (let k = 0; k < 3; k++) {
      const err = Math.abs(got.params.means[3 * o + k]! - want.params.means[3 * o + k]!);
      if (s.kind === 'split-child') worst = Math.max(worst, err / Math.exp(Math.max(...ls)));
      if (!(err <= tol)) t.fail(`means row ${o} (${s.kind} of ${s.row}) axis ${k}: got ${got.params.means[3 * o + k]}, want ${want.params.means[3 * o + k]}`);
    }
  });
  t.log(`split means: worst error ${worst.toExponential(2)} x the parent's largest scale`);
  t.deepEqual(Object.keys(got.m).sort(), Object.keys(want.moments).sort(), 'groups with moments');
  for (const g of Object.keys(want.moments) as ParamGroup[]) {
    const w = groupWidth(g, c.params.shDegree);
    const wm = want.moments[g]!;
    t.deepEqual(got.m[g]!.subarray(0, n * w), wm.m, `${g} m`);
    t.deepEqual(got.v[g]!.subarray(0, n * w), wm.v, `${g} v`);
    assertAllZero(t, got.m[g]!.subarray(n * w), `${g} m past the count`);
    assertAllZero(t, got.v[g]!.subarray(n * w), `${g} v past the count`);
  }
  for (const g of PARAM_GROUPS) {
    const w = groupWidth(g, c.params.shDegree);
    assertAllZero(t, got.paramsFull[g].subarray(n * w), `${g} params past the count`);
    t.is(got.paramsFull[g].length, capacity * w);
  }
  assertAllZero(t, got.gradAccum, 'gradAccum after densify');
  assertAllZero(t, got.gradCount, 'gradCount after densify');
}

async function runCase(t: ExecutionContext, spec: CaseSpec, capacity: number, options: DensifyOptions = BASE_OPTIONS, extra: Partial<DensifyJobArgs> = {}) {
  const c = makeCase(spec);
  const got = await densify({ params: c.params, moments: c.moments, gradAccum: c.gradAccum, gradCount: c.gradCount, capacity, options, ...extra });
  const want = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, options, capacity);
  checkAgainstRef(t, c, got, want, capacity);
  return { c, got, want };
}

test('clone only: small hot rows gain an identical copy with zero moments', async (t) => {
  const { want } = await runCase(t, { n: 120, shDegree: 1, seed: 1, scale: [0.005, 0.08], hot: 0.4, faint: 0 }, 240);
  t.true(want.stats.cloned > 20 && want.stats.split === 0 && want.stats.pruned === 0 && want.stats.skipped === 0, JSON.stringify(want.stats));
  t.is(want.stats.countAfter, 120 + want.stats.cloned);
});

test('split only: large hot rows become two children sampled inside them', async (t) => {
  const { want } = await runCase(t, { n: 120, shDegree: 0, seed: 2, scale: [0.15, 0.6], hot: 0.4, faint: 0 }, 240);
  t.true(want.stats.split > 20 && want.stats.cloned === 0 && want.stats.pruned === 0, JSON.stringify(want.stats));
  t.is(want.stats.countAfter, 120 + want.stats.split);
});

test('prune only: faint rows and (with maxScaleFraction) huge rows are removed, the rest keep their order', async (t) => {
  const options = { ...BASE_OPTIONS, maxScaleFraction: 0.3 };
  const { want } = await runCase(t, { n: 150, shDegree: 2, seed: 3, scale: [0.01, 0.6], hot: 0, faint: 0.3 }, 150, options);
  t.true(want.stats.pruned > 50 && want.stats.cloned + want.stats.split === 0, JSON.stringify(want.stats));
  t.true(want.sources.every((s, o) => o === 0 || s.row > want.sources[o - 1]!.row), 'survivors in source order');
});

test('mixed: clone, split and prune together, new rows pruned too (SH degree 3)', async (t) => {
  const options = { ...BASE_OPTIONS, maxScaleFraction: 0.45 };
  const { c, want } = await runCase(t, { n: 200, shDegree: 3, seed: 4, scale: [0.01, 0.6], hot: 0.5, faint: 0.2 }, 400, options);
  const s = want.stats;
  t.true(s.cloned > 10 && s.split > 10 && s.pruned > 10 && s.skipped === 0, JSON.stringify(s));
  // A parent too big to keep whose children are small enough: parent gone, children kept.
  const largest = (row: number) => Math.max(...c.params.log_scales.subarray(3 * row, 3 * row + 3));
  t.true(want.sources.some((src) => src.kind === 'split-child' && largest(src.row) > Math.log(0.45)), 'children of a too-big parent survive');
});

test('capacity overflow: rows densify in row order until one does not fit; the rest stay, reported as skipped', async (t) => {
  const spec: CaseSpec = { n: 100, shDegree: 1, seed: 5, scale: [0.01, 0.6], hot: 0.6, faint: 0.1 };
  const { want } = await runCase(t, spec, 115);
  t.true(want.stats.skipped > 10, JSON.stringify(want.stats));
  t.true(want.stats.countAfter <= 115 && want.stats.countAfter >= 113, `filled to capacity (${want.stats.countAfter})`);
  // No room at all: nothing grows, pruning still applies.
  const full = await runCase(t, spec, 100);
  t.true(full.want.stats.countAfter <= 100 && full.want.stats.skipped > 30, JSON.stringify(full.want.stats));
});

test('Adam moments follow their rows: kept and cloned originals carry m and v of every group, new rows start at zero', async (t) => {
  const spec: CaseSpec = { n: 90, shDegree: 1, seed: 6, scale: [0.01, 0.6], hot: 0.5, faint: 0.2 };
  const c = makeCase(spec);
  // Each source row's moments name it, so a moved row is recognisable without the reference's moments.
  for (const g of PARAM_GROUPS) {
    const w = groupWidth(g, 1);
    c.moments[g] = { m: Float32Array.from({ length: 90 * w }, (_, j) => Math.floor(j / w) + 1), v: Float32Array.from({ length: 90 * w }, (_, j) => -(Math.floor(j / w) + 1) - (j % w) / 64) };
  }
  const got = await densify({ params: c.params, moments: c.moments, gradAccum: c.gradAccum, gradCount: c.gradCount, capacity: 200, options: BASE_OPTIONS });
  const { sources } = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, BASE_OPTIONS, 200);
  t.is(got.params.count, sources.length);
  const kinds = new Set(sources.map((s) => s.kind));
  t.deepEqual([...kinds].sort(), ['clone-copy', 'clone-original', 'keep', 'split-child']);
  for (const g of PARAM_GROUPS) {
    const w = groupWidth(g, 1);
    sources.forEach((s, o) => {
      const carried = s.kind === 'keep' || s.kind === 'clone-original';
      for (let k = 0; k < w; k++) {
        const m = got.m[g]![o * w + k]!;
        const v = got.v[g]![o * w + k]!;
        const wantM = carried ? s.row + 1 : 0;
        const wantV = carried ? -(s.row + 1) - k / 64 : 0;
        if (m !== wantM || v !== wantV) {
          t.fail(`${g} row ${o} (${s.kind} of ${s.row}) float ${k}: m ${m} v ${v}, want ${wantM} ${wantV}`);
          return;
        }
      }
    });
  }
  t.pass();
});

test('only the groups Adam optimises have moments; a u32 view count (the renderer\'s visCount) works the same', async (t) => {
  const c = makeCase({ n: 80, shDegree: 0, seed: 8, scale: [0.01, 0.6], hot: 0.5, faint: 0.2 });
  const adamGroups: ParamGroup[] = ['means', 'opacity_logits'];
  const moments: Moments = { means: c.moments.means!, opacity_logits: c.moments.opacity_logits! };
  const gradCount = Uint32Array.from(c.gradCount);
  const got = await densify({ params: c.params, moments, adamGroups, gradAccum: c.gradAccum, gradCount, capacity: 160, options: BASE_OPTIONS });
  const want = refDensify(c.params, moments, c.gradAccum, gradCount, BASE_OPTIONS, 160);
  t.deepEqual(Object.keys(got.m).sort(), ['means', 'opacity_logits']);
  checkAgainstRef(t, { ...c, moments }, got, { ...want, moments: want.moments }, 160);
  t.true(got.gradCount instanceof Uint32Array);
});

test('folded 2-D grids give the same result', async (t) => {
  const spec: CaseSpec = { n: 700, shDegree: 0, seed: 9, scale: [0.01, 0.6], hot: 0.3, faint: 0.1 };
  await runCase(t, spec, 1000, { ...BASE_OPTIONS, seed: 123 }, { maxWorkgroupsPerDimension: 2 });
});

test('deterministic: the same seed gives the same bits, another seed moves only the split children', async (t) => {
  const c = makeCase({ n: 100, shDegree: 1, seed: 10, scale: [0.01, 0.6], hot: 0.5, faint: 0.1 });
  const args: DensifyJobArgs = { params: c.params, moments: c.moments, gradAccum: c.gradAccum, gradCount: c.gradCount, capacity: 200, options: BASE_OPTIONS };
  const a = await densify(args);
  const b = await densify(args);
  t.deepEqual(b, a);
  const other = await densify({ ...args, seed: 99 });
  const want = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, BASE_OPTIONS, 200);
  t.deepEqual(other.stats, a.stats);
  for (const g of PARAM_GROUPS) if (g !== 'means') t.deepEqual(other.params[g], a.params[g]);
  want.sources.forEach((s, o) => {
    const same = [0, 1, 2].every((k) => other.params.means[3 * o + k] === a.params.means[3 * o + k]);
    if (same !== (s.kind !== 'split-child')) t.fail(`means row ${o} (${s.kind}): ${same ? 'unchanged' : 'changed'} with another seed`);
  });
});

test('opacity reset caps opacity at 0.01 and zeroes the opacity moments only; passes are timed as opacity_reset and densify', async (t) => {
  const c = makeCase({ n: 60, shDegree: 0, seed: 11, scale: [0.01, 0.6], hot: 0, faint: 0.2 });
  const got = await densify({ params: c.params, moments: c.moments, gradAccum: c.gradAccum, gradCount: c.gradCount, capacity: 80, options: BASE_OPTIONS, ops: ['opacity_reset'], timed: true });
  const want = refOpacityReset(c.params, c.moments);
  t.deepEqual(got.params.opacity_logits, want.params.opacity_logits);
  t.true(want.params.opacity_logits.some((x, i) => x !== c.params.opacity_logits[i]) && want.params.opacity_logits.some((x, i) => x === c.params.opacity_logits[i]));
  t.true(want.params.opacity_logits.every((x) => x <= OPACITY_RESET_LOGIT));
  assertAllZero(t, got.m.opacity_logits!, 'opacity m');
  assertAllZero(t, got.v.opacity_logits!, 'opacity v');
  for (const g of PARAM_GROUPS) {
    if (g === 'opacity_logits') continue;
    t.deepEqual(got.params[g], c.params[g], `${g} untouched`);
    t.deepEqual(got.m[g]!.subarray(0, c.moments[g]!.m.length), c.moments[g]!.m, `${g} m untouched`);
  }
  t.deepEqual(got.stats, []);
  t.deepEqual(got.gradAccum.subarray(0, 60), c.gradAccum, 'opacity reset leaves the gradient statistics');
  t.deepEqual(got.timingLabels, ['opacity_reset']);
  const both = await densify({ params: c.params, gradAccum: c.gradAccum, gradCount: c.gradCount, capacity: 80, options: BASE_OPTIONS, ops: ['densify', 'opacity_reset'], timed: true });
  t.deepEqual(both.timingLabels, ['densify', 'opacity_reset', 'scan']);
});

test('densify then densify again: the second sees the first\'s rows and cleared statistics', async (t) => {
  const c = makeCase({ n: 50, shDegree: 0, seed: 12, scale: [0.01, 0.6], hot: 0.6, faint: 0.2 });
  const got = await densify({ params: c.params, moments: c.moments, gradAccum: c.gradAccum, gradCount: c.gradCount, capacity: 120, options: BASE_OPTIONS, ops: ['densify', 'densify'] });
  const first = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, BASE_OPTIONS, 120);
  const zeros = new Float32Array(first.params.count);
  const second = refDensify(first.params, first.moments, zeros, zeros, BASE_OPTIONS, 120);
  t.deepEqual(got.stats[0], first.stats);
  t.deepEqual(got.stats[1], second.stats);
  t.is(second.stats.cloned + second.stats.split, 0, 'no gradient left: nothing densifies twice');
  t.is(got.params.count, second.stats.countAfter);
});

test('an empty model stays empty; a model with no room and nothing to prune stays as it is', async (t) => {
  const empty = makeCase({ n: 0, shDegree: 0, seed: 14, scale: [0.01, 0.6], hot: 1, faint: 0 });
  const got = await densify({ params: empty.params, gradAccum: empty.gradAccum, gradCount: empty.gradCount, capacity: 8, options: BASE_OPTIONS });
  t.deepEqual(got.stats, [{ countBefore: 0, countAfter: 0, cloned: 0, split: 0, pruned: 0, skipped: 0 }]);
  const c = makeCase({ n: 30, shDegree: 0, seed: 15, scale: [0.01, 0.6], hot: 1, faint: 0 });
  const full = await runCase(t, { n: 30, shDegree: 0, seed: 15, scale: [0.01, 0.6], hot: 1, faint: 0 }, 30);
  t.deepEqual(full.want.stats, { countBefore: 30, countAfter: 30, cloned: 0, split: 0, pruned: 0, skipped: 30 });
  t.deepEqual(full.got.params.sh, c.params.sh);
});

test('bad arguments fail the job with a message', async (t) => {
  const c = makeCase({ n: 10, shDegree: 0, seed: 13, scale: [0.01, 0.6], hot: 0.5, faint: 0 });
  const base: DensifyJobArgs = { params: c.params, gradAccum: c.gradAccum, gradCount: c.gradCount, options: BASE_OPTIONS };
  await t.throwsAsync(densify({ ...base, options: { ...BASE_OPTIONS, gradThreshold: -1 } }), { message: /gradThreshold/ });
  await t.throwsAsync(densify({ ...base, options: { ...BASE_OPTIONS, seed: -1 } }), { message: /seed/ });
  await t.throwsAsync(densify({ ...base, gradAccum: new Float32Array(3) }), { message: /gradAccum/ });
  await t.throwsAsync(densify({ ...base, capacity: 5 }), { message: /capacity/ });
});

// --- CPU reference ------------------------------------------------------------

function handCase(): Case {
  const p: GaussianParams = {
    count: 4,
    shDegree: 0,
    means: Float32Array.from([0, 0, 0, 1, 2, 3, 5, 5, 5, -1, -1, -1]),
    // Row 0 small (clone), row 1 large (split), rows 2, 3 anything.
    log_scales: Float32Array.from([-4, -4.5, -5, -1, -2, -1.5, -3, -3, -3, -1, -1, -1]),
    quats: Float32Array.from([2, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0, 1, 1, 1, 1]),
    opacity_logits: Float32Array.from([1, 0.5, -6, 2]),
    sh: Float32Array.from({ length: 12 }, (_, i) => i),
  };
  return {
    params: p,
    moments: { means: { m: Float32Array.from({ length: 12 }, (_, i) => i + 1), v: Float32Array.from({ length: 12 }, (_, i) => 100 + i) } },
    gradAccum: Float32Array.from([0.3, 0.1, 1, 0.2]),
    gradCount: Float32Array.from([2, 0, 3, 5]),
  };
}

test('refDensify on a hand-built case: clone, split, prune, keep', (t) => {
  const c = handCase();
  const r = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, BASE_OPTIONS, 10);
  // Row 0: 0.15 >= 0.05, scale e^-4 <= 0.1: clone. Row 1: 0.1 (no views: / 1), scale e^-1 > 0.1: split.
  // Row 2: hot but opacity sigmoid(-6) < 0.005: cloned, then both pruned. Row 3: 0.04 < 0.05: kept.
  t.deepEqual(r.sources, [
    { row: 0, kind: 'clone-original' },
    { row: 0, kind: 'clone-copy' },
    { row: 1, kind: 'split-child' },
    { row: 1, kind: 'split-child' },
    { row: 3, kind: 'keep' },
  ]);
  t.deepEqual(r.stats, { countBefore: 4, countAfter: 5, cloned: 2, split: 1, pruned: 2, skipped: 0 });
  const shrink = Math.fround(Math.log(SPLIT_SCALE_DIVISOR));
  t.deepEqual([...r.params.log_scales.subarray(6, 12)], [-1, -2, -1.5, -1, -2, -1.5].map((x) => Math.fround(x - shrink)));
  // Quaternion (0,0,0,3) is a half turn about z: x and y offsets flip sign.
  const z = splitNormals(BASE_OPTIONS.seed, 1);
  const s = [Math.exp(-1), Math.exp(-2), Math.exp(-1.5)];
  for (let child = 0; child < 2; child++) {
    const want = [1 - z[3 * child]! * s[0]!, 2 - z[3 * child + 1]! * s[1]!, 3 + z[3 * child + 2]! * s[2]!];
    want.forEach((w, k) => t.true(Math.abs(r.params.means[3 * (2 + child) + k]! - w) < 1e-6, `child ${child} axis ${k}`));
  }
  t.deepEqual([...r.moments.means!.m], [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 11, 12]);
  t.deepEqual([...r.params.sh], [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 9, 10, 11]);
  t.deepEqual(r.params.opacity_logits, Float32Array.from([1, 1, 0.5, 0.5, 2]));
});

test('refDensify caps at capacity in row order; maxScaleFraction prunes big rows but not their small enough children', (t) => {
  const c = handCase();
  // Base rows 0, 1, 3 = 3; room for 1 extra: row 0's copy fits, row 1's split (+1) does not.
  const r = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, BASE_OPTIONS, 4);
  t.deepEqual(r.sources.map((s) => s.kind), ['clone-original', 'clone-copy', 'keep', 'keep']);
  t.deepEqual(r.stats, { countBefore: 4, countAfter: 4, cloned: 2, split: 0, pruned: 2, skipped: 1 });
  // Row 1's largest scale e^-1 = 0.37 > 0.3; its children's 0.23 are not.
  const big = refDensify(c.params, c.moments, c.gradAccum, c.gradCount, { ...BASE_OPTIONS, maxScaleFraction: 0.3 }, 10);
  t.deepEqual(big.sources.map((s) => `${s.kind}:${s.row}`), ['clone-original:0', 'clone-copy:0', 'split-child:1', 'split-child:1']);
  // Row 3 (e^-1, not hot) is pruned as too big.
  t.is(big.stats.pruned, 3);
});

test('densifyThresholds: log-domain thresholds equal the 3DGS tests; switched-off tests are finite', (t) => {
  const th = densifyThresholds({ ...BASE_OPTIONS, minOpacity: 0.005 });
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  t.true(Math.abs(sigmoid(th.pruneLogit) - 0.005) < 1e-8);
  t.true(Math.abs(Math.exp(th.cloneMaxLogScale) - 0.1) < 1e-8);
  t.is(th.pruneMaxLogScale, 3.4028234663852886e38);
  t.is(densifyThresholds({ ...BASE_OPTIONS, minOpacity: 0 }).pruneLogit, -3.4028234663852886e38);
  t.true(Math.abs(sigmoid(OPACITY_RESET_LOGIT) - 0.01) < 1e-8);
  t.throws(() => densifyThresholds({ ...BASE_OPTIONS, percentDense: 0 }), { message: /percentDense/ });
  t.throws(() => densifyThresholds({ ...BASE_OPTIONS, minOpacity: 1 }), { message: /minOpacity/ });
  t.throws(() => densifyThresholds({ ...BASE_OPTIONS, maxScaleFraction: Number.NaN }), { message: /maxScaleFraction/ });
  t.throws(() => densifyThresholds({ ...BASE_OPTIONS, seed: 1.5 }), { message: /seed/ });
});

test('splitNormals: standard normal draws, independent of each other across rows and seeds', (t) => {
  const xs: number[] = [];
  for (let row = 0; row < 4000; row++) xs.push(...splitNormals(3, row));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  t.true(Math.abs(mean) < 0.03, `mean ${mean}`);
  t.true(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  let corr = 0;
  for (let i = 0; i + 1 < xs.length; i++) corr += xs[i]! * xs[i + 1]!;
  t.true(Math.abs(corr / xs.length) < 0.03, `lag-1 correlation ${corr / xs.length}`);
  t.notDeepEqual(splitNormals(3, 0), splitNormals(4, 0));
  t.deepEqual(splitNormals(3, 17), splitNormals(3, 17));
});
