// Sum of a per-pixel vec4 term image into one entry of a per-view sums buffer:
// the reduction every image metric (psnr, ssim, temporal_consistency) ends with.
// Host: harness/metrics/gpu_metrics.ts. Fixed summation order, no atomics: the
// same images give the same bits.
//
//   metrics_reduce_blocks  one workgroup per block of BLOCK pixels: each thread sums a
//                          strided run of RUN_LENGTH pixels, then thread 0 sums the
//                          64 run sums in order -> partials[block]
//   metrics_reduce_final   one workgroup: the block sums -> sums[slot]
// Every partial is a sum of at most RUN_LENGTH f32 terms, so the totals keep
// ~1e-6 relative accuracy at megapixel sizes.

const WORKGROUP_SIZE: u32 = 64u;
const RUN_LENGTH: u32 = 64u; // pixels per thread, strided by WORKGROUP_SIZE so loads coalesce
const BLOCK: u32 = 4096u; // WORKGROUP_SIZE * RUN_LENGTH

struct MetricParams {
  width: u32,
  height: u32,
  has_mask: u32,
  slot: u32,
}

@group(0) @binding(0) var<uniform> params: MetricParams;
@group(0) @binding(1) var<storage, read> terms: array<vec4f>; // [H,W] vec4f per-pixel terms of one metric
@group(0) @binding(2) var<storage, read_write> partials: array<vec4f>; // [ceil(H·W / BLOCK)] vec4f block sums
@group(0) @binding(3) var<storage, read_write> sums: array<vec4f>; // [slots] vec4f per-view totals of the terms

var<workgroup> wg_sums: array<vec4f, WORKGROUP_SIZE>;

fn block_count() -> u32 {
  return (params.width * params.height + BLOCK - 1u) / BLOCK;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn metrics_reduce_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  // Uniform per workgroup (workgroup_id), so the barrier below stays uniform.
  if (block >= block_count()) {
    return;
  }
  let n = params.width * params.height;
  var s = vec4f(0.0);
  for (var k = 0u; k < RUN_LENGTH; k++) {
    let i = block * BLOCK + lid + k * WORKGROUP_SIZE;
    if (i >= n) {
      break;
    }
    s += terms[i];
  }
  wg_sums[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    var t = vec4f(0.0);
    for (var k = 0u; k < WORKGROUP_SIZE; k++) {
      t += wg_sums[k];
    }
    partials[block] = t;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn metrics_reduce_final(@builtin(local_invocation_index) lid: u32) {
  var s = vec4f(0.0);
  for (var b = lid; b < block_count(); b += WORKGROUP_SIZE) {
    s += partials[b];
  }
  wg_sums[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    var t = vec4f(0.0);
    for (var k = 0u; k < WORKGROUP_SIZE; k++) {
      t += wg_sums[k];
    }
    sums[params.slot] = t;
  }
}
