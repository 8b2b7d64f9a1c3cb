// Image losses on the GPU (wgsl/loss.wgsl): weighted RGB MSE, RGB L1, D-SSIM and
// alpha MSE of a rendered [H,W,4] image against a target, optionally weighted per
// pixel by a mask, with d(loss)/d(render) added into a gradient image. Conventions
// (normalisation, SSIM borders) are stated at the top of wgsl/loss.wgsl; the CPU
// reference is refLoss (loss_ref.ts).
//
// D-SSIM here is (1 − SSIM)/2. The 3DGS / Deformable-3DGS code writes
// λ·(1 − ssim), which is weight 2λ in this convention.
//
// A LossPlan is built once per image size and holds the scratch images, the run
// sums, the loss values and the uniform slots. Values accumulate on the GPU over
// calls (several views add up) until clearValues(); nothing is read back unless
// readValues() is called.
import lossSource from '../../wgsl/loss.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid, type Grid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import { readBuffer } from '../gpu/readback.ts';
import type { GpuTimer } from '../gpu/timer.ts';

const layouts = new WgslLayouts(lossSource);
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const RUN_BLOCK = layouts.constant('RUN_BLOCK');
const paramsLayout = layouts.struct('LossParams');
const valuesLayout = layouts.struct('LossValues');
const normLayout = layouts.struct('LossNorm');
const SHADER: ShaderSource = { label: 'loss', code: lossSource };

/** Loss terms' weights; a missing term weighs 0. */
export interface LossWeights {
  rgbMse?: number;
  rgbL1?: number;
  dssim?: number;
  alphaMse?: number;
}

/** Sums over the dispatchLoss calls since the last clearValues(). */
export interface LossValues {
  rgbMse: number;
  rgbL1: number;
  /** (1 − SSIM)/2; 0 for calls that skipped the D-SSIM kernels. */
  dssim: number;
  alphaMse: number;
  /** Σ weight · term. */
  total: number;
  /** Σ mask (H·W per call without a mask). */
  maskSum: number;
  calls: number;
}

type Binding = GPUBuffer | GPUBufferBinding;

export interface LossInputs {
  /** [H,W,4] f32 rendered RGBA. */
  render: Binding;
  /** [H,W,4] f32 target RGBA; alpha is the target mask for the alphaMse term. */
  target: Binding;
  /** [H,W] f32 per-pixel weights in [0,1]; omitted: every pixel weighs 1. */
  mask?: Binding | null;
  /** [H,W,4] f32 d(loss)/d(render), added to (clear it first for a fresh gradient). */
  grad: Binding;
}

export interface DispatchLossOptions {
  timer?: GpuTimer;
  /** Run the D-SSIM kernels (default: only when weights.dssim is non-zero). */
  ssim?: boolean;
}

const ENTRIES = ['ssim_fwd_h', 'ssim_fwd_v', 'ssim_bwd_h', 'reduce_runs', 'reduce_final', 'loss_grad'] as const;
type Entry = (typeof ENTRIES)[number];

// Binding numbers each entry point uses ('auto' layouts hold only those); see the
// @binding declarations in wgsl/loss.wgsl.
const USES: Record<Entry, number[]> = {
  ssim_fwd_h: [0, 1, 2, 5],
  ssim_fwd_v: [0, 3, 5, 6],
  ssim_bwd_h: [0, 5, 6],
  reduce_runs: [0, 1, 2, 3, 6, 7],
  reduce_final: [0, 7, 8, 9],
  loss_grad: [0, 1, 2, 3, 4, 5, 9],
};

function bindingSize(b: Binding): number {
  return 'buffer' in b ? (b.size ?? b.buffer.size - (b.offset ?? 0)) : b.size;
}

function asBinding(b: Binding): GPUBufferBinding {
  return 'buffer' in b ? b : { buffer: b };
}

export interface LossPlanOptions {
  /**
   * dispatchLoss calls that may be encoded before the queue runs them. Each call
   * writes its weights into its own uniform slot with queue.writeBuffer, which
   * takes effect at the next submit; a slot reused before then would give an
   * earlier call the later call's weights. One encoder taking more calls than
   * this throws.
   */
  slots?: number;
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

export class LossPlan {
  private slot = 0;
  private readonly callsPerEncoder = new WeakMap<GPUCommandEncoder, number>();

  private constructor(
    private readonly gpu: Gpu,
    readonly width: number,
    readonly height: number,
    private readonly pipelines: Record<Entry, GPUComputePipeline>,
    private readonly pixelGrid: Grid,
    private readonly runGrid: Grid,
    private readonly params: GPUBuffer,
    private readonly slotStride: number,
    readonly slots: number,
    private readonly blur: GPUBuffer,
    private readonly partials: GPUBuffer,
    private readonly runSums: GPUBuffer,
    /** LossValues struct (wgsl/loss.wgsl), accumulated over calls. */
    readonly values: GPUBuffer,
    private readonly norm: GPUBuffer,
    /** Stands in for the mask binding when there is no mask (never read then). */
    private readonly noMask: GPUBuffer,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache, width: number, height: number, options: LossPlanOptions = {}): Promise<LossPlan> {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`loss: image size ${width}x${height} is not a positive integer size`);
    }
    const { device } = gpu;
    const n = width * height;
    // The D-SSIM scratch is the largest binding: 5 vec4 planes.
    if (n * 5 * 16 > device.limits.maxStorageBufferBindingSize) throw new Error(`loss: ${width}x${height} exceeds the storage binding limit`);
    const maxPerDim = options.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension;
    const slots = options.slots ?? 64;
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`loss: slots must be a positive integer, got ${slots}`);
    const entries = await Promise.all(ENTRIES.map((e) => cache.pipeline(SHADER, e)));
    const pipelines = Object.fromEntries(ENTRIES.map((e, i) => [e, entries[i]!])) as Record<Entry, GPUComputePipeline>;
    const slotStride = Math.ceil(paramsLayout.size / device.limits.minUniformBufferOffsetAlignment) * device.limits.minUniformBufferOffsetAlignment;
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const runWorkgroups = Math.ceil(n / RUN_BLOCK);
    return new LossPlan(
      gpu,
      width,
      height,
      pipelines,
      splitGrid(Math.ceil(n / WORKGROUP_SIZE), maxPerDim),
      splitGrid(runWorkgroups, maxPerDim),
      device.createBuffer({ label: 'loss-params', size: slotStride * slots, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
      slotStride,
      slots,
      device.createBuffer({ label: 'loss-blur', size: n * 5 * 16, usage: storage }),
      device.createBuffer({ label: 'loss-partials', size: n * 3 * 16, usage: storage }),
      device.createBuffer({ label: 'loss-run-sums', size: runWorkgroups * WORKGROUP_SIZE * 2 * 16, usage: storage }),
      device.createBuffer({ label: 'loss-values', size: valuesLayout.size, usage: storage }),
      device.createBuffer({ label: 'loss-norm', size: normLayout.size, usage: storage }),
      device.createBuffer({ label: 'loss-no-mask', size: 4, usage: GPUBufferUsage.STORAGE }),
    );
  }

  get pixels(): number {
    return this.width * this.height;
  }

  /** Zeroes the accumulated loss values (encoded, not submitted). */
  clearValues(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.values);
  }

  /** Reads the accumulated values back: the only readback of the loss. */
  async readValues(): Promise<LossValues> {
    const view = new DataView(await readBuffer(this.gpu.device, this.values, 0, valuesLayout.size));
    const f = (name: string) => view.getFloat32(valuesLayout.field(name).offset, true);
    return {
      rgbMse: f('rgb_mse'),
      rgbL1: f('rgb_l1'),
      dssim: f('dssim'),
      alphaMse: f('alpha_mse'),
      total: f('total'),
      maskSum: f('mask_sum'),
      calls: f('calls'),
    };
  }

  encode(encoder: GPUCommandEncoder, inputs: LossInputs, weights: LossWeights, options: DispatchLossOptions = {}): void {
    const n = this.pixels;
    const checks: [string, Binding | null | undefined, number][] = [
      ['render', inputs.render, n * 16],
      ['target', inputs.target, n * 16],
      ['grad', inputs.grad, n * 16],
      ['mask', inputs.mask, n * 4],
    ];
    for (const [name, b, bytes] of checks) {
      if (b && bindingSize(b) < bytes) throw new Error(`loss: '${name}' binding holds ${bindingSize(b)} bytes, a ${this.width}x${this.height} image needs ${bytes}`);
    }
    const w = { rgbMse: weights.rgbMse ?? 0, rgbL1: weights.rgbL1 ?? 0, dssim: weights.dssim ?? 0, alphaMse: weights.alphaMse ?? 0 };
    for (const [k, v] of Object.entries(w)) if (!Number.isFinite(v)) throw new Error(`loss: weight ${k} = ${v} is not finite`);
    const useSsim = options.ssim ?? w.dssim !== 0;

    const used = (this.callsPerEncoder.get(encoder) ?? 0) + 1;
    if (used > this.slots) throw new Error(`loss: more than ${this.slots} dispatchLoss calls on one encoder (raise LossPlanOptions.slots or submit in between)`);
    this.callsPerEncoder.set(encoder, used);
    const offset = this.slot * this.slotStride;
    this.slot = (this.slot + 1) % this.slots;
    this.gpu.device.queue.writeBuffer(
      this.params,
      offset,
      packStruct(paramsLayout, {
        width: this.width,
        height: this.height,
        has_mask: inputs.mask ? 1 : 0,
        use_ssim: useSsim ? 1 : 0,
        w_rgb_mse: w.rgbMse,
        w_rgb_l1: w.rgbL1,
        w_dssim: w.dssim,
        w_alpha_mse: w.alphaMse,
      }),
    );

    const resources: GPUBufferBinding[] = [
      { buffer: this.params, offset, size: paramsLayout.size },
      asBinding(inputs.render),
      asBinding(inputs.target),
      asBinding(inputs.mask ?? this.noMask),
      asBinding(inputs.grad),
      { buffer: this.blur },
      { buffer: this.partials },
      { buffer: this.runSums },
      { buffer: this.values },
      { buffer: this.norm },
    ];
    const { device } = this.gpu;
    const run = (pass: GPUComputePassEncoder, entry: Entry, grid: Grid) => {
      const pipeline = this.pipelines[entry];
      pass.setPipeline(pipeline);
      pass.setBindGroup(
        0,
        device.createBindGroup({
          label: `loss:${entry}`,
          layout: pipeline.getBindGroupLayout(0),
          entries: USES[entry].map((binding) => ({ binding, resource: resources[binding]! })),
        }),
      );
      dispatchGrid(pass, grid);
    };
    // One pass: dispatches within it are ordered, each seeing the previous ones' writes.
    const pass = options.timer ? options.timer.beginPass(encoder, 'loss') : encoder.beginComputePass({ label: 'loss' });
    if (useSsim) {
      run(pass, 'ssim_fwd_h', this.pixelGrid);
      run(pass, 'ssim_fwd_v', this.pixelGrid);
      run(pass, 'ssim_bwd_h', this.pixelGrid);
    }
    run(pass, 'reduce_runs', this.runGrid);
    run(pass, 'reduce_final', { x: 1, y: 1 });
    run(pass, 'loss_grad', this.pixelGrid);
    pass.end();
  }

  destroy(): void {
    for (const b of [this.params, this.blur, this.partials, this.runSums, this.values, this.norm, this.noMask]) b.destroy();
  }
}

/**
 * Adds d(loss)/d(render) into `inputs.grad` and the loss values into `plan.values`.
 * No readback; see LossPlanOptions.slots for how many calls one submit may carry.
 */
export function dispatchLoss(encoder: GPUCommandEncoder, plan: LossPlan, inputs: LossInputs, weights: LossWeights, options: DispatchLossOptions = {}): void {
  plan.encode(encoder, inputs, weights, options);
}

/** The accumulated loss values (one readback). */
export function readLossValues(plan: LossPlan): Promise<LossValues> {
  return plan.readValues();
}
