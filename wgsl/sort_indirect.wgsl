// Radix sort, stage 0: from the GPU-side pair count to SortState and the
// indirect dispatch size of every count/scatter kernel of the sort. Compiled as
// sort_count.wgsl + this file (it writes SortState, binding 0). One thread.

struct SortIndirectParams {
  capacity: u32,              // pairs the plan's buffers hold; larger counts are clamped to it
  max_workgroups_per_dim: u32, // the device's maxComputeWorkgroupsPerDimension (or a test's smaller value)
}

@group(0) @binding(5) var<uniform> indirect_params: SortIndirectParams; // SortIndirectParams, 1 per plan
@group(0) @binding(6) var<storage, read> count_in: array<u32>;          // [1] u32 pair count (copied from the caller's buffer)
@group(0) @binding(7) var<storage, read_write> dispatch_args: array<u32>; // [3] u32 workgroups x, y, z for dispatchWorkgroupsIndirect

@compute @workgroup_size(1)
fn write_dispatch_args() {
  let count = min(count_in[0], indirect_params.capacity);
  let runs = (count + ITEMS_PER_THREAD - 1u) / ITEMS_PER_THREAD;
  let groups = (runs + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  // Fold like harness/gpu/dispatch.ts splitGrid: the fewest rows that fit, then
  // the shortest row; the host checked at capacity that the rows fit too.
  let limit = indirect_params.max_workgroups_per_dim;
  let y = max(1u, (groups + limit - 1u) / limit);
  let x = (groups + y - 1u) / y;
  state = SortState(count, runs, x);
  dispatch_args[0] = x;
  dispatch_args[1] = y;
  dispatch_args[2] = 1u;
}
