// Subgroup variant of scan_blocks; compiled as `enable subgroups;` + scan.wgsl + this
// file, so it shares ScanParams, the bindings and the tile helpers.
//
// WGSL does not promise that a subgroup's lanes are consecutive local invocation
// indices, nor a particular subgroup size. So each subgroup claims a slot with one
// atomic and its lanes act as threads slot*size .. slot*size+size-1: the scan is
// then correct for any subgroup size that divides WORKGROUP_SIZE (4 on
// SwiftShader, 32 on NVIDIA, 64 on AMD).

var<workgroup> subgroup_sums: array<u32, WORKGROUP_SIZE>; // [WORKGROUP_SIZE / subgroup_size] used
var<workgroup> next_slot: atomic<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks_subgroups(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let block = block_index(wid);
  if (block >= block_count()) {
    return;
  }
  let base = block * BLOCK_SIZE;
  if (lid == 0u) {
    atomicStore(&next_slot, 0u);
  }
  load_tile(base, lid);
  workgroupBarrier();

  var claimed = 0u;
  if (lane == 0u) {
    claimed = atomicAdd(&next_slot, 1u);
  }
  let slot = subgroupBroadcastFirst(claimed);
  let t = slot * sg_size + lane; // this lane's thread index within the block

  let own = sum_own_items(t);
  let before_in_subgroup = subgroupExclusiveAdd(own);
  let subgroup_total = subgroupAdd(own);
  if (lane == 0u) {
    subgroup_sums[slot] = subgroup_total;
  }
  workgroupBarrier();

  // Inclusive Hillis-Steele scan over the subgroup totals (WORKGROUP_SIZE / sg_size of them).
  let num_subgroups = WORKGROUP_SIZE / sg_size;
  for (var offset = 1u; offset < num_subgroups; offset <<= 1u) {
    var add = 0u;
    if (lid < num_subgroups && lid >= offset) {
      add = subgroup_sums[lid - offset];
    }
    workgroupBarrier();
    if (lid < num_subgroups) {
      subgroup_sums[lid] += add;
    }
    workgroupBarrier();
  }
  var subgroup_before = 0u;
  if (slot > 0u) {
    subgroup_before = subgroup_sums[slot - 1u];
  }
  scan_own_items(t, subgroup_before + before_in_subgroup);
  if (lid == 0u) {
    block_sums[block] = subgroup_sums[num_subgroups - 1u];
  }
  workgroupBarrier();
  store_tile(base, lid);
}
