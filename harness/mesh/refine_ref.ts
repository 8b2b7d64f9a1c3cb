// Float64 CPU references of the texture refinement (wgsl/refine.wgsl,
// wgsl/refine_bwd.wgsl, which explain the loss): refRefineForward (colours of
// every frame at the reference view), refRefineLoss, refRefineBwd (d loss /
// d texture per frame). No DOM, no GPU.

export interface RefineWeights {
  data: number;
  temporal: number;
}

/** Bilinear sample positions of one pixel: 4 (texel index, weight), edge-clamped. */
function taps(u: number, v: number, T: number): [number, number][] {
  const sx = u * T - 0.5;
  const sy = v * T - 0.5;
  const i0 = Math.floor(sx);
  const j0 = Math.floor(sy);
  const fx = sx - i0;
  const fy = sy - j0;
  const k = (i: number, j: number) => Math.min(Math.max(i, 0), T - 1) + T * Math.min(Math.max(j, 0), T - 1);
  return [
    [k(i0, j0), (1 - fx) * (1 - fy)],
    [k(i0 + 1, j0), fx * (1 - fy)],
    [k(i0, j0 + 1), (1 - fx) * fy],
    [k(i0 + 1, j0 + 1), fx * fy],
  ];
}

/** Per frame [P,4] (rgb, covered): textures [T*T,4], uv maps [P,4] (u, v, depth, covered). */
export function refRefineForward(textures: ArrayLike<number>[], uvMaps: ArrayLike<number>[], T: number): Float64Array[] {
  return textures.map((tex, f) => {
    const uv = uvMaps[f]!;
    const P = uv.length / 4;
    const out = new Float64Array(P * 4);
    for (let p = 0; p < P; p++) {
      if (uv[4 * p + 3] === 0) continue;
      for (const [k, w] of taps(uv[4 * p]!, uv[4 * p + 1]!, T)) for (let c = 0; c < 3; c++) out[4 * p + c] = out[4 * p + c]! + w * tex[4 * k + c]!;
      out[4 * p + 3] = 1;
    }
    return out;
  });
}

function residual(colours: ArrayLike<number>[], g: number, p: number): number[] | null {
  if (g < 1 || g > colours.length - 2) return null;
  const [a, b, c] = [colours[g - 1]!, colours[g]!, colours[g + 1]!];
  const s = a[4 * p + 3]! * b[4 * p + 3]! * c[4 * p + 3]!;
  if (!s) return null;
  return [0, 1, 2].map((ch) => b[4 * p + ch]! - 0.5 * (a[4 * p + ch]! + c[4 * p + ch]!));
}

/** Data and temporal parts of the loss (targets [P,4] premultiplied over black). */
export function refRefineLoss(colours: ArrayLike<number>[], targets: ArrayLike<number>[], w: RefineWeights): { data: number; temporal: number; total: number } {
  const P = colours[0]!.length / 4;
  const norm = 1 / (3 * P);
  let data = 0;
  let temporal = 0;
  colours.forEach((c, f) => {
    const t = targets[f]!;
    for (let p = 0; p < P; p++) {
      if (c[4 * p + 3] !== 0 && t[4 * p + 3]! > 0.5) for (let ch = 0; ch < 3; ch++) data += (c[4 * p + ch]! - t[4 * p + ch]! / t[4 * p + 3]!) ** 2;
      const r = residual(colours, f, p);
      if (r) temporal += r[0]! ** 2 + r[1]! ** 2 + r[2]! ** 2;
    }
  });
  data *= w.data * norm;
  temporal *= w.temporal * norm;
  return { data, temporal, total: data + temporal };
}

/** d loss / d texture_f, [T*T,4] per frame (alpha column 0). */
export function refRefineBwd(colours: ArrayLike<number>[], targets: ArrayLike<number>[], uvMaps: ArrayLike<number>[], T: number, w: RefineWeights): Float64Array[] {
  const P = colours[0]!.length / 4;
  const norm = 1 / (3 * P);
  return colours.map((c, f) => {
    const grad = new Float64Array(T * T * 4);
    const t = targets[f]!;
    const uv = uvMaps[f]!;
    for (let p = 0; p < P; p++) {
      if (c[4 * p + 3] === 0) continue;
      const dc = new Float64Array(3);
      if (t[4 * p + 3]! > 0.5) for (let ch = 0; ch < 3; ch++) dc[ch] = dc[ch]! + 2 * w.data * norm * (c[4 * p + ch]! - t[4 * p + ch]! / t[4 * p + 3]!);
      for (const [g, k] of [[f, 1], [f - 1, -0.5], [f + 1, -0.5]] as const) {
        const r = residual(colours, g, p);
        if (r) for (let ch = 0; ch < 3; ch++) dc[ch] = dc[ch]! + 2 * w.temporal * norm * k * r[ch]!;
      }
      for (const [i, wt] of taps(uv[4 * p]!, uv[4 * p + 1]!, T)) for (let ch = 0; ch < 3; ch++) grad[4 * i + ch] = grad[4 * i + ch]! + wt * dc[ch]!;
    }
    return grad;
  });
}
