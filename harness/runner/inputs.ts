// Node side of `dg4d run`: reads and validates a dataset (before any GPU work),
// and turns it into the inputs of the page jobs (harness/page/dynamic_job.ts):
//
//   video-to-4d  --data DIR   reference = input frame 0; video = transforms_input
//                             (Consistent4D front video); eval = transforms_eval
//   dnerf        --data DIR   reference = the training view nearest t = 0; no video;
//                             eval = transforms_test
//   image-to-4d  --data DIR   as video-to-4d, with image2video/image.png as the
//                             reference when present; eval also scores the video
//                             frames at the reference view ('reference' set)
//   image-to-4d  --image F --video DIR   no cameras in the input: the front camera
//                             of our scenes (azimuth 0, radius 2.75, 49.1 deg) is
//                             assumed; only the reference prior is possible
//
// The oracle prior draws from transforms_train.json only, never from eval or test
// views. The static stage's oracle takes the `staticViews` training views nearest
// in time to the reference frame; the dynamic stage's takes any, at its own time.
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadDataset } from '../../datasets/dataset.ts';
import { readImageAndFrames } from '../../datasets/formats/frames.ts';
import { readPng, type RgbaImage } from '../../datasets/formats/png.ts';
import { loadImages, type PosedSplit } from '../../datasets/formats/transforms.ts';
import { CAMERA_ANGLE_X, FRONT_RADIUS, orbitC2w } from '../../datasets/make.ts';
import { DatasetError } from '../../datasets/validate.ts';
import type { TimedCamera, TimedImage } from '../pipeline/dynamic_stage.ts';
import type { PriorKind } from '../pipeline/presets.ts';
import type { PosedImage } from '../pipeline/static_stage.ts';

export const RUN_KINDS = ['image-to-4d', 'video-to-4d', 'dnerf'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export interface RunSource {
  kind: RunKind;
  /** A scene folder (every kind). */
  data?: string;
  /** image-to-4d without a scene folder: the image and the folder of video frames. */
  image?: string;
  video?: string;
}

/** A named set of evaluation views: cameras for the page, straight-alpha targets for scoring. */
export interface EvalSet {
  cameras: TimedCamera[];
  targets: RgbaImage[];
  /** Per view: file and, for the Consistent4D split, the azimuth index. */
  labels: string[];
}

export interface RunInputs {
  kind: RunKind;
  /** Where the inputs came from (shown in run.json). */
  source: Record<string, string>;
  /** A short name for tables: the scene folder's name (the image's when there is no folder). */
  scene: string;
  reference: PosedImage;
  staticTrain: PosedImage[];
  video: TimedImage[];
  train: TimedImage[];
  eval: Record<string, EvalSet>;
  /** Frames of the driving video (the time step of annealed noise). */
  frames: number;
  width: number;
  height: number;
}

export class RunInputError extends Error {
  override name = 'RunInputError';
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Straight RGBA to premultiplied (rgb over black, alpha kept): what the stages take. */
export function premultiply(img: RgbaImage): Float32Array {
  const out = img.rgba.slice();
  for (let i = 0; i < out.length; i += 4) for (let c = 0; c < 3; c++) out[i + c]! *= out[i + 3]!;
  return out;
}

function posedFrames(split: PosedSplit, images: RgbaImage[]): TimedImage[] {
  return split.frames.map((f, i) => ({ c2w: f.c2w, fovx: split.fovx, width: images[i]!.width, height: images[i]!.height, rgba: premultiply(images[i]!), time: f.time }));
}

function evalSet(split: PosedSplit, images: RgbaImage[], label: (i: number) => string = (i) => split.frames[i]!.filePath): EvalSet {
  return {
    cameras: split.frames.map((f, i) => ({ c2w: f.c2w, fovx: split.fovx, width: images[i]!.width, height: images[i]!.height, time: f.time })),
    targets: images,
    labels: split.frames.map((_, i) => label(i)),
  };
}

/** The `count` views nearest in time to `time` (ties: file order). */
export function nearestInTime<T extends { time: number }>(views: T[], time: number, count: number): T[] {
  return views
    .map((v, i) => ({ v, i, d: Math.abs(v.time - time) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, count)
    .map((x) => x.v);
}

const untimed = ({ time: _time, ...rest }: TimedImage): PosedImage => rest;

export async function loadRunInputs(src: RunSource, opts: { prior: PriorKind; staticViews: number }): Promise<RunInputs> {
  if (src.data !== undefined && (src.image !== undefined || src.video !== undefined)) throw new RunInputError('give either --data DIR or --image FILE --video DIR, not both');
  if (src.kind !== 'image-to-4d' && src.data === undefined) throw new RunInputError(`${src.kind} needs --data DIR (a scene folder)`);
  if (src.kind === 'image-to-4d' && src.data === undefined) {
    if (src.image === undefined || src.video === undefined) throw new RunInputError('image-to-4d needs --image FILE and --video DIR, or --data DIR');
    return loadImageAndVideo(src.image, src.video, opts.prior);
  }
  const scene = await loadDataset(src.data!);
  const train = scene.dnerf.train;
  if (opts.prior === 'oracle' && !train) throw new DatasetError(join(scene.dir, 'transforms_train.json'), '', 'the oracle prior needs the training split (file missing)');
  const trainViews = opts.prior === 'oracle' && train ? posedFrames(train, await loadImages(train)) : [];
  const source: Record<string, string> = { data: scene.dir };

  if (src.kind === 'dnerf') {
    const test = scene.dnerf.test;
    if (!test) throw new DatasetError(join(scene.dir, 'transforms_test.json'), '', 'dnerf runs are scored on the test split (file missing)');
    if (!train) throw new DatasetError(join(scene.dir, 'transforms_train.json'), '', 'dnerf runs train on the training split (file missing)');
    if (opts.prior !== 'oracle') throw new RunInputError('dnerf reconstruction trains on the training views: use --prior oracle');
    const reference = nearestInTime(trainViews, 0, 1)[0]!;
    const testImages = await loadImages(test);
    return {
      kind: src.kind,
      source,
      scene: basename(scene.dir),
      reference: untimed(reference),
      staticTrain: nearestInTime(trainViews, reference.time, opts.staticViews).map(untimed),
      video: [],
      train: trainViews,
      eval: { test: evalSet(test, testImages) },
      frames: train.frames.length,
      width: reference.width,
      height: reference.height,
    };
  }

  const c4d = scene.c4d;
  if (!c4d) throw new DatasetError(join(scene.dir, 'transforms_input.json'), '', `${src.kind} needs the Consistent4D split (transforms_input.json and transforms_eval.json)`);
  const video = posedFrames(c4d.input, await loadImages(c4d.input));
  const first = nearestInTime(video, 0, 1)[0]!;
  let reference: PosedImage = untimed(first);
  const imageFile = join(scene.dir, 'image2video', 'image.png');
  if (src.kind === 'image-to-4d' && (await exists(imageFile))) {
    const img = await readPng(imageFile).catch((err: Error) => {
      throw new DatasetError(imageFile, '', `could not be decoded: ${err.message}`);
    });
    if (img.width !== first.width || img.height !== first.height) throw new DatasetError(imageFile, '', `is ${img.width}x${img.height}, the input video ${first.width}x${first.height}`);
    reference = { ...reference, rgba: premultiply(img) };
    source.image = imageFile;
  }
  const evalImages = await loadImages(c4d.eval);
  const eval_: Record<string, EvalSet> = { eval: evalSet(c4d.eval, evalImages) };
  if (src.kind === 'image-to-4d') eval_.reference = evalSet(c4d.input, await loadImages(c4d.input));
  return {
    kind: src.kind,
    source,
    scene: basename(scene.dir),
    reference,
    staticTrain: nearestInTime(trainViews, first.time, opts.staticViews).map(untimed),
    video,
    train: trainViews,
    eval: eval_,
    frames: video.length,
    width: first.width,
    height: first.height,
  };
}

async function loadImageAndVideo(image: string, videoDir: string, prior: PriorKind): Promise<RunInputs> {
  if (prior === 'oracle') throw new RunInputError('--image/--video carry no other views: the oracle prior needs --data DIR with transforms_train.json (use --prior reference)');
  const fv = await readImageAndFrames(image, videoDir);
  const decode = (file: string, field: string) =>
    readPng(file).catch((err: Error) => {
      throw new DatasetError(file, field, `could not be decoded: ${err.message}`);
    });
  const c2w = orbitC2w(0, 0, FRONT_RADIUS).flat();
  const img = await decode(fv.image, 'image');
  const frames = await Promise.all(fv.frames.map((f) => decode(f.file, 'frames')));
  const video: TimedImage[] = frames.map((im, i) => ({ c2w, fovx: CAMERA_ANGLE_X, width: im.width, height: im.height, rgba: premultiply(im), time: fv.frames[i]!.time }));
  return {
    kind: 'image-to-4d',
    source: { image: fv.image, video: videoDir },
    scene: basename(fv.image).replace(/\.png$/i, ''),
    reference: { c2w, fovx: CAMERA_ANGLE_X, width: img.width, height: img.height, rgba: premultiply(img) },
    staticTrain: [],
    video,
    train: [],
    eval: {
      reference: {
        cameras: video.map(({ rgba: _rgba, ...cam }) => cam),
        targets: frames,
        labels: fv.frames.map((f) => f.file),
      },
    },
    frames: video.length,
    width: fv.width,
    height: fv.height,
  };
}
