// Exclusive prefix sum of u32 values, in place (sums wrap modulo 2^32).
//
// Each level splits its n elements into runs of ITEMS_PER_THREAD consecutive
// elements, one run per thread, WORKGROUP_SIZE runs (one block of BLOCK_SIZE
// elements) per workgroup. The host (harness/gpu/scan.ts) runs two kernels per level:
//   reduce_blocks, bottom-up: run_sums[r] = total of run r. The run totals are the
//     next level's elements, until a level has a single run (the grand total).
//   scan_blocks, top-down: by then the level above has replaced run_sums by its
//     exclusive scan, so each thread scans its run serially from run_sums[r].
//
// Why this shape: no thread needs another thread's result within a dispatch, so
// there is no workgroupBarrier() and no workgroup memory. On SwiftShader (CPU
// Vulkan, our CI) a shader with a barrier runs each 4-lane subgroup as a coroutine
// that every barrier suspends and resumes, and workgroup memory costs in proportion
// to its size times the subgroups per workgroup. Measured there on 2^20 keys: a
// Hillis-Steele block scan (16+ barriers per block) ~2 Mkeys/s, a raking scan with
// one barrier per block ~40 Mkeys/s, this ~115 Mkeys/s, close to memory-bound.
// Each element is read twice and written once (the run sums add 1/16 of that per
// level), against twice and twice for scan-then-add-offsets. On real GPUs a run of
// 16 keeps the serial chain short; a thread's run is one 64-byte span, so lanes read
// 64 bytes apart here; scan_subgroups.wgsl walks the same runs in coalesced rows
// where subgroups are wide enough. This portable path uses no subgroup operations.

const WORKGROUP_SIZE: u32 = 64u;
const ITEMS_PER_THREAD: u32 = 16u; // run length: a power of two (scan_subgroups.wgsl relies on it)
const BLOCK_SIZE: u32 = 1024u; // WORKGROUP_SIZE * ITEMS_PER_THREAD, elements per workgroup

struct ScanParams {
  n: u32,      // elements at this level
  grid_x: u32, // workgroups per row of the (possibly folded 2-D) grid
}

@group(0) @binding(0) var<uniform> params: ScanParams;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;     // [n] scanned in place
@group(0) @binding(2) var<storage, read_write> run_sums: array<u32>; // [ceil(n / ITEMS_PER_THREAD)] run totals, later their exclusive scan

fn block_index(wid: vec3u) -> u32 {
  return wid.x + wid.y * params.grid_x;
}

fn block_count() -> u32 {
  return (params.n + BLOCK_SIZE - 1u) / BLOCK_SIZE;
}

fn run_count() -> u32 {
  return (params.n + ITEMS_PER_THREAD - 1u) / ITEMS_PER_THREAD;
}

// Exclusive prefix of run r's total: the level above has scanned run_sums by the
// time scan_blocks reads it. Run 0 starts at 0 (on the top level, which is a single
// run, run_sums[0] still holds the grand total and must stay so).
fn run_offset(r: u32) -> u32 {
  return select(run_sums[r], 0u, r == 0u);
}

// run_sums[r] = total of run r (skipped past the last run).
fn reduce_run(r: u32) {
  if (r >= run_count()) {
    return;
  }
  let start = r * ITEMS_PER_THREAD;
  let end = min(start + ITEMS_PER_THREAD, params.n);
  var total = 0u;
  for (var i = start; i < end; i++) {
    total += data[i];
  }
  run_sums[r] = total;
}

// Replaces run r by its exclusive scan, starting from run_offset(r).
fn scan_run(r: u32) {
  if (r >= run_count()) {
    return;
  }
  let start = r * ITEMS_PER_THREAD;
  let end = min(start + ITEMS_PER_THREAD, params.n);
  var running = run_offset(r);
  for (var i = start; i < end; i++) {
    let v = data[i];
    data[i] = running;
    running += v;
  }
}

// Thread lid of workgroup wid owns run block_index(wid) * WORKGROUP_SIZE + lid; the
// run index bounds check also drops the overshoot of a folded grid.
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  reduce_run(block_index(wid) * WORKGROUP_SIZE + lid);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  scan_run(block_index(wid) * WORKGROUP_SIZE + lid);
}
