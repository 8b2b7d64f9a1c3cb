// The GPU buffers one rendered view moves through, shared by the stage modules
// (project.ts, map_intersects.ts, rasterize.ts) and owned by the Renderer
// (render.ts). Shapes are those of the WGSL bindings; N is the Renderer's
// Gaussian capacity, C its intersection capacity, T = tiles_x * tiles_y.

export interface SplatBuffers {
  /** uniform Camera (wgsl/splat_common.wgsl) */
  camera: GPUBuffer;
  /** uniform RenderParams */
  params: GPUBuffer;
  /** [N,4] f32 (x px, y px, camera depth, radius px); radius 0 = culled */
  xyDepth: GPUBuffer;
  /** [N,4] f32 (conic a, b, c, opacity) */
  conicOpacity: GPUBuffer;
  /** [N,4] f32 (r, g, b, clamp mask) */
  rgb: GPUBuffer;
  /** [N] u32 tiles each splat's bbox covers */
  tilesTouched: GPUBuffer;
  /** [N,4] u32 tile bbox (x0, y0, x1, y1), exclusive ends */
  tileRect: GPUBuffer;
  /** [N] u32 exclusive scan of tilesTouched: first intersection slot per Gaussian */
  offsets: GPUBuffer;
  /** [N, GRAD_STRIDE] f32 per-splat gradients from rasterize_bwd */
  gradSplat: GPUBuffer;
  /** [N] f32 accumulated |d loss / d mean2d| (NDC units) over views */
  xyGradNorm: GPUBuffer;
  /** [N] u32 views in which each splat was visible */
  visCount: GPUBuffer;
}

export interface IntersectBuffers {
  capacity: number;
  /** [C] u32 tile id << depthBits | depth key */
  keys: GPUBuffer;
  /** [C] u32 Gaussian index */
  values: GPUBuffer;
  /** IntersectStatus (count, required, overflow, tile_ranges' indirect grid) */
  status: GPUBuffer;
  /** [T,2] u32 [start, end) of each tile in the sorted lists */
  ranges: GPUBuffer;
}

/** Per-pixel outputs of the forward pass, and the backward's per-pixel input. */
export interface RenderTarget {
  width: number;
  height: number;
  /** [H,W,4] f32 (r, g, b, alpha) */
  image: GPUBuffer;
  /** [H,W] f32 alpha-weighted depth, sum alpha_i T_i depth_i */
  depth: GPUBuffer;
  /** [H,W,2] u32 (final transmittance as f32 bits, end of the contributing intersections) */
  pixelState: GPUBuffer;
}

export function beginPass(encoder: GPUCommandEncoder, label: string, timer?: { beginPass(e: GPUCommandEncoder, l: string): GPUComputePassEncoder }): GPUComputePassEncoder {
  return timer ? timer.beginPass(encoder, label) : encoder.beginComputePass({ label });
}
