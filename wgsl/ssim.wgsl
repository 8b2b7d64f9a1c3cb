// SSIM of a render against a target, plain and masked, as per-pixel terms that
// metrics_reduce.wgsl sums into the view's slot. Host: harness/metrics/gpu_metrics.ts
// (dispatchSsim); CPU reference: refSsim (harness/metrics/image_metrics.ts).
//
// The usual SSIM (Wang et al. 2004, as in 3DGS and the loss in loss.wgsl): an
// 11×11 Gaussian window with σ = 1.5, per RGB channel, C1 = 0.01², C2 = 0.03²
// (data range 1), the render clamped to [0, 1]. Windows are zero-padded 'same'
// filters (conv2d with padding 5, as 3DGS' ssim()), so every pixel has a value
// and borders see zeros outside the image; no 'valid' crop. With S_c(p) the map,
//   ssim        = Σ_p Σ_c S_c(p) / (3 N)
//   ssim_masked = Σ_p m(p) Σ_c S_c(p) / (3 Σm)
// i.e. the masked variant averages the same map over the pixels inside the mask
// (windows near the mask's edge still see pixels outside it).
//
//   ssim_h  horizontal blur of x, y, x², y², xy
//   ssim_v  vertical blur -> S per channel -> terms (Σc S, m·Σc S, m, 0)

const WORKGROUP_SIZE: u32 = 64u;
const WINDOW_RADIUS: i32 = 5; // 11 taps
const SSIM_SIGMA: f32 = 1.5; // GAUSS's σ (tests check GAUSS against it)
const SSIM_C1: f32 = 0.0001; // 0.01²
const SSIM_C2: f32 = 0.0009; // 0.03²
// exp(−(i − 5)² / (2·1.5²)) normalised to sum 1, one axis.
const GAUSS = array<f32, 11>(
  0.00102838008, 0.00759875814, 0.0360007721, 0.109360690, 0.213005538, 0.266011725,
  0.213005538, 0.109360690, 0.0360007721, 0.00759875814, 0.00102838008,
);

struct MetricParams {
  width: u32,
  height: u32,
  has_mask: u32, // 0: every pixel weighs 1 and `mask` is never read
  slot: u32,
}

@group(0) @binding(0) var<uniform> params: MetricParams;
@group(0) @binding(1) var<storage, read> render: array<vec4f>; // [H,W,4] f32 rendered rgb over white (alpha unused)
@group(0) @binding(2) var<storage, read> target_rgb: array<vec4f>; // [H,W,4] f32 target rgb composited on white (alpha unused)
@group(0) @binding(3) var<storage, read> mask: array<f32>; // [H,W] f32 weight in [0,1]; any 4 bytes when has_mask = 0
@group(0) @binding(4) var<storage, read_write> blur: array<vec4f>; // [5,H,W] (rgb, 0) G_h⋆{x, y, x², y², xy}
@group(0) @binding(5) var<storage, read_write> terms: array<vec4f>; // [H,W] (Σc S, m·Σc S, m, 0)

fn pixel_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn ssim_h(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = pixel_index(wid, nwg, lid);
  let n = params.width * params.height;
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
    let a = clamp(render[row + u32(xx)].xyz, vec3f(0.0), vec3f(1.0));
    let b = target_rgb[row + u32(xx)].xyz;
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
fn ssim_v(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = pixel_index(wid, nwg, lid);
  let n = params.width * params.height;
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
  let s = ((2.0 * mx * my + SSIM_C1) * (2.0 * sxy + SSIM_C2)) / ((mx * mx + my * my + SSIM_C1) * (sxx + syy + SSIM_C2));
  let total = s.x + s.y + s.z;
  var m = 1.0;
  if (params.has_mask != 0u) {
    m = mask[i];
  }
  terms[i] = vec4f(total, m * total, m, 0.0);
}
