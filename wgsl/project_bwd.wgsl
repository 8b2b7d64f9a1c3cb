// Backward of project: per-splat gradients (rasterize_bwd's grad_splat) to the
// Gaussian parameters, one thread per Gaussian, added (+=) to the model's
// gradient buffers so several views accumulate. One pass, three entry points,
// each within 8 storage buffers:
//   project_bwd        mean2d, depth, conic -> means, log_scales, quats
//   project_color_bwd  rgb -> sh (and means through the view direction); opacity -> logits
//   xy_grad_stats      densification statistics: |d loss / d mean2d| and visibility count
// The chain (formulas in harness/splat/project_ref.ts, refProjectBwd):
//   conic = inverse(cov2d); cov2d = T cov3d T^T + LOW_PASS I with T = J W;
//   cov3d = M M^T, M = R(q / |q|) diag(exp(log_scales));
//   J depends on the camera-space mean t through 1/z and the clamped (x/z, y/z);
//   mean2d = f * t.xy / t.z + c; depth = t.z; t = W mean + translation.
// Splats with an all-zero gradient row (never rasterized, culled) are skipped:
// every term is linear in that row.

@group(0) @binding(2) var<storage, read> means: array<f32>;                      // [N,3] world-space centre
@group(0) @binding(3) var<storage, read> log_scales: array<f32>;                 // [N,3] log standard deviation per axis
@group(0) @binding(4) var<storage, read> quats: array<f32>;                      // [N,4] rotation quaternion (w,x,y,z), any norm
@group(0) @binding(5) var<storage, read> opacity_logits: array<f32>;             // [N] opacity = sigmoid(logit)
@group(0) @binding(6) var<storage, read> sh: array<f32>;                         // [N,K,3] SH coefficients
@group(0) @binding(7) var<storage, read> rgb: array<vec4f>;                      // [N,4] (r, g, b, clamp mask) from project_color
@group(0) @binding(8) var<storage, read> xy_depth: array<vec4f>;                 // [N,4] (x, y, depth, radius) from project
@group(0) @binding(9) var<storage, read> grad_splat: array<f32>;                 // [N, GRAD_STRIDE] from rasterize_bwd
@group(0) @binding(10) var<storage, read_write> grad_means: array<f32>;          // [N,3] += d loss / d means
@group(0) @binding(11) var<storage, read_write> grad_log_scales: array<f32>;     // [N,3] += d loss / d log_scales
@group(0) @binding(12) var<storage, read_write> grad_quats: array<f32>;          // [N,4] += d loss / d quats
@group(0) @binding(13) var<storage, read_write> grad_opacity_logits: array<f32>; // [N] += d loss / d opacity_logits
@group(0) @binding(14) var<storage, read_write> grad_sh: array<f32>;             // [N,K,3] += d loss / d sh
@group(0) @binding(15) var<storage, read_write> xy_grad_norm: array<f32>;        // [N] += |d loss / d mean2d| in NDC units, per visible view
@group(0) @binding(16) var<storage, read_write> vis_count: array<u32>;           // [N] += 1 per view in which the splat was visible

fn gaussian_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return linear_workgroup(wid, nwg) * WORKGROUP_SIZE_1D + lid;
}

fn read_mean(i: u32) -> vec3f {
  return vec3f(means[3u * i], means[3u * i + 1u], means[3u * i + 2u]);
}

fn outer(a: vec3f, b: vec3f) -> mat3x3f {
  return mat3x3f(a * b.x, a * b.y, a * b.z);
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn project_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gaussian_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  let row = i * GRAD_STRIDE;
  let d_xy = vec2f(grad_splat[row + GRAD_XY], grad_splat[row + GRAD_XY + 1u]);
  let d_conic = vec3f(grad_splat[row + GRAD_CONIC], grad_splat[row + GRAD_CONIC + 1u], grad_splat[row + GRAD_CONIC + 2u]);
  let d_depth = grad_splat[row + GRAD_DEPTH];
  if (all(d_xy == vec2f(0.0)) && all(d_conic == vec3f(0.0)) && d_depth == 0.0) {
    return;
  }
  let raw_quat = vec4f(quats[4u * i], quats[4u * i + 1u], quats[4u * i + 2u], quats[4u * i + 3u]);
  let g = geometry(read_mean(i), vec3f(log_scales[3u * i], log_scales[3u * i + 1u], log_scales[3u * i + 2u]), raw_quat);

  // conic = (C, -B, A) / det, det = A C - B^2
  let A = g.cov2d.x;
  let B = g.cov2d.y;
  let C = g.cov2d.z;
  let inv = 1.0 / (A * C - B * B);
  let inv2 = inv * inv;
  let d_a = d_conic.x * (-C * C * inv2) + d_conic.y * (B * C * inv2) + d_conic.z * (inv - A * C * inv2);
  let d_b = d_conic.x * (2.0 * B * C * inv2) + d_conic.y * (-inv - 2.0 * B * B * inv2) + d_conic.z * (2.0 * A * B * inv2);
  let d_c = d_conic.x * (inv - C * A * inv2) + d_conic.y * (B * A * inv2) + d_conic.z * (-A * A * inv2);

  // a = t0 S t0, b = t0 S t1, c = t1 S t1 with S = cov3d (symmetric).
  let s0 = g.cov3d * g.t0;
  let s1 = g.cov3d * g.t1;
  let d_t0 = 2.0 * d_a * s0 + d_b * s1;
  let d_t1 = d_b * s0 + 2.0 * d_c * s1;
  // d/dS = G = d_a t0 t0^T + d_b t0 t1^T + d_c t1 t1^T; S = M M^T: d M = (G + G^T) M.
  let g_sym = 2.0 * d_a * outer(g.t0, g.t0) + d_b * (outer(g.t0, g.t1) + outer(g.t1, g.t0)) + 2.0 * d_c * outer(g.t1, g.t1);
  let m = mat3x3f(g.rot[0] * g.scale.x, g.rot[1] * g.scale.y, g.rot[2] * g.scale.z);
  let d_m = g_sym * m;
  // M = R diag(s): column c of d R is d M's column c times s_c.
  let d_scale = vec3f(dot(d_m[0], g.rot[0]), dot(d_m[1], g.rot[1]), dot(d_m[2], g.rot[2]));
  let d_r = mat3x3f(d_m[0] * g.scale.x, d_m[1] * g.scale.y, d_m[2] * g.scale.z);
  // d R[row][col] is d_r[col][row].
  let qw = g.quat.x;
  let qx = g.quat.y;
  let qy = g.quat.z;
  let qz = g.quat.w;
  let d_qn = 2.0 * vec4f(
    -qz * d_r[1].x + qy * d_r[2].x + qz * d_r[0].y - qx * d_r[2].y - qy * d_r[0].z + qx * d_r[1].z,
    qy * d_r[1].x + qz * d_r[2].x + qy * d_r[0].y - 2.0 * qx * d_r[1].y - qw * d_r[2].y + qz * d_r[0].z + qw * d_r[1].z - 2.0 * qx * d_r[2].z,
    -2.0 * qy * d_r[0].x + qx * d_r[1].x + qw * d_r[2].x + qx * d_r[0].y + qz * d_r[2].y - qw * d_r[0].z + qz * d_r[1].z - 2.0 * qy * d_r[2].z,
    -2.0 * qz * d_r[0].x - qw * d_r[1].x + qx * d_r[2].x + qw * d_r[0].y - 2.0 * qz * d_r[1].y + qy * d_r[2].y + qx * d_r[0].z + qy * d_r[1].z,
  );
  let q2 = dot(raw_quat, raw_quat);
  var d_q = vec4f(0.0);
  if (q2 > 1e-30) {
    d_q = (d_qn - g.quat * dot(g.quat, d_qn)) * inverseSqrt(q2);
  }

  // T rows = J rows times W; J0 = (fx/z, 0, -fx u/z), J1 = (0, fy/z, -fy v/z).
  let w = view_rotation();
  let d_j0 = w * d_t0;
  let d_j1 = w * d_t1;
  let f = camera.focal;
  let t = g.t;
  let iz = 1.0 / t.z;
  let iz2 = iz * iz;
  var d_t = vec3f(0.0);
  d_t.z += (-d_j0.x * f.x - d_j1.y * f.y + d_j0.z * f.x * g.uv.x + d_j1.z * f.y * g.uv.y) * iz2;
  let d_uv = vec2f(-d_j0.z * f.x, -d_j1.z * f.y) * iz * g.uv_free;
  d_t.x += d_uv.x * iz;
  d_t.y += d_uv.y * iz;
  d_t.z -= (d_uv.x * t.x + d_uv.y * t.y) * iz2;
  // mean2d = f * t.xy / t.z + c; depth = t.z
  d_t.x += d_xy.x * f.x * iz;
  d_t.y += d_xy.y * f.y * iz;
  d_t.z += -(d_xy.x * f.x * t.x + d_xy.y * f.y * t.y) * iz2 + d_depth;
  let d_mean = d_t * w; // W^T d_t

  for (var k = 0u; k < 3u; k++) {
    grad_means[3u * i + k] += d_mean[k];
    grad_log_scales[3u * i + k] += d_scale[k] * g.scale[k];
  }
  for (var k = 0u; k < 4u; k++) {
    grad_quats[4u * i + k] += d_q[k];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn project_color_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gaussian_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  let row = i * GRAD_STRIDE;
  let d_opacity = grad_splat[row + GRAD_OPACITY];
  if (d_opacity != 0.0) {
    let o = sigmoid(opacity_logits[i]);
    grad_opacity_logits[i] += d_opacity * o * (1.0 - o);
  }
  let mask = u32(rgb[i].w);
  let clamped = vec3<bool>((mask & 1u) != 0u, (mask & 2u) != 0u, (mask & 4u) != 0u);
  let d_rgb = select(vec3f(grad_splat[row + GRAD_RGB], grad_splat[row + GRAD_RGB + 1u], grad_splat[row + GRAD_RGB + 2u]), vec3f(0.0), clamped);
  if (all(d_rgb == vec3f(0.0))) {
    return;
  }
  let mean = read_mean(i);
  let dir = view_direction(mean);
  let basis = sh_basis(dir);
  let k_count = params.sh_coeffs;
  var w = array<f32, 16>(); // explicit zeros: see rasterize_bwd.wgsl on uninitialised vars
  for (var k = 0u; k < k_count; k++) {
    let at = 3u * (i * k_count + k);
    grad_sh[at] += basis[k] * d_rgb.x;
    grad_sh[at + 1u] += basis[k] * d_rgb.y;
    grad_sh[at + 2u] += basis[k] * d_rgb.z;
    w[k] = dot(vec3f(sh[at], sh[at + 1u], sh[at + 2u]), d_rgb);
  }
  // dir = v / |v| with v = mean - camera centre.
  let v = mean - camera.position;
  let dist2 = dot(v, v);
  if (k_count > 1u && dist2 > 1e-30) {
    let d_dir = sh_basis_grad_dot(w, k_count, dir);
    let d_mean = (d_dir - dir * dot(dir, d_dir)) * inverseSqrt(dist2);
    for (var k = 0u; k < 3u; k++) {
      grad_means[3u * i + k] += d_mean[k];
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE_1D)
fn xy_grad_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gaussian_index(wid, nwg, lid);
  if (i >= params.count || !(xy_depth[i].w > 0.0)) {
    return;
  }
  let row = i * GRAD_STRIDE;
  // NDC units, as 3DGS accumulates the screen-space gradient (its thresholds assume them).
  let d_ndc = vec2f(grad_splat[row + GRAD_XY], grad_splat[row + GRAD_XY + 1u]) * 0.5 * vec2f(camera.size);
  xy_grad_norm[i] += length(d_ndc);
  vis_count[i] += 1u;
}
