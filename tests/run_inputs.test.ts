// The Node side of `dg4d run` (harness/runner/inputs.ts) and the CPU image
// metrics (harness/metrics/image_metrics.ts): real files in a temp dir, no GPU.
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePng, type RgbaImage } from '../datasets/formats/png.ts';
import { orbitC2w } from '../datasets/make.ts';
import { DatasetError } from '../datasets/validate.ts';
import { psnr, ssim } from '../harness/metrics/image_metrics.ts';
import { loadRunInputs, nearestInTime, premultiply, RunInputError } from '../harness/runner/inputs.ts';
import { scoreSet } from '../harness/runner/pipeline_run.ts';
import { refLoss } from '../harness/splat/loss_ref.ts';
import { mulberry32 } from './helpers/random.ts';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dg4d-run-inputs-'));
});
test.after.always(() => rm(root, { recursive: true, force: true }));

const SIZE = 8;
/** An image whose alpha and colour encode `tag`, so tests can tell which file went where. */
function tagged(tag: number): RgbaImage {
  const rgba = new Float32Array(SIZE * SIZE * 4);
  for (let i = 0; i < SIZE * SIZE; i++) rgba.set([(tag % 10) / 10, 0.5, 1 - (tag % 7) / 7, i % 2 ? 1 : 0.5], 4 * i);
  return { width: SIZE, height: SIZE, rgba };
}

async function writeSplit(dir: string, split: string, views: { time: number; az: number; tag: number }[]) {
  await mkdir(join(dir, split), { recursive: true });
  const frames = [];
  for (const [i, v] of views.entries()) {
    await writePng(join(dir, split, `r_${i}.png`), tagged(v.tag));
    frames.push({ file_path: `./${split}/r_${i}`, time: v.time, transform_matrix: orbitC2w(v.az, 0, 3) });
  }
  await writeFile(join(dir, `transforms_${split}.json`), JSON.stringify({ camera_angle_x: 0.8, frames }));
}

let seq = 0;
async function sceneFolder(o: { train?: boolean; test?: boolean; c4d?: boolean } = {}): Promise<string> {
  const dir = join(root, `scene${seq++}`);
  await mkdir(dir, { recursive: true });
  if (o.train ?? true) await writeSplit(dir, 'train', Array.from({ length: 10 }, (_, i) => ({ time: i / 9, az: i * 36, tag: 100 + i })));
  if (o.test ?? true) await writeSplit(dir, 'test', [{ time: 0.5, az: 10, tag: 200 }, { time: 0.25, az: 20, tag: 201 }]);
  if (o.c4d ?? true) {
    await writeSplit(dir, 'input', Array.from({ length: 4 }, (_, i) => ({ time: i / 3, az: 0, tag: 300 + i })));
    await writeSplit(dir, 'eval', [-75, 15].flatMap((az, a) => Array.from({ length: 4 }, (_, i) => ({ time: i / 3, az, tag: 400 + 10 * a + i }))));
  }
  return dir;
}

const tagOf = (rgba: Float32Array) => rgba[0]! / rgba[3]!; // premultiplied red / alpha of pixel 0

test('video-to-4d: reference is input frame 0, video the input split, oracle views from train only, eval the eval split', async (t) => {
  const dir = await sceneFolder();
  const r = await loadRunInputs({ kind: 'video-to-4d', data: dir }, { prior: 'oracle', staticViews: 3 });
  t.is(r.video.length, 4);
  t.deepEqual(r.video.map((v) => v.time), [0, 1 / 3, 2 / 3, 1]);
  t.is(r.train.length, 10);
  t.is(r.frames, 4);
  t.deepEqual(Object.keys(r.eval), ['eval']);
  t.is(r.eval.eval!.cameras.length, 8);
  t.true(Math.abs(tagOf(r.reference.rgba) - 0.0) < 1e-6, 'reference = input frame 0 (tag 300 -> red 0)');
  // The static oracle: the 3 training views nearest t = 0 (times 0, 1/9, 2/9).
  t.is(r.staticTrain.length, 3);
  t.deepEqual(r.staticTrain.map((v) => Math.round(tagOf(v.rgba) * 10)), [0, 1, 2]);
  // Premultiplied: odd pixels have alpha 0.5, colour halved.
  t.true(Math.abs(r.video[0]!.rgba[4 * 0 + 1]! - 0.25) < 0.01, `${r.video[0]!.rgba[1]}`);
});

test('dnerf: no video, trains on train, scores test; the reference prior is refused', async (t) => {
  const dir = await sceneFolder({ c4d: false });
  const r = await loadRunInputs({ kind: 'dnerf', data: dir }, { prior: 'oracle', staticViews: 4 });
  t.is(r.video.length, 0);
  t.is(r.train.length, 10);
  t.deepEqual(Object.keys(r.eval), ['test']);
  t.deepEqual(r.eval.test!.cameras.map((c) => c.time), [0.5, 0.25]);
  const e = await t.throwsAsync(loadRunInputs({ kind: 'dnerf', data: dir }, { prior: 'reference', staticViews: 4 }));
  t.true(e instanceof RunInputError);
});

test('image-to-4d from a scene folder also scores the video at the reference view', async (t) => {
  const dir = await sceneFolder();
  const r = await loadRunInputs({ kind: 'image-to-4d', data: dir }, { prior: 'oracle', staticViews: 2 });
  t.deepEqual(Object.keys(r.eval).sort(), ['eval', 'reference']);
  t.is(r.eval.reference!.cameras.length, 4);
});

test('image-to-4d from an image and a frame folder: front camera, reference prior only', async (t) => {
  const dir = join(root, `i2v${seq++}`);
  await mkdir(join(dir, 'frames'), { recursive: true });
  await writePng(join(dir, 'image.png'), tagged(1));
  for (let i = 0; i < 3; i++) await writePng(join(dir, 'frames', `f${i}.png`), tagged(2 + i));
  const r = await loadRunInputs({ kind: 'image-to-4d', image: join(dir, 'image.png'), video: join(dir, 'frames') }, { prior: 'reference', staticViews: 2 });
  t.is(r.video.length, 3);
  t.deepEqual(r.video.map((v) => v.time), [0, 0.5, 1]);
  t.is(r.train.length, 0);
  t.is(r.eval.reference!.targets.length, 3);
  const e = await t.throwsAsync(loadRunInputs({ kind: 'image-to-4d', image: join(dir, 'image.png'), video: join(dir, 'frames') }, { prior: 'oracle', staticViews: 2 }));
  t.true(e instanceof RunInputError);
  t.regex(e!.message, /oracle/);
});

test('bad input names the file before any GPU work', async (t) => {
  const noTrain = await sceneFolder({ train: false });
  const e1 = await t.throwsAsync(loadRunInputs({ kind: 'video-to-4d', data: noTrain }, { prior: 'oracle', staticViews: 2 }));
  t.true(e1 instanceof DatasetError);
  t.regex(e1!.message, /transforms_train\.json/);
  const noC4d = await sceneFolder({ c4d: false });
  const e2 = await t.throwsAsync(loadRunInputs({ kind: 'video-to-4d', data: noC4d }, { prior: 'oracle', staticViews: 2 }));
  t.regex(e2!.message, /transforms_input\.json/);
  const e3 = await t.throwsAsync(loadRunInputs({ kind: 'dnerf' }, { prior: 'oracle', staticViews: 2 }));
  t.regex(e3!.message, /--data/);
  const broken = await sceneFolder();
  await writeFile(join(broken, 'eval', 'r_3.png'), 'not a png');
  const e4 = await t.throwsAsync(loadRunInputs({ kind: 'video-to-4d', data: broken }, { prior: 'oracle', staticViews: 2 }));
  t.regex(e4!.message, /r_3/);
});

test('nearestInTime keeps file order among ties', (t) => {
  const views = [0.5, 0.1, 0.3, 0.1, 0.9].map((time, i) => ({ time, i }));
  t.deepEqual(nearestInTime(views, 0.25, 3).map((v) => v.i), [2, 1, 3]);
});

test('premultiply multiplies colour by alpha', (t) => {
  const out = premultiply({ width: 1, height: 1, rgba: Float32Array.from([0.5, 1, 0.2, 0.5]) });
  t.deepEqual(Array.from(out), [0.25, 0.5, 0.1, 0.5].map((v) => Math.fround(v)));
});

test('ssim: 1 for identical images, equals 1 - 2 D-SSIM of the loss reference, lower with noise', (t) => {
  const rnd = mulberry32(7);
  const w = 23;
  const h = 17;
  const a = Float32Array.from({ length: w * h * 4 }, () => rnd() / 2 ** 32);
  const b = Float32Array.from(a, (v) => Math.min(1, Math.max(0, v + (rnd() / 2 ** 32 - 0.5) * 0.2)));
  t.true(Math.abs(ssim(a, a, w, h) - 1) < 1e-12);
  const ref = refLoss({ width: w, height: h, render: b, target: a, weights: {} });
  t.true(Math.abs(ssim(b, a, w, h) - (1 - 2 * ref.dssim)) < 1e-9, `${ssim(b, a, w, h)} vs ${1 - 2 * ref.dssim}`);
  t.true(ssim(b, a, w, h) < 0.99 && ssim(b, a, w, h) > 0);
  t.throws(() => ssim(a, a.subarray(4), w, h), { message: /ssim/i });
});

test('scoreSet composites targets on white and scores each view', (t) => {
  const target: RgbaImage = { width: 2, height: 1, rgba: Float32Array.from([1, 0, 0, 1, 0, 0, 0, 0]) };
  const perfect = Float32Array.from([1, 0, 0, 1, 1, 1, 1, 0]); // transparent pixel shows white
  const scores = scoreSet('eval', { cameras: [{ c2w: orbitC2w(0, 0, 3), fovx: 1, width: 2, height: 1, time: 0.5 }], targets: [target], labels: ['v0'] }, [perfect]);
  t.is(scores.length, 1);
  t.is(scores[0]!.psnr, Infinity);
  t.is(scores[0]!.time, 0.5);
  t.true(psnr(Float32Array.from([1, 0, 0, 1, 0, 0, 0, 0]), Float32Array.from(perfect)) < 10);
});
