// Batched linear layer, backward (host: harness/deform/linear.ts, CPU reference:
// refLinearBwd in harness/deform/linear_ref.ts). g is dL/d(pre-activation): dY
// itself, or for a ReLU layer dY masked by Y > 0, written once by
// linear_bwd_mask into a dense scratch so the two products below read one value
// per element instead of two.
//   linear_bwd_mask:       G[r, o] = Y[r, o] > 0 ? dY[r, o] : 0
//   linear_bwd_dw_partial: P[c, o, i] = Σ_{r in chunk c} g[r, o] · X[r, i],
//                          column i = inputs holding Σ_r g[r, o] (the bias)
//   linear_bwd_dw_reduce:  dW[o, i] += Σ_c P[c, o, i],  dB[o] += Σ_c P[c, o, inputs]
//   linear_bwd_dx:         dX[r, i] (= or +=) Σ_o g[r, o] · W[o, i]
// The row reduction is two passes over a fixed chunking (it depends only on the
// row count), never float atomics: the same inputs give bit-identical gradients.
// Register tiles of 8 × 4, no workgroup memory, no barriers (see linear.wgsl).

const WORKGROUP_SIZE: u32 = 64u;
// dx: rows × input features per thread; dw_partial: output × input features.
const ROW_TILE: u32 = 8u;
const COL_TILE: u32 = 4u;

struct LinearBwdParams {
  rows: u32,
  inputs: u32,
  outputs: u32,
  x_stride: u32, // forward input X
  x_offset: u32,
  y_stride: u32, // forward output Y (linear_bwd_mask only)
  y_offset: u32,
  g_stride: u32, // g: dY, or the mask's dense output
  g_offset: u32,
  dx_stride: u32,
  dx_offset: u32,
  dx_col_tiles: u32, // ceil(inputs / COL_TILE)
  dx_tiles: u32, // ceil(rows / ROW_TILE) · dx_col_tiles
  dw_in_tiles: u32, // ceil((inputs + 1) / COL_TILE): the bias is column `inputs`
  dw_chunk_tiles: u32, // ceil(outputs / ROW_TILE) · dw_in_tiles
  dw_tiles: u32, // chunks · dw_chunk_tiles
  chunk_rows: u32, // rows per chunk (the last may be shorter)
  chunks: u32,
}

// dX += instead of dX = (linear_bwd_dx).
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> params: LinearBwdParams;

// linear_bwd_mask
@group(0) @binding(1) var<storage, read> dy: array<f32>; // [rows, g_stride] f32 dL/dY, columns g_offset..+outputs
@group(0) @binding(2) var<storage, read> y: array<f32>; // [rows, y_stride] f32 forward output, columns y_offset..+outputs
@group(0) @binding(3) var<storage, read_write> g_out: array<f32>; // [rows, outputs] f32 dY through the ReLU

// linear_bwd_dw_partial, linear_bwd_dx
@group(0) @binding(4) var<storage, read> g: array<f32>; // [rows, g_stride] f32 dL/d(pre-activation), columns g_offset..+outputs
@group(0) @binding(5) var<storage, read> x: array<f32>; // [rows, x_stride] f32 forward input, columns x_offset..+inputs
@group(0) @binding(6) var<storage, read_write> partial: array<f32>; // [chunks, outputs, inputs + 1] f32 per-chunk sums
@group(0) @binding(7) var<storage, read> weight: array<f32>; // [outputs, inputs] f32 row-major
@group(0) @binding(8) var<storage, read_write> dx: array<f32>; // [rows, dx_stride] f32 dL/dX, columns dx_offset..+inputs

// linear_bwd_dw_reduce
@group(0) @binding(9) var<storage, read> partial_in: array<f32>; // [chunks, outputs, inputs + 1] f32 per-chunk sums
@group(0) @binding(10) var<storage, read_write> dweight: array<f32>; // [outputs, inputs] f32 dL/dW, added to
@group(0) @binding(11) var<storage, read_write> dbias: array<f32>; // [outputs] f32 dL/db, added to

fn thread_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

// One thread per element of [rows, outputs].
@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_mask(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.rows * params.outputs) {
    return;
  }
  let r = t / params.outputs;
  let o = t % params.outputs;
  // torch's relu passes no gradient at exactly 0.
  g_out[t] = select(0.0, dy[r * params.g_stride + params.g_offset + o], y[r * params.y_stride + params.y_offset + o] > 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_dw_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.dw_tiles) {
    return;
  }
  let c = t / params.dw_chunk_tiles;
  let tile = t % params.dw_chunk_tiles;
  let o0 = (tile / params.dw_in_tiles) * ROW_TILE;
  let i0 = (tile % params.dw_in_tiles) * COL_TILE;
  let last_o = vec4u(params.outputs - 1u);
  let oa = min(vec4u(o0, o0 + 1u, o0 + 2u, o0 + 3u), last_o) + params.g_offset;
  let ob = min(vec4u(o0 + 4u, o0 + 5u, o0 + 6u, o0 + 7u), last_o) + params.g_offset;
  let iv = vec4u(i0, i0 + 1u, i0 + 2u, i0 + 3u);
  let ic = min(iv, vec4u(params.inputs - 1u)) + params.x_offset;
  // Column `inputs` is the bias: X reads 1 there (columns past it are not stored).
  let is_bias = iv >= vec4u(params.inputs);
  let r_begin = c * params.chunk_rows;
  let r_end = min(r_begin + params.chunk_rows, params.rows);
  // acc<k> holds output feature o0 + k, its components the four input features.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  var acc4 = vec4f(0.0);
  var acc5 = vec4f(0.0);
  var acc6 = vec4f(0.0);
  var acc7 = vec4f(0.0);
  for (var r = r_begin; r < r_end; r++) {
    let xr = r * params.x_stride;
    let xv = select(vec4f(x[xr + ic.x], x[xr + ic.y], x[xr + ic.z], x[xr + ic.w]), vec4f(1.0), is_bias);
    let gr = r * params.g_stride;
    acc0 += g[gr + oa.x] * xv;
    acc1 += g[gr + oa.y] * xv;
    acc2 += g[gr + oa.z] * xv;
    acc3 += g[gr + oa.w] * xv;
    acc4 += g[gr + ob.x] * xv;
    acc5 += g[gr + ob.y] * xv;
    acc6 += g[gr + ob.z] * xv;
    acc7 += g[gr + ob.w] * xv;
  }
  let width = params.inputs + 1u;
  let base = c * params.outputs * width + i0;
  store_partial(base, o0, i0, acc0);
  store_partial(base, o0 + 1u, i0, acc1);
  store_partial(base, o0 + 2u, i0, acc2);
  store_partial(base, o0 + 3u, i0, acc3);
  store_partial(base, o0 + 4u, i0, acc4);
  store_partial(base, o0 + 5u, i0, acc5);
  store_partial(base, o0 + 6u, i0, acc6);
  store_partial(base, o0 + 7u, i0, acc7);
}

fn store_partial(base: u32, o: u32, i0: u32, v: vec4f) {
  if (o >= params.outputs) {
    return;
  }
  let width = params.inputs + 1u;
  let n = min(COL_TILE, width - i0);
  for (var k = 0u; k < n; k++) {
    partial[base + o * width + k] = v[k];
  }
}

// One thread per (o, i) of [outputs, inputs + 1]; chunks summed in order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_dw_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  let width = params.inputs + 1u;
  let n = params.outputs * width;
  if (t >= n) {
    return;
  }
  var s = 0.0;
  for (var c = 0u; c < params.chunks; c++) {
    s += partial_in[c * n + t];
  }
  let o = t / width;
  let i = t % width;
  if (i == params.inputs) {
    dbias[o] += s;
  } else {
    dweight[o * params.inputs + i] += s;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(wid, nwg, lid);
  if (t >= params.dx_tiles) {
    return;
  }
  let r0 = (t / params.dx_col_tiles) * ROW_TILE;
  let i0 = (t % params.dx_col_tiles) * COL_TILE;
  let last_r = vec4u(params.rows - 1u);
  let ga = min(vec4u(r0, r0 + 1u, r0 + 2u, r0 + 3u), last_r) * params.g_stride + params.g_offset;
  let gb = min(vec4u(r0 + 4u, r0 + 5u, r0 + 6u, r0 + 7u), last_r) * params.g_stride + params.g_offset;
  let ic = min(vec4u(i0, i0 + 1u, i0 + 2u, i0 + 3u), vec4u(params.inputs - 1u));
  // acc<k> holds row r0 + k, its components the four input features.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  var acc4 = vec4f(0.0);
  var acc5 = vec4f(0.0);
  var acc6 = vec4f(0.0);
  var acc7 = vec4f(0.0);
  for (var o = 0u; o < params.outputs; o++) {
    let wo = o * params.inputs;
    let w = vec4f(weight[wo + ic.x], weight[wo + ic.y], weight[wo + ic.z], weight[wo + ic.w]);
    acc0 += g[ga.x + o] * w;
    acc1 += g[ga.y + o] * w;
    acc2 += g[ga.z + o] * w;
    acc3 += g[ga.w + o] * w;
    acc4 += g[gb.x + o] * w;
    acc5 += g[gb.y + o] * w;
    acc6 += g[gb.z + o] * w;
    acc7 += g[gb.w + o] * w;
  }
  store_dx(r0, i0, acc0);
  store_dx(r0 + 1u, i0, acc1);
  store_dx(r0 + 2u, i0, acc2);
  store_dx(r0 + 3u, i0, acc3);
  store_dx(r0 + 4u, i0, acc4);
  store_dx(r0 + 5u, i0, acc5);
  store_dx(r0 + 6u, i0, acc6);
  store_dx(r0 + 7u, i0, acc7);
}

fn store_dx(r: u32, i0: u32, v: vec4f) {
  if (r >= params.rows) {
    return;
  }
  let base = r * params.dx_stride + params.dx_offset + i0;
  let n = min(COL_TILE, params.inputs - i0);
  for (var k = 0u; k < n; k++) {
    if (ACCUMULATE) {
      dx[base + k] += v[k];
    } else {
      dx[base + k] = v[k];
    }
  }
}
