// CPU reference of wgsl/loss.wgsl in float64: the same terms and conventions
// (see the top of that file), written the direct way: the SSIM window as a full
// 11×11 2-D convolution with zero padding (the GPU uses separable passes), and the
// gradient as the transposed convolution of the per-pixel partials. Tests check
// this gradient against central finite differences of `refLoss` itself.

export const SSIM_WINDOW_RADIUS = 5;
export const SSIM_SIGMA = 1.5;
export const SSIM_C1 = 0.01 ** 2;
export const SSIM_C2 = 0.03 ** 2;

export interface RefLossWeights {
  rgbMse?: number;
  rgbL1?: number;
  dssim?: number;
  alphaMse?: number;
}

export interface RefLossInput {
  width: number;
  height: number;
  /** [H,W,4] rendered RGBA. */
  render: ArrayLike<number>;
  /** [H,W,4] target RGBA. */
  target: ArrayLike<number>;
  /** [H,W] per-pixel weights; omitted: all 1. */
  mask?: ArrayLike<number> | null;
  weights: RefLossWeights;
}

export interface RefLossResult {
  rgbMse: number;
  rgbL1: number;
  /** (1 − SSIM)/2, computed whatever the weights (unlike the GPU, which skips it at weight 0). */
  dssim: number;
  alphaMse: number;
  total: number;
  maskSum: number;
  /** [H,W,4] d(total)/d(render); null when not asked for. */
  grad: Float64Array | null;
}

/** The 1-D window (3DGS create_window), normalised to sum 1; the 2-D window is its outer product. */
export function ssimWindow1d(): Float64Array {
  const g = new Float64Array(2 * SSIM_WINDOW_RADIUS + 1);
  for (let i = 0; i < g.length; i++) g[i] = Math.exp(-((i - SSIM_WINDOW_RADIUS) ** 2) / (2 * SSIM_SIGMA ** 2));
  const sum = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / sum);
}

/** 2-D zero-padded 'same' convolution of a [H,W] image with the (symmetric) window. */
function conv2d(img: Float64Array, w: number, h: number, win2: Float64Array): Float64Array {
  const R = SSIM_WINDOW_RADIUS;
  const K = 2 * R + 1;
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -R; dy <= R; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -R; dx <= R; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          s += win2[(dy + R) * K + dx + R]! * img[yy * w + xx]!;
        }
      }
      out[y * w + x] = s;
    }
  }
  return out;
}

export function refLoss(input: RefLossInput, options: { grad?: boolean } = {}): RefLossResult {
  const { width: w, height: h, render, target, mask } = input;
  const n = w * h;
  if (render.length !== n * 4 || target.length !== n * 4) throw new Error(`refLoss: render/target must hold ${n * 4} values`);
  if (mask && mask.length !== n) throw new Error(`refLoss: mask must hold ${n} values`);
  const wt = { rgbMse: input.weights.rgbMse ?? 0, rgbL1: input.weights.rgbL1 ?? 0, dssim: input.weights.dssim ?? 0, alphaMse: input.weights.alphaMse ?? 0 };
  const wantGrad = options.grad ?? true;
  const m = (p: number) => (mask ? mask[p]! : 1);

  let maskSum = 0;
  let sq = 0;
  let ab = 0;
  let sqa = 0;
  for (let p = 0; p < n; p++) {
    const mp = m(p);
    maskSum += mp;
    for (let c = 0; c < 3; c++) {
      const d = render[4 * p + c]! - target[4 * p + c]!;
      sq += mp * d * d;
      ab += mp * Math.abs(d);
    }
    const da = render[4 * p + 3]! - target[4 * p + 3]!;
    sqa += mp * da * da;
  }
  const invPx = maskSum > 0 ? 1 / maskSum : 0;
  const invRgb = invPx / 3;

  const g1 = ssimWindow1d();
  const K = g1.length;
  const win2 = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) win2[i * K + j] = g1[i]! * g1[j]!;

  const grad = wantGrad ? new Float64Array(n * 4) : null;
  let ssimSum = 0;
  for (let c = 0; c < 3; c++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let p = 0; p < n; p++) {
      x[p] = render[4 * p + c]!;
      y[p] = target[4 * p + c]!;
    }
    const mx = conv2d(x, w, h, win2);
    const my = conv2d(y, w, h, win2);
    const exx = conv2d(x.map((v) => v * v), w, h, win2);
    const eyy = conv2d(y.map((v) => v * v), w, h, win2);
    const exy = conv2d(x.map((v, p) => v * y[p]!), w, h, win2);
    // Per-pixel partials of m·S by μx, E[x²], E[xy].
    const pa = new Float64Array(n);
    const pb = new Float64Array(n);
    const pc = new Float64Array(n);
    for (let p = 0; p < n; p++) {
      const ux = mx[p]!;
      const uy = my[p]!;
      const sxx = exx[p]! - ux * ux;
      const syy = eyy[p]! - uy * uy;
      const sxy = exy[p]! - ux * uy;
      const A1 = 2 * ux * uy + SSIM_C1;
      const A2 = 2 * sxy + SSIM_C2;
      const B1 = ux * ux + uy * uy + SSIM_C1;
      const B2 = sxx + syy + SSIM_C2;
      const S = (A1 * A2) / (B1 * B2);
      ssimSum += m(p) * S;
      if (!grad) continue;
      // S(μx, μy, σx², σy², σxy); σx² = E[x²] − μx², σxy = E[xy] − μx μy.
      const dSdVarX = -S / B2;
      const dSdCov = (2 * A1) / (B1 * B2);
      const dSdMuX = (2 * uy * A2) / (B1 * B2) - (2 * ux * S) / B1;
      pb[p] = m(p) * dSdVarX;
      pc[p] = m(p) * dSdCov;
      pa[p] = m(p) * (dSdMuX - 2 * ux * dSdVarX - uy * dSdCov);
    }
    if (grad) {
      const ga = conv2d(pa, w, h, win2);
      const gb = conv2d(pb, w, h, win2);
      const gc = conv2d(pc, w, h, win2);
      const scale = -0.5 * wt.dssim * invRgb;
      for (let p = 0; p < n; p++) grad[4 * p + c] = scale * (ga[p]! + 2 * x[p]! * gb[p]! + y[p]! * gc[p]!);
    }
  }

  if (grad) {
    for (let p = 0; p < n; p++) {
      const mp = m(p);
      for (let c = 0; c < 3; c++) {
        const d = render[4 * p + c]! - target[4 * p + c]!;
        grad[4 * p + c] = grad[4 * p + c]! + mp * invRgb * (wt.rgbMse * 2 * d + wt.rgbL1 * Math.sign(d));
      }
      const da = render[4 * p + 3]! - target[4 * p + 3]!;
      grad[4 * p + 3] = mp * invPx * wt.alphaMse * 2 * da;
    }
  }

  const rgbMse = sq * invRgb;
  const rgbL1 = ab * invRgb;
  const alphaMse = sqa * invPx;
  const dssim = maskSum > 0 ? 0.5 * (1 - ssimSum * invRgb) : 0;
  const total = wt.rgbMse * rgbMse + wt.rgbL1 * rgbL1 + wt.dssim * dssim + wt.alphaMse * alphaMse;
  return { rgbMse, rgbL1, dssim, alphaMse, total, maskSum, grad };
}
