// The HexPlane deformation field (DG4D) on the GPU: six feature planes per scale
// sampled and multiplied (wgsl/hexplane.wgsl), decoded by the batched linear
// layers (harness/deform/linear.ts) into Δposition, Δlog-scale and Δquaternion;
// the backward in wgsl/hexplane_bwd.wgsl and linear_bwd. Config, layout,
// initialisation and the float64 reference: hexplane_ref.ts.
//
// Forward (timer labels): hexplane (sample planes → feat) → linear (feature,
// ReLU → h) → linear (three residual branches → r) → hexplane (r_k += h) → linear
// ×3 (heads, added into out, which starts as a copy of the canonical rows).
// Backward: hexplane_bwd (identity) → linear_bwd ×3 (heads) → linear_bwd
// (branches) → hexplane_bwd (skip connections) → linear_bwd (feature) →
// hexplane_bwd (planes: time planes, per-Gaussian spatial partials and cell
// keys) → sort_* (the keys, RadixSortPlan) → hexplane_bwd (cell ranges, spatial
// texels gathered in a fixed order). No float atomics: the gradients repeat bit
// for bit.
//
// Per-call values (row count, time) go in immutable uniform buffers shared by
// value (LinearKernels.uniform), so forwards at different times encoded into one
// command encoder each see their own. The backward reads the latest forward's
// activations and canonical means: encode forward and backward of one call
// before the next call's forward, and leave the canonical means unchanged in
// between.
import hexplaneSource from '../../wgsl/hexplane.wgsl';
import hexplaneBwdSource from '../../wgsl/hexplane_bwd.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { packStruct, WgslLayouts } from '../gpu/layout.ts';
import { bindBuffers, type PipelineCache, type ShaderSource } from '../gpu/pipelines.ts';
import { readF32 } from '../gpu/readback.ts';
import { RadixSortPlan } from '../gpu/sort.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { AdamGroupSpec } from '../splat/adam.ts';
import type { DeformationField, DeformBuffers } from './field.ts';
import {
  HEAD_OUTPUTS,
  HEXPLANE_MAX_SCALES,
  hexPlaneGroupSizes,
  hexPlaneLayout,
  initHexPlaneParams,
  LAYER_LABELS,
  PLANE_GROUP,
  resolveHexPlaneConfig,
  type HexPlaneConfig,
  type HexPlaneLayout,
  type HexPlaneParams,
} from './hexplane_ref.ts';
import { dispatchLinear, dispatchLinearBwd, LinearKernels, LinearLayer } from './linear.ts';

export { HEXPLANE_PAPER, HEXPLANE_SMALL, type HexPlaneConfig } from './hexplane_ref.ts';

const layouts = new WgslLayouts(hexplaneSource);
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const BWD_BLOCK = layouts.constant('BWD_BLOCK');
const paramsLayout = layouts.struct('HexPlaneParams');
const spatialParamsLayout = new WgslLayouts(`${hexplaneSource}\n${hexplaneBwdSource}`).struct('SpatialBwdParams');
/** Spatial planes per scale (xy, xz, yz), each with a sort pair per Gaussian in the backward. */
const SPATIAL_PLANES = 3;
if (layouts.constant('MAX_SCALES') !== HEXPLANE_MAX_SCALES || paramsLayout.field('res').layout.size !== 16 * HEXPLANE_MAX_SCALES) throw new Error('hexplane.wgsl MAX_SCALES, its arrays and hexplane_ref.ts HEXPLANE_MAX_SCALES disagree');
const FWD: ShaderSource = { label: 'hexplane', code: hexplaneSource };
// The backward shares the forward's declarations (line numbers in errors count from hexplane.wgsl's start).
const BWD: ShaderSource = { label: 'hexplane_bwd', code: `${hexplaneSource}\n${hexplaneBwdSource}` };
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export interface HexPlaneOptions {
  /** Frames of the driving video: the time resolution when config.resolution[3] is null. */
  frames: number;
  /** Initial row capacity (Gaussians); reserve() grows it. Default 0. */
  rows?: number;
  /** Share one LinearKernels per device (default: the field makes its own). */
  kernels?: LinearKernels;
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

interface Pipelines {
  sample: GPUComputePipeline;
  residual: GPUComputePipeline;
  bwdPlanes: GPUComputePipeline;
  bwdTime: GPUComputePipeline;
  bwdCells: GPUComputePipeline;
  bwdSpatial: GPUComputePipeline;
  bwdResidual: GPUComputePipeline;
  bwdIdentity: GPUComputePipeline;
}

/** Row-sized activations and their gradients. */
interface Scratch {
  rows: number;
  feat: GPUBuffer; // [rows, F·S]
  h: GPUBuffer; // [rows, W]
  r: GPUBuffer; // [rows, 3W]
  dFeat: GPUBuffer;
  dH: GPUBuffer;
  dR: GPUBuffer;
  hist: GPUBuffer; // [blocks, hist_stride] vec4
  spatial: GPUBuffer; // [rows, S, 3, F/4] vec4 per-Gaussian spatial-plane partials
  cellKeys: GPUBuffer; // [rows·S·3] u32 sort keys (cell ids)
  cellValues: GPUBuffer; // [rows·S·3] u32 sort values (Gaussian)
  pairCount: GPUBuffer; // [1] u32 pairs to sort (written on the GPU per call)
  sort: RadixSortPlan; // capacity rows·S·3
}

interface LastForward {
  means: GPUBuffer;
  count: number;
  uniform: GPUBuffer;
}

export class HexPlaneField implements DeformationField {
  readonly kind = 'hexplane' as const;
  readonly config: HexPlaneConfig & { resolution: [number, number, number, number] };
  readonly layout: HexPlaneLayout;
  readonly planes: GPUBuffer;
  readonly dPlanes: GPUBuffer;
  /** feature, heads (stacked residual branches), position, scale, rotation. */
  readonly layers: LinearLayer[];
  private scratch: Scratch;
  private last: LastForward | null = null;
  private readonly histStride: number;
  /** Spatial-plane cells over all scales, and hexplane_bwd_spatial's threads. */
  private readonly cells: number;
  private readonly spatialThreads: number;
  private readonly spatialUniform: GPUBuffer;
  private readonly cellRanges: GPUBuffer; // [cells, 2] u32
  private readonly staticValues: Record<string, number | readonly number[]>;

  private constructor(
    private readonly gpu: Gpu,
    private readonly pipes: Pipelines,
    private readonly kernels: LinearKernels,
    private readonly ownsKernels: boolean,
    config: HexPlaneConfig,
    frames: number,
    rows: number,
    sort: RadixSortPlan,
    private readonly maxPerDim: number,
    private readonly cache: PipelineCache,
  ) {
    this.config = resolveHexPlaneConfig(config, frames);
    const layout = hexPlaneLayout(config, frames);
    this.layout = layout;
    const init = initHexPlaneParams(config, frames);
    const { device } = gpu;
    this.planes = device.createBuffer({ label: PLANE_GROUP, size: layout.planeFloats * 4, usage: STORAGE });
    this.dPlanes = device.createBuffer({ label: `${PLANE_GROUP}.grad`, size: layout.planeFloats * 4, usage: STORAGE });
    writeF32(device, this.planes, init[PLANE_GROUP]!);
    const W = layout.width;
    const layer = (label: string, inputs: number, outputs: number, activation: 'relu' | 'none') =>
      new LinearLayer(gpu, { label, inputs, outputs, activation }, { weight: init[`${label}.weight`]!, bias: init[`${label}.bias`]! });
    this.layers = [layer(LAYER_LABELS.feature, layout.featureDim, W, 'relu'), layer(LAYER_LABELS.heads, W, 3 * W, 'none'), ...LAYER_LABELS.out.map((l, k) => layer(l, W, HEAD_OUTPUTS[k]!, 'none'))];
    // Time partials per block: per scale, x, y and z columns of every chunk.
    const chunks = layout.features / 4;
    const histOff: number[] = [];
    let at = 0;
    for (let s = 0; s < HEXPLANE_MAX_SCALES; s++) {
      const r = layout.res[s];
      if (!r) {
        histOff.push(0, 0, 0, 0);
        continue;
      }
      histOff.push(at, at + r[0] * chunks, at + (r[0] + r[1]) * chunks, at + (r[0] + r[1] + r[2]) * chunks);
      at += (r[0] + r[1] + r[2]) * chunks;
    }
    this.histStride = at;
    const perScale = (f: (s: number) => number[]) => Array.from({ length: HEXPLANE_MAX_SCALES }, (_, s) => (s < layout.res.length ? f(s) : [0, 0, 0, 0])).flat();
    const { min, max } = this.config.bounds;
    this.staticValues = {
      chunks,
      scales: layout.res.length,
      width: W,
      hist_stride: this.histStride,
      pad: 0,
      bounds_min: [min[0], min[1], min[2], 0],
      inv_extent: [1 / (max[0] - min[0]), 1 / (max[1] - min[1]), 1 / (max[2] - min[2]), 0],
      res: perScale((s) => layout.res[s]!),
      planes_a: perScale((s) => layout.offsets[s]!.slice(0, 4).map((o) => o / 4)),
      planes_b: perScale((s) => [layout.offsets[s]![4]! / 4, layout.offsets[s]![5]! / 4, 0, 0]),
      hist_off: histOff,
    };
    // Cell numbering and gather threads of the spatial planes, scale by scale.
    const cellBase: number[] = [];
    const threadBase: number[] = [];
    let cells = 0;
    for (let s = 0; s < HEXPLANE_MAX_SCALES; s++) {
      const r = layout.res[s];
      const sizes = r ? [r[0] * r[1], r[0] * r[2], r[1] * r[2]] : [0, 0, 0];
      const starts = [cells, cells + sizes[0]!, cells + sizes[0]! + sizes[1]!];
      cells = starts[2]! + sizes[2]!;
      cellBase.push(...starts, cells);
      threadBase.push(...starts.map((c) => c * chunks), cells * chunks);
    }
    this.cells = cells;
    this.spatialThreads = cells * chunks;
    this.spatialUniform = device.createBuffer({ label: 'hexplane-spatial-bwd-params', size: spatialParamsLayout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(this.spatialUniform, 0, packStruct(spatialParamsLayout, { cell_base: cellBase, thread_base: threadBase }));
    this.cellRanges = device.createBuffer({ label: 'hexplane-cell-ranges', size: Math.max(16, cells * 8), usage: STORAGE });
    this.scratch = this.makeScratch(rows, sort);
  }

  /** A field with its initial parameters (config.seed); zero deformation until trained. */
  static async create(gpu: Gpu, cache: PipelineCache, config: HexPlaneConfig, options: HexPlaneOptions): Promise<HexPlaneField> {
    const frames = options.frames;
    resolveHexPlaneConfig(config, frames);
    const rows = options.rows ?? 0;
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`hexplane: rows ${rows} must be a non-negative integer`);
    const [sample, residual, bwdPlanes, bwdTime, bwdCells, bwdSpatial, bwdResidual, bwdIdentity] = await Promise.all([
      cache.pipeline(FWD, 'hexplane_sample'),
      cache.pipeline(FWD, 'hexplane_residual'),
      cache.pipeline(BWD, 'hexplane_bwd_planes'),
      cache.pipeline(BWD, 'hexplane_bwd_time'),
      cache.pipeline(BWD, 'hexplane_bwd_cells'),
      cache.pipeline(BWD, 'hexplane_bwd_spatial'),
      cache.pipeline(BWD, 'hexplane_bwd_residual'),
      cache.pipeline(BWD, 'hexplane_bwd_identity'),
    ]);
    const kernels = options.kernels ?? (await LinearKernels.create(gpu, cache));
    const maxPerDim = options.maxWorkgroupsPerDimension ?? gpu.device.limits.maxComputeWorkgroupsPerDimension;
    const sort = await HexPlaneField.sortPlan(gpu, cache, hexPlaneLayout(config, frames), rows);
    return new HexPlaneField(gpu, { sample, residual, bwdPlanes, bwdTime, bwdCells, bwdSpatial, bwdResidual, bwdIdentity }, kernels, !options.kernels, config, frames, rows, sort, maxPerDim, cache);
  }

  /** The sort of the spatial cell keys for `rows` Gaussians (key bits: enough for every cell id). */
  private static sortPlan(gpu: Gpu, cache: PipelineCache, layout: HexPlaneLayout, rows: number): Promise<RadixSortPlan> {
    const cells = layout.res.reduce((n, r) => n + r[0] * r[1] + r[0] * r[2] + r[1] * r[2], 0);
    const keyBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, cells))));
    return RadixSortPlan.create(gpu, cache, Math.max(1, rows * layout.res.length * SPATIAL_PLANES), { keyBits });
  }

  get rows(): number {
    return this.scratch.rows;
  }

  get parameterCount(): number {
    return this.layout.planeFloats + this.layers.reduce((n, l) => n + l.parameterCount, 0);
  }

  async reserve(rows: number): Promise<void> {
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`hexplane: rows ${rows} must be a non-negative integer`);
    if (rows <= this.scratch.rows) return;
    // Old buffers may still be referenced by encoded, unsubmitted work: let the browser free them.
    const grown = Math.max(rows, Math.ceil(this.scratch.rows * 1.25));
    const sort = await HexPlaneField.sortPlan(this.gpu, this.cache, this.layout, grown);
    this.scratch = this.makeScratch(grown, sort);
    this.last = null;
  }

  encodeForward(encoder: GPUCommandEncoder, canonical: DeformBuffers, count: number, time: number, out: DeformBuffers, timer?: GpuTimer): void {
    dispatchHexPlane(encoder, this, canonical, count, time, out, timer);
  }

  encodeBackward(encoder: GPUCommandEncoder, dOut: DeformBuffers, dCanonical: DeformBuffers | null, timer?: GpuTimer): void {
    dispatchHexPlaneBwd(encoder, this, dOut, dCanonical, timer);
  }

  clearGrads(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.dPlanes);
    for (const l of this.layers) l.clearGrads(encoder);
  }

  adamGroups(): AdamGroupSpec[] {
    const F = this.layout.features;
    return [
      { name: PLANE_GROUP, params: this.planes, grads: this.dPlanes, width: F, capacity: this.layout.planeFloats / F, lr: this.config.planeLr },
      ...this.layers.flatMap((l) => l.adamGroups(this.config.mlpLr)),
    ];
  }

  /** Parameters by group name (hexPlaneGroupSizes). */
  async download(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = { [PLANE_GROUP]: await readF32(this.gpu.device, this.planes, this.layout.planeFloats) };
    for (const l of this.layers) {
      const p = await l.download();
      out[`${l.label}.weight`] = p.weight;
      out[`${l.label}.bias`] = p.bias;
    }
    return out;
  }

  /** Gradients by group name. */
  async downloadGrads(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = { [PLANE_GROUP]: await readF32(this.gpu.device, this.dPlanes, this.layout.planeFloats) };
    for (const l of this.layers) {
      const p = await l.download();
      out[`${l.label}.weight`] = p.dWeight;
      out[`${l.label}.bias`] = p.dBias;
    }
    return out;
  }

  /** Replaces the given groups' parameters (tests, loading); lands before the next submit. */
  upload(params: Partial<HexPlaneParams>): void {
    const sizes = hexPlaneGroupSizes(this.layout);
    for (const [name, v] of Object.entries(params)) {
      if (!(name in sizes)) throw new Error(`hexplane: no parameter group '${name}' (groups: ${Object.keys(sizes).join(', ')})`);
      if (!(v instanceof Float32Array) || v.length !== sizes[name]) throw new Error(`hexplane: group '${name}' needs a Float32Array of ${sizes[name]} floats`);
    }
    const planes = params[PLANE_GROUP];
    if (planes) writeF32(this.gpu.device, this.planes, planes);
    for (const l of this.layers) {
      const w = params[`${l.label}.weight`];
      const b = params[`${l.label}.bias`];
      if (w) writeF32(this.gpu.device, l.weight, w);
      if (b) writeF32(this.gpu.device, l.bias, b);
    }
  }

  destroy(): void {
    this.planes.destroy();
    this.dPlanes.destroy();
    for (const l of this.layers) l.destroy();
    this.destroyScratch(this.scratch);
    this.spatialUniform.destroy();
    this.cellRanges.destroy();
    if (this.ownsKernels) this.kernels.destroy();
  }

  // --- used by dispatchHexPlane / dispatchHexPlaneBwd ---

  /** @internal */
  forward(encoder: GPUCommandEncoder, canonical: DeformBuffers, count: number, time: number, out: DeformBuffers, timer?: GpuTimer): void {
    if (!Number.isInteger(count) || count < 0 || count > this.rows) throw new Error(`hexplane: count ${count} is not in [0, ${this.rows}] (reserve() more rows)`);
    if (!(time >= 0 && time <= 1)) throw new Error(`hexplane: time ${time} is not in [0, 1]`);
    for (const key of ['means', 'log_scales', 'quats'] as const) {
      if (out[key] === canonical[key]) throw new Error(`hexplane: out.${key} must not be the canonical buffer`);
      const need = count * (key === 'quats' ? 16 : 12);
      for (const [what, b] of [['canonical', canonical[key]], ['out', out[key]]] as const) {
        if (b.size < need) throw new Error(`hexplane: ${what}.${key} holds ${b.size} bytes, ${count} rows need ${need}`);
      }
    }
    const uniform = this.kernels.uniform(paramsLayout, { ...this.staticValues, count, time, blocks: Math.ceil(count / BWD_BLOCK) });
    this.last = { means: canonical.means, count, uniform };
    if (count === 0) return;
    const { device } = this.gpu;
    const { feat, h, r } = this.scratch;
    const W = this.layout.width;
    const D = this.layout.featureDim;
    const chunks = this.layout.features / 4;
    encoder.copyBufferToBuffer(canonical.means, 0, out.means, 0, count * 12);
    encoder.copyBufferToBuffer(canonical.log_scales, 0, out.log_scales, 0, count * 12);
    encoder.copyBufferToBuffer(canonical.quats, 0, out.quats, 0, count * 16);
    let pass = this.beginPass(encoder, 'hexplane', timer);
    pass.setPipeline(this.pipes.sample);
    pass.setBindGroup(0, bindBuffers(device, this.pipes.sample, [uniform, canonical.means, this.planes, feat], 'hexplane-sample'));
    dispatchGrid(pass, this.grid(count * this.layout.res.length * chunks));
    pass.end();
    const [feature, heads, ...outs] = this.layers as [LinearLayer, LinearLayer, LinearLayer, LinearLayer, LinearLayer];
    dispatchLinear(encoder, this.kernels, feature, { rows: count, x: { buffer: feat, stride: D }, y: { buffer: h, stride: W } }, timer);
    dispatchLinear(encoder, this.kernels, heads, { rows: count, x: { buffer: h, stride: W }, y: { buffer: r, stride: 3 * W } }, timer);
    pass = this.beginPass(encoder, 'hexplane', timer);
    pass.setPipeline(this.pipes.residual);
    pass.setBindGroup(0, bindBuffers(device, this.pipes.residual, [uniform, h, r], 'hexplane-residual'));
    dispatchGrid(pass, this.grid(count * W));
    pass.end();
    const targets = [out.means, out.log_scales, out.quats];
    outs.forEach((layer, k) => {
      dispatchLinear(encoder, this.kernels, layer, { rows: count, x: { buffer: r, stride: 3 * W, offset: k * W }, y: { buffer: targets[k]!, stride: HEAD_OUTPUTS[k]! }, accumulate: true }, timer);
    });
  }

  /** @internal */
  backward(encoder: GPUCommandEncoder, dOut: DeformBuffers, dCanonical: DeformBuffers | null, timer?: GpuTimer): void {
    const last = this.last;
    if (!last) throw new Error('hexplane: encodeBackward needs an encodeForward first (and none since reserve() grew the buffers)');
    const { count, uniform } = last;
    if (count === 0) return;
    const { device } = this.gpu;
    const { feat, h, r, dFeat, dH, dR, hist } = this.scratch;
    const W = this.layout.width;
    const D = this.layout.featureDim;
    const chunks = this.layout.features / 4;
    for (const key of ['means', 'log_scales', 'quats'] as const) {
      const need = count * (key === 'quats' ? 16 : 12);
      if (dOut[key].size < need) throw new Error(`hexplane: dOut.${key} holds ${dOut[key].size} bytes, ${count} rows need ${need}`);
      if (dCanonical && dCanonical[key].size < need) throw new Error(`hexplane: dCanonical.${key} holds ${dCanonical[key].size} bytes, ${count} rows need ${need}`);
    }
    if (dCanonical) {
      const pass = this.beginPass(encoder, 'hexplane_bwd', timer);
      pass.setPipeline(this.pipes.bwdIdentity);
      pass.setBindGroup(0, bindBuffers(device, this.pipes.bwdIdentity, [uniform, dOut.means, dOut.log_scales, dOut.quats, dCanonical.means, dCanonical.log_scales, dCanonical.quats], 'hexplane-bwd-identity'));
      dispatchGrid(pass, this.grid(count));
      pass.end();
    }
    const [feature, heads, ...outs] = this.layers as [LinearLayer, LinearLayer, LinearLayer, LinearLayer, LinearLayer];
    const dys = [dOut.means, dOut.log_scales, dOut.quats];
    outs.forEach((layer, k) => {
      dispatchLinearBwd(encoder, this.kernels, layer, { rows: count, x: { buffer: r, stride: 3 * W, offset: k * W }, dy: { buffer: dys[k]!, stride: HEAD_OUTPUTS[k]! }, dx: { buffer: dR, stride: 3 * W, offset: k * W } }, timer);
    });
    dispatchLinearBwd(encoder, this.kernels, heads, { rows: count, x: { buffer: h, stride: W }, dy: { buffer: dR, stride: 3 * W }, dx: { buffer: dH, stride: W } }, timer);
    let pass = this.beginPass(encoder, 'hexplane_bwd', timer);
    pass.setPipeline(this.pipes.bwdResidual);
    pass.setBindGroup(0, bindBuffers(device, this.pipes.bwdResidual, [uniform, dH, dR], 'hexplane-bwd-residual'));
    dispatchGrid(pass, this.grid(count * W));
    pass.end();
    dispatchLinearBwd(encoder, this.kernels, feature, { rows: count, x: { buffer: feat, stride: D }, y: { buffer: h, stride: W }, dy: { buffer: dH, stride: W }, dx: { buffer: dFeat, stride: D } }, timer);
    pass = this.beginPass(encoder, 'hexplane_bwd', timer);
    const blocks = Math.ceil(count / BWD_BLOCK);
    const sc = this.scratch;
    pass.setPipeline(this.pipes.bwdPlanes);
    pass.setBindGroup(0, this.bindAt(this.pipes.bwdPlanes, 'hexplane-bwd-planes', {
      0: uniform, 1: last.means, 2: this.planes, 3: dFeat, 5: hist, 6: sc.spatial, 7: sc.cellKeys, 8: sc.cellValues, 9: sc.pairCount, 10: this.spatialUniform,
    }));
    dispatchGrid(pass, this.grid(blocks * this.layout.res.length * chunks));
    pass.setPipeline(this.pipes.bwdTime);
    pass.setBindGroup(0, this.bindAt(this.pipes.bwdTime, 'hexplane-bwd-time', { 0: uniform, 4: this.dPlanes, 5: hist }));
    dispatchGrid(pass, this.grid(this.histStride));
    pass.end();
    // Spatial planes: sort the (cell, Gaussian) pairs, find each cell's run, gather per texel.
    const pairs = count * this.layout.res.length * SPATIAL_PLANES;
    sc.sort.encode(encoder, sc.cellKeys, sc.cellValues, sc.pairCount, 0, timer);
    encoder.clearBuffer(this.cellRanges);
    pass = this.beginPass(encoder, 'hexplane_bwd', timer);
    pass.setPipeline(this.pipes.bwdCells);
    pass.setBindGroup(0, this.bindAt(this.pipes.bwdCells, 'hexplane-bwd-cells', { 0: uniform, 1: sc.cellKeys, 2: this.cellRanges }));
    dispatchGrid(pass, this.grid(pairs));
    pass.setPipeline(this.pipes.bwdSpatial);
    pass.setBindGroup(0, this.bindAt(this.pipes.bwdSpatial, 'hexplane-bwd-spatial', {
      0: uniform, 1: last.means, 3: sc.cellValues, 4: this.dPlanes, 6: sc.spatial, 10: this.spatialUniform, 11: this.cellRanges,
    }));
    dispatchGrid(pass, this.grid(this.spatialThreads));
    pass.end();
  }

  private bindAt(pipeline: GPUComputePipeline, label: string, entries: Record<number, GPUBuffer>): GPUBindGroup {
    return this.gpu.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: Object.entries(entries).map(([binding, buffer]) => ({ binding: Number(binding), resource: { buffer } })),
    });
  }

  private beginPass(encoder: GPUCommandEncoder, label: string, timer?: GpuTimer): GPUComputePassEncoder {
    return timer ? timer.beginPass(encoder, label) : encoder.beginComputePass({ label });
  }

  private grid(threads: number) {
    return splitGrid(Math.ceil(threads / WORKGROUP_SIZE), this.maxPerDim);
  }

  private makeScratch(rows: number, sort: RadixSortPlan): Scratch {
    const W = this.layout.width;
    const D = this.layout.featureDim;
    const make = (label: string, floats: number) => this.gpu.device.createBuffer({ label: `hexplane-${label}`, size: Math.max(16, floats * 4), usage: STORAGE });
    const pairs = Math.max(1, rows * this.layout.res.length * SPATIAL_PLANES);
    return {
      spatial: make('spatial', pairs * this.layout.features),
      cellKeys: make('cell-keys', pairs),
      cellValues: make('cell-values', pairs),
      pairCount: make('pair-count', 4),
      sort,
      rows,
      feat: make('feat', rows * D),
      h: make('h', rows * W),
      r: make('r', rows * 3 * W),
      dFeat: make('dfeat', rows * D),
      dH: make('dh', rows * W),
      dR: make('dr', rows * 3 * W),
      hist: make('hist', Math.ceil(rows / BWD_BLOCK) * this.histStride * 4),
    };
  }

  private destroyScratch(s: Scratch): void {
    for (const b of [s.feat, s.h, s.r, s.dFeat, s.dH, s.dR, s.hist, s.spatial, s.cellKeys, s.cellValues, s.pairCount]) b.destroy();
    s.sort.destroy();
  }
}

function writeF32(device: GPUDevice, buffer: GPUBuffer, data: Float32Array): void {
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
}

/** Records out = canonical + field(canonical.means, time) for rows < count; timer labels hexplane, linear. */
export function dispatchHexPlane(encoder: GPUCommandEncoder, field: HexPlaneField, canonical: DeformBuffers, count: number, time: number, out: DeformBuffers, timer?: GpuTimer): void {
  field.forward(encoder, canonical, count, time, out, timer);
}

/** Records the backward of the field's latest forward (adds into its gradients, and dOut into dCanonical); labels hexplane_bwd, linear_bwd. */
export function dispatchHexPlaneBwd(encoder: GPUCommandEncoder, field: HexPlaneField, dOut: DeformBuffers, dCanonical: DeformBuffers | null, timer?: GpuTimer): void {
  field.backward(encoder, dOut, dCanonical, timer);
}

/** What the dynamic stage calls: a HexPlane field from a config and the video's frame count. */
export function createHexPlaneField(ctx: { gpu: Gpu; cache: PipelineCache }, config: HexPlaneConfig, options: HexPlaneOptions): Promise<HexPlaneField> {
  return HexPlaneField.create(ctx.gpu, ctx.cache, config, options);
}
