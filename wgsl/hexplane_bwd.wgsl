// HexPlane deformation field, backward (host: harness/deform/hexplane.ts, CPU
// reference: refHexPlaneFieldBwd in harness/deform/hexplane_ref.ts). Compiled
// after hexplane.wgsl (HexPlaneParams, cells, footprints, sample).
//
// Plane gradients: with v_p the six samples of a Gaussian's features and d its
// dL/dfeat, plane p receives d · Π_{q≠p} v_q spread over its 4 texels by the
// bilinear weights.
// - Spatial planes (xy, xz, yz): gathered per texel in a fixed order, no float
//   atomics (WGSL has none, and compare-exchange adds would make the sums' order,
//   and so the bits, vary between runs). hexplane_bwd_planes stores each
//   Gaussian's d · Π_{q≠p} v_q per (scale, plane) in `spatial` and a sort pair
//   (key = the plane cell of its lower-left texel, value = Gaussian); the host
//   sorts the pairs (stable radix sort: a cell's Gaussians stay in index order),
//   hexplane_bwd_cells records each cell's [start, end) in the sorted list, and
//   hexplane_bwd_spatial (one thread per texel and feature chunk) adds, over the
//   4 cells around its texel in order and their Gaussians in order, bilinear
//   weight × partial, then adds the total to the texel: one writer per texel.
// - Time planes (xt, yt, zt): at one time every Gaussian hits the same two t-rows,
//   so atomics there would all collide. The time weight is the same for every
//   Gaussian of the call, so each plane's gradient is (1 − a_t, a_t) ⊗ G with
//   G[i, f] = Σ_n w_i(n) g(n, f) a 1-D sum along x, y or z. hexplane_bwd_planes
//   sums G per block of BWD_BLOCK Gaussians into a partial of its own (plain
//   stores), hexplane_bwd_time adds the partials in block order and writes both
//   rows: no atomics, bitwise deterministic.
// So the whole backward is bitwise repeatable.
//
// hexplane_bwd_residual: dh += Σ_k dr_k (the heads' skip connections).
// hexplane_bwd_identity: dCanonical += dOut (the field's identity path).

// Per field: where each scale's spatial planes sit in the cell numbering and in
// hexplane_bwd_spatial's threads.
struct SpatialBwdParams {
  cell_base: array<vec4u, 4>,   // per scale: first cell id of planes xy, xz, yz; w: its end (cells: R_b x R_a per plane)
  thread_base: array<vec4u, 4>, // per scale: first hexplane_bwd_spatial thread of planes xy, xz, yz; w: the end of yz's
}

@group(0) @binding(10) var<uniform> spatial_params: SpatialBwdParams;

// hexplane_bwd_planes (also means, planes of hexplane.wgsl)
@group(0) @binding(3) var<storage, read> dfeat: array<vec4f>; // [N, S·F/4] vec4 dL/dfeat
@group(0) @binding(5) var<storage, read_write> hist: array<vec4f>; // [blocks, hist_stride] vec4 per-block time-plane partial sums (scratch)
@group(0) @binding(6) var<storage, read_write> spatial: array<vec4f>; // [N, S, 3, F/4] vec4 d · Π_{q≠p} v_q per spatial plane p (scratch)
@group(0) @binding(7) var<storage, read_write> cell_keys: array<u32>; // [N·S·3] u32 sort key: cell id of item (n·S + s)·3 + p
@group(0) @binding(8) var<storage, read_write> cell_values: array<u32>; // [N·S·3] u32 sort value: n
@group(0) @binding(9) var<storage, read_write> pair_count: array<u32>; // [1] u32 N·S·3, read by the sort

// hexplane_bwd_time, hexplane_bwd_spatial (and hist above)
@group(0) @binding(4) var<storage, read_write> dplanes: array<vec4f>; // [plane floats / 4] vec4 dL/dplanes, accumulated

// hexplane_bwd_cells
@group(0) @binding(1) var<storage, read> sorted_keys: array<u32>;   // [N·S·3] cell keys after the sort
@group(0) @binding(2) var<storage, read_write> cell_ranges: array<vec2u>; // [cells] [start, end) in the sorted pairs (host clears: empty = [0, 0))

// hexplane_bwd_spatial (also means, dplanes, spatial)
@group(0) @binding(3) var<storage, read> sorted_values: array<u32>; // [N·S·3] Gaussian per sorted pair
@group(0) @binding(11) var<storage, read> ranges_in: array<vec2u>;  // [cells] cell_ranges above

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

/** The spatial planes' (column, row) cells of q, plane p = 0 xy, 1 xz, 2 yz. */
fn plane_cells(q: Cells, p: u32) -> array<Cell, 2> {
  if (p == 0u) {
    return array<Cell, 2>(q.x, q.y);
  }
  if (p == 1u) {
    return array<Cell, 2>(q.x, q.z);
  }
  return array<Cell, 2>(q.y, q.z);
}

/** Columns (R_a) of spatial plane p at scale s. */
fn plane_cols(s: u32, p: u32) -> u32 {
  return select(params.res[s].x, params.res[s].y, p == 2u);
}

/** Rows (R_b) of spatial plane p at scale s. */
fn plane_rows(s: u32, p: u32) -> u32 {
  return select(params.res[s].z, params.res[s].y, p == 0u);
}

/** Bilinear weight of texel u along one axis for a Gaussian in cell c (both texels may be u on a one-texel axis). */
fn axis_weight(c: Cell, u: u32) -> f32 {
  return select(0.0, 1.0 - c.a, c.i0 == u) + select(0.0, c.a, c.i1 == u);
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
  if (k == 0u) {
    pair_count[0] = params.count * params.scales * 3u;
  }
  let ho = params.hist_off[s];
  let base = block * params.hist_stride + c;
  let cb = spatial_params.cell_base[s];
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
    let row = (n * params.scales + s) * 3u;
    spatial[row * params.chunks + c] = d * v1 * r1;
    spatial[(row + 1u) * params.chunks + c] = d * v0 * r1;
    spatial[(row + 2u) * params.chunks + c] = d * l2 * r2;
    if (c == 0u) {
      cell_keys[row] = cb.x + q.y.i0 * params.res[s].x + q.x.i0;
      cell_keys[row + 1u] = cb.y + q.z.i0 * params.res[s].x + q.x.i0;
      cell_keys[row + 2u] = cb.z + q.z.i0 * params.res[s].y + q.y.i0;
      cell_values[row] = n;
      cell_values[row + 1u] = n;
      cell_values[row + 2u] = n;
    }
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
  dplanes[at + ct.i0 * row] += (1.0 - ct.a) * total;
  dplanes[at + ct.i1 * row] += ct.a * total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_bwd_cells(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // One thread per sorted pair: where the cell key changes, a range starts or ends.
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  let pairs = params.count * params.scales * 3u;
  if (k >= pairs) {
    return;
  }
  let key = sorted_keys[k];
  if (k == 0u || sorted_keys[k - 1u] != key) {
    cell_ranges[key].x = k;
  }
  if (k + 1u == pairs || sorted_keys[k + 1u] != key) {
    cell_ranges[key].y = k + 1u;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_bwd_spatial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // One thread per (scale, spatial plane, texel, chunk), chunk fastest.
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  var s = 0u;
  while (s + 1u < params.scales && k >= spatial_params.thread_base[s].w) {
    s++;
  }
  let tb = spatial_params.thread_base[s];
  if (k >= tb.w) {
    return;
  }
  let p = select(select(2u, 1u, k < tb.z), 0u, k < tb.y);
  let local = k - select(select(tb.z, tb.y, k < tb.z), tb.x, k < tb.y);
  let chunks = params.chunks;
  let c = local % chunks;
  let ra = plane_cols(s, p);
  let rb = plane_rows(s, p);
  let u = (local / chunks) % ra;
  let v = (local / chunks) / ra;
  let cell0 = spatial_params.cell_base[s][p];
  var total = vec4f(0.0);
  // The 4 cells whose lower-left texel is (u - 1 | u, v - 1 | v), in order; their Gaussians in sorted (index) order.
  for (var cv = max(v, 1u) - 1u; cv <= min(v, rb - 1u); cv++) {
    for (var cu = max(u, 1u) - 1u; cu <= min(u, ra - 1u); cu++) {
      let range = ranges_in[cell0 + cv * ra + cu];
      for (var j = range.x; j < range.y; j++) {
        let n = sorted_values[j];
        let pc = plane_cells(cells(n, s), p);
        let w = axis_weight(pc[0], u) * axis_weight(pc[1], v);
        total += w * spatial[((n * params.scales + s) * 3u + p) * chunks + c];
      }
    }
  }
  let plane = select(select(params.planes_a[s].z, params.planes_a[s].y, p == 1u), params.planes_a[s].x, p == 0u);
  dplanes[plane + (v * ra + u) * chunks + c] += total;
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
