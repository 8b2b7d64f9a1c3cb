// Host side of wgsl/rasterize.wgsl (dispatchRasterize) and wgsl/rasterize_bwd.wgsl
// (dispatchRasterizeBwd): one workgroup per 16x16 tile, a 2-D grid of tiles.
import type { Gpu } from '../gpu/device.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { beginPass, type IntersectBuffers, type RenderTarget, type SplatBuffers } from './frame.ts';
import { bindNamed, type ReduceVariant, SPLAT_SHADERS, TILE_SIZE } from './shaders.ts';

export interface RasterizePipelines {
  rasterize: GPUComputePipeline;
  rasterizeBwd: GPUComputePipeline;
  variant: ReduceVariant;
}

export async function createRasterizePipelines(gpu: Gpu, cache: PipelineCache, want: ReduceVariant | 'auto' = 'auto'): Promise<RasterizePipelines> {
  if (want === 'subgroups' && !gpu.has('subgroups')) throw new Error('rasterize_bwd: the subgroups variant needs the "subgroups" feature');
  const variant: ReduceVariant = want === 'auto' ? (gpu.has('subgroups') ? 'subgroups' : 'workgroup') : want;
  const bwdShader = variant === 'subgroups' ? SPLAT_SHADERS.rasterize_bwd_subgroups : SPLAT_SHADERS.rasterize_bwd_workgroup;
  const [rasterize, rasterizeBwd] = await Promise.all([cache.pipeline(SPLAT_SHADERS.rasterize, 'rasterize'), cache.pipeline(bwdShader, 'rasterize_bwd')]);
  return { rasterize, rasterizeBwd, variant };
}

function tileGrid(t: RenderTarget): [number, number] {
  return [Math.ceil(t.width / TILE_SIZE), Math.ceil(t.height / TILE_SIZE)];
}

/** Pass `rasterize`: image, depth and per-pixel state of `target`. */
export function dispatchRasterize(encoder: GPUCommandEncoder, gpu: Gpu, pipes: RasterizePipelines, b: SplatBuffers, x: IntersectBuffers, target: RenderTarget, timer?: GpuTimer): void {
  const pass = beginPass(encoder, 'rasterize', timer);
  pass.setPipeline(pipes.rasterize);
  pass.setBindGroup(0, bindNamed(gpu.device, pipes.rasterize, SPLAT_SHADERS.rasterize, {
    camera: b.camera, params: b.params, tile_ranges: x.ranges, sorted_gaussians: x.values, xy_depth: b.xyDepth, conic_opacity: b.conicOpacity, rgb: b.rgb,
    image: target.image, depth_image: target.depth, pixel_state: target.pixelState,
  }));
  pass.dispatchWorkgroups(...tileGrid(target));
  pass.end();
}

/**
 * Pass `rasterize_bwd`: accumulates per-splat gradients into b.gradSplat (which
 * the caller clears). `dPixels` holds d loss / d image [H,W,4] then d loss / d depth [H,W].
 */
export function dispatchRasterizeBwd(
  encoder: GPUCommandEncoder,
  gpu: Gpu,
  pipes: RasterizePipelines,
  b: SplatBuffers,
  x: IntersectBuffers,
  target: RenderTarget,
  dPixels: GPUBuffer,
  timer?: GpuTimer,
): void {
  const shader = pipes.variant === 'subgroups' ? SPLAT_SHADERS.rasterize_bwd_subgroups : SPLAT_SHADERS.rasterize_bwd_workgroup;
  const pass = beginPass(encoder, 'rasterize_bwd', timer);
  pass.setPipeline(pipes.rasterizeBwd);
  pass.setBindGroup(0, bindNamed(gpu.device, pipes.rasterizeBwd, shader, {
    camera: b.camera, params: b.params, tile_ranges: x.ranges, sorted_gaussians: x.values, xy_depth: b.xyDepth, conic_opacity: b.conicOpacity, rgb: b.rgb,
    pixel_state: target.pixelState, d_pixels: dPixels, grad_splat: b.gradSplat,
  }));
  pass.dispatchWorkgroups(...tileGrid(target));
  pass.end();
}
