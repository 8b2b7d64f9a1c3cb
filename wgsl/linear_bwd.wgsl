// Batched linear layer, backward (host: harness/deform/linear.ts, CPU reference:
// refLinearBwd in harness/deform/linear_ref.ts). With g = dY masked by the ReLU
// (Y > 0, read from the forward's output) when the layer has one:
//   linear_bwd_dx:         dX[r, i] (= or +=) Σ_o g[r, o] · W[o, i]
//   linear_bwd_dw_partial: P[c, o, i] = Σ_{r in chunk c} g[r, o] · X[r, i],
//                          column i = inputs holding Σ_r g[r, o] (the bias)
//   linear_bwd_dw_reduce:  dW[o, i] += Σ_c P[c, o, i],  dB[o] += Σ_c P[c, o, inputs]
// The row reduction is two passes over a fixed chunking (it depends only on the
// row count), never float atomics: the same inputs give bit-identical gradients.
// Register tiles of TILE × TILE, no workgroup memory, no barriers (see linear.wgsl).

const WORKGROUP_SIZE: u32 = 64u;
const TILE: u32 = 4u;

struct LinearBwdParams {
  rows: u32,
  inputs: u32,
  outputs: u32,
  x_stride: u32, // forward input X
  x_offset: u32,
  y_stride: u32, // forward output Y (the ReLU mask)
  y_offset: u32,
  dy_stride: u32,
  dy_offset: u32,
  dx_stride: u32,
  dx_offset: u32,
  dx_col_tiles: u32, // ceil(inputs / TILE)
  dx_tiles: u32, // ceil(rows / TILE) · dx_col_tiles
  dw_in_tiles: u32, // ceil((inputs + 1) / TILE): the bias is column `inputs`
  dw_chunk_tiles: u32, // ceil(outputs / TILE) · dw_in_tiles
  dw_tiles: u32, // chunks · dw_chunk_tiles
  chunk_rows: u32, // rows per chunk (the last may be shorter)
  chunks: u32,
}

override RELU: bool = false;
// dX += instead of dX = (linear_bwd_dx only).
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> params: LinearBwdParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>; // [rows, dy_stride] f32 dL/dY, columns dy_offset..+outputs
@group(0) @binding(2) var<storage, read> y: array<f32>; // [rows, y_stride] f32 forward output (ReLU mask; unused without ReLU)

// linear_bwd_dx
@group(0) @binding(3) var<storage, read> weight: array<f32>; // [outputs, inputs] f32 row-major
@group(0) @binding(4) var<storage, read_write> dx: array<f32>; // [rows, dx_stride] f32 dL/dX, columns dx_offset..+inputs

// linear_bwd_dw_partial
@group(0) @binding(5) var<storage, read> x: array<f32>; // [rows, x_stride] f32 forward input, columns x_offset..+inputs
@group(0) @binding(6) var<storage, read_write> partial: array<f32>; // [chunks, outputs, inputs + 1] f32 per-chunk sums

// linear_bwd_dw_reduce
@group(0) @binding(7) var<storage, read> partial_in: array<f32>; // [chunks, outputs, inputs + 1] f32 per-chunk sums
@group(0) @binding(8) var<storage, read_write> dweight: array<f32>; // [outputs, inputs] f32 dL/dW, added to
@group(0) @binding(9) var<storage, read_write> dbias: array<f32>; // [outputs] f32 dL/db, added to

/** dY[r, o] through the ReLU; a and ya are the flat dY and Y indices. */
// y is referenced even without ReLU (folded away then) so that every variant's
// automatic layout has the same bindings.
fn grad_at(a: u32, ya: u32) -> f32 {
  return select(0.0, dy[a], !RELU || y[ya] > 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (t >= params.dx_tiles) {
    return;
  }
  let r0 = (t / params.dx_col_tiles) * TILE;
  let i0 = (t % params.dx_col_tiles) * TILE;
  let last_r = params.rows - 1u;
  let last_i = params.inputs - 1u;
  let rc = vec4u(min(r0, last_r), min(r0 + 1u, last_r), min(r0 + 2u, last_r), min(r0 + 3u, last_r));
  let ga = rc * params.dy_stride + params.dy_offset;
  let ya = rc * params.y_stride + params.y_offset;
  let ic = vec4u(min(i0, last_i), min(i0 + 1u, last_i), min(i0 + 2u, last_i), min(i0 + 3u, last_i));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var o = 0u; o < params.outputs; o++) {
    let wo = o * params.inputs;
    let w = vec4f(weight[wo + ic.x], weight[wo + ic.y], weight[wo + ic.z], weight[wo + ic.w]);
    acc0 += grad_at(ga.x + o, ya.x + o) * w;
    acc1 += grad_at(ga.y + o, ya.y + o) * w;
    acc2 += grad_at(ga.z + o, ya.z + o) * w;
    acc3 += grad_at(ga.w + o, ya.w + o) * w;
  }
  store_dx(r0, i0, acc0);
  store_dx(r0 + 1u, i0, acc1);
  store_dx(r0 + 2u, i0, acc2);
  store_dx(r0 + 3u, i0, acc3);
}

fn store_dx(r: u32, i0: u32, v: vec4f) {
  if (r >= params.rows) {
    return;
  }
  let base = r * params.dx_stride + params.dx_offset + i0;
  let n = min(TILE, params.inputs - i0);
  for (var k = 0u; k < n; k++) {
    if (ACCUMULATE) {
      dx[base + k] += v[k];
    } else {
      dx[base + k] = v[k];
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_dw_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (t >= params.dw_tiles) {
    return;
  }
  let c = t / params.dw_chunk_tiles;
  let tile = t % params.dw_chunk_tiles;
  let o0 = (tile / params.dw_in_tiles) * TILE;
  let i0 = (tile % params.dw_in_tiles) * TILE;
  let last_o = params.outputs - 1u;
  let last_i = params.inputs - 1u;
  let oc = vec4u(min(o0, last_o), min(o0 + 1u, last_o), min(o0 + 2u, last_o), min(o0 + 3u, last_o));
  let iv = vec4u(i0, i0 + 1u, i0 + 2u, i0 + 3u);
  let ic = min(iv, vec4u(last_i)) + params.x_offset;
  // Column `inputs` is the bias: X reads 1 there (columns past it are not stored).
  let is_bias = iv >= vec4u(params.inputs);
  let r_begin = c * params.chunk_rows;
  let r_end = min(r_begin + params.chunk_rows, params.rows);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var r = r_begin; r < r_end; r++) {
    let xr = r * params.x_stride;
    let xv = select(vec4f(x[xr + ic.x], x[xr + ic.y], x[xr + ic.z], x[xr + ic.w]), vec4f(1.0), is_bias);
    let ga = r * params.dy_stride + params.dy_offset;
    let ya = r * params.y_stride + params.y_offset;
    acc0 += grad_at(ga + oc.x, ya + oc.x) * xv;
    acc1 += grad_at(ga + oc.y, ya + oc.y) * xv;
    acc2 += grad_at(ga + oc.z, ya + oc.z) * xv;
    acc3 += grad_at(ga + oc.w, ya + oc.w) * xv;
  }
  let width = params.inputs + 1u;
  let base = c * params.outputs * width;
  let n_i = min(TILE, width - i0);
  let n_o = min(TILE, params.outputs - o0);
  for (var k = 0u; k < n_o; k++) {
    var v = acc0;
    if (k == 1u) {
      v = acc1;
    } else if (k == 2u) {
      v = acc2;
    } else if (k == 3u) {
      v = acc3;
    }
    let row = base + (o0 + k) * width + i0;
    for (var j = 0u; j < n_i; j++) {
      partial[row + j] = v[j];
    }
  }
}

// One thread per (o, i) of [outputs, inputs + 1]; chunks summed in order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn linear_bwd_dw_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
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
