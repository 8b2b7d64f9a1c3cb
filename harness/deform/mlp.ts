// The MLP deformation field of Deformable 3D Gaussians on the GPU (config,
// layout and CPU references: mlp_ref.ts). Forward (timer labels): mlp (the
// positional encoding of the detached canonical means and the call's time,
// wgsl/mlp.wgsl) → linear × depth (ReLU) → linear × 3 heads, each added straight
// into the deformed buffers after canonical rows are copied there (so
// out = canonical + Δ with no extra pass). Backward: mlp_bwd (identity path
// into dCanonical) → linear_bwd × 3 heads (their dX summed into dH) → linear_bwd
// × depth, down to layer 0 (no dX: nothing upstream needs it).
//
// Activations: enc [rows, E]; one [rows, W] buffer per hidden layer, except that
// h_skipAt lives in columns [E, E + W) of cat [rows, E + W] whose first E
// columns the encoding kernel also fills, so the skip concatenation costs no
// copy. Gradients ping-pong between two [rows, W] buffers, and dCat [rows, E + W]
// for the skip layer's dX (its encoding columns are computed and ignored).
//
// Per-call time: each encodeForward binds an immutable uniform holding its time
// (LinearKernels.uniform), so several frames in one encoder each see their own.
import mlpSource from '../../wgsl/mlp.wgsl';
import mlpBwdSource from '../../wgsl/mlp_bwd.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { WgslLayouts } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import { readF32 } from '../gpu/readback.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { AdamGroupSpec } from '../splat/adam.ts';
import type { DeformBuffers, DeformationField } from './field.ts';
import { dispatchLinear, dispatchLinearBwd, LinearKernels, LinearLayer } from './linear.ts';
import { encodingWidth, initMlpParams, mlpLayers, validateMlpConfig, type MlpFieldConfig, type MlpParams } from './mlp_ref.ts';

export { MLP_PAPER, mlpFieldConfig, type MlpFieldConfig } from './mlp_ref.ts';

const fwdLayouts = new WgslLayouts(mlpSource);
const bwdLayouts = new WgslLayouts(mlpBwdSource);
const ENCODE_WG = fwdLayouts.constant('WORKGROUP_SIZE');
const IDENTITY_WG = bwdLayouts.constant('WORKGROUP_SIZE');
const encodeParams = fwdLayouts.struct('MlpEncodeParams');
const identityParams = bwdLayouts.struct('MlpIdentityParams');
const FWD: ShaderSource = { label: 'mlp', code: mlpSource };
const BWD: ShaderSource = { label: 'mlp_bwd', code: mlpBwdSource };
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const GROUPS = [['means', 3], ['log_scales', 3], ['quats', 4]] as const;

export interface MlpFieldOptions {
  /** Initial row capacity (Gaussians); reserve() grows it. Default 0. */
  rows?: number;
  /** Share one LinearKernels per device (default: the field makes its own). */
  kernels?: LinearKernels;
  /** Parameters to start from instead of the config's initialisation (by name, see download()). */
  params?: MlpParams;
}

interface Activations {
  rows: number;
  enc: GPUBuffer;
  /** h_k by hidden layer; h_skipAt is `cat` (columns from E). */
  hidden: GPUBuffer[];
  cat: GPUBuffer | null;
  dA: GPUBuffer;
  dB: GPUBuffer;
  dCat: GPUBuffer | null;
}

interface LastForward {
  count: number;
}

export class MlpField implements DeformationField {
  readonly kind = 'mlp' as const;
  readonly parameterCount: number;
  /** Encoding width E = 3 + 6·L_x + 1 + 2·L_t. */
  readonly encodingWidth: number;
  private act: Activations | null = null;
  private last: LastForward | null = null;
  /** Stands in for `cat` when there is no skip (the binding must exist). */
  private readonly dummy: GPUBuffer;

  private constructor(
    private readonly gpu: Gpu,
    readonly config: MlpFieldConfig,
    private readonly kernels: LinearKernels,
    private readonly ownsKernels: boolean,
    private readonly layers: LinearLayer[],
    private readonly pipes: { encode: GPUComputePipeline; identity: GPUComputePipeline },
  ) {
    this.encodingWidth = encodingWidth(config).total;
    this.parameterCount = layers.reduce((s, l) => s + l.parameterCount, 0);
    this.dummy = gpu.device.createBuffer({ label: 'mlp-no-cat', size: 4, usage: GPUBufferUsage.STORAGE });
  }

  /** A field with the config's initial parameters (seeded; zero heads with zeroHeads). */
  static async create(gpu: Gpu, cache: PipelineCache, config: MlpFieldConfig, options: MlpFieldOptions = {}): Promise<MlpField> {
    validateMlpConfig(config);
    const rows = options.rows ?? 0;
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`mlp field: rows ${rows} must be a non-negative integer`);
    const kernels = options.kernels ?? (await LinearKernels.create(gpu, cache));
    const [encode, identity] = await Promise.all([cache.pipeline(FWD, 'mlp_encode', { HAS_CAT: Number(config.skipAt !== null) }), cache.pipeline(BWD, 'mlp_identity_bwd')]);
    const params = options.params ?? initMlpParams(config);
    const layers = mlpLayers(config).map((l) => {
      const weight = params[`${l.name}.weight`];
      const bias = params[`${l.name}.bias`];
      if (!weight || !bias) throw new Error(`mlp field: params lack '${l.name}.weight' or '${l.name}.bias'`);
      return new LinearLayer(gpu, { inputs: l.inputs, outputs: l.outputs, activation: l.activation, label: `mlp.${l.name}` }, { weight, bias });
    });
    const field = new MlpField(gpu, config, kernels, !options.kernels, layers, { encode, identity });
    await field.reserve(rows);
    return field;
  }

  get rows(): number {
    return this.act?.rows ?? 0;
  }

  async reserve(rows: number): Promise<void> {
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`mlp field: rows ${rows} must be a non-negative integer`);
    if (this.act && rows <= this.act.rows) return;
    const n = Math.max(1, rows);
    const { width: W, depth, skipAt } = this.config;
    const E = this.encodingWidth;
    const make = (label: string, floats: number) => this.gpu.device.createBuffer({ label: `mlp-${label}`, size: n * floats * 4, usage: STORAGE });
    const cat = skipAt !== null ? make('cat', E + W) : null;
    const old = this.act;
    this.act = {
      rows: n,
      enc: make('enc', E),
      hidden: Array.from({ length: depth }, (_, k) => (k === skipAt ? cat! : make(`h${k}`, W))),
      cat,
      dA: make('dA', W),
      dB: make('dB', W),
      dCat: skipAt !== null ? make('dcat', E + W) : null,
    };
    this.last = null;
    // Only already-submitted work may use the old buffers (the interface's contract).
    if (old) for (const b of new Set([old.enc, ...old.hidden, old.dA, old.dB, ...(old.cat ? [old.cat] : []), ...(old.dCat ? [old.dCat] : [])])) b.destroy();
  }

  encodeForward(encoder: GPUCommandEncoder, canonical: DeformBuffers, count: number, time: number, out: DeformBuffers, timer?: GpuTimer): void {
    const act = this.act;
    if (!act || count > act.rows) throw new Error(`mlp field: ${count} rows but room for ${act?.rows ?? 0} (await reserve(n) first)`);
    if (!Number.isInteger(count) || count < 0) throw new Error(`mlp field: count ${count} is not a non-negative integer`);
    if (!Number.isFinite(time)) throw new Error(`mlp field: time ${time} is not finite`);
    for (const [g, width] of GROUPS) {
      if (out[g] === canonical[g]) throw new Error(`mlp field: out.${g} must not be canonical.${g} (the forward copies canonical rows there)`);
      for (const [what, b] of [['canonical', canonical[g]], ['out', out[g]]] as const) {
        if (b.size < count * width * 4) throw new Error(`mlp field: ${what}.${g} '${b.label}' holds ${b.size} bytes, ${count} rows need ${count * width * 4}`);
      }
    }
    this.last = { count };
    if (count === 0) return;
    const { skipAt, depth, width: W } = this.config;
    const E = this.encodingWidth;
    const { device } = this.gpu;
    const k = this.kernels;
    const uniform = k.uniform(encodeParams, {
      count,
      pos_freqs: this.config.posFreqs,
      time_freqs: this.config.timeFreqs,
      enc_stride: E,
      cat_stride: act.cat ? E + W : 0,
      time,
    });
    const pass = timer ? timer.beginPass(encoder, 'mlp') : encoder.beginComputePass({ label: 'mlp' });
    pass.setPipeline(this.pipes.encode);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: this.pipes.encode.getBindGroupLayout(0),
        entries: [uniform, canonical.means, act.enc, act.cat ?? this.dummy].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    dispatchGrid(pass, splitGrid(Math.ceil(count / ENCODE_WG), k.maxWorkgroupsPerDimension));
    pass.end();
    for (let l = 0; l < depth; l++) {
      dispatchLinear(encoder, k, this.layers[l]!, { rows: count, x: this.layerInput(l), y: this.hiddenView(l) }, timer);
    }
    const h = this.hiddenView(depth - 1);
    for (const [j, g] of (['means', 'quats', 'log_scales'] as const).entries()) {
      const width = g === 'quats' ? 4 : 3;
      encoder.copyBufferToBuffer(canonical[g], 0, out[g], 0, count * width * 4);
      dispatchLinear(encoder, k, this.layers[depth + j]!, { rows: count, x: h, y: { buffer: out[g], stride: width }, accumulate: true }, timer);
    }
  }

  encodeBackward(encoder: GPUCommandEncoder, dOut: DeformBuffers, dCanonical: DeformBuffers | null, timer?: GpuTimer): void {
    const last = this.last;
    const act = this.act;
    if (!last || !act) throw new Error('mlp field: encodeBackward needs an encodeForward first (since the last reserve)');
    const { count } = last;
    for (const [g, width] of GROUPS) {
      for (const [what, b] of [['dOut', dOut[g]], ['dCanonical', dCanonical?.[g]]] as const) {
        if (b && b.size < count * width * 4) throw new Error(`mlp field: ${what}.${g} '${b.label}' holds ${b.size} bytes, ${count} rows need ${count * width * 4}`);
      }
    }
    if (count === 0) return;
    const { depth, skipAt, width: W } = this.config;
    const E = this.encodingWidth;
    const k = this.kernels;
    const { device } = this.gpu;
    if (dCanonical) {
      const pass = timer ? timer.beginPass(encoder, 'mlp_bwd') : encoder.beginComputePass({ label: 'mlp_bwd' });
      pass.setPipeline(this.pipes.identity);
      for (const [g, width] of GROUPS) {
        const n = count * width;
        const u = k.uniform(identityParams, { n });
        pass.setBindGroup(
          0,
          device.createBindGroup({ layout: this.pipes.identity.getBindGroupLayout(0), entries: [u, dOut[g], dCanonical[g]].map((buffer, binding) => ({ binding, resource: { buffer } })) }),
        );
        dispatchGrid(pass, splitGrid(Math.ceil(n / IDENTITY_WG), k.maxWorkgroupsPerDimension));
      }
      pass.end();
    }
    // dH of the last hidden layer: the heads' dX, summed.
    let dh: GPUBuffer = act.dA;
    const h = this.hiddenView(depth - 1);
    for (const [j, g] of (['means', 'quats', 'log_scales'] as const).entries()) {
      const width = g === 'quats' ? 4 : 3;
      dispatchLinearBwd(encoder, k, this.layers[depth + j]!, { rows: count, x: h, dy: { buffer: dOut[g], stride: width }, dx: { buffer: dh, stride: W }, dxAccumulate: j > 0 }, timer);
    }
    let dyView: { buffer: GPUBuffer; stride: number; offset: number } = { buffer: dh, stride: W, offset: 0 };
    for (let l = depth - 1; l >= 0; l--) {
      const skipInput = skipAt !== null && l === skipAt + 1;
      let dx: { buffer: GPUBuffer; stride: number; offset: number } | null = null;
      if (l > 0) {
        const next = dyView.buffer === act.dA ? act.dB : act.dA;
        dx = skipInput ? { buffer: act.dCat!, stride: E + W, offset: 0 } : { buffer: next, stride: W, offset: 0 };
      }
      dispatchLinearBwd(encoder, k, this.layers[l]!, { rows: count, x: this.layerInput(l), y: this.hiddenView(l), dy: dyView, dx }, timer);
      if (dx) dyView = skipInput ? { buffer: act.dCat!, stride: E + W, offset: E } : dx;
    }
  }

  clearGrads(encoder: GPUCommandEncoder): void {
    for (const l of this.layers) l.clearGrads(encoder);
  }

  adamGroups(): AdamGroupSpec[] {
    return this.layers.flatMap((l) => l.adamGroups(this.config.lr));
  }

  /** Parameters by Adam group name (`mlp.layer0.weight`, …, `mlp.scaling.bias`). */
  async download(): Promise<Record<string, Float32Array>> {
    return this.read((l) => [l.weight, l.bias]);
  }

  /** Gradients by the same names. */
  async downloadGrads(): Promise<Record<string, Float32Array>> {
    return this.read((l) => [l.dWeight, l.dBias]);
  }

  destroy(): void {
    for (const l of this.layers) l.destroy();
    if (this.act) this.reserveDestroy(this.act);
    this.act = null;
    this.dummy.destroy();
    if (this.ownsKernels) this.kernels.destroy();
  }

  private reserveDestroy(a: Activations) {
    for (const b of new Set([a.enc, ...a.hidden, a.dA, a.dB, ...(a.cat ? [a.cat] : []), ...(a.dCat ? [a.dCat] : [])])) b.destroy();
  }

  private async read(pick: (l: LinearLayer) => [GPUBuffer, GPUBuffer]): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const l of this.layers) {
      const [w, b] = pick(l);
      out[`${l.label}.weight`] = await readF32(this.gpu.device, w, l.inputs * l.outputs);
      out[`${l.label}.bias`] = await readF32(this.gpu.device, b, l.outputs);
    }
    return out;
  }

  /** Layer l's input view: enc, cat (the layer after the skip), or h_{l−1}. */
  private layerInput(l: number): { buffer: GPUBuffer; stride: number; offset: number } {
    const act = this.act!;
    const { skipAt, width: W } = this.config;
    const E = this.encodingWidth;
    if (l === 0) return { buffer: act.enc, stride: E, offset: 0 };
    if (skipAt !== null && l === skipAt + 1) return { buffer: act.cat!, stride: E + W, offset: 0 };
    return this.hiddenView(l - 1);
  }

  private hiddenView(l: number): { buffer: GPUBuffer; stride: number; offset: number } {
    const act = this.act!;
    const { skipAt, width: W } = this.config;
    if (l === skipAt) return { buffer: act.cat!, stride: this.encodingWidth + W, offset: this.encodingWidth };
    return { buffer: act.hidden[l]!, stride: W, offset: 0 };
  }
}

/** Records out = canonical + field(canonical.means, time) for rows < count; timer labels mlp, linear. */
export function dispatchMlp(encoder: GPUCommandEncoder, field: MlpField, canonical: DeformBuffers, count: number, time: number, out: DeformBuffers, timer?: GpuTimer): void {
  field.encodeForward(encoder, canonical, count, time, out, timer);
}

/** Records the backward of the field's latest forward; labels mlp_bwd, linear_bwd. */
export function dispatchMlpBwd(encoder: GPUCommandEncoder, field: MlpField, dOut: DeformBuffers, dCanonical: DeformBuffers | null, timer?: GpuTimer): void {
  field.encodeBackward(encoder, dOut, dCanonical, timer);
}

/** The page-context factory: MlpField.create with the context's device and pipeline cache. */
export function createMlpField(ctx: { gpu: Gpu; cache: PipelineCache }, config: MlpFieldConfig, options: MlpFieldOptions = {}): Promise<MlpField> {
  return MlpField.create(ctx.gpu, ctx.cache, config, options);
}
