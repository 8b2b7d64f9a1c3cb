// Texture refinement, forward (host: harness/mesh/refine.ts; CPU reference
// refRefineForward in harness/mesh/refine_ref.ts; backward in refine_bwd.wgsl).
// Every frame's mesh is seen from one fixed camera (the reference view); its
// per-pixel texture coordinates come from the mesh raster (wgsl/bake_raster.wgsl,
// vs_view), fixed while the textures train. Per pixel of frame f:
//   colour = bilinear sample of texture_f at uv (texel centres at (i + ½)/T,
//            clamped to the edge), or 0 where the mesh does not cover the pixel
// One thread per pixel; colours of all frames go to one buffer so the backward
// can read a frame's neighbours for the temporal term.

const WORKGROUP_SIZE: u32 = 64u;

struct RefineParams {
  tex_size: u32,          // T
  pixels: u32,            // P = H·W of the reference view
  frame: u32,             // f
  frames: u32,            // F
  data_weight: f32,       // loss = data_weight · masked MSE + temporal_weight · smoothness (refine_bwd.wgsl)
  temporal_weight: f32,
}

@group(0) @binding(0) var<uniform> params: RefineParams;
@group(0) @binding(1) var<storage, read> texture: array<vec4<f32>>;       // [T*T] frame f's texture (rgb, filled), row 0 at v = 0
@group(0) @binding(2) var<storage, read> uv_map: array<vec4<f32>>;        // [P] (u, v, depth, covered 0/1) of frame f's mesh
@group(0) @binding(3) var<storage, read_write> colours: array<vec4<f32>>; // [F,P] (rgb, covered); this call writes row f

fn texel(i: i32, j: i32) -> vec3<f32> {
  let T = i32(params.tex_size);
  return texture[u32(clamp(i, 0, T - 1) + T * clamp(j, 0, T - 1))].rgb;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn refine(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (p >= params.pixels) {
    return;
  }
  let m = uv_map[p];
  var c = vec4<f32>(0.0);
  if (m.w != 0.0) {
    let s = m.xy * f32(params.tex_size) - 0.5;
    let i0 = i32(floor(s.x));
    let j0 = i32(floor(s.y));
    let fx = s.x - f32(i0);
    let fy = s.y - f32(j0);
    let rgb = mix(mix(texel(i0, j0), texel(i0 + 1, j0), fx), mix(texel(i0, j0 + 1), texel(i0 + 1, j0 + 1), fx), fy);
    c = vec4<f32>(rgb, 1.0);
  }
  colours[params.frame * params.pixels + p] = c;
}
