// Image-to-4D input: one image plus a driving video as a folder of PNG frames from
// the same view. Frames are sorted naturally (frame_2 before frame_10) and get
// times spread evenly over [0,1].
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { DatasetError, checkSameSize } from '../validate.ts';
import { pngSize } from './transforms.ts';

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Natural order: digit runs compare as numbers ('frame_2' < 'frame_10'). */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export interface FrameVideo {
  /** Absolute path of the reference image. */
  image: string;
  /** Absolute paths of the frames, natural order. */
  frames: { file: string; time: number }[];
  width: number;
  height: number;
}

/** Reads an image and a folder of .png frames; all must share one size. */
export async function readImageAndFrames(image: string, framesDir: string): Promise<FrameVideo> {
  image = resolve(image);
  framesDir = resolve(framesDir);
  let names: string[];
  try {
    names = await readdir(framesDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(framesDir, '', code === 'ENOENT' ? 'frame folder is missing' : `frame folder is unreadable (${code ?? String(err)})`);
  }
  names = names.filter((n) => extname(n).toLowerCase() === '.png').sort(naturalCompare);
  if (names.length === 0) throw new DatasetError(framesDir, 'frames', 'no .png frames in the folder');
  const n = names.length;
  const frames = names.map((name, i) => ({ file: join(framesDir, name), time: n === 1 ? 0 : i / (n - 1) }));
  const img = await pngSize(image, image, 'image');
  const sizes = await Promise.all(frames.map((f) => pngSize(f.file, framesDir, `frames/${f.file.slice(framesDir.length + 1)}`)));
  const { width, height } = checkSameSize([img, ...sizes], framesDir, (i) => (i === 0 ? 'image' : `frames/${names[i - 1]}`));
  return { image, frames, width, height };
}
