// reduce_splat_grad for rasterize_bwd.wgsl without subgroup operations: every
// thread that touched the splat merges its (four-pixel) sum into the batch row
// with workgroup-memory compare-exchange loops. Portable; used where the
// `subgroups` feature is missing. Compiled as rasterize_bwd.wgsl + this file +
// rasterize_bwd_cas.wgsl + splat_common.wgsl.

fn init_reduce(lid: u32) {}

fn group_any(x: bool) -> bool {
  return x;
}

fn reduce_splat_grad(slot: u32, g: SplatGrad) {
  if (!is_zero(g)) {
    add_grad_to_batch(slot, g);
  }
}
