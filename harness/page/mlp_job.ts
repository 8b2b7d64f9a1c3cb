// Page jobs for the MLP deformation field and the batched linear layers
// (harness/deform/mlp.ts, harness/deform/linear.ts): `linear` runs one forward
// and any number of backward calls of one layer in one encoder and returns every
// buffer; `mlpField` does the same for the field (several frames in one encoder);
// `linearBench` and `mlpBench` time them.
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import type { DeformBuffers } from '../deform/field.ts';
import { dispatchLinear, dispatchLinearBwd, initLinearParams, LinearKernels, LinearLayer, type Activation } from '../deform/linear.ts';
import { createMlpField, mlpFieldConfig, type MlpFieldConfig } from '../deform/mlp.ts';
import type { MlpParams } from '../deform/mlp_ref.ts';
import { summarize } from '../util/stats.ts';
import type { Job } from './context.ts';

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A strided f32 matrix crossing the page boundary: [rows, stride] values, the layer's columns from offset. */
export interface JobMatrix {
  data: Float32Array;
  stride: number;
  offset: number;
}

export interface LinearJobBwd {
  dy: JobMatrix;
  /** Initial dX buffer and where dX goes; omitted: dX not computed. */
  dx?: JobMatrix & { accumulate: boolean };
}

export interface LinearJobArgs {
  inputs: number;
  outputs: number;
  activation: Activation;
  rows: number;
  weight: Float32Array;
  bias: Float32Array;
  x: JobMatrix;
  /** Initial Y buffer and where Y goes. */
  y: JobMatrix;
  accumulate?: boolean;
  /** Backward calls, all in the forward's encoder; gradients accumulate. */
  backward?: LinearJobBwd[];
}

export interface LinearJobResult {
  y: Float32Array;
  /** One per backward call that asked for dX (else an empty array). */
  dx: Float32Array[];
  dWeight: Float32Array;
  dBias: Float32Array;
}

const linearJob: Job = async (ctx, raw) => {
  const args = raw as unknown as LinearJobArgs;
  const { device } = ctx.gpu;
  const buffers: GPUBuffer[] = [];
  const up = (m: Float32Array) => {
    const b = uploadBuffer(device, m, STORAGE);
    buffers.push(b);
    return b;
  };
  const kernels = await LinearKernels.create(ctx.gpu, ctx.cache);
  const layer = new LinearLayer(ctx.gpu, { inputs: args.inputs, outputs: args.outputs, activation: args.activation, label: 'job' }, { weight: args.weight, bias: args.bias });
  try {
    const x = { buffer: up(args.x.data), stride: args.x.stride, offset: args.x.offset };
    const y = { buffer: up(args.y.data), stride: args.y.stride, offset: args.y.offset };
    const enc = device.createCommandEncoder();
    dispatchLinear(enc, kernels, layer, { rows: args.rows, x, y, accumulate: args.accumulate }, undefined);
    const dxs: GPUBuffer[] = [];
    for (const b of args.backward ?? []) {
      const dy = { buffer: up(b.dy.data), stride: b.dy.stride, offset: b.dy.offset };
      const dx = b.dx ? { buffer: up(b.dx.data), stride: b.dx.stride, offset: b.dx.offset } : null;
      if (dx) dxs.push(dx.buffer);
      dispatchLinearBwd(enc, kernels, layer, { rows: args.rows, x, y, dy, dx, dxAccumulate: b.dx?.accumulate });
    }
    device.queue.submit([enc.finish()]);
    const p = await layer.download();
    return {
      y: await readF32(device, y.buffer, args.y.data.length),
      dx: await Promise.all(dxs.map((b) => readF32(device, b, b.size / 4))),
      dWeight: p.dWeight,
      dBias: p.dBias,
    } satisfies LinearJobResult;
  } finally {
    layer.destroy();
    kernels.destroy();
    for (const b of buffers) b.destroy();
  }
};

export interface LinearBenchCase {
  rows: number;
  inputs: number;
  outputs: number;
}

export interface LinearBenchRow extends LinearBenchCase {
  timing: 'timestamp' | 'wall';
  /** GPU ms per call of the forward and of the backward (mask, dW, dX): the fastest sample (other work on the machine only adds). */
  forwardMs: number;
  backwardMs: number;
  forwardMedianMs: number;
  backwardMedianMs: number;
  /** Forward GFLOP/s (2·rows·inputs·outputs per call). */
  forwardGflops: number;
}

/** args: { cases: LinearBenchCase[], iterations?: number } */
const linearBenchJob: Job = async (ctx, args) => {
  const cases = args.cases as LinearBenchCase[];
  const iterations = (args.iterations as number | undefined) ?? 5;
  const { device } = ctx.gpu;
  const kernels = await LinearKernels.create(ctx.gpu, ctx.cache);
  const out: LinearBenchRow[] = [];
  try {
    for (const c of cases) {
      const layer = new LinearLayer(ctx.gpu, { ...c, activation: 'relu', label: 'bench' }, initLinearParams(c.inputs, c.outputs, 'torch', 1));
      const x = uploadBuffer(device, Float32Array.from({ length: c.rows * c.inputs }, (_, i) => Math.sin(i * 0.37)), STORAGE);
      const y = device.createBuffer({ size: c.rows * c.outputs * 4, usage: STORAGE });
      const dy = uploadBuffer(device, Float32Array.from({ length: c.rows * c.outputs }, (_, i) => Math.cos(i * 0.21)), STORAGE);
      const dx = device.createBuffer({ size: c.rows * c.inputs * 4, usage: STORAGE });
      const timer = new GpuTimer(ctx.gpu);
      try {
        for (let i = 0; i <= iterations; i++) {
          if (i === 1) await timer.reset();
          const enc = device.createCommandEncoder();
          dispatchLinear(enc, kernels, layer, { rows: c.rows, x: { buffer: x, stride: c.inputs }, y: { buffer: y, stride: c.outputs } }, timer);
          dispatchLinearBwd(enc, kernels, layer, { rows: c.rows, x: { buffer: x, stride: c.inputs }, y: { buffer: y, stride: c.outputs }, dy: { buffer: dy, stride: c.outputs }, dx: { buffer: dx, stride: c.inputs } }, timer);
          await timer.submit(enc);
          await device.queue.onSubmittedWorkDone();
        }
        const s = await timer.collect();
        const fwd = summarize(s.samples.linear ?? []);
        const bwd = summarize(s.samples.linear_bwd ?? []);
        out.push({ ...c, timing: s.method, forwardMs: fwd.minMs, backwardMs: bwd.minMs, forwardMedianMs: fwd.medianMs, backwardMedianMs: bwd.medianMs, forwardGflops: (2 * c.rows * c.inputs * c.outputs) / fwd.minMs / 1e6 });
      } finally {
        timer.destroy();
        layer.destroy();
        for (const b of [x, y, dy, dx]) b.destroy();
      }
    }
    return out;
  } finally {
    kernels.destroy();
  }
};

/** Host-side rows of a deformable Gaussian set: [N,3], [N,3], [N,4] f32. */
export interface DeformArrays {
  means: Float32Array;
  log_scales: Float32Array;
  quats: Float32Array;
}

export interface MlpFieldJobArgs {
  /** Options over MLP_PAPER (mlpFieldConfig), e.g. { depth: 2, width: 32 }. */
  options: Record<string, unknown>;
  /** Start from these parameters instead of the config's initialisation. */
  params?: MlpParams;
  count: number;
  /** Rows to reserve (default count). */
  capacity?: number;
  canonical: DeformArrays;
  /** Forward (+ backward when dOut is given) per call, all in one encoder. */
  calls: { time: number; dOut?: DeformArrays }[];
  /** Initial dL/d canonical; given: the backward adds the identity path into it. */
  dCanonical?: DeformArrays;
}

export interface MlpFieldJobResult {
  config: MlpFieldConfig;
  deformed: DeformArrays[];
  params: Record<string, Float32Array>;
  grads: Record<string, Float32Array>;
  dCanonical: DeformArrays | null;
  parameterCount: number;
  adamGroups: { name: string; width: number; capacity: number }[];
}


const mlpFieldJob: Job = async (ctx, raw) => {
  const args = raw as unknown as MlpFieldJobArgs;
  const { device } = ctx.gpu;
  const config = mlpFieldConfig(args.options);
  const buffers: GPUBuffer[] = [];
  const upload = (a: DeformArrays): DeformBuffers => {
    const m = { means: uploadBuffer(device, a.means, STORAGE), log_scales: uploadBuffer(device, a.log_scales, STORAGE), quats: uploadBuffer(device, a.quats, STORAGE) };
    buffers.push(m.means, m.log_scales, m.quats);
    return m;
  };
  const download = async (b: DeformBuffers, n: number): Promise<DeformArrays> => ({
    means: await readF32(device, b.means, n * 3),
    log_scales: await readF32(device, b.log_scales, n * 3),
    quats: await readF32(device, b.quats, n * 4),
  });
  const field = await createMlpField(ctx, config, { rows: args.capacity ?? args.count, params: args.params });
  try {
    const canonical = upload(args.canonical);
    const dCanonical = args.dCanonical ? upload(args.dCanonical) : null;
    const outs: DeformBuffers[] = [];
    const enc = device.createCommandEncoder();
    for (const call of args.calls) {
      const out = upload({ means: new Float32Array(args.count * 3), log_scales: new Float32Array(args.count * 3), quats: new Float32Array(args.count * 4) });
      outs.push(out);
      field.encodeForward(enc, canonical, args.count, call.time, out);
      if (call.dOut) field.encodeBackward(enc, upload(call.dOut), dCanonical);
    }
    device.queue.submit([enc.finish()]);
    const deformed: DeformArrays[] = [];
    for (const o of outs) deformed.push(await download(o, args.count));
    return {
      config,
      deformed,
      params: await field.download(),
      grads: await field.downloadGrads(),
      dCanonical: dCanonical ? await download(dCanonical, args.count) : null,
      parameterCount: field.parameterCount,
      adamGroups: field.adamGroups().map((g) => ({ name: g.name, width: g.width, capacity: g.capacity })),
    } satisfies MlpFieldJobResult;
  } finally {
    field.destroy();
    for (const b of buffers) b.destroy();
  }
};

export interface MlpBenchCase {
  rows: number;
  depth: number;
  width: number;
  skipAt?: number | null;
}

export interface MlpBenchRow extends MlpBenchCase {
  timing: 'timestamp' | 'wall';
  /** GPU ms of one forward (mlp + linear passes) and one backward (mlp_bwd + linear_bwd): the fastest iteration. */
  forwardMs: number;
  backwardMs: number;
  forwardMedianMs: number;
  backwardMedianMs: number;
}

/** args: { cases: MlpBenchCase[], iterations?: number } */
const mlpBenchJob: Job = async (ctx, args) => {
  const cases = args.cases as MlpBenchCase[];
  const iterations = (args.iterations as number | undefined) ?? 3;
  const { device } = ctx.gpu;
  const kernels = await LinearKernels.create(ctx.gpu, ctx.cache);
  const out: MlpBenchRow[] = [];
  try {
    for (const c of cases) {
      const config = mlpFieldConfig({ depth: c.depth, width: c.width, skipAt: c.skipAt === undefined ? Math.floor(c.depth / 2) : c.skipAt });
      const field = await createMlpField(ctx, config, { rows: c.rows, kernels });
      const n = c.rows;
      const rows = (w: number, seed: number) => uploadBuffer(device, Float32Array.from({ length: n * w }, (_, i) => Math.sin(i * 0.37 + seed)), STORAGE);
      const canonical = { means: rows(3, 0), log_scales: rows(3, 1), quats: rows(4, 2) };
      const deformed = { means: rows(3, 3), log_scales: rows(3, 4), quats: rows(4, 5) };
      const dOut = { means: rows(3, 6), log_scales: rows(3, 7), quats: rows(4, 8) };
      const dCanonical = { means: rows(3, 9), log_scales: rows(3, 10), quats: rows(4, 11) };
      const all = [canonical, deformed, dOut, dCanonical].flatMap((d) => [d.means, d.log_scales, d.quats]);
      const timer = new GpuTimer(ctx.gpu);
      try {
        const fwd: number[] = [];
        const bwd: number[] = [];
        const sum = (s: Record<string, number[]>, labels: string[]) => labels.reduce((a, l) => a + (s[l] ?? []).reduce((x, y) => x + y, 0), 0);
        for (let i = 0; i <= iterations; i++) {
          await timer.reset();
          const enc = device.createCommandEncoder();
          field.clearGrads(enc);
          field.encodeForward(enc, canonical, n, (i % 7) / 6, deformed, timer);
          field.encodeBackward(enc, dOut, dCanonical, timer);
          await timer.submit(enc);
          const s = await timer.collect();
          // Iteration 0 compiles and warms up.
          if (i > 0) {
            fwd.push(sum(s.samples, ['mlp', 'linear']));
            bwd.push(sum(s.samples, ['mlp_bwd', 'linear_bwd']));
          }
        }
        const f = summarize(fwd);
        const b = summarize(bwd);
        out.push({ ...c, skipAt: config.skipAt, timing: timer.method, forwardMs: f.minMs, backwardMs: b.minMs, forwardMedianMs: f.medianMs, backwardMedianMs: b.medianMs });
      } finally {
        timer.destroy();
        field.destroy();
        for (const b of all) b.destroy();
      }
    }
    return out;
  } finally {
    kernels.destroy();
  }
};

export const MLP_JOBS: Record<string, Job> = {
  linear: linearJob,
  linearBench: linearBenchJob,
  mlpField: mlpFieldJob,
  mlpBench: mlpBenchJob,
};
