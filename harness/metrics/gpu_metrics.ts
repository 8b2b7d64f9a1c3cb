// Image metrics on the GPU: the target composited on white (metrics_composite),
// PSNR (psnr), SSIM (ssim) and the frame-to-frame change of a view
// (temporal_consistency), each a per-pixel kernel whose terms one shared
// reduction (metrics_reduce) sums into the view's slot of a per-metric sums
// buffer. Nothing is read back until read() is called, once per batch of views.
// Formulas and conventions: the top of each wgsl/<name>.wgsl; CPU references of
// the same names in image_metrics.ts (refPsnr, refSsim, refFrameChange, ...).
import compositeSource from '../../wgsl/metrics_composite.wgsl';
import reduceSource from '../../wgsl/metrics_reduce.wgsl';
import psnrSource from '../../wgsl/psnr.wgsl';
import ssimSource from '../../wgsl/ssim.wgsl';
import temporalSource from '../../wgsl/temporal_consistency.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid, type Grid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import { readBuffer } from '../gpu/readback.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { FrameChange } from './image_metrics.ts';

const reduceLayouts = new WgslLayouts(reduceSource);
const WORKGROUP_SIZE = reduceLayouts.constant('WORKGROUP_SIZE');
const BLOCK = reduceLayouts.constant('BLOCK');
const paramsLayout = reduceLayouts.struct('MetricParams');

export const METRIC_SHADERS = {
  metrics_composite: { label: 'metrics_composite', code: compositeSource },
  metrics_reduce: { label: 'metrics_reduce', code: reduceSource },
  psnr: { label: 'psnr', code: psnrSource },
  ssim: { label: 'ssim', code: ssimSource },
  temporal_consistency: { label: 'temporal_consistency', code: temporalSource },
} satisfies Record<string, ShaderSource>;

type Binding = GPUBuffer | GPUBufferBinding;
const asBinding = (b: Binding): GPUBufferBinding => ('buffer' in b ? b : { buffer: b });
const bindingSize = (b: Binding) => ('buffer' in b ? (b.size ?? b.buffer.size - (b.offset ?? 0)) : b.size);

export interface ImageMetricsPlanOptions {
  /** Views one batch holds (each writes its own slot); read() returns this many at most. */
  slots: number;
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

export interface PairInputs {
  /** [H,W,4] f32 render, rgb over white (clamped to [0,1] by the kernels). */
  render: Binding;
  /** [H,W,4] f32 target, rgb composited on white. */
  target: Binding;
  /** [H,W] f32 weights in [0,1]; omitted: no masked variant for this view. */
  mask?: Binding | null;
}

export interface TemporalInputs {
  render: Binding;
  renderPrev: Binding;
  target: Binding;
  targetPrev: Binding;
}

/** One slot's metrics; masked values are null where no mask was given (NaN: empty mask). */
export interface ViewMetrics {
  psnr: number | null;
  ssim: number | null;
  psnrMasked: number | null;
  ssimMasked: number | null;
  /** The frame pair's change (dispatchTemporalConsistency), null where not dispatched. */
  change: FrameChange | null;
}

const ENTRIES = ['metrics_composite', 'psnr', 'ssim_h', 'ssim_v', 'temporal_consistency', 'metrics_reduce_blocks', 'metrics_reduce_final'] as const;
type Entry = (typeof ENTRIES)[number];
const SHADER_OF: Record<Entry, ShaderSource> = {
  metrics_composite: METRIC_SHADERS.metrics_composite,
  psnr: METRIC_SHADERS.psnr,
  ssim_h: METRIC_SHADERS.ssim,
  ssim_v: METRIC_SHADERS.ssim,
  temporal_consistency: METRIC_SHADERS.temporal_consistency,
  metrics_reduce_blocks: METRIC_SHADERS.metrics_reduce,
  metrics_reduce_final: METRIC_SHADERS.metrics_reduce,
};

type Metric = 'psnr' | 'ssim' | 'temporal';

export class ImageMetricsPlan {
  private readonly dispatched: Record<Metric, Set<number>> = { psnr: new Set(), ssim: new Set(), temporal: new Set() };
  private readonly masked: Record<Metric, Set<number>> = { psnr: new Set(), ssim: new Set(), temporal: new Set() };

  private constructor(
    private readonly gpu: Gpu,
    readonly width: number,
    readonly height: number,
    readonly slots: number,
    private readonly pipelines: Record<Entry, GPUComputePipeline>,
    private readonly pixelGrid: Grid,
    private readonly blockGrid: Grid,
    /** MetricParams per (slot, has_mask) at `uniformStride`, written once. */
    private readonly uniforms: GPUBuffer,
    private readonly uniformStride: number,
    private readonly terms: GPUBuffer,
    private readonly blur: GPUBuffer,
    private readonly partials: GPUBuffer,
    /** [slots] vec4f per metric: the reduced terms of each view. */
    readonly sums: Record<Metric, GPUBuffer>,
    private readonly noMask: GPUBuffer,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache, width: number, height: number, options: ImageMetricsPlanOptions): Promise<ImageMetricsPlan> {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`image metrics: size ${width}x${height} is not a positive integer size`);
    const { slots } = options;
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`image metrics: slots must be a positive integer, got ${slots}`);
    const { device } = gpu;
    const n = width * height;
    if (n * 5 * 16 > device.limits.maxStorageBufferBindingSize) throw new Error(`image metrics: ${width}x${height} exceeds the storage binding limit`);
    const maxPerDim = options.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension;
    const list = await Promise.all(ENTRIES.map((e) => cache.pipeline(SHADER_OF[e], e)));
    const pipelines = Object.fromEntries(ENTRIES.map((e, i) => [e, list[i]!])) as Record<Entry, GPUComputePipeline>;
    const align = device.limits.minUniformBufferOffsetAlignment;
    const stride = Math.ceil(paramsLayout.size / align) * align;
    const uniforms = device.createBuffer({ label: 'metrics-params', size: stride * slots * 2, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const packed = new Uint8Array(stride * slots * 2);
    for (let s = 0; s < slots; s++) {
      for (const m of [0, 1]) packed.set(new Uint8Array(packStruct(paramsLayout, { width, height, has_mask: m, slot: s })), (2 * s + m) * stride);
    }
    device.queue.writeBuffer(uniforms, 0, packed);
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const blocks = Math.ceil(n / BLOCK);
    const sums = (m: Metric) => device.createBuffer({ label: `metrics-${m}-sums`, size: slots * 16, usage: storage });
    return new ImageMetricsPlan(
      gpu,
      width,
      height,
      slots,
      pipelines,
      splitGrid(Math.ceil(n / WORKGROUP_SIZE), maxPerDim),
      splitGrid(blocks, maxPerDim),
      uniforms,
      stride,
      device.createBuffer({ label: 'metrics-terms', size: n * 16, usage: storage }),
      device.createBuffer({ label: 'metrics-ssim-blur', size: n * 5 * 16, usage: storage }),
      device.createBuffer({ label: 'metrics-partials', size: blocks * 16, usage: storage }),
      { psnr: sums('psnr'), ssim: sums('ssim'), temporal: sums('temporal') },
      device.createBuffer({ label: 'metrics-no-mask', size: 4, usage: GPUBufferUsage.STORAGE }),
    );
  }

  get pixels(): number {
    return this.width * this.height;
  }

  private params(slot: number, hasMask: boolean): GPUBufferBinding {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) throw new Error(`image metrics: slot ${slot} outside [0, ${this.slots})`);
    return { buffer: this.uniforms, offset: (2 * slot + (hasMask ? 1 : 0)) * this.uniformStride, size: paramsLayout.size };
  }

  private check(what: string, bindings: [string, Binding | null | undefined, number][]): void {
    for (const [name, b, bytes] of bindings) {
      if (b && bindingSize(b) < bytes) throw new Error(`${what}: '${name}' binding holds ${bindingSize(b)} bytes, a ${this.width}x${this.height} image needs ${bytes}`);
    }
  }

  /** `resources[b]` goes to @binding(b); null for bindings the entry point does not use ('auto' layouts omit them). */
  private run(pass: GPUComputePassEncoder, entry: Entry, grid: Grid, resources: (Binding | null)[]): void {
    const pipeline = this.pipelines[entry];
    const entries = resources.flatMap((r, binding) => (r ? [{ binding, resource: asBinding(r) }] : []));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.gpu.device.createBindGroup({ label: entry, layout: pipeline.getBindGroupLayout(0), entries }));
    dispatchGrid(pass, grid);
  }

  private reduce(pass: GPUComputePassEncoder, params: GPUBufferBinding, into: GPUBuffer): void {
    this.run(pass, 'metrics_reduce_blocks', this.blockGrid, [params, this.terms, this.partials]);
    this.run(pass, 'metrics_reduce_final', { x: 1, y: 1 }, [params, null, this.partials, into]);
  }

  private begin(encoder: GPUCommandEncoder, label: string, timer?: GpuTimer): GPUComputePassEncoder {
    return timer ? timer.beginPass(encoder, label) : encoder.beginComputePass({ label });
  }

  encodeComposite(encoder: GPUCommandEncoder, io: { premultiplied: Binding; composited: Binding; mask: Binding }, timer?: GpuTimer): void {
    const n = this.pixels;
    this.check('metrics_composite', [
      ['premultiplied', io.premultiplied, n * 16],
      ['composited', io.composited, n * 16],
      ['mask', io.mask, n * 4],
    ]);
    const pass = this.begin(encoder, 'metrics_composite', timer);
    this.run(pass, 'metrics_composite', this.pixelGrid, [this.params(0, false), io.premultiplied, io.composited, io.mask]);
    pass.end();
  }

  encodePsnr(encoder: GPUCommandEncoder, io: PairInputs, slot: number, timer?: GpuTimer): void {
    const n = this.pixels;
    this.check('psnr', [
      ['render', io.render, n * 16],
      ['target', io.target, n * 16],
      ['mask', io.mask, n * 4],
    ]);
    const params = this.params(slot, Boolean(io.mask));
    const pass = this.begin(encoder, 'psnr', timer);
    this.run(pass, 'psnr', this.pixelGrid, [params, io.render, io.target, io.mask ?? this.noMask, this.terms]);
    this.reduce(pass, params, this.sums.psnr);
    pass.end();
    this.mark('psnr', slot, Boolean(io.mask));
  }

  encodeSsim(encoder: GPUCommandEncoder, io: PairInputs, slot: number, timer?: GpuTimer): void {
    const n = this.pixels;
    this.check('ssim', [
      ['render', io.render, n * 16],
      ['target', io.target, n * 16],
      ['mask', io.mask, n * 4],
    ]);
    const params = this.params(slot, Boolean(io.mask));
    const pass = this.begin(encoder, 'ssim', timer);
    this.run(pass, 'ssim_h', this.pixelGrid, [params, io.render, io.target, null, this.blur]);
    this.run(pass, 'ssim_v', this.pixelGrid, [params, null, null, io.mask ?? this.noMask, this.blur, this.terms]);
    this.reduce(pass, params, this.sums.ssim);
    pass.end();
    this.mark('ssim', slot, Boolean(io.mask));
  }

  encodeTemporal(encoder: GPUCommandEncoder, io: TemporalInputs, slot: number, timer?: GpuTimer): void {
    const n = this.pixels;
    this.check('temporal_consistency', [
      ['render', io.render, n * 16],
      ['renderPrev', io.renderPrev, n * 16],
      ['target', io.target, n * 16],
      ['targetPrev', io.targetPrev, n * 16],
    ]);
    const params = this.params(slot, false);
    const pass = this.begin(encoder, 'temporal_consistency', timer);
    this.run(pass, 'temporal_consistency', this.pixelGrid, [params, io.render, io.renderPrev, io.target, io.targetPrev, this.terms]);
    this.reduce(pass, params, this.sums.temporal);
    pass.end();
    this.dispatched.temporal.add(slot);
  }

  private mark(metric: Metric, slot: number, masked: boolean): void {
    this.dispatched[metric].add(slot);
    if (masked) this.masked[metric].add(slot);
    else this.masked[metric].delete(slot);
  }

  /** Reads the first `count` slots back (one readback per metric that was dispatched) and forgets them. */
  async read(count = this.slots): Promise<ViewMetrics[]> {
    const { device } = this.gpu;
    const get = async (m: Metric) => (this.dispatched[m].size ? new Float32Array(await readBuffer(device, this.sums[m], 0, count * 16)) : null);
    const [p, s, t] = await Promise.all([get('psnr'), get('ssim'), get('temporal')]);
    const n = this.pixels;
    const psnrOf = (sq: number, weight: number) => (weight > 0 ? -10 * Math.log10(sq / (3 * weight)) : NaN);
    const out: ViewMetrics[] = [];
    for (let i = 0; i < count; i++) {
      const hasP = p && this.dispatched.psnr.has(i);
      const hasS = s && this.dispatched.ssim.has(i);
      out.push({
        psnr: hasP ? psnrOf(p[4 * i]!, n) : null,
        psnrMasked: hasP && this.masked.psnr.has(i) ? psnrOf(p[4 * i + 1]!, p[4 * i + 2]!) : null,
        ssim: hasS ? s[4 * i]! / (3 * n) : null,
        ssimMasked: hasS && this.masked.ssim.has(i) ? (s[4 * i + 2]! > 0 ? s[4 * i + 1]! / (3 * s[4 * i + 2]!) : NaN) : null,
        change: t && this.dispatched.temporal.has(i) ? { render: t[4 * i]! / (3 * n), gt: t[4 * i + 1]! / (3 * n), error: t[4 * i + 2]! / (3 * n) } : null,
      });
    }
    for (const set of [...Object.values(this.dispatched), ...Object.values(this.masked)]) set.clear();
    return out;
  }

  destroy(): void {
    for (const b of [this.uniforms, this.terms, this.blur, this.partials, this.noMask, ...Object.values(this.sums)]) b.destroy();
  }
}

/** premultiplied target -> rgb + (1 − α) on white, and α as the mask (wgsl/metrics_composite.wgsl). */
export function dispatchMetricsComposite(encoder: GPUCommandEncoder, plan: ImageMetricsPlan, io: { premultiplied: Binding; composited: Binding; mask: Binding }, timer?: GpuTimer): void {
  plan.encodeComposite(encoder, io, timer);
}

/** PSNR (and the masked variant when a mask is given) of one view into `slot` (wgsl/psnr.wgsl). */
export function dispatchPsnr(encoder: GPUCommandEncoder, plan: ImageMetricsPlan, io: PairInputs, slot: number, timer?: GpuTimer): void {
  plan.encodePsnr(encoder, io, slot, timer);
}

/** SSIM (and the masked variant when a mask is given) of one view into `slot` (wgsl/ssim.wgsl). */
export function dispatchSsim(encoder: GPUCommandEncoder, plan: ImageMetricsPlan, io: PairInputs, slot: number, timer?: GpuTimer): void {
  plan.encodeSsim(encoder, io, slot, timer);
}

/** The change between frames t−1 and t of one view into `slot` (wgsl/temporal_consistency.wgsl). */
export function dispatchTemporalConsistency(encoder: GPUCommandEncoder, plan: ImageMetricsPlan, io: TemporalInputs, slot: number, timer?: GpuTimer): void {
  plan.encodeTemporal(encoder, io, slot, timer);
}
