// Adam on the GPU (wgsl/adam.wgsl): one optimiser over several parameter groups,
// each with its own learning-rate schedule, its first/second moment buffers, and
// the shared step count. The host evaluates the schedule and the bias corrections
// for each step and writes them as a uniform (queue.writeBuffer), so a step needs
// no readback. CPU reference: refAdam (adam_ref.ts).
//
// Densification reorders and compacts rows: it must move the moments with the
// parameters. state(group) exposes the moment buffers ([capacity, width] f32,
// same row order as the parameters) for it to gather.
import adamSource from '../../wgsl/adam.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import { bindBuffers, type PipelineCache, type ShaderSource } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, learningRate, validateSchedule, type LrSchedule } from './adam_ref.ts';

export { learningRate, type LrSchedule } from './adam_ref.ts';

const layouts = new WgslLayouts(adamSource);
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const paramsLayout = layouts.struct('AdamParams');
const SHADER: ShaderSource = { label: 'adam', code: adamSource };

export interface AdamGroupSpec {
  name: string;
  /** [capacity, width] f32 parameters, updated in place. */
  params: GPUBuffer;
  /** [capacity, width] f32 gradients. */
  grads: GPUBuffer;
  /** Floats per row. */
  width: number;
  /** Rows the buffers hold (the moments are allocated this large). */
  capacity: number;
  lr: LrSchedule;
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

/** What Adam.forModel needs of a GaussianModel (harness/splat/model.ts). */
export interface AdamModelLike {
  readonly capacity: number;
  readonly params: Record<string, GPUBuffer>;
  readonly grads: Record<string, GPUBuffer>;
  // Method syntax: GaussianModel's width(g: ParamGroup) fits (parameters are bivariant).
  width(group: string): number;
}

/** Rows to update: one count for every group, or per group (missing: the group's capacity). */
export type AdamRows = number | Record<string, number>;

interface Group {
  spec: AdamGroupSpec;
  m: GPUBuffer;
  v: GPUBuffer;
  uniform: GPUBuffer;
  bind: GPUBindGroup | null;
  /** The learning rate of the last step (NaN before the first). */
  lastLr: number;
}

export class Adam {
  private t = 0;
  private readonly stepped = new WeakSet<GPUCommandEncoder>();

  private constructor(
    private readonly gpu: Gpu,
    private readonly pipeline: GPUComputePipeline,
    private readonly groups: Map<string, Group>,
    readonly beta1: number,
    readonly beta2: number,
    readonly eps: number,
    private readonly maxPerDim: number,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache, specs: AdamGroupSpec[], options: AdamOptions = {}): Promise<Adam> {
    const { device } = gpu;
    const groups = new Map<string, Group>();
    const beta1 = options.beta1 ?? ADAM_BETA1;
    const beta2 = options.beta2 ?? ADAM_BETA2;
    const eps = options.eps ?? ADAM_EPS;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0)) throw new Error(`adam: need 0 <= beta < 1 and eps >= 0 (got ${beta1}, ${beta2}, ${eps})`);
    for (const spec of specs) {
      if (groups.has(spec.name)) throw new Error(`adam: group '${spec.name}' given twice`);
      validateSchedule(spec.lr, `adam group '${spec.name}'`);
      if (!Number.isInteger(spec.width) || spec.width < 1 || !Number.isInteger(spec.capacity) || spec.capacity < 0) {
        throw new Error(`adam group '${spec.name}': width ${spec.width} and capacity ${spec.capacity} must be integers (width >= 1)`);
      }
      const bytes = spec.capacity * spec.width * 4;
      for (const [what, b] of [['params', spec.params], ['grads', spec.grads]] as const) {
        if (b.size < bytes) throw new Error(`adam group '${spec.name}': ${what} buffer holds ${b.size} bytes, ${spec.capacity} x ${spec.width} f32 need ${bytes}`);
      }
      const size = Math.max(4, bytes);
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      // Fresh buffers are zero-filled: moments start at 0 as in torch.
      groups.set(spec.name, {
        spec: { ...spec },
        m: device.createBuffer({ label: `adam-m-${spec.name}`, size, usage }),
        v: device.createBuffer({ label: `adam-v-${spec.name}`, size, usage }),
        uniform: device.createBuffer({ label: `adam-params-${spec.name}`, size: paramsLayout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
        bind: null,
        lastLr: Number.NaN,
      });
    }
    const pipeline = await cache.pipeline(SHADER, 'adam_step');
    return new Adam(gpu, pipeline, groups, beta1, beta2, eps, options.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension);
  }

  /** One group per GaussianModel parameter group that has a schedule in `lr`. */
  static forModel(gpu: Gpu, cache: PipelineCache, model: AdamModelLike, lr: Record<string, LrSchedule>, options: AdamOptions = {}): Promise<Adam> {
    const specs = Object.entries(lr).map(([name, schedule]) => {
      if (!(name in model.params)) throw new Error(`adam: the model has no parameter group '${name}'`);
      return { name, params: model.params[name]!, grads: model.grads[name]!, width: model.width(name), capacity: model.capacity, lr: schedule };
    });
    return Adam.create(gpu, cache, specs, options);
  }

  /** Steps taken so far (the bias-correction t of the last step). */
  get stepCount(): number {
    return this.t;
  }

  get groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** The first and second moment buffers, [capacity, width] f32 in parameter row order. */
  state(name: string): { m: GPUBuffer; v: GPUBuffer } {
    const g = this.group(name);
    return { m: g.m, v: g.v };
  }

  /** The rate a group's schedule gives at `step` (default: the next step's). */
  lr(name: string, step = this.t + 1): number {
    return learningRate(this.group(name).spec.lr, step);
  }

  /** The rate the last step used for a group (NaN before the first step). */
  lastLr(name: string): number {
    return this.group(name).lastLr;
  }

  setSchedule(name: string, schedule: LrSchedule): void {
    validateSchedule(schedule, `adam group '${name}'`);
    this.group(name).spec.lr = schedule;
  }

  /**
   * Encodes one step of every group (rows < count only) and advances the step
   * count. The step's uniforms are written with queue.writeBuffer, which takes
   * effect at the next submit: submit each step's encoder before encoding the
   * next step (a second step on the same encoder throws).
   */
  step(encoder: GPUCommandEncoder, rows?: AdamRows, timer?: GpuTimer): void {
    if (this.stepped.has(encoder)) throw new Error('adam: a second step on one encoder would reuse the first step\'s uniforms; submit in between');
    const counts = new Map<string, number>();
    for (const [name, g] of this.groups) {
      const count = rows === undefined ? g.spec.capacity : typeof rows === 'number' ? rows : (rows[name] ?? g.spec.capacity);
      if (!Number.isInteger(count) || count < 0 || count > g.spec.capacity) throw new Error(`adam group '${name}': row count ${count} is not in [0, ${g.spec.capacity}]`);
      counts.set(name, count);
    }
    if (typeof rows === 'object') for (const name of Object.keys(rows)) this.group(name);
    this.stepped.add(encoder);
    const t = ++this.t;
    // Bias corrections in float64 on the host; only their f32 values reach the GPU.
    const bc1 = 1 - this.beta1 ** t;
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** t);
    const { device } = this.gpu;
    const pass = timer ? timer.beginPass(encoder, 'adam') : encoder.beginComputePass({ label: 'adam' });
    pass.setPipeline(this.pipeline);
    for (const [name, g] of this.groups) {
      const lr = learningRate(g.spec.lr, t);
      g.lastLr = lr;
      const n = counts.get(name)! * g.spec.width;
      device.queue.writeBuffer(
        g.uniform,
        0,
        packStruct(paramsLayout, { n, step_size: lr / bc1, bias_c2_sqrt: bc2Sqrt, beta1: this.beta1, beta2: this.beta2, one_minus_beta1: 1 - this.beta1, one_minus_beta2: 1 - this.beta2, eps: this.eps }),
      );
      if (n === 0) continue;
      g.bind ??= bindBuffers(device, this.pipeline, [g.uniform, g.spec.params, g.spec.grads, g.m, g.v], `adam-${name}`);
      pass.setBindGroup(0, g.bind);
      dispatchGrid(pass, splitGrid(Math.ceil(n / WORKGROUP_SIZE), this.maxPerDim));
    }
    pass.end();
  }

  /** Zeroes a group's moments (e.g. after 3DGS's opacity reset), encoded, not submitted. */
  resetState(encoder: GPUCommandEncoder, name: string): void {
    const g = this.group(name);
    encoder.clearBuffer(g.m);
    encoder.clearBuffer(g.v);
  }

  destroy(): void {
    for (const g of this.groups.values()) {
      g.m.destroy();
      g.v.destroy();
      g.uniform.destroy();
    }
  }

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new Error(`adam: no parameter group '${name}' (groups: ${[...this.groups.keys()].join(', ')})`);
    return g;
  }
}

/** One Adam step of every group over rows < count; see Adam.step. */
export function dispatchAdam(encoder: GPUCommandEncoder, adam: Adam, rows?: AdamRows, timer?: GpuTimer): void {
  adam.step(encoder, rows, timer);
}
