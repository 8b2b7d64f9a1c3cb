// Mesh rasterisation for the texture bake and refinement (render pipelines, not
// compute; host: harness/mesh/bake.ts, harness/mesh/refine.ts). Two passes:
//   vs_texel / fs_texel   the mesh drawn in UV space: each texel covered by a
//                         triangle gets its surface point and normal (two
//                         rgba32float targets; alpha 1 = covered, cleared to 0)
//   vs_view / fs_view     the mesh drawn from a camera with a depth test: per pixel
//                         (u, v, camera depth, 1), cleared to 0 (uv for the refine
//                         pass, depth for the bake's visibility test)
// Texture convention: texel (i, j) covers u ∈ [i, i+1)/T, v ∈ [j, j+1)/T, row j = 0
// at v = 0 (bottom; PNG export flips it). UV space is drawn so that framebuffer row
// j is texel row j: clip y = 1 − 2v (framebuffer y runs down).

struct ViewUniforms {
  view_proj: mat4x4<f32>,   // world -> clip (WebGPU clip space, z in [0,1]), column-major
}

@group(0) @binding(0) var<uniform> u: ViewUniforms;

struct TexelIn {
  @location(0) position: vec3<f32>,  // [V,3] f32 world position
  @location(1) normal: vec3<f32>,    // [V,3] f32 vertex normal (need not be unit)
  @location(2) uv: vec2<f32>,        // [V,2] f32 texture coordinate in [0,1]², v up
}

struct TexelOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) position: vec3<f32>,
  @location(1) normal: vec3<f32>,
}

@vertex
fn vs_texel(v: TexelIn) -> TexelOut {
  var out: TexelOut;
  out.clip = vec4<f32>(2.0 * v.uv.x - 1.0, 1.0 - 2.0 * v.uv.y, 0.5, 1.0);
  out.position = v.position;
  out.normal = v.normal;
  return out;
}

struct TexelTargets {
  @location(0) position: vec4<f32>,  // (world xyz, 1)
  @location(1) normal: vec4<f32>,    // (unit normal, 1)
}

@fragment
fn fs_texel(f: TexelOut) -> TexelTargets {
  var out: TexelTargets;
  let len = length(f.normal);
  out.position = vec4<f32>(f.position, 1.0);
  out.normal = vec4<f32>(select(vec3<f32>(0.0), f.normal / len, len > 0.0), 1.0);
  return out;
}

struct ViewOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) uv: vec2<f32>,
  @location(1) depth: f32,           // camera depth (clip w), interpolated perspective-correctly
}

@vertex
fn vs_view(v: TexelIn) -> ViewOut {
  var out: ViewOut;
  out.clip = u.view_proj * vec4<f32>(v.position, 1.0);
  out.uv = v.uv;
  out.depth = out.clip.w;
  return out;
}

@fragment
fn fs_view(f: ViewOut) -> @location(0) vec4<f32> {
  return vec4<f32>(f.uv, f.depth, 1.0);
}
