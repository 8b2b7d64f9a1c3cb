// Image-quality metrics on the CPU in float64: the references of the GPU metrics
// of the same names (wgsl/psnr.wgsl, ssim.wgsl, temporal_consistency.wgsl,
// metrics_composite.wgsl; host harness/metrics/gpu_metrics.ts), written the
// direct way. DOM-free, so the page can use them too. Images are [H,W,4] f32
// RGBA, row-major; only RGB is scored. Conventions, shared with the GPU:
//   - the render (prediction) is clamped to [0, 1] as a saved image would be;
//     the target is taken as given (PNG values, already in [0, 1]);
//   - PSNR has peak 1 and is +Infinity for identical images (no cap; CSV 'inf');
//   - SSIM is the usual one: 11x11 Gaussian window, sigma 1.5, per channel,
//     C1 = 0.01^2, C2 = 0.03^2, zero-padded 'same' filtering (3DGS' ssim(): every
//     pixel has a value, borders see zeros), averaged over pixels and channels;
//   - masked variants weight each pixel by a mask in [0, 1] (pixels at 0 leave
//     the mean); SSIM's windows still see the whole image. An all-zero mask
//     gives NaN (reported as n/a).
import { psnr } from '../pipeline/images.ts';
import { SSIM_C1, SSIM_C2, ssimWindow1d } from '../splat/loss_ref.ts';

export { psnr };

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

function checkPair(fn: string, pred: ArrayLike<number>, target: ArrayLike<number>, n: number, mask?: ArrayLike<number> | null): void {
  if (pred.length !== n * 4 || target.length !== n * 4) throw new Error(`${fn}: images hold ${pred.length} and ${target.length} floats, ${n}x4 expected`);
  if (mask && mask.length !== n) throw new Error(`${fn}: mask holds ${mask.length} floats, ${n} expected`);
}

/** The target composited on white, from premultiplied RGBA: rgb + (1 − α), alpha 1; and α as the mask. */
export function refMetricsComposite(premultiplied: ArrayLike<number>): { rgba: Float32Array; mask: Float32Array } {
  if (premultiplied.length % 4 !== 0) throw new Error(`refMetricsComposite: length ${premultiplied.length} is not a multiple of 4`);
  const n = premultiplied.length / 4;
  const rgba = new Float32Array(n * 4);
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = premultiplied[4 * i + 3]!;
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = premultiplied[4 * i + c]! + (1 - a);
    rgba[4 * i + 3] = 1;
    mask[i] = a;
  }
  return { rgba, mask };
}

/** PSNR in dB (peak 1) of the RGB of a render against a target; with a mask, its weighted mean square error. */
export function refPsnr(pred: ArrayLike<number>, target: ArrayLike<number>, mask?: ArrayLike<number> | null): number {
  const n = pred.length / 4;
  checkPair('refPsnr', pred, target, n, mask);
  let sum = 0;
  let weight = 0;
  for (let p = 0; p < n; p++) {
    const m = mask ? mask[p]! : 1;
    weight += m;
    for (let c = 0; c < 3; c++) {
      const d = clamp01(pred[4 * p + c]!) - target[4 * p + c]!;
      sum += m * d * d;
    }
  }
  if (weight === 0) return NaN;
  return -10 * Math.log10(sum / (3 * weight));
}

/** Separable zero-padded 'same' filter of one [H,W] plane (the 2-D window is the outer product). */
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

/** Mean SSIM over the RGB channels of two [H,W,4] images; with a mask, the map's weighted mean. */
export function refSsim(pred: ArrayLike<number>, target: ArrayLike<number>, width: number, height: number, mask?: ArrayLike<number> | null): number {
  const n = width * height;
  checkPair('refSsim', pred, target, n, mask);
  const win = ssimWindow1d();
  let total = 0;
  let weight = 0;
  for (let p = 0; p < n; p++) weight += mask ? mask[p]! : 1;
  for (let c = 0; c < 3; c++) {
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = clamp01(pred[4 * i + c]!);
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
      const s = ((2 * ma * mb + SSIM_C1) * (2 * cov + SSIM_C2)) / ((ma * ma + mb * mb + SSIM_C1) * (va + vb + SSIM_C2));
      total += (mask ? mask[i]! : 1) * s;
    }
  }
  return weight === 0 ? NaN : total / (3 * weight);
}

/** Mean SSIM of the RGB channels of two [H,W,4] images (unmasked refSsim; kept for existing callers). */
export function ssim(pred: Float32Array, target: Float32Array, width: number, height: number): number {
  return refSsim(pred, target, width, height);
}

/** Mean absolute changes of one frame pair, per RGB value (see wgsl/temporal_consistency.wgsl). */
export interface FrameChange {
  /** Σ |r_t − r_{t−1}| / (3N), renders clamped to [0, 1]. */
  render: number;
  /** Σ |g_t − g_{t−1}| / (3N). */
  gt: number;
  /** Σ |(r_t − r_{t−1}) − (g_t − g_{t−1})| / (3N). */
  error: number;
}

/** The change between two consecutive frames of one view (renders over white, targets composited on white). */
export function refFrameChange(render: ArrayLike<number>, renderPrev: ArrayLike<number>, target: ArrayLike<number>, targetPrev: ArrayLike<number>): FrameChange {
  const n = render.length / 4;
  checkPair('refFrameChange', render, target, n);
  checkPair('refFrameChange', renderPrev, targetPrev, n);
  let r = 0;
  let g = 0;
  let e = 0;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const dr = clamp01(render[4 * p + c]!) - clamp01(renderPrev[4 * p + c]!);
      const dg = target[4 * p + c]! - targetPrev[4 * p + c]!;
      r += Math.abs(dr);
      g += Math.abs(dg);
      e += Math.abs(dr - dg);
    }
  }
  return { render: r / (3 * n), gt: g / (3 * n), error: e / (3 * n) };
}

/**
 * Temporal consistency of a set: over every pair of consecutive frames (t−1, t)
 * of every view (a view = one camera pose, its frames in time order),
 *   render = mean over pairs of Σ|r_t − r_{t−1}| / (3N)   (how much the renders change)
 *   gt     = the same for the ground truth                 (how much the truth changes)
 *   ratio  = render / gt   (1: as much motion as the truth; > 1 flicker; < 1 frozen)
 *   diff   = render − gt
 *   error  = mean over pairs of Σ|Δr − Δg| / (3N)           (change the truth does not have)
 * null when the set has no pair (no view seen at two times); ratio null when gt = 0.
 */
export interface TemporalConsistency {
  pairs: number;
  render: number;
  gt: number;
  ratio: number | null;
  diff: number;
  error: number;
}

export function summarizeTemporal(changes: FrameChange[]): TemporalConsistency | null {
  if (changes.length === 0) return null;
  const mean = (f: (c: FrameChange) => number) => changes.reduce((s, c) => s + f(c), 0) / changes.length;
  const render = mean((c) => c.render);
  const gt = mean((c) => c.gt);
  return { pairs: changes.length, render, gt, ratio: gt > 0 ? render / gt : null, diff: render - gt, error: mean((c) => c.error) };
}

/** Temporal consistency of one view's frames, in time order. */
export function refTemporalConsistency(renders: ArrayLike<number>[], targets: ArrayLike<number>[]): TemporalConsistency | null {
  if (renders.length !== targets.length) throw new Error(`refTemporalConsistency: ${renders.length} renders for ${targets.length} targets`);
  const changes: FrameChange[] = [];
  for (let t = 1; t < renders.length; t++) changes.push(refFrameChange(renders[t]!, renders[t - 1]!, targets[t]!, targets[t - 1]!));
  return summarizeTemporal(changes);
}

/**
 * Views of a set grouped by camera pose, each group's indices in time order: the
 * sequences temporal consistency and FVD look at. Only groups with frames at two or
 * more distinct times are sequences; D-NeRF test views (a new pose each) have none.
 */
export function viewSequences(cameras: { c2w: readonly (readonly number[])[] | ArrayLike<number>; fovx: number; width: number; height: number; time: number }[]): number[][] {
  const groups = new Map<string, number[]>();
  cameras.forEach((c, i) => {
    const rows = c.c2w as ArrayLike<number | readonly number[]>;
    const flat = Array.from(rows as ArrayLike<unknown>).flatMap((r) => (typeof r === 'number' ? [r] : Array.from(r as readonly number[]))).map((v) => v.toFixed(6));
    const key = `${flat.join(',')}|${c.fovx.toFixed(6)}|${c.width}x${c.height}`;
    const g = groups.get(key) ?? [];
    g.push(i);
    groups.set(key, g);
  });
  return [...groups.values()]
    .map((g) => g.sort((a, b) => cameras[a]!.time - cameras[b]!.time || a - b))
    .filter((g) => new Set(g.map((i) => cameras[i]!.time)).size >= 2);
}

/** Per-view scores of an evaluation (harness/page/metrics_job.ts evaluateScene). */
export interface ViewScores {
  psnr: number;
  ssim: number;
  /** Weighted by the ground-truth alpha; NaN when it is empty. */
  psnrMasked: number;
  ssimMasked: number;
  /** null: no model. */
  lpips: number | null;
  /** Cosine of the CLIP embeddings of render and ground truth; null: no model. */
  clip: number | null;
  /** Change from the previous frame of the same view; null for a sequence's first frame or a lone view. */
  change: FrameChange | null;
}

export const VIEW_SCORE_FIELDS = 9;

/**
 * Views' scores as one Float64Array [views, 9] (psnr, ssim, psnr_masked, ssim_masked,
 * lpips, clip, change render, gt, error): values cross the page boundary as JSON,
 * where Infinity and NaN would turn into null; typed arrays keep them. null -> NaN.
 */
export function packViewScores(views: ViewScores[]): Float64Array {
  const out = new Float64Array(views.length * VIEW_SCORE_FIELDS);
  views.forEach((v, i) => {
    const c = v.change;
    out.set([v.psnr, v.ssim, v.psnrMasked, v.ssimMasked, v.lpips ?? NaN, v.clip ?? NaN, c?.render ?? NaN, c?.gt ?? NaN, c?.error ?? NaN], i * VIEW_SCORE_FIELDS);
  });
  return out;
}

export function unpackViewScores(packed: Float64Array): ViewScores[] {
  const nul = (x: number) => (Number.isNaN(x) ? null : x);
  const out: ViewScores[] = [];
  for (let i = 0; i < packed.length / VIEW_SCORE_FIELDS; i++) {
    const [psnr, ssim, psnrMasked, ssimMasked, lpips, clip, r, g, e] = packed.subarray(i * VIEW_SCORE_FIELDS, (i + 1) * VIEW_SCORE_FIELDS);
    out.push({ psnr: psnr!, ssim: ssim!, psnrMasked: psnrMasked!, ssimMasked: ssimMasked!, lpips: nul(lpips!), clip: nul(clip!), change: Number.isNaN(r!) ? null : { render: r!, gt: g!, error: e! } });
  }
  return out;
}
