// WGSL sources of the splatting stages, composed with wgsl/splat_common.wgsl, and
// the host's view of what they declare: struct layouts, constants and bindings by
// name, read from the WGSL itself (nothing is counted twice).
//
// A stage's own file comes first so that compilation errors keep its line numbers
// (WGSL module-scope declarations may be used before they appear); an `enable`
// directive goes on the first line, ahead of the stage's opening comment.
import { WgslLayouts } from '../gpu/layout.ts';
import { checkSplatConstants } from './constants.ts';
import type { ShaderSource } from '../gpu/pipelines.ts';
import commonSource from '../../wgsl/splat_common.wgsl';
import projectSource from '../../wgsl/project.wgsl';
import projectBwdSource from '../../wgsl/project_bwd.wgsl';
import mapIntersectsSource from '../../wgsl/map_intersects.wgsl';
import rasterizeSource from '../../wgsl/rasterize.wgsl';
import rasterizeBwdSource from '../../wgsl/rasterize_bwd.wgsl';
import rasterizeBwdSubgroupsSource from '../../wgsl/rasterize_bwd_subgroups.wgsl';
import rasterizeBwdWorkgroupSource from '../../wgsl/rasterize_bwd_workgroup.wgsl';
import rasterizeBwdCasSource from '../../wgsl/rasterize_bwd_cas.wgsl';
import rasterizeBwdOrderedSource from '../../wgsl/rasterize_bwd_ordered.wgsl';
import rasterizeBwdOrderedSubgroupsSource from '../../wgsl/rasterize_bwd_ordered_subgroups.wgsl';
import rasterizeBwdOrderedWorkgroupSource from '../../wgsl/rasterize_bwd_ordered_workgroup.wgsl';
import rasterizeBwdReduceSource from '../../wgsl/rasterize_bwd_reduce.wgsl';

function compose(label: string, parts: string[], enable?: string): ShaderSource {
  const [first, ...rest] = parts;
  return { label, code: `${enable ? `enable ${enable}; ` : ''}${first}\n${rest.join('\n')}\n${commonSource}` };
}

/**
 * How rasterize_bwd sums the per-pixel gradients per splat (see wgsl/rasterize_bwd.wgsl):
 * 'ordered_*' in a fixed order, bit for bit the same on every run (the default);
 * 'subgroups' and 'workgroup' with compare-exchange float adds (order varies between runs).
 */
export type ReduceVariant = 'ordered_subgroups' | 'ordered_workgroup' | 'subgroups' | 'workgroup';

export const SPLAT_SHADERS = {
  project: compose('project', [projectSource]),
  project_bwd: compose('project_bwd', [projectBwdSource]),
  map_intersects: compose('map_intersects', [mapIntersectsSource]),
  rasterize: compose('rasterize', [rasterizeSource]),
  rasterize_bwd_ordered_subgroups: compose('rasterize_bwd', [rasterizeBwdSource, rasterizeBwdOrderedSubgroupsSource, rasterizeBwdOrderedSource], 'subgroups'),
  rasterize_bwd_ordered_workgroup: compose('rasterize_bwd', [rasterizeBwdSource, rasterizeBwdOrderedWorkgroupSource, rasterizeBwdOrderedSource]),
  rasterize_bwd_subgroups: compose('rasterize_bwd', [rasterizeBwdSource, rasterizeBwdSubgroupsSource, rasterizeBwdCasSource], 'subgroups'),
  rasterize_bwd_workgroup: compose('rasterize_bwd', [rasterizeBwdSource, rasterizeBwdWorkgroupSource, rasterizeBwdCasSource]),
  rasterize_bwd_reduce: compose('rasterize_bwd_reduce', [rasterizeBwdReduceSource]),
} satisfies Record<string, ShaderSource>;

// Distinct labels: the pipeline cache keys modules by label.
SPLAT_SHADERS.rasterize_bwd_ordered_subgroups.label = 'rasterize_bwd_ordered_subgroups';
SPLAT_SHADERS.rasterize_bwd_ordered_workgroup.label = 'rasterize_bwd_ordered_workgroup';
SPLAT_SHADERS.rasterize_bwd_subgroups.label = 'rasterize_bwd_subgroups';
SPLAT_SHADERS.rasterize_bwd_workgroup.label = 'rasterize_bwd_workgroup';

export const splatLayouts = new WgslLayouts(`${commonSource}\n${rasterizeSource}\n${rasterizeBwdSource}`);
export const cameraLayout = splatLayouts.struct('Camera');
export const renderParamsLayout = splatLayouts.struct('RenderParams');
export const intersectStatusLayout = splatLayouts.struct('IntersectStatus');

checkSplatConstants(splatLayouts);
export { GRAD_LAYOUT, SPLAT_CONSTANTS, TILE_SIZE } from './constants.ts';
export const WORKGROUP_SIZE_1D = splatLayouts.constant('WORKGROUP_SIZE_1D');

/** `@group(0) @binding(n) var<...> name` declarations of a composed source: name -> n. */
function bindingTable(code: string): Map<string, number> {
  const table = new Map<string, number>();
  const src = code.replace(/\/\/[^\n]*/g, '');
  for (const m of src.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)/g)) table.set(m[2]!, Number(m[1]));
  return table;
}

const tables = new WeakMap<ShaderSource, Map<string, number>>();

/** A bind group for the named bindings of `shader` (exactly those the entry point uses). */
export function bindNamed(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  shader: ShaderSource,
  buffers: Record<string, GPUBuffer | GPUBufferBinding>,
): GPUBindGroup {
  let table = tables.get(shader);
  if (!table) tables.set(shader, (table = bindingTable(shader.code)));
  const entries: GPUBindGroupEntry[] = Object.entries(buffers).map(([name, b]) => {
    const binding = table.get(name);
    if (binding === undefined) throw new Error(`wgsl/${shader.label}.wgsl declares no binding '${name}'`);
    return { binding, resource: 'buffer' in b ? b : { buffer: b } };
  });
  return device.createBindGroup({ label: pipeline.label, layout: pipeline.getBindGroupLayout(0), entries });
}
