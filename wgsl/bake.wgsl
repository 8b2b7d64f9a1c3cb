// Texture bake: back-project Gaussian renders into a UV texture (host:
// harness/mesh/bake.ts; CPU references refBake, refBakeNormalize, refBakeDilate in
// harness/mesh/bake_ref.ts). One thread per texel, gathers only (no atomics):
//   bake            per view: a covered texel's surface point, projected into the
//                   view, is visible when its depth is within depth_tol_px pixel
//                   widths of the mesh's own depth there (wgsl/bake_raster.wgsl) and
//                   its viewing cosine exceeds min_cos; then the render is sampled
//                   bilinearly and added with weight cos (premultiplied rgb, alpha)
//   bake_normalize  colour = Σ cos·rgb / Σ cos·alpha where Σ cos·alpha ≥ MIN_WEIGHT,
//                   alpha 1 (filled), else 0 (empty)
//   bake_dilate     one ring per pass: an empty texel takes the mean of its filled
//                   8-neighbours (DG4D dilates 32 texels to fill seams)
// Texture layout: [T,T,4] f32, texel (i, j) at i + T·j, row j = 0 at v = 0.

const WORKGROUP_SIZE: u32 = 64u;
const MIN_WEIGHT: f32 = 1e-3;        // Σ cos·alpha below this: texel not seen
const MIN_ALPHA: f32 = 0.2;          // render coverage below this: the Gaussians do not show the surface here

struct BakeView {
  view_r0: vec4<f32>,   // world -> camera (OpenGL axes), row 0 (rotation | translation)
  view_r1: vec4<f32>,
  view_r2: vec4<f32>,
  eye: vec3<f32>,       // camera centre, world
  focal: f32,           // pixels
  width: u32,
  height: u32,
  texels: u32,          // T·T
  min_cos: f32,         // DG4D: 0.5
  depth_tol_px: f32,    // visibility tolerance in pixel widths at the texel's depth
}

@group(0) @binding(0) var<uniform> view: BakeView;
@group(0) @binding(1) var<storage, read> texel_pos: array<vec4<f32>>;   // [T*T] (world xyz, covered 0/1)
@group(0) @binding(2) var<storage, read> texel_nrm: array<vec4<f32>>;   // [T*T] (unit normal, covered 0/1)
@group(0) @binding(3) var<storage, read> render: array<vec4<f32>>;      // [H,W] Gaussian render over black: premultiplied rgb, alpha
@group(0) @binding(4) var<storage, read> mesh_view: array<vec4<f32>>;   // [H,W] (u, v, camera depth, covered 0/1) from fs_view
@group(0) @binding(5) var<storage, read_write> accum: array<vec4<f32>>; // [T*T] Σ cos·(rgb premultiplied, alpha)

fn texel_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

fn render_at(x: i32, y: i32) -> vec4<f32> {
  let cx = clamp(x, 0, i32(view.width) - 1);
  let cy = clamp(y, 0, i32(view.height) - 1);
  return render[u32(cx) + view.width * u32(cy)];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn bake(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = texel_index(wid, nwg, lid);
  if (t >= view.texels) {
    return;
  }
  let pc = texel_pos[t];
  if (pc.w == 0.0) {
    return;
  }
  let p = vec4<f32>(pc.xyz, 1.0);
  let c = vec3<f32>(dot(view.view_r0, p), dot(view.view_r1, p), dot(view.view_r2, p));
  let d = -c.z;
  if (d <= 0.0) {
    return;
  }
  let n = texel_nrm[t].xyz;
  let cosv = dot(n, normalize(view.eye - pc.xyz));
  if (cosv <= view.min_cos) {
    return;
  }
  let px = 0.5 * f32(view.width) + view.focal * c.x / d;
  let py = 0.5 * f32(view.height) - view.focal * c.y / d;
  if (px < 0.0 || py < 0.0 || px >= f32(view.width) || py >= f32(view.height)) {
    return;
  }
  let m = mesh_view[u32(px) + view.width * u32(py)];
  if (m.w == 0.0 || d > m.z + view.depth_tol_px * d / view.focal) {
    return;
  }
  // Bilinear, pixel centres at +0.5.
  let sx = px - 0.5;
  let sy = py - 0.5;
  let x0 = i32(floor(sx));
  let y0 = i32(floor(sy));
  let fx = sx - f32(x0);
  let fy = sy - f32(y0);
  let s = mix(mix(render_at(x0, y0), render_at(x0 + 1, y0), fx), mix(render_at(x0, y0 + 1), render_at(x0 + 1, y0 + 1), fx), fy);
  if (s.w < MIN_ALPHA) {
    return;
  }
  accum[t] += cosv * s;
}

struct BakeTexture {
  size: u32,            // T
  texels: u32,          // T·T
}

@group(0) @binding(6) var<uniform> tex: BakeTexture;
@group(0) @binding(7) var<storage, read> accum_in: array<vec4<f32>>;      // [T*T] as `accum`
@group(0) @binding(8) var<storage, read_write> texture: array<vec4<f32>>; // [T*T] (rgb, filled 0/1)

@compute @workgroup_size(WORKGROUP_SIZE)
fn bake_normalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = texel_index(wid, nwg, lid);
  if (t >= tex.texels) {
    return;
  }
  let a = accum_in[t];
  texture[t] = select(vec4<f32>(0.0), vec4<f32>(a.rgb / a.w, 1.0), a.w >= MIN_WEIGHT);
}

@group(0) @binding(9) var<storage, read> src: array<vec4<f32>>;        // [T*T] texture before the pass
@group(0) @binding(10) var<storage, read_write> dst: array<vec4<f32>>; // [T*T] texture after the pass

@compute @workgroup_size(WORKGROUP_SIZE)
fn bake_dilate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = texel_index(wid, nwg, lid);
  if (t >= tex.texels) {
    return;
  }
  let here = src[t];
  if (here.w > 0.0) {
    dst[t] = here;
    return;
  }
  let T = i32(tex.size);
  let i = i32(t % tex.size);
  let j = i32(t / tex.size);
  var sum = vec3<f32>(0.0);
  var k = 0.0;
  for (var dy = -1; dy <= 1; dy++) {
    for (var dx = -1; dx <= 1; dx++) {
      let x = i + dx;
      let y = j + dy;
      if ((dx != 0 || dy != 0) && x >= 0 && y >= 0 && x < T && y < T) {
        let q = src[u32(x + T * y)];
        if (q.w > 0.0) {
          sum += q.rgb;
          k += 1.0;
        }
      }
    }
  }
  dst[t] = select(vec4<f32>(0.0), vec4<f32>(sum / k, 1.0), k > 0.0);
}
