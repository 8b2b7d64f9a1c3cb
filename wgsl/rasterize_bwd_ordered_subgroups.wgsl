// Summing units of rasterize_bwd_ordered.wgsl with subgroup operations: a subgroup
// adds its lanes' four-pixel sums (subgroupAdd) and its lanes share the
// GRAD_STRIDE stores into the subgroup's column, a quarter of the per-thread
// variant's workgroup memory traffic at SwiftShader's 4 lanes. Columns are ranked
// by each subgroup's lowest local invocation index (a bit mask built with
// atomicOr, whose result does not depend on order), so the summation order
// depends only on how the device forms subgroups, not on scheduling. Compiled as
// `enable subgroups;` + rasterize_bwd.wgsl + this file + rasterize_bwd_ordered.wgsl
// + splat_common.wgsl, with ORDERED_COLUMNS = RASTER_THREADS / 4.

var<workgroup> leaders: array<atomic<u32>, 2>; // bit i: invocation i is its subgroup's lowest (RASTER_THREADS = 64)

// Called once by every thread at the start of rasterize_bwd (all lanes active, uniform control flow).
fn init_reduce(lid: u32) {
  lane = subgroupExclusiveAdd(1u);
  lanes = subgroupAdd(1u);
  let first = subgroupMin(lid);
  if (lid == first) {
    atomicOr(&leaders[first / 32u], 1u << (first % 32u));
  }
  workgroupBarrier();
  let m0 = atomicLoad(&leaders[0]);
  let m1 = atomicLoad(&leaders[1]);
  let below = (1u << (first % 32u)) - 1u;
  column = select(countOneBits(m0) + countOneBits(m1 & below), countOneBits(m0 & below), first < 32u);
}

@diagnostic(off, subgroup_uniformity)
fn group_any(x: bool) -> bool {
  return subgroupAny(x);
}

// Called by every lane of the subgroup for the same slots (subgroup-uniform control flow).
@diagnostic(off, subgroup_uniformity)
fn reduce_splat_grad(slot: u32, g: SplatGrad) {
  if (!subgroupAny(!is_zero(g))) {
    return;
  }
  let a = subgroupAdd(g.a);
  let b = subgroupAdd(g.b);
  let c = subgroupAdd(g.c);
  let v = array<f32, GRAD_STRIDE>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y);
  for (var k = lane; k < GRAD_STRIDE; k += lanes) {
    put(slot, k, v[k]);
  }
}
