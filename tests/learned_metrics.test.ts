// Learned metrics through onnxruntime-web in real headless Chromium, with tiny
// ONNX models the test writes (tests/helpers/onnx_models.ts) and whose outputs
// are computed here on the CPU: model loading from --metric-models DIR (Node
// check, then the page), preprocessing (area resize, [-1,1] and CLIP
// normalisation, frame sampling), the metric values, 'n/a (no model)' without a
// file, and errors naming the file for corrupt models or wrong input shapes.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { frechetFromFeatures } from '../harness/metrics/frechet.ts';
import { CLIP_MEAN, CLIP_STD, NO_MODEL, cosine, pickFrames } from '../harness/metrics/learned_metrics.ts';
import { findMetricModels, learnedMetricsConfig, metricModelsDataRoots, MetricModelError } from '../harness/metrics/metric_models.ts';
import type { LearnedMetricsJobResult } from '../harness/page/metrics_job.ts';
import { tinyClip, tinyI3d, tinyLpips } from './helpers/onnx_models.ts';
import { mulberry32 } from './helpers/random.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dg4d-learned-'));
const models = join(tmp, 'models');
const extra = join(tmp, 'extra');
mkdirSync(models);
mkdirSync(extra);

function uniform(seed: number) {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}
const randomArray = (n: number, seed: number, scale = 1) => {
  const u = uniform(seed);
  return Float32Array.from({ length: n }, () => scale * (u() - 0.5));
};

// Known weights.
const CONV_W = [0.5, -1, 0.25, 1.5, 0.3, -0.7];
const CONV_B = [0.1, -0.2];
const CLIP_SIDE = 8;
const CLIP_D = 5;
const CLIP_W = randomArray(3 * CLIP_SIDE * CLIP_SIDE * CLIP_D, 1);
const I3D_T = 4;
const I3D_SIDE = 4;
const I3D_D = 6;
const I3D_W = randomArray(3 * I3D_T * I3D_D, 2, 2);
const LPIPS_SIDE = 16;

writeFileSync(join(models, 'lpips_vgg.onnx'), tinyLpips(CONV_W, CONV_B, LPIPS_SIDE));
writeFileSync(join(models, 'clip_vit_b32_image.onnx'), tinyClip(CLIP_W, CLIP_SIDE, CLIP_D));
writeFileSync(join(models, 'i3d.onnx'), tinyI3d(I3D_W, I3D_T, I3D_SIDE, I3D_D));
// Served too, but only ever named explicitly: a symbolic-size LPIPS, a corrupt file, a one-channel CLIP.
writeFileSync(join(extra, 'lpips_dynamic.onnx'), tinyLpips(CONV_W, CONV_B, null));
const valid = tinyClip(CLIP_W, CLIP_SIDE, CLIP_D);
writeFileSync(join(extra, 'corrupt.onnx'), Uint8Array.from(valid.subarray(0, 60), (b, i) => (i > 20 ? b ^ 0x5a : b)));
writeFileSync(join(extra, 'wrong_shape.onnx'), tinyClip(randomArray(CLIP_SIDE * CLIP_SIDE * CLIP_D, 3), CLIP_SIDE, CLIP_D, 1));

let session: BrowserSession;

test.before(async () => {
  const found = await findMetricModels(models);
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000, dataRoots: { ...metricModelsDataRoots(found), extra } });
});

test.after.always(async () => {
  await session?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const W = 32;
const H = 32;

/** A smooth image in [0,1] with values out of range here and there (the harness clamps them). */
function image(seed: number, w = W, h = H): Float32Array {
  const u = uniform(seed);
  const out = new Float32Array(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    for (let c = 0; c < 3; c++) out[4 * p + c] = 0.5 + 0.45 * Math.sin(0.2 * (p % w) + seed + c) * Math.cos(0.3 * Math.floor(p / w) - c) + 0.1 * (u() - 0.5);
    out[4 * p + 3] = 1;
  }
  out[0] = 1.4;
  out[5] = -0.2;
  return out;
}

/** [3, h/f, w/f] planes: clamp, f×f box average (an exact area resize), (v − mean) / std. Written out independently of toPlanes(). */
function cpuPlanes(img: Float32Array, w: number, h: number, f: number, mean: number[], std: number[]): Float64Array {
  const ow = w / f;
  const oh = h / f;
  const out = new Float64Array(3 * ow * oh);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += Math.min(1, Math.max(0, img[4 * ((y * f + dy) * w + x * f + dx) + c]!));
        out[(c * oh + y) * ow + x] = (s / (f * f) - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

const SIGNED = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

function cpuLpips(a: Float32Array, b: Float32Array, f: number): number {
  const pa = cpuPlanes(a, W, H, f, SIGNED.mean, SIGNED.std);
  const pb = cpuPlanes(b, W, H, f, SIGNED.mean, SIGNED.std);
  const n = pa.length / 3;
  let s = 0;
  for (let k = 0; k < 2; k++) {
    for (let p = 0; p < n; p++) {
      let d = 0;
      for (let c = 0; c < 3; c++) d += CONV_W[k * 3 + c]! * (pa[c * n + p]! - pb[c * n + p]!);
      s += d * d;
    }
  }
  return s / (2 * n);
}

function cpuClip(img: Float32Array): Float64Array {
  const x = cpuPlanes(img, W, H, W / CLIP_SIDE, CLIP_MEAN, CLIP_STD);
  return Float64Array.from({ length: CLIP_D }, (_, d) => x.reduce((s, v, i) => s + v * CLIP_W[i * CLIP_D + d]!, 0));
}

function cpuI3d(frames: Float32Array[]): Float64Array {
  const picks = pickFrames(frames.length, I3D_T);
  // Spatial mean of the [-1,1] planes, per channel and picked frame: [3, T].
  const pooled = new Float64Array(3 * I3D_T);
  picks.forEach((f, t) => {
    const p = cpuPlanes(frames[f]!, W, H, W / I3D_SIDE, SIGNED.mean, SIGNED.std);
    const n = p.length / 3;
    for (let c = 0; c < 3; c++) pooled[c * I3D_T + t] = p.subarray(c * n, (c + 1) * n).reduce((s, v) => s + v, 0) / n;
  });
  return Float64Array.from({ length: I3D_D }, (_, d) => pooled.reduce((s, v, i) => s + v * I3D_W[i * I3D_D + d]!, 0));
}

const near = (got: number, want: number, tol = 1e-4) => Math.abs(got - want) <= tol * Math.max(1, Math.abs(want));

test('findMetricModels: the three files, their input shapes; absent files and no directory', async (t) => {
  const found = (await findMetricModels(models))!;
  t.deepEqual(found.files, { lpips: 'lpips_vgg.onnx', clip: 'clip_vit_b32_image.onnx', i3d: 'i3d.onnx' });
  t.deepEqual(found.inputs.clip, [{ name: 'pixel_values', dims: [1, 3, CLIP_SIDE, CLIP_SIDE] }]);
  t.deepEqual(found.inputs.i3d, [{ name: 'video', dims: [1, 3, I3D_T, I3D_SIDE, I3D_SIDE] }]);
  t.deepEqual(found.inputs.lpips!.map((i) => i.name), ['in0', 'in1']);
  t.is(await findMetricModels(undefined), null);
  const empty = (await findMetricModels(join(tmp, 'extra')))!;
  t.deepEqual(empty.files, {}, 'no file of the documented names');
  t.is(learnedMetricsConfig(empty), null);
  await t.throwsAsync(findMetricModels(join(tmp, 'nowhere')), { instanceOf: MetricModelError, message: /--metric-models .*nowhere: not a directory/ });
});

test('findMetricModels: a corrupt file and a wrong input shape are errors naming the file, before any GPU work', async (t) => {
  const bad = join(tmp, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'i3d.onnx'), Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 0xff));
  await t.throwsAsync(findMetricModels(bad), { instanceOf: MetricModelError, message: /metric model .*bad\/i3d\.onnx \(i3d\): not a valid ONNX model/ });
  const truncated = tinyLpips(CONV_W, CONV_B, 16);
  writeFileSync(join(bad, 'i3d.onnx'), tinyI3d(I3D_W, I3D_T, I3D_SIDE, I3D_D));
  writeFileSync(join(bad, 'lpips_vgg.onnx'), truncated.subarray(0, truncated.length - 7));
  await t.throwsAsync(findMetricModels(bad), { instanceOf: MetricModelError, message: /lpips_vgg\.onnx \(lpips\): not a valid ONNX model: .*runs past/ });
  rmSync(join(bad, 'lpips_vgg.onnx'));
  writeFileSync(join(bad, 'clip_vit_b32_image.onnx'), tinyClip(randomArray(CLIP_SIDE * CLIP_SIDE * CLIP_D, 3), CLIP_SIDE, CLIP_D, 1));
  await t.throwsAsync(findMetricModels(bad), { instanceOf: MetricModelError, message: /clip_vit_b32_image\.onnx \(clip\): input 'pixel_values' is float32 \[1,1,8,8\], expected one input \[N,3,H,W\] float32/ });
  rmSync(join(bad, 'clip_vit_b32_image.onnx'));
  writeFileSync(join(bad, 'lpips_vgg.onnx'), tinyClip(CLIP_W, CLIP_SIDE, CLIP_D));
  await t.throwsAsync(findMetricModels(bad), { instanceOf: MetricModelError, message: /lpips_vgg\.onnx \(lpips\): has 1 input\(s\) \(pixel_values\), expected two inputs/ });
});

const learned = (args: Record<string, unknown>) => session.run<LearnedMetricsJobResult>('learnedMetrics', args);

test('LPIPS, CLIP and I3D through onnxruntime-web (wasm) match the CPU: resize, normalisation, frame sampling, metric', async (t) => {
  const config = learnedMetricsConfig(await findMetricModels(models))!;
  const a = image(1);
  const b = image(2);
  const video = Array.from({ length: 8 }, (_, k) => image(10 + k));
  const video2 = Array.from({ length: 8 }, (_, k) => image(30 + k));
  const r = await learned({ models: config, width: W, height: H, pairs: [{ render: a, target: b }, { render: a, target: a }], images: [a, b], videos: [video, video2] });
  t.deepEqual(r.models, { lpips: true, clip: true, i3d: true });
  // LPIPS: 32x32 -> the model's fixed 16x16 by 2x2 area averages, [-1,1].
  const wantLpips = cpuLpips(a, b, W / LPIPS_SIDE);
  t.true(wantLpips > 0.01, `a meaningful distance ${wantLpips}`);
  t.true(near(r.lpips[0]!, wantLpips), `lpips ${r.lpips[0]} vs ${wantLpips}`);
  t.is(r.lpips[1], 0, 'identical images: distance 0');
  // CLIP: 32x32 -> 8x8, CLIP mean/std, embedding and cosine.
  const [ea, eb] = [cpuClip(a), cpuClip(b)];
  r.clip.forEach((e, i) => {
    const want = [ea, eb][i]!;
    t.true(e!.every((v, d) => near(v, want[d]!)), `clip embedding ${i}: ${Array.from(e!)} vs ${Array.from(want)}`);
  });
  t.true(near(cosine(r.clip[0]!, r.clip[1]!), cosine(ea, eb), 1e-5));
  // I3D: 8 frames -> T = 4 picked (0, 2, 4, 6), 32x32 -> 4x4, [-1,1]; then FVD on the host.
  t.deepEqual(pickFrames(8, I3D_T), [0, 2, 4, 6]);
  const [fa, fb] = [cpuI3d(video), cpuI3d(video2)];
  t.true(r.i3d[0]!.every((v, d) => near(v, fa[d]!)), `i3d ${Array.from(r.i3d[0]!)} vs ${Array.from(fa)}`);
  t.true(r.i3d[1]!.every((v, d) => near(v, fb[d]!)));
  const fvd = frechetFromFeatures([r.i3d[0]!], [r.i3d[1]!]);
  t.true(near(fvd, frechetFromFeatures([fa], [fb])), `fvd ${fvd}`);
});

test('a symbolic-size LPIPS gets the render size; a model absent from the config answers null (n/a (no model))', async (t) => {
  const a = image(3);
  const b = image(4);
  const r = await learned({ models: { baseUrl: '/data/extra/', files: { lpips: 'lpips_dynamic.onnx' } }, width: W, height: H, pairs: [{ render: a, target: b }], images: [a], videos: [[a, b]] });
  t.deepEqual(r.models, { lpips: true, clip: false, i3d: false });
  t.true(near(r.lpips[0]!, cpuLpips(a, b, 1)), `${r.lpips[0]} vs ${cpuLpips(a, b, 1)}`);
  t.deepEqual(r.clip, [null]);
  t.deepEqual(r.i3d, [null]);
  const none = await learned({ models: { baseUrl: '/data/extra/', files: {} }, width: W, height: H, pairs: [{ render: a, target: b }] });
  t.deepEqual(none.lpips, [null]);
  t.is(NO_MODEL, 'n/a (no model)');
});

test('in the page, a corrupt model and a wrong input shape are errors naming the file', async (t) => {
  await t.throwsAsync(learned({ models: { baseUrl: '/data/extra/', files: { clip: 'corrupt.onnx' } }, width: W, height: H }), {
    instanceOf: PageJobError,
    message: /metric model corrupt\.onnx \(clip\): onnxruntime-web could not load it/,
  });
  await t.throwsAsync(learned({ models: { baseUrl: '/data/extra/', files: { clip: 'wrong_shape.onnx' } }, width: W, height: H }), {
    instanceOf: PageJobError,
    message: /metric model wrong_shape\.onnx \(clip\): input 'pixel_values' is float32 \[1,1,8,8\], expected one input \[N,3,H,W\] float32/,
  });
  await t.throwsAsync(learned({ models: { baseUrl: '/data/extra/', files: { i3d: 'missing.onnx' } }, width: W, height: H }), {
    instanceOf: PageJobError,
    message: /metric model missing\.onnx \(i3d\): could not be (fetched|read from) .*HTTP 404/,
  });
});
