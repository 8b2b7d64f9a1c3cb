// The Blender-NeRF transforms JSON shared by D-NeRF (transforms_{train,val,test}.json)
// and the Consistent4D split (transforms_{input,eval}.json):
//   { camera_angle_x, frames: [{ file_path, time, transform_matrix }] }
// file_path is relative to the JSON's folder, often './train/r_000', often without
// the extension (then '.png' is tried). transform_matrix is camera-to-world, OpenGL axes.
import { access, open, readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { DatasetError, checkFov, checkRigid, checkSameSize, checkTime, parseJson } from '../validate.ts';
import { checkPngSize, readPng, type RgbaImage } from './png.ts';

export interface PosedFrame {
  /** Absolute path of the image. */
  file: string;
  /** file_path as written in the JSON. */
  filePath: string;
  /** Normalised time in [0,1]. */
  time: number;
  /** Camera-to-world, 16 numbers row-major (OpenGL axes: camera looks down −z). */
  c2w: number[];
}

export interface PosedSplit {
  split: string;
  /** Absolute path of the JSON file the split came from. */
  jsonFile: string;
  /** Horizontal field of view in radians (camera_angle_x). */
  fovx: number;
  frames: PosedFrame[];
  /** Size shared by every image of the split (from the PNG headers). */
  width: number;
  height: number;
}

/** Width and height from a PNG header, without decoding; DatasetError when missing or not a PNG. */
export async function pngSize(file: string, jsonFile: string, field: string): Promise<{ file: string; width: number; height: number }> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(jsonFile, field, code === 'ENOENT' ? `image ${file} is missing` : `image ${file} is unreadable (${code ?? String(err)})`);
  }
  try {
    const buf = Buffer.alloc(24);
    const { bytesRead } = await fh.read(buf, 0, 24, 0);
    const sig = [137, 80, 78, 71, 13, 10, 26, 10];
    if (bytesRead < 24 || !sig.every((b, i) => buf[i] === b) || buf.toString('latin1', 12, 16) !== 'IHDR') {
      throw new DatasetError(jsonFile, field, `image ${file} is not a PNG file`);
    }
    const width = buf.readUInt32BE(16);
    const height = buf.readUInt32BE(20);
    try {
      checkPngSize(width, height, file);
    } catch (err) {
      throw new DatasetError(jsonFile, field, `image ${(err as Error).message}`);
    }
    return { file, width, height };
  } finally {
    await fh.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Reads and checks one transforms JSON; images are checked (present, PNG, one size) but not decoded. */
export async function readTransforms(jsonFile: string, split: string): Promise<PosedSplit> {
  jsonFile = resolve(jsonFile);
  let text: string;
  try {
    text = await readFile(jsonFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(jsonFile, '', code === 'ENOENT' ? 'file is missing' : `file is unreadable (${code ?? String(err)})`);
  }
  const json = parseJson(text, jsonFile);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DatasetError(jsonFile, '', 'top level must be a JSON object');
  const obj = json as Record<string, unknown>;
  const fovx = checkFov(obj.camera_angle_x, jsonFile);
  if (!Array.isArray(obj.frames)) throw new DatasetError(jsonFile, 'frames', obj.frames === undefined ? 'missing' : 'must be an array');
  if (obj.frames.length === 0) throw new DatasetError(jsonFile, 'frames', 'is empty');
  const dir = dirname(jsonFile);
  const frames: PosedFrame[] = [];
  for (const [i, f] of (obj.frames as unknown[]).entries()) {
    const at = `frames[${i}]`;
    if (typeof f !== 'object' || f === null) throw new DatasetError(jsonFile, at, 'must be an object');
    const fr = f as Record<string, unknown>;
    if (typeof fr.file_path !== 'string' || fr.file_path === '') throw new DatasetError(jsonFile, `${at}.file_path`, 'missing or not a string');
    const time = checkTime(fr.time, jsonFile, `${at}.time`);
    const c2w = checkRigid(fr.transform_matrix, jsonFile, `${at}.transform_matrix`);
    let file = resolve(dir, fr.file_path);
    if (extname(file).toLowerCase() !== '.png' && !(await exists(file))) file += '.png';
    frames.push({ file, filePath: fr.file_path, time, c2w });
  }
  const sizes = await Promise.all(frames.map((f, i) => pngSize(f.file, jsonFile, `frames[${i}].file_path`)));
  const { width, height } = checkSameSize(sizes, jsonFile, (i) => `frames[${i}].file_path`);
  return { split, jsonFile, fovx, frames, width, height };
}

/** Decodes the images of a split (straight RGBA in [0,1]); a decode failure names the frame. */
export async function loadImages(split: { jsonFile: string; frames: { file: string }[] }): Promise<RgbaImage[]> {
  return Promise.all(
    split.frames.map(async (f, i) => {
      try {
        return await readPng(f.file);
      } catch (err) {
        throw new DatasetError(split.jsonFile, `frames[${i}].file_path`, `image ${f.file} could not be decoded: ${(err as Error).message}`);
      }
    }),
  );
}
