// Gaussian -> tile intersections, and each tile's slice of them after sorting.
//
// map_intersects (one thread per Gaussian): `offsets` is the exclusive scan of
// tiles_touched (ScanPlan), so Gaussian i owns slots [offsets[i], offsets[i] +
// tiles_touched[i]). For each tile of its bbox, row by row, it writes
//   key   = tile_id << depth_bits | depth_key(depth)   (tile_id = y * tiles_x + x)
//   value = i
// The host sorts keys by their low tile_bits + depth_bits bits (stable), which
// orders them by tile, then by depth, then by Gaussian index. Only the
// `intersect_capacity` first slots exist: slots past it are dropped, and
// thread 0 records the true total in `status` (required, overflow) so the host
// can grow the buffers and render again without a per-frame readback
// (harness/splat/render.ts). status.count = min(total, capacity) is what the
// sort and tile_ranges read.
//
// tile_ranges (one thread per written intersection, indirect grid from
// status.ranges_dispatch): writes each tile's [start, end) in the sorted list
// where the tile id changes. The host clears `ranges` first: an untouched
// tile keeps [0, 0).

@group(0) @binding(2) var<storage, read> offsets: array<u32>;               // [N] exclusive scan of tiles_touched
@group(0) @binding(3) var<storage, read> scan_total: array<u32>;            // [1] sum of tiles_touched (ScanPlan.total)
@group(0) @binding(4) var<storage, read> tile_rect: array<vec4u>;           // [N,4] tile bbox (x0, y0, x1, y1), x1/y1 exclusive
@group(0) @binding(5) var<storage, read> xy_depth: array<vec4f>;            // [N,4] (x, y, depth, radius)
@group(0) @binding(6) var<storage, read_write> keys: array<u32>;            // [capacity] tile id << depth_bits | depth key
@group(0) @binding(7) var<storage, read_write> values: array<u32>;          // [capacity] Gaussian index
@group(0) @binding(8) var<storage, read_write> status: IntersectStatus;     // counts for the sort, tile_ranges and the host
@group(0) @binding(9) var<storage, read> status_in: IntersectStatus;        // the same buffer, read by tile_ranges
@group(0) @binding(10) var<storage, read> sorted_keys: array<u32>;          // [status.count] keys after the sort
@group(0) @binding(11) var<storage, read_write> ranges: array<vec2u>;       // [tiles_y * tiles_x] [start, end) into the sorted lists

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn map_intersects(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WORKGROUP_SIZE_1D + lid;
  let capacity = params.intersect_capacity;
  if (i == 0u) {
    let required = scan_total[0];
    let count = min(required, capacity);
    let groups = (count + WORKGROUP_SIZE_1D - 1u) / WORKGROUP_SIZE_1D;
    let x = min(groups, params.max_workgroups_per_dim);
    let y = select(1u, (groups + x - 1u) / x, x > 0u);
    status = IntersectStatus(count, required, select(0u, 1u, required > capacity), 0u, vec3u(x, y, 1u));
  }
  if (i >= params.count) {
    return;
  }
  let rect = tile_rect[i];
  var slot = offsets[i];
  let dkey = depth_key(xy_depth[i].z);
  for (var ty = rect.y; ty < rect.w; ty++) {
    for (var tx = rect.x; tx < rect.z; tx++) {
      if (slot >= capacity) {
        return;
      }
      let tile = ty * params.tiles_x + tx;
      keys[slot] = select(tile << params.depth_bits, 0u, params.depth_bits >= 32u) | dkey;
      values[slot] = i;
      slot++;
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn tile_ranges(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = linear_workgroup(wid, nwg) * WORKGROUP_SIZE_1D + lid;
  let count = status_in.count;
  if (k >= count) {
    return;
  }
  let tile = tile_of_key(sorted_keys[k]);
  if (tile >= params.tiles_x * params.tiles_y) {
    return;
  }
  if (k == 0u || tile_of_key(sorted_keys[k - 1u]) != tile) {
    ranges[tile].x = k;
  }
  if (k + 1u == count || tile_of_key(sorted_keys[k + 1u]) != tile) {
    ranges[tile].y = k + 1u;
  }
}
