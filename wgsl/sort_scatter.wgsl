// Radix sort, stage 3 of a pass: the stable scatter. Compiled as sort_count.wgsl +
// this file, so it shares SortState, the runs and bindings 0-4 (with hist now
// holding its exclusive scan: the first output position of each run's digits).
//
// Each thread walks its run in input order and sends every pair to the next free
// position of its digit. Keys with equal digits in one run keep their order, and
// earlier runs' positions come first in hist's scan, so the pass is stable.

@group(0) @binding(5) var<storage, read> values_in4: array<vec4u>;     // [floor(capacity / 4), 4] u32 values, paired with keys_in4
@group(0) @binding(6) var<storage, read> values_in: array<u32>;        // [capacity] u32 the same values
@group(0) @binding(7) var<storage, read_write> keys_out: array<u32>;   // [capacity] u32 keys; [0, count) written
@group(0) @binding(8) var<storage, read_write> values_out: array<u32>; // [capacity] u32 values; [0, count) written

fn place(key: u32, value: u32, next: ptr<function, array<u32, RADIX>>) {
  let d = digit_of(key);
  let at = (*next)[d];
  (*next)[d] = at + 1u;
  keys_out[at] = key;
  values_out[at] = value;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scatter(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let runs = state.threads;
  let run = run_index(wid, lid);
  if (run >= runs) {
    return;
  }
  let r = run_of(run);
  var next: array<u32, RADIX>;
  for (var d = 0u; d <= pass_params.mask; d++) {
    next[d] = hist[d * runs + run];
  }
  for (var q = r.quad_start; q < r.quad_end; q++) {
    let k = keys_in4[q];
    let v = values_in4[q];
    place(k.x, v.x, &next);
    place(k.y, v.y, &next);
    place(k.z, v.z, &next);
    place(k.w, v.w, &next);
  }
  for (var i = r.quad_end * 4u; i < r.end; i++) {
    place(keys_in[i], values_in[i], &next);
  }
}

// After an odd number of passes the result lies in the scratch buffers; this
// copies [0, count) back to the caller's (a buffer copy would need the count on
// the CPU, and must not touch the pairs past count).
@compute @workgroup_size(WORKGROUP_SIZE)
fn copy_back(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let run = run_index(wid, lid);
  if (run >= state.threads) {
    return;
  }
  let r = run_of(run);
  for (var q = r.quad_start; q < r.quad_end; q++) {
    let k = keys_in4[q];
    let v = values_in4[q];
    for (var j = 0u; j < 4u; j++) {
      keys_out[4u * q + j] = k[j];
      values_out[4u * q + j] = v[j];
    }
  }
  for (var i = r.quad_end * 4u; i < r.end; i++) {
    keys_out[i] = keys_in[i];
    values_out[i] = values_in[i];
  }
}
