// The whole splatting pipeline on the CPU in float64: refProject -> refMapIntersects
// -> sortIntersections -> refTileRanges -> refRasterize, and its backward. The tests'
// end-to-end oracle and the function the finite-difference checks differentiate.
import type { Camera } from './camera.ts';
import { refMapIntersects, refTileRanges, sortIntersections, tileBitsFor } from './map_intersects_ref.ts';
import { type ParamsLike, type Projected, type ProjectBwdResult, refProject, refProjectBwd } from './project_ref.ts';
import { type RasterOutputs, refRasterize, refRasterizeBwd } from './rasterize_ref.ts';
import { GRAD_LAYOUT } from './constants.ts';

export interface RefRenderOptions {
  background?: ArrayLike<number>;
  /** Depth bits of the sort key; default 32 - tile bits, as the Renderer. */
  depthBits?: number;
}

export interface RefRenderResult extends RasterOutputs {
  projected: Projected;
  keys: Uint32Array;
  values: Uint32Array;
  ranges: Uint32Array;
  depthBits: number;
}

export function defaultDepthBits(cam: Camera): number {
  return 32 - tileBitsFor(cam.tilesX * cam.tilesY);
}

export function refRender(p: ParamsLike, cam: Camera, opts: RefRenderOptions = {}): RefRenderResult {
  const background = opts.background ?? [0, 0, 0];
  const depthBits = opts.depthBits ?? defaultDepthBits(cam);
  const keyBits = tileBitsFor(cam.tilesX * cam.tilesY) + depthBits;
  const projected = refProject(p, cam);
  const mapped = refMapIntersects(p.count, projected.tileRect, projected.xyDepth, cam, depthBits);
  const { keys, values } = sortIntersections(mapped.keys, mapped.values, keyBits);
  const ranges = refTileRanges(keys, keys.length, cam.tilesX * cam.tilesY, depthBits);
  const raster = refRasterize(projected, values, ranges, cam, background);
  return { ...raster, projected, keys, values, ranges, depthBits };
}

export interface RefRenderBwdResult extends ProjectBwdResult {
  /** [N, GRAD_LAYOUT.stride] per-splat gradients (rasterize_bwd's output). */
  gradSplat: Float64Array;
}

export function refRenderBwd(p: ParamsLike, cam: Camera, dImage: ArrayLike<number>, dDepth: ArrayLike<number> | null, opts: RefRenderOptions = {}): RefRenderBwdResult {
  const background = opts.background ?? [0, 0, 0];
  const fwd = refRender(p, cam, opts);
  const gradSplat = refRasterizeBwd(fwd.projected, fwd.values, fwd.ranges, cam, background, p.count, dImage, dDepth);
  return { ...refProjectBwd(p, cam, fwd.projected, gradSplat, GRAD_LAYOUT.stride, GRAD_LAYOUT), gradSplat };
}
