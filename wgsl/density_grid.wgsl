// Gaussian density on an n³ grid (host: harness/mesh/density_grid.ts, CPU
// reference refDensityGrid in harness/mesh/density_grid_ref.ts):
//   density(p) = Σ_g opacity_g · exp(−½ (p − μ_g)ᵀ Σ_g⁻¹ (p − μ_g)),  only where
//   the Mahalanobis distance² ≤ CUTOFF_SIGMA², opacity ≤ min_opacity dropped;
//   Σ_g may be widened by filter_var·I (a sampling filter for sub-voxel Gaussians).
// Gather, not splat, so no float atomics and a deterministic sum:
//   density_grid_prepare  per Gaussian: Σ⁻¹, opacity, the bins (BIN³ points) its
//                         3σ box touches, and their count
//   (scan of the counts: offsets)
//   density_grid_emit     per Gaussian: one (bin, Gaussian) pair per touched bin
//   (stable radix sort by bin: each bin's list in Gaussian order)
//   density_grid_ranges   per pair: each bin's [start, end) in the sorted pairs
//   density_grid          one workgroup per bin, one thread per point: sums its
//                         bin's list in order (the reference's order too)

const BIN: u32 = 4u;                 // grid points per bin edge; a workgroup is one bin
const CUTOFF_SIGMA: f32 = 3.0;       // support of a Gaussian, in standard deviations
const WORKGROUP_SIZE: u32 = 64u;     // per-Gaussian and per-pair kernels
const BOX_BITS: u32 = 10u;           // bits per axis of a packed bin coordinate

struct DensityGridParams {
  origin: vec3<f32>,   // world position of grid point (0, 0, 0)
  spacing: f32,        // distance between neighbouring points
  n: u32,              // points per axis
  bins: u32,           // bins per axis: ceil(n / BIN)
  count: u32,          // Gaussians
  pairs: u32,          // (bin, Gaussian) pairs: the scan total (set before emit)
  min_opacity: f32,    // dropped at or below
  filter_var: f32,     // isotropic variance added to every Σ (sampling filter, world units²; 0: none)
}

@group(0) @binding(0) var<uniform> params: DensityGridParams;

fn linear_workgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// ---------------------------------------------------------------- prepare

@group(0) @binding(1) var<storage, read> means: array<f32>;          // [N,3] f32 world-space centre
@group(0) @binding(2) var<storage, read> log_scales: array<f32>;     // [N,3] f32 log standard deviations
@group(0) @binding(3) var<storage, read> quats: array<f32>;          // [N,4] f32 rotation (w,x,y,z), not necessarily unit
@group(0) @binding(4) var<storage, read> opacity_logits: array<f32>; // [N] f32 opacity = sigmoid(logit)
// [N,3] vec4 per Gaussian: (μ, opacity), (Σ⁻¹ xx, xy, xz, yy), (Σ⁻¹ yz, zz, 0, 0); AoS so the
// point loop reads one Gaussian from one place
@group(0) @binding(5) var<storage, read_write> records: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> counts: array<u32>;   // [N] u32 bins touched (0: dropped); scanned in place into offsets
@group(0) @binding(7) var<storage, read_write> boxes: array<vec2<u32>>; // [N] (lo, hi) bin coordinates, BOX_BITS per axis, x lowest

fn pack_box(b: vec3<u32>) -> u32 {
  return b.x | (b.y << BOX_BITS) | (b.z << (2u * BOX_BITS));
}

fn unpack_box(v: u32) -> vec3<u32> {
  let mask = (1u << BOX_BITS) - 1u;
  return vec3<u32>(v & mask, (v >> BOX_BITS) & mask, (v >> (2u * BOX_BITS)) & mask);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn density_grid_prepare(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = linear_workgroup(wid, nwg) * WORKGROUP_SIZE + lid;
  if (g >= params.count) {
    return;
  }
  let opacity = 1.0 / (1.0 + exp(-opacity_logits[g]));
  let mu = vec3<f32>(means[3u * g], means[3u * g + 1u], means[3u * g + 2u]);
  var q = vec4<f32>(quats[4u * g], quats[4u * g + 1u], quats[4u * g + 2u], quats[4u * g + 3u]);
  let qn = length(q);
  q = select(vec4<f32>(1.0, 0.0, 0.0, 0.0), q / qn, qn > 0.0);
  let w = q.x;
  let x = q.y;
  let y = q.z;
  let z = q.w;
  // Rows of R (3DGS build_rotation).
  let r0 = vec3<f32>(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y));
  let r1 = vec3<f32>(2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x));
  let r2 = vec3<f32>(2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y));
  // R (diag(s²) + f² I) Rᵀ = Σ + f² I: the filter widens every axis alike.
  let s2 = exp(2.0 * vec3<f32>(log_scales[3u * g], log_scales[3u * g + 1u], log_scales[3u * g + 2u])) + vec3<f32>(params.filter_var);
  let is2 = 1.0 / s2;
  // Σ⁻¹ = R diag(1/s²) Rᵀ; Σ_aa = Σ_k R_ak² s_k².
  records[3u * g] = vec4<f32>(mu, opacity);
  records[3u * g + 1u] = vec4<f32>(dot(r0 * r0, is2), dot(r0 * r1, is2), dot(r0 * r2, is2), dot(r1 * r1, is2));
  records[3u * g + 2u] = vec4<f32>(dot(r1 * r2, is2), dot(r2 * r2, is2), 0.0, 0.0);
  let extent = CUTOFF_SIGMA * sqrt(vec3<f32>(dot(r0 * r0, s2), dot(r1 * r1, s2), dot(r2 * r2, s2)));
  // Grid points in the box, one spare on each side against rounding (the point
  // loop tests the ellipsoid exactly, so a larger box only costs time).
  let lo_f = ceil((mu - extent - params.origin) / params.spacing) - 1.0;
  let hi_f = floor((mu + extent - params.origin) / params.spacing) + 1.0;
  let last = f32(params.n - 1u);
  var c = 0u;
  if (opacity > params.min_opacity && all(hi_f >= vec3<f32>(0.0)) && all(lo_f <= vec3<f32>(last)) && all(extent == extent)) {
    let lo = vec3<u32>(clamp(lo_f, vec3<f32>(0.0), vec3<f32>(last))) / BIN;
    let hi = vec3<u32>(clamp(hi_f, vec3<f32>(0.0), vec3<f32>(last))) / BIN;
    let span = hi - lo + vec3<u32>(1u);
    c = span.x * span.y * span.z;
    boxes[g] = vec2<u32>(pack_box(lo), pack_box(hi));
  }
  counts[g] = c;
}

// ---------------------------------------------------------------- emit

// Binding numbers are unique across the file: each entry point's auto layout holds only its own.
@group(0) @binding(8) var<storage, read> offsets: array<u32>;            // [N] u32 exclusive scan of counts
@group(0) @binding(9) var<storage, read> emit_boxes: array<vec2<u32>>;   // [N] as `boxes`
@group(0) @binding(10) var<storage, read_write> pair_keys: array<u32>;   // [P] u32 bin index x + bins·(y + bins·z)
@group(0) @binding(11) var<storage, read_write> pair_values: array<u32>; // [P] u32 Gaussian index

@compute @workgroup_size(WORKGROUP_SIZE)
fn density_grid_emit(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = linear_workgroup(wid, nwg) * WORKGROUP_SIZE + lid;
  if (g >= params.count) {
    return;
  }
  let start = offsets[g];
  let end = select(offsets[g + 1u], params.pairs, g + 1u == params.count);
  if (end == start) {
    return;
  }
  let lo = unpack_box(emit_boxes[g].x);
  let hi = unpack_box(emit_boxes[g].y);
  var o = start;
  for (var bz = lo.z; bz <= hi.z; bz++) {
    for (var by = lo.y; by <= hi.y; by++) {
      for (var bx = lo.x; bx <= hi.x; bx++) {
        pair_keys[o] = bx + params.bins * (by + params.bins * bz);
        pair_values[o] = g;
        o++;
      }
    }
  }
}

// ---------------------------------------------------------------- ranges

@group(0) @binding(12) var<storage, read> sorted_keys: array<u32>;           // [P] u32 bin per pair, sorted
@group(0) @binding(13) var<storage, read_write> ranges: array<vec2<u32>>;     // [bins³] (start, end) in the sorted pairs; zeroed first

@compute @workgroup_size(WORKGROUP_SIZE)
fn density_grid_ranges(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup(wid, nwg) * WORKGROUP_SIZE + lid;
  if (i >= params.pairs) {
    return;
  }
  let key = sorted_keys[i];
  if (i == 0u || sorted_keys[i - 1u] != key) {
    ranges[key].x = i;
  }
  if (i + 1u == params.pairs || sorted_keys[i + 1u] != key) {
    ranges[key].y = i + 1u;
  }
}

// ---------------------------------------------------------------- density

@group(0) @binding(14) var<storage, read> bin_ranges: array<vec2<u32>>;     // [bins³] as `ranges`
@group(0) @binding(15) var<storage, read> sorted_values: array<u32>;        // [P] u32 Gaussian per pair, sorted by bin then index
@group(0) @binding(16) var<storage, read> gaussians: array<vec4<f32>>;      // [N,3] vec4 as `records`
@group(0) @binding(17) var<storage, read_write> density: array<f32>;         // [n,n,n] f32, x fastest

@compute @workgroup_size(BIN, BIN, BIN)
fn density_grid(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) loc: vec3u) {
  let b = linear_workgroup(wid, nwg);
  let nb = params.bins;
  if (b >= nb * nb * nb) {
    return;
  }
  let bin = vec3<u32>(b % nb, (b / nb) % nb, b / (nb * nb));
  let ijk = bin * BIN + loc;
  if (any(ijk >= vec3<u32>(params.n))) {
    return;
  }
  let p = params.origin + params.spacing * vec3<f32>(ijk);
  let r = bin_ranges[b];
  let cut2 = CUTOFF_SIGMA * CUTOFF_SIGMA;
  var sum = 0.0;
  for (var k = r.x; k < r.y; k++) {
    let g = sorted_values[k];
    let a = gaussians[3u * g];
    let c0 = gaussians[3u * g + 1u];
    let c1 = gaussians[3u * g + 2u];
    let d = p - a.xyz;
    let m2 = c0.x * d.x * d.x + c0.w * d.y * d.y + c1.y * d.z * d.z + 2.0 * (c0.y * d.x * d.y + c0.z * d.x * d.z + c1.x * d.y * d.z);
    if (m2 <= cut2) {
      sum += a.w * exp(-0.5 * m2);
    }
  }
  density[ijk.x + params.n * (ijk.y + params.n * ijk.z)] = sum;
}
