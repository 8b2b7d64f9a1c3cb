// Host side of wgsl/project.wgsl (dispatchProject) and wgsl/project_bwd.wgsl
// (dispatchProjectBwd): one thread per Gaussian, grids folded past 65,535 workgroups.
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { beginPass, type SplatBuffers } from './frame.ts';
import type { GaussianModel } from './model.ts';
import { bindNamed, SPLAT_SHADERS, WORKGROUP_SIZE_1D } from './shaders.ts';

export interface ProjectPipelines {
  project: GPUComputePipeline;
  projectColor: GPUComputePipeline;
  projectBwd: GPUComputePipeline;
  projectColorBwd: GPUComputePipeline;
  xyGradStats: GPUComputePipeline;
}

export async function createProjectPipelines(cache: PipelineCache): Promise<ProjectPipelines> {
  const [project, projectColor, projectBwd, projectColorBwd, xyGradStats] = await Promise.all([
    cache.pipeline(SPLAT_SHADERS.project, 'project'),
    cache.pipeline(SPLAT_SHADERS.project, 'project_color'),
    cache.pipeline(SPLAT_SHADERS.project_bwd, 'project_bwd'),
    cache.pipeline(SPLAT_SHADERS.project_bwd, 'project_color_bwd'),
    cache.pipeline(SPLAT_SHADERS.project_bwd, 'xy_grad_stats'),
  ]);
  return { project, projectColor, projectBwd, projectColorBwd, xyGradStats };
}

function rowGrid(gpu: Gpu, rows: number) {
  return splitGrid(Math.ceil(rows / WORKGROUP_SIZE_1D), gpu.device.limits.maxComputeWorkgroupsPerDimension);
}

/** Pass `project`: geometry, then colour, of rows [0, model.count). */
export function dispatchProject(encoder: GPUCommandEncoder, gpu: Gpu, pipes: ProjectPipelines, b: SplatBuffers, model: GaussianModel, timer?: GpuTimer): void {
  const { device } = gpu;
  const p = model.params;
  const shader = SPLAT_SHADERS.project;
  const pass = beginPass(encoder, 'project', timer);
  const grid = rowGrid(gpu, model.count);
  pass.setPipeline(pipes.project);
  pass.setBindGroup(0, bindNamed(device, pipes.project, shader, {
    camera: b.camera, params: b.params, means: p.means, log_scales: p.log_scales, quats: p.quats, opacity_logits: p.opacity_logits,
    xy_depth: b.xyDepth, conic_opacity: b.conicOpacity, tiles_touched: b.tilesTouched, tile_rect: b.tileRect,
  }));
  dispatchGrid(pass, grid);
  pass.setPipeline(pipes.projectColor);
  pass.setBindGroup(0, bindNamed(device, pipes.projectColor, shader, { camera: b.camera, params: b.params, means: p.means, sh: p.sh, rgb: b.rgb }));
  dispatchGrid(pass, grid);
  pass.end();
}

/**
 * Pass `project_bwd`: adds the gradients of every parameter group to
 * model.grads and the view's densification statistics to xyGradNorm / visCount.
 */
export function dispatchProjectBwd(encoder: GPUCommandEncoder, gpu: Gpu, pipes: ProjectPipelines, b: SplatBuffers, model: GaussianModel, timer?: GpuTimer): void {
  const { device } = gpu;
  const p = model.params;
  const d = model.grads;
  const shader = SPLAT_SHADERS.project_bwd;
  const pass = beginPass(encoder, 'project_bwd', timer);
  const grid = rowGrid(gpu, model.count);
  pass.setPipeline(pipes.projectBwd);
  pass.setBindGroup(0, bindNamed(device, pipes.projectBwd, shader, {
    camera: b.camera, params: b.params, means: p.means, log_scales: p.log_scales, quats: p.quats, grad_splat: b.gradSplat,
    grad_means: d.means, grad_log_scales: d.log_scales, grad_quats: d.quats,
  }));
  dispatchGrid(pass, grid);
  pass.setPipeline(pipes.projectColorBwd);
  pass.setBindGroup(0, bindNamed(device, pipes.projectColorBwd, shader, {
    camera: b.camera, params: b.params, means: p.means, opacity_logits: p.opacity_logits, sh: p.sh, rgb: b.rgb, grad_splat: b.gradSplat,
    grad_means: d.means, grad_opacity_logits: d.opacity_logits, grad_sh: d.sh,
  }));
  dispatchGrid(pass, grid);
  pass.setPipeline(pipes.xyGradStats);
  pass.setBindGroup(0, bindNamed(device, pipes.xyGradStats, shader, {
    camera: b.camera, params: b.params, xy_depth: b.xyDepth, grad_splat: b.gradSplat, xy_grad_norm: b.xyGradNorm, vis_count: b.visCount,
  }));
  dispatchGrid(pass, grid);
  pass.end();
}
