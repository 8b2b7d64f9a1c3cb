// Ground-truth mesh renderer (harness/gt/mesh_renderer.ts; CPU reference
// refMeshRender in harness/gt/mesh_ref.ts). A plain WebGPU render pipeline:
// indexed triangles, depth test (less, depth32float), no culling, MSAA.
// Lighting: rgb = saturate(albedo.rgb * (ambient + diffuse * max(0, n . l))),
// n the interpolated vertex normal renormalised per pixel, l the unit direction
// towards the light (world space); albedo from a sampled rgba8unorm texture
// (values taken as linear, its alpha ignored), uv (0,0) the bottom-left of the
// image (OBJ convention), repeat addressing. Covered samples get alpha 1; the
// cleared background is (0,0,0,0). Attributes are interpolated at the pixel
// centre (WebGPU's default), so an MSAA pixel is shaded once per triangle.

struct GtUniforms {
  view_proj: mat4x4<f32>,   // world -> clip (WebGPU clip space, z in [0,1]), column-major
  light_dir: vec3<f32>,     // unit vector towards the light, world space
  ambient: f32,
  diffuse: f32,
}

@group(0) @binding(0) var<uniform> u: GtUniforms;
@group(0) @binding(1) var albedo_tex: texture_2d<f32>;   // [H,W] rgba8unorm albedo, row 0 = top of the image
@group(0) @binding(2) var albedo_sampler: sampler;        // nearest or linear, repeat

struct VertexIn {
  @location(0) position: vec3<f32>,  // [V,3] f32 world-space position
  @location(1) normal: vec3<f32>,    // [V,3] f32 world-space normal (need not be unit)
  @location(2) uv: vec2<f32>,        // [V,2] f32 texture coordinate, v up
}

struct VertexOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) normal: vec3<f32>,
  @location(1) uv: vec2<f32>,
}

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
  var out: VertexOut;
  out.clip = u.view_proj * vec4<f32>(v.position, 1.0);
  out.normal = v.normal;
  out.uv = v.uv;
  return out;
}

@fragment
fn fs_main(f: VertexOut) -> @location(0) vec4<f32> {
  // Texture rows run top-down, v runs bottom-up.
  let albedo = textureSample(albedo_tex, albedo_sampler, vec2<f32>(f.uv.x, 1.0 - f.uv.y)).rgb;
  let len = length(f.normal);
  var lambert = 0.0;
  if (len > 0.0) {
    lambert = max(0.0, dot(f.normal / len, u.light_dir));
  }
  let rgb = clamp(albedo * (u.ambient + u.diffuse * lambert), vec3<f32>(0.0), vec3<f32>(1.0));
  return vec4<f32>(rgb, 1.0);
}
