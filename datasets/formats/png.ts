// PNG in and out for datasets (Node side). Decoding by pngjs (pure JS, no install
// scripts): 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA and palette, tRNS included.
// In memory an image is straight (non-premultiplied) RGBA f32 in [0,1], [H,W,4].
import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../../harness/report/atomic.ts';

export interface RgbaImage {
  width: number;
  height: number;
  /** [H,W,4] f32 straight alpha in [0,1], row-major from the top-left pixel. */
  rgba: Float32Array;
}

export interface PngInfo {
  /** Bits per sample in the file: 1, 2, 4, 8 or 16. */
  depth: number;
  /** PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  /** Whether the file carries alpha (an alpha channel or a tRNS chunk). */
  alpha: boolean;
}

/**
 * Largest image accepted: 16384 pixels a side and 2^26 pixels (8192²; 1 GiB as
 * f32 RGBA). A header claiming more is refused before anything is allocated.
 */
export const MAX_PNG_SIDE = 16384;
export const MAX_PNG_PIXELS = 2 ** 26;

/** A PNG that cannot be read; the message names the file (or the source given to decodePng). */
export class PngError extends Error {
  override name = 'PngError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** Width and height from the IHDR chunk; refuses non-PNG bytes and sizes past the limits. */
export function pngHeaderSize(bytes: Uint8Array, source = 'PNG'): { width: number; height: number } {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length < 24 || !sig.every((b, i) => bytes[i] === b) || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new PngError(source, 'not a PNG file (no PNG signature and IHDR chunk)');
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, 24);
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  checkPngSize(width, height, source);
  return { width, height };
}

/** The size limits (MAX_PNG_SIDE, MAX_PNG_PIXELS), with an error naming the file. */
export function checkPngSize(width: number, height: number, source: string): void {
  if (width === 0 || height === 0) throw new PngError(source, `IHDR size ${width} x ${height}: an image needs at least one pixel`);
  if (width > MAX_PNG_SIDE || height > MAX_PNG_SIDE || width * height > MAX_PNG_PIXELS) {
    throw new PngError(source, `IHDR size ${width} x ${height} is past the limit (${MAX_PNG_SIDE} pixels a side, ${MAX_PNG_PIXELS} pixels in all)`);
  }
}

/** Decodes PNG bytes. Images without alpha get alpha 1; 16-bit samples are divided by 65535. Errors name `source`. */
export function decodePng(bytes: Uint8Array, source = 'PNG'): RgbaImage & { info: PngInfo } {
  pngHeaderSize(bytes, source);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (err) {
    throw new PngError(source, `cannot decode (${(err as Error).message})`);
  }
  const { width, height } = png;
  // With skipRescale, samples keep their file depth, except palette entries (always 8-bit).
  const data = png.data as unknown as ArrayLike<number>;
  const max = png.palette ? 255 : 2 ** png.depth - 1;
  const n = width * height * 4;
  if (data.length < n) throw new PngError(source, `decoded ${data.length} samples, expected ${n}`);
  const rgba = new Float32Array(n);
  const inv = 1 / max;
  for (let i = 0; i < n; i++) rgba[i] = data[i]! * inv;
  // pngjs sets alpha to the maximum sample value for formats without alpha; make it exactly 1.
  if (!png.alpha) for (let i = 3; i < n; i += 4) rgba[i] = 1;
  const colorType = png.palette ? 3 : (png.color ? 2 : 0) | (png.alpha && !png.palette ? 4 : 0);
  return { width, height, rgba, info: { depth: png.depth, colorType, alpha: png.alpha } };
}

/** Reads and decodes a PNG file (see decodePng). */
export async function readPng(path: string): Promise<RgbaImage & { info: PngInfo }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new PngError(path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodePng(bytes, path);
}

export interface PngWriteOptions {
  /** 8 (default) or 16 bits per sample. */
  bitDepth?: 8 | 16;
  /** 'rgba' (default), 'rgb' (alpha dropped), 'grey' (red channel), 'greya'. */
  channels?: 'rgba' | 'rgb' | 'grey' | 'greya';
}

/** Encodes an image; values are clamped to [0,1] and rounded. */
export function encodePng(img: RgbaImage, opts: PngWriteOptions = {}): Buffer {
  const { width, height, rgba } = img;
  checkImage(img);
  const depth = opts.bitDepth ?? 8;
  const channels = opts.channels ?? 'rgba';
  const max = depth === 16 ? 65535 : 255;
  const take = ({ rgba: [0, 1, 2, 3], rgb: [0, 1, 2], grey: [0], greya: [0, 3] } as const)[channels];
  const colorType = ({ rgba: 6, rgb: 2, grey: 0, greya: 4 } as const)[channels];
  const k = take.length;
  const samples = depth === 16 ? new Uint16Array(width * height * k) : new Uint8Array(width * height * k);
  for (let p = 0, o = 0; p < width * height; p++) {
    for (const c of take) {
      const v = rgba[4 * p + c]!;
      samples[o++] = Math.round((v > 1 ? 1 : v > 0 ? v : 0) * max);
    }
  }
  // Input already in the file's layout, so pngjs neither composites nor averages channels;
  // 16-bit input is native-endian Uint16 read from the buffer's bytes.
  const opts2 = { width, height, bitDepth: depth, colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 || colorType === 6 };
  const png = new PNG(opts2);
  png.data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return PNG.sync.write(png, opts2);
}

/** Writes a PNG atomically (temp file beside it, then rename). */
export async function writePng(path: string, img: RgbaImage, opts: PngWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodePng(img, opts));
}

export type Background = 'white' | 'black' | readonly [number, number, number];

/** Composites straight-alpha RGBA over an opaque background: returns RGBA with alpha 1. */
export function composite(rgba: Float32Array, background: Background): Float32Array {
  if (rgba.length % 4 !== 0) throw new Error(`composite: length ${rgba.length} is not a multiple of 4`);
  const bg = background === 'white' ? [1, 1, 1] : background === 'black' ? [0, 0, 0] : background;
  const out = new Float32Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    for (let c = 0; c < 3; c++) out[i + c] = rgba[i + c]! * a + bg[c]! * (1 - a);
    out[i + 3] = 1;
  }
  return out;
}

function checkImage({ width, height, rgba }: RgbaImage): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`image size ${width}x${height} is not a positive integer size`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(`rgba has ${rgba.length} values, expected ${width}x${height}x4 = ${width * height * 4}`);
  }
}
