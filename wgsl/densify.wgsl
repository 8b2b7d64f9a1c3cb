// 3DGS's densify_and_prune and reset_opacity on the GPU (host: harness/splat/densify.ts,
// CPU reference: refDensify in harness/splat/densify_ref.ts).
//
// A row whose mean screen-space gradient reaches the threshold is CLONED if it is
// small (original kept + an identical copy) or SPLIT if it is large (replaced by two
// children sampled inside it, each 1.6x smaller). Then, as 3DGS prunes after it has
// densified, every resulting row (originals, copies and children alike) is dropped if
// its opacity is below min_opacity or, optionally, its largest world scale is too big.
// Every row's fate depends on that row alone, so the whole step is a compaction:
//
//   densify_plan      one thread per row < capacity: what the row asks for, and
//                     base[i]  = rows it yields if left undensified (0/1),
//                     extra[i] = rows densifying it adds on top (0..2)
//   scan (x2)         exclusive scans of base and extra (harness/gpu/scan.ts); the
//                     host copies each grand total into DensifyStatus
//   densify_cut       one thread: how many extra rows fit in capacity. Rows are
//                     densified in row order while their extras fit; later ones are
//                     left as they are (pruning still applies), deterministically
//   densify_finalize  one thread per row < count: its final kind and first destination row
//   densify_scatter*  per parameter group and Adam moment buffer: source rows (a
//                     copy of the buffer) -> their destination rows in the buffer
//
// Because extras are accepted in row order, rows before the cut keep their extra
// prefix and rows after it see exactly the accepted total A, so a row's destination
// is base_scan[i] + min(extra_scan[i], A) without a third scan.
//
// Decisions compare in the log domain against thresholds the host computes in
// float64 (densifyThresholds in densify_ref.ts): no transcendental function of the
// GPU (whose precision WGSL leaves loose) takes part, so the GPU and the reference
// pick the same rows bit for bit. Only the split children's means go through
// exp/log/cos and differ from the reference: WGSL bounds cos and sin only to 2^-11
// absolute (SwiftShader's are off by ~2e-4), which is plenty for a random sample.

const WORKGROUP_SIZE: u32 = 256u;
const SPLIT_CHILDREN: u32 = 2u; // children per split row (3DGS's N = 2)

// Request and survival bits densify_plan stores per row (row_plan before finalize).
const REQUEST_NONE: u32 = 0u;
const REQUEST_CLONE: u32 = 1u;
const REQUEST_SPLIT: u32 = 2u;
const REQUEST_MASK: u32 = 3u;
const ORIGINAL_SURVIVES: u32 = 4u; // the row as it is passes the prune test
const CHILD_SURVIVES: u32 = 8u;    // its split children pass the prune test

// Final kind of a row (row_plan after finalize): how many destination rows it fills, and with what.
const ROW_DROP: u32 = 0u;  // none
const ROW_KEEP: u32 = 1u;  // 1: the row, moments carried
const ROW_CLONE: u32 = 2u; // 2: the row (moments carried), then its copy (zero moments)
const ROW_SPLIT: u32 = 3u; // 2: the children (zero moments)

// What densify_scatter does with a split row and with new rows, per buffer.
const SCATTER_COPY: u32 = 0u;      // parameters copied to every output row (quats, opacity, SH)
const SCATTER_MOMENT: u32 = 1u;    // Adam moments: carried by the original, zero in new rows
const SCATTER_LOG_SCALE: u32 = 2u; // log-scales: split children get log(scale / 1.6)

struct DensifyParams {
  count: u32,            // rows before densification
  capacity: u32,         // rows the buffers hold: the result never exceeds it
  seed: u32,             // of the split children's samples
  grad_count_is_f32: u32, // 1: grad_count holds f32 view counts, 0: u32
  grad_threshold: f32,   // densify where accum / max(count, 1) >= this (3DGS densify_grad_threshold)
  clone_max_log_scale: f32, // ln(percent_dense · extent): clone at or below, split above
  prune_logit: f32,      // logit(min_opacity): prune below (-FLT_MAX: off)
  prune_max_log_scale: f32, // ln(max_scale_fraction · extent): prune above (FLT_MAX: off)
  split_log_shrink: f32, // ln(0.8 · SPLIT_CHILDREN): subtracted from a split child's log-scales
}

// Host-visible outcome; the host reads it back once per densification.
struct DensifyStatus {
  base_total: u32,     // sum of base[] (copied in from the scan total)
  extra_total: u32,    // sum of extra[]: extra rows asked for (copied in from the scan total)
  accepted_extra: u32, // extra rows that fit in capacity (densify_cut)
  new_count: u32,      // base_total + accepted_extra
  cloned: atomic<u32>, // rows cloned
  split: atomic<u32>,  // rows split
  skipped: atomic<u32>, // rows that asked to densify but did not fit in capacity
}

struct ScatterParams {
  width: u32, // floats per row of the buffer
  mode: u32,  // SCATTER_*
}

struct OpacityResetParams {
  count: u32,
  max_logit: f32, // logit(0.01): opacities above 0.01 come down to it
}

@group(0) @binding(0) var<uniform> params: DensifyParams;
@group(0) @binding(1) var<storage, read_write> status: DensifyStatus;
@group(0) @binding(2) var<storage, read_write> row_plan: array<u32>; // [capacity] u32 REQUEST_* | *_SURVIVES bits, then (finalize) ROW_*
@group(0) @binding(3) var<storage, read_write> base: array<u32>;     // [capacity] u32 0/1, scanned in place, then (finalize) first destination row
@group(0) @binding(4) var<storage, read_write> extra: array<u32>;    // [capacity] u32 0..2, scanned in place
@group(0) @binding(5) var<storage, read> grad_accum: array<f32>;     // [N] f32 sum over views of |d loss / d mean2d| (NDC)
@group(0) @binding(6) var<storage, read> grad_count: array<u32>;     // [N] f32 or u32 (see grad_count_is_f32) views the row was visible in
@group(0) @binding(7) var<storage, read> log_scales: array<f32>;     // [N,3] f32 log of the per-axis standard deviation
@group(0) @binding(8) var<storage, read> opacity_logits: array<f32>; // [N] f32 opacity = sigmoid(logit)
@group(0) @binding(9) var<uniform> scatter: ScatterParams;
@group(0) @binding(10) var<storage, read> src: array<f32>;           // [count, width] f32 copy of the buffer before densification
@group(0) @binding(11) var<storage, read_write> dst: array<f32>;     // [capacity, width] f32 the buffer itself, rows [0, new_count) written
@group(0) @binding(12) var<storage, read> quats: array<f32>;         // [N,4] f32 rotation quaternion (w,x,y,z), not normalised
@group(0) @binding(13) var<uniform> reset_params: OpacityResetParams;
@group(0) @binding(14) var<storage, read_write> opacity_rw: array<f32>; // [N] f32 opacity logits, reset in place

fn row_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

fn max_log_scale(i: u32) -> f32 {
  return max(log_scales[3u * i], max(log_scales[3u * i + 1u], log_scales[3u * i + 2u]));
}

fn views_visible(i: u32) -> f32 {
  let raw = grad_count[i];
  return select(f32(raw), bitcast<f32>(raw), params.grad_count_is_f32 != 0u);
}

// Rows yielded without / in addition to densification, from the plan bits. A split
// child is smaller than its parent and as opaque, so it survives whenever the parent
// does (densify_plan makes sure of it) and extra never underflows.
fn base_rows(plan: u32) -> u32 {
  return select(0u, 1u, (plan & ORIGINAL_SURVIVES) != 0u);
}

fn extra_rows(plan: u32) -> u32 {
  let request = plan & REQUEST_MASK;
  if (request == REQUEST_CLONE) {
    return base_rows(plan);
  }
  if (request == REQUEST_SPLIT) {
    return select(0u, SPLIT_CHILDREN, (plan & CHILD_SURVIVES) != 0u) - base_rows(plan);
  }
  return 0u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn densify_plan(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = row_index(wid, nwg, lid);
  if (i >= params.capacity) {
    return;
  }
  var plan = REQUEST_NONE;
  if (i < params.count) {
    let largest = max_log_scale(i);
    // accum / max(n, 1) >= t as accum >= t · max(n, 1): WGSL division is not correctly
    // rounded, a product is, so the reference decides the same way.
    if (grad_accum[i] >= params.grad_threshold * max(views_visible(i), 1.0)) {
      plan = select(REQUEST_SPLIT, REQUEST_CLONE, largest <= params.clone_max_log_scale);
    }
    let opaque = !(opacity_logits[i] < params.prune_logit);
    let child_largest = largest - params.split_log_shrink;
    if (opaque && !(largest > params.prune_max_log_scale)) {
      plan |= ORIGINAL_SURVIVES | CHILD_SURVIVES;
    } else if (opaque && !(child_largest > params.prune_max_log_scale)) {
      plan |= CHILD_SURVIVES;
    }
  }
  row_plan[i] = plan;
  base[i] = base_rows(plan);
  extra[i] = extra_rows(plan);
}

// extra[] now holds its exclusive scan: nondecreasing, extra[0] = 0, and the total
// at index capacity. The accepted extra rows are the largest prefix total that fits.
@compute @workgroup_size(1)
fn densify_cut() {
  let budget = params.capacity - status.base_total;
  var accepted = status.extra_total;
  if (accepted > budget) {
    // Invariant: prefix(lo) <= budget < prefix(hi).
    var lo = 0u;
    var hi = params.capacity;
    while (hi - lo > 1u) {
      let mid = lo + (hi - lo) / 2u;
      if (extra[mid] <= budget) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    accepted = extra[lo];
  }
  status.accepted_extra = accepted;
  status.new_count = status.base_total + accepted;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn densify_finalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = row_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  let plan = row_plan[i];
  let request = plan & REQUEST_MASK;
  let want = extra_rows(plan);
  let before = extra[i];
  let accepted_total = status.accepted_extra;
  // Rows whose extras would reach past the cut stay undensified.
  let fits = want == 0u || before + want <= accepted_total;
  var kind = select(ROW_DROP, ROW_KEEP, (plan & ORIGINAL_SURVIVES) != 0u);
  if (request != REQUEST_NONE) {
    if (!fits) {
      atomicAdd(&status.skipped, 1u);
    } else if (request == REQUEST_CLONE) {
      atomicAdd(&status.cloned, 1u);
      kind = select(ROW_DROP, ROW_CLONE, (plan & ORIGINAL_SURVIVES) != 0u);
    } else {
      atomicAdd(&status.split, 1u);
      kind = select(ROW_DROP, ROW_SPLIT, (plan & CHILD_SURVIVES) != 0u);
    }
  }
  row_plan[i] = kind;
  base[i] = base[i] + min(before, accepted_total);
}

// Uniform in (0, 1], exactly representable in f32 (24 bits), never 0 (for the log).
fn unit_interval(h: u32) -> f32 {
  return f32((h >> 8u) + 1u) * (1.0 / 16777216.0);
}

// PCG output permutation (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg_hash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Counter-based: the draw depends on (seed, row, counter) only, not on thread order.
fn random_u32(row: u32, counter: u32) -> u32 {
  return pcg_hash(pcg_hash(pcg_hash(params.seed) ^ row) ^ counter);
}

// The 2 · 3 standard normals of source row i's children (Box-Muller: pair p gives
// normals 2p and 2p + 1; child c, axis k takes normal 3c + k).
fn split_normals(i: u32) -> array<f32, 6> {
  var z: array<f32, 6>;
  for (var p = 0u; p < 3u; p++) {
    let r = sqrt(-2.0 * log(unit_interval(random_u32(i, 2u * p))));
    // Angle in (-pi, pi], where WGSL bounds the error of cos and sin.
    let theta = 3.14159265358979 * (2.0 * unit_interval(random_u32(i, 2u * p + 1u)) - 1.0);
    z[2u * p] = r * cos(theta);
    z[2u * p + 1u] = r * sin(theta);
  }
  return z;
}

// Columns of the rotation of the normalised quaternion (w,x,y,z), as 3DGS's build_rotation.
fn rotation(i: u32) -> mat3x3f {
  var q = vec4f(quats[4u * i], quats[4u * i + 1u], quats[4u * i + 2u], quats[4u * i + 3u]);
  let len2 = dot(q, q);
  q = select(vec4f(1.0, 0.0, 0.0, 0.0), q * inverseSqrt(len2), len2 > 0.0);
  let w = q.x;
  let x = q.y;
  let y = q.z;
  let z = q.w;
  return mat3x3f(
    vec3f(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
    vec3f(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
    vec3f(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)),
  );
}

fn copy_row(row: u32, to: u32) {
  for (var k = 0u; k < scatter.width; k++) {
    dst[to * scatter.width + k] = src[row * scatter.width + k];
  }
}

fn zero_row(to: u32) {
  for (var k = 0u; k < scatter.width; k++) {
    dst[to * scatter.width + k] = 0.0;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn densify_scatter(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = row_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  let kind = row_plan[i];
  let to = base[i];
  if (kind == ROW_KEEP) {
    copy_row(i, to);
  } else if (kind == ROW_CLONE) {
    copy_row(i, to);
    if (scatter.mode == SCATTER_MOMENT) {
      zero_row(to + 1u);
    } else {
      copy_row(i, to + 1u);
    }
  } else if (kind == ROW_SPLIT) {
    for (var c = 0u; c < SPLIT_CHILDREN; c++) {
      if (scatter.mode == SCATTER_MOMENT) {
        zero_row(to + c);
      } else if (scatter.mode == SCATTER_LOG_SCALE) {
        for (var k = 0u; k < scatter.width; k++) {
          dst[(to + c) * scatter.width + k] = src[i * scatter.width + k] - params.split_log_shrink;
        }
      } else {
        copy_row(i, to + c);
      }
    }
  }
}

// The means buffer (width 3): split children at mean + R (z ⊙ scale), z ~ N(0, I).
// Reads log_scales and quats, so it runs before those buffers are rearranged.
@compute @workgroup_size(WORKGROUP_SIZE)
fn densify_scatter_means(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = row_index(wid, nwg, lid);
  if (i >= params.count) {
    return;
  }
  let kind = row_plan[i];
  let to = base[i];
  let mean = vec3f(src[3u * i], src[3u * i + 1u], src[3u * i + 2u]);
  var rows = 0u;
  if (kind == ROW_KEEP) {
    rows = 1u;
  } else if (kind == ROW_CLONE) {
    rows = 2u;
  }
  for (var r = 0u; r < rows; r++) {
    for (var k = 0u; k < 3u; k++) {
      dst[3u * (to + r) + k] = mean[k];
    }
  }
  if (kind == ROW_SPLIT) {
    let scale = exp(vec3f(log_scales[3u * i], log_scales[3u * i + 1u], log_scales[3u * i + 2u]));
    let rot = rotation(i);
    var z = split_normals(i);
    for (var c = 0u; c < SPLIT_CHILDREN; c++) {
      let p = mean + rot * (vec3f(z[3u * c], z[3u * c + 1u], z[3u * c + 2u]) * scale);
      for (var k = 0u; k < 3u; k++) {
        dst[3u * (to + c) + k] = p[k];
      }
    }
  }
}

// 3DGS's reset_opacity: opacity = min(opacity, 0.01), as a clamp of the logit
// (sigmoid is increasing, so no transcendental is needed).
@compute @workgroup_size(WORKGROUP_SIZE)
fn opacity_reset(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = row_index(wid, nwg, lid);
  if (i >= reset_params.count) {
    return;
  }
  opacity_rw[i] = min(opacity_rw[i], reset_params.max_logit);
}
