// CPU references (float64) of wgsl/project.wgsl and wgsl/project_bwd.wgsl: the
// oracles of the tests, written for clarity. Same formulas, constants (read from
// wgsl/splat_common.wgsl) and output layouts as the kernels.
// Types only: model.ts touches WebGPU globals when loaded, and this runs under Node too.
import type { ParamGroup } from './model.ts';
import type { Camera } from './camera.ts';
import { SPLAT_CONSTANTS as K_ } from './constants.ts';

type V3 = [number, number, number];

const shCoeffCount = (degree: number) => (degree + 1) ** 2;
const GROUP_WIDTHS = (degree: number): Record<ParamGroup, number> => ({ means: 3, log_scales: 3, quats: 4, opacity_logits: 1, sh: 3 * shCoeffCount(degree) });
/** Row-major 3x3. */
type M3 = number[];

const { LOW_PASS: lowPass, FRUSTUM_CLAMP: frustumClamp, SIGMA_EXTENT: sigmaExtent, ALPHA_MIN: alphaMin, TILE_SIZE: tileSize } = K_;

/** Gaussian parameters in any float precision (GaussianParams, or float64 for finite differences). */
export type ParamsLike = { count: number; shDegree: number } & Record<ParamGroup, ArrayLike<number>>;

/** Outputs of refProject, laid out like the GPU buffers (float64). */
export interface Projected {
  count: number;
  /** [N,4] (x px, y px, camera depth, radius px); radius 0 = culled. */
  xyDepth: Float64Array;
  /** [N,4] (conic a, b, c, opacity). */
  conicOpacity: Float64Array;
  /** [N,4] (r, g, b, clamp mask: bit c set if channel c was clamped at 0). */
  rgb: Float64Array;
  /** [N] tiles of the bbox, 0 if culled. */
  tilesTouched: Uint32Array;
  /** [N,4] tile bbox (x0, y0, x1, y1), exclusive ends. */
  tileRect: Uint32Array;
}

export const SH_CONSTANTS = {
  c0: K_.SH_C0,
  c1: K_.SH_C1,
  c2: [K_.SH_C2_0, K_.SH_C2_1, K_.SH_C2_2, K_.SH_C2_3, K_.SH_C2_4],
  c3: [K_.SH_C3_0, K_.SH_C3_1, K_.SH_C3_2, K_.SH_C3_3, K_.SH_C3_4, K_.SH_C3_5, K_.SH_C3_6],
};

/** Real SH basis 0..15 at the unit direction d (3DGS convention). */
export function shBasis(d: V3): number[] {
  const [x, y, z] = d;
  const { c0, c1, c2, c3 } = SH_CONSTANTS;
  const xx = x * x;
  const yy = y * y;
  const zz = z * z;
  return [
    c0,
    -c1 * y, c1 * z, -c1 * x,
    c2[0]! * x * y, c2[1]! * y * z, c2[2]! * (2 * zz - xx - yy), c2[3]! * x * z, c2[4]! * (xx - yy),
    c3[0]! * y * (3 * xx - yy), c3[1]! * x * y * z, c3[2]! * y * (4 * zz - xx - yy),
    c3[3]! * z * (2 * zz - 3 * xx - 3 * yy), c3[4]! * x * (4 * zz - xx - yy),
    c3[5]! * z * (xx - yy), c3[6]! * x * (xx - 3 * yy),
  ];
}

/** Gradient of basis k (x, y, z treated as independent), k = 0..15. */
export function shBasisGrad(d: V3): V3[] {
  const [x, y, z] = d;
  const { c1, c2, c3 } = SH_CONSTANTS;
  const xx = x * x;
  const yy = y * y;
  const zz = z * z;
  const s = (c: number, v: V3): V3 => [c * v[0], c * v[1], c * v[2]];
  return [
    [0, 0, 0],
    [0, -c1, 0], [0, 0, c1], [-c1, 0, 0],
    s(c2[0]!, [y, x, 0]), s(c2[1]!, [0, z, y]), s(c2[2]!, [-2 * x, -2 * y, 4 * z]), s(c2[3]!, [z, 0, x]), s(c2[4]!, [2 * x, -2 * y, 0]),
    s(c3[0]!, [6 * x * y, 3 * xx - 3 * yy, 0]), s(c3[1]!, [y * z, x * z, x * y]), s(c3[2]!, [-2 * x * y, 4 * zz - xx - 3 * yy, 8 * y * z]),
    s(c3[3]!, [-6 * x * z, -6 * y * z, 6 * zz - 3 * xx - 3 * yy]), s(c3[4]!, [4 * zz - 3 * xx - yy, -2 * x * y, 8 * x * z]),
    s(c3[5]!, [2 * x * z, -2 * y * z, xx - yy]), s(c3[6]!, [3 * xx - 3 * yy, -6 * x * y, 0]),
  ];
}

const dot3 = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const mulMV = (m: M3, v: V3): V3 => [0, 1, 2].map((r) => m[3 * r]! * v[0] + m[3 * r + 1]! * v[1] + m[3 * r + 2]! * v[2]) as V3;
/** v^T m (a row vector times m). */
const mulVM = (v: V3, m: M3): V3 => [0, 1, 2].map((c) => v[0] * m[c]! + v[1] * m[3 + c]! + v[2] * m[6 + c]!) as V3;

function row(a: ArrayLike<number>, i: number, w: number): number[] {
  return Array.from({ length: w }, (_, k) => a[i * w + k]!);
}

/** Rotation matrix (row-major) of a unit quaternion (w, x, y, z). */
export function quatToRotmat(q: number[]): M3 {
  const [w, x, y, z] = q as [number, number, number, number];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/** Everything the projection of one Gaussian computes (the kernels' `Geometry`). */
export interface GeometryRef {
  t: V3;
  quatNorm: number;
  quat: number[];
  rot: M3;
  scale: V3;
  cov3d: M3;
  uv: [number, number];
  uvFree: [boolean, boolean];
  w: M3;
  t0: V3;
  t1: V3;
  /** (a, b, c) with the low-pass added. */
  cov2d: V3;
}

function viewRotation(cam: Camera): M3 {
  const v = cam.view;
  return [v[0]!, v[1]!, v[2]!, v[4]!, v[5]!, v[6]!, v[8]!, v[9]!, v[10]!];
}

export function refGeometry(cam: Camera, mean: number[], logScale: number[], rawQuat: number[]): GeometryRef {
  const t = cam.toCamera(mean);
  const n2 = rawQuat.reduce((s, v) => s + v * v, 0);
  const quatNorm = Math.sqrt(n2);
  const quat = n2 > 1e-30 ? rawQuat.map((v) => v / quatNorm) : [0, 0, 0, 0];
  const rot = quatToRotmat(quat);
  const scale = logScale.map(Math.exp) as V3;
  const m = rot.map((v, i) => v * scale[i % 3]!);
  const cov3d: M3 = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cov3d.push(m[3 * r]! * m[3 * c]! + m[3 * r + 1]! * m[3 * c + 1]! + m[3 * r + 2]! * m[3 * c + 2]!);
  const lim = [frustumClamp * cam.tanHalfFovX, frustumClamp * cam.tanHalfFovY];
  const raw = [t[0] / t[2], t[1] / t[2]];
  const uv = raw.map((v, i) => Math.min(lim[i]!, Math.max(-lim[i]!, v))) as [number, number];
  const uvFree = raw.map((v, i) => Math.abs(v) <= lim[i]!) as [boolean, boolean];
  const w = viewRotation(cam);
  const fx = cam.fx / t[2];
  const fy = cam.fy / t[2];
  const t0 = mulVM([fx, 0, -fx * uv[0]], w);
  const t1 = mulVM([0, fy, -fy * uv[1]], w);
  const s0 = mulMV(cov3d, t0);
  const s1 = mulMV(cov3d, t1);
  return { t, quatNorm, quat, rot, scale, cov3d, uv, uvFree, w, t0, t1, cov2d: [dot3(t0, s0) + lowPass, dot3(t0, s1), dot3(t1, s1) + lowPass] };
}

/** Unit direction camera -> mean and the distance (the SH view direction). */
function viewDirection(cam: Camera, mean: number[]): { dir: V3; dist: number } {
  const v: V3 = [mean[0]! - cam.position[0], mean[1]! - cam.position[1], mean[2]! - cam.position[2]];
  const dist = Math.hypot(...v);
  return dist * dist > 1e-30 ? { dir: [v[0] / dist, v[1] / dist, v[2] / dist], dist } : { dir: [0, 0, 1], dist: 0 };
}

export function tileBbox(cam: Camera, x: number, y: number, radius: number): [number, number, number, number] {
  const clampT = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return [
    clampT(Math.floor((x - radius) / tileSize), cam.tilesX),
    clampT(Math.floor((y - radius) / tileSize), cam.tilesY),
    clampT(Math.floor((x + radius) / tileSize) + 1, cam.tilesX),
    clampT(Math.floor((y + radius) / tileSize) + 1, cam.tilesY),
  ];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The SH colour of Gaussian i for this camera: rgb + 0.5 before the clamp. */
function shColor(p: ParamsLike, cam: Camera, i: number): V3 {
  const K = shCoeffCount(p.shDegree);
  const basis = shBasis(viewDirection(cam, row(p.means, i, 3)).dir);
  const c: V3 = [0.5, 0.5, 0.5];
  for (let k = 0; k < K; k++) for (let ch = 0; ch < 3; ch++) c[ch] = c[ch]! + basis[k]! * p.sh[(i * K + k) * 3 + ch]!;
  return c;
}

export function refProject(p: ParamsLike, cam: Camera): Projected {
  const n = p.count;
  const out: Projected = {
    count: n,
    xyDepth: new Float64Array(n * 4),
    conicOpacity: new Float64Array(n * 4),
    rgb: new Float64Array(n * 4),
    tilesTouched: new Uint32Array(n),
    tileRect: new Uint32Array(n * 4),
  };
  for (let i = 0; i < n; i++) {
    const c = shColor(p, cam, i);
    const mask = (c[0] < 0 ? 1 : 0) | (c[1] < 0 ? 2 : 0) | (c[2] < 0 ? 4 : 0);
    out.rgb.set([Math.max(0, c[0]), Math.max(0, c[1]), Math.max(0, c[2]), mask], 4 * i);

    const mean = row(p.means, i, 3);
    const depth = cam.toCamera(mean)[2];
    if (!(depth >= cam.near)) continue;
    const opacity = sigmoid(p.opacity_logits[i]!);
    if (!(opacity >= alphaMin)) continue;
    const g = refGeometry(cam, mean, row(p.log_scales, i, 3), row(p.quats, i, 4));
    const [a, b, cc] = g.cov2d;
    const det = a * cc - b * b;
    if (!(det > 0) || !Number.isFinite(det)) continue;
    const mid = 0.5 * (a + cc);
    const lambdaMax = mid + Math.sqrt(Math.max(0.1, mid * mid - det));
    const radius = Math.ceil(sigmaExtent * Math.sqrt(lambdaMax));
    const x = (cam.fx * g.t[0]) / g.t[2] + cam.cx;
    const y = (cam.fy * g.t[1]) / g.t[2] + cam.cy;
    if (![radius, x, y].every(Number.isFinite)) continue;
    const rect = tileBbox(cam, x, y, radius);
    const tiles = rect[2] > rect[0] && rect[3] > rect[1] ? (rect[2] - rect[0]) * (rect[3] - rect[1]) : 0;
    if (tiles === 0) continue;
    out.xyDepth.set([x, y, g.t[2], radius], 4 * i);
    out.conicOpacity.set([cc / det, -b / det, a / det, opacity], 4 * i);
    out.tilesTouched[i] = tiles;
    out.tileRect.set(rect, 4 * i);
  }
  return out;
}

/** Gradients of every parameter group, plus the densification statistics of one view. */
export interface ProjectBwdResult {
  grads: Record<ParamGroup, Float64Array>;
  /** [N] |dL/d(mean2d)| in NDC units (pixels x (W/2, H/2)), as 3DGS accumulates it. */
  xyGradNorm: Float64Array;
  /** [N] 1 where the Gaussian was visible (radius > 0). */
  visible: Uint32Array;
}

/**
 * Back-propagates per-splat gradients ([N, GRAD_STRIDE] in the layout of
 * GRAD_LAYOUT: d x, d y, d conic a b c, d opacity, d rgb, d depth) through
 * the projection to every parameter.
 */
export function refProjectBwd(p: ParamsLike, cam: Camera, projected: Projected, gradSplat: ArrayLike<number>, stride: number, layout: { xy: number; conic: number; opacity: number; rgb: number; depth: number }): ProjectBwdResult {
  const n = p.count;
  const K = shCoeffCount(p.shDegree);
  const grads = {} as Record<ParamGroup, Float64Array>;
  for (const [gname, width] of Object.entries(GROUP_WIDTHS(p.shDegree)) as [ParamGroup, number][]) grads[gname] = new Float64Array(n * width);
  const xyGradNorm = new Float64Array(n);
  const visible = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const gs = (k: number) => gradSplat[i * stride + k]!;
    const dxy = [gs(layout.xy), gs(layout.xy + 1)];
    const dConic = [gs(layout.conic), gs(layout.conic + 1), gs(layout.conic + 2)] as V3;
    const dOpacity = gs(layout.opacity);
    const dRgb = [gs(layout.rgb), gs(layout.rgb + 1), gs(layout.rgb + 2)];
    const dDepth = gs(layout.depth);
    visible[i] = projected.xyDepth[4 * i + 3]! > 0 ? 1 : 0;
    xyGradNorm[i] = Math.hypot((dxy[0]! * cam.width) / 2, (dxy[1]! * cam.height) / 2);
    const mean = row(p.means, i, 3);

    // Opacity.
    const op = sigmoid(p.opacity_logits[i]!);
    grads.opacity_logits[i] = dOpacity * op * (1 - op);

    // Colour: rgb = max(0, sum_k Y_k(dir) sh_k + 0.5).
    const mask = projected.rgb[4 * i + 3]!;
    const g = dRgb.map((v, ch) => ((mask >> ch) & 1 ? 0 : v));
    const { dir, dist } = viewDirection(cam, mean);
    const basis = shBasis(dir);
    const dMean: V3 = [0, 0, 0];
    if (K > 1 && dist > 0) {
      const basisGrad = shBasisGrad(dir);
      const dDir: V3 = [0, 0, 0];
      for (let k = 0; k < K; k++) {
        let wk = 0;
        for (let ch = 0; ch < 3; ch++) wk += p.sh[(i * K + k) * 3 + ch]! * g[ch]!;
        for (let a = 0; a < 3; a++) dDir[a] = dDir[a]! + wk * basisGrad[k]![a]!;
      }
      const along = dot3(dDir, dir);
      for (let a = 0; a < 3; a++) dMean[a] = dMean[a]! + (dDir[a]! - dir[a]! * along) / dist;
    }
    for (let k = 0; k < K; k++) for (let ch = 0; ch < 3; ch++) grads.sh[(i * K + k) * 3 + ch] = basis[k]! * g[ch]!;

    // Geometry: only splats that were rasterized have gradients there.
    if (!(dxy[0] || dxy[1] || dConic[0] || dConic[1] || dConic[2] || dDepth)) {
      grads.means.set(dMean, 3 * i);
      continue;
    }
    const geo = refGeometry(cam, mean, row(p.log_scales, i, 3), row(p.quats, i, 4));
    const [A, B, C] = geo.cov2d;
    const det = A * C - B * B;
    const d2 = det * det;
    // conic = (C, -B, A) / det
    const dA = dConic[0] * (-C * C / d2) + dConic[1] * ((B * C) / d2) + dConic[2] * (1 / det - (A * C) / d2);
    const dB = dConic[0] * ((2 * B * C) / d2) + dConic[1] * (-1 / det - (2 * B * B) / d2) + dConic[2] * ((2 * A * B) / d2);
    const dC = dConic[0] * (1 / det - (C * A) / d2) + dConic[1] * ((B * A) / d2) + dConic[2] * (-A * A / d2);
    // a = t0 S t0, b = t0 S t1, c = t1 S t1 (S = cov3d, symmetric)
    const s0 = mulMV(geo.cov3d, geo.t0);
    const s1 = mulMV(geo.cov3d, geo.t1);
    const dT0: V3 = [0, 1, 2].map((k) => 2 * dA * s0[k]! + dB * s1[k]!) as V3;
    const dT1: V3 = [0, 1, 2].map((k) => dB * s0[k]! + 2 * dC * s1[k]!) as V3;
    // dL/dS (full matrix) = dA t0 t0^T + dB t0 t1^T + dC t1 t1^T; S = M M^T gives dM = (G + G^T) M.
    const gSym: M3 = [];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        const gi = (a: number, b: number) => dA * geo.t0[a]! * geo.t0[b]! + dB * geo.t0[a]! * geo.t1[b]! + dC * geo.t1[a]! * geo.t1[b]!;
        gSym.push(gi(r, c) + gi(c, r));
      }
    }
    const m = geo.rot.map((v, k) => v * geo.scale[k % 3]!);
    const dM: M3 = [];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) dM.push(gSym[3 * r]! * m[c]! + gSym[3 * r + 1]! * m[3 + c]! + gSym[3 * r + 2]! * m[6 + c]!);
    // M = R diag(s)
    for (let c = 0; c < 3; c++) {
      let ds = 0;
      for (let r = 0; r < 3; r++) ds += dM[3 * r + c]! * geo.rot[3 * r + c]!;
      grads.log_scales[3 * i + c] = ds * geo.scale[c]!;
    }
    const dR = dM.map((v, k) => v * geo.scale[k % 3]!);
    const [qw, qx, qy, qz] = geo.quat as [number, number, number, number];
    const R = (r: number, c: number) => dR[3 * r + c]!;
    const dqn = [
      2 * (-qz * R(0, 1) + qy * R(0, 2) + qz * R(1, 0) - qx * R(1, 2) - qy * R(2, 0) + qx * R(2, 1)),
      2 * (qy * R(0, 1) + qz * R(0, 2) + qy * R(1, 0) - 2 * qx * R(1, 1) - qw * R(1, 2) + qz * R(2, 0) + qw * R(2, 1) - 2 * qx * R(2, 2)),
      2 * (-2 * qy * R(0, 0) + qx * R(0, 1) + qw * R(0, 2) + qx * R(1, 0) + qz * R(1, 2) - qw * R(2, 0) + qz * R(2, 1) - 2 * qy * R(2, 2)),
      2 * (-2 * qz * R(0, 0) - qw * R(0, 1) + qx * R(0, 2) + qw * R(1, 0) - 2 * qz * R(1, 1) + qy * R(1, 2) + qx * R(2, 0) + qy * R(2, 1)),
    ];
    if (geo.quatNorm * geo.quatNorm > 1e-30) {
      const along = dqn.reduce((s, v, k) => s + v * geo.quat[k]!, 0);
      for (let k = 0; k < 4; k++) grads.quats[4 * i + k] = (dqn[k]! - geo.quat[k]! * along) / geo.quatNorm;
    }
    // T0 = J0 W, T1 = J1 W with J0 = (fx/z, 0, -fx u/z), J1 = (0, fy/z, -fy v/z).
    const dJ0 = mulMV(geo.w, dT0);
    const dJ1 = mulMV(geo.w, dT1);
    const [tx, ty, tz] = geo.t;
    const { fx, fy } = cam;
    const dt: V3 = [0, 0, 0];
    dt[2] += dJ0[0] * (-fx / (tz * tz)) + dJ1[1] * (-fy / (tz * tz)) + dJ0[2] * ((fx * geo.uv[0]) / (tz * tz)) + dJ1[2] * ((fy * geo.uv[1]) / (tz * tz));
    const dU = dJ0[2] * (-fx / tz);
    const dV = dJ1[2] * (-fy / tz);
    if (geo.uvFree[0]) {
      dt[0] += dU / tz;
      dt[2] += (-dU * tx) / (tz * tz);
    }
    if (geo.uvFree[1]) {
      dt[1] += dV / tz;
      dt[2] += (-dV * ty) / (tz * tz);
    }
    // mean2d = (fx x/z + cx, fy y/z + cy); depth = z.
    dt[0] += (dxy[0]! * fx) / tz;
    dt[1] += (dxy[1]! * fy) / tz;
    dt[2] += (-dxy[0]! * fx * tx) / (tz * tz) + (-dxy[1]! * fy * ty) / (tz * tz) + dDepth;
    const dWorld = mulVM(dt, geo.w);
    grads.means.set([dMean[0] + dWorld[0], dMean[1] + dWorld[1], dMean[2] + dWorld[2]], 3 * i);
  }
  return { grads, xyGradNorm, visible };
}
