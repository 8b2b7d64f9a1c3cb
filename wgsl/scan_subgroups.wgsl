// Subgroup variant of reduce_blocks / scan_blocks; compiled as `enable subgroups;` +
// scan.wgsl + this file, so it shares ScanParams, the bindings, the runs and the
// run helpers. Same runs, same results, still no barrier and no workgroup memory
// (see scan.wgsl for why); only the memory access differs.
//
// In scan.wgsl each thread walks its own run, so at every step a subgroup's lanes
// touch addresses ITEMS_PER_THREAD elements apart. Here, when a subgroup has at
// least ITEMS_PER_THREAD lanes (32 on NVIDIA, 64 on AMD), it walks its lanes' runs
// together instead: row by row, each row sg_size consecutive elements (whole runs),
// which GPUs coalesce; a subgroup scan over the row gives each element its offset
// within its run. Smaller subgroups (4 on SwiftShader) keep the serial walk: a
// subgroup that needs several rows per run pays for more instructions and cross-lane
// work than it saves, and SwiftShader emulates both (the row walk measured about
// twice as slow there as the serial one). Larger subgroups than the workgroup, which
// it cannot fill, also keep the serial walk. Where no subgroup size of the adapter
// is wide enough, the host binds reduce_blocks / scan_blocks of this module instead
// (harness/gpu/scan.ts), since SwiftShader pays even for the untaken row walk.
//
// WGSL does not promise that a subgroup's lanes are consecutive local invocation
// indices, nor a particular subgroup size. So the run of each thread stays the one
// its local index names, and the subgroup learns which runs its lanes own by
// shuffling the lanes' local indices: correct for any subgroup size and any lane
// order; contiguous, so fully coalesced, when lanes are consecutive, as they are in
// practice. (Claiming a slot with a workgroup atomic, as an earlier version did,
// needs a barrier after the zero-initialization: SwiftShader zero-initializes
// workgroup memory as each subgroup starts, so a later subgroup can wipe an
// earlier one's claim.)

// Whether this subgroup size takes the row walk; uniform, like subgroup_size.
fn walks_rows(sg_size: u32) -> bool {
  return sg_size >= ITEMS_PER_THREAD && sg_size <= WORKGROUP_SIZE;
}

struct RowElement {
  index: u32,  // into data; may be past n
  run: u32,    // the run it belongs to
  value: u32,  // data[index], 0 past n
  in_run: u32, // exclusive prefix of the run's values before it
}

// Element `lane` of row `row` of the subgroup's runs. The rows list the runs of
// lanes 0, 1, ... in order, so it is element `e % ITEMS_PER_THREAD` of the run of
// lane `e / ITEMS_PER_THREAD`.
fn row_element(block: u32, row: u32, lane: u32, sg_size: u32, lid: u32) -> RowElement {
  let e = row * sg_size + lane;
  let run = block * WORKGROUP_SIZE + subgroupShuffle(lid, e / ITEMS_PER_THREAD);
  let pos = e % ITEMS_PER_THREAD;
  let index = run * ITEMS_PER_THREAD + pos;
  let value = select(0u, data[index], index < params.n);
  // Rows hold whole runs, so this run starts at lane `lane - pos` of this row.
  let before = subgroupExclusiveAdd(value);
  return RowElement(index, run, value, before - subgroupShuffle(before, lane - pos));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_blocks_subgroups(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let block = block_index(wid);
  if (!walks_rows(sg_size)) {
    reduce_run(block * WORKGROUP_SIZE + lid);
    return;
  }
  if (block >= block_count()) {
    return; // the whole workgroup leaves together: subgroup ops below stay uniform
  }
  for (var row = 0u; row < ITEMS_PER_THREAD; row++) {
    let el = row_element(block, row, lane, sg_size, lid);
    // The run's last element writes its total (runs past the end are skipped).
    if (el.index % ITEMS_PER_THREAD == ITEMS_PER_THREAD - 1u && el.run < run_count()) {
      run_sums[el.run] = el.in_run + el.value;
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks_subgroups(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let block = block_index(wid);
  if (!walks_rows(sg_size)) {
    scan_run(block * WORKGROUP_SIZE + lid);
    return;
  }
  if (block >= block_count()) {
    return;
  }
  for (var row = 0u; row < ITEMS_PER_THREAD; row++) {
    let el = row_element(block, row, lane, sg_size, lid);
    if (el.index < params.n) {
      data[el.index] = run_offset(el.run) + el.in_run;
    }
  }
}
