// Backward of rasterize: per-splat gradients of the loss given d loss / d image
// (and d loss / d depth), one workgroup per tile, the same 2x2 pixel blocks.
//
// Each pixel walks its contributing splats back to front, from the end
// rasterize recorded, recovering the transmittance in front of each splat as
// T_i = T_{i+1} / (1 - alpha_i) and keeping what lies behind it (colour,
// alpha, depth per unit transmittance): behind_{i-1} = c_i alpha_i + (1 - alpha_i) behind_i,
// starting from the background (colour) and 0 (alpha, depth). Then
//   d alpha_i = T_i * sum_channels g * (c_i - behind_i),  d c_i = alpha_i T_i g,
// and through alpha = min(ALPHA_MAX, opacity * exp(power)) (no gradient where
// clamped) to opacity, conic and mean2d.
//
// WGSL has no float atomics, and many pixels feed each splat. A thread first sums
// its four pixels; how the threads' sums meet is the reduction variant's, a file
// compiled after this one (harness/splat/shaders.ts):
// - rasterize_bwd_ordered.wgsl (default): every thread's sum goes to a row of its
//   own in workgroup memory, the rows are added in thread order, and the tile's
//   sum for each intersection is stored in `partials`; rasterize_bwd_reduce.wgsl
//   then adds each Gaussian's intersections in pre-sort (tile) order. No float
//   atomics anywhere: the same inputs give the same bits on every run.
// - rasterize_bwd_subgroups.wgsl / rasterize_bwd_workgroup.wgsl (+ _cas.wgsl):
//   compare-exchange float adds into a batch row, then into the global gradient;
//   the order of those adds, and so the last bits, vary between runs.
// A variant provides BWD_BATCH_SIZE (splats per batch) and the hooks
//   init_reduce(lid), group_any(x), reduce_splat_grad(slot, g),
//   end_batch(lo, batch_len, lid) (called by the whole workgroup, a barrier first),
//   end_tile(first, last, lid) (intersections [first, last) of the tile that no pixel reached).
// As in rasterize, a group (subgroup, or thread without subgroups) skips the
// splats none of its pixels can see (skip_extent) in a loop of its own (~63 ->
// ~40 ms on SwiftShader), and batches stay small: workgroup memory is costly there.

@group(0) @binding(2) var<storage, read> tile_ranges: array<vec2u>;          // [tiles_y * tiles_x] [start, end) into sorted_gaussians
@group(0) @binding(3) var<storage, read> sorted_gaussians: array<u32>;       // [count] Gaussian index per intersection, sorted by (tile, depth)
@group(0) @binding(4) var<storage, read> xy_depth: array<vec4f>;             // [N,4] (x px, y px, depth, radius)
@group(0) @binding(5) var<storage, read> conic_opacity: array<vec4f>;        // [N,4] (conic a, b, c; opacity)
@group(0) @binding(6) var<storage, read> rgb: array<vec4f>;                  // [N,4] (r, g, b, clamp mask)
@group(0) @binding(7) var<storage, read> pixel_state: array<vec2u>;          // [H,W,2] (final transmittance f32 bits, end of the contributing intersections)
@group(0) @binding(8) var<storage, read> d_pixels: array<f32>;               // [H,W,4] d loss / d (r, g, b, alpha), then [H,W] d loss / d depth
// binding 9: the variant's output (grad_splat or partials)

var<workgroup> batch_xy: array<vec4f, BWD_BATCH_SIZE>; // (x, y, skip_extent(conic, opacity))
var<workgroup> batch_conic_opacity: array<vec4f, BWD_BATCH_SIZE>;
var<workgroup> batch_rgb_depth: array<vec4f, BWD_BATCH_SIZE>;
var<workgroup> batch_gaussian: array<u32, BWD_BATCH_SIZE>;
var<workgroup> tile_span: vec3u; // [x, y): intersections to walk; z: end of the tile's range
var<workgroup> max_end: atomic<u32>;

// One splat's gradient summed over some pixels, in GRAD_* order:
// a = (x, y, conic a, conic b), b = (conic c, opacity, r, g), c = (b, depth).
struct SplatGrad {
  a: vec4f,
  b: vec4f,
  c: vec2f,
}

fn is_zero(g: SplatGrad) -> bool {
  return all(g.a == vec4f(0.0)) && all(g.b == vec4f(0.0)) && all(g.c == vec2f(0.0));
}

fn sum4(v: vec4f) -> f32 {
  return dot(v, vec4f(1.0));
}

@compute @workgroup_size(RASTER_THREADS)
fn rasterize_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tile = wid.xy;
  let pix = block_pixels(tile, lid);
  let px = pixel_centres_x(pix);
  let py = pixel_centres_y(pix);
  let inside = pixels_inside(pix);
  let n_pixels = camera.size.x * camera.size.y;
  init_reduce(lid);

  // Pixels outside the image keep end = 0: no intersection index is below it.
  var trans = vec4f(1.0);
  var end = vec4u(0u);
  var g_r = vec4f(0.0);
  var g_g = vec4f(0.0);
  var g_b = vec4f(0.0);
  var g_a = vec4f(0.0);
  var g_d = vec4f(0.0);
  for (var p = 0u; p < 4u; p++) {
    if (inside[p]) {
      let at = pix[p].y * camera.size.x + pix[p].x;
      let state = pixel_state[at];
      trans[p] = bitcast<f32>(state.x);
      end[p] = state.y;
      g_r[p] = d_pixels[4u * at];
      g_g[p] = d_pixels[4u * at + 1u];
      g_b[p] = d_pixels[4u * at + 2u];
      g_a[p] = d_pixels[4u * at + 3u];
      g_d[p] = d_pixels[4u * n_pixels + at];
    }
  }
  // Start at the tile's latest contributing intersection, not its range end.
  let thread_end = max(max(end.x, end.y), max(end.z, end.w));
  atomicMax(&max_end, thread_end);
  if (lid == 0u) {
    let range = tile_ranges[tile.y * params.tiles_x + tile.x];
    tile_span.x = range.x;
    tile_span.z = range.y;
  }
  workgroupBarrier();
  if (lid == 0u) {
    tile_span.y = max(atomicLoad(&max_end), tile_span.x);
  }
  let span = workgroupUniformLoad(&tile_span);

  var behind_r = vec4f(params.background.x);
  var behind_g = vec4f(params.background.y);
  var behind_b = vec4f(params.background.z);
  var behind_a = vec4f(0.0);
  var behind_d = vec4f(0.0);

  let n_batches = (span.y - span.x + BWD_BATCH_SIZE - 1u) / BWD_BATCH_SIZE;
  for (var b = 0u; b < n_batches; b++) {
    let hi = span.y - b * BWD_BATCH_SIZE;
    let batch_len = min(BWD_BATCH_SIZE, hi - span.x);
    let lo = hi - batch_len;
    // end_batch's barrier keeps this load behind the last batch's reads of these rows.
    for (var s = lid; s < batch_len; s += RASTER_THREADS) {
      let g = sorted_gaussians[lo + s];
      let xyd = xy_depth[g];
      batch_gaussian[s] = g;
      let co = conic_opacity[g];
      batch_xy[s] = vec4f(xyd.xy, skip_extent(co));
      batch_conic_opacity[s] = co;
      batch_rgb_depth[s] = vec4f(rgb[g].xyz, xyd.z);
    }
    workgroupBarrier();
    // A group (a subgroup, or a thread without subgroups: see group_any) visits
    // only the slots one of its pixels may reach, so reduce_splat_grad sees
    // group-uniform control flow. The skipping is a loop of its own: SwiftShader
    // pays for a whole loop body or if-branch even where no lane runs it.
    var s = batch_len;
    loop {
      loop {
        if (s == 0u) {
          break;
        }
        let xy = batch_xy[s - 1u];
        if (group_any(lo + s - 1u < thread_end && block_meets_box(px, py, xy.xy, xy.zw))) {
          break;
        }
        s--;
      }
      if (s == 0u) {
        break;
      }
      s--;
      let j = s;
      let xy = batch_xy[j];
      let co = batch_conic_opacity[j];
      let c = batch_rgb_depth[j];
      let dx = px - xy.x;
      let dy = py - xy.y;
      let power = gaussian_power(co.xyz, dx, dy);
      // Zero unless a pixel of this thread may composite the splat (see skip_extent).
      // (Initialised explicitly: SwiftShader kept the previous iteration's value without it.)
      var g = SplatGrad(vec4f(0.0), vec4f(0.0), vec2f(0.0));
      if (lo + j < thread_end && block_meets_box(px, py, xy.xy, xy.zw)) {
        let vis = exp(power);
        let raw_alpha = co.w * vis;
        let alpha = min(vec4f(ALPHA_MAX), raw_alpha);
        let hit = (vec4u(lo + j) < end) & (power <= vec4f(0.0)) & (alpha >= vec4f(ALPHA_MIN));
        let keep = 1.0 - alpha;
        trans = select(trans, trans / keep, hit);
        let w = select(vec4f(0.0), alpha * trans, hit);
        let d_alpha = select(
          vec4f(0.0),
          trans * (g_r * (c.x - behind_r) + g_g * (c.y - behind_g) + g_b * (c.z - behind_b) + g_a * (1.0 - behind_a) + g_d * (c.w - behind_d)),
          hit,
        );
        behind_r = select(behind_r, c.x * alpha + keep * behind_r, hit);
        behind_g = select(behind_g, c.y * alpha + keep * behind_g, hit);
        behind_b = select(behind_b, c.z * alpha + keep * behind_b, hit);
        behind_a = select(behind_a, alpha + keep * behind_a, hit);
        behind_d = select(behind_d, c.w * alpha + keep * behind_d, hit);
        let free = hit & (raw_alpha < vec4f(ALPHA_MAX));
        let d_power = select(vec4f(0.0), d_alpha * raw_alpha, free);
        let d_opacity = select(vec4f(0.0), d_alpha * vis, free);
        g.a = vec4f(
          sum4(d_power * (co.x * dx + co.y * dy)),
          sum4(d_power * (co.y * dx + co.z * dy)),
          sum4(d_power * (-0.5 * dx * dx)),
          sum4(d_power * (-dx * dy)),
        );
        g.b = vec4f(sum4(d_power * (-0.5 * dy * dy)), sum4(d_opacity), sum4(w * g_r), sum4(w * g_g));
        g.c = vec2f(sum4(w * g_b), sum4(w * g_d));
      }
      reduce_splat_grad(j, g);
    }
    end_batch(lo, batch_len, lid);
  }
  end_tile(span.y, span.z, lid);
}
