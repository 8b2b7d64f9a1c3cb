// Consistent4D protocol: ground truth composited on white before scoring.
// Host: harness/metrics/gpu_metrics.ts (dispatchMetricsComposite); CPU reference:
// refMetricsComposite (harness/metrics/image_metrics.ts).
//
// The target arrives premultiplied (rgb already multiplied by alpha, the form the
// page's images travel in), so compositing is one fused add: rgb + (1 − α)·white.
// Its alpha is kept as the mask of the masked metrics (the ground-truth silhouette).

const WORKGROUP_SIZE: u32 = 64u;

// Shared by every metrics kernel (psnr, ssim, temporal_consistency, metrics_reduce):
// one uniform per (slot, has_mask), written once when the plan is made.
struct MetricParams {
  width: u32,
  height: u32,
  has_mask: u32, // 0: every pixel weighs 1 and `mask` is never read
  slot: u32, // which entry of the per-view sums this call writes
}

@group(0) @binding(0) var<uniform> params: MetricParams;
@group(0) @binding(1) var<storage, read> premultiplied: array<vec4f>; // [H,W,4] f32 target, rgb·α and α
@group(0) @binding(2) var<storage, read_write> composited: array<vec4f>; // [H,W,4] f32 rgb + (1 − α), alpha 1
@group(0) @binding(3) var<storage, read_write> mask: array<f32>; // [H,W] f32 α of the target (the mask of the masked metrics)

@compute @workgroup_size(WORKGROUP_SIZE)
fn metrics_composite(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.width * params.height) {
    return;
  }
  let p = premultiplied[i];
  composited[i] = vec4f(p.xyz + vec3f(1.0 - p.w), 1.0);
  mask[i] = p.w;
}
