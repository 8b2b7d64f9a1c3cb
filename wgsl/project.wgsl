// Projection of 3-D Gaussians to screen-space splats (EWA splatting as in 3DGS),
// one thread per Gaussian. One pass, two entry points:
//   project        geometry: mean2d, depth, 2-D covariance -> conic, radius, tile bbox, opacity
//   project_color  colour from the SH coefficients for the view direction
// Split so that each binds at most 8 storage buffers (WebGPU's default limit).
// Inputs are finite (the host validates uploads); a splat whose projection is not
// (an overflowing exp, say) is culled rather than poisoning the image.

@group(0) @binding(2) var<storage, read> means: array<f32>;                  // [N,3] world-space centre
@group(0) @binding(3) var<storage, read> log_scales: array<f32>;             // [N,3] log of the per-axis standard deviation
@group(0) @binding(4) var<storage, read> quats: array<f32>;                  // [N,4] rotation quaternion (w,x,y,z), any norm
@group(0) @binding(5) var<storage, read> opacity_logits: array<f32>;         // [N] opacity = sigmoid(logit)
@group(0) @binding(6) var<storage, read_write> xy_depth: array<vec4f>;       // [N,4] (x px, y px, camera depth, radius px); radius 0 = culled
@group(0) @binding(7) var<storage, read_write> conic_opacity: array<vec4f>;  // [N,4] (inverse 2-D covariance a, b, c; opacity)
@group(0) @binding(8) var<storage, read_write> tiles_touched: array<u32>;    // [N] tiles in the splat's bbox, 0 if culled
@group(0) @binding(9) var<storage, read_write> tile_rect: array<vec4u>;      // [N,4] tile bbox (x0, y0, x1, y1), x1/y1 exclusive
@group(0) @binding(10) var<storage, read> sh: array<f32>;                    // [N,K,3] SH coefficients, k = 0 the DC term
@group(0) @binding(11) var<storage, read_write> rgb: array<vec4f>;           // [N,4] (r, g, b, clamp mask: bit c set if channel c was clamped at 0)

fn gaussian_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return linear_workgroup(wid, nwg) * WORKGROUP_SIZE_1D + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn project(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gaussian_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  xy_depth[i] = vec4f(0.0);
  conic_opacity[i] = vec4f(0.0);
  tiles_touched[i] = 0u;
  tile_rect[i] = vec4u(0u);

  let mean = vec3f(means[3u * i], means[3u * i + 1u], means[3u * i + 2u]);
  let depth = (camera.view * vec4f(mean, 1.0)).z;
  if (!(depth >= camera.near) || !is_finite(depth)) {
    return;
  }
  // A splat this faint never reaches ALPHA_MIN, so rasterize would skip it everywhere.
  let opacity = sigmoid(opacity_logits[i]);
  if (!(opacity >= ALPHA_MIN)) {
    return;
  }
  let g = geometry(
    mean,
    vec3f(log_scales[3u * i], log_scales[3u * i + 1u], log_scales[3u * i + 2u]),
    vec4f(quats[4u * i], quats[4u * i + 1u], quats[4u * i + 2u], quats[4u * i + 3u]),
  );
  let cov = g.cov2d;
  let det = cov.x * cov.z - cov.y * cov.y;
  if (!(det > 0.0) || !is_finite(det)) {
    return;
  }
  let conic = vec3f(cov.z, -cov.y, cov.x) / det;
  let mid = 0.5 * (cov.x + cov.z);
  let lambda_max = mid + sqrt(max(0.1, mid * mid - det));
  let radius = ceil(SIGMA_EXTENT * sqrt(lambda_max));
  let xy = camera.focal * g.t.xy / g.t.z + camera.principal;
  if (!is_finite(radius) || !is_finite(xy.x) || !is_finite(xy.y) || !is_finite(conic.x) || !is_finite(conic.y) || !is_finite(conic.z)) {
    return;
  }
  let rect = tile_bbox(xy, radius);
  let n_tiles = bbox_tile_count(rect);
  if (n_tiles == 0u) {
    return;
  }
  xy_depth[i] = vec4f(xy, g.t.z, radius);
  conic_opacity[i] = vec4f(conic, opacity);
  tiles_touched[i] = n_tiles;
  tile_rect[i] = rect;
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn project_color(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gaussian_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  let dir = view_direction(vec3f(means[3u * i], means[3u * i + 1u], means[3u * i + 2u]));
  let basis = sh_basis(dir);
  let k_count = params.sh_coeffs;
  var c = vec3f(0.5);
  for (var k = 0u; k < k_count; k++) {
    let at = 3u * (i * k_count + k);
    c += basis[k] * vec3f(sh[at], sh[at + 1u], sh[at + 2u]);
  }
  let clamped = c < vec3f(0.0);
  let mask = select(0u, 1u, clamped.x) | select(0u, 2u, clamped.y) | select(0u, 4u, clamped.z);
  rgb[i] = vec4f(max(c, vec3f(0.0)), f32(mask));
}
