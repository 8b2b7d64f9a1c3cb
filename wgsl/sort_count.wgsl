// Radix sort, stage 1 of a pass: per-run digit histograms of the keys.
//
// This file also holds what every sort kernel shares (constants, structs,
// bindings 0-4, the thread -> run mapping); the host compiles sort_indirect.wgsl
// and sort_scatter.wgsl each as this file + itself, the way scan_subgroups.wgsl
// builds on scan.wgsl.
//
// The sort is a least-significant-digit radix sort, RADIX_BITS (or fewer) bits
// per pass. In each pass every thread owns one run of ITEMS_PER_THREAD
// consecutive pairs, and that run is the unit of the histogram:
//   count_digits (here): hist[digit * threads + run] = how many keys of the run
//     have that digit;
//   the host's ScanPlan: an exclusive scan of hist in place; being digit-major,
//     it turns each entry into the output position of the run's first key with
//     that digit (all smaller digits, then the same digit in earlier runs);
//   scatter (sort_scatter.wgsl): each thread walks its run in order and writes
//     every pair to its digit's next position.
// A thread's keys leave in input order and runs are ordered by their index in
// hist, so every pass is stable, for any subgroup size and any scheduling.
//
// Why runs per thread, not per workgroup: ranking keys across threads needs
// workgroup memory and several workgroupBarrier()s per block, and on SwiftShader
// (CPU Vulkan, our CI) each barrier suspends and resumes every 4-lane subgroup of
// the workgroup (see scan.wgsl); here no kernel has a barrier or workgroup memory.
// The per-thread digit counters live in a private array: SwiftShader indexes it
// faster than workgroup memory or a one-hot update of registers (measured), and
// on GPUs it stays in L1/L2. Eight bits per pass (four passes for 32-bit keys)
// beat four bits on SwiftShader by 1.5x. The cost of runs per thread is a
// histogram of RADIX / ITEMS_PER_THREAD entries per key; the host picks the run
// length per device (harness/gpu/sort.ts). On GPUs the keys of one digit from
// neighbouring threads land next to each other, so a warp's writes stay within a
// few cache lines per digit.
//
// The number of pairs comes from a GPU buffer: sort_indirect.wgsl turns it into
// SortState (and the indirect dispatch size) before the first pass, so nothing
// here depends on the CPU knowing the count.

const RADIX_BITS: u32 = 8u; // most bits per pass (the host may use fewer)
const RADIX: u32 = 256u;    // 1 << RADIX_BITS: histogram rows
// Set by the host per plan (harness/gpu/sort.ts says how it picks them).
override WORKGROUP_SIZE: u32;
override ITEMS_PER_THREAD: u32; // run length: pairs per thread and histogram column; a multiple of 4

// Written by sort_indirect.wgsl from the GPU-side count; read by every pass.
struct SortState {
  count: u32,   // pairs to sort (the GPU count, clamped to the plan's capacity)
  threads: u32, // runs: ceil(count / ITEMS_PER_THREAD), also the stride of a hist row
  grid_x: u32,  // workgroups per row of the (possibly folded 2-D) indirect grid
}

// One per pass, written once when the plan is made.
struct SortPassParams {
  shift: u32, // lowest key bit of this pass's digit
  mask: u32,  // (1 << bits of this pass) - 1; the last pass may take fewer bits
}

// keys_in is bound twice, as vec4s and as u32s: SwiftShader pays per load
// instruction and lane, not per byte (vec4 loads made count_digits 1.8x faster),
// so runs are read four keys at a time and only the last count % 4 keys one by one.
@group(0) @binding(0) var<storage, read_write> state: SortState;  // SortState, 1 per plan
@group(0) @binding(1) var<uniform> pass_params: SortPassParams;   // SortPassParams of this pass
@group(0) @binding(2) var<storage, read> keys_in4: array<vec4u>;  // [floor(capacity / 4), 4] u32 keys, first state.count sorted by the earlier passes
@group(0) @binding(3) var<storage, read> keys_in: array<u32>;     // [capacity] u32 the same keys
@group(0) @binding(4) var<storage, read_write> hist: array<u32>;  // [RADIX, threads] u32 digit counts per run, digit-major (then scanned in place)

fn digit_of(key: u32) -> u32 {
  return (key >> pass_params.shift) & pass_params.mask;
}

// The run of the calling thread, or none past the last run (this also drops the
// overshoot of a folded grid).
fn run_index(wid: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * state.grid_x) * WORKGROUP_SIZE + lid;
}

// A thread's run: keys [4 * quad_start, 4 * quad_end) through keys_in4, then
// [4 * quad_end, end) through keys_in.
struct Run {
  quad_start: u32,
  quad_end: u32,
  end: u32,
}

fn run_of(run: u32) -> Run {
  let start = run * ITEMS_PER_THREAD; // ITEMS_PER_THREAD is a multiple of 4
  let end = min(start + ITEMS_PER_THREAD, state.count);
  return Run(start / 4u, end / 4u, end);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn count_digits(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let runs = state.threads;
  let run = run_index(wid, lid);
  if (run >= runs) {
    return;
  }
  let r = run_of(run);
  var counts: array<u32, RADIX>;
  for (var q = r.quad_start; q < r.quad_end; q++) {
    let k = keys_in4[q];
    counts[digit_of(k.x)] += 1u;
    counts[digit_of(k.y)] += 1u;
    counts[digit_of(k.z)] += 1u;
    counts[digit_of(k.w)] += 1u;
  }
  for (var i = r.quad_end * 4u; i < r.end; i++) {
    counts[digit_of(keys_in[i])] += 1u;
  }
  // Rows above this pass's mask keep stale counts: they follow every row the
  // scatter reads, so the scan's prefix over them changes nothing it uses.
  for (var d = 0u; d <= pass_params.mask; d++) {
    hist[d * runs + run] = counts[d];
  }
}
