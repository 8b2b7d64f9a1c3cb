// Page jobs for the MLP deformation field and the batched linear layers
// (harness/deform/mlp.ts, harness/deform/linear.ts): `linear` runs one forward
// and any number of backward calls of one layer in one encoder and returns every
// buffer; `linearBench` times them.
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { dispatchLinear, dispatchLinearBwd, initLinearParams, LinearKernels, LinearLayer, type Activation } from '../deform/linear.ts';
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

export const MLP_JOBS: Record<string, Job> = {
  linear: linearJob,
  linearBench: linearBenchJob,
};
