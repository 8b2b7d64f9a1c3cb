// Host side of wgsl/rasterize.wgsl (dispatchRasterize), wgsl/rasterize_bwd.wgsl
// (dispatchRasterizeBwd: one workgroup per 16x16 tile, a 2-D grid of tiles) and,
// for the default 'ordered' reduction, wgsl/rasterize_bwd_reduce.wgsl
// (dispatchRasterizeBwdReduce: per-intersection tile sums -> per-Gaussian rows).
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { beginPass, type IntersectBuffers, type RenderTarget, type SplatBuffers } from './frame.ts';
import { bindNamed, GRAD_LAYOUT, type ReduceVariant, SPLAT_CONSTANTS, SPLAT_SHADERS, TILE_SIZE, WORKGROUP_SIZE_1D } from './shaders.ts';
import { STATUS_RANGES_DISPATCH_OFFSET } from './map_intersects.ts';

export interface RasterizePipelines {
  rasterize: GPUComputePipeline;
  rasterizeBwd: GPUComputePipeline;
  /** 'ordered' only: rasterize_bwd_order and rasterize_bwd_reduce. */
  order: GPUComputePipeline | null;
  reduce: GPUComputePipeline | null;
  variant: ReduceVariant;
  /** Splats per backward batch of the ordered variants (from the workgroup memory limit); 0 for CAS. */
  batchSize: number;
}

/** Scratch of the ordered reduction, sized by the intersection capacity C (owned by the Renderer). */
export interface OrderedBwdBuffers {
  /** [C, GRAD_STRIDE] f32 rasterize_bwd's tile sum per sorted intersection */
  partials: GPUBuffer;
  /** [C] u32 sorted position of each pre-sort intersection slot */
  order: GPUBuffer;
}

/** Summing units' columns of rasterize_bwd_ordered: one per thread, or per subgroup of at least 4 lanes. */
function orderedColumns(variant: ReduceVariant): number {
  return variant === 'ordered_subgroups' ? SPLAT_CONSTANTS.RASTER_THREADS / 4 : SPLAT_CONSTANTS.RASTER_THREADS;
}

/**
 * Splats per batch of rasterize_bwd_ordered: the largest of BATCH_CHOICES whose
 * batch x GRAD_STRIDE x columns f32 fit the device's workgroup memory
 * (WebGPU's default 16 KiB holds 4 per-thread or 16 per-subgroup splats).
 */
export function orderedBatchSize(variant: ReduceVariant, maxWorkgroupStorage: number): number {
  const perSplat = GRAD_LAYOUT.stride * orderedColumns(variant) * 4;
  const rest = 2048; // the batch's splat rows, the tile span and the leader mask, with room to spare
  const fits = ORDERED_BATCH_CHOICES[variant === 'ordered_subgroups' ? 'subgroups' : 'workgroup'].filter((b) => b * perSplat + rest <= maxWorkgroupStorage);
  return fits.length ? Math.max(...fits) : 1;
}

/** Batch sizes: the largest that fits is taken. SwiftShader, 10k Gaussians at 128^2 (subgroups): 8 -> 165 ms, 16 -> ~140 ms, 32 -> ~170 ms. */
const ORDERED_BATCH_CHOICES = { subgroups: [4, 8, 16], workgroup: [2, 4, 8] };

const BWD_SHADERS: Record<ReduceVariant, ShaderSource> = {
  ordered_subgroups: SPLAT_SHADERS.rasterize_bwd_ordered_subgroups,
  ordered_workgroup: SPLAT_SHADERS.rasterize_bwd_ordered_workgroup,
  subgroups: SPLAT_SHADERS.rasterize_bwd_subgroups,
  workgroup: SPLAT_SHADERS.rasterize_bwd_workgroup,
};

function bwdShader(variant: ReduceVariant): ShaderSource {
  return BWD_SHADERS[variant];
}

/**
 * 'auto' = 'ordered' (deterministic: with subgroups where the device has them);
 * 'cas' = the compare-exchange kernel (faster, not bitwise repeatable); or a variant by name.
 */
export type ReduceChoice = ReduceVariant | 'auto' | 'ordered' | 'cas';

export function resolveReduce(gpu: Gpu, want: ReduceChoice): ReduceVariant {
  const names = ['auto', 'ordered', 'cas', ...Object.keys(BWD_SHADERS)];
  if (!names.includes(want)) throw new Error(`rasterize_bwd: reduce '${String(want)}' is not one of ${names.join(', ')}`);
  const sub = gpu.has('subgroups');
  if (want.endsWith('subgroups') && !sub) throw new Error(`rasterize_bwd: the ${want} variant needs the "subgroups" feature`);
  if (want === 'cas') return sub ? 'subgroups' : 'workgroup';
  if (want === 'auto' || want === 'ordered') return sub ? 'ordered_subgroups' : 'ordered_workgroup';
  return want;
}

export async function createRasterizePipelines(gpu: Gpu, cache: PipelineCache, want: ReduceChoice = 'auto'): Promise<RasterizePipelines> {
  const variant = resolveReduce(gpu, want);
  const ordered = variant.startsWith('ordered');
  const batchSize = ordered ? orderedBatchSize(variant, gpu.device.limits.maxComputeWorkgroupStorageSize) : 0;
  const [rasterize, rasterizeBwd, order, reduce] = await Promise.all([
    cache.pipeline(SPLAT_SHADERS.rasterize, 'rasterize'),
    cache.pipeline(bwdShader(variant), 'rasterize_bwd', ordered ? { BWD_BATCH_SIZE: batchSize, ORDERED_COLUMNS: orderedColumns(variant) } : undefined),
    ordered ? cache.pipeline(SPLAT_SHADERS.rasterize_bwd_reduce, 'rasterize_bwd_order') : null,
    ordered ? cache.pipeline(SPLAT_SHADERS.rasterize_bwd_reduce, 'rasterize_bwd_reduce') : null,
  ]);
  return { rasterize, rasterizeBwd, order, reduce, variant, batchSize };
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
 * Pass `rasterize_bwd`. 'ordered': writes one tile sum per sorted intersection
 * into `ordered.partials` (follow with dispatchRasterizeBwdReduce); the CAS variants
 * accumulate per-splat gradients into b.gradSplat (which the caller clears).
 * `dPixels` holds d loss / d image [H,W,4] then d loss / d depth [H,W].
 */
export function dispatchRasterizeBwd(
  encoder: GPUCommandEncoder,
  gpu: Gpu,
  pipes: RasterizePipelines,
  b: SplatBuffers,
  x: IntersectBuffers,
  target: RenderTarget,
  dPixels: GPUBuffer,
  ordered: OrderedBwdBuffers | null,
  timer?: GpuTimer,
): void {
  const shader = bwdShader(pipes.variant);
  if (pipes.order && !ordered) throw new Error('rasterize_bwd: the ordered reduction needs its partials and order buffers');
  const out: Record<string, GPUBuffer> = pipes.order ? { partials: ordered!.partials } : { grad_splat: b.gradSplat };
  const pass = beginPass(encoder, 'rasterize_bwd', timer);
  pass.setPipeline(pipes.rasterizeBwd);
  pass.setBindGroup(0, bindNamed(gpu.device, pipes.rasterizeBwd, shader, {
    camera: b.camera, params: b.params, tile_ranges: x.ranges, sorted_gaussians: x.values, xy_depth: b.xyDepth, conic_opacity: b.conicOpacity, rgb: b.rgb,
    pixel_state: target.pixelState, d_pixels: dPixels, ...out,
  }));
  pass.dispatchWorkgroups(...tileGrid(target));
  pass.end();
}

/**
 * Pass `rasterize_bwd_reduce` ('ordered' only): rasterize_bwd_order (pre-sort slot ->
 * sorted position, one thread per intersection, indirect grid from the status)
 * then rasterize_bwd_reduce (b.gradSplat rows [0, count) overwritten, one thread per Gaussian).
 */
export function dispatchRasterizeBwdReduce(
  encoder: GPUCommandEncoder,
  gpu: Gpu,
  pipes: RasterizePipelines,
  b: SplatBuffers,
  x: IntersectBuffers,
  ordered: OrderedBwdBuffers,
  count: number,
  timer?: GpuTimer,
): void {
  if (!pipes.order || !pipes.reduce) throw new Error(`rasterize_bwd_reduce: the '${pipes.variant}' reduction has no reduce pass`);
  const { partials, order } = ordered;
  const shader = SPLAT_SHADERS.rasterize_bwd_reduce;
  const pass = beginPass(encoder, 'rasterize_bwd_reduce', timer);
  pass.setPipeline(pipes.order);
  pass.setBindGroup(0, bindNamed(gpu.device, pipes.order, shader, {
    params: b.params, status: x.status, sorted_keys: x.keys, sorted_gaussians: x.values, tile_rect: b.tileRect, offsets: b.offsets, order,
  }));
  // One thread per written intersection: the same indirect grid as tile_ranges.
  pass.dispatchWorkgroupsIndirect(x.status, STATUS_RANGES_DISPATCH_OFFSET);
  if (count > 0) {
    pass.setPipeline(pipes.reduce);
    pass.setBindGroup(0, bindNamed(gpu.device, pipes.reduce, shader, {
      params: b.params, status: x.status, offsets: b.offsets, tiles_touched: b.tilesTouched, order_in: order, partials, grad_splat: b.gradSplat,
    }));
    dispatchGrid(pass, splitGrid(Math.ceil(count / WORKGROUP_SIZE_1D), gpu.device.limits.maxComputeWorkgroupsPerDimension));
  }
  pass.end();
}
