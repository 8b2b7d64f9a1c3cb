// Batched linear layers on the GPU (wgsl/linear.wgsl, wgsl/linear_bwd.wgsl), the
// building block of the deformation fields' networks (mlp.ts, hexplane.ts).
// Activations are row-major f32 [rows, stride] buffers, one row per Gaussian; a
// call names its slice by a row stride and a column offset (ActivationView), so
// skip concatenations and residual adds need no copies.
//
//   dispatchLinear:    Y (= or +=) act(X Wᵀ + b)
//   dispatchLinearBwd: dW += gᵀX, dB += Σ_r g (g = dY through the ReLU), and
//                      optionally dX (= or +=) g W
//
// Gradients accumulate over any number of backward calls until clearGrads.
//
// Per-call values (rows, strides, offsets) live in small immutable uniform
// buffers looked up by their bytes (LinearKernels.uniform): calls encoded into
// one command encoder each bind their own, with no queue.writeBuffer (which
// would make every call of a submit see the last values) and no staging copies.
// The same shapes recur every frame, so the cache stays small.
//
// A ReLU layer's backward first writes dY through the mask into a dense scratch
// (linear_bwd_mask), so the products read one value per element, not two.
//
// The weight reduction over rows is deterministic: a fixed chunking of the rows
// (from the row count only), one partial [outputs, inputs + 1] sum per chunk,
// then the chunks summed in order. No float atomics.
import linearSource from '../../wgsl/linear.wgsl';
import linearBwdSource from '../../wgsl/linear_bwd.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct, type StructLayout, type StructValues } from '../gpu/layout.ts';
import { readF32 } from '../gpu/readback.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { AdamGroupSpec } from '../splat/adam.ts';
import type { LrSchedule } from '../splat/adam_ref.ts';
import type { Activation } from './linear_ref.ts';

export { initLinearParams, type Activation, type LinearInit } from './linear_ref.ts';

const fwdLayouts = new WgslLayouts(linearSource);
const bwdLayouts = new WgslLayouts(linearBwdSource);
const WORKGROUP_SIZE = fwdLayouts.constant('WORKGROUP_SIZE');
const ROW_TILE = fwdLayouts.constant('ROW_TILE');
const COL_TILE = fwdLayouts.constant('COL_TILE');
const BWD_WORKGROUP_SIZE = bwdLayouts.constant('WORKGROUP_SIZE');
const BWD_ROW_TILE = bwdLayouts.constant('ROW_TILE');
const BWD_COL_TILE = bwdLayouts.constant('COL_TILE');
const fwdParams = fwdLayouts.struct('LinearParams');
const bwdParams = bwdLayouts.struct('LinearBwdParams');
const FWD: ShaderSource = { label: 'linear', code: linearSource };
const BWD: ShaderSource = { label: 'linear_bwd', code: linearBwdSource };

/** Row chunks of the dW reduction: at most MAX_CHUNKS, at least MIN_CHUNK_ROWS rows each (but the last). */
const MAX_CHUNKS = 64;
const MIN_CHUNK_ROWS = 64;
const UNIFORM_CACHE_LIMIT = 4096;
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A [rows, stride] f32 activation buffer seen from column `offset` (default 0). */
export interface ActivationView {
  buffer: GPUBuffer;
  stride: number;
  offset?: number;
}

export interface LinearLayerSpec {
  inputs: number;
  outputs: number;
  activation: Activation;
  /** Names the buffers and the Adam groups (`<label>.weight`, `<label>.bias`). */
  label: string;
}

/** The row chunking of the dW reduction (depends on the row count only). */
export function linearChunking(rows: number): { chunks: number; chunkRows: number } {
  const chunks = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(rows / MIN_CHUNK_ROWS)));
  return { chunks, chunkRows: Math.max(1, Math.ceil(rows / chunks)) };
}

/** One layer's parameters [outputs, inputs] + [outputs] and their gradients (same shapes). */
export class LinearLayer {
  readonly inputs: number;
  readonly outputs: number;
  readonly activation: Activation;
  readonly label: string;
  /** [outputs, inputs] f32 row-major. */
  readonly weight: GPUBuffer;
  /** [outputs] f32 */
  readonly bias: GPUBuffer;
  /** [outputs, inputs] f32 dL/dW, accumulated by dispatchLinearBwd. */
  readonly dWeight: GPUBuffer;
  /** [outputs] f32 dL/db */
  readonly dBias: GPUBuffer;

  constructor(
    private readonly gpu: Gpu,
    spec: LinearLayerSpec,
    init: { weight: Float32Array; bias: Float32Array },
  ) {
    const { inputs, outputs, activation, label } = spec;
    if (!Number.isInteger(inputs) || inputs < 1 || !Number.isInteger(outputs) || outputs < 1) throw new Error(`linear '${label}': inputs ${inputs} and outputs ${outputs} must be positive integers`);
    if (activation !== 'relu' && activation !== 'none') throw new Error(`linear '${label}': activation '${activation as string}' is not relu or none`);
    if (init.weight.length !== inputs * outputs || init.bias.length !== outputs) {
      throw new Error(`linear '${label}': initial weight has ${init.weight.length} floats and bias ${init.bias.length}, need ${outputs} x ${inputs} and ${outputs}`);
    }
    this.inputs = inputs;
    this.outputs = outputs;
    this.activation = activation;
    this.label = label;
    const { device } = gpu;
    const make = (what: string, floats: number) => device.createBuffer({ label: `${label}.${what}`, size: floats * 4, usage: STORAGE });
    this.weight = make('weight', inputs * outputs);
    this.bias = make('bias', outputs);
    this.dWeight = make('dWeight', inputs * outputs);
    this.dBias = make('dBias', outputs);
    this.upload(init);
  }

  get parameterCount(): number {
    return this.outputs * (this.inputs + 1);
  }

  /** Replaces the parameters (queue.writeBuffer: lands before the next submit). */
  upload(p: { weight: Float32Array; bias: Float32Array }): void {
    if (p.weight.length !== this.inputs * this.outputs || p.bias.length !== this.outputs) throw new Error(`linear '${this.label}': upload needs ${this.outputs} x ${this.inputs} weights and ${this.outputs} biases`);
    const q = this.gpu.device.queue;
    q.writeBuffer(this.weight, 0, p.weight.buffer, p.weight.byteOffset, p.weight.byteLength);
    q.writeBuffer(this.bias, 0, p.bias.buffer, p.bias.byteOffset, p.bias.byteLength);
  }

  async download(): Promise<{ weight: Float32Array; bias: Float32Array; dWeight: Float32Array; dBias: Float32Array }> {
    const d = this.gpu.device;
    const n = this.inputs * this.outputs;
    return {
      weight: await readF32(d, this.weight, n),
      bias: await readF32(d, this.bias, this.outputs),
      dWeight: await readF32(d, this.dWeight, n),
      dBias: await readF32(d, this.dBias, this.outputs),
    };
  }

  clearGrads(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.dWeight);
    encoder.clearBuffer(this.dBias);
  }

  /** Two Adam groups, `<label>.weight` ([outputs] rows of `inputs`) and `<label>.bias` (one row). */
  adamGroups(lr: LrSchedule): AdamGroupSpec[] {
    return [
      { name: `${this.label}.weight`, params: this.weight, grads: this.dWeight, width: this.inputs, capacity: this.outputs, lr },
      { name: `${this.label}.bias`, params: this.bias, grads: this.dBias, width: this.outputs, capacity: 1, lr },
    ];
  }

  destroy(): void {
    for (const b of [this.weight, this.bias, this.dWeight, this.dBias]) b.destroy();
  }
}

interface BwdPipelines {
  mask: GPUComputePipeline;
  partial: GPUComputePipeline;
  reduce: GPUComputePipeline;
  /** By dX accumulate. */
  dx: [GPUComputePipeline, GPUComputePipeline];
}

/** Pipelines, the uniform cache and the backward's scratch buffers; one per device. */
export class LinearKernels {
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly scratch: Record<'partial' | 'grad', GPUBuffer>;
  private readonly retired: GPUBuffer[] = [];

  private constructor(
    private readonly gpu: Gpu,
    /** By `${relu}|${accumulate}`. */
    private readonly fwd: Map<string, GPUComputePipeline>,
    readonly bwd: BwdPipelines,
  ) {
    const make = (label: string) => gpu.device.createBuffer({ label, size: 4 * 4096, usage: GPUBufferUsage.STORAGE });
    this.scratch = { partial: make('linear-dw-partial'), grad: make('linear-grad') };
  }

  static async create(gpu: Gpu, cache: PipelineCache): Promise<LinearKernels> {
    const fwd = new Map<string, GPUComputePipeline>();
    const jobs: Promise<void>[] = [];
    for (const relu of [false, true]) {
      for (const acc of [false, true]) {
        jobs.push(cache.pipeline(FWD, 'linear', { RELU: Number(relu), ACCUMULATE: Number(acc) }).then((p) => void fwd.set(`${relu}|${acc}`, p)));
      }
    }
    const [mask, partial, reduce, dx0, dx1] = await Promise.all([
      cache.pipeline(BWD, 'linear_bwd_mask'),
      cache.pipeline(BWD, 'linear_bwd_dw_partial'),
      cache.pipeline(BWD, 'linear_bwd_dw_reduce'),
      cache.pipeline(BWD, 'linear_bwd_dx', { ACCUMULATE: 0 }),
      cache.pipeline(BWD, 'linear_bwd_dx', { ACCUMULATE: 1 }),
      ...jobs,
    ]);
    return new LinearKernels(gpu, fwd, { mask: mask!, partial: partial!, reduce: reduce!, dx: [dx0!, dx1!] });
  }

  get device(): GPUDevice {
    return this.gpu.device;
  }

  get maxWorkgroupsPerDimension(): number {
    return this.gpu.device.limits.maxComputeWorkgroupsPerDimension;
  }

  /**
   * An immutable uniform buffer holding `values`, shared by every call with the
   * same bytes. Evicted entries are dropped, not destroyed: an encoder not yet
   * submitted may still use them (the browser frees them once unreferenced).
   */
  uniform(layout: StructLayout, values: StructValues): GPUBuffer {
    const bytes = packStruct(layout, values);
    const key = `${layout.name}:${Array.from(new Uint32Array(bytes)).join(',')}`;
    const hit = this.uniforms.get(key);
    if (hit) {
      this.uniforms.delete(key);
      this.uniforms.set(key, hit);
      return hit;
    }
    const buf = this.gpu.device.createBuffer({ label: `${layout.name}`, size: bytes.byteLength, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(bytes));
    buf.unmap();
    this.uniforms.set(key, buf);
    if (this.uniforms.size > UNIFORM_CACHE_LIMIT) this.uniforms.delete(this.uniforms.keys().next().value!);
    return buf;
  }

  /**
   * A backward scratch buffer of at least `floats` f32. A grown one replaces the
   * old, which lives on until destroy() (encoded, unsubmitted calls may use it).
   */
  scratchBuffer(which: 'partial' | 'grad', floats: number): GPUBuffer {
    const cur = this.scratch[which];
    if (cur.size >= floats * 4) return cur;
    this.retired.push(cur);
    const grown = this.gpu.device.createBuffer({ label: cur.label, size: Math.max(floats * 4, cur.size * 2), usage: GPUBufferUsage.STORAGE });
    this.scratch[which] = grown;
    return grown;
  }

  forwardPipeline(relu: boolean, accumulate: boolean): GPUComputePipeline {
    return this.fwd.get(`${relu}|${accumulate}`)!;
  }

  destroy(): void {
    for (const b of this.uniforms.values()) b.destroy();
    this.uniforms.clear();
    for (const b of [...Object.values(this.scratch), ...this.retired]) b.destroy();
  }
}

function bind(device: GPUDevice, pipeline: GPUComputePipeline, entries: [number, GPUBuffer][], label: string): GPUBindGroup {
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: entries.map(([binding, buffer]) => ({ binding, resource: { buffer } })) });
}

/** Throws unless `view` holds `rows` rows of `width` floats from its offset. */
function checkView(what: string, layer: LinearLayer, view: ActivationView, rows: number, width: number): number {
  const offset = view.offset ?? 0;
  const where = `linear '${layer.label}': ${what}`;
  if (!Number.isInteger(view.stride) || !Number.isInteger(offset) || offset < 0 || offset + width > view.stride) {
    throw new Error(`${where}: columns [${offset}, ${offset + width}) do not fit a row stride of ${view.stride}`);
  }
  const need = ((rows - 1) * view.stride + offset + width) * 4;
  if (rows > 0 && view.buffer.size < need) throw new Error(`${where}: buffer '${view.buffer.label}' holds ${view.buffer.size} bytes, ${rows} rows of stride ${view.stride} need ${need}`);
  return offset;
}

function checkRows(layer: LinearLayer, rows: number) {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`linear '${layer.label}': rows ${rows} is not a non-negative integer`);
}

export interface LinearCall {
  rows: number;
  /** Input [rows, stride], columns offset..offset+inputs. */
  x: ActivationView;
  /** Output [rows, stride], columns offset..offset+outputs; not the buffer of x. */
  y: ActivationView;
  /** Add into y instead of overwriting it (layers without ReLU only). */
  accumulate?: boolean;
}

/** Y (= or +=) act(b + X Wᵀ) for rows < call.rows; timer label `linear`. */
export function dispatchLinear(encoder: GPUCommandEncoder, kernels: LinearKernels, layer: LinearLayer, call: LinearCall, timer?: GpuTimer): void {
  const { rows } = call;
  checkRows(layer, rows);
  const accumulate = call.accumulate ?? false;
  const relu = layer.activation === 'relu';
  // The backward reads the ReLU mask from Y; after an add it would be the sum's sign.
  if (relu && accumulate) throw new Error(`linear '${layer.label}': accumulate is only for layers without ReLU (the backward reads the mask from the output)`);
  if (call.x.buffer === call.y.buffer) throw new Error(`linear '${layer.label}': x and y must be different buffers (WebGPU forbids reading and writing one buffer in a dispatch)`);
  const xOffset = checkView('x', layer, call.x, rows, layer.inputs);
  const yOffset = checkView('y', layer, call.y, rows, layer.outputs);
  if (rows === 0) return;
  const colTiles = Math.ceil(layer.outputs / COL_TILE);
  const tiles = Math.ceil(rows / ROW_TILE) * colTiles;
  const uniform = kernels.uniform(fwdParams, {
    rows,
    inputs: layer.inputs,
    outputs: layer.outputs,
    x_stride: call.x.stride,
    x_offset: xOffset,
    y_stride: call.y.stride,
    y_offset: yOffset,
    col_tiles: colTiles,
    tiles,
  });
  const pipeline = kernels.forwardPipeline(relu, accumulate);
  const group = bind(kernels.device, pipeline, [[0, uniform], [1, call.x.buffer], [2, layer.weight], [3, layer.bias], [4, call.y.buffer]], `linear-${layer.label}`);
  const pass = timer ? timer.beginPass(encoder, 'linear') : encoder.beginComputePass({ label: 'linear' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGrid(pass, splitGrid(Math.ceil(tiles / WORKGROUP_SIZE), kernels.maxWorkgroupsPerDimension));
  pass.end();
}

export interface LinearBwdCall {
  rows: number;
  /** The forward's input. */
  x: ActivationView;
  /** The forward's output (its ReLU mask); may be omitted for layers without ReLU. */
  y?: ActivationView;
  /** dL/dY [rows, stride], columns offset..offset+outputs. */
  dy: ActivationView;
  /** dL/dX, written or added (dxAccumulate); omitted: not computed. Not dy's or y's buffer; may be x's. */
  dx?: ActivationView | null;
  dxAccumulate?: boolean;
}

/**
 * dW += gᵀX and dB += Σ_r g into layer.dWeight / dBias (g = dY masked by the
 * ReLU), then dX (= or +=) g W when asked; timer label `linear_bwd`.
 */
export function dispatchLinearBwd(encoder: GPUCommandEncoder, kernels: LinearKernels, layer: LinearLayer, call: LinearBwdCall, timer?: GpuTimer): void {
  const { rows } = call;
  checkRows(layer, rows);
  const relu = layer.activation === 'relu';
  if (relu && !call.y) throw new Error(`linear '${layer.label}': the backward of a ReLU layer needs the forward's output y (its mask)`);
  const y = call.y ?? call.dy;
  const xOffset = checkView('x', layer, call.x, rows, layer.inputs);
  const yOffset = checkView('y', layer, y, rows, layer.outputs);
  const dyOffset = checkView('dy', layer, call.dy, rows, layer.outputs);
  const dx = call.dx ?? null;
  const dxOffset = dx ? checkView('dx', layer, dx, rows, layer.inputs) : 0;
  if (dx && (dx.buffer === call.dy.buffer || dx.buffer === y.buffer)) throw new Error(`linear '${layer.label}': dx must not share a buffer with dy or y`);
  if (rows === 0) return;
  const { chunks, chunkRows } = linearChunking(rows);
  const { device, maxWorkgroupsPerDimension: maxDim, bwd } = kernels;
  const grid = (threads: number) => splitGrid(Math.ceil(threads / BWD_WORKGROUP_SIZE), maxDim);
  // g: dY itself, or through the ReLU into the dense scratch.
  const g: Required<ActivationView> = relu ? { buffer: kernels.scratchBuffer('grad', rows * layer.outputs), stride: layer.outputs, offset: 0 } : { buffer: call.dy.buffer, stride: call.dy.stride, offset: dyOffset };
  const dxColTiles = Math.ceil(layer.inputs / BWD_COL_TILE);
  const dwInTiles = Math.ceil((layer.inputs + 1) / BWD_COL_TILE);
  const dwChunkTiles = Math.ceil(layer.outputs / BWD_ROW_TILE) * dwInTiles;
  const common = {
    rows,
    inputs: layer.inputs,
    outputs: layer.outputs,
    x_stride: call.x.stride,
    x_offset: xOffset,
    y_stride: y.stride,
    y_offset: yOffset,
    dx_stride: dx?.stride ?? 0,
    dx_offset: dxOffset,
    dx_col_tiles: dxColTiles,
    dx_tiles: Math.ceil(rows / BWD_ROW_TILE) * dxColTiles,
    dw_in_tiles: dwInTiles,
    dw_chunk_tiles: dwChunkTiles,
    dw_tiles: chunks * dwChunkTiles,
    chunk_rows: chunkRows,
    chunks,
  };
  const partial = kernels.scratchBuffer('partial', chunks * layer.outputs * (layer.inputs + 1));
  const pass = timer ? timer.beginPass(encoder, 'linear_bwd') : encoder.beginComputePass({ label: 'linear_bwd' });
  if (relu) {
    const u = kernels.uniform(bwdParams, { ...common, g_stride: call.dy.stride, g_offset: dyOffset });
    pass.setPipeline(bwd.mask);
    pass.setBindGroup(0, bind(device, bwd.mask, [[0, u], [1, call.dy.buffer], [2, y.buffer], [3, g.buffer]], `linear-bwd-mask-${layer.label}`));
    dispatchGrid(pass, grid(rows * layer.outputs));
  }
  const uniform = kernels.uniform(bwdParams, { ...common, g_stride: g.stride, g_offset: g.offset });
  // dW first: dx may overwrite x (the forward's input) in place.
  pass.setPipeline(bwd.partial);
  pass.setBindGroup(0, bind(device, bwd.partial, [[0, uniform], [4, g.buffer], [5, call.x.buffer], [6, partial]], `linear-bwd-dw-${layer.label}`));
  dispatchGrid(pass, grid(common.dw_tiles));
  pass.setPipeline(bwd.reduce);
  pass.setBindGroup(0, bind(device, bwd.reduce, [[0, uniform], [9, partial], [10, layer.dWeight], [11, layer.dBias]], `linear-bwd-reduce-${layer.label}`));
  dispatchGrid(pass, grid(layer.outputs * (layer.inputs + 1)));
  if (dx) {
    const p = bwd.dx[call.dxAccumulate ? 1 : 0];
    pass.setPipeline(p);
    pass.setBindGroup(0, bind(device, p, [[0, uniform], [4, g.buffer], [7, layer.weight], [8, dx.buffer]], `linear-bwd-dx-${layer.label}`));
    dispatchGrid(pass, grid(common.dx_tiles));
  }
  pass.end();
}
