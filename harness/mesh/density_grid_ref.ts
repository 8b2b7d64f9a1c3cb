// The Gaussian density grid of the mesh stage (DG4D / DreamGaussian extract_fields):
//   density(p) = Σ_g opacity_g · exp(−½ (p − μ_g)ᵀ Σ_g⁻¹ (p − μ_g))
// at the points of an n³ grid over the object's bounds, Gaussians with opacity
// ≤ 0.005 dropped. A Gaussian contributes only inside its 3σ ellipsoid (Mahalanobis
// distance² ≤ 9, where exp(−½·9) = 0.011): that keeps the GPU's per-bin lists short
// and makes the field independent of how the GPU bins (wgsl/density_grid.wgsl).
//
// "Normalise to [−1, 1]" (DreamGaussian) is a similarity transform of the Gaussians
// and the grid together, under which the density is invariant: we keep world
// coordinates and place a cube grid over the bounds instead, so the mesh comes out
// in world space. Grid layout: value (i, j, k) at origin + spacing·(i, j, k),
// stored at i + n·(j + n·k) (x fastest).
//
// Sampling filter (not in DreamGaussian): a Gaussian much thinner than the grid
// spacing (windmill's 6 mm blades against a ~4 cm spacing at grid 40) falls
// between grid points and vanishes from the surface. Widening every Σ by
// filterSigma²·I (filterSigma about half a spacing) makes every Gaussian at least
// that wide, so thin parts come out about a voxel thick instead of not at all;
// the opacity is kept (not renormalised), so a thin sheet still reaches the iso level.
// Float64 CPU reference (`refDensityGrid`), plus the grid placement both sides use.
import type { GaussianParams } from '../splat/model.ts';

/** DG4D drops Gaussians at or below this opacity before extracting the surface. */
export const DENSITY_MIN_OPACITY = 0.005;
/** A Gaussian's support: Mahalanobis distance ≤ 3. Mirrors CUTOFF_SIGMA in wgsl/density_grid.wgsl (a test checks). */
export const DENSITY_CUTOFF_SIGMA = 3;

export interface GridSpec {
  /** Points per axis. */
  n: number;
  /** World position of point (0, 0, 0). */
  origin: [number, number, number];
  /** Distance between neighbouring points (the same on every axis). */
  spacing: number;
}

export interface GridPlacement {
  /** Fraction of the bounds' largest half-extent added on every side (default 0.15). */
  padding?: number;
  minOpacity?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Indices of the Gaussians kept for the surface (opacity > minOpacity). */
export function keptGaussians(p: GaussianParams, minOpacity = DENSITY_MIN_OPACITY): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.count; i++) if (sigmoid(p.opacity_logits[i]!) > minOpacity) out.push(i);
  return out;
}

/**
 * A cube grid of n³ points around the kept Gaussians' centres, padded so the
 * iso-surface closes inside it. Throws when no Gaussian is kept.
 */
export function densityGridSpec(p: GaussianParams, n: number, o: GridPlacement = {}): GridSpec {
  if (!Number.isInteger(n) || n < 2 || n > 1024) throw new Error(`density grid: resolution ${n} is not an integer in [2, 1024]`);
  const padding = o.padding ?? 0.15;
  const kept = keptGaussians(p, o.minOpacity ?? DENSITY_MIN_OPACITY);
  if (!kept.length) throw new Error(`density grid: no Gaussian has opacity above ${o.minOpacity ?? DENSITY_MIN_OPACITY} (of ${p.count})`);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const i of kept) {
    for (let a = 0; a < 3; a++) {
      const v = p.means[3 * i + a]!;
      lo[a] = Math.min(lo[a]!, v);
      hi[a] = Math.max(hi[a]!, v);
    }
  }
  const centre = [0, 1, 2].map((a) => (lo[a]! + hi[a]!) / 2);
  const half = Math.max(1e-3, ...[0, 1, 2].map((a) => (hi[a]! - lo[a]!) / 2)) * (1 + padding);
  const spacing = (2 * half) / (n - 1);
  return { n, origin: [centre[0]! - half, centre[1]! - half, centre[2]! - half], spacing };
}

/**
 * Σ⁻¹ (xx, xy, xz, yy, yz, zz) and the 3σ half-extents √Σ_aa·3 of one Gaussian, in
 * float64, with Σ widened to Σ + filterVar·I.
 */
export function gaussianShape(p: GaussianParams, i: number, filterVar = 0): { inv: number[]; extent: number[] } {
  let [w, x, y, z] = [0, 1, 2, 3].map((k) => p.quats[4 * i + k]!) as [number, number, number, number];
  const qn = Math.hypot(w, x, y, z);
  if (qn > 0) [w, x, y, z] = [w / qn, x / qn, y / qn, z / qn];
  else [w, x, y, z] = [1, 0, 0, 0];
  const R = [
    [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
  ];
  const s2 = [0, 1, 2].map((k) => Math.exp(2 * p.log_scales[3 * i + k]!) + filterVar);
  const inv = (a: number, b: number) => R[a]![0]! * R[b]![0]! / s2[0]! + R[a]![1]! * R[b]![1]! / s2[1]! + R[a]![2]! * R[b]![2]! / s2[2]!;
  const cov = (a: number) => R[a]![0]! ** 2 * s2[0]! + R[a]![1]! ** 2 * s2[1]! + R[a]![2]! ** 2 * s2[2]!;
  return { inv: [inv(0, 0), inv(0, 1), inv(0, 2), inv(1, 1), inv(1, 2), inv(2, 2)], extent: [0, 1, 2].map((a) => DENSITY_CUTOFF_SIGMA * Math.sqrt(cov(a))) };
}

/** Mahalanobis distance² of offset d under Σ⁻¹ given as (xx, xy, xz, yy, yz, zz). */
export function mahalanobis2(inv: number[], d: [number, number, number]): number {
  const [xx, xy, xz, yy, yz, zz] = inv as [number, number, number, number, number, number];
  return xx * d[0] * d[0] + yy * d[1] * d[1] + zz * d[2] * d[2] + 2 * (xy * d[0] * d[1] + xz * d[0] * d[2] + yz * d[1] * d[2]);
}

export interface RefDensityOptions {
  minOpacity?: number;
  /** Standard deviation of the sampling filter (world units): every Σ becomes Σ + filterSigma²·I. Default 0. */
  filterSigma?: number;
  /** Also return, per point, the largest contribution whose support test was within `margin` of the cutoff (f32 may decide it the other way). */
  boundaryMargin?: number;
}

/**
 * Float64 reference: the density at every grid point, summed in Gaussian index
 * order (the GPU's order too). With boundaryMargin, `ambiguous[p]` is the sum of the
 * contributions whose Mahalanobis distance² lies within the margin of 9.
 */
export function refDensityGrid(p: GaussianParams, grid: GridSpec, o: RefDensityOptions = {}): { density: Float64Array; ambiguous: Float64Array } {
  const { n, origin, spacing } = grid;
  const density = new Float64Array(n * n * n);
  const ambiguous = new Float64Array(n * n * n);
  const cut2 = DENSITY_CUTOFF_SIGMA * DENSITY_CUTOFF_SIGMA;
  const margin = o.boundaryMargin ?? 0;
  for (const g of keptGaussians(p, o.minOpacity ?? DENSITY_MIN_OPACITY)) {
    const opacity = sigmoid(p.opacity_logits[g]!);
    const { inv, extent } = gaussianShape(p, g, (o.filterSigma ?? 0) ** 2);
    const mu = [0, 1, 2].map((a) => p.means[3 * g + a]!);
    // Grid points inside the 3σ box (the ellipsoid lies within it).
    const lo = [0, 1, 2].map((a) => Math.max(0, Math.ceil((mu[a]! - extent[a]! - origin[a]!) / spacing) - 1));
    const hi = [0, 1, 2].map((a) => Math.min(n - 1, Math.floor((mu[a]! + extent[a]! - origin[a]!) / spacing) + 1));
    for (let k = lo[2]!; k <= hi[2]!; k++) {
      for (let j = lo[1]!; j <= hi[1]!; j++) {
        for (let i = lo[0]!; i <= hi[0]!; i++) {
          const d: [number, number, number] = [origin[0] + spacing * i - mu[0]!, origin[1] + spacing * j - mu[1]!, origin[2] + spacing * k - mu[2]!];
          const m2 = mahalanobis2(inv, d);
          const idx = i + n * (j + n * k);
          const v = opacity * Math.exp(-0.5 * m2);
          if (m2 <= cut2) density[idx] = density[idx]! + v;
          if (margin > 0 && Math.abs(m2 - cut2) <= margin) ambiguous[idx] = ambiguous[idx]! + v;
        }
      }
    }
  }
  return { density, ambiguous };
}
