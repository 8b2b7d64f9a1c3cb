// One Adam step on one parameter group (host: harness/splat/adam.ts, CPU reference:
// harness/splat/adam_ref.ts). Written as torch.optim.Adam computes it, which is
// what the 3DGS / DG4D code runs:
//   m ← β1 m + (1 − β1) g
//   v ← β2 v + (1 − β2) g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// The host folds the step-dependent factors (learning-rate schedule, bias
// corrections) into the uniform each step, so the kernel is elementwise and the
// step count never lives on the GPU. One thread per float of the rows < count;
// rows past count (densification's spare room) keep their parameters and moments.

const WORKGROUP_SIZE: u32 = 256u;

struct AdamParams {
  n: u32, // floats to update: count · width of the group
  step_size: f32, // lr / (1 − β1^t)
  bias_c2_sqrt: f32, // √(1 − β2^t)
  beta1: f32,
  beta2: f32,
  // 1 − β from the host in float64: in f32, 1 − f32(0.999) is off by 1.3e-5 relative.
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: AdamParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>; // [N,width] f32 the group's parameters, updated in place
@group(0) @binding(2) var<storage, read> grad: array<f32>; // [N,width] f32 d(loss)/d(param), same layout
@group(0) @binding(3) var<storage, read_write> m1: array<f32>; // [N,width] f32 first moment (zero-initialised)
@group(0) @binding(4) var<storage, read_write> m2: array<f32>; // [N,width] f32 second moment (zero-initialised)

@compute @workgroup_size(WORKGROUP_SIZE)
fn adam_step(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n) {
    return;
  }
  let g = grad[i];
  let m = params.beta1 * m1[i] + params.one_minus_beta1 * g;
  let v = params.beta2 * m2[i] + params.one_minus_beta2 * g * g;
  m1[i] = m;
  m2[i] = v;
  param[i] -= params.step_size * m / (sqrt(v) / params.bias_c2_sqrt + params.eps);
}
