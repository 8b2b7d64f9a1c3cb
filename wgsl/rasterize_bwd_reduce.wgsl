// Second half of the deterministic rasterize_bwd (rasterize_bwd_ordered.wgsl): the
// per-intersection tile sums in `partials` become per-Gaussian gradients, added
// in a fixed order, with plain stores (host: harness/splat/rasterize.ts).
//
// map_intersects gave Gaussian i the slots [offsets[i], offsets[i] + tiles_touched[i])
// before sorting, one per tile of its bbox in row order; the sort moved them.
// rasterize_bwd_order (one thread per sorted intersection k) recovers k's slot from
// its Gaussian and tile, slot = offsets[g] + (ty - y0) * (x1 - x0) + (tx - x0),
// and records order[slot] = k. rasterize_bwd_reduce (one thread per Gaussian) adds
// partials[order[slot]] over its slots in slot order: tile row by row, whatever
// the sort did. Slots past the intersection capacity were dropped by
// map_intersects (the frame lacks them) and are skipped here too.
// Compiled as this file + splat_common.wgsl.

// rasterize_bwd_order
@group(0) @binding(2) var<storage, read> status: IntersectStatus;          // count: sorted intersections
@group(0) @binding(3) var<storage, read> sorted_keys: array<u32>;          // [count] tile id << depth_bits | depth key
@group(0) @binding(4) var<storage, read> sorted_gaussians: array<u32>;     // [count] Gaussian index per sorted intersection
@group(0) @binding(5) var<storage, read> tile_rect: array<vec4u>;          // [N,4] tile bbox (x0, y0, x1, y1), exclusive ends
@group(0) @binding(6) var<storage, read> offsets: array<u32>;              // [N] first slot of each Gaussian (scan of tiles_touched)
@group(0) @binding(7) var<storage, read_write> order: array<u32>;          // [C] sorted position of each pre-sort slot

// rasterize_bwd_reduce (also status, offsets)
@group(0) @binding(8) var<storage, read> tiles_touched: array<u32>;        // [N] slots of each Gaussian
@group(0) @binding(9) var<storage, read> order_in: array<u32>;             // [C] the order above
@group(0) @binding(10) var<storage, read> partials: array<f32>;            // [C, GRAD_STRIDE] f32 tile sums per sorted intersection
@group(0) @binding(11) var<storage, read_write> grad_splat: array<f32>;    // [N, GRAD_STRIDE] f32 per-splat gradients (overwritten)

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn rasterize_bwd_order(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = linear_workgroup(wid, nwg) * WORKGROUP_SIZE_1D + lid;
  if (k >= status.count) {
    return;
  }
  let g = sorted_gaussians[k];
  let tile = tile_of_key(sorted_keys[k]);
  let tx = tile % params.tiles_x;
  let ty = tile / params.tiles_x;
  let rect = tile_rect[g];
  order[offsets[g] + (ty - rect.y) * (rect.z - rect.x) + (tx - rect.x)] = k;
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn rasterize_bwd_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WORKGROUP_SIZE_1D + lid;
  if (i >= params.count) {
    return;
  }
  let start = offsets[i];
  let end = min(start + tiles_touched[i], status.count);
  var total = array<f32, GRAD_STRIDE>(); // explicit zeros (SwiftShader has kept stale values in loops)
  for (var s = start; s < end; s++) {
    let at = order_in[s] * GRAD_STRIDE;
    for (var k = 0u; k < GRAD_STRIDE; k++) {
      total[k] += partials[at + k];
    }
  }
  for (var k = 0u; k < GRAD_STRIDE; k++) {
    grad_splat[i * GRAD_STRIDE + k] = total[k];
  }
}
