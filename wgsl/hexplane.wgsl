// HexPlane deformation field, forward (host: harness/deform/hexplane.ts, CPU
// reference: refHexPlaneField in harness/deform/hexplane_ref.ts).
//
// hexplane_sample: per Gaussian, scale and group of 4 features, bilinear samples
// (align_corners=True, clamped at the border) of the six planes xy, xz, yz, xt,
// yt, zt, multiplied together → feat. Plane (a, b) is [R_b, R_a, F] with features
// innermost, so a thread reads one vec4 per texel. The decoder (harness/deform/
// linear.ts) runs between the two entry points here.
// hexplane_residual: r_k += h for the three heads' residual blocks.
//
// The backward (hexplane_bwd.wgsl) is compiled after this file and shares its
// declarations.

const WORKGROUP_SIZE: u32 = 64u;
// Scales the uniform has room for (its arrays are sized 4 literally: the host layout
// reader takes numbers only; hexplane_ref.ts HEXPLANE_MAX_SCALES mirrors it).
const MAX_SCALES: u32 = 4u;
// Gaussians one hexplane_bwd_planes thread walks (its time-plane partial sums cover them).
const BWD_BLOCK: u32 = 32u;

struct HexPlaneParams {
  count: u32, // Gaussians of this call
  chunks: u32, // features / 4
  scales: u32,
  width: u32, // decoder width W (residual kernels)
  blocks: u32, // ceil(count / BWD_BLOCK)
  hist_stride: u32, // vec4s of time-plane partial sums per block
  time: f32, // t in [0, 1]
  pad: u32,
  bounds_min: vec4f, // xyz: the AABB's lower corner
  inv_extent: vec4f, // xyz: 1 / (max − min)
  res: array<vec4u, 4>, // per scale (Rx, Ry, Rz, Rt)
  planes_a: array<vec4u, 4>, // per scale: vec4 offsets of planes xy, xz, yz, xt
  planes_b: array<vec4u, 4>, // per scale: vec4 offsets of planes yt, zt (z, w unused)
  hist_off: array<vec4u, 4>, // per scale: offsets of the x, y, z time partials within a block, and their end
}

@group(0) @binding(0) var<uniform> params: HexPlaneParams;

// hexplane_sample
@group(0) @binding(1) var<storage, read> means: array<f32>; // [N,3] f32 canonical positions (detached input)
@group(0) @binding(2) var<storage, read> planes: array<vec4f>; // [Σ planes R_b·R_a, F/4] vec4 plane features
@group(0) @binding(3) var<storage, read_write> feat: array<vec4f>; // [N, S·F/4] vec4 product features, scale-major

// hexplane_residual
@group(0) @binding(1) var<storage, read> hidden: array<f32>; // [N,W] f32 h (after the ReLU)
@group(0) @binding(2) var<storage, read_write> resid: array<f32>; // [N,3W] f32 r_k = W1_k h + b1_k, += h here

/** One axis of a bilinear lookup: texels i0, i1 and the weight a of i1. */
struct Cell {
  i0: u32,
  i1: u32,
  a: f32,
}

fn cell(u: f32, r: u32) -> Cell {
  let last = f32(r - 1u);
  let x = clamp(u * last, 0.0, last);
  let i0 = min(u32(x), max(r, 2u) - 2u);
  return Cell(i0, min(i0 + 1u, r - 1u), x - f32(i0));
}

/** The four texel vec4 indices (feature chunk 0) and weights of plane `off` over axes with cells ca (columns, R_a wide) and cb (rows). */
struct Footprint {
  at: vec4u,
  w: vec4f,
}

fn footprint(off: u32, ra: u32, ca: Cell, cb: Cell) -> Footprint {
  let c = params.chunks;
  let r0 = off + cb.i0 * ra * c;
  let r1 = off + cb.i1 * ra * c;
  let at = vec4u(r0 + ca.i0 * c, r0 + ca.i1 * c, r1 + ca.i0 * c, r1 + ca.i1 * c);
  let w = vec4f((1.0 - ca.a) * (1.0 - cb.a), ca.a * (1.0 - cb.a), (1.0 - ca.a) * cb.a, ca.a * cb.a);
  return Footprint(at, w);
}

fn sample(fp: Footprint, c: u32) -> vec4f {
  return fp.w.x * planes[fp.at.x + c] + fp.w.y * planes[fp.at.y + c] + fp.w.z * planes[fp.at.z + c] + fp.w.w * planes[fp.at.w + c];
}

/** The cells of Gaussian n along x, y, z and of the call's time, at scale s. */
struct Cells {
  x: Cell,
  y: Cell,
  z: Cell,
  t: Cell,
}

fn cells(n: u32, s: u32) -> Cells {
  let u = (vec3f(means[3u * n], means[3u * n + 1u], means[3u * n + 2u]) - params.bounds_min.xyz) * params.inv_extent.xyz;
  let r = params.res[s];
  return Cells(cell(u.x, r.x), cell(u.y, r.y), cell(u.z, r.z), cell(params.time, r.w));
}

/** The six planes' footprints, in plane order xy, xz, yz, xt, yt, zt. */
struct Footprints {
  xy: Footprint,
  xz: Footprint,
  yz: Footprint,
  xt: Footprint,
  yt: Footprint,
  zt: Footprint,
}

fn footprints(q: Cells, s: u32) -> Footprints {
  let r = params.res[s];
  let a = params.planes_a[s];
  let b = params.planes_b[s];
  return Footprints(
    footprint(a.x, r.x, q.x, q.y),
    footprint(a.y, r.x, q.x, q.z),
    footprint(a.z, r.y, q.y, q.z),
    footprint(a.w, r.x, q.x, q.t),
    footprint(b.x, r.y, q.y, q.t),
    footprint(b.y, r.z, q.z, q.t),
  );
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_sample(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // One thread per (Gaussian, scale, chunk), chunk fastest: its vec4 of feat is index k.
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  let per_row = params.scales * params.chunks;
  if (k >= params.count * per_row) {
    return;
  }
  let n = k / per_row;
  let s = (k % per_row) / params.chunks;
  let c = k % params.chunks;
  let fp = footprints(cells(n, s), s);
  feat[k] = sample(fp.xy, c) * sample(fp.xz, c) * sample(fp.yz, c) * sample(fp.xt, c) * sample(fp.yt, c) * sample(fp.zt, c);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hexplane_residual(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  let w = params.width;
  if (k >= params.count * w) {
    return;
  }
  let h = hidden[k];
  let at = (k / w) * 3u * w + k % w;
  resid[at] += h;
  resid[at + w] += h;
  resid[at + 2u * w] += h;
}
