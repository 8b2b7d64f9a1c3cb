// Image losses of a rendered RGBA image against a target, their values (kept on
// the GPU) and their gradient with respect to the render. Host: harness/splat/loss.ts
// (dispatchLoss); CPU reference: harness/splat/loss_ref.ts (refLoss).
//
// With m = mask weight of a pixel (1 without a mask), sums over pixels p and RGB
// channels c, each term multiplied by the caller's weight:
//   rgb_mse   = Σ m (r − t)² / (3 Σm)
//   rgb_l1    = Σ m |r − t| / (3 Σm)
//   dssim     = (1 − SSIM) / 2,   SSIM = Σ m S_c(p) / (3 Σm)
//   alpha_mse = Σ m (a − ta)² / Σm
// S is the SSIM map of the 3DGS reference code (utils/loss_utils.py): an 11×11
// Gaussian window (σ = 1.5) applied per channel as conv2d with padding 5 and zero
// padding, so windows at the border see zeros outside the image, and the map is
// averaged over every pixel (no 'valid' crop). An all-zero mask gives 0 for every
// term and gradient rather than 0/0.
//
// Kernels, encoded in this order into one compute pass by the host:
//   ssim_fwd_h    horizontal blur of x, y, x², y², xy             (D-SSIM only)
//   ssim_fwd_v    vertical blur -> S and m·∂S/∂(μx, E[x²], E[xy])  (D-SSIM only)
//   ssim_bwd_h    horizontal blur of those three partial maps       (D-SSIM only)
//   reduce_runs   per thread, a strided run of pixels: Σm, Σm·sq, Σm·|d|, Σm·sqα, Σm·S
//   reduce_final  one workgroup: totals -> loss values (accumulated) and normalisers
//   loss_grad     per pixel: grad += ∂loss/∂render
// Why the D-SSIM backward is a blur: μx(p) = Σ_q G(p−q) x_q, E[x²](p) = Σ_q G(p−q) x_q²
// and E[xy](p) = Σ_q G(p−q) x_q y_q, so with a, b, c the partials of S(p) by those,
//   ∂S̄/∂x_q = Σ_p G(p−q) (a(p) + 2 x_q b(p) + y_q c(p)) = (G⋆a)(q) + 2 x_q (G⋆b)(q) + y_q (G⋆c)(q).
// G is symmetric and p runs over the image only, so the adjoint of the zero-padded
// blur is the same zero-padded blur, again separable.
// Why no shared-memory tiles: on SwiftShader (CI) every workgroupBarrier() suspends
// and resumes each 4-lane subgroup, so the separable passes read their 11 taps from
// global memory (cached on real GPUs) and only reduce_final has one barrier. The
// reduction sums in a fixed order (no atomics), so the same input gives the same bits.

const WORKGROUP_SIZE: u32 = 64u;
const RUN_LENGTH: u32 = 64u; // pixels per reduce_runs thread, strided by WORKGROUP_SIZE so loads coalesce
const RUN_BLOCK: u32 = 4096u; // WORKGROUP_SIZE * RUN_LENGTH, pixels per reduce_runs workgroup
const WINDOW_RADIUS: i32 = 5; // 11 taps
const SSIM_SIGMA: f32 = 1.5; // GAUSS's σ (tests check GAUSS against it)
const SSIM_C1: f32 = 0.0001; // 0.01²
const SSIM_C2: f32 = 0.0009; // 0.03²
// exp(−(i − 5)² / (2·1.5²)) normalised to sum 1 (3DGS create_window, one axis).
const GAUSS = array<f32, 11>(
  0.00102838008, 0.00759875814, 0.0360007721, 0.109360690, 0.213005538, 0.266011725,
  0.213005538, 0.109360690, 0.0360007721, 0.00759875814, 0.00102838008,
);

struct LossParams {
  width: u32,
  height: u32,
  has_mask: u32, // 0: every pixel weighs 1 and `mask` is never read
  use_ssim: u32, // 0: the D-SSIM kernels were not encoded; its value reads 0
  w_rgb_mse: f32,
  w_rgb_l1: f32,
  w_dssim: f32,
  w_alpha_mse: f32,
}

// Accumulated by every dispatchLoss until the host clears it, so the terms of
// several views add up; `calls` says how many.
struct LossValues {
  rgb_mse: f32,
  rgb_l1: f32,
  dssim: f32,
  alpha_mse: f32,
  total: f32, // Σ weight · term
  mask_sum: f32, // Σm (H·W without a mask)
  calls: f32,
}

// Written by reduce_final for loss_grad of the same call: the mean's 1/count.
struct LossNorm {
  inv_rgb: f32, // 1 / (3 Σm), 0 for an empty mask
  inv_px: f32, // 1 / Σm, 0 for an empty mask
}

@group(0) @binding(0) var<uniform> params: LossParams;
@group(0) @binding(1) var<storage, read> render: array<vec4f>; // [H,W,4] f32 rendered RGBA
@group(0) @binding(2) var<storage, read> target_rgba: array<vec4f>; // [H,W,4] f32 target RGBA (alpha = target mask)
@group(0) @binding(3) var<storage, read> mask: array<f32>; // [H,W] f32 per-pixel weight in [0,1]; any 4 bytes when has_mask = 0
@group(0) @binding(4) var<storage, read_write> grad: array<vec4f>; // [H,W,4] f32 ∂loss/∂render, added to
@group(0) @binding(5) var<storage, read_write> blur: array<vec4f>; // [5,H,W] (rgb, unused) ssim_fwd_h: G_h⋆{x, y, x², y², xy}; then planes 0..2: ssim_bwd_h's G_h⋆{a, b, c}
@group(0) @binding(6) var<storage, read_write> partials: array<vec4f>; // [3,H,W] (rgb, ·) m·a with w = Σ_c S; m·b; m·c
@group(0) @binding(7) var<storage, read_write> run_sums: array<vec4f>; // [R,2] per run (Σm, Σm·Σ_c d², Σm·Σ_c |d|, Σm·dα²), (Σm·Σ_c S, 0, 0, 0)
@group(0) @binding(8) var<storage, read_write> values: LossValues; // accumulated loss values
@group(0) @binding(9) var<storage, read_write> norm: LossNorm; // this call's normalisers

fn pixel_count() -> u32 {
  return params.width * params.height;
}

// Linear thread index of a (possibly folded 2-D) grid; callers bounds-check it.
fn thread_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

fn pixel_weight(i: u32) -> f32 {
  if (params.has_mask == 0u) {
    return 1.0;
  }
  return mask[i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn ssim_fwd_h(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(wid, nwg, lid);
  let n = pixel_count();
  if (i >= n) {
    return;
  }
  let x = i32(i % params.width);
  let row = i - u32(x);
  var mx = vec3f(0.0);
  var my = vec3f(0.0);
  var exx = vec3f(0.0);
  var eyy = vec3f(0.0);
  var exy = vec3f(0.0);
  for (var k = -WINDOW_RADIUS; k <= WINDOW_RADIUS; k++) {
    let xx = x + k;
    if (xx < 0 || xx >= i32(params.width)) {
      continue;
    }
    let g = GAUSS[k + WINDOW_RADIUS];
    let a = render[row + u32(xx)].xyz;
    let b = target_rgba[row + u32(xx)].xyz;
    mx += g * a;
    my += g * b;
    exx += g * a * a;
    eyy += g * b * b;
    exy += g * a * b;
  }
  blur[i] = vec4f(mx, 0.0);
  blur[n + i] = vec4f(my, 0.0);
  blur[2u * n + i] = vec4f(exx, 0.0);
  blur[3u * n + i] = vec4f(eyy, 0.0);
  blur[4u * n + i] = vec4f(exy, 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn ssim_fwd_v(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(wid, nwg, lid);
  let n = pixel_count();
  if (i >= n) {
    return;
  }
  let w = params.width;
  let x = i % w;
  let y = i32(i / w);
  var mx = vec3f(0.0);
  var my = vec3f(0.0);
  var exx = vec3f(0.0);
  var eyy = vec3f(0.0);
  var exy = vec3f(0.0);
  for (var k = -WINDOW_RADIUS; k <= WINDOW_RADIUS; k++) {
    let yy = y + k;
    if (yy < 0 || yy >= i32(params.height)) {
      continue;
    }
    let g = GAUSS[k + WINDOW_RADIUS];
    let j = u32(yy) * w + x;
    mx += g * blur[j].xyz;
    my += g * blur[n + j].xyz;
    exx += g * blur[2u * n + j].xyz;
    eyy += g * blur[3u * n + j].xyz;
    exy += g * blur[4u * n + j].xyz;
  }
  let sxx = exx - mx * mx;
  let syy = eyy - my * my;
  let sxy = exy - mx * my;
  let a1 = 2.0 * mx * my + SSIM_C1;
  let a2 = 2.0 * sxy + SSIM_C2;
  let b1 = mx * mx + my * my + SSIM_C1;
  let b2 = sxx + syy + SSIM_C2;
  let inv_b = 1.0 / (b1 * b2);
  let s = a1 * a2 * inv_b;
  // Partials of S by E[x²] and E[xy] (through σx², σxy), then by μx, which also
  // enters σx² = E[x²] − μx² and σxy = E[xy] − μx μy.
  let b = -s / b2;
  let c = 2.0 * a1 * inv_b;
  let a = 2.0 * my * a2 * inv_b - 2.0 * mx * s / b1 - 2.0 * mx * b - my * c;
  let m = pixel_weight(i);
  partials[i] = vec4f(m * a, s.x + s.y + s.z);
  partials[n + i] = vec4f(m * b, 0.0);
  partials[2u * n + i] = vec4f(m * c, 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn ssim_bwd_h(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(wid, nwg, lid);
  let n = pixel_count();
  if (i >= n) {
    return;
  }
  let x = i32(i % params.width);
  let row = i - u32(x);
  var a = vec3f(0.0);
  var b = vec3f(0.0);
  var c = vec3f(0.0);
  for (var k = -WINDOW_RADIUS; k <= WINDOW_RADIUS; k++) {
    let xx = x + k;
    if (xx < 0 || xx >= i32(params.width)) {
      continue;
    }
    let g = GAUSS[k + WINDOW_RADIUS];
    let j = row + u32(xx);
    a += g * partials[j].xyz;
    b += g * partials[n + j].xyz;
    c += g * partials[2u * n + j].xyz;
  }
  blur[i] = vec4f(a, 0.0);
  blur[n + i] = vec4f(b, 0.0);
  blur[2u * n + i] = vec4f(c, 0.0);
}

// Thread lid of run-workgroup r sums pixels r·RUN_BLOCK + lid + k·WORKGROUP_SIZE.
// Threads past the image still write (zeros), so run_sums has no stale entries.
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_runs(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  let n = pixel_count();
  let runs = (n + RUN_BLOCK - 1u) / RUN_BLOCK * WORKGROUP_SIZE;
  let r = block * WORKGROUP_SIZE + lid;
  if (r >= runs) {
    return;
  }
  var s = vec4f(0.0);
  var ss = 0.0;
  for (var k = 0u; k < RUN_LENGTH; k++) {
    let i = block * RUN_BLOCK + lid + k * WORKGROUP_SIZE;
    if (i >= n) {
      break;
    }
    let m = pixel_weight(i);
    let d = render[i] - target_rgba[i];
    let ad = abs(d.xyz);
    s += m * vec4f(1.0, dot(d.xyz, d.xyz), ad.x + ad.y + ad.z, d.w * d.w);
    if (params.use_ssim != 0u) {
      ss += m * partials[i].w;
    }
  }
  run_sums[2u * r] = s;
  run_sums[2u * r + 1u] = vec4f(ss, 0.0, 0.0, 0.0);
}

var<workgroup> wg_sums: array<vec4f, WORKGROUP_SIZE>;
var<workgroup> wg_ssim: array<f32, WORKGROUP_SIZE>;

// One workgroup. Run sums are already partial sums of ≤ RUN_LENGTH pixels, so the
// f32 totals stay accurate to ~1e-6 relative for megapixel images.
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_final(@builtin(local_invocation_index) lid: u32) {
  let n = pixel_count();
  let runs = (n + RUN_BLOCK - 1u) / RUN_BLOCK * WORKGROUP_SIZE;
  var s = vec4f(0.0);
  var ss = 0.0;
  for (var r = lid; r < runs; r += WORKGROUP_SIZE) {
    s += run_sums[2u * r];
    ss += run_sums[2u * r + 1u].x;
  }
  wg_sums[lid] = s;
  wg_ssim[lid] = ss;
  workgroupBarrier();
  if (lid != 0u) {
    return;
  }
  var t = vec4f(0.0);
  var ts = 0.0;
  for (var k = 0u; k < WORKGROUP_SIZE; k++) {
    t += wg_sums[k];
    ts += wg_ssim[k];
  }
  let msum = t.x;
  let inv_px = select(0.0, 1.0 / msum, msum > 0.0);
  let inv_rgb = inv_px / 3.0;
  let rgb_mse = t.y * inv_rgb;
  let rgb_l1 = t.z * inv_rgb;
  let alpha_mse = t.w * inv_px;
  let dssim = select(0.0, 0.5 * (1.0 - ts * inv_rgb), params.use_ssim != 0u && msum > 0.0);
  values.rgb_mse += rgb_mse;
  values.rgb_l1 += rgb_l1;
  values.dssim += dssim;
  values.alpha_mse += alpha_mse;
  values.total += params.w_rgb_mse * rgb_mse + params.w_rgb_l1 * rgb_l1 + params.w_dssim * dssim + params.w_alpha_mse * alpha_mse;
  values.mask_sum += msum;
  values.calls += 1.0;
  norm.inv_rgb = inv_rgb;
  norm.inv_px = inv_px;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn loss_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(wid, nwg, lid);
  let n = pixel_count();
  if (i >= n) {
    return;
  }
  let r = render[i];
  let t = target_rgba[i];
  let d = r - t;
  let m = pixel_weight(i);
  // sign(0) = 0, as torch's L1 gradient.
  let g_rgb = (params.w_rgb_mse * 2.0) * d.xyz + params.w_rgb_l1 * sign(d.xyz);
  var g = vec4f(m * norm.inv_rgb * g_rgb, m * norm.inv_px * params.w_alpha_mse * 2.0 * d.w);
  if (params.use_ssim != 0u) {
    let w = params.width;
    let x = i % w;
    let y = i32(i / w);
    var a = vec3f(0.0);
    var b = vec3f(0.0);
    var c = vec3f(0.0);
    for (var k = -WINDOW_RADIUS; k <= WINDOW_RADIUS; k++) {
      let yy = y + k;
      if (yy < 0 || yy >= i32(params.height)) {
        continue;
      }
      let gk = GAUSS[k + WINDOW_RADIUS];
      let j = u32(yy) * w + x;
      a += gk * blur[j].xyz;
      b += gk * blur[n + j].xyz;
      c += gk * blur[2u * n + j].xyz;
    }
    // d dssim / d SSIM = −1/2; the partial maps carry m but not 1/(3Σm).
    let dssim_scale = -0.5 * params.w_dssim * norm.inv_rgb;
    g += vec4f(dssim_scale * (a + 2.0 * r.xyz * b + t.xyz * c), 0.0);
  }
  grad[i] += g;
}
