// Image-quality metrics on the CPU (float64): PSNR and SSIM over RGB in [0, 1].
// SSIM follows 3DGS / the usual definition: 11x11 Gaussian window, sigma 1.5,
// zero-padded 'same' filtering, per channel, C1 = 0.01^2, C2 = 0.03^2, averaged
// over pixels and channels. The prediction is clamped to [0, 1] as a saved image
// would be. These are also the references for GPU versions of the same names.
import { psnr } from '../pipeline/images.ts';
import { SSIM_C1, SSIM_C2, ssimWindow1d } from '../splat/loss_ref.ts';

export { psnr };

/** Separable zero-padded 'same' filter of one [H,W] plane. */
function blur(src: Float64Array, w: number, h: number, win: Float64Array): Float64Array {
  const R = (win.length - 1) / 2;
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -R; k <= R; k++) {
        const xx = x + k;
        if (xx >= 0 && xx < w) s += win[k + R]! * src[y * w + xx]!;
      }
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -R; k <= R; k++) {
        const yy = y + k;
        if (yy >= 0 && yy < h) s += win[k + R]! * tmp[yy * w + x]!;
      }
      out[y * w + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of the RGB channels of two [H,W,4] images. */
export function ssim(pred: Float32Array, target: Float32Array, width: number, height: number): number {
  const n = width * height;
  if (pred.length !== n * 4 || target.length !== n * 4) throw new Error(`ssim: images hold ${pred.length} and ${target.length} floats, ${width}x${height}x4 expected`);
  const win = ssimWindow1d();
  let total = 0;
  for (let c = 0; c < 3; c++) {
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = Math.min(1, Math.max(0, pred[4 * i + c]!));
      b[i] = target[4 * i + c]!;
    }
    const sq = (x: Float64Array, y: Float64Array) => x.map((v, i) => v * y[i]!);
    const muA = blur(a, width, height, win);
    const muB = blur(b, width, height, win);
    const sAA = blur(sq(a, a), width, height, win);
    const sBB = blur(sq(b, b), width, height, win);
    const sAB = blur(sq(a, b), width, height, win);
    for (let i = 0; i < n; i++) {
      const ma = muA[i]!;
      const mb = muB[i]!;
      const va = sAA[i]! - ma * ma;
      const vb = sBB[i]! - mb * mb;
      const cov = sAB[i]! - ma * mb;
      total += ((2 * ma * mb + SSIM_C1) * (2 * cov + SSIM_C2)) / ((ma * ma + mb * mb + SSIM_C1) * (va + vb + SSIM_C2));
    }
  }
  return total / (3 * n);
}
