// Workgroup grids: WebGPU caps each dimension (65,535 by default), so a long 1-D
// grid is folded into 2-D. Shaders recover the linear workgroup index with
// `wid.x + wid.y * nwg.x` and must bounds-check it (the fold can overshoot).

export interface Grid {
  x: number;
  y: number;
}

export function splitGrid(workgroups: number, maxPerDimension: number): Grid {
  if (!Number.isInteger(workgroups) || workgroups < 0) throw new Error(`invalid workgroup count ${workgroups}`);
  if (workgroups <= maxPerDimension) return { x: workgroups, y: 1 };
  const y = Math.ceil(workgroups / maxPerDimension);
  if (y > maxPerDimension) throw new Error(`${workgroups} workgroups exceed a ${maxPerDimension}^2 grid`);
  return { x: Math.ceil(workgroups / y), y };
}

export function dispatchGrid(pass: GPUComputePassEncoder, grid: Grid): void {
  if (grid.x > 0) pass.dispatchWorkgroups(grid.x, grid.y);
}
