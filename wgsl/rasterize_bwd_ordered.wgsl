// Deterministic reduction of rasterize_bwd.wgsl (the default): no float atomics, a
// fixed summation order, so the same inputs give bit-identical gradients.
//
// Per batch, each summing unit owns a column of thread_grad: its sum for every
// (slot, component), left zero where it did not reach the splat. A unit is a subgroup
// (rasterize_bwd_ordered_subgroups.wgsl: the lanes' four-pixel sums added by
// subgroupAdd; columns ranked by the subgroup's lowest invocation index, so the
// order does not depend on scheduling) or a thread (rasterize_bwd_ordered_workgroup.wgsl).
// After the batch the columns are added in column order (adding the zeros
// changes nothing), and the tile's sum for each intersection is stored, unsummed
// with other tiles, at its sorted position in `partials`; rasterize_bwd_reduce.wgsl
// then adds each Gaussian's partials in a fixed order. Intersections of the tile
// that no pixel reached get zero rows (end_tile), so every sorted position below
// the intersection count is written.
//
// Workgroup memory: BWD_BATCH_SIZE x GRAD_STRIDE x ORDERED_COLUMNS f32; the host
// picks the batch size that fits the device (harness/splat/rasterize.ts).
// Compiled as rasterize_bwd.wgsl + a unit file + this file + splat_common.wgsl.

override BWD_BATCH_SIZE: u32 = 4u;    // splats per batch
override ORDERED_COLUMNS: u32 = 64u;  // room for summing units: RASTER_THREADS, or RASTER_THREADS / 4 with subgroups (WebGPU's smallest size)

@group(0) @binding(9) var<storage, read_write> partials: array<f32>; // [C, GRAD_STRIDE] f32 tile sum per sorted intersection

// [BWD_BATCH_SIZE * GRAD_STRIDE, ORDERED_COLUMNS] f32: row slot * GRAD_STRIDE + k, one column per summing unit
var<workgroup> thread_grad: array<f32, BWD_BATCH_SIZE * GRAD_STRIDE * ORDERED_COLUMNS>;

var<private> column: u32;  // this invocation's summing unit
var<private> lane: u32;    // rank within the unit
var<private> lanes: u32;   // invocations in the unit

fn put(slot: u32, k: u32, v: f32) {
  thread_grad[(slot * GRAD_STRIDE + k) * ORDERED_COLUMNS + column] = v;
}

// Sums every (slot, component) row over the columns in order and leaves the row
// zero for the next batch (the columns start at zero: workgroup memory is
// zero-initialised); the partial of sorted intersection lo + slot is row
// slot of the batch. One barrier: the body's barrier after the next load keeps
// the next batch's stores behind these reads.
fn end_batch(lo: u32, batch_len: u32, lid: u32) {
  workgroupBarrier();
  for (var r = lid; r < batch_len * GRAD_STRIDE; r += RASTER_THREADS) {
    var total = 0.0;
    for (var t = 0u; t < ORDERED_COLUMNS; t++) { // columns past the units' stay zero
      let at = r * ORDERED_COLUMNS + t;
      total += thread_grad[at];
      thread_grad[at] = 0.0;
    }
    partials[lo * GRAD_STRIDE + r] = total;
  }
}

fn end_tile(first: u32, last: u32, lid: u32) {
  for (var i = first * GRAD_STRIDE + lid; i < last * GRAD_STRIDE; i += RASTER_THREADS) {
    partials[i] = 0.0;
  }
}
