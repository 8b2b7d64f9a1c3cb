// Texture bake: the views DG4D bakes from, the per-view camera values the kernel
// takes, and float64 CPU references of wgsl/bake.wgsl (refBake, refBakeNormalize,
// refBakeDilate). No DOM, no GPU. The mesh rasterisation the bake starts from
// (texel map, per-view depth) is a render pipeline (wgsl/bake_raster.wgsl); the
// references take its outputs as inputs.
import { lookAtC2w, type Vec3 } from '../splat/camera.ts';
import { gtCamera, type GtCameraSpec } from '../gt/mesh.ts';

/** Mirrors of wgsl/bake.wgsl's constants (a test checks them against the source). */
export const BAKE_MIN_WEIGHT = 1e-3;
export const BAKE_MIN_ALPHA = 0.2;

export interface BakeViewLayout {
  /** Azimuths per ring (DG4D: 8). */
  azimuths: number;
  /** Ring elevations in degrees (DG4D: 0, ±45). */
  elevations: number[];
  /** Add views straight from the top and bottom (DG4D: ±89.9°). */
  poles: boolean;
}

/** DG4D's 26 bake views: 8 azimuths × elevations {0, ±45} plus top and bottom. */
export const DG4D_BAKE_VIEWS: BakeViewLayout = { azimuths: 8, elevations: [0, 45, -45], poles: true };

/** Vertical fov of DG4D's cameras (49.1°); our views are square, so it is also the horizontal fov. */
export const BAKE_FOV_DEG = 49.1;

/**
 * Cameras on a sphere around `center` that frames a ball of `radius` (10 % margin),
 * square `size`² images. Azimuth 0 looks along −Z from +Z (the scenes' front view).
 */
export function bakeCameras(center: Vec3, radius: number, size: number, layout: BakeViewLayout = DG4D_BAKE_VIEWS): GtCameraSpec[] {
  const fovx = (BAKE_FOV_DEG * Math.PI) / 180;
  const dist = (1.1 * radius) / Math.sin(fovx / 2);
  const out: GtCameraSpec[] = [];
  const at = (azDeg: number, elDeg: number) => {
    const az = (azDeg * Math.PI) / 180;
    const el = (elDeg * Math.PI) / 180;
    const eye: Vec3 = [center[0] + dist * Math.cos(el) * Math.sin(az), center[1] + dist * Math.sin(el), center[2] + dist * Math.cos(el) * Math.cos(az)];
    out.push({ c2w: lookAtC2w(eye, center), fovx, width: size, height: size });
  };
  for (const el of layout.elevations) for (let a = 0; a < layout.azimuths; a++) at((360 * a) / layout.azimuths, el);
  if (layout.poles) {
    at(0, 89.9);
    at(0, -89.9);
  }
  return out;
}

/** What the `bake` kernel needs of a camera (the BakeView uniform, less the options). */
export interface BakeViewParams {
  /** World -> camera rows 0..2 (OpenGL axes), 12 numbers row-major. */
  view: number[];
  eye: Vec3;
  focal: number;
  width: number;
  height: number;
}

export function bakeViewParams(spec: GtCameraSpec): BakeViewParams {
  const cam = gtCamera(spec);
  return { view: Array.from(cam.view.subarray(0, 12)), eye: cam.position, focal: cam.focal, width: cam.width, height: cam.height };
}

export interface BakeOptions {
  /** Viewing cosine a texel must exceed (DG4D: 0.5). */
  minCos: number;
  /** Visibility tolerance in pixel widths at the texel's depth. */
  depthTolPx: number;
}

export interface RefBakeView {
  params: BakeViewParams;
  /** [H,W,4] Gaussian render over black (premultiplied rgb, alpha). */
  render: ArrayLike<number>;
  /** [H,W,4] (u, v, camera depth, covered) of the mesh from this view. */
  meshView: ArrayLike<number>;
}

/** Σ over views of cos·(premultiplied rgb, alpha) per texel, as `bake` accumulates it. */
export function refBake(texelPos: ArrayLike<number>, texelNrm: ArrayLike<number>, views: RefBakeView[], o: BakeOptions): Float64Array {
  const N = texelPos.length / 4;
  const acc = new Float64Array(N * 4);
  for (const v of views) {
    const { view: M, eye, focal, width: W, height: H } = v.params;
    const at = (x: number, y: number, c: number) => v.render[4 * (Math.min(Math.max(y, 0), H - 1) * W + Math.min(Math.max(x, 0), W - 1)) + c]!;
    for (let t = 0; t < N; t++) {
      if (texelPos[4 * t + 3] === 0) continue;
      const p = [texelPos[4 * t]!, texelPos[4 * t + 1]!, texelPos[4 * t + 2]!];
      const c = [0, 1, 2].map((r) => M[4 * r]! * p[0]! + M[4 * r + 1]! * p[1]! + M[4 * r + 2]! * p[2]! + M[4 * r + 3]!);
      const d = -c[2]!;
      if (d <= 0) continue;
      const e = [eye[0] - p[0]!, eye[1] - p[1]!, eye[2] - p[2]!];
      const el = Math.hypot(e[0]!, e[1]!, e[2]!);
      const cos = (texelNrm[4 * t]! * e[0]! + texelNrm[4 * t + 1]! * e[1]! + texelNrm[4 * t + 2]! * e[2]!) / el;
      if (cos <= o.minCos) continue;
      const px = W / 2 + (focal * c[0]!) / d;
      const py = H / 2 - (focal * c[1]!) / d;
      if (px < 0 || py < 0 || px >= W || py >= H) continue;
      const mi = 4 * (Math.floor(py) * W + Math.floor(px));
      if (v.meshView[mi + 3] === 0 || d > v.meshView[mi + 2]! + (o.depthTolPx * d) / focal) continue;
      const sx = px - 0.5;
      const sy = py - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const s = [0, 1, 2, 3].map((ch) => (1 - fy) * ((1 - fx) * at(x0, y0, ch) + fx * at(x0 + 1, y0, ch)) + fy * ((1 - fx) * at(x0, y0 + 1, ch) + fx * at(x0 + 1, y0 + 1, ch)));
      if (s[3]! < BAKE_MIN_ALPHA) continue;
      for (let ch = 0; ch < 4; ch++) acc[4 * t + ch] = acc[4 * t + ch]! + cos * s[ch]!;
    }
  }
  return acc;
}

/** (rgb / alpha-weight, 1) where the weight reaches BAKE_MIN_WEIGHT, else 0. */
export function refBakeNormalize(acc: ArrayLike<number>): Float64Array {
  const out = new Float64Array(acc.length);
  for (let t = 0; t < acc.length / 4; t++) {
    const w = acc[4 * t + 3]!;
    if (w < BAKE_MIN_WEIGHT) continue;
    for (let c = 0; c < 3; c++) out[4 * t + c] = acc[4 * t + c]! / w;
    out[4 * t + 3] = 1;
  }
  return out;
}

/** `passes` rings of dilation: an empty texel takes the mean of its filled 8-neighbours. */
export function refBakeDilate(texture: ArrayLike<number>, size: number, passes: number): Float64Array {
  let src = Float64Array.from(texture);
  for (let p = 0; p < passes; p++) {
    const dst = Float64Array.from(src);
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < size; i++) {
        const t = i + size * j;
        if (src[4 * t + 3]! > 0) continue;
        const sum = [0, 0, 0];
        let k = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const x = i + dx;
          const y = j + dy;
          if ((dx || dy) && x >= 0 && y >= 0 && x < size && y < size && src[4 * (x + size * y) + 3]! > 0) {
            for (let c = 0; c < 3; c++) sum[c] = sum[c]! + src[4 * (x + size * y) + c]!;
            k++;
          }
        }
        if (k) {
          for (let c = 0; c < 3; c++) dst[4 * t + c] = sum[c]! / k;
          dst[4 * t + 3] = 1;
        }
      }
    }
    src = dst;
  }
  return src;
}
