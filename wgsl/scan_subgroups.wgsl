@compute @workgroup_size(WORKGROUP_SIZE)
fn scan_blocks_subgroups(@builtin(workgroup_id) wid: vec3u) {
}
