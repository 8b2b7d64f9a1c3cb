// Shared by every Gaussian-splatting kernel: the host (harness/splat/shaders.ts)
// prepends this file to each stage and reads Camera, RenderParams,
// IntersectStatus and the constants below from it, so they are written once.
//
// Conventions:
// - Camera space has OpenCV axes (+x right, +y down, +z forward); the host builds
//   the view matrix from a Blender/OpenGL camera-to-world (harness/splat/camera.ts).
// - Pixel (i, j) has its centre at (i + 0.5, j + 0.5); a splat's mean2d is
//   (fx * x / z + cx, fy * y / z + cy).
// - Bindings 0 and 1 are the same in every stage; a pipeline's 'auto' layout only
//   holds the bindings its entry point uses.

const TILE_SIZE: u32 = 16u;          // tiles are TILE_SIZE x TILE_SIZE pixels
const LOW_PASS: f32 = 0.3;           // px^2 added to the 2-D covariance diagonal (3DGS anti-aliasing)
const FRUSTUM_CLAMP: f32 = 1.3;      // |x/z|, |y/z| clamped at this many tan(fov/2) in the Jacobian (3DGS)
const SIGMA_EXTENT: f32 = 3.0;       // radius = ceil(SIGMA_EXTENT * sqrt(largest eigenvalue))
const ALPHA_MAX: f32 = 0.99;         // alpha = min(ALPHA_MAX, opacity * exp(-sigma))
const ALPHA_MIN: f32 = 0.00392156862745098; // 1/255: weaker contributions are skipped
const TRANSMITTANCE_MIN: f32 = 0.0001;      // compositing stops before transmittance drops below this
const RASTER_THREADS: u32 = 64u;     // threads per tile in rasterize / rasterize_bwd, one per 2x2 block
const WORKGROUP_SIZE_1D: u32 = 256u; // threads per workgroup of the one-thread-per-item kernels

// Per-splat gradient row written by rasterize_bwd and read by project_bwd:
// [N, GRAD_STRIDE] f32 = (d x, d y, d conic a, b, c, d opacity, d r, g, b, d depth).
const GRAD_XY: u32 = 0u;
const GRAD_CONIC: u32 = 2u;
const GRAD_OPACITY: u32 = 5u;
const GRAD_RGB: u32 = 6u;
const GRAD_DEPTH: u32 = 9u;
const GRAD_STRIDE: u32 = 10u;

struct Camera {
  view: mat4x4f,         // world -> camera (OpenCV axes)
  position: vec3f,       // camera centre in world space (for SH view directions)
  near: f32,             // splats with camera depth < near are culled
  focal: vec2f,          // fx, fy in pixels
  principal: vec2f,      // cx, cy in pixels
  tan_half_fov: vec2f,   // tan(fovx / 2), tan(fovy / 2)
  size: vec2u,           // width, height in pixels
}

struct RenderParams {
  count: u32,              // Gaussians rendered: rows [0, count) of every [N,...] buffer
  sh_coeffs: u32,          // K = (degree + 1)^2; a row of `sh` holds 3K floats
  tiles_x: u32,            // ceil(width / TILE_SIZE)
  tiles_y: u32,            // ceil(height / TILE_SIZE)
  depth_bits: u32,         // key = tile << depth_bits | depth key (the top depth_bits of the depth's bits)
  intersect_capacity: u32, // room in the keys / values buffers
  max_workgroups_per_dim: u32, // device limit, to fold indirect grids
  pad: u32,
  background: vec4f,       // rgb composited behind the splats (w unused)
}

// Written by map_intersects; read by the sort, tile_ranges and (occasionally,
// asynchronously) by the host to learn of an overflow.
struct IntersectStatus {
  count: u32,            // intersections written and sorted: min(required, capacity)
  required: u32,         // intersections the frame needs (the scan total)
  overflow: u32,         // 1 if required > capacity: this frame lacks some intersections
  pad: u32,
  ranges_dispatch: vec3u, // indirect grid of tile_ranges, one thread per written intersection
}

@group(0) @binding(0) var<uniform> camera: Camera;
@group(0) @binding(1) var<uniform> params: RenderParams;

fn linear_workgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// The 2x2 pixel block of rasterizer thread `lid` (of RASTER_THREADS = 8 x 8) in `tile`; lanes
// (x0,y0) (x1,y0) (x0,y1) (x1,y1) of the vec4s the raster kernels work on.
fn block_pixels(tile: vec2u, lid: u32) -> array<vec2u, 4> {
  let base = tile * TILE_SIZE + 2u * vec2u(lid % 8u, lid / 8u);
  return array<vec2u, 4>(base, base + vec2u(1u, 0u), base + vec2u(0u, 1u), base + vec2u(1u, 1u));
}

fn pixel_centres_x(pix: array<vec2u, 4>) -> vec4f {
  return vec4f(f32(pix[0].x), f32(pix[1].x), f32(pix[2].x), f32(pix[3].x)) + 0.5;
}

fn pixel_centres_y(pix: array<vec2u, 4>) -> vec4f {
  return vec4f(f32(pix[0].y), f32(pix[1].y), f32(pix[2].y), f32(pix[3].y)) + 0.5;
}

fn pixels_inside(pix: array<vec2u, 4>) -> vec4<bool> {
  return vec4<bool>(all(pix[0] < camera.size), all(pix[1] < camera.size), all(pix[2] < camera.size), all(pix[3] < camera.size));
}

// By bits, because compilers may fold float NaN/Inf tests away.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

// Rotation matrix (columns) of a unit quaternion q = (w, x, y, z).
fn quat_to_rotmat(q: vec4f) -> mat3x3f {
  let w = q.x;
  let x = q.y;
  let y = q.z;
  let z = q.w;
  return mat3x3f(
    vec3f(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
    vec3f(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
    vec3f(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)),
  );
}

// q / |q|; a zero quaternion stays zero, i.e. the identity rotation (project_bwd gives it no gradient).
fn normalize_quat(q: vec4f) -> vec4f {
  let n2 = dot(q, q);
  return select(vec4f(0.0), q * inverseSqrt(n2), n2 > 1e-30);
}

fn view_rotation() -> mat3x3f {
  return mat3x3f(camera.view[0].xyz, camera.view[1].xyz, camera.view[2].xyz);
}

// Tile bbox (x0, y0, x1, y1), x1/y1 exclusive, of the pixel centres within
// `radius` of `xy`, clamped to the grid; empty when x1 <= x0 or y1 <= y0.
fn tile_bbox(xy: vec2f, radius: f32) -> vec4u {
  let tiles = vec2f(f32(params.tiles_x), f32(params.tiles_y));
  let lo = clamp(floor((xy - radius) / f32(TILE_SIZE)), vec2f(0.0), tiles);
  let hi = clamp(floor((xy + radius) / f32(TILE_SIZE)) + 1.0, vec2f(0.0), tiles);
  return vec4u(vec2u(lo), vec2u(hi));
}

fn bbox_tile_count(r: vec4u) -> u32 {
  if (r.z <= r.x || r.w <= r.y) {
    return 0u;
  }
  return (r.z - r.x) * (r.w - r.y);
}

// Sort key of a depth: positive f32 bits order like the values; dropping the
// (always zero) sign bit and keeping the top depth_bits leaves room for the tile.
fn depth_key(depth: f32) -> u32 {
  if (params.depth_bits == 0u) {
    return 0u;
  }
  return (bitcast<u32>(max(depth, 0.0)) << 1u) >> (32u - params.depth_bits);
}

fn tile_of_key(key: u32) -> u32 {
  return select(key >> params.depth_bits, 0u, params.depth_bits >= 32u);
}

// A power below this cannot reach ALPHA_MIN at this opacity (with a margin, so
// that the exact test after it still makes every decision); the raster kernels
// skip splats outside the box of skip_extent below, identically forward and backward.
fn skip_power(opacity: f32) -> f32 {
  return log(ALPHA_MIN / opacity) - 0.01;
}

// Half-widths (x, y) of a box about the mean outside which power < skip_power(opacity)
// (with a margin): d^T conic d <= t reaches |dx| <= sqrt(t (conic^-1)_xx). Negative where
// no pixel can reach ALPHA_MIN; unbounded for a degenerate conic.
fn skip_extent(co: vec4f) -> vec2f {
  let t = -2.0 * skip_power(co.w);
  let det = co.x * co.z - co.y * co.y;
  if (!(det > 0.0)) {
    return vec2f(3.0e38);
  }
  if (!(t > 0.0)) {
    return vec2f(-1.0);
  }
  return sqrt(t * vec2f(co.z, co.x) / det) * 1.01 + 0.01;
}

// Whether the 2x2 block with pixel centres px, py (lanes as in block_pixels) meets the box
// of half-widths ext about xy.
fn block_meets_box(px: vec4f, py: vec4f, xy: vec2f, ext: vec2f) -> bool {
  let lo = vec2f(px.x, py.x);
  let hi = vec2f(px.y, py.z);
  return all(abs(clamp(xy, lo, hi) - xy) <= ext);
}

// Exponent of the 2-D Gaussian at offset d = pixel - mean (<= 0 inside the ellipse).
fn gaussian_power(conic: vec3f, dx: vec4f, dy: vec4f) -> vec4f {
  return -0.5 * (conic.x * dx * dx + conic.z * dy * dy) - conic.y * dx * dy;
}

// --- Spherical harmonics (real basis, constants and sign convention of 3DGS) ---

const SH_C0: f32 = 0.28209479177387814;
const SH_C1: f32 = 0.4886025119029199;
const SH_C2_0: f32 = 1.0925484305920792;
const SH_C2_1: f32 = -1.0925484305920792;
const SH_C2_2: f32 = 0.31539156525252005;
const SH_C2_3: f32 = -1.0925484305920792;
const SH_C2_4: f32 = 0.5462742152960396;
const SH_C3_0: f32 = -0.5900435899266435;
const SH_C3_1: f32 = 2.890611442640554;
const SH_C3_2: f32 = -0.4570457994644658;
const SH_C3_3: f32 = 0.3731763325901154;
const SH_C3_4: f32 = -0.4570457994644658;
const SH_C3_5: f32 = 1.445305721320277;
const SH_C3_6: f32 = -0.5900435899266435;

// Basis functions 0..15 at the unit direction d (entries past K are never read).
fn sh_basis(d: vec3f) -> array<f32, 16> {
  let x = d.x;
  let y = d.y;
  let z = d.z;
  let xx = x * x;
  let yy = y * y;
  let zz = z * z;
  return array<f32, 16>(
    SH_C0,
    -SH_C1 * y, SH_C1 * z, -SH_C1 * x,
    SH_C2_0 * x * y, SH_C2_1 * y * z, SH_C2_2 * (2.0 * zz - xx - yy), SH_C2_3 * x * z, SH_C2_4 * (xx - yy),
    SH_C3_0 * y * (3.0 * xx - yy), SH_C3_1 * x * y * z, SH_C3_2 * y * (4.0 * zz - xx - yy),
    SH_C3_3 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy), SH_C3_4 * x * (4.0 * zz - xx - yy),
    SH_C3_5 * z * (xx - yy), SH_C3_6 * x * (xx - 3.0 * yy),
  );
}

// sum_k w[k] * grad(basis k) at d, for k < K, treating x, y, z as independent.
fn sh_basis_grad_dot(w: array<f32, 16>, k_count: u32, d: vec3f) -> vec3f {
  if (k_count <= 1u) {
    return vec3f(0.0);
  }
  let x = d.x;
  let y = d.y;
  let z = d.z;
  let xx = x * x;
  let yy = y * y;
  let zz = z * z;
  var g = SH_C1 * vec3f(-w[3], -w[1], w[2]);
  if (k_count > 4u) {
    g += SH_C2_0 * w[4] * vec3f(y, x, 0.0);
    g += SH_C2_1 * w[5] * vec3f(0.0, z, y);
    g += SH_C2_2 * w[6] * vec3f(-2.0 * x, -2.0 * y, 4.0 * z);
    g += SH_C2_3 * w[7] * vec3f(z, 0.0, x);
    g += SH_C2_4 * w[8] * vec3f(2.0 * x, -2.0 * y, 0.0);
  }
  if (k_count > 9u) {
    g += SH_C3_0 * w[9] * vec3f(6.0 * x * y, 3.0 * xx - 3.0 * yy, 0.0);
    g += SH_C3_1 * w[10] * vec3f(y * z, x * z, x * y);
    g += SH_C3_2 * w[11] * vec3f(-2.0 * x * y, 4.0 * zz - xx - 3.0 * yy, 8.0 * y * z);
    g += SH_C3_3 * w[12] * vec3f(-6.0 * x * z, -6.0 * y * z, 6.0 * zz - 3.0 * xx - 3.0 * yy);
    g += SH_C3_4 * w[13] * vec3f(4.0 * zz - 3.0 * xx - yy, -2.0 * x * y, 8.0 * x * z);
    g += SH_C3_5 * w[14] * vec3f(2.0 * x * z, -2.0 * y * z, xx - yy);
    g += SH_C3_6 * w[15] * vec3f(3.0 * xx - 3.0 * yy, -6.0 * x * y, 0.0);
  }
  return g;
}

// Unit view direction from the camera to a mean; +z if they coincide (such a splat is culled anyway).
fn view_direction(mean: vec3f) -> vec3f {
  let v = mean - camera.position;
  let n2 = dot(v, v);
  return select(vec3f(0.0, 0.0, 1.0), v * inverseSqrt(n2), n2 > 1e-30);
}

// --- Projection geometry, shared by project and project_bwd so both see the same numbers ---

struct Geometry {
  t: vec3f,           // camera-space mean
  quat: vec4f,        // normalised quaternion (w, x, y, z)
  rot: mat3x3f,       // its rotation matrix R
  scale: vec3f,       // exp(log_scales)
  cov3d: mat3x3f,     // world-space covariance R S S^T R^T
  uv: vec2f,          // (x/z, y/z), clamped to FRUSTUM_CLAMP * tan(fov/2)
  uv_free: vec2f,     // 1 where that clamp was inactive, else 0
  t0: vec3f,          // rows of J W: J = Jacobian of the projection at t, W = view rotation
  t1: vec3f,
  cov2d: vec3f,       // (a, b, c) of J W cov3d W^T J^T + LOW_PASS * I
}

fn geometry(mean: vec3f, log_scale: vec3f, raw_quat: vec4f) -> Geometry {
  var g: Geometry;
  g.t = (camera.view * vec4f(mean, 1.0)).xyz;
  g.quat = normalize_quat(raw_quat);
  g.rot = quat_to_rotmat(g.quat);
  g.scale = exp(log_scale);
  let m = mat3x3f(g.rot[0] * g.scale.x, g.rot[1] * g.scale.y, g.rot[2] * g.scale.z);
  g.cov3d = m * transpose(m);
  let lim = FRUSTUM_CLAMP * camera.tan_half_fov;
  let uv = g.t.xy / g.t.z;
  g.uv = clamp(uv, -lim, lim);
  g.uv_free = select(vec2f(0.0), vec2f(1.0), abs(uv) <= lim);
  let f = camera.focal / g.t.z;
  // J = [[fx/z, 0, -fx u/z], [0, fy/z, -fy v/z]]; row * W is J_row^T W.
  let w = view_rotation();
  g.t0 = vec3f(f.x, 0.0, -f.x * g.uv.x) * w;
  g.t1 = vec3f(0.0, f.y, -f.y * g.uv.y) * w;
  let s0 = g.cov3d * g.t0;
  let s1 = g.cov3d * g.t1;
  g.cov2d = vec3f(dot(g.t0, s0) + LOW_PASS, dot(g.t0, s1), dot(g.t1, s1) + LOW_PASS);
  return g;
}
