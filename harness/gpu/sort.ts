// Stable GPU radix sort of (u32 key, u32 value) pairs by the low `keyBits` bits of
// the key (wgsl/sort_count.wgsl explains the kernels). The number of pairs is read
// from a GPU buffer when the sort runs, so a count produced on the GPU (a scan
// total, say) needs no readback: a one-thread kernel turns it into the indirect
// dispatch size of every pass. A plan is made once per capacity: its scratch pairs,
// histogram, prefix scan and uniforms are sized for `capacity` pairs, so encoding
// allocates nothing. Counts above the capacity are clamped to it on the GPU, and
// nothing is reported back: growing the buffers (and the plan) is the caller's job.
import countSource from '../../wgsl/sort_count.wgsl';
import indirectSource from '../../wgsl/sort_indirect.wgsl';
import scatterSource from '../../wgsl/sort_scatter.wgsl';
import type { Gpu } from './device.ts';
import { splitGrid } from './dispatch.ts';
import { WgslLayouts, packStruct } from './layout.ts';
import type { PipelineCache, ShaderSource } from './pipelines.ts';
import { ScanPlan } from './scan.ts';
import type { GpuTimer } from './timer.ts';

const layouts = new WgslLayouts(`${countSource}\n${indirectSource}`);
/** The most key bits one pass sorts (bitsPerPass may be lower). */
export const SORT_RADIX_BITS = layouts.constant('RADIX_BITS');
const RADIX = layouts.constant('RADIX');
if (RADIX !== 2 ** SORT_RADIX_BITS) throw new Error(`wgsl/sort_count.wgsl: RADIX ${RADIX} is not 1 << RADIX_BITS (${SORT_RADIX_BITS})`);
const stateLayout = layouts.struct('SortState');
const passLayout = layouts.struct('SortPassParams');
const indirectLayout = layouts.struct('SortIndirectParams');

// sort_indirect and sort_scatter build on sort_count's shared declarations.
const SHADERS = {
  count: { label: 'sort_count', code: countSource },
  indirect: { label: 'sort_indirect', code: `${countSource}\n${indirectSource}` },
  scatter: { label: 'sort_scatter', code: `${countSource}\n${scatterSource}` },
} satisfies Record<string, ShaderSource>;

export interface RadixSortOptions {
  /** Sort by key & ((1 << keyBits) - 1); the bits above stay in the keys but do not order them. Default 32. */
  keyBits?: number;
  /** Key bits per pass, 1..SORT_RADIX_BITS (default: SORT_RADIX_BITS); fewer means more passes. */
  bitsPerPass?: number;
  /** Pairs per thread and histogram column, a multiple of 4 (default: chosen from the capacity and the device). */
  itemsPerThread?: number;
  /** Threads per workgroup (default: chosen from the device). */
  workgroupSize?: number;
  /** Lower than the device limit only to exercise the 2-D grid fold in tests. */
  maxWorkgroupsPerDimension?: number;
}

/** Whether the adapter is a CPU implementation (SwiftShader), which wants few, long runs. */
export function isCpuAdapter(gpu: Gpu): boolean {
  const { report } = gpu;
  return report.isFallbackAdapter || /swiftshader|llvmpipe/i.test(`${report.architecture} ${report.description} ${report.device}`);
}

/** Threads per workgroup and pairs per thread for a plan, unless the caller chooses. */
export function defaultShape(gpu: Gpu, capacity: number): { itemsPerThread: number; workgroupSize: number } {
  const pow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
  const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
  if (isCpuAdapter(gpu)) {
    // SwiftShader runs one 4-lane subgroup per core at a time, so a workgroup of 4
    // is one subgroup and a handful of them keep 2 cores busy; every thread loads and
    // stores its RADIX counters, so long runs are cheapest. Measured at 2^16 and 2^20
    // pairs: 8 to 128 threads of 4,096 to 16,384 pairs beat 1,024 pairs by 1.4x. A
    // caller whose counts run below the capacity still keeps a few subgroups busy.
    return { workgroupSize: 4, itemsPerThread: clamp(pow2(capacity / 16), 1024, 16384) };
  }
  // GPUs want tens of thousands of threads in flight: short runs (a histogram of
  // one u32 per key, which a GPU scans at memory speed), longer only where the
  // histogram would outgrow a binding.
  return { workgroupSize: 64, itemsPerThread: clamp(pow2(capacity / 65536), 256, 4096) };
}

interface PassBinds {
  count: GPUBindGroup;
  scatter: GPUBindGroup;
}

interface CallerBinds {
  passes: PassBinds[];
  copyBack: GPUBindGroup | null;
}

type Pipelines = Record<'indirect' | 'count' | 'scatter' | 'copyBack', GPUComputePipeline>;

export class RadixSortPlan {
  private readonly binds = new WeakMap<GPUBuffer, WeakMap<GPUBuffer, CallerBinds>>();
  private readonly indirectBind: GPUBindGroup;

  private constructor(
    private readonly gpu: Gpu,
    /** Pairs the plan's buffers hold; the GPU count is clamped to it. */
    readonly capacity: number,
    readonly keyBits: number,
    readonly bitsPerPass: number,
    readonly itemsPerThread: number,
    readonly workgroupSize: number,
    private readonly pipelines: Pipelines,
    private readonly scan: ScanPlan,
    private readonly buffers: {
      state: GPUBuffer;
      indirectParams: GPUBuffer;
      count: GPUBuffer;
      dispatchArgs: GPUBuffer;
      hist: GPUBuffer;
      keys: GPUBuffer;
      values: GPUBuffer;
      passParams: GPUBuffer[];
    },
  ) {
    const b = buffers;
    this.indirectBind = this.bind('sort-indirect', pipelines.indirect, { 0: b.state, 5: b.indirectParams, 6: { buffer: b.count, size: 4 }, 7: b.dispatchArgs });
  }

  /** Passes per sort: ceil(keyBits / bitsPerPass). */
  get passes(): number {
    return this.buffers.passParams.length;
  }

  static async create(gpu: Gpu, cache: PipelineCache, capacity: number, options: RadixSortOptions = {}): Promise<RadixSortPlan> {
    const { device } = gpu;
    const maxBinding = device.limits.maxStorageBufferBindingSize;
    if (!Number.isInteger(capacity) || capacity < 0 || capacity * 4 > maxBinding) {
      throw new Error(`sort: capacity ${capacity} is not an integer in [0, ${Math.floor(maxBinding / 4)}]`);
    }
    const keyBits = options.keyBits ?? 32;
    if (!Number.isInteger(keyBits) || keyBits < 0 || keyBits > 32) throw new Error(`sort: keyBits ${keyBits} is not an integer in [0, 32]`);
    const bitsPerPass = options.bitsPerPass ?? SORT_RADIX_BITS;
    if (!Number.isInteger(bitsPerPass) || bitsPerPass < 1 || bitsPerPass > SORT_RADIX_BITS) {
      throw new Error(`sort: bitsPerPass ${bitsPerPass} is not an integer in [1, ${SORT_RADIX_BITS}]`);
    }
    const maxPerDim = options.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension;
    const shape = defaultShape(gpu, capacity);
    const itemsPerThread = options.itemsPerThread ?? shape.itemsPerThread;
    const workgroupSize = options.workgroupSize ?? shape.workgroupSize;
    if (!Number.isInteger(itemsPerThread) || itemsPerThread < 4 || itemsPerThread % 4) throw new Error(`sort: itemsPerThread ${itemsPerThread} is not a positive multiple of 4`);
    if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > device.limits.maxComputeInvocationsPerWorkgroup) {
      throw new Error(`sort: workgroupSize ${workgroupSize} is not an integer in [1, ${device.limits.maxComputeInvocationsPerWorkgroup}]`);
    }
    const maxRuns = Math.ceil(capacity / itemsPerThread);
    // The indirect kernel folds the grid the same way; a count at capacity must fit.
    splitGrid(Math.ceil(maxRuns / workgroupSize), maxPerDim);
    const histLength = RADIX * maxRuns;
    if (histLength * 4 > maxBinding) throw new Error(`sort: the histogram of ${histLength} u32 for capacity ${capacity} exceeds the binding limit`);

    const constants = { WORKGROUP_SIZE: workgroupSize, ITEMS_PER_THREAD: itemsPerThread };
    const [indirect, count, scatter, copyBack, scan] = await Promise.all([
      cache.pipeline(SHADERS.indirect, 'write_dispatch_args', constants),
      cache.pipeline(SHADERS.count, 'count_digits', constants),
      cache.pipeline(SHADERS.scatter, 'scatter', constants),
      cache.pipeline(SHADERS.scatter, 'copy_back', constants),
      // Digit-major hist of the runs that state.count fills is a prefix of the
      // buffer, so scanning the whole capacity gives the same offsets there.
      ScanPlan.create(gpu, cache, histLength),
    ]);
    const storage = (label: string, bytes: number, extra = 0) =>
      device.createBuffer({ label, size: Math.max(4, bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | extra });
    const uniform = (label: string, data: ArrayBuffer) => {
      const buf = device.createBuffer({ label, size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buf, 0, data);
      return buf;
    };
    const passParams: GPUBuffer[] = [];
    for (let shift = 0; shift < keyBits; shift += bitsPerPass) {
      const bits = Math.min(bitsPerPass, keyBits - shift);
      passParams.push(uniform(`sort-pass-${passParams.length}`, packStruct(passLayout, { shift, mask: 2 ** bits - 1 })));
    }
    const buffers = {
      state: storage('sort-state', stateLayout.size),
      indirectParams: uniform('sort-indirect-params', packStruct(indirectLayout, { capacity, max_workgroups_per_dim: maxPerDim })),
      // The copied count; 16 bytes so that it can stand in for an empty vec4 binding.
      count: storage('sort-count', 16, GPUBufferUsage.COPY_DST),
      dispatchArgs: storage('sort-dispatch-args', 12, GPUBufferUsage.INDIRECT),
      hist: storage('sort-hist', histLength * 4),
      keys: storage('sort-scratch-keys', capacity * 4),
      values: storage('sort-scratch-values', capacity * 4),
      passParams,
    };
    return new RadixSortPlan(gpu, capacity, keyBits, bitsPerPass, itemsPerThread, workgroupSize, { indirect, count, scatter, copyBack }, scan, buffers);
  }

  private bind(label: string, pipeline: GPUComputePipeline, entries: Record<number, GPUBuffer | GPUBufferBinding>): GPUBindGroup {
    return this.gpu.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: Object.entries(entries).map(([binding, b]) => ({ binding: Number(binding), resource: 'buffer' in b ? b : { buffer: b } })),
    });
  }

  /** The first `capacity` u32 of a pair buffer (caller buffers may be larger, even than one binding may be). */
  private pairs(buffer: GPUBuffer): GPUBufferBinding {
    return { buffer, size: this.capacity * 4 };
  }

  /** The same as whole vec4s; the kernels read the rest through pairs(). */
  private quads(buffer: GPUBuffer): GPUBufferBinding {
    const size = Math.floor(this.capacity / 4) * 16;
    // Below 4 pairs no vec4 is read, but the binding must still hold one.
    return size ? { buffer, size } : { buffer: this.buffers.count, size: 16 };
  }

  /** Bind groups of every pass for one pair of caller buffers, made once per pair. */
  private callerBinds(keys: GPUBuffer, values: GPUBuffer): CallerBinds {
    let byValues = this.binds.get(keys);
    if (!byValues) this.binds.set(keys, (byValues = new WeakMap()));
    let hit = byValues.get(values);
    if (hit) return hit;
    const b = this.buffers;
    const { count, scatter, copyBack } = this.pipelines;
    // Even passes read the caller's pairs into scratch, odd passes read them back.
    const sides = [
      { keys, values },
      { keys: b.keys, values: b.values },
    ] as const;
    const passes = b.passParams.map((params, p) => {
      const src = sides[p % 2]!;
      const dst = sides[(p + 1) % 2]!;
      return {
        count: this.bind(`sort-count-${p}`, count, { 0: b.state, 1: params, 2: this.quads(src.keys), 3: this.pairs(src.keys), 4: b.hist }),
        scatter: this.bind(`sort-scatter-${p}`, scatter, {
          0: b.state,
          1: params,
          2: this.quads(src.keys),
          3: this.pairs(src.keys),
          4: b.hist,
          5: this.quads(src.values),
          6: this.pairs(src.values),
          7: this.pairs(dst.keys),
          8: this.pairs(dst.values),
        }),
      };
    });
    const copyBind =
      this.passes % 2
        ? this.bind('sort-copy-back', copyBack, {
            0: b.state,
            2: this.quads(b.keys),
            3: this.pairs(b.keys),
            5: this.quads(b.values),
            6: this.pairs(b.values),
            7: this.pairs(keys),
            8: this.pairs(values),
          })
        : null;
    hit = { passes, copyBack: copyBind };
    byValues.set(values, hit);
    return hit;
  }

  /**
   * Records the sort of the first `count` pairs of `keys`/`values` in place, where
   * `count` is the u32 at byte `countOffset` of `countBuffer` when the commands run
   * (clamped to the capacity). The count buffer needs COPY_SRC usage; pairs past
   * the count are not touched. Timer labels: sort_count, scan, sort_scatter.
   */
  encode(encoder: GPUCommandEncoder, keys: GPUBuffer, values: GPUBuffer, countBuffer: GPUBuffer, countOffset = 0, timer?: GpuTimer): void {
    for (const [name, buf] of [
      ['keys', keys],
      ['values', values],
    ] as const) {
      if (buf.size < this.capacity * 4) throw new Error(`sort: ${name} buffer '${buf.label}' holds ${Math.floor(buf.size / 4)} u32, the plan's capacity is ${this.capacity}`);
    }
    if (keys === values) throw new Error('sort: keys and values must be different buffers');
    if (!(countBuffer.usage & GPUBufferUsage.COPY_SRC)) throw new Error(`sort: count buffer '${countBuffer.label}' needs COPY_SRC usage`);
    if (!Number.isInteger(countOffset) || countOffset < 0 || countOffset % 4 || countOffset + 4 > countBuffer.size) {
      throw new Error(`sort: count offset ${countOffset} is not a multiple of 4 inside '${countBuffer.label}' (${countBuffer.size} bytes)`);
    }
    if (this.capacity === 0 || this.passes === 0) return;
    const b = this.buffers;
    const binds = this.callerBinds(keys, values);
    const begin = (label: string) => (timer ? timer.beginPass(encoder, label) : encoder.beginComputePass({ label }));
    encoder.copyBufferToBuffer(countBuffer, countOffset, b.count, 0, 4);
    binds.passes.forEach((bind, p) => {
      const countPass = begin('sort_count');
      if (p === 0) {
        countPass.setPipeline(this.pipelines.indirect);
        countPass.setBindGroup(0, this.indirectBind);
        countPass.dispatchWorkgroups(1);
      }
      countPass.setPipeline(this.pipelines.count);
      countPass.setBindGroup(0, bind.count);
      countPass.dispatchWorkgroupsIndirect(b.dispatchArgs, 0);
      countPass.end();
      this.scan.encode(encoder, b.hist, timer);
      const scatterPass = begin('sort_scatter');
      scatterPass.setPipeline(this.pipelines.scatter);
      scatterPass.setBindGroup(0, bind.scatter);
      scatterPass.dispatchWorkgroupsIndirect(b.dispatchArgs, 0);
      if (p === this.passes - 1 && binds.copyBack) {
        scatterPass.setPipeline(this.pipelines.copyBack);
        scatterPass.setBindGroup(0, binds.copyBack);
        scatterPass.dispatchWorkgroupsIndirect(b.dispatchArgs, 0);
      }
      scatterPass.end();
    });
  }

  destroy(): void {
    const { passParams, ...rest } = this.buffers;
    for (const buf of [...Object.values(rest), ...passParams]) buf.destroy();
    this.scan.destroy();
  }
}

/** Sorts the first GPU-counted pairs of keys/values in place (see RadixSortPlan.encode). */
export function dispatchSort(
  encoder: GPUCommandEncoder,
  plan: RadixSortPlan,
  keys: GPUBuffer,
  values: GPUBuffer,
  countBuffer: GPUBuffer,
  countOffset = 0,
  timer?: GpuTimer,
): void {
  plan.encode(encoder, keys, values, countBuffer, countOffset, timer);
}
