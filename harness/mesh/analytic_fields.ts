// Analytic density fields sampled on grids, for the marching-cubes tests and the
// mesh microbenchmark. Each field is >= 0 inside (iso 0), so the surface is known.
import type { ScalarGrid } from './surface.ts';

export type Field = (x: number, y: number, z: number) => number;

/** Samples f on an n^3 grid spanning [-half, half]^3 (or nx,ny,nz points). */
export function sampleGrid(f: Field, dims: [number, number, number], half = 1): ScalarGrid {
  const [nx, ny, nz] = dims;
  const spacing: [number, number, number] = [(2 * half) / (nx - 1), (2 * half) / (ny - 1), (2 * half) / (nz - 1)];
  const values = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) values[i + nx * (j + ny * k)] = f(-half + i * spacing[0], -half + j * spacing[1], -half + k * spacing[2]);
  return { values, dims, origin: [-half, -half, -half], spacing };
}

export const sphere = (r: number, cx = 0, cy = 0, cz = 0): Field => (x, y, z) => r - Math.hypot(x - cx, y - cy, z - cz);

/** Torus around the z axis: major radius R, minor radius r. */
export const torus = (R: number, r: number): Field => (x, y, z) => r - Math.hypot(Math.hypot(x, y) - R, z);

/** Shell between radii r - w and r + w. */
export const shell = (r: number, w: number): Field => (x, y, z) => w - Math.abs(Math.hypot(x, y, z) - r);

/** Union of two fields (max). */
export const union = (a: Field, b: Field): Field => (x, y, z) => Math.max(a(x, y, z), b(x, y, z));

/** A lumpy blob: sphere plus low-frequency ripples (benchmark input with a realistic triangle count). */
export const lumpy = (r: number): Field => (x, y, z) => r - Math.hypot(x, y, z) + 0.08 * Math.sin(6 * x) * Math.cos(5 * y) * Math.sin(4 * z + 1);
