// Multi-level exclusive prefix scan of u32 (wgsl/scan.wgsl). A ScanPlan is built
// once per length: it holds the block-sum buffer of every level, their uniforms and
// pipelines, so encoding a scan allocates nothing and needs no readback.
import scanSource from '../../wgsl/scan.wgsl';
import scanSubgroupsSource from '../../wgsl/scan_subgroups.wgsl';
import type { Gpu } from './device.ts';
import { dispatchGrid, splitGrid, type Grid } from './dispatch.ts';
import { WgslLayouts, packStruct } from './layout.ts';
import { bindBuffers, type PipelineCache, type ShaderSource } from './pipelines.ts';
import type { GpuTimer } from './timer.ts';

const layouts = new WgslLayouts(scanSource);
export const SCAN_BLOCK_SIZE = layouts.constant('BLOCK_SIZE');
const paramsLayout = layouts.struct('ScanParams');

/** The contract; larger inputs also work where the binding size allows. */
export const SCAN_MAX_LENGTH = 2 ** 26;

export type ScanVariant = 'workgroup' | 'subgroups';

const SHADERS: Record<ScanVariant, { source: ShaderSource; blocksEntry: string }> = {
  workgroup: { source: { label: 'scan', code: scanSource }, blocksEntry: 'scan_blocks' },
  subgroups: {
    source: { label: 'scan_subgroups', code: `enable subgroups;\n${scanSource}\n${scanSubgroupsSource}` },
    blocksEntry: 'scan_blocks_subgroups',
  },
};

interface Level {
  n: number;
  grid: Grid;
  params: GPUBuffer;
  /** Block totals of this level; the next level scans them in place. */
  sums: GPUBuffer;
  sumsBinds: { blocks: GPUBindGroup; add: GPUBindGroup } | null;
}

export interface ScanPlanOptions {
  variant?: ScanVariant | 'auto';
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

export class ScanPlan {
  private readonly dataBinds = new WeakMap<GPUBuffer, { blocks: GPUBindGroup; add: GPUBindGroup }>();

  private constructor(
    private readonly gpu: Gpu,
    readonly n: number,
    readonly variant: ScanVariant,
    private readonly levels: Level[],
    private readonly blocks: GPUComputePipeline,
    private readonly add: GPUComputePipeline,
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
    const [blocks, add] = await Promise.all([
      cache.pipeline(shader.source, shader.blocksEntry),
      cache.pipeline(shader.source, 'add_block_offsets'),
    ]);
    const { device } = gpu;
    const levels: Level[] = [];
    for (let len = n; len > 0; ) {
      const numBlocks = Math.ceil(len / SCAN_BLOCK_SIZE);
      const grid = splitGrid(numBlocks, maxPerDim);
      const params = device.createBuffer({ label: `scan-params-${levels.length}`, size: paramsLayout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(params, 0, packStruct(paramsLayout, { n: len, grid_x: grid.x }));
      const sums = device.createBuffer({ label: `scan-sums-${levels.length}`, size: numBlocks * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      levels.push({ n: len, grid, params, sums, sumsBinds: null });
      if (numBlocks === 1) break;
      len = numBlocks;
    }
    // Level i+1 scans level i's sums in place and writes its own sums.
    for (let i = 0; i + 1 < levels.length; i++) {
      const next = levels[i + 1]!;
      const bufs = [next.params, levels[i]!.sums, next.sums];
      levels[i]!.sumsBinds = { blocks: bindBuffers(device, blocks, bufs), add: bindBuffers(device, add, bufs) };
    }
    // The top level is one block, so its single block sum is the grand total.
    const total = levels.length ? levels[levels.length - 1]!.sums : device.createBuffer({ label: 'scan-total', size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return new ScanPlan(gpu, n, variant, levels, blocks, add, total);
  }

  /** Bind groups for a data buffer at level 0, cached per buffer. */
  bindData(data: GPUBuffer): { blocks: GPUBindGroup; add: GPUBindGroup } {
    let b = this.dataBinds.get(data);
    if (!b) {
      const level = this.levels[0]!;
      const bufs = [level.params, data, level.sums];
      b = { blocks: bindBuffers(this.gpu.device, this.blocks, bufs), add: bindBuffers(this.gpu.device, this.add, bufs) };
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
      pass.setPipeline(this.blocks);
      pass.setBindGroup(0, binds(i).blocks);
      dispatchGrid(pass, this.levels[i]!.grid);
    }
    for (let i = this.levels.length - 2; i >= 0; i--) {
      pass.setPipeline(this.add);
      pass.setBindGroup(0, binds(i).add);
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
