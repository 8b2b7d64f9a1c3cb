// Page jobs for the HexPlane deformation field (harness/deform/hexplane.ts):
// forward/backward calls on given rows (tests), and a forward+backward bench.
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { HexPlaneField, type HexPlaneConfig } from '../deform/hexplane.ts';
import type { DeformBuffers } from '../deform/field.ts';
import { seededRandom } from '../pipeline/rng.ts';
import type { Job } from './context.ts';

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const KEYS = ['means', 'log_scales', 'quats'] as const;
const WIDTHS = { means: 3, log_scales: 3, quats: 4 } as const;

export type HexPlaneRows = Record<(typeof KEYS)[number], Float32Array<ArrayBuffer>>;

export interface HexPlaneJobCall {
  time: number;
  /** dL/d deformed rows; without it the call is forward only. */
  dOut?: HexPlaneRows;
}

export interface HexPlaneJobResult {
  /** Deformed rows per call. */
  outs: HexPlaneRows[];
  /** Parameter gradients by group after all calls (accumulated). */
  grads: Record<string, Float32Array>;
  /** dCanonical after all calls (starts at 0), when asked. */
  dCanonical: HexPlaneRows | null;
  /** Parameters by group (after upload). */
  params: Record<string, Float32Array>;
  parameterCount: number;
}

function rowsBuffers(device: GPUDevice, rows: HexPlaneRows | null, count: number, label: string, all: GPUBuffer[]): DeformBuffers {
  const make = (k: (typeof KEYS)[number]) => {
    const b = rows ? uploadBuffer(device, rows[k], STORAGE, `${label}-${k}`) : device.createBuffer({ label: `${label}-${k}`, size: Math.max(16, count * WIDTHS[k] * 4), usage: STORAGE });
    all.push(b);
    return b;
  };
  return { means: make('means'), log_scales: make('log_scales'), quats: make('quats') };
}

async function readRows(device: GPUDevice, b: DeformBuffers, count: number): Promise<HexPlaneRows> {
  return {
    means: (await readF32(device, b.means, count * 3)) as Float32Array<ArrayBuffer>,
    log_scales: (await readF32(device, b.log_scales, count * 3)) as Float32Array<ArrayBuffer>,
    quats: (await readF32(device, b.quats, count * 4)) as Float32Array<ArrayBuffer>,
  };
}

/**
 * args: { config: HexPlaneConfig, frames: number, canonical: HexPlaneRows, count: number,
 *   calls: HexPlaneJobCall[], params?: Record<string, Float32Array> (uploaded first),
 *   oneEncoder?: boolean (all calls in one encoder and one submit; default: one each),
 *   dCanonical?: boolean, rows?: number (capacity at creation; default count), reserve?: number (then reserve()),
 *   maxWorkgroupsPerDimension?: number }
 */
export const hexplaneFieldJob: Job = async (ctx, args) => {
  const count = args.count as number;
  const canonical = args.canonical as HexPlaneRows;
  const calls = args.calls as HexPlaneJobCall[];
  if (!Array.isArray(calls)) throw new Error('hexplaneField: args.calls must be an array');
  const { device } = ctx.gpu;
  const buffers: GPUBuffer[] = [];
  let field: HexPlaneField | null = null;
  try {
    field = await HexPlaneField.create(ctx.gpu, ctx.cache, args.config as HexPlaneConfig, {
      frames: args.frames as number,
      rows: (args.rows as number | undefined) ?? count,
      maxWorkgroupsPerDimension: args.maxWorkgroupsPerDimension as number | undefined,
    });
    if (args.reserve !== undefined) await field.reserve(args.reserve as number);
    if (args.params) field.upload(args.params as Record<string, Float32Array>);
    const canon = rowsBuffers(device, canonical, count, 'hexplane-job-canonical', buffers);
    const dCanon = args.dCanonical ? rowsBuffers(device, null, count, 'hexplane-job-dcanonical', buffers) : null;
    const outs = calls.map((_, i) => rowsBuffers(device, null, count, `hexplane-job-out-${i}`, buffers));
    const one = args.oneEncoder === true;
    let enc = device.createCommandEncoder({ label: 'hexplane-job' });
    field.clearGrads(enc);
    calls.forEach((call, i) => {
      field!.encodeForward(enc, canon, count, call.time, outs[i]!);
      if (call.dOut) field!.encodeBackward(enc, rowsBuffers(device, call.dOut, count, `hexplane-job-dout-${i}`, buffers), dCanon);
      if (!one) {
        device.queue.submit([enc.finish()]);
        enc = device.createCommandEncoder({ label: 'hexplane-job' });
      }
    });
    device.queue.submit([enc.finish()]);
    const result: HexPlaneJobResult = {
      outs: [],
      grads: await field.downloadGrads(),
      dCanonical: dCanon ? await readRows(device, dCanon, count) : null,
      params: await field.download(),
      parameterCount: field.parameterCount,
    };
    for (const o of outs) result.outs.push(await readRows(device, o, count));
    return result;
  } finally {
    field?.destroy();
    for (const b of buffers) b.destroy();
  }
};

export interface HexPlaneBenchRow {
  label: string;
  count: number;
  /** Median ms of one forward (all its passes) and one backward. */
  forwardMs: number;
  backwardMs: number;
  /** Median ms per timer label of one forward+backward. */
  kernels: Record<string, number>;
  method: string;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : Number.NaN;
};

/**
 * args: { cases: { label, config: HexPlaneConfig, frames, count }[], iterations?: number (default 5) }.
 * Random canonical means within the bounds; random head weights (so the backward does its full work).
 */
export const hexplaneBenchJob: Job = async (ctx, args) => {
  const cases = args.cases as { label: string; config: HexPlaneConfig; frames: number; count: number }[];
  const iterations = (args.iterations as number | undefined) ?? 5;
  const { device } = ctx.gpu;
  const rows: HexPlaneBenchRow[] = [];
  for (const c of cases) {
    const buffers: GPUBuffer[] = [];
    const field = await HexPlaneField.create(ctx.gpu, ctx.cache, c.config, { frames: c.frames, rows: c.count });
    const timer = new GpuTimer(ctx.gpu);
    try {
      const next = seededRandom(7);
      const rnd = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
      const params = await field.download();
      for (const [k, v] of Object.entries(params)) if (k !== 'hexplane.planes' && v.every((x) => x === 0)) params[k] = rnd(v.length, 0.1);
      field.upload(params);
      const canonical = { means: rnd(c.count * 3, 1.2), log_scales: rnd(c.count * 3, 1), quats: rnd(c.count * 4, 1) } as HexPlaneRows;
      const canon = rowsBuffers(device, canonical, c.count, 'bench-canonical', buffers);
      const out = rowsBuffers(device, null, c.count, 'bench-out', buffers);
      const dOut = rowsBuffers(device, { means: rnd(c.count * 3, 1), log_scales: rnd(c.count * 3, 1), quats: rnd(c.count * 4, 1) } as HexPlaneRows, c.count, 'bench-dout', buffers);
      const dCanon = rowsBuffers(device, null, c.count, 'bench-dcanonical', buffers);
      const run = async (i: number) => {
        const t = (i % c.frames) / Math.max(1, c.frames - 1);
        const enc = device.createCommandEncoder({ label: 'hexplane-bench' });
        field.encodeForward(enc, canon, c.count, t, out, timer);
        await timer.submit(enc);
        const enc2 = device.createCommandEncoder({ label: 'hexplane-bench' });
        field.encodeBackward(enc2, dOut, dCanon, timer);
        await timer.submit(enc2);
        await device.queue.onSubmittedWorkDone();
      };
      await run(0); // warm-up: pipelines, uniforms
      await timer.reset();
      const fwd: number[] = [];
      const bwd: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const before = await timer.collect();
        const sum = (s: Record<string, number[]>, bwdOnly: boolean) =>
          Object.entries(s)
            .filter(([k]) => k.includes('bwd') === bwdOnly)
            .reduce((a, [, v]) => a + v.reduce((x, y) => x + y, 0), 0);
        const f0 = sum(before.samples, false);
        const b0 = sum(before.samples, true);
        await run(i + 1);
        const after = await timer.collect();
        fwd.push(sum(after.samples, false) - f0);
        bwd.push(sum(after.samples, true) - b0);
      }
      const all = await timer.collect();
      const kernels = Object.fromEntries(Object.entries(all.samples).map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / iterations]));
      rows.push({ label: c.label, count: c.count, forwardMs: median(fwd), backwardMs: median(bwd), kernels, method: all.method });
    } finally {
      timer.destroy();
      field.destroy();
      for (const b of buffers) b.destroy();
    }
  }
  return rows;
};

export const HEXPLANE_JOBS: Record<string, Job> = {
  hexplaneField: hexplaneFieldJob,
  hexplaneBench: hexplaneBenchJob,
};
