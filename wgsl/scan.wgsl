// Exclusive prefix sum of u32 values, in place (sums wrap modulo 2^32).
// One workgroup scans one block of BLOCK_SIZE elements and writes the block's
// total; the host (harness/gpu/scan.ts) scans the block totals the same way,
// level after level, then adds each block's offset back with add_block_offsets.
// This portable path uses workgroup memory only, so it is correct for every
// subgroup size; scan_subgroups.wgsl is the faster path where subgroups exist.

const WORKGROUP_SIZE: u32 = 256u;
const ITEMS_PER_THREAD: u32 = 4u;
const BLOCK_SIZE: u32 = 1024u; // WORKGROUP_SIZE * ITEMS_PER_THREAD

struct ScanParams {
  n: u32,      // elements at this level
  grid_x: u32, // workgroups per row of the (possibly folded 2-D) grid
}

@group(0) @binding(0) var<uniform> params: ScanParams;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;       // [n] scanned in place
@group(0) @binding(2) var<storage, read_write> block_sums: array<u32>; // [ceil(n / BLOCK_SIZE)] block totals, later their scan

var<workgroup> tile: array<u32, BLOCK_SIZE>;
var<workgroup> thread_sums: array<u32, WORKGROUP_SIZE>;

fn block_index(wid: vec3u) -> u32 {
  return wid.x + wid.y * params.grid_x;
}

fn block_count() -> u32 {
  return (params.n + BLOCK_SIZE - 1u) / BLOCK_SIZE;
}

// Coalesced load of one block into `tile`; elements past n read as 0.
fn load_tile(base: u32, lid: u32) {
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = lid + k * WORKGROUP_SIZE;
    tile[i] = select(0u, data[base + i], base + i < params.n);
  }
}

fn store_tile(base: u32, lid: u32) {
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = lid + k * WORKGROUP_SIZE;
    if (base + i < params.n) {
      data[base + i] = tile[i];
    }
  }
}

// Replaces this thread's ITEMS_PER_THREAD consecutive tile entries by their
// exclusive scan plus `offset`; returns their sum.
fn scan_own_items(t: u32, offset: u32) -> u32 {
  var running = offset;
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = t * ITEMS_PER_THREAD + k;
    let v = tile[i];
    tile[i] = running;
    running += v;
  }
  return running - offset;
}

fn sum_own_items(t: u32) -> u32 {
  var s = 0u;
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    s += tile[t * ITEMS_PER_THREAD + k];
  }
  return s;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = block_index(wid);
  if (block >= block_count()) {
    return; // the whole workgroup leaves together: barriers below stay uniform
  }
  let base = block * BLOCK_SIZE;
  load_tile(base, lid);
  workgroupBarrier();

  // Inclusive Hillis-Steele scan of the per-thread sums.
  var own = sum_own_items(lid);
  thread_sums[lid] = own;
  workgroupBarrier();
  for (var offset = 1u; offset < WORKGROUP_SIZE; offset <<= 1u) {
    var add = 0u;
    if (lid >= offset) {
      add = thread_sums[lid - offset];
    }
    workgroupBarrier();
    thread_sums[lid] += add;
    workgroupBarrier();
  }
  let inclusive = thread_sums[lid];
  scan_own_items(lid, inclusive - own);
  if (lid == WORKGROUP_SIZE - 1u) {
    block_sums[block] = inclusive;
  }
  workgroupBarrier();
  store_tile(base, lid);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn add_block_offsets(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = block_index(wid);
  if (block == 0u || block >= block_count()) {
    return; // block 0's offset is 0
  }
  let offset = block_sums[block];
  let base = block * BLOCK_SIZE;
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = base + lid + k * WORKGROUP_SIZE;
    if (i < params.n) {
      data[i] += offset;
    }
  }
}
