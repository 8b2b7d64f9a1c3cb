// CPU references of wgsl/map_intersects.wgsl (refMapIntersects, refTileRanges)
// and of the sort between them (sortIntersections: stable, by the low keyBits).
import type { Camera } from './camera.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The depth part of a key: the top `depthBits` of the f32 depth's bits without the sign bit. */
export function refDepthKey(depth: number, depthBits: number): number {
  if (depthBits === 0) return 0;
  f32[0] = Math.max(depth, 0);
  return ((u32[0]! << 1) >>> 0) >>> (32 - depthBits);
}

/** Bits that number the tiles: ceil(log2(tiles)), 0 for one tile. */
export function tileBitsFor(tiles: number): number {
  return tiles <= 1 ? 0 : Math.ceil(Math.log2(tiles));
}

export function refTileOfKey(key: number, depthBits: number): number {
  return depthBits >= 32 ? 0 : key >>> depthBits;
}

/**
 * Keys and values in the order map_intersects writes them (Gaussian by Gaussian,
 * each bbox row by row), before sorting. `tileRect` [N,4], `xyDepth` [N,4].
 */
export function refMapIntersects(
  count: number,
  tileRect: ArrayLike<number>,
  xyDepth: ArrayLike<number>,
  cam: Camera,
  depthBits: number,
): { keys: Uint32Array; values: Uint32Array } {
  const keys: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    const [x0, y0, x1, y1] = [0, 1, 2, 3].map((k) => tileRect[4 * i + k]!) as [number, number, number, number];
    const dkey = refDepthKey(xyDepth[4 * i + 2]!, depthBits);
    for (let ty = y0; ty < y1; ty++) {
      for (let tx = x0; tx < x1; tx++) {
        const tile = ty * cam.tilesX + tx;
        keys.push(((depthBits >= 32 ? 0 : tile * 2 ** depthBits) + dkey) >>> 0);
        values.push(i);
      }
    }
  }
  return { keys: Uint32Array.from(keys), values: Uint32Array.from(values) };
}

/** Stable sort of (key, value) pairs by the low `keyBits` bits of the key. */
export function sortIntersections(keys: Uint32Array, values: Uint32Array, keyBits: number): { keys: Uint32Array; values: Uint32Array } {
  const mask = keyBits >= 32 ? 0xffffffff : 2 ** keyBits - 1;
  const order = Array.from(keys, (_, i) => i);
  order.sort((a, b) => ((keys[a]! & mask) >>> 0) - ((keys[b]! & mask) >>> 0) || a - b);
  return { keys: Uint32Array.from(order, (i) => keys[i]!), values: Uint32Array.from(order, (i) => values[i]!) };
}

/** [tiles, 2] (start, end) of each tile's slice of the sorted keys; [0, 0) if none. */
export function refTileRanges(sortedKeys: ArrayLike<number>, count: number, tiles: number, depthBits: number): Uint32Array {
  const ranges = new Uint32Array(tiles * 2);
  for (let k = 0; k < count; k++) {
    const tile = refTileOfKey(sortedKeys[k]!, depthBits);
    if (tile >= tiles) continue;
    if (k === 0 || refTileOfKey(sortedKeys[k - 1]!, depthBits) !== tile) ranges[2 * tile] = k;
    if (k + 1 === count || refTileOfKey(sortedKeys[k + 1]!, depthBits) !== tile) ranges[2 * tile + 1] = k + 1;
  }
  return ranges;
}
