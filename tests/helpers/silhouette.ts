// OBJ parsing and CPU silhouettes for checking rendered ground truth against its meshes.
import { gtCamera, gtProject, MSAA4_POSITIONS } from '../../harness/gt/mesh.ts';

export function parseObj(text: string) {
  const v: number[][] = [], vt: number[][] = [], vn: number[][] = [], f: number[][][] = [];
  for (const line of text.split('\n')) {
    const [k, ...a] = line.trim().split(/\s+/);
    if (k === 'v') v.push(a.map(Number));
    else if (k === 'vt') vt.push(a.map(Number));
    else if (k === 'vn') vn.push(a.map(Number));
    else if (k === 'f') f.push(a.map((x) => x.split('/').map(Number)));
  }
  return { v, vt, vn, f };
}

/**
 * CPU rasterisation of the projected triangles (either winding) at WebGPU's 4 standard
 * sample positions, the renderer's MSAA pattern: a pixel is in the silhouette when at
 * least 2 of its 4 samples are covered, i.e. when its rendered alpha (2/4 -> 128/255 in
 * the 8-bit PNG) is > 0.5. Pixel-centre sampling would disagree on every pixel an edge
 * halves, a systematic one-pixel rim.
 */
export function rasterSilhouette(v: number[][], faces: number[][][], c2w: number[], fovx: number, res: number): Uint8Array {
  const cam = gtCamera({ c2w, fovx, width: res, height: res });
  const px = v.map((p) => gtProject(cam, p));
  const hits = new Uint8Array(res * res * 4);
  for (const face of faces) {
    const [a, b, c] = face.map((x) => px[x[0]! - 1]! as number[]) as unknown as [number[], number[], number[]];
    const area = (b[0]! - a[0]!) * (c[1]! - a[1]!) - (b[1]! - a[1]!) * (c[0]! - a[0]!);
    if (area === 0) continue;
    const x0 = Math.max(0, Math.floor(Math.min(a[0]!, b[0]!, c[0]!))), x1 = Math.min(res - 1, Math.ceil(Math.max(a[0]!, b[0]!, c[0]!)));
    const y0 = Math.max(0, Math.floor(Math.min(a[1]!, b[1]!, c[1]!))), y1 = Math.min(res - 1, Math.ceil(Math.max(a[1]!, b[1]!, c[1]!)));
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
      MSAA4_POSITIONS.forEach(([sx, sy], k) => {
        const p = [x + sx, y + sy];
        const e = (u: number[], w: number[]) => ((w[0]! - u[0]!) * (p[1]! - u[1]!) - (w[1]! - u[1]!) * (p[0]! - u[0]!)) / area;
        if (e(a, b) >= 0 && e(b, c) >= 0 && e(c, a) >= 0) hits[4 * (y * res + x) + k] = 1;
      });
    }
  }
  const mask = new Uint8Array(res * res);
  for (let p = 0; p < res * res; p++) mask[p] = hits[4 * p]! + hits[4 * p + 1]! + hits[4 * p + 2]! + hits[4 * p + 3]! >= 2 ? 1 : 0;
  return mask;
}


/**
 * IoU of (rendered alpha > 0.5) against a silhouette mask, and the mask's area in
 * pixels. A disagreement on a pixel the renderer covered exactly half (2 of 4
 * MSAA samples, stored as 128/255) is not counted against either side but
 * reported as `ties`: there a sample lies on a triangle edge, and whether it is
 * inside flips with the last float digit of the OBJ's coordinates.
 */
export function silhouetteIou(img: { rgba: Float32Array }, mask: Uint8Array): { iou: number; area: number; ties: number } {
  let inter = 0;
  let union = 0;
  let area = 0;
  let ties = 0;
  for (let p = 0; p < mask.length; p++) {
    const alpha = img.rgba[4 * p + 3]!;
    const a = alpha > 0.5 ? 1 : 0;
    area += mask[p]!;
    if (a !== mask[p] && Math.abs(alpha - 128 / 255) < 0.5 / 255) {
      ties++;
      continue;
    }
    inter += a & mask[p]!;
    union += a | mask[p]!;
  }
  return { iou: union ? inter / union : 1, area, ties };
}
