// Compare-exchange output of rasterize_bwd.wgsl, shared by rasterize_bwd_subgroups.wgsl
// and rasterize_bwd_workgroup.wgsl (which merge the threads' sums into the batch
// rows with add_to_batch): the splats of a batch get an accumulator row in
// workgroup memory (batch_grad), and after the batch each row is added once to
// the global gradient with a compare-exchange loop. Global atomics thus number
// (intersections x GRAD_STRIDE), rarely contended; the summation order, and so
// the last bits, may vary between runs (rasterize_bwd_ordered.wgsl does not).

const BWD_BATCH_SIZE: u32 = 64u; // splats per batch (84 bytes of workgroup memory each); measured best on SwiftShader (32-256 tried)

@group(0) @binding(9) var<storage, read_write> grad_splat: array<atomic<u32>>; // [N, GRAD_STRIDE] f32 bits, accumulated (the host clears it)

var<workgroup> batch_grad: array<atomic<u32>, BWD_BATCH_SIZE * GRAD_STRIDE>; // f32 bits, zero between batches

fn add_to_batch(i: u32, v: f32) {
  if (v == 0.0) {
    return;
  }
  var old = atomicLoad(&batch_grad[i]);
  loop {
    let r = atomicCompareExchangeWeak(&batch_grad[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) {
      break;
    }
    old = r.old_value;
  }
}

fn add_grad_to_batch(slot: u32, g: SplatGrad) {
  let at = slot * GRAD_STRIDE;
  add_to_batch(at, g.a.x);
  add_to_batch(at + 1u, g.a.y);
  add_to_batch(at + 2u, g.a.z);
  add_to_batch(at + 3u, g.a.w);
  add_to_batch(at + 4u, g.b.x);
  add_to_batch(at + 5u, g.b.y);
  add_to_batch(at + 6u, g.b.z);
  add_to_batch(at + 7u, g.b.w);
  add_to_batch(at + 8u, g.c.x);
  add_to_batch(at + 9u, g.c.y);
}

fn add_to_global(i: u32, v: f32) {
  var old = atomicLoad(&grad_splat[i]);
  loop {
    let r = atomicCompareExchangeWeak(&grad_splat[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) {
      break;
    }
    old = r.old_value;
  }
}

// Adds batch slot s to its Gaussian's global row and clears it for the next batch.
fn flush_slot(s: u32) {
  let row = batch_gaussian[s] * GRAD_STRIDE;
  for (var k = 0u; k < GRAD_STRIDE; k++) {
    let bits = atomicExchange(&batch_grad[s * GRAD_STRIDE + k], 0u);
    if (bits != 0u) {
      add_to_global(row + k, bitcast<f32>(bits));
    }
  }
}

// A thread flushes the slots it loads next batch, so no second barrier is needed.
fn end_batch(lo: u32, batch_len: u32, lid: u32) {
  workgroupBarrier();
  for (var s = lid; s < batch_len; s += RASTER_THREADS) {
    flush_slot(s);
  }
}

fn end_tile(first: u32, last: u32, lid: u32) {}
