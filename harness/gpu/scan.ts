// Multi-level exclusive prefix scan of u32 (wgsl/scan.wgsl). Each level splits its
// input into runs of SCAN_RUN_LENGTH elements, one run per thread; the run totals
// are the next level's input, until one run is left. A scan reduces the runs level
// by level upwards, then scans them downwards, each run starting from its total's
// exclusive prefix. No kernel needs a barrier (see wgsl/scan.wgsl for why that
// matters). A ScanPlan is built once per length: it holds the run-sum buffer of
// every level, their uniforms and pipelines, so encoding a scan allocates nothing
// and needs no readback.
import scanSource from '../../wgsl/scan.wgsl';
import scanSubgroupsSource from '../../wgsl/scan_subgroups.wgsl';
import type { Gpu } from './device.ts';
import { dispatchGrid, splitGrid, type Grid } from './dispatch.ts';
import { WgslLayouts, packStruct } from './layout.ts';
import { bindBuffers, type PipelineCache, type ShaderSource } from './pipelines.ts';
import type { GpuTimer } from './timer.ts';

const layouts = new WgslLayouts(scanSource);
/** Elements per workgroup at every level. */
export const SCAN_BLOCK_SIZE = layouts.constant('BLOCK_SIZE');
/** Elements per run (thread); a level's output has one total per run. */
export const SCAN_RUN_LENGTH = layouts.constant('ITEMS_PER_THREAD');
const paramsLayout = layouts.struct('ScanParams');

/** The contract; larger inputs also work where the binding size allows. */
export const SCAN_MAX_LENGTH = 2 ** 26;

export type ScanVariant = 'workgroup' | 'subgroups';

const SERIAL_ENTRIES = { reduce: 'reduce_blocks', scan: 'scan_blocks' };
const SHADERS: Record<ScanVariant, { source: ShaderSource; entries: { reduce: string; scan: string } }> = {
  workgroup: { source: { label: 'scan', code: scanSource }, entries: SERIAL_ENTRIES },
  subgroups: {
    source: { label: 'scan_subgroups', code: `enable subgroups;\n${scanSource}\n${scanSubgroupsSource}` },
    entries: { reduce: 'reduce_blocks_subgroups', scan: 'scan_blocks_subgroups' },
  },
};

interface Level {
  n: number;
  grid: Grid;
  params: GPUBuffer;
  /** Run totals of this level; the next level scans them in place. */
  sums: GPUBuffer;
  sumsBinds: { reduce: GPUBindGroup; scan: GPUBindGroup } | null;
}

export interface ScanPlanOptions {
  variant?: ScanVariant | 'auto';
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

export class ScanPlan {
  private readonly dataBinds = new WeakMap<GPUBuffer, { reduce: GPUBindGroup; scan: GPUBindGroup }>();

  private constructor(
    private readonly gpu: Gpu,
    readonly n: number,
    readonly variant: ScanVariant,
    private readonly levels: Level[],
    private readonly reduce: GPUComputePipeline,
    private readonly scan: GPUComputePipeline,
    /** Holds the sum of all n inputs after dispatchScan (u32, wrapping). */
    readonly total: GPUBuffer,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache, n: number, options: ScanPlanOptions = {}): Promise<ScanPlan> {
    const maxBinding = gpu.device.limits.maxStorageBufferBindingSize;
    if (!Number.isInteger(n) || n < 0 || n * 4 > maxBinding) {
      throw new Error(`scan: length ${n} is not an integer in [0, ${Math.floor(maxBinding / 4)}]`);
    }
    const want = options.variant ?? 'auto';
    if (want === 'subgroups' && !gpu.has('subgroups')) throw new Error('scan: the subgroups variant needs the "subgroups" feature');
    const variant: ScanVariant = want === 'auto' ? (gpu.has('subgroups') ? 'subgroups' : 'workgroup') : want;
    const maxPerDim = options.maxWorkgroupsPerDimension ?? gpu.device.limits.maxComputeWorkgroupsPerDimension;
    const shader = SHADERS[variant];
    // The subgroup kernels only use subgroups of at least SCAN_RUN_LENGTH lanes and
    // fall back to the serial walk otherwise (wgsl/scan_subgroups.wgsl). Where the
    // adapter has no subgroup that wide (SwiftShader: 4 lanes), take the serial
    // kernels of the same module directly: SwiftShader pays ~20% for the untaken code.
    const narrow = variant === 'subgroups' && (gpu.report.subgroupMaxSize ?? Infinity) < SCAN_RUN_LENGTH;
    const entries = narrow ? SERIAL_ENTRIES : shader.entries;
    const [reduce, scan] = await Promise.all([cache.pipeline(shader.source, entries.reduce), cache.pipeline(shader.source, entries.scan)]);
    const { device } = gpu;
    const levels: Level[] = [];
    for (let len = n; len > 0; ) {
      const numRuns = Math.ceil(len / SCAN_RUN_LENGTH);
      const grid = splitGrid(Math.ceil(len / SCAN_BLOCK_SIZE), maxPerDim);
      const params = device.createBuffer({ label: `scan-params-${levels.length}`, size: paramsLayout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(params, 0, packStruct(paramsLayout, { n: len, grid_x: grid.x }));
      const sums = device.createBuffer({ label: `scan-sums-${levels.length}`, size: numRuns * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      levels.push({ n: len, grid, params, sums, sumsBinds: null });
      if (numRuns === 1) break;
      len = numRuns;
    }
    // Level i+1 scans level i's sums in place and writes its own sums.
    for (let i = 0; i + 1 < levels.length; i++) {
      const next = levels[i + 1]!;
      const bufs = [next.params, levels[i]!.sums, next.sums];
      levels[i]!.sumsBinds = { reduce: bindBuffers(device, reduce, bufs), scan: bindBuffers(device, scan, bufs) };
    }
    // The top level is one run, so its single run sum is the grand total.
    const total = levels.length ? levels[levels.length - 1]!.sums : device.createBuffer({ label: 'scan-total', size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return new ScanPlan(gpu, n, variant, levels, reduce, scan, total);
  }

  /** Bind groups for a data buffer at level 0, cached per buffer. */
  bindData(data: GPUBuffer): { reduce: GPUBindGroup; scan: GPUBindGroup } {
    let b = this.dataBinds.get(data);
    if (!b) {
      const level = this.levels[0]!;
      const bufs = [level.params, data, level.sums];
      b = { reduce: bindBuffers(this.gpu.device, this.reduce, bufs), scan: bindBuffers(this.gpu.device, this.scan, bufs) };
      this.dataBinds.set(data, b);
    }
    return b;
  }

  /** Records the scan of `data[0..n)` into one compute pass (dispatches are ordered within a pass). */
  encode(encoder: GPUCommandEncoder, data: GPUBuffer, timer?: GpuTimer): void {
    if (this.n === 0) {
      encoder.clearBuffer(this.total);
      return;
    }
    if (data.size < this.n * 4) throw new Error(`scan: buffer '${data.label}' holds ${data.size / 4} u32, plan needs ${this.n}`);
    const pass = timer ? timer.beginPass(encoder, 'scan') : encoder.beginComputePass({ label: 'scan' });
    const binds = (i: number) => (i === 0 ? this.bindData(data) : this.levels[i - 1]!.sumsBinds!);
    for (let i = 0; i < this.levels.length; i++) {
      pass.setPipeline(this.reduce);
      pass.setBindGroup(0, binds(i).reduce);
      dispatchGrid(pass, this.levels[i]!.grid);
    }
    // Top-down, so that each level's run sums hold their exclusive scan when read.
    for (let i = this.levels.length - 1; i >= 0; i--) {
      pass.setPipeline(this.scan);
      pass.setBindGroup(0, binds(i).scan);
      dispatchGrid(pass, this.levels[i]!.grid);
    }
    pass.end();
  }

  destroy(): void {
    for (const l of this.levels) {
      l.params.destroy();
      l.sums.destroy();
    }
    if (!this.levels.length) this.total.destroy();
  }
}

/** Scans `data[0..plan.n)` in place; the grand total lands in `plan.total`. */
export function dispatchScan(encoder: GPUCommandEncoder, plan: ScanPlan, data: GPUBuffer, timer?: GpuTimer): void {
  plan.encode(encoder, data, timer);
}
