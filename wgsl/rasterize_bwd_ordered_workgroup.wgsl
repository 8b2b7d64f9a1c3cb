// Summing units of rasterize_bwd_ordered.wgsl without subgroup operations: every
// thread is a unit with a column of its own (ORDERED_COLUMNS = RASTER_THREADS) and
// skips the splats its pixels cannot reach on its own. Compiled as
// rasterize_bwd.wgsl + this file + rasterize_bwd_ordered.wgsl + splat_common.wgsl.

fn init_reduce(lid: u32) {
  column = lid;
  lane = 0u;
  lanes = 1u;
}

fn group_any(x: bool) -> bool {
  return x;
}

fn reduce_splat_grad(slot: u32, g: SplatGrad) {
  if (is_zero(g)) {
    return;
  }
  put(slot, 0u, g.a.x);
  put(slot, 1u, g.a.y);
  put(slot, 2u, g.a.z);
  put(slot, 3u, g.a.w);
  put(slot, 4u, g.b.x);
  put(slot, 5u, g.b.y);
  put(slot, 6u, g.b.z);
  put(slot, 7u, g.b.w);
  put(slot, 8u, g.c.x);
  put(slot, 9u, g.c.y);
}
