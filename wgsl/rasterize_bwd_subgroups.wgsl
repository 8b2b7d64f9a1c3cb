// reduce_splat_grad for rasterize_bwd.wgsl with subgroup operations: a
// subgroup adds its lanes' gradients together and one lane merges the sum into
// the batch row, so the workgroup-memory compare-exchange loops number one per
// subgroup (2 per tile on 32-wide GPUs) instead of one per thread. Subgroups where
// no lane touches the splat skip it. Compiled as `enable subgroups;` +
// rasterize_bwd.wgsl + this file + splat_common.wgsl.

// Called by every thread of the workgroup for every slot (uniform control flow);
// the early return is subgroup-uniform, which the analysis cannot see.
@diagnostic(off, subgroup_uniformity)
fn reduce_splat_grad(slot: u32, g: SplatGrad) {
  if (!subgroupAny(!is_zero(g))) {
    return;
  }
  var sum: SplatGrad;
  sum.a = subgroupAdd(g.a);
  sum.b = subgroupAdd(g.b);
  sum.c = subgroupAdd(g.c);
  if (subgroupElect()) {
    add_grad_to_batch(slot, sum);
  }
}
