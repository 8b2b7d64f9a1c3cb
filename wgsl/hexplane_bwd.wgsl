// HexPlane deformation field, backward (host: harness/deform/hexplane.ts, CPU
// reference: refHexPlaneFieldBwd in harness/deform/hexplane_ref.ts). Compiled
// after hexplane.wgsl (HexPlaneParams, cells, footprints, sample).
//
// Plane gradients: with v_p the six samples of a Gaussian's features and d its
// dL/dfeat, plane p receives d · Π_{q≠p} v_q spread over its 4 texels by the
// bilinear weights.
// - Spatial planes (xy, xz, yz): Gaussians spread over the planes, so collisions
//   are rare: one compare-exchange float add per texel and feature (WGSL has no
//   float atomics). Their sums' order varies from run to run (not bitwise
//   deterministic).
// - Time planes (xt, yt, zt): at one time every Gaussian hits the same two t-rows,
//   so atomics there would all collide. The time weight is the same for every
//   Gaussian of the call, so each plane's gradient is (1 − a_t, a_t) ⊗ G with
//   G[i, f] = Σ_n w_i(n) g(n, f) a 1-D sum along x, y or z. hexplane_bwd_planes
//   sums G per block of BWD_BLOCK Gaussians into a partial of its own (plain
//   stores), hexplane_bwd_time adds the partials in block order and writes both
//   rows: no atomics, bitwise deterministic.
//
// hexplane_bwd_residual: dh += Σ_k dr_k (the heads' skip connections).
// hexplane_bwd_identity: dCanonical += dOut (the field's identity path).

// hexplane_bwd_planes (also means, planes of hexplane.wgsl)
@group(0) @binding(3) var<storage, read> dfeat: array<vec4f>; // [N, S·F/4] vec4 dL/dfeat
@group(0) @binding(4) var<storage, read_write> dplanes: array<atomic<u32>>; // [plane floats] f32 bits, accumulated
@group(0) @binding(5) var<storage, read_write> hist: array<vec4f>; // [blocks, hist_stride] vec4 per-block time-plane partial sums (scratch)

// hexplane_bwd_time (and hist above)
@group(0) @binding(4) var<storage, read_write> dplanes_time: array<vec4f>; // [plane floats / 4] vec4, the same buffer as dplanes

// hexplane_bwd_residual
@group(0) @binding(1) var<storage, read_write> dhidden: array<f32>; // [N,W] f32 dL/dh, += Σ_k dr_k
@group(0) @binding(2) var<storage, read> dresid: array<f32>; // [N,3W] f32 dL/dr

// hexplane_bwd_identity
@group(0) @binding(1) var<storage, read> dout_means: array<f32>; // [N,3] f32 dL/d deformed means
@group(0) @binding(2) var<storage, read> dout_scales: array<f32>; // [N,3] f32 dL/d deformed log-scales
@group(0) @binding(3) var<storage, read> dout_quats: array<f32>; // [N,4] f32 dL/d deformed quaternions
@group(0) @binding(4) var<storage, read_write> dcanon_means: array<f32>; // [N,3] f32 dL/d canonical means, accumulated
@group(0) @binding(5) var<storage, read_write> dcanon_scales: array<f32>; // [N,3] f32, accumulated
@group(0) @binding(6) var<storage, read_write> dcanon_quats: array<f32>; // [N,4] f32, accumulated

fn add_f32(i: u32, v: f32) {
  var old = atomicLoad(&dplanes[i]);
  loop {
    let r = atomicCompareExchangeWeak(&dplanes[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) {
      break;
    }
    old = r.old_value;
  }
}

fn add_vec4(at: u32, g: vec4f) {
  add_f32(4u * at, g.x);
  add_f32(4u * at + 1u, g.y);
  add_f32(4u * at + 2u, g.z);
  add_f32(4u * at + 3u, g.w);
}

fn scatter(fp: Footprint, c: u32, g: vec4f) {
  add_vec4(fp.at.x + c, fp.w.x * g);
  add_vec4(fp.at.y + c, fp.w.y * g);
  add_vec4(fp.at.z + c, fp.w.z * g);
  add_vec4(fp.at.w + c, fp.w.w * g);
}

/** Adds g to the two columns of a 1-D partial at `at` (column stride: chunks). */
fn hist_add(at: u32, q: Cell, g: vec4f) {
  hist[at + q.i0 * params.chunks] += (1.0 - q.a) * g;
  hist[at + q.i1 * params.chunks] += q.a * g;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_bwd_planes(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // One thread per (block of Gaussians, scale, chunk), chunk fastest.
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  let per_block = params.scales * params.chunks;
  if (k >= params.blocks * per_block) {
    return;
  }
  let block = k / per_block;
  let s = (k % per_block) / params.chunks;
  let c = k % params.chunks;
  let ho = params.hist_off[s];
  let base = block * params.hist_stride + c;
  for (var i = ho.x; i < ho.w; i += params.chunks) {
    hist[base + i] = vec4f(0.0);
  }
  let end = min(params.count, (block + 1u) * BWD_BLOCK);
  for (var n = block * BWD_BLOCK; n < end; n++) {
    let d = dfeat[(n * params.scales + s) * params.chunks + c];
    let q = cells(n, s);
    let fp = footprints(q, s);
    let v0 = sample(fp.xy, c);
    let v1 = sample(fp.xz, c);
    let v2 = sample(fp.yz, c);
    let v3 = sample(fp.xt, c);
    let v4 = sample(fp.yt, c);
    let v5 = sample(fp.zt, c);
    // Products of the others from prefix and suffix products (no division: samples may be 0).
    let l2 = v0 * v1;
    let l3 = l2 * v2;
    let l4 = l3 * v3;
    let r3 = v4 * v5;
    let r2 = v3 * r3;
    let r1 = v2 * r2;
    scatter(fp.xy, c, d * v1 * r1);
    scatter(fp.xz, c, d * v0 * r1);
    scatter(fp.yz, c, d * l2 * r2);
    hist_add(base + ho.x, q.x, d * l3 * r3);
    hist_add(base + ho.y, q.y, d * l4 * v5);
    hist_add(base + ho.z, q.z, d * l4 * v4);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_bwd_time(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // One thread per vec4 of a block's partials: (scale, axis, column, chunk).
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (k >= params.hist_stride) {
    return;
  }
  var total = vec4f(0.0);
  for (var b = 0u; b < params.blocks; b++) {
    total += hist[b * params.hist_stride + k];
  }
  var s = 0u;
  while (s + 1u < params.scales && k >= params.hist_off[s].w) {
    s++;
  }
  let ho = params.hist_off[s];
  let r = params.res[s];
  var start = ho.x;
  var ra = r.x;
  var plane = params.planes_a[s].w;
  if (k >= ho.z) {
    start = ho.z;
    ra = r.z;
    plane = params.planes_b[s].y;
  } else if (k >= ho.y) {
    start = ho.y;
    ra = r.y;
    plane = params.planes_b[s].x;
  }
  // k - start = column · chunks + chunk, the same within a t-row of the plane.
  let at = plane + k - start;
  let ct = cell(params.time, r.w);
  let row = ra * params.chunks;
  dplanes_time[at + ct.i0 * row] += (1.0 - ct.a) * total;
  dplanes_time[at + ct.i1 * row] += ct.a * total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_bwd_residual(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  let w = params.width;
  if (k >= params.count * w) {
    return;
  }
  let at = (k / w) * 3u * w + k % w;
  dhidden[k] += dresid[at] + dresid[at + w] + dresid[at + 2u * w];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_bwd_identity(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (n >= params.count) {
    return;
  }
  for (var k = 3u * n; k < 3u * n + 3u; k++) {
    dcanon_means[k] += dout_means[k];
    dcanon_scales[k] += dout_scales[k];
  }
  for (var k = 4u * n; k < 4u * n + 4u; k++) {
    dcanon_quats[k] += dout_quats[k];
  }
}
