// reduce_splat_grad for rasterize_bwd.wgsl with subgroup operations: a
// subgroup adds its lanes' gradients together and merges the sum into the batch
// row once, so the workgroup-memory compare-exchange loops number one per
// subgroup (2 per tile on 32-wide GPUs) instead of one per thread. The lanes share
// that merge's GRAD_STRIDE values (lane l takes l, l + lanes, ...): on SwiftShader
// every loop costs the whole 4-lane subgroup, so this took rasterize_bwd from ~100
// to ~67 ms (5k Gaussians, 128^2). Subgroups where no lane touches the splat skip
// it. Compiled as `enable subgroups;` + rasterize_bwd.wgsl + this file +
// rasterize_bwd_cas.wgsl + splat_common.wgsl.

var<private> lane: u32;          // this invocation's rank among its subgroup's active lanes
var<private> lanes: u32;         // active lanes in its subgroup

// Called once by every thread at the start of rasterize_bwd (all lanes active).
fn init_reduce(lid: u32) {
  lane = subgroupExclusiveAdd(1u);
  lanes = subgroupAdd(1u);
}

// Whether any lane of the subgroup has x.
@diagnostic(off, subgroup_uniformity)
fn group_any(x: bool) -> bool {
  return subgroupAny(x);
}

// Called by every thread of the subgroup for the same slots (uniform control flow);
// the early return is subgroup-uniform, which the analysis cannot see.
@diagnostic(off, subgroup_uniformity)
fn reduce_splat_grad(slot: u32, g: SplatGrad) {
  if (!subgroupAny(!is_zero(g))) {
    return;
  }
  let a = subgroupAdd(g.a);
  let b = subgroupAdd(g.b);
  let c = subgroupAdd(g.c);
  // The lanes share the GRAD_STRIDE merges: lane l adds values l, l + lanes, ...
  let v = array<f32, GRAD_STRIDE>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y);
  for (var k = lane; k < GRAD_STRIDE; k += lanes) {
    add_to_batch(slot * GRAD_STRIDE + k, v[k]);
  }
}
