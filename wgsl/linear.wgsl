// Batched linear layer, forward (host: harness/deform/linear.ts, CPU reference:
// refLinear in harness/deform/linear_ref.ts):
//   Y[r, y_offset + o] (= or +=) act(b[o] + Σ_i X[r, x_offset + i] · W[o, i])   for r < rows
// Activations are row-major with a row stride and a column offset, so a layer
// can read one slice of a wide buffer (skip concatenation) and write or add into
// another (residual) without copies.
//
// Register tiles, no workgroup memory and no barriers (both are costly on
// SwiftShader): each thread owns ROW_TILE × COL_TILE outputs (8 rows × 4 output
// features) and streams the inputs, 12 loads per 32 multiply-adds (on SwiftShader
// 8 × 4 ran ~1.3–2× faster than 4 × 4 and 2 × 4 ~2.5× slower). Out-of-range rows
// and features of the edge tiles read clamped (valid) addresses and are not
// stored, so the inner loop has no branches.

const WORKGROUP_SIZE: u32 = 64u;
// Rows and output features per thread (the host sizes grids from them).
const ROW_TILE: u32 = 8u;
const COL_TILE: u32 = 4u;

struct LinearParams {
  rows: u32,
  inputs: u32,
  outputs: u32,
  x_stride: u32, // floats between rows of X
  x_offset: u32, // column of X's first input
  y_stride: u32,
  y_offset: u32,
  col_tiles: u32, // ceil(outputs / COL_TILE): output tiles per row tile
  tiles: u32, // ceil(rows / ROW_TILE) · col_tiles threads do work
}

override RELU: bool = false;
// Y += act(...) instead of Y = act(...).
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> params: LinearParams;
@group(0) @binding(1) var<storage, read> x: array<f32>; // [rows, x_stride] f32 input activations, columns x_offset..+inputs
@group(0) @binding(2) var<storage, read> weight: array<f32>; // [outputs, inputs] f32 row-major
@group(0) @binding(3) var<storage, read> bias: array<f32>; // [outputs] f32
@group(0) @binding(4) var<storage, read_write> y: array<f32>; // [rows, y_stride] f32 output activations, columns y_offset..+outputs

/** Flat indices of the first element of rows r0 + 4h .. r0 + 4h + 3 (clamped to the last row). */
fn row_starts(r0: u32, stride: u32, offset: u32) -> vec4u {
  let last = params.rows - 1u;
  return min(vec4u(r0, r0 + 1u, r0 + 2u, r0 + 3u), vec4u(last)) * stride + offset;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn linear(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (t >= params.tiles) {
    return;
  }
  let r0 = (t / params.col_tiles) * ROW_TILE;
  let o0 = (t % params.col_tiles) * COL_TILE;
  let xa = row_starts(r0, params.x_stride, params.x_offset);
  let xb = row_starts(r0 + 4u, params.x_stride, params.x_offset);
  let oc = min(vec4u(o0, o0 + 1u, o0 + 2u, o0 + 3u), vec4u(params.outputs - 1u));
  let wa = oc * params.inputs;
  let b = vec4f(bias[oc.x], bias[oc.y], bias[oc.z], bias[oc.w]);
  // acc<k> holds row r0 + k, its components the four output features.
  var acc0 = b;
  var acc1 = b;
  var acc2 = b;
  var acc3 = b;
  var acc4 = b;
  var acc5 = b;
  var acc6 = b;
  var acc7 = b;
  for (var i = 0u; i < params.inputs; i++) {
    let w = vec4f(weight[wa.x + i], weight[wa.y + i], weight[wa.z + i], weight[wa.w + i]);
    acc0 += x[xa.x + i] * w;
    acc1 += x[xa.y + i] * w;
    acc2 += x[xa.z + i] * w;
    acc3 += x[xa.w + i] * w;
    acc4 += x[xb.x + i] * w;
    acc5 += x[xb.y + i] * w;
    acc6 += x[xb.z + i] * w;
    acc7 += x[xb.w + i] * w;
  }
  store_row(r0, o0, acc0);
  store_row(r0 + 1u, o0, acc1);
  store_row(r0 + 2u, o0, acc2);
  store_row(r0 + 3u, o0, acc3);
  store_row(r0 + 4u, o0, acc4);
  store_row(r0 + 5u, o0, acc5);
  store_row(r0 + 6u, o0, acc6);
  store_row(r0 + 7u, o0, acc7);
}

fn store_row(r: u32, o0: u32, v: vec4f) {
  if (r >= params.rows) {
    return;
  }
  let base = r * params.y_stride + params.y_offset + o0;
  let n = min(COL_TILE, params.outputs - o0);
  for (var k = 0u; k < n; k++) {
    var s = v[k];
    if (RELU) {
      s = max(s, 0.0);
    }
    if (ACCUMULATE) {
      s += y[base + k];
    }
    y[base + k] = s;
  }
}
