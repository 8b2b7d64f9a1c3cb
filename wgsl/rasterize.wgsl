// Front-to-back alpha compositing of the sorted splats, one workgroup per
// 16x16 tile. Each of the RASTER_THREADS threads shades a 2x2 pixel block (the
// four pixels live in the lanes of vec4s), so a splat read from workgroup memory
// serves four pixels and a tile has 16 subgroups on SwiftShader rather than 64:
// there every workgroupBarrier() switches through all of them, and workgroup
// memory costs in proportion to its size per subgroup, so the batch size is a
// trade: 128 splats per pair of barriers measured fastest (64 to 512 tried).
// A thread skips the splats none of its pixels can see (outside the box of
// skip_extent) in a tight loop of their own: SwiftShader runs a whole loop body or
// if-branch even where no lane takes it, so skipping with an if or a continue saved
// little there; the separate loop took rasterize from ~35 to ~27 ms (5k Gaussians, 128^2).
//
// Per pixel, over the tile's range of the sorted intersections (by depth):
//   alpha = min(ALPHA_MAX, opacity * exp(power)), skipped if power > 0 or alpha < ALPHA_MIN;
//   stop before the splat that would take the transmittance T below TRANSMITTANCE_MIN;
//   colour = sum alpha_i T_i rgb_i + T_final * background,  alpha = 1 - T_final,
//   depth = sum alpha_i T_i depth_i (alpha-weighted, not normalised).
// The whole tile stops early once every pixel is done. The output is a pure
// function of the sorted lists (no atomics feed it), so repeated runs match bitwise.

const BATCH_SIZE: u32 = 128u;    // splats staged in workgroup memory per batch (measured: see above)

@group(0) @binding(2) var<storage, read> tile_ranges: array<vec2u>;        // [tiles_y * tiles_x] [start, end) into sorted_gaussians
@group(0) @binding(3) var<storage, read> sorted_gaussians: array<u32>;     // [count] Gaussian index per intersection, sorted by (tile, depth)
@group(0) @binding(4) var<storage, read> xy_depth: array<vec4f>;           // [N,4] (x px, y px, depth, radius)
@group(0) @binding(5) var<storage, read> conic_opacity: array<vec4f>;      // [N,4] (conic a, b, c; opacity)
@group(0) @binding(6) var<storage, read> rgb: array<vec4f>;                // [N,4] (r, g, b, clamp mask)
@group(0) @binding(7) var<storage, read_write> image: array<vec4f>;        // [H,W,4] (r, g, b, alpha)
@group(0) @binding(8) var<storage, read_write> depth_image: array<f32>;    // [H,W] alpha-weighted depth
@group(0) @binding(9) var<storage, read_write> pixel_state: array<vec2u>;  // [H,W,2] (final transmittance as f32 bits, end of the contributing intersections)

var<workgroup> batch_xy: array<vec4f, BATCH_SIZE>; // (x, y, skip_extent(conic, opacity))
var<workgroup> batch_conic_opacity: array<vec4f, BATCH_SIZE>;
var<workgroup> batch_rgb_depth: array<vec4f, BATCH_SIZE>;
var<workgroup> tile_range: vec2u;
var<workgroup> threads_done: atomic<u32>;
var<workgroup> stop: bool;

@compute @workgroup_size(RASTER_THREADS)
fn rasterize(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tile = wid.xy;
  if (lid == 0u) {
    tile_range = tile_ranges[tile.y * params.tiles_x + tile.x];
  }
  let range = workgroupUniformLoad(&tile_range);

  let pix = block_pixels(tile, lid);
  let px = pixel_centres_x(pix);
  let py = pixel_centres_y(pix);
  let inside = pixels_inside(pix);

  var trans = vec4f(1.0);
  var acc_r = vec4f(0.0);
  var acc_g = vec4f(0.0);
  var acc_b = vec4f(0.0);
  var acc_depth = vec4f(0.0);
  var end = vec4u(range.x);
  var done = !inside;
  var finished = all(done);
  if (finished) {
    atomicAdd(&threads_done, 1u);
  }

  let n_batches = (range.y - range.x + BATCH_SIZE - 1u) / BATCH_SIZE;
  for (var b = 0u; b < n_batches; b++) {
    // Counts from the previous batch; a thread still running it only delays the stop by one batch.
    if (lid == 0u) {
      stop = atomicLoad(&threads_done) == RASTER_THREADS;
    }
    // Also the barrier after which the previous batch's slots may be overwritten.
    if (workgroupUniformLoad(&stop)) {
      break;
    }
    let first = range.x + b * BATCH_SIZE;
    let batch_len = min(BATCH_SIZE, range.y - first);
    for (var s = lid; s < batch_len; s += RASTER_THREADS) {
      let g = sorted_gaussians[first + s];
      let xyd = xy_depth[g];
      let co = conic_opacity[g];
      batch_xy[s] = vec4f(xyd.xy, skip_extent(co));
      batch_conic_opacity[s] = co;
      batch_rgb_depth[s] = vec4f(rgb[g].xyz, xyd.z);
    }
    workgroupBarrier();
    // (No `continue` for finished threads: a non-uniform continue would make the barriers above non-uniform.)
    var s = 0u;
    loop {
      // Skip the splats none of this thread's pixels may reach (skip_extent) in a loop
      // of its own: SwiftShader pays for a whole loop body or if-branch even where no lane runs it.
      loop {
        if (s >= batch_len) {
          break;
        }
        let xy = batch_xy[s];
        if (block_meets_box(px, py, xy.xy, xy.zw)) {
          break;
        }
        s++;
      }
      if (s >= batch_len || finished) {
        break;
      }
      let xy = batch_xy[s];
      let co = batch_conic_opacity[s];
      let power = gaussian_power(co.xyz, px - xy.x, py - xy.y);
      let alpha = min(vec4f(ALPHA_MAX), co.w * exp(power));
      let hit = !done & (power <= vec4f(0.0)) & (alpha >= vec4f(ALPHA_MIN));
      let next_trans = trans * (1.0 - alpha);
      let saturated = hit & (next_trans < vec4f(TRANSMITTANCE_MIN));
      let take = hit & !saturated;
      let w = select(vec4f(0.0), alpha * trans, take);
      let c = batch_rgb_depth[s];
      acc_r += w * c.x;
      acc_g += w * c.y;
      acc_b += w * c.z;
      acc_depth += w * c.w;
      trans = select(trans, next_trans, take);
      end = select(end, vec4u(first + s + 1u), take);
      done = done | saturated;
      if (all(done)) {
        finished = true;
        atomicAdd(&threads_done, 1u);
      }
      s++;
    }
  }

  let bg = params.background.xyz;
  for (var p = 0u; p < 4u; p++) {
    if (inside[p]) {
      let at = pix[p].y * camera.size.x + pix[p].x;
      image[at] = vec4f(vec3f(acc_r[p], acc_g[p], acc_b[p]) + trans[p] * bg, 1.0 - trans[p]);
      depth_image[at] = acc_depth[p];
      pixel_state[at] = vec2u(bitcast<u32>(trans[p]), end[p]);
    }
  }
}
