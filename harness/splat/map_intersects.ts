// Host side of wgsl/map_intersects.wgsl: dispatchMapIntersects (Gaussian ->
// (key, value) per touched tile, plus the IntersectStatus) and dispatchTileRanges
// (per-tile [start, end) of the sorted lists, on an indirect grid sized on the GPU).
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { beginPass, type IntersectBuffers, type SplatBuffers } from './frame.ts';
import { bindNamed, intersectStatusLayout, SPLAT_SHADERS, WORKGROUP_SIZE_1D } from './shaders.ts';

export interface IntersectPipelines {
  mapIntersects: GPUComputePipeline;
  tileRanges: GPUComputePipeline;
}

/** Byte offsets in the IntersectStatus buffer, from the WGSL struct. */
export const STATUS_COUNT_OFFSET = intersectStatusLayout.field('count').offset;
export const STATUS_RANGES_DISPATCH_OFFSET = intersectStatusLayout.field('ranges_dispatch').offset;

export async function createIntersectPipelines(cache: PipelineCache): Promise<IntersectPipelines> {
  const [mapIntersects, tileRanges] = await Promise.all([
    cache.pipeline(SPLAT_SHADERS.map_intersects, 'map_intersects'),
    cache.pipeline(SPLAT_SHADERS.map_intersects, 'tile_ranges'),
  ]);
  return { mapIntersects, tileRanges };
}

/**
 * Pass `map_intersects`. `scanTotal` holds the sum of tiles_touched (ScanPlan.total).
 * Always dispatches at least one workgroup: thread 0 writes the status even for N = 0.
 */
export function dispatchMapIntersects(
  encoder: GPUCommandEncoder,
  gpu: Gpu,
  pipes: IntersectPipelines,
  b: SplatBuffers,
  x: IntersectBuffers,
  scanTotal: GPUBuffer,
  count: number,
  timer?: GpuTimer,
): void {
  const grid = splitGrid(Math.max(1, Math.ceil(count / WORKGROUP_SIZE_1D)), gpu.device.limits.maxComputeWorkgroupsPerDimension);
  const pass = beginPass(encoder, 'map_intersects', timer);
  pass.setPipeline(pipes.mapIntersects);
  pass.setBindGroup(0, bindNamed(gpu.device, pipes.mapIntersects, SPLAT_SHADERS.map_intersects, {
    params: b.params, offsets: b.offsets, scan_total: { buffer: scanTotal, size: 4 }, tile_rect: b.tileRect, xy_depth: b.xyDepth,
    keys: x.keys, values: x.values, status: x.status,
  }));
  dispatchGrid(pass, grid);
  pass.end();
}

/** Pass `tile_ranges` over the sorted keys; clears the ranges first. */
export function dispatchTileRanges(encoder: GPUCommandEncoder, gpu: Gpu, pipes: IntersectPipelines, b: SplatBuffers, x: IntersectBuffers, timer?: GpuTimer): void {
  encoder.clearBuffer(x.ranges);
  const pass = beginPass(encoder, 'tile_ranges', timer);
  pass.setPipeline(pipes.tileRanges);
  pass.setBindGroup(0, bindNamed(gpu.device, pipes.tileRanges, SPLAT_SHADERS.map_intersects, {
    params: b.params, status_in: x.status, sorted_keys: x.keys, ranges: x.ranges,
  }));
  pass.dispatchWorkgroupsIndirect(x.status, STATUS_RANGES_DISPATCH_OFFSET);
  pass.end();
}
