// The HexPlane deformation field (DG4D's, after 4DGaussians / K-Planes): config,
// parameter layout, seeded initialisation, and the float64 CPU references
// refHexPlaneField / refHexPlaneFieldBwd of wgsl/hexplane.wgsl and
// wgsl/hexplane_bwd.wgsl together with the decoder's linear layers. Pure
// TypeScript, so Node-side tests and the page share it.
//
// Planes: for each scale s (multiplier m) six planes over axis pairs xy, xz, yz,
// xt, yt, zt. Spatial resolutions are multiplied by m, the time resolution is not
// (4DGaussians' "multi-res only on spatial planes"). Plane (a, b) is stored
// [R_b, R_a, F] row-major (torch's [1, F, R_b, R_a] with features innermost),
// all planes of all scales in one buffer, scale-major, in the order above.
//
// Sampling: bilinear with align_corners=True and border padding (clamped), as
// K-Planes' grid_sample_wrapper: a coordinate u in [0, 1] along an axis of R
// texels sits at u·(R − 1); texel centres at the ends, clamped outside. Space is
// normalised by the AABB (u = (p − min)/(max − min)); time t in [0, 1] is used
// as is (t = 0 ↔ first texel row, 1 ↔ last; the same as torch's [−1, 1] with
// align_corners=True).
//
// Features: per scale, the six samples multiplied elementwise (F each); scales
// concatenated → [F·S]. Decoder:
//   h = ReLU(W0 · feat + b0)                          [W]
//   r_k = h + W1_k · ReLU(h) + b1_k    (ReLU(h) = h)   [W] per head k
//   Δ_k = W2_k · r_k + b2_k                           position 3, scale 3, rotation 4
// W1_k are stacked [3W, W] (one layer computes all three heads' residual branch).
import { deriveSeed, seededRandom } from '../pipeline/rng.ts';
import type { LrSchedule } from '../splat/adam_ref.ts';
import { initLinearParams } from './linear_ref.ts';

/** Axis pairs of the six planes: (a, b) with plane (a, b) stored [R_b, R_a, F]. */
export const PLANE_AXES = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
] as const;
export const PLANE_NAMES = ['xy', 'xz', 'yz', 'xt', 'yt', 'zt'] as const;
/** Output widths of the heads, in field order: Δposition, Δlog-scale, Δquaternion (w,x,y,z). */
export const HEAD_OUTPUTS = [3, 3, 4] as const;
export const HEAD_NAMES = ['position', 'scale', 'rotation'] as const;
/** Scales the kernels take (wgsl/hexplane.wgsl MAX_SCALES; a test checks they agree). */
export const HEXPLANE_MAX_SCALES = 4;

export interface HexPlaneBounds {
  min: readonly [number, number, number];
  max: readonly [number, number, number];
}

export interface HexPlaneConfig {
  /** Texels along x, y, z and t at scale multiplier 1; t null or 0: the number of frames. */
  resolution: readonly [number, number, number, number | null];
  /** Spatial resolution multipliers, one scale each (time resolution unchanged); features concatenate. */
  scales: readonly number[];
  /** Features per plane (a multiple of 4: the kernels move 4 at a time). */
  features: number;
  /** Decoder width. */
  width: number;
  /** The AABB mapped onto the planes; positions outside read the border texels. */
  bounds: HexPlaneBounds;
  planeLr: LrSchedule;
  mlpLr: LrSchedule;
  seed: number;
}

/** DG4D / Consistent4D: [32, 32, 32, T] with T = frames, one scale, 32 features, width 64, lr 6.4e-3 / 6.4e-4 constant. */
export const HEXPLANE_PAPER: HexPlaneConfig = {
  resolution: [32, 32, 32, null],
  scales: [1],
  features: 32,
  width: 64,
  bounds: { min: [-1.6, -1.6, -1.6], max: [1.6, 1.6, 1.6] },
  planeLr: { kind: 'constant', lr: 6.4e-3 },
  mlpLr: { kind: 'constant', lr: 6.4e-4 },
  seed: 0,
};

/** A CPU-sized field: [16, 16, 16, T], 16 features, width 32 (paper rates). */
export const HEXPLANE_SMALL: HexPlaneConfig = { ...HEXPLANE_PAPER, resolution: [16, 16, 16, null], features: 16, width: 32 };

/** Where each plane of each scale lives in the planes buffer (floats). */
export interface HexPlaneLayout {
  features: number;
  width: number;
  /** Per scale: [Rx, Ry, Rz, Rt]. */
  res: [number, number, number, number][];
  /** Per scale, per plane (PLANE_AXES order): offset in floats. */
  offsets: number[][];
  /** Floats in the planes buffer. */
  planeFloats: number;
  /** Floats of the feature vector: features · scales. */
  featureDim: number;
}

/** Checks a config and fills in the time resolution; errors name the field. */
export function resolveHexPlaneConfig(config: HexPlaneConfig, frames: number): HexPlaneConfig & { resolution: [number, number, number, number] } {
  const bad = (field: string, detail: string): never => {
    throw new Error(`hexplane config: ${field}: ${detail}`);
  };
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (!Array.isArray(config.resolution) || config.resolution.length !== 4) bad('resolution', `must be [x, y, z, t] (got ${JSON.stringify(config.resolution)})`);
  const [rx, ry, rz, rt0] = config.resolution;
  for (const [name, v] of [['x', rx], ['y', ry], ['z', rz]] as const) if (!posInt(v) || (v as number) < 2) bad(`resolution.${name}`, `${v} must be an integer >= 2`);
  const fromFrames = rt0 === null || rt0 === 0;
  const rt = fromFrames ? frames : rt0;
  if (!posInt(rt)) bad(fromFrames ? 'frames' : 'resolution.t', `${rt} must be an integer >= 1`);
  if (!Array.isArray(config.scales) || config.scales.length < 1 || config.scales.length > HEXPLANE_MAX_SCALES) bad('scales', `needs 1 to ${HEXPLANE_MAX_SCALES} multipliers (got ${JSON.stringify(config.scales)})`);
  for (const m of config.scales) if (!posInt(m)) bad('scales', `multiplier ${m} must be an integer >= 1`);
  if (!posInt(config.features) || config.features % 4 !== 0) bad('features', `${config.features} must be a positive multiple of 4`);
  if (!posInt(config.width) || config.width % 4 !== 0) bad('width', `${config.width} must be a positive multiple of 4`);
  const b = config.bounds;
  if (!b || !Array.isArray(b.min) || !Array.isArray(b.max) || b.min.length !== 3 || b.max.length !== 3) bad('bounds', 'must be { min: [x, y, z], max: [x, y, z] }');
  for (let k = 0; k < 3; k++) {
    if (!Number.isFinite(b.min[k]) || !Number.isFinite(b.max[k]) || !(b.max[k]! > b.min[k]!)) bad('bounds', `axis ${'xyz'[k]}: min ${b.min[k]} must be finite and below max ${b.max[k]}`);
  }
  if (!Number.isInteger(config.seed) || config.seed < 0) bad('seed', `${config.seed} must be a non-negative integer`);
  for (const key of ['planeLr', 'mlpLr'] as const) {
    const s = config[key];
    if (!s || (s.kind !== 'constant' && s.kind !== 'exponential')) bad(key, 'must be a learning-rate schedule ({ kind: "constant", lr } or exponential)');
  }
  return { ...config, resolution: [rx, ry, rz, rt] };
}

export function hexPlaneLayout(config: HexPlaneConfig, frames: number): HexPlaneLayout {
  const c = resolveHexPlaneConfig(config, frames);
  const F = c.features;
  const res: [number, number, number, number][] = [];
  const offsets: number[][] = [];
  let at = 0;
  for (const m of c.scales) {
    const r: [number, number, number, number] = [c.resolution[0] * m, c.resolution[1] * m, c.resolution[2] * m, c.resolution[3]];
    res.push(r);
    offsets.push(
      PLANE_AXES.map(([a, b]) => {
        const o = at;
        at += r[a] * r[b] * F;
        return o;
      }),
    );
  }
  return { features: F, width: c.width, res, offsets, planeFloats: at, featureDim: F * c.scales.length };
}

/**
 * The field's parameters by group name (also its Adam groups; the layers' as
 * harness/deform/linear.ts names them, `<label>.weight` [outputs, inputs] and `<label>.bias`):
 *   hexplane.planes [planeFloats];
 *   hexplane.feature     F·S → W (ReLU)
 *   hexplane.heads       W → 3W: the three heads' residual branches W1_k stacked (position, scale, rotation)
 *   hexplane.position    W → 3,  hexplane.scale W → 3,  hexplane.rotation W → 4
 */
export type HexPlaneParams = Record<string, Float32Array>;

export const PLANE_GROUP = 'hexplane.planes';
/** Labels of the decoder's linear layers. */
export const LAYER_LABELS = { feature: 'hexplane.feature', heads: 'hexplane.heads', out: HEAD_NAMES.map((h) => `hexplane.${h}`) } as const;

/** Floats per parameter group. */
export function hexPlaneGroupSizes(layout: HexPlaneLayout): Record<string, number> {
  const W = layout.width;
  const sizes: Record<string, number> = { [PLANE_GROUP]: layout.planeFloats };
  const layer = (label: string, inputs: number, outputs: number) => {
    sizes[`${label}.weight`] = inputs * outputs;
    sizes[`${label}.bias`] = outputs;
  };
  layer(LAYER_LABELS.feature, layout.featureDim, W);
  layer(LAYER_LABELS.heads, W, 3 * W);
  LAYER_LABELS.out.forEach((label, k) => layer(label, W, HEAD_OUTPUTS[k]!));
  return sizes;
}

/**
 * Initial parameters from config.seed: spatial planes U[0.1, 0.5], planes with t
 * at 1 (so the product starts as the spatial features); the feature layer as
 * nn.Linear's default; every head weight and bias 0 (zero deformation at step 0).
 */
export function initHexPlaneParams(config: HexPlaneConfig, frames: number): HexPlaneParams {
  const layout = hexPlaneLayout(config, frames);
  const sizes = hexPlaneGroupSizes(layout);
  const params: HexPlaneParams = Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, new Float32Array(n)]));
  const next = seededRandom(deriveSeed(config.seed, 0));
  const planes = params[PLANE_GROUP]!;
  layout.res.forEach((r, s) => {
    PLANE_AXES.forEach(([a, b], p) => {
      const o = layout.offsets[s]![p]!;
      const n = r[a] * r[b] * layout.features;
      if (b === 3) planes.fill(1, o, o + n);
      else for (let k = 0; k < n; k++) planes[o + k] = 0.1 + 0.4 * next();
    });
  });
  const feature = initLinearParams(layout.featureDim, layout.width, 'torch', deriveSeed(config.seed, 1));
  params[`${LAYER_LABELS.feature}.weight`]!.set(feature.weight);
  params[`${LAYER_LABELS.feature}.bias`]!.set(feature.bias);
  return params;
}

// --- float64 reference --------------------------------------------------------

const FW = `${LAYER_LABELS.feature}.weight`;
const FB = `${LAYER_LABELS.feature}.bias`;
const HW = `${LAYER_LABELS.heads}.weight`;
const HB = `${LAYER_LABELS.heads}.bias`;

/** One axis of a bilinear lookup: texels i0, i1 and the weight of i1. */
export interface RefCell {
  i0: number;
  i1: number;
  a: number;
}

/** u in [0, 1] (clamped) on R texels, align_corners=True. */
export function refCell(u: number, r: number): RefCell {
  const last = r - 1;
  const x = Math.min(Math.max(u * last, 0), last);
  const i0 = Math.min(Math.floor(x), Math.max(r, 2) - 2);
  return { i0, i1: Math.min(i0 + 1, last), a: x - i0 };
}

/** Normalised coordinates (x, y, z in AABB units, t) of one Gaussian. */
function coords(bounds: HexPlaneBounds, means: ArrayLike<number>, n: number, t: number): number[] {
  return [0, 1, 2].map((k) => (means[3 * n + k]! - bounds.min[k]!) / (bounds.max[k]! - bounds.min[k]!)).concat([t]);
}

/** The four texels (float offsets of feature 0) and weights of a bilinear sample of plane p at scale s. */
function footprint(layout: HexPlaneLayout, s: number, p: number, u: number[]): { at: number[]; w: number[] } {
  const [a, b] = PLANE_AXES[p]!;
  const r = layout.res[s]!;
  const ca = refCell(u[a]!, r[a]);
  const cb = refCell(u[b]!, r[b]);
  const F = layout.features;
  const o = layout.offsets[s]![p]!;
  const tex = (ia: number, ib: number) => o + (ib * r[a] + ia) * F;
  return {
    at: [tex(ca.i0, cb.i0), tex(ca.i1, cb.i0), tex(ca.i0, cb.i1), tex(ca.i1, cb.i1)],
    w: [(1 - ca.a) * (1 - cb.a), ca.a * (1 - cb.a), (1 - ca.a) * cb.a, ca.a * cb.a],
  };
}

/** Per Gaussian, scale and plane: the F sampled features, [N][S][6][F]. */
function refSamples(layout: HexPlaneLayout, planes: ArrayLike<number>, bounds: HexPlaneBounds, means: ArrayLike<number>, count: number, t: number): Float64Array[][][] {
  const F = layout.features;
  const out: Float64Array[][][] = [];
  for (let n = 0; n < count; n++) {
    const u = coords(bounds, means, n, t);
    out.push(
      layout.res.map((_, s) =>
        PLANE_AXES.map((_, p) => {
          const { at, w } = footprint(layout, s, p, u);
          const v = new Float64Array(F);
          for (let f = 0; f < F; f++) v[f] = w[0]! * planes[at[0]! + f]! + w[1]! * planes[at[1]! + f]! + w[2]! * planes[at[2]! + f]! + w[3]! * planes[at[3]! + f]!;
          return v;
        }),
      ),
    );
  }
  return out;
}

/** The plane features, [count, F·S] (scale-major per row). */
export function refHexPlaneFeatures(layout: HexPlaneLayout, planes: ArrayLike<number>, bounds: HexPlaneBounds, means: ArrayLike<number>, count: number, t: number): Float64Array {
  const F = layout.features;
  const S = layout.res.length;
  const feat = new Float64Array(count * F * S);
  refSamples(layout, planes, bounds, means, count, t).forEach((scales, n) =>
    scales.forEach((pl, s) => {
      for (let f = 0; f < F; f++) {
        let v = 1;
        for (let p = 0; p < 6; p++) v *= pl[p]![f]!;
        feat[(n * S + s) * F + f] = v;
      }
    }),
  );
  return feat;
}

/** y[r, o] = b[o] + Σ_i x[r, xo + i]·w[o, i] over a strided x. */
function dense(x: ArrayLike<number>, xStride: number, xo: number, w: ArrayLike<number>, b: ArrayLike<number>, rows: number, inputs: number, outputs: number): Float64Array {
  const y = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      let acc = b[o]!;
      for (let i = 0; i < inputs; i++) acc += x[r * xStride + xo + i]! * w[o * inputs + i]!;
      y[r * outputs + o] = acc;
    }
  }
  return y;
}

export interface RefDeformRows {
  /** [N,3] */
  means: ArrayLike<number>;
  /** [N,3] */
  log_scales: ArrayLike<number>;
  /** [N,4] (w,x,y,z) */
  quats: ArrayLike<number>;
}

export interface RefHexPlaneActivations {
  feat: Float64Array;
  /** [N, W] after the ReLU */
  h: Float64Array;
  /** [N, 3W]: the three heads' residual outputs */
  r: Float64Array;
  /** Per head: [N, out] */
  delta: Float64Array[];
}

export interface RefHexPlaneInput {
  layout: HexPlaneLayout;
  bounds: HexPlaneBounds;
  params: Record<string, ArrayLike<number>>;
  canonical: RefDeformRows;
  count: number;
  /** In [0, 1]. */
  time: number;
}

export function refHexPlaneActivations(x: RefHexPlaneInput): RefHexPlaneActivations {
  const { layout, params: P, count: N } = x;
  const W = layout.width;
  const D = layout.featureDim;
  const feat = refHexPlaneFeatures(layout, P[PLANE_GROUP]!, x.bounds, x.canonical.means, N, x.time);
  const h = dense(feat, D, 0, P[FW]!, P[FB]!, N, D, W).map((v) => Math.max(v, 0));
  const branch = dense(h, W, 0, P[HW]!, P[HB]!, N, W, 3 * W);
  const r = new Float64Array(N * 3 * W);
  for (let n = 0; n < N; n++) for (let k = 0; k < 3; k++) for (let j = 0; j < W; j++) r[n * 3 * W + k * W + j] = h[n * W + j]! + branch[n * 3 * W + k * W + j]!;
  const delta = HEAD_NAMES.map((_, k) => dense(r, 3 * W, k * W, P[`${LAYER_LABELS.out[k]}.weight`]!, P[`${LAYER_LABELS.out[k]}.bias`]!, N, W, HEAD_OUTPUTS[k]!));
  return { feat, h, r, delta };
}

/** Deformed rows: canonical + Δ. */
export function refHexPlaneField(x: RefHexPlaneInput): { means: Float64Array; log_scales: Float64Array; quats: Float64Array } {
  const { delta } = refHexPlaneActivations(x);
  const add = (c: ArrayLike<number>, d: Float64Array) => Float64Array.from(d, (v, i) => c[i]! + v);
  return { means: add(x.canonical.means, delta[0]!), log_scales: add(x.canonical.log_scales, delta[1]!), quats: add(x.canonical.quats, delta[2]!) };
}

/**
 * Gradients of Σ dOut · deformed: every parameter group, and dCanonical (= dOut:
 * the field's input position is detached, so only the identity path reaches it).
 */
export function refHexPlaneFieldBwd(x: RefHexPlaneInput, dOut: RefDeformRows): { grads: Record<string, Float64Array>; dCanonical: { means: Float64Array; log_scales: Float64Array; quats: Float64Array } } {
  const { layout, params: P, count: N } = x;
  const W = layout.width;
  const D = layout.featureDim;
  const F = layout.features;
  const S = layout.res.length;
  const act = refHexPlaneActivations(x);
  const sizes = hexPlaneGroupSizes(layout);
  const g: Record<string, Float64Array> = Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, new Float64Array(n)]));
  const dOuts = [dOut.means, dOut.log_scales, dOut.quats];
  // Heads: Δ_k = W2_k r_k + b2_k.
  const dr = new Float64Array(N * 3 * W);
  HEAD_NAMES.forEach((_, k) => {
    const O = HEAD_OUTPUTS[k]!;
    const w2 = P[`${LAYER_LABELS.out[k]}.weight`]!;
    const gw = g[`${LAYER_LABELS.out[k]}.weight`]!;
    const gb = g[`${LAYER_LABELS.out[k]}.bias`]!;
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < O; o++) {
        const d = dOuts[k]![n * O + o]!;
        gb[o] = gb[o]! + d;
        for (let j = 0; j < W; j++) {
          gw[o * W + j] = gw[o * W + j]! + d * act.r[n * 3 * W + k * W + j]!;
          dr[n * 3 * W + k * W + j] = dr[n * 3 * W + k * W + j]! + d * w2[o * W + j]!;
        }
      }
    }
  });
  // r = h + W1 h + b1 (stacked), then h = ReLU(W0 feat + b0).
  const dh = new Float64Array(N * W);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < 3 * W; o++) {
      const d = dr[n * 3 * W + o]!;
      g[HB]![o] = g[HB]![o]! + d;
      dh[n * W + (o % W)] = dh[n * W + (o % W)]! + d;
      for (let j = 0; j < W; j++) {
        g[HW]![o * W + j] = g[HW]![o * W + j]! + d * act.h[n * W + j]!;
        dh[n * W + j] = dh[n * W + j]! + d * P[HW]![o * W + j]!;
      }
    }
  }
  const dFeat = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < W; o++) {
      const d = act.h[n * W + o]! > 0 ? dh[n * W + o]! : 0;
      g[FB]![o] = g[FB]![o]! + d;
      for (let i = 0; i < D; i++) {
        g[FW]![o * D + i] = g[FW]![o * D + i]! + d * act.feat[n * D + i]!;
        dFeat[n * D + i] = dFeat[n * D + i]! + d * P[FW]![o * D + i]!;
      }
    }
  }
  // Planes: product rule over the six samples, spread by the bilinear weights.
  const samples = refSamples(layout, P[PLANE_GROUP]!, x.bounds, x.canonical.means, N, x.time);
  const gp = g[PLANE_GROUP]!;
  for (let n = 0; n < N; n++) {
    const u = coords(x.bounds, x.canonical.means, n, x.time);
    for (let s = 0; s < S; s++) {
      for (let p = 0; p < 6; p++) {
        const { at, w } = footprint(layout, s, p, u);
        for (let f = 0; f < F; f++) {
          let others = dFeat[(n * S + s) * F + f]!;
          for (let q = 0; q < 6; q++) if (q !== p) others *= samples[n]![s]![q]![f]!;
          for (let k = 0; k < 4; k++) gp[at[k]! + f] = gp[at[k]! + f]! + w[k]! * others;
        }
      }
    }
  }
  const copy = (a: ArrayLike<number>) => Float64Array.from(a as ArrayLike<number>);
  return { grads: g, dCanonical: { means: copy(dOut.means), log_scales: copy(dOut.log_scales), quats: copy(dOut.quats) } };
}
