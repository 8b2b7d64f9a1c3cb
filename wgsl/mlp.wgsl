// The MLP deformation field's input (host: harness/deform/mlp.ts, CPU reference:
// refMlpEncode in harness/deform/mlp_ref.ts): the positional encoding of each
// canonical mean and of the call's time, as the paper's code (NeRF's embedder):
//   e = (x, sin(2^0 x), cos(2^0 x), …, sin(2^{L_x−1} x), cos(…), t, sin(2^0 t), cos(2^0 t), …)
// with x the 3-vector (each term 3 values) and no factor π. The network itself
// runs on the batched linear layers (wgsl/linear.wgsl).
//
// 2^f·x is exact in f32, but the arguments reach ~2^9·|x| and WGSL bounds
// sin/cos error only on [−π, π], loosely (2^-11; SwiftShader's are off by ~1e-5,
// enough to move the network's output by ~5e-5). So sin_cos reduces the
// argument itself (Cody–Waite, π/2 split into a short high part whose multiples
// are exact and a low correction) and evaluates Taylor polynomials on
// [−π/4, π/4]: ~1e-7 on every adapter, as torch's full-range sinf.

const WORKGROUP_SIZE: u32 = 64u;
const TWO_OVER_PI: f32 = 0.63661977236758134;
// 201/128: n·PIO2_HI is exact for |n| < 2^16.
const PIO2_HI: f32 = 1.5703125;
const PIO2_LO: f32 = 0.00048382679489661923;

struct MlpEncodeParams {
  count: u32,
  pos_freqs: u32,
  time_freqs: u32,
  enc_stride: u32, // floats per row of enc (the encoding width E)
  cat_stride: u32, // floats per row of cat (E + W); the encoding is its first E columns
  time: f32, // this call's t (per call: each encoded forward binds its own uniform)
}

// Also write the encoding into the skip layer's input (columns [0, E) of cat).
override HAS_CAT: bool = false;

@group(0) @binding(0) var<uniform> params: MlpEncodeParams;
@group(0) @binding(1) var<storage, read> means: array<f32>; // [N,3] f32 canonical means (the field's input, detached)
@group(0) @binding(2) var<storage, read_write> enc: array<f32>; // [count, E] f32 encoding, layer 0's input
@group(0) @binding(3) var<storage, read_write> cat: array<f32>; // [count, E + W] f32 skip layer's input (a 4-byte stand-in without skip)

/** (sin a, cos a) for |a| < 2^16. */
fn sin_cos(a: f32) -> vec2f {
  let n = round(a * TWO_OVER_PI);
  let r = (a - n * PIO2_HI) - n * PIO2_LO;
  let r2 = r * r;
  let s = r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0)))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  // Quadrant n mod 4: (sin, cos) of a = (s, c), (c, −s), (−s, −c), (−c, s).
  let q = u32(i32(n) & 3);
  let sc = select(vec2f(s, c), vec2f(c, -s), (q & 1u) == 1u);
  return select(sc, -sc, q >= 2u);
}

fn put(r: u32, k: u32, v: f32) {
  enc[r * params.enc_stride + k] = v;
  if (HAS_CAT) {
    cat[r * params.cat_stride + k] = v;
  }
}

// One thread per row.
@compute @workgroup_size(WORKGROUP_SIZE)
fn mlp_encode(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (r >= params.count) {
    return;
  }
  let x = vec3f(means[3u * r], means[3u * r + 1u], means[3u * r + 2u]);
  put(r, 0u, x.x);
  put(r, 1u, x.y);
  put(r, 2u, x.z);
  var k = 3u;
  var scale = 1.0;
  for (var f = 0u; f < params.pos_freqs; f++) {
    let a = sin_cos(scale * x.x);
    let b = sin_cos(scale * x.y);
    let c = sin_cos(scale * x.z);
    put(r, k, a.x);
    put(r, k + 1u, b.x);
    put(r, k + 2u, c.x);
    put(r, k + 3u, a.y);
    put(r, k + 4u, b.y);
    put(r, k + 5u, c.y);
    k += 6u;
    scale *= 2.0;
  }
  let t = params.time;
  put(r, k, t);
  k += 1u;
  scale = 1.0;
  for (var f = 0u; f < params.time_freqs; f++) {
    let a = sin_cos(scale * t);
    put(r, k, a.x);
    put(r, k + 1u, a.y);
    k += 2u;
    scale *= 2.0;
  }
}
