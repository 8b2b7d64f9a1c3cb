// Host side of wgsl/densify.wgsl: 3DGS's densify_and_prune (dispatchDensify) and
// reset_opacity (dispatchOpacityReset) on the GaussianModel and the Adam moments,
// in place, growing into the model's spare capacity. CPU reference: refDensify
// (densify_ref.ts). Timing labels: `densify` (its own passes; the two prefix scans
// it runs are labelled `scan`, as everywhere) and `opacity_reset`.
//
// One densification is two submits with one small readback between them:
//   1. plan every row, scan, cut at capacity, finalise destinations; read back
//      DensifyStatus (the new count, and what happened) — densification runs every
//      ~100 iterations, so this wait is cheap and lets the host set model.count;
//   2. for every parameter group and every Adam moment buffer: copy its rows to a
//      scratch buffer, scatter them back to their destination rows; zero the rows
//      the model shrank out of; clear the gradient statistics.
// Rearranging in place keeps every buffer object (and so every bind group that
// other stages hold) valid. One scratch buffer as large as the widest group serves
// all of them in turn, instead of a second copy of the whole model.
//
// The model's gradient buffers are not rearranged: they hold the last step's
// gradients, which the next step clears (GaussianModel.clearGrads) before use.
import densifySource from '../../wgsl/densify.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid, type Grid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import { readBuffer } from '../gpu/readback.ts';
import { ScanPlan } from '../gpu/scan.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { Adam } from './adam.ts';
import { densifyThresholds, OPACITY_RESET_LOGIT, type DensifyOptions, type DensifyStats } from './densify_ref.ts';
import { PARAM_GROUPS, type GaussianModel, type ParamGroup } from './model.ts';

export type { DensifyOptions, DensifyStats } from './densify_ref.ts';

const layouts = new WgslLayouts(densifySource);
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const SCATTER_COPY = layouts.constant('SCATTER_COPY');
const SCATTER_MOMENT = layouts.constant('SCATTER_MOMENT');
const SCATTER_LOG_SCALE = layouts.constant('SCATTER_LOG_SCALE');
const paramsLayout = layouts.struct('DensifyParams');
const statusLayout = layouts.struct('DensifyStatus');
const scatterLayout = layouts.struct('ScatterParams');
const resetLayout = layouts.struct('OpacityResetParams');
const SHADER: ShaderSource = { label: 'densify', code: densifySource };

/** `@group(0) @binding(n) var<...> name` of wgsl/densify.wgsl: name -> n, so binding numbers are not counted here. */
const BINDINGS = (() => {
  const table = new Map<string, number>();
  const src = densifySource.replace(/\/\/[^\n]*/g, '');
  for (const m of src.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)/g)) table.set(m[2]!, Number(m[1]));
  return table;
})();

function bindNamed(device: GPUDevice, pipeline: GPUComputePipeline, buffers: Record<string, GPUBuffer>): GPUBindGroup {
  const entries = Object.entries(buffers).map(([name, buffer]) => {
    const binding = BINDINGS.get(name);
    if (binding === undefined) throw new Error(`wgsl/densify.wgsl declares no binding '${name}'`);
    return { binding, resource: { buffer } };
  });
  return device.createBindGroup({ label: pipeline.label, layout: pipeline.getBindGroupLayout(0), entries });
}

export interface DensifierOptions {
  /**
   * Element type of the gradCount buffer: 'f32' (default) or 'u32' (the
   * renderer's visCount). Both are read as 32-bit words and converted in the shader.
   */
  gradCountFormat?: 'f32' | 'u32';
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

/** The renderer's per-row densification statistics, [capacity] each, accumulated over views. */
export interface GradStats {
  /** [N] f32 sum over views of the screen-space mean-gradient norm. */
  gradAccum: GPUBuffer;
  /** [N] f32 or u32 (see DensifierOptions.gradCountFormat): views in which the row was visible. */
  gradCount: GPUBuffer;
}

/** One buffer densification rearranges: a parameter group or one of its Adam moments. */
interface Move {
  buffer: GPUBuffer;
  width: number;
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
}

interface Pipelines {
  plan: GPUComputePipeline;
  cut: GPUComputePipeline;
  finalize: GPUComputePipeline;
  scatter: GPUComputePipeline;
  scatterMeans: GPUComputePipeline;
  reset: GPUComputePipeline;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const UNIFORM = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;

export class Densifier {
  private constructor(
    private readonly gpu: Gpu,
    readonly model: GaussianModel,
    private readonly adam: Adam | null,
    private readonly stats: GradStats,
    private readonly gradCountIsF32: boolean,
    private readonly maxPerDim: number,
    private readonly pipes: Pipelines,
    private readonly scan: ScanPlan,
    private readonly owned: GPUBuffer[],
    private readonly uniforms: { params: GPUBuffer; reset: GPUBuffer },
    private readonly binds: { plan: GPUBindGroup; cut: GPUBindGroup; finalize: GPUBindGroup; reset: GPUBindGroup },
    private readonly status: GPUBuffer,
    /** [capacity] u32 each, scanned in place (see wgsl/densify.wgsl). */
    private readonly rowCounts: { base: GPUBuffer; extra: GPUBuffer },
    private readonly scratch: GPUBuffer,
    private readonly moves: Move[],
  ) {}

  /**
   * Everything densification needs, allocated once: the scan plan and per-row
   * buffers sized for model.capacity, the scratch buffer, and a bind group per
   * buffer it rearranges (every model group, and both moments of every group
   * `adam` optimises).
   */
  static async create(gpu: Gpu, cache: PipelineCache, model: GaussianModel, adam: Adam | null, stats: GradStats, options: DensifierOptions = {}): Promise<Densifier> {
    const { device } = gpu;
    const capacity = model.capacity;
    for (const [name, b] of [['gradAccum', stats.gradAccum], ['gradCount', stats.gradCount]] as const) {
      if (b.size < capacity * 4) throw new Error(`densify: ${name} buffer holds ${b.size} bytes, the model's capacity of ${capacity} rows needs ${capacity * 4}`);
    }
    const format = options.gradCountFormat ?? 'f32';
    if (format !== 'f32' && format !== 'u32') throw new Error(`densify: gradCountFormat must be 'f32' or 'u32' (got ${String(format)})`);
    const adamGroups = adam ? adam.groupNames.filter((g) => (PARAM_GROUPS as readonly string[]).includes(g)) : [];
    const [plan, cut, finalize, scatter, scatterMeans, reset] = await Promise.all(
      ['densify_plan', 'densify_cut', 'densify_finalize', 'densify_scatter', 'densify_scatter_means', 'opacity_reset'].map((e) => cache.pipeline(SHADER, e)),
    );
    const pipes: Pipelines = { plan: plan!, cut: cut!, finalize: finalize!, scatter: scatter!, scatterMeans: scatterMeans!, reset: reset! };
    const scan = await ScanPlan.create(gpu, cache, capacity);

    const owned: GPUBuffer[] = [];
    try {
      const buffer = (label: string, size: number, usage: number) => {
        const b = device.createBuffer({ label, size: Math.max(4, size), usage });
        owned.push(b);
        return b;
      };
      const rows = capacity * 4;
      const params = buffer('densify-params', paramsLayout.size, UNIFORM);
      const resetUniform = buffer('opacity-reset-params', resetLayout.size, UNIFORM);
      const status = buffer('densify-status', statusLayout.size, STORAGE);
      const rowPlan = buffer('densify-row-plan', rows, STORAGE);
      const base = buffer('densify-base', rows, STORAGE);
      const extra = buffer('densify-extra', rows, STORAGE);
      const maxWidth = Math.max(...PARAM_GROUPS.map((g) => model.width(g)));
      const scratch = buffer('densify-scratch', capacity * maxWidth * 4, STORAGE);
      const p = model.params;

      const moves: Move[] = [];
      const addMove = (label: string, target: GPUBuffer, width: number, mode: number | 'means') => {
        if (target.size < capacity * width * 4) throw new Error(`densify: buffer '${target.label}' holds ${target.size} bytes, ${capacity} x ${width} f32 need ${capacity * width * 4}`);
        let bind: GPUBindGroup;
        if (mode === 'means') {
          bind = bindNamed(device, pipes.scatterMeans, { params, row_plan: rowPlan, base, src: scratch, dst: target, log_scales: p.log_scales, quats: p.quats });
        } else {
          const uniform = buffer(`densify-scatter-${label}`, scatterLayout.size, UNIFORM);
          device.queue.writeBuffer(uniform, 0, packStruct(scatterLayout, { width, mode }));
          bind = bindNamed(device, pipes.scatter, { params, scatter: uniform, row_plan: rowPlan, base, src: scratch, dst: target });
        }
        moves.push({ buffer: target, width, pipeline: mode === 'means' ? pipes.scatterMeans : pipes.scatter, bind });
      };
      // Means first: their split children read the original log-scales and quaternions.
      const paramOrder: ParamGroup[] = ['means', ...PARAM_GROUPS.filter((g) => g !== 'means')];
      for (const g of paramOrder) addMove(g, p[g], model.width(g), g === 'means' ? 'means' : g === 'log_scales' ? SCATTER_LOG_SCALE : SCATTER_COPY);
      for (const g of adamGroups) {
        const { m, v } = adam!.state(g);
        addMove(`${g}-m`, m, model.width(g as ParamGroup), SCATTER_MOMENT);
        addMove(`${g}-v`, v, model.width(g as ParamGroup), SCATTER_MOMENT);
      }

      const binds = {
        plan: bindNamed(device, pipes.plan, {
          params, row_plan: rowPlan, base, extra, grad_accum: stats.gradAccum, grad_count: stats.gradCount, log_scales: p.log_scales, opacity_logits: p.opacity_logits,
        }),
        cut: bindNamed(device, pipes.cut, { params, status, extra }),
        finalize: bindNamed(device, pipes.finalize, { params, status, row_plan: rowPlan, base, extra }),
        reset: bindNamed(device, pipes.reset, { reset_params: resetUniform, opacity_rw: p.opacity_logits }),
      };
      return new Densifier(
        gpu, model, adam, stats, format === 'f32',
        options.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension,
        pipes, scan, owned, { params, reset: resetUniform }, binds, status, { base, extra }, scratch, moves,
      );
    } catch (err) {
      // A buffer that does not fit must not leak what was allocated before it.
      for (const b of owned) b.destroy();
      scan.destroy();
      throw err;
    }
  }

  /**
   * One densify-and-prune of rows [0, model.count): submits, waits for one small
   * readback, updates model.count and clears the gradient statistics. Rows past
   * the new count (in every rearranged buffer) are left zero.
   */
  async densify(options: DensifyOptions, timer?: GpuTimer): Promise<DensifyStats> {
    const t = densifyThresholds(options);
    const { device } = this.gpu;
    const count = this.model.count;
    const capacity = this.model.capacity;
    if (count === 0) {
      await this.submit(this.clearStats(device.createCommandEncoder({ label: 'densify' })), timer);
      return { countBefore: 0, countAfter: 0, cloned: 0, split: 0, pruned: 0, skipped: 0 };
    }
    device.queue.writeBuffer(
      this.uniforms.params,
      0,
      packStruct(paramsLayout, {
        count, capacity, seed: options.seed, grad_count_is_f32: this.gradCountIsF32,
        grad_threshold: t.gradThreshold, clone_max_log_scale: t.cloneMaxLogScale, prune_logit: t.pruneLogit,
        prune_max_log_scale: t.pruneMaxLogScale, split_log_shrink: t.splitLogShrink,
      }),
    );

    const enc = device.createCommandEncoder({ label: 'densify' });
    enc.clearBuffer(this.status);
    let pass = this.beginPass(enc, 'densify', timer);
    pass.setPipeline(this.pipes.plan);
    pass.setBindGroup(0, this.binds.plan);
    dispatchGrid(pass, this.grid(capacity));
    pass.end();
    this.scanInto(enc, this.rowCounts.base, 'base_total', timer);
    this.scanInto(enc, this.rowCounts.extra, 'extra_total', timer);
    pass = this.beginPass(enc, 'densify', timer);
    pass.setPipeline(this.pipes.cut);
    pass.setBindGroup(0, this.binds.cut);
    pass.dispatchWorkgroups(1);
    pass.setPipeline(this.pipes.finalize);
    pass.setBindGroup(0, this.binds.finalize);
    dispatchGrid(pass, this.grid(count));
    pass.end();
    await this.submit(enc, timer);

    const s = new DataView(await readBuffer(device, this.status));
    const field = (name: string) => s.getUint32(statusLayout.field(name).offset, true);
    const countAfter = field('new_count');
    const cloned = field('cloned');
    const split = field('split');
    const stats: DensifyStats = { countBefore: count, countAfter, cloned, split, pruned: count + cloned + split - countAfter, skipped: field('skipped') };
    if (countAfter > capacity) throw new Error(`densify: the GPU reports ${countAfter} rows, more than the capacity ${capacity} (a bug)`);

    const enc2 = device.createCommandEncoder({ label: 'densify' });
    // Nothing cloned, split or pruned: every row stays where it is.
    if (cloned + split > 0 || countAfter !== count) {
      for (const move of this.moves) {
        enc2.copyBufferToBuffer(move.buffer, 0, this.scratch, 0, count * move.width * 4);
        const p = this.beginPass(enc2, 'densify', timer);
        p.setPipeline(move.pipeline);
        p.setBindGroup(0, move.bind);
        dispatchGrid(p, this.grid(count));
        p.end();
        if (countAfter < count) enc2.clearBuffer(move.buffer, countAfter * move.width * 4, (count - countAfter) * move.width * 4);
      }
    }
    await this.submit(this.clearStats(enc2), timer);
    this.model.count = countAfter;
    return stats;
  }

  /**
   * Pass `opacity_reset` (3DGS reset_opacity): opacity = min(opacity, 0.01) over
   * rows [0, model.count), and zero Adam moments of the opacity group. Encoded, not
   * submitted; the uniform is written now and takes effect at the next submit.
   */
  opacityReset(encoder: GPUCommandEncoder, timer?: GpuTimer): void {
    const count = this.model.count;
    this.gpu.device.queue.writeBuffer(this.uniforms.reset, 0, packStruct(resetLayout, { count, max_logit: OPACITY_RESET_LOGIT }));
    const pass = this.beginPass(encoder, 'opacity_reset', timer);
    pass.setPipeline(this.pipes.reset);
    pass.setBindGroup(0, this.binds.reset);
    dispatchGrid(pass, this.grid(count));
    pass.end();
    if (this.adam?.groupNames.includes('opacity_logits')) this.adam.resetState(encoder, 'opacity_logits');
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.scan.destroy();
  }

  private grid(rows: number): Grid {
    return splitGrid(Math.ceil(rows / WORKGROUP_SIZE), this.maxPerDim);
  }

  private beginPass(encoder: GPUCommandEncoder, label: string, timer?: GpuTimer): GPUComputePassEncoder {
    return timer ? timer.beginPass(encoder, label) : encoder.beginComputePass({ label });
  }

  private async submit(encoder: GPUCommandEncoder, timer?: GpuTimer): Promise<void> {
    if (timer) await timer.submit(encoder);
    else this.gpu.device.queue.submit([encoder.finish()]);
  }

  private clearStats(encoder: GPUCommandEncoder): GPUCommandEncoder {
    encoder.clearBuffer(this.stats.gradAccum);
    encoder.clearBuffer(this.stats.gradCount);
    return encoder;
  }

  /** Exclusive scan of `data` in place; its grand total lands in DensifyStatus.`field`. */
  private scanInto(encoder: GPUCommandEncoder, data: GPUBuffer, field: 'base_total' | 'extra_total', timer?: GpuTimer): void {
    this.scan.encode(encoder, data, timer);
    encoder.copyBufferToBuffer(this.scan.total, 0, this.status, statusLayout.field(field).offset, 4);
  }
}

/** One densify-and-prune (see Densifier.densify); resolves to what it did once model.count is updated. */
export function dispatchDensify(densifier: Densifier, options: DensifyOptions, timer?: GpuTimer): Promise<DensifyStats> {
  return densifier.densify(options, timer);
}

/** Encodes the opacity reset (see Densifier.opacityReset). */
export function dispatchOpacityReset(encoder: GPUCommandEncoder, densifier: Densifier, timer?: GpuTimer): void {
  densifier.opacityReset(encoder, timer);
}
