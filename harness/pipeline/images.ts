// CPU image helpers for the pipeline stages: [H,W,4] f32 RGBA arrays, row-major.
//
// Posed input images travel premultiplied (rgb already multiplied by alpha, i.e.
// composited over black, alpha = coverage mask). Premultiplied colour can be
// area-averaged to a smaller size without dark fringes and composited over any
// background in one step, so a stage can pick its own background and render sizes.

/** Area (box) resampling of a premultiplied [h,w,4] image to [H,W,4]; exact for integer factors, fractional overlaps otherwise. */
export function resampleArea(src: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  if (src.length !== w * h * 4) throw new Error(`resampleArea: image holds ${src.length} floats, ${w}x${h} RGBA needs ${w * h * 4}`);
  if (!(Number.isInteger(W) && Number.isInteger(H) && W > 0 && H > 0)) throw new Error(`resampleArea: target size ${W}x${H} is not two positive integers`);
  if (W === w && H === h) return src.slice();
  const rows = resampleAxis(src, w, h, W, true); // [h, W]
  return resampleAxis(rows, W, h, H, false); // [H, W]
}

/** One separable pass: along x (`horizontal`) from w to n columns, or along y from h to n rows. */
function resampleAxis(src: Float32Array, w: number, h: number, n: number, horizontal: boolean): Float32Array {
  const len = horizontal ? w : h;
  const out = new Float32Array(horizontal ? h * n * 4 : n * w * 4);
  const scale = len / n;
  // Overlap weights of each output cell with the source cells it covers.
  const taps: { from: number; weights: number[] }[] = [];
  for (let o = 0; o < n; o++) {
    const a = o * scale;
    const b = (o + 1) * scale;
    const from = Math.floor(a);
    const weights: number[] = [];
    for (let s = from; s < Math.min(len, Math.ceil(b)); s++) weights.push((Math.min(b, s + 1) - Math.max(a, s)) / scale);
    taps.push({ from, weights });
  }
  const lines = horizontal ? h : w;
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < n; o++) {
      const { from, weights } = taps[o]!;
      const dst = 4 * (horizontal ? line * n + o : o * w + line);
      for (let k = 0; k < weights.length; k++) {
        const s = from + k;
        const at = 4 * (horizontal ? line * w + s : s * w + line);
        const wt = weights[k]!;
        for (let c = 0; c < 4; c++) out[dst + c]! += wt * src[at + c]!;
      }
    }
  }
  return out;
}

/** A premultiplied RGBA image composited over `background`: rgb + (1 - alpha) * bg, alpha kept (the mask the losses see). */
export function compositeOver(premultiplied: Float32Array, background: ArrayLike<number>): Float32Array {
  const out = premultiplied.slice();
  for (let i = 0; i < out.length; i += 4) {
    const t = 1 - out[i + 3]!;
    for (let c = 0; c < 3; c++) out[i + c]! += t * background[c]!;
  }
  return out;
}

/** Mean squared error over the RGB channels, the prediction clamped to [0, 1] as a saved image would be. */
export function rgbMse(pred: Float32Array, target: Float32Array): number {
  if (pred.length !== target.length || pred.length % 4 !== 0) throw new Error(`rgbMse: images hold ${pred.length} and ${target.length} floats`);
  let sum = 0;
  for (let i = 0; i < pred.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = Math.min(1, Math.max(0, pred[i + c]!)) - target[i + c]!;
      sum += d * d;
    }
  }
  return sum / ((pred.length / 4) * 3);
}

/** PSNR in dB of RGB in [0, 1] (peak 1); Infinity for identical images. */
export function psnr(pred: Float32Array, target: Float32Array): number {
  return -10 * Math.log10(rgbMse(pred, target));
}
