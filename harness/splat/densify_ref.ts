// CPU reference of wgsl/densify.wgsl (refDensify, refOpacityReset): 3DGS's
// densify_and_prune and reset_opacity, plain and row by row, the oracle of
// tests/densify.test.ts. It makes the same decisions as the GPU bit for bit (the
// same f32 comparisons against the same thresholds, see densifyThresholds) and
// writes rows in the same order; only the split children's means are computed in
// float64 here and differ from the GPU's f32 by rounding.
//
// Row order of the result: source rows in order, each replaced by what it yields
// (kept: itself; cloned: itself then its copy; split: its two children; pruned:
// nothing). 3DGS appends new rows at the end instead; the order carries no meaning.
import type { GaussianParams, ParamGroup } from './model.ts';

// model.ts touches GPUBufferUsage when it loads, so Node code (the tests, the CLI)
// can import only its types; these mirror its PARAM_GROUPS and groupWidth, and
// the check below fails to compile if a group is added there and not here.
export const PARAM_GROUPS = ['means', 'log_scales', 'quats', 'opacity_logits', 'sh'] as const satisfies readonly ParamGroup[];
const allGroupsListed: [Exclude<ParamGroup, (typeof PARAM_GROUPS)[number]>] extends [never] ? true : never = true;
void allGroupsListed;

/** Floats per row of a group (model.ts groupWidth). */
export function groupWidth(group: ParamGroup, shDegree: number): number {
  return group === 'sh' ? 3 * (shDegree + 1) ** 2 : group === 'quats' ? 4 : group === 'opacity_logits' ? 1 : 3;
}

/** 3DGS's split: N = 2 children, each scaled by 1 / (0.8 N). Matches SPLIT_CHILDREN in wgsl/densify.wgsl. */
export const SPLIT_CHILDREN = 2;
export const SPLIT_SCALE_DIVISOR = 0.8 * SPLIT_CHILDREN;
/** 3DGS's reset_opacity caps opacity at 0.01. */
export const OPACITY_RESET_VALUE = 0.01;
/** 3DGS's (and DG4D's) min_opacity for pruning. */
export const DEFAULT_MIN_OPACITY = 0.005;

const F32_MAX = 3.4028234663852886e38;
const f32 = Math.fround;

export interface DensifyOptions {
  /** Densify rows whose mean screen-space gradient (accum / max(count, 1)) is >= this (3DGS densify_grad_threshold). */
  gradThreshold: number;
  /** Clone at or below percentDense · sceneExtent (largest world scale), split above (3DGS percent_dense). */
  percentDense: number;
  /** Radius of the scene (3DGS cameras_extent). */
  sceneExtent: number;
  /** Prune rows with sigmoid(opacity logit) below this; default 0.005. 0 turns it off. */
  minOpacity?: number;
  /** Also prune rows whose largest world scale exceeds this · sceneExtent (3DGS uses 0.1 once max_screen_size is set); default off. */
  maxScaleFraction?: number;
  /** Seed of the split children's samples (u32). */
  seed: number;
}

export interface DensifyStats {
  countBefore: number;
  countAfter: number;
  /** Rows cloned (the copy counted once per row). */
  cloned: number;
  /** Rows split into two. */
  split: number;
  /** Rows removed by pruning, counted after densification (copies and children included). */
  pruned: number;
  /** Rows that asked to densify but were left as they are: their extra rows did not fit in capacity. */
  skipped: number;
}

/** The f32 values both the GPU (DensifyParams) and refDensify compare against. */
export interface DensifyThresholds {
  gradThreshold: number;
  cloneMaxLogScale: number;
  pruneLogit: number;
  pruneMaxLogScale: number;
  splitLogShrink: number;
}

export function validateDensifyOptions(o: DensifyOptions): void {
  const positive = (name: keyof DensifyOptions) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`densify: option ${name} must be a finite number > 0 (got ${String(v)})`);
  };
  positive('gradThreshold');
  positive('percentDense');
  positive('sceneExtent');
  const minOpacity = o.minOpacity ?? DEFAULT_MIN_OPACITY;
  if (!(minOpacity >= 0 && minOpacity < 1)) throw new Error(`densify: option minOpacity must be in [0, 1) (got ${minOpacity})`);
  if (o.maxScaleFraction !== undefined) positive('maxScaleFraction');
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`densify: option seed must be a u32 (got ${o.seed})`);
}

/**
 * Thresholds in the log domain, computed in float64 and rounded once to f32, so
 * that no GPU transcendental (whose precision WGSL leaves loose) takes part in a
 * decision. Switched-off tests get ±FLT_MAX, not infinities, which some shader
 * compilers assume never occur.
 */
export function densifyThresholds(o: DensifyOptions): DensifyThresholds {
  validateDensifyOptions(o);
  const minOpacity = o.minOpacity ?? DEFAULT_MIN_OPACITY;
  const clampF32 = (x: number) => Math.max(-F32_MAX, Math.min(F32_MAX, f32(x)));
  return {
    gradThreshold: f32(o.gradThreshold),
    cloneMaxLogScale: clampF32(Math.log(o.percentDense * o.sceneExtent)),
    pruneLogit: minOpacity > 0 ? clampF32(Math.log(minOpacity / (1 - minOpacity))) : -F32_MAX,
    pruneMaxLogScale: o.maxScaleFraction !== undefined ? clampF32(Math.log(o.maxScaleFraction * o.sceneExtent)) : F32_MAX,
    splitLogShrink: f32(Math.log(SPLIT_SCALE_DIVISOR)),
  };
}

/** logit(OPACITY_RESET_VALUE) as f32: the opacity reset's cap on the logit. */
export const OPACITY_RESET_LOGIT = f32(Math.log(OPACITY_RESET_VALUE / (1 - OPACITY_RESET_VALUE)));

// --- the counter-based RNG of wgsl/densify.wgsl ------------------------------

export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> (((state >>> 28) + 4) & 31)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

export function randomU32(seed: number, row: number, counter: number): number {
  return pcgHash((pcgHash((pcgHash(seed) ^ row) >>> 0) ^ counter) >>> 0);
}

/** (0, 1], exactly as unit_interval in WGSL. */
function unitInterval(h: number): number {
  return ((h >>> 8) + 1) / 16777216;
}

/** The six standard normals of source row `row`'s split children: child c, axis k is [3c + k]. */
export function splitNormals(seed: number, row: number): Float64Array {
  const z = new Float64Array(6);
  for (let p = 0; p < 3; p++) {
    const r = Math.sqrt(-2 * Math.log(unitInterval(randomU32(seed, row, 2 * p))));
    const theta = f32(Math.PI) * (2 * unitInterval(randomU32(seed, row, 2 * p + 1)) - 1);
    z[2 * p] = r * Math.cos(theta);
    z[2 * p + 1] = r * Math.sin(theta);
  }
  return z;
}

/** Row-major rotation of the normalised quaternion (w,x,y,z) (3DGS build_rotation); identity for a zero quaternion. */
export function quatToRotation(w: number, x: number, y: number, z: number): number[] {
  const n = Math.hypot(w, x, y, z);
  if (n > 0) [w, x, y, z] = [w / n, x / n, y / n, z / n];
  else [w, x, y, z] = [1, 0, 0, 0];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

// --- refDensify --------------------------------------------------------------

/** Adam moments per parameter group ([rows, width] f32, parameter row order). */
export type Moments = Partial<Record<ParamGroup, { m: Float32Array; v: Float32Array }>>;

/** Where an output row came from: its source row and what it is. */
export interface RowSource {
  row: number;
  kind: 'keep' | 'clone-original' | 'clone-copy' | 'split-child';
}

export interface DensifyResult {
  params: GaussianParams;
  /** The same groups as the input moments, rows [0, countAfter). */
  moments: Moments;
  stats: DensifyStats;
  /** One entry per output row. */
  sources: RowSource[];
}

type Request = 'none' | 'clone' | 'split';

interface RowPlan {
  request: Request;
  /** The row as it is survives pruning. */
  original: boolean;
  /** Its split children survive pruning. */
  child: boolean;
  /** Rows it yields undensified / extra rows densifying it adds. */
  base: number;
  extra: number;
}

function planRow(p: GaussianParams, i: number, accum: number, views: number, t: DensifyThresholds): RowPlan {
  const ls = p.log_scales;
  const largest = Math.max(ls[3 * i]!, ls[3 * i + 1]!, ls[3 * i + 2]!);
  let request: Request = 'none';
  if (accum >= f32(t.gradThreshold * Math.max(views, 1))) request = largest <= t.cloneMaxLogScale ? 'clone' : 'split';
  const opaque = !(p.opacity_logits[i]! < t.pruneLogit);
  const original = opaque && !(largest > t.pruneMaxLogScale);
  const child = original || (opaque && !(f32(largest - t.splitLogShrink) > t.pruneMaxLogScale));
  const base = original ? 1 : 0;
  const extra = request === 'clone' ? base : request === 'split' ? (child ? SPLIT_CHILDREN : 0) - base : 0;
  return { request, original, child, base, extra };
}

/**
 * 3DGS's densify_and_prune on CPU arrays. `gradCount` may hold f32 or u32 view
 * counts; `capacity` caps the result: rows densify in row order until the first
 * one whose extra rows do not fit, and that row and every later one asking to
 * densify stay as they are (pruning still applies to them).
 */
export function refDensify(
  params: GaussianParams,
  moments: Moments,
  gradAccum: Float32Array,
  gradCount: Float32Array | Uint32Array,
  options: DensifyOptions,
  capacity: number,
): DensifyResult {
  const t = densifyThresholds(options);
  const n = params.count;
  if (capacity < n) throw new Error(`refDensify: capacity ${capacity} < count ${n}`);
  if (gradAccum.length < n || gradCount.length < n) throw new Error(`refDensify: gradAccum / gradCount hold ${gradAccum.length} / ${gradCount.length} rows, need ${n}`);
  const plans = Array.from({ length: n }, (_, i) => planRow(params, i, gradAccum[i]!, f32(gradCount[i]!), t));
  const baseTotal = plans.reduce((s, r) => s + r.base, 0);
  const budget = capacity - baseTotal;

  const sources: RowSource[] = [];
  const stats: DensifyStats = { countBefore: n, countAfter: 0, cloned: 0, split: 0, pruned: 0, skipped: 0 };
  let extraBefore = 0;
  for (let i = 0; i < n; i++) {
    const r = plans[i]!;
    const fits = r.extra === 0 || extraBefore + r.extra <= budget;
    extraBefore += r.extra;
    if (r.request !== 'none' && !fits) stats.skipped++;
    if (r.request === 'clone' && fits) {
      stats.cloned++;
      if (r.original) sources.push({ row: i, kind: 'clone-original' }, { row: i, kind: 'clone-copy' });
    } else if (r.request === 'split' && fits) {
      stats.split++;
      if (r.child) for (let c = 0; c < SPLIT_CHILDREN; c++) sources.push({ row: i, kind: 'split-child' });
    } else if (r.original) {
      sources.push({ row: i, kind: 'keep' });
    }
  }
  stats.countAfter = sources.length;
  stats.pruned = n + stats.cloned + stats.split - stats.countAfter;

  const out = { count: sources.length, shDegree: params.shDegree } as GaussianParams;
  for (const g of PARAM_GROUPS) {
    const w = groupWidth(g, params.shDegree);
    const dst = new Float32Array(sources.length * w);
    sources.forEach((s, o) => dst.set(params[g].subarray(s.row * w, (s.row + 1) * w), o * w));
    out[g] = dst;
  }
  // Split children: log-scales shrunk, means sampled inside the parent.
  let child = 0;
  sources.forEach((s, o) => {
    if (s.kind !== 'split-child') {
      child = 0;
      return;
    }
    const i = s.row;
    for (let k = 0; k < 3; k++) out.log_scales[3 * o + k] = f32(params.log_scales[3 * i + k]! - t.splitLogShrink);
    const z = splitNormals(options.seed, i);
    const q = params.quats;
    const rot = quatToRotation(q[4 * i]!, q[4 * i + 1]!, q[4 * i + 2]!, q[4 * i + 3]!);
    const local = [0, 1, 2].map((k) => z[3 * child + k]! * Math.exp(params.log_scales[3 * i + k]!));
    for (let r = 0; r < 3; r++) {
      out.means[3 * o + r] = f32(params.means[3 * i + r]! + rot[3 * r]! * local[0]! + rot[3 * r + 1]! * local[1]! + rot[3 * r + 2]! * local[2]!);
    }
    child = (child + 1) % SPLIT_CHILDREN;
  });

  const outMoments: Moments = {};
  for (const [g, mv] of Object.entries(moments) as [ParamGroup, { m: Float32Array; v: Float32Array }][]) {
    const w = groupWidth(g, params.shDegree);
    const moved = { m: new Float32Array(sources.length * w), v: new Float32Array(sources.length * w) };
    sources.forEach((s, o) => {
      // New rows (copies, children) start from zero moments, as 3DGS's densification_postfix.
      if (s.kind !== 'keep' && s.kind !== 'clone-original') return;
      moved.m.set(mv.m.subarray(s.row * w, (s.row + 1) * w), o * w);
      moved.v.set(mv.v.subarray(s.row * w, (s.row + 1) * w), o * w);
    });
    outMoments[g] = moved;
  }
  return { params: out, moments: outMoments, stats, sources };
}

/** 3DGS's reset_opacity: opacity = min(opacity, 0.01) (a clamp of the logit), opacity moments zeroed. */
export function refOpacityReset(params: GaussianParams, moments: Moments): { params: GaussianParams; moments: Moments } {
  const out = { ...params, opacity_logits: params.opacity_logits.map((x) => Math.min(x, OPACITY_RESET_LOGIT)) };
  const outMoments: Moments = { ...moments };
  const op = moments.opacity_logits;
  if (op) outMoments.opacity_logits = { m: new Float32Array(op.m.length), v: new Float32Array(op.v.length) };
  return { params: out, moments: outMoments };
}
