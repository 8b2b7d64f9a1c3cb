// Page jobs for the radix sort: a correctness run on given pairs, and the timed
// benchmark. Both put the pair count in a GPU buffer, as the rasterizer will.
import { Bench } from 'tinybench';
import { readU32, uploadBuffer } from '../gpu/readback.ts';
import { RadixSortPlan, dispatchSort } from '../gpu/sort.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { quantile } from '../util/stats.ts';
import type { Job } from './context.ts';
import { keysBenchStats, type KeysBenchRow } from './scan_job.ts';

const PAIR_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function optionalInt(args: Record<string, unknown>, name: string): number | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`sort: args.${name} must be a non-negative integer`);
  return v;
}

/** A buffer of `length` u32 starting with `data` (the rest zero). */
function pairBuffer(device: GPUDevice, data: Uint32Array, length: number, label: string): GPUBuffer {
  const full = new Uint32Array(Math.max(1, length));
  full.set(data);
  return uploadBuffer(device, full, PAIR_USAGE, label);
}

/**
 * args: { keys: Uint32Array, values: Uint32Array, keyBits?, bitsPerPass?,
 * itemsPerThread?, workgroupSize?, maxWorkgroupsPerDimension?, capacity? (default
 * keys.length), count? (default keys.length; may exceed the capacity, which then
 * clamps it), counts? (several sorts of the same input by one plan, recorded into
 * one command buffer) }.
 * Sorts the first `count` pairs on the GPU and returns all of `keys`/`values` (the
 * pairs past the count as the GPU left them); with `counts`, also `results`, one
 * { keys, values } per count.
 */
export const sortJob: Job = async (ctx, args) => {
  const { keys, values } = args;
  if (!(keys instanceof Uint32Array) || !(values instanceof Uint32Array)) throw new Error('sort: args.keys and args.values must be Uint32Arrays');
  if (keys.length !== values.length) throw new Error(`sort: ${keys.length} keys but ${values.length} values`);
  const capacity = optionalInt(args, 'capacity') ?? keys.length;
  const many = args.counts !== undefined;
  if (many && (!Array.isArray(args.counts) || !args.counts.length || !args.counts.every((c) => Number.isInteger(c) && c >= 0))) {
    throw new Error('sort: args.counts must be a non-empty array of non-negative integers');
  }
  const counts = many ? (args.counts as number[]) : [optionalInt(args, 'count') ?? keys.length];
  const { device } = ctx.gpu;
  const plan = await RadixSortPlan.create(ctx.gpu, ctx.cache, capacity, {
    keyBits: optionalInt(args, 'keyBits'),
    bitsPerPass: optionalInt(args, 'bitsPerPass'),
    itemsPerThread: optionalInt(args, 'itemsPerThread'),
    workgroupSize: optionalInt(args, 'workgroupSize'),
    maxWorkgroupsPerDimension: optionalInt(args, 'maxWorkgroupsPerDimension'),
  });
  const length = Math.max(capacity, keys.length, 1);
  const buffers: GPUBuffer[] = [];
  const track = (b: GPUBuffer) => (buffers.push(b), b);
  try {
    const srcKeys = track(pairBuffer(device, keys, length, 'sort-keys-src'));
    const srcValues = track(pairBuffer(device, values, length, 'sort-values-src'));
    const keyBuf = track(pairBuffer(device, new Uint32Array(0), length, 'sort-keys'));
    const valueBuf = track(pairBuffer(device, new Uint32Array(0), length, 'sort-values'));
    // The counts sit behind a decoy word, so a wrong count offset shows.
    const countBuf = track(uploadBuffer(device, new Uint32Array([0xdeadbeef, ...counts]), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'sort-count'));
    const outputs = counts.map(() => ({ keys: track(pairBuffer(device, new Uint32Array(0), length, 'sort-keys-out')), values: track(pairBuffer(device, new Uint32Array(0), length, 'sort-values-out')) }));
    const enc = device.createCommandEncoder();
    counts.forEach((_, i) => {
      enc.copyBufferToBuffer(srcKeys, 0, keyBuf, 0, length * 4);
      enc.copyBufferToBuffer(srcValues, 0, valueBuf, 0, length * 4);
      dispatchSort(enc, plan, keyBuf, valueBuf, countBuf, 4 * (i + 1));
      enc.copyBufferToBuffer(keyBuf, 0, outputs[i]!.keys, 0, length * 4);
      enc.copyBufferToBuffer(valueBuf, 0, outputs[i]!.values, 0, length * 4);
    });
    device.queue.submit([enc.finish()]);
    const results = await Promise.all(
      outputs.map(async (o) => {
        const [k, v] = await Promise.all([readU32(device, o.keys, keys.length), readU32(device, o.values, keys.length)]);
        return { keys: k, values: v };
      }),
    );
    const last = results[results.length - 1]!;
    return { keys: last.keys, values: last.values, passes: plan.passes, ...(many ? { results } : {}) };
  } finally {
    for (const b of buffers) b.destroy();
    plan.destroy();
  }
};

export interface SortBenchRow extends KeysBenchRow {
  keyBits: number;
  passes: number;
  itemsPerThread: number;
  workgroupSize: number;
  /** Fastest sort's GPU time: steadier than the median on a shared machine. */
  gpuMinMs: number;
  /** Median GPU time per sort of each stage (all passes together); timestamp timing only. */
  gpuStageMedianMs: Record<string, number>;
  /** With args.verify: whether the last sort's output was the stable sort of the input. */
  verified: boolean | null;
}

/**
 * Whether (keys, values) is the stable sort of (input, 0..n-1) by the low keyBits:
 * values must name input positions, each once, with keys carried along, and be
 * ordered by masked key, then by position. O(n), so it scales where refSort and
 * a transfer to the host would not.
 */
function isStableSortOf(input: Uint32Array, keys: Uint32Array, values: Uint32Array, keyBits: number): boolean {
  const mask = keyBits === 32 ? 0xffffffff : 2 ** keyBits - 1;
  const seen = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const from = values[i]!;
    if (from >= input.length || seen[from] || keys[i] !== input[from]) return false;
    seen[from] = 1;
    if (i > 0) {
      const a = (keys[i - 1]! & mask) >>> 0;
      const b = (keys[i]! & mask) >>> 0;
      if (a > b || (a === b && values[i - 1]! > from)) return false;
    }
  }
  return true;
}

/**
 * args: { sizes: number[], keyBits?, bitsPerPass?, itemsPerThread?, workgroupSize?,
 * timeMs?, minIterations?, verify? (check the last sort's output in the page) }
 */
export const sortBenchJob: Job = async (ctx, args) => {
  const sizes = args.sizes as number[];
  const keyBits = (args.keyBits as number | undefined) ?? 32;
  const timeMs = (args.timeMs as number | undefined) ?? 1000;
  const minIterations = (args.minIterations as number | undefined) ?? 10;
  const { device } = ctx.gpu;
  const rows: SortBenchRow[] = [];
  let step = 0;
  for (const n of sizes) {
    const keys = new Uint32Array(n);
    const values = new Uint32Array(n);
    let s = 0x9e3779b9;
    for (let i = 0; i < n; i++) {
      // xorshift32: cheap, uniform enough that every digit of every pass is busy.
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      keys[i] = s >>> 0;
      values[i] = i;
    }
    const pristineKeys = pairBuffer(device, keys, n, 'sort-bench-keys-src');
    const pristineValues = pairBuffer(device, values, n, 'sort-bench-values-src');
    const keyBuf = pairBuffer(device, keys, n, 'sort-bench-keys');
    const valueBuf = pairBuffer(device, values, n, 'sort-bench-values');
    const countBuf = uploadBuffer(device, new Uint32Array([n]), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'sort-bench-count');
    const plan = await RadixSortPlan.create(ctx.gpu, ctx.cache, n, {
      keyBits,
      bitsPerPass: args.bitsPerPass as number | undefined,
      itemsPerThread: args.itemsPerThread as number | undefined,
      workgroupSize: args.workgroupSize as number | undefined,
    });
    const timer = new GpuTimer(ctx.gpu);
    try {
      const sortOnce = async () => {
        const enc = device.createCommandEncoder();
        // Sorted input would flatter the scatter; every run starts from the same shuffle.
        enc.copyBufferToBuffer(pristineKeys, 0, keyBuf, 0, n * 4);
        enc.copyBufferToBuffer(pristineValues, 0, valueBuf, 0, n * 4);
        dispatchSort(enc, plan, keyBuf, valueBuf, countBuf, 0, timer);
        await timer.submit(enc);
        await device.queue.onSubmittedWorkDone();
      };
      const bench = new Bench({ time: timeMs, iterations: minIterations, warmupIterations: 2, warmupTime: 0, retainSamples: true });
      bench.add(`sort_${n}`, sortOnce);
      await bench.run();
      const task = bench.tasks[0]!;
      const result = task.result;
      if (result.state !== 'completed') {
        throw new Error(`sort benchmark ${task.name} did not complete (${result.state}${'error' in result ? `: ${String(result.error)}` : ''})`);
      }
      const wall = [...(result.latency.samples ?? [])];
      let verified: boolean | null = null;
      if (args.verify) {
        const [outKeys, outValues] = await Promise.all([readU32(device, keyBuf, n), readU32(device, valueBuf, n)]);
        verified = isStableSortOf(keys, outKeys, outValues, keyBits);
      }
      const { samples } = await timer.collect();
      // Per sort: timestamp mode has one sample per pass and label, wall mode one per submit.
      const perSort = timer.method === 'timestamp' ? plan.passes : 1;
      const stages: Record<string, number[]> = {};
      for (const [label, list] of Object.entries(samples)) {
        const sums: number[] = [];
        for (let i = 0; i + perSort <= list.length; i += perSort) sums.push(list.slice(i, i + perSort).reduce((a, b) => a + b, 0));
        // Drop the warm-up sorts so GPU and wall statistics cover the same runs.
        stages[label] = sums.slice(Math.max(0, sums.length - wall.length));
      }
      const runs = Math.min(...Object.values(stages).map((v) => v.length));
      const gpu = Array.from({ length: runs }, (_, i) => Object.values(stages).reduce((a, v) => a + v[v.length - runs + i]!, 0));
      rows.push({
        ...keysBenchStats(n, wall, gpu, timer.method),
        keyBits,
        passes: plan.passes,
        itemsPerThread: plan.itemsPerThread,
        workgroupSize: plan.workgroupSize,
        gpuMinMs: Math.min(...gpu),
        gpuStageMedianMs: timer.method === 'timestamp' ? Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, quantile(v, 0.5)])) : {},
        verified,
      });
      ctx.emit({ type: 'step', stage: 'sort-bench', iter: ++step, of: sizes.length, n });
    } finally {
      timer.destroy();
      plan.destroy();
      for (const buf of [pristineKeys, pristineValues, keyBuf, valueBuf, countBuf]) buf.destroy();
    }
  }
  return rows;
};
