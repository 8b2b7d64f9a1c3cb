// Gaussian density on an n³ grid on the GPU (wgsl/density_grid.wgsl; reference
// refDensityGrid in density_grid_ref.ts, which also explains the field and the grid
// placement). Gather per bin of BIN³ points over the Gaussians whose 3σ box
// touches the bin: prepare → scan → emit (bin, Gaussian) pairs → stable radix
// sort by bin → ranges → density. The pair count is read back once per call to
// size the pair buffers (a mesh frame is not a hot loop), so nothing is capped.
// Timer labels: density_grid_prepare, scan, density_grid_emit, sort_count,
// sort_scatter, density_grid_ranges, density_grid.
import densitySource from '../../wgsl/density_grid.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import { readU32 } from '../gpu/readback.ts';
import { ScanPlan } from '../gpu/scan.ts';
import { RadixSortPlan } from '../gpu/sort.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { ParamGroup } from '../splat/model.ts';
import { DENSITY_CUTOFF_SIGMA, DENSITY_MIN_OPACITY, type GridSpec } from './density_grid_ref.ts';

const layouts = new WgslLayouts(densitySource);
export const DENSITY_BIN = layouts.constant('BIN');
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const BOX_BITS = layouts.constant('BOX_BITS');
const paramsLayout = layouts.struct('DensityGridParams');
const SHADER: ShaderSource = { label: 'density_grid', code: densitySource };
if (layouts.constant('CUTOFF_SIGMA') !== DENSITY_CUTOFF_SIGMA) throw new Error('wgsl/density_grid.wgsl: CUTOFF_SIGMA differs from DENSITY_CUTOFF_SIGMA in density_grid_ref.ts');

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export interface DensityGridOptions {
  minOpacity?: number;
  /** Sampling filter: every Σ becomes Σ + filterSigma²·I (world units; default 0, see density_grid_ref.ts). */
  filterSigma?: number;
  timer?: GpuTimer;
}

/** The Gaussians' parameter buffers (a GaussianModel's `params`), `count` rows. */
export interface DensityInput {
  params: Pick<Record<ParamGroup, GPUBuffer>, 'means' | 'log_scales' | 'quats' | 'opacity_logits'>;
  count: number;
}

export interface DensityGridResult {
  /** [n,n,n] f32 density, x fastest; owned by the caller. */
  density: GPUBuffer;
  /** (bin, Gaussian) pairs the gather walked. */
  pairs: number;
}

type Entry = 'density_grid_prepare' | 'density_grid_emit' | 'density_grid_ranges' | 'density_grid';

export class DensityGrid {
  private scratch: { count: number; records: GPUBuffer; counts: GPUBuffer; boxes: GPUBuffer; scan: ScanPlan } | null = null;
  private pairs: { capacity: number; keys: GPUBuffer; values: GPUBuffer; sort: RadixSortPlan; keyBits: number } | null = null;

  private constructor(
    private readonly gpu: Gpu,
    private readonly cache: PipelineCache,
    private readonly pipelines: Record<Entry, GPUComputePipeline>,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache): Promise<DensityGrid> {
    const entries: Entry[] = ['density_grid_prepare', 'density_grid_emit', 'density_grid_ranges', 'density_grid'];
    const pipes = await Promise.all(entries.map((e) => cache.pipeline(SHADER, e)));
    return new DensityGrid(gpu, cache, Object.fromEntries(entries.map((e, i) => [e, pipes[i]!])) as Record<Entry, GPUComputePipeline>);
  }

  private bind(entry: Entry, bindings: Record<number, GPUBuffer>): GPUBindGroup {
    return this.gpu.device.createBindGroup({
      label: entry,
      layout: this.pipelines[entry].getBindGroupLayout(0),
      entries: Object.entries(bindings).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } })),
    });
  }

  private async ensureScratch(count: number) {
    if (this.scratch && this.scratch.count >= count) return this.scratch;
    this.destroyScratch();
    const { device } = this.gpu;
    const rows = Math.max(1, count);
    this.scratch = {
      count,
      records: device.createBuffer({ label: 'density-records', size: rows * 48, usage: STORAGE() }),
      counts: device.createBuffer({ label: 'density-counts', size: rows * 4, usage: STORAGE() }),
      boxes: device.createBuffer({ label: 'density-boxes', size: rows * 8, usage: STORAGE() }),
      scan: await ScanPlan.create(this.gpu, this.cache, count),
    };
    return this.scratch;
  }

  private async ensurePairs(pairs: number, keyBits: number) {
    if (this.pairs && this.pairs.capacity >= pairs && this.pairs.keyBits === keyBits) return this.pairs;
    const capacity = Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(1, pairs))));
    this.destroyPairs();
    const { device } = this.gpu;
    this.pairs = {
      capacity,
      keyBits,
      keys: device.createBuffer({ label: 'density-pair-keys', size: capacity * 4, usage: STORAGE() }),
      values: device.createBuffer({ label: 'density-pair-values', size: capacity * 4, usage: STORAGE() }),
      sort: await RadixSortPlan.create(this.gpu, this.cache, capacity, { keyBits }),
    };
    return this.pairs;
  }

  /**
   * The density of `input` at the points of `grid`. Two submits: the pair count is
   * read back between them. The returned buffer belongs to the caller.
   */
  async compute(input: DensityInput, grid: GridSpec, options: DensityGridOptions = {}): Promise<DensityGridResult> {
    const { device } = this.gpu;
    const { n } = grid;
    if (!Number.isInteger(n) || n < 2 || n > 2 ** BOX_BITS * DENSITY_BIN) throw new Error(`density grid: resolution ${n} is not an integer in [2, ${2 ** BOX_BITS * DENSITY_BIN}]`);
    if (!(grid.spacing > 0) || !grid.origin.every(Number.isFinite)) throw new Error(`density grid: spacing ${grid.spacing} and origin ${grid.origin.join(',')} must be finite, spacing > 0`);
    const count = input.count;
    const bins = Math.ceil(n / DENSITY_BIN);
    const density = device.createBuffer({ label: 'density', size: n * n * n * 4, usage: STORAGE() });
    const timer = options.timer;
    const begin = (enc: GPUCommandEncoder, label: string) => (timer ? timer.beginPass(enc, label) : enc.beginComputePass({ label }));
    const submit = async (enc: GPUCommandEncoder) => (timer ? timer.submit(enc) : device.queue.submit([enc.finish()]));
    const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
    const perGaussian = splitGrid(Math.ceil(count / WORKGROUP_SIZE), maxPerDim);
    const uniform = device.createBuffer({ label: 'density-params', size: paramsLayout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const writeParams = (pairs: number) =>
      device.queue.writeBuffer(uniform, 0, packStruct(paramsLayout, { origin: grid.origin, spacing: grid.spacing, n, bins, count, pairs, min_opacity: options.minOpacity ?? DENSITY_MIN_OPACITY, filter_var: (options.filterSigma ?? 0) ** 2 }));
    try {
      if (count === 0) {
        const enc = device.createCommandEncoder({ label: 'density-empty' });
        enc.clearBuffer(density);
        await submit(enc);
        return { density, pairs: 0 };
      }
      const s = await this.ensureScratch(count);
      writeParams(0);
      const enc = device.createCommandEncoder({ label: 'density-prepare' });
      const prep = begin(enc, 'density_grid_prepare');
      prep.setPipeline(this.pipelines.density_grid_prepare);
      prep.setBindGroup(
        0,
        this.bind('density_grid_prepare', { 0: uniform, 1: input.params.means, 2: input.params.log_scales, 3: input.params.quats, 4: input.params.opacity_logits, 5: s.records, 6: s.counts, 7: s.boxes }),
      );
      dispatchGrid(prep, perGaussian);
      prep.end();
      // The scan's plan covers s.count rows; rows past `count` must add nothing.
      if (s.count > count) enc.clearBuffer(s.counts, count * 4, (s.count - count) * 4);
      s.scan.encode(enc, s.counts, timer);
      await submit(enc);
      const pairs = (await readU32(device, s.scan.total, 1))[0]!;

      const keyBits = Math.max(1, Math.ceil(Math.log2(bins ** 3)));
      const p = await this.ensurePairs(pairs, keyBits);
      writeParams(pairs);
      const count4 = device.createBuffer({ label: 'density-pair-count', size: 4, usage: STORAGE(), mappedAtCreation: true });
      new Uint32Array(count4.getMappedRange()).set([pairs]);
      count4.unmap();
      const ranges = device.createBuffer({ label: 'density-ranges', size: bins ** 3 * 8, usage: STORAGE() });
      try {
        const enc2 = device.createCommandEncoder({ label: 'density-gather' });
        const emit = begin(enc2, 'density_grid_emit');
        emit.setPipeline(this.pipelines.density_grid_emit);
        emit.setBindGroup(0, this.bind('density_grid_emit', { 0: uniform, 8: s.counts, 9: s.boxes, 10: p.keys, 11: p.values }));
        dispatchGrid(emit, perGaussian);
        emit.end();
        p.sort.encode(enc2, p.keys, p.values, count4, 0, timer);
        const rp = begin(enc2, 'density_grid_ranges');
        rp.setPipeline(this.pipelines.density_grid_ranges);
        rp.setBindGroup(0, this.bind('density_grid_ranges', { 0: uniform, 12: p.keys, 13: ranges }));
        dispatchGrid(rp, splitGrid(Math.ceil(pairs / WORKGROUP_SIZE), maxPerDim));
        rp.end();
        const dp = begin(enc2, 'density_grid');
        dp.setPipeline(this.pipelines.density_grid);
        dp.setBindGroup(0, this.bind('density_grid', { 0: uniform, 14: ranges, 15: p.values, 16: s.records, 17: density }));
        dispatchGrid(dp, splitGrid(bins ** 3, maxPerDim));
        dp.end();
        await submit(enc2);
        await device.queue.onSubmittedWorkDone();
      } finally {
        count4.destroy();
        ranges.destroy();
      }
      return { density, pairs };
    } catch (err) {
      density.destroy();
      throw err;
    } finally {
      uniform.destroy();
    }
  }

  private destroyScratch() {
    if (!this.scratch) return;
    for (const b of [this.scratch.records, this.scratch.counts, this.scratch.boxes]) b.destroy();
    this.scratch.scan.destroy();
    this.scratch = null;
  }

  private destroyPairs() {
    if (!this.pairs) return;
    this.pairs.keys.destroy();
    this.pairs.values.destroy();
    this.pairs.sort.destroy();
    this.pairs = null;
  }

  destroy(): void {
    this.destroyScratch();
    this.destroyPairs();
  }
}

/** One-off: the density grid of `input` (see DensityGrid.compute). */
export async function dispatchDensityGrid(gpu: Gpu, cache: PipelineCache, input: DensityInput, grid: GridSpec, options: DensityGridOptions = {}): Promise<DensityGridResult> {
  const dg = await DensityGrid.create(gpu, cache);
  try {
    return await dg.compute(input, grid, options);
  } finally {
    dg.destroy();
  }
}
