// Page jobs of the mesh stage (harness/mesh/): the kernels one by one for the
// tests (`densityGrid`, ...) and the per-frame and refinement jobs the runner
// (harness/runner/mesh_run.ts) calls.
import { DensityGrid } from '../mesh/density_grid.ts';
import { densityGridSpec, type GridSpec } from '../mesh/density_grid_ref.ts';
import { readF32 } from '../gpu/readback.ts';
import { GaussianModel, type GaussianParams } from '../splat/model.ts';
import type { Job } from './context.ts';

export interface DensityGridJobArgs {
  params: GaussianParams;
  /** The grid; default densityGridSpec(params, n). */
  grid?: GridSpec;
  n?: number;
  minOpacity?: number;
}

export interface DensityGridJobResult {
  density: Float32Array;
  grid: GridSpec;
  pairs: number;
}

export const densityGridJob: Job = async (ctx, raw) => {
  const args = raw as unknown as DensityGridJobArgs;
  const grid = args.grid ?? densityGridSpec(args.params, args.n ?? 32, { minOpacity: args.minOpacity });
  const model = GaussianModel.create(ctx.gpu.device, args.params);
  const dg = await DensityGrid.create(ctx.gpu, ctx.cache);
  try {
    const r = await dg.compute(model, grid, { minOpacity: args.minOpacity });
    const density = await readF32(ctx.gpu.device, r.density, grid.n ** 3);
    r.density.destroy();
    return { density, grid, pairs: r.pairs } satisfies DensityGridJobResult;
  } finally {
    dg.destroy();
    model.destroy();
  }
};

export const MESH_JOBS: Record<string, Job> = { densityGrid: densityGridJob };
