// Page jobs for the prefix scan: a correctness run on given data, and the timed benchmark.
import { Bench } from 'tinybench';
import { readU32, uploadBuffer } from '../gpu/readback.ts';
import { ScanPlan, dispatchScan, type ScanVariant } from '../gpu/scan.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { quantile, summarize } from '../util/stats.ts';
import type { Job } from './context.ts';

export const scanJob: Job = async (ctx, args) => {
  const input = args.input;
  if (!(input instanceof Uint32Array)) throw new Error('scan: args.input must be a Uint32Array');
  const { device } = ctx.gpu;
  const plan = await ScanPlan.create(ctx.gpu, ctx.cache, input.length, {
    variant: (args.variant as ScanVariant | 'auto' | undefined) ?? 'auto',
    maxWorkgroupsPerDimension: args.maxWorkgroupsPerDimension as number | undefined,
  });
  const data = uploadBuffer(device, input, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'scan-data');
  try {
    const enc = device.createCommandEncoder();
    dispatchScan(enc, plan, data);
    device.queue.submit([enc.finish()]);
    const [output, total] = await Promise.all([readU32(device, data, input.length), readU32(device, plan.total, 1)]);
    return { output, total: total[0], variant: plan.variant };
  } finally {
    data.destroy();
    plan.destroy();
  }
};

/** What every keys-per-second benchmark row reports (scan, sort). */
export interface KeysBenchRow {
  n: number;
  samples: number;
  /** Wall time per call: encode, submit and wait for the queue (what a caller sees). */
  medianMs: number;
  p90Ms: number;
  keysPerSecond: number;
  /** GPU time of the kernel passes alone, from timestamp queries (or wall, see timing). */
  gpuMedianMs: number;
  gpuP90Ms: number;
  gpuKeysPerSecond: number;
  timing: 'timestamp' | 'wall';
}

/** The keys/s fields of a row from per-call wall and GPU samples (ms) of n keys. */
export function keysBenchStats(n: number, wall: number[], gpu: number[], timing: 'timestamp' | 'wall'): KeysBenchRow {
  const w = summarize(wall);
  const g = summarize(gpu);
  return {
    n,
    samples: wall.length,
    medianMs: w.medianMs,
    p90Ms: quantile(wall, 0.9),
    keysPerSecond: n / (w.medianMs / 1000),
    gpuMedianMs: g.medianMs,
    gpuP90Ms: g.p90Ms,
    gpuKeysPerSecond: n / (g.medianMs / 1000),
    timing,
  };
}

export interface ScanBenchRow extends KeysBenchRow {
  variant: ScanVariant;
}

/** args: { sizes: number[], variants?: ScanVariant[], timeMs?: number, minIterations?: number } */
export const scanBenchJob: Job = async (ctx, args) => {
  const sizes = args.sizes as number[];
  const variants = (args.variants as ScanVariant[] | undefined) ?? (ctx.gpu.has('subgroups') ? ['workgroup', 'subgroups'] : ['workgroup']);
  const timeMs = (args.timeMs as number | undefined) ?? 1000;
  const minIterations = (args.minIterations as number | undefined) ?? 10;
  const { device } = ctx.gpu;
  const rows: ScanBenchRow[] = [];
  let step = 0;
  for (const n of sizes) {
    // Small values so totals stay meaningful; the values do not change the work.
    const input = new Uint32Array(n);
    for (let i = 0; i < n; i++) input[i] = (i * 2654435761) >>> 28;
    const data = uploadBuffer(device, input, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'scan-bench-data');
    try {
      for (const variant of variants) {
        const plan = await ScanPlan.create(ctx.gpu, ctx.cache, n, { variant });
        const timer = new GpuTimer(ctx.gpu);
        const scanOnce = async () => {
          const enc = device.createCommandEncoder();
          dispatchScan(enc, plan, data, timer);
          await timer.submit(enc);
          await device.queue.onSubmittedWorkDone();
        };
        const bench = new Bench({ time: timeMs, iterations: minIterations, warmupIterations: 2, warmupTime: 0, retainSamples: true });
        bench.add(`scan_${variant}_${n}`, scanOnce);
        await bench.run();
        const task = bench.tasks[0]!;
        const result = task.result;
        if (result.state !== 'completed') {
          throw new Error(`scan benchmark ${task.name} did not complete (${result.state}${'error' in result ? `: ${String(result.error)}` : ''})`);
        }
        const wall = [...(result.latency.samples ?? [])];
        const gpuTimes = (await timer.collect()).samples.scan ?? [];
        // Drop the warm-up passes so GPU and wall statistics cover the same runs.
        const gpu = gpuTimes.slice(Math.max(0, gpuTimes.length - wall.length));
        rows.push({ variant, ...keysBenchStats(n, wall, gpu, timer.method) });
        ctx.emit({ type: 'step', stage: 'scan-bench', iter: ++step, of: sizes.length * variants.length, n, variant });
        timer.destroy();
        plan.destroy();
      }
    } finally {
      data.destroy();
    }
  }
  return rows;
};
