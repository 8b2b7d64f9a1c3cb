// The MLP deformation field's backward beyond the linear layers (host:
// harness/deform/mlp.ts): only the identity path, dCanonical += dOut, since the
// field's input (the canonical mean) is detached and the time is a constant.
// The network's gradients come from wgsl/linear_bwd.wgsl.

const WORKGROUP_SIZE: u32 = 64u;

struct MlpIdentityParams {
  n: u32, // floats: count · width of the group
}

@group(0) @binding(0) var<uniform> params: MlpIdentityParams;
@group(0) @binding(1) var<storage, read> d_out: array<f32>; // [count, width] f32 dL/d deformed group
@group(0) @binding(2) var<storage, read_write> d_canonical: array<f32>; // [N, width] f32 dL/d canonical group, added to

@compute @workgroup_size(WORKGROUP_SIZE)
fn mlp_identity_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n) {
    return;
  }
  d_canonical[i] += d_out[i];
}
