// Temporal consistency at one view: the frame-to-frame change of the renders
// against that of the ground truth, as per-pixel terms of one frame pair that
// metrics_reduce.wgsl sums into the pair's slot. Host: harness/metrics/gpu_metrics.ts
// (dispatchTemporalConsistency); CPU reference: refTemporalConsistency
// (harness/metrics/image_metrics.ts), which also states the sequence-level formula.
//
// For frames t−1, t of one view, r the renders clamped to [0, 1], g the targets
// (composited on white), sums over pixels p and RGB channels c:
//   change_render = Σ |r_t − r_{t−1}| / (3 N)
//   change_gt     = Σ |g_t − g_{t−1}| / (3 N)
//   change_error  = Σ |(r_t − r_{t−1}) − (g_t − g_{t−1})| / (3 N)   (flicker the truth lacks)

const WORKGROUP_SIZE: u32 = 64u;

struct MetricParams {
  width: u32,
  height: u32,
  has_mask: u32, // unused here
  slot: u32,
}

@group(0) @binding(0) var<uniform> params: MetricParams;
@group(0) @binding(1) var<storage, read> render: array<vec4f>; // [H,W,4] f32 render of frame t (rgb over white)
@group(0) @binding(2) var<storage, read> render_prev: array<vec4f>; // [H,W,4] f32 render of frame t−1
@group(0) @binding(3) var<storage, read> target_rgb: array<vec4f>; // [H,W,4] f32 target of frame t (composited on white)
@group(0) @binding(4) var<storage, read> target_prev: array<vec4f>; // [H,W,4] f32 target of frame t−1
@group(0) @binding(5) var<storage, read_write> terms: array<vec4f>; // [H,W] (Σc |Δr|, Σc |Δg|, Σc |Δr − Δg|, 0)

@compute @workgroup_size(WORKGROUP_SIZE)
fn temporal_consistency(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.width * params.height) {
    return;
  }
  let lo = vec3f(0.0);
  let hi = vec3f(1.0);
  let dr = clamp(render[i].xyz, lo, hi) - clamp(render_prev[i].xyz, lo, hi);
  let dg = target_rgb[i].xyz - target_prev[i].xyz;
  let ar = abs(dr);
  let ag = abs(dg);
  let ae = abs(dr - dg);
  terms[i] = vec4f(ar.x + ar.y + ar.z, ag.x + ag.y + ag.z, ae.x + ae.y + ae.z, 0.0);
}
