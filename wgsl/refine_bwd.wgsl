// Texture refinement, loss and backward (host: harness/mesh/refine.ts; CPU
// reference refRefineLoss / refRefineBwd in harness/mesh/refine_ref.ts). Compiled
// after refine.wgsl (its RefineParams, bindings 0 and the workgroup size).
// The loss over F frames of P pixels, c_f the colours (refine.wgsl), t_f the
// Gaussian render of frame f at the same view (straight colour, alpha):
//   data      data_weight / (3P) · Σ_f Σ_px d_f (c_f − t_f)²,
//             d_f = covered_f · [alpha_f > 0.5]                     (masked MSE)
//   temporal  temporal_weight / (3P) · Σ_{g=1}^{F−2} Σ_px s_g ‖r_g‖²,
//             r_g = c_g − ½(c_{g−1} + c_{g+1}), s_g = covered_{g−1,g,g+1}
// The temporal term stands in for DG4D's video-diffusion (SVD) refinement of the
// frame sequence: no video model is used, it only penalises flicker (a second
// difference in time) at pixels all three frames cover.
// dL/dc_f goes back through the bilinear sample to 4 texels, added to the frame's
// texture gradient with compare-exchange float adds (4 per covered pixel; their
// order makes the gradient's last bits vary, as in rasterize_bwd).

@group(0) @binding(4) var<storage, read> all_colours: array<vec4<f32>>;  // [F,P] (rgb, covered) of every frame
@group(0) @binding(5) var<storage, read> targets: array<vec4<f32>>;      // [P] frame f's Gaussian render over black (premultiplied rgb, alpha)
@group(0) @binding(6) var<storage, read> bwd_uv_map: array<vec4<f32>>;   // [P] as uv_map
@group(0) @binding(7) var<storage, read_write> grad: array<atomic<u32>>; // [T*T,4] f32 bits d loss / d texture_f, accumulated
@group(0) @binding(8) var<storage, read_write> loss: array<f32>;         // [P] frame f's share of the loss per pixel (data + temporal at g = f)

fn colour_at(g: u32, p: u32) -> vec4<f32> {
  return all_colours[g * params.pixels + p];
}

// r_g and s_g at pixel p (0 outside 1..F−2).
fn residual(g: i32, p: u32) -> vec4<f32> {
  if (g < 1 || g > i32(params.frames) - 2) {
    return vec4<f32>(0.0);
  }
  let a = colour_at(u32(g - 1), p);
  let b = colour_at(u32(g), p);
  let c = colour_at(u32(g + 1), p);
  let s = a.w * b.w * c.w;
  return vec4<f32>(b.rgb - 0.5 * (a.rgb + c.rgb), s);
}

fn add_grad(i: u32, v: f32) {
  if (v == 0.0) {
    return;
  }
  var old = atomicLoad(&grad[i]);
  loop {
    let r = atomicCompareExchangeWeak(&grad[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) {
      break;
    }
    old = r.old_value;
  }
}

fn add_texel(i: i32, j: i32, w: f32, g: vec3<f32>) {
  let T = i32(params.tex_size);
  let k = u32(clamp(i, 0, T - 1) + T * clamp(j, 0, T - 1));
  add_grad(4u * k, w * g.x);
  add_grad(4u * k + 1u, w * g.y);
  add_grad(4u * k + 2u, w * g.z);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn refine_bwd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (p >= params.pixels) {
    return;
  }
  let f = i32(params.frame);
  let c = colour_at(params.frame, p);
  let norm = 1.0 / (3.0 * f32(params.pixels));
  var dc = vec3<f32>(0.0);
  var l = 0.0;
  let t = targets[p];
  if (c.w != 0.0 && t.w > 0.5) {
    let e = c.rgb - t.rgb / t.w;
    dc += 2.0 * params.data_weight * norm * e;
    l += params.data_weight * norm * dot(e, e);
  }
  let r0 = residual(f, p);
  let rm = residual(f - 1, p);
  let rp = residual(f + 1, p);
  let tw = params.temporal_weight * norm;
  dc += 2.0 * tw * (r0.w * r0.xyz - 0.5 * rm.w * rm.xyz - 0.5 * rp.w * rp.xyz);
  l += tw * r0.w * dot(r0.xyz, r0.xyz);
  loss[p] = l;
  if (c.w == 0.0) {
    return;
  }
  let m = bwd_uv_map[p];
  let s = m.xy * f32(params.tex_size) - 0.5;
  let i0 = i32(floor(s.x));
  let j0 = i32(floor(s.y));
  let fx = s.x - f32(i0);
  let fy = s.y - f32(j0);
  add_texel(i0, j0, (1.0 - fx) * (1.0 - fy), dc);
  add_texel(i0 + 1, j0, fx * (1.0 - fy), dc);
  add_texel(i0, j0 + 1, (1.0 - fx) * fy, dc);
  add_texel(i0 + 1, j0 + 1, fx * fy, dc);
}
