// Seeded Gaussian scenes and cameras for the renderer tests.
// Types only from model.ts: it touches WebGPU globals when loaded.
import type { GaussianParams } from '../../harness/splat/model.ts';
import { type CameraSpec, lookAtC2w, type Vec3 } from '../../harness/splat/camera.ts';
import { mulberry32 } from './random.ts';

export const PARAM_GROUPS = ['means', 'log_scales', 'quats', 'opacity_logits', 'sh'] as const;
const shCoeffCount = (degree: number) => (degree + 1) ** 2;

export function emptyParams(count: number, shDegree: number): GaussianParams {
  const K = shCoeffCount(shDegree);
  return {
    count,
    shDegree,
    means: new Float32Array(count * 3),
    log_scales: new Float32Array(count * 3),
    quats: new Float32Array(count * 4),
    opacity_logits: new Float32Array(count),
    sh: new Float32Array(count * K * 3),
  };
}

/** Uniform floats in [0, 1) from a seed. */
export function uniform(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}

export interface SceneOptions {
  shDegree?: number;
  /** Half-width of the cube the means fill (centred on the origin). */
  spread?: number;
  /** log-scale range. */
  logScale?: [number, number];
  /** opacity-logit range. */
  logit?: [number, number];
  /** SH coefficient magnitude beyond the DC term. */
  shRest?: number;
}

export function randomScene(count: number, seed: number, o: SceneOptions = {}): GaussianParams {
  const rnd = uniform(seed);
  const range = (lo: number, hi: number) => lo + (hi - lo) * rnd();
  const deg = o.shDegree ?? 0;
  const p = emptyParams(count, deg);
  const spread = o.spread ?? 1;
  const [ls0, ls1] = o.logScale ?? [-3, -1.5];
  const [l0, l1] = o.logit ?? [-1, 3];
  const K = shCoeffCount(deg);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < 3; k++) {
      p.means[3 * i + k] = range(-spread, spread);
      p.log_scales[3 * i + k] = range(ls0, ls1);
    }
    for (let k = 0; k < 4; k++) p.quats[4 * i + k] = range(-1, 1);
    p.opacity_logits[i] = range(l0, l1);
    for (let k = 0; k < K; k++) for (let c = 0; c < 3; c++) p.sh[(i * K + k) * 3 + c] = k === 0 ? range(-1.5, 1.5) : range(-1, 1) * (o.shRest ?? 0.3);
  }
  return p;
}

/** Concatenates scenes of the same SH degree. */
export function concatScenes(...scenes: GaussianParams[]): GaussianParams {
  const deg = scenes[0]!.shDegree;
  const out = emptyParams(scenes.reduce((s, x) => s + x.count, 0), deg);
  let at = 0;
  for (const s of scenes) {
    for (const g of PARAM_GROUPS) out[g].set(s[g], (at * out[g].length) / Math.max(1, out.count));
    at += s.count;
  }
  return out;
}

/** A camera at `eye` looking at the origin (+Y up), horizontal fov in degrees. */
export function cameraAt(eye: Vec3, width: number, height: number, fovDeg = 50, extra: Partial<CameraSpec> = {}): CameraSpec {
  return { c2w: lookAtC2w(eye, [0, 0, 0]), fovx: (fovDeg * Math.PI) / 180, width, height, ...extra };
}

/** Largest |a - b| and where, for reporting. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  let max = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at };
}
