const WORKGROUP_SIZE: u32 = 64u;
const ITEMS_PER_THREAD: u32 = 16u;
const BLOCK_SIZE: u32 = 1024u;
struct ScanParams {
  n: u32,
  grid_x: u32,
}
@group(0) @binding(0) var<uniform> params: ScanParams;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> block_sums: array<u32>;
var<workgroup> tile: array<u32, BLOCK_SIZE>;
fn block_index(wid: vec3u) -> u32 { return wid.x + wid.y * params.grid_x; }
fn block_count() -> u32 { return (params.n + BLOCK_SIZE - 1u) / BLOCK_SIZE; }
@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = block_index(wid);
  if (block >= block_count()) { return; }
  let base = block * BLOCK_SIZE;
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = lid + k * WORKGROUP_SIZE;
    tile[i] = select(0u, data[base + i], base + i < params.n);
  }
  workgroupBarrier();
  workgroupBarrier();
  workgroupBarrier();
  workgroupBarrier();
  workgroupBarrier();

  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = lid + k * WORKGROUP_SIZE;
    if (base + i < params.n) { data[base + i] = tile[i] + 1u; }
  }
}
@compute @workgroup_size(WORKGROUP_SIZE)
fn add_block_offsets(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = block_index(wid);
  if (block == 0u || block >= block_count()) { return; }
  let offset = block_sums[block];
  let base = block * BLOCK_SIZE;
  for (var k = 0u; k < ITEMS_PER_THREAD; k++) {
    let i = base + lid + k * WORKGROUP_SIZE;
    if (i < params.n) { data[i] += offset; }
  }
}
