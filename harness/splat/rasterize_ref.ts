// CPU references (float64) of wgsl/rasterize.wgsl and wgsl/rasterize_bwd.wgsl.
// They take the same inputs as the kernels (projected splats, the sorted
// intersection values and the tile ranges) so a stage can be checked on the
// GPU's own inputs; the backward re-runs the forward per pixel rather than
// undoing it, which is slower but plainly right.
import type { Camera } from './camera.ts';
import { GRAD_LAYOUT, SPLAT_CONSTANTS } from './constants.ts';

const { ALPHA_MAX: alphaMax, ALPHA_MIN: alphaMin, TRANSMITTANCE_MIN: transmittanceMin, TILE_SIZE: tileSize } = SPLAT_CONSTANTS;

/** Projected splats in the GPU layout ([N,4] each), float32 or float64. */
export interface SplatInputs {
  xyDepth: ArrayLike<number>;
  conicOpacity: ArrayLike<number>;
  rgb: ArrayLike<number>;
}

export interface RasterOutputs {
  /** [H,W,4] (r, g, b, alpha). */
  image: Float64Array;
  /** [H,W] sum of alpha_i T_i depth_i. */
  depth: Float64Array;
  /** [H,W] transmittance left after the last contribution. */
  finalT: Float64Array;
  /** [H,W] one past the index of the last contributing intersection (the tile's start if none). */
  end: Uint32Array;
}

interface Contribution {
  gaussian: number;
  /** opacity * exp(power) before the ALPHA_MAX clamp. */
  rawAlpha: number;
  /** exp(power). */
  vis: number;
  alpha: number;
  /** Transmittance in front of this splat. */
  trans: number;
  dx: number;
  dy: number;
}

/** The splats that pixel (px, py) composites, front to back, and what is left behind them. */
function composite(s: SplatInputs, values: ArrayLike<number>, ranges: ArrayLike<number>, cam: Camera, px: number, py: number) {
  const tile = Math.floor(py / tileSize) * cam.tilesX + Math.floor(px / tileSize);
  const start = ranges[2 * tile]!;
  const stop = ranges[2 * tile + 1]!;
  const list: Contribution[] = [];
  let trans = 1;
  let end = start;
  for (let k = start; k < stop; k++) {
    const g = values[k]!;
    const dx = px + 0.5 - s.xyDepth[4 * g]!;
    const dy = py + 0.5 - s.xyDepth[4 * g + 1]!;
    const [a, b, c, o] = [0, 1, 2, 3].map((j) => s.conicOpacity[4 * g + j]!) as [number, number, number, number];
    const power = -0.5 * (a * dx * dx + c * dy * dy) - b * dx * dy;
    if (power > 0) continue;
    const vis = Math.exp(power);
    const rawAlpha = o * vis;
    const alpha = Math.min(alphaMax, rawAlpha);
    if (alpha < alphaMin) continue;
    const next = trans * (1 - alpha);
    if (next < transmittanceMin) break;
    list.push({ gaussian: g, rawAlpha, vis, alpha, trans, dx, dy });
    trans = next;
    end = k + 1;
  }
  return { list, trans, end };
}

export function refRasterize(s: SplatInputs, values: ArrayLike<number>, ranges: ArrayLike<number>, cam: Camera, background: ArrayLike<number>): RasterOutputs {
  const { width: W, height: H } = cam;
  const out: RasterOutputs = { image: new Float64Array(W * H * 4), depth: new Float64Array(W * H), finalT: new Float64Array(W * H), end: new Uint32Array(W * H) };
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const { list, trans, end } = composite(s, values, ranges, cam, px, py);
      const at = py * W + px;
      const c = [0, 0, 0];
      let d = 0;
      for (const e of list) {
        const w = e.alpha * e.trans;
        for (let ch = 0; ch < 3; ch++) c[ch] = c[ch]! + w * s.rgb[4 * e.gaussian + ch]!;
        d += w * s.xyDepth[4 * e.gaussian + 2]!;
      }
      out.image.set([c[0]! + trans * background[0]!, c[1]! + trans * background[1]!, c[2]! + trans * background[2]!, 1 - trans], 4 * at);
      out.depth[at] = d;
      out.finalT[at] = trans;
      out.end[at] = end;
    }
  }
  return out;
}

/**
 * Per-splat gradients ([count, GRAD_LAYOUT.stride]: d x, d y, d conic a b c,
 * d opacity, d rgb, d depth) of a loss with d loss / d image = dImage [H,W,4]
 * and d loss / d depth = dDepth [H,W] (or none).
 */
export function refRasterizeBwd(
  s: SplatInputs,
  values: ArrayLike<number>,
  ranges: ArrayLike<number>,
  cam: Camera,
  background: ArrayLike<number>,
  count: number,
  dImage: ArrayLike<number>,
  dDepth: ArrayLike<number> | null,
): Float64Array {
  const L = GRAD_LAYOUT;
  const grads = new Float64Array(count * L.stride);
  const { width: W, height: H } = cam;
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const at = py * W + px;
      const { list } = composite(s, values, ranges, cam, px, py);
      const gRgb = [dImage[4 * at]!, dImage[4 * at + 1]!, dImage[4 * at + 2]!];
      const gAlpha = dImage[4 * at + 3]!;
      const gDepth = dDepth ? dDepth[at]! : 0;
      // What lies behind splat i, per unit of transmittance just behind it.
      const behindRgb = [background[0]!, background[1]!, background[2]!];
      let behindAlpha = 0;
      let behindDepth = 0;
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i]!;
        const g = e.gaussian;
        const row = g * L.stride;
        const rgb = [s.rgb[4 * g]!, s.rgb[4 * g + 1]!, s.rgb[4 * g + 2]!];
        const depth = s.xyDepth[4 * g + 2]!;
        const w = e.alpha * e.trans;
        const add = (k: number, v: number) => (grads[row + k] = grads[row + k]! + v);
        let dAlpha = gAlpha * (1 - behindAlpha) + gDepth * (depth - behindDepth);
        for (let ch = 0; ch < 3; ch++) {
          add(L.rgb + ch, w * gRgb[ch]!);
          dAlpha += gRgb[ch]! * (rgb[ch]! - behindRgb[ch]!);
          behindRgb[ch] = rgb[ch]! * e.alpha + (1 - e.alpha) * behindRgb[ch]!;
        }
        dAlpha *= e.trans;
        add(L.depth, w * gDepth);
        behindAlpha = e.alpha + (1 - e.alpha) * behindAlpha;
        behindDepth = depth * e.alpha + (1 - e.alpha) * behindDepth;
        // alpha = min(ALPHA_MAX, o * G): no gradient through the clamp.
        if (!(e.rawAlpha < alphaMax)) continue;
        add(L.opacity, dAlpha * e.vis);
        const dPower = dAlpha * e.rawAlpha;
        const [a, b, c] = [0, 1, 2].map((j) => s.conicOpacity[4 * g + j]!) as [number, number, number];
        const { dx, dy } = e;
        add(L.conic, dPower * -0.5 * dx * dx);
        add(L.conic + 1, dPower * -dx * dy);
        add(L.conic + 2, dPower * -0.5 * dy * dy);
        // d = pixel - mean, so d power / d mean = -(d power / d d).
        add(L.xy, dPower * (a * dx + b * dy));
        add(L.xy + 1, dPower * (b * dx + c * dy));
      }
    }
  }
  return grads;
}
