// PSNR of a render against a target, plain and masked, as per-pixel terms that
// metrics_reduce.wgsl sums into the view's slot. Host: harness/metrics/gpu_metrics.ts
// (dispatchPsnr); CPU reference: refPsnr (harness/metrics/image_metrics.ts).
//
// With r the render clamped to [0, 1] (as a saved image would be), t the target,
// m the mask weight and sums over pixels p and RGB channels c:
//   mse        = Σ (r − t)² / (3 N)          psnr        = −10 log10(mse)
//   mse_masked = Σ m (r − t)² / (3 Σm)       psnr_masked = −10 log10(mse_masked)
// The logarithm is taken by the host in float64; mse = 0 gives +Infinity.

const WORKGROUP_SIZE: u32 = 64u;

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
@group(0) @binding(4) var<storage, read_write> terms: array<vec4f>; // [H,W] (Σc d², m·Σc d², m, 0)

@compute @workgroup_size(WORKGROUP_SIZE)
fn psnr(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.width * params.height) {
    return;
  }
  let d = clamp(render[i].xyz, vec3f(0.0), vec3f(1.0)) - target_rgb[i].xyz;
  let sq = dot(d, d);
  var m = 1.0;
  if (params.has_mask != 0u) {
    m = mask[i];
  }
  terms[i] = vec4f(sq, m * sq, m, 0.0);
}
