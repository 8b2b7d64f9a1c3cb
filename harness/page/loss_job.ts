// Page jobs for the image losses: a correctness run on given images (values and
// gradient back), and a timed forward+backward at a given size.
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { LossPlan, dispatchLoss, type LossValues, type LossWeights } from '../splat/loss.ts';
import { summarize } from '../util/stats.ts';
import type { Job } from './context.ts';

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function f32Arg(args: Record<string, unknown>, name: string, length: number, optional = false): Float32Array | null {
  const v = args[name];
  if ((v === undefined || v === null) && optional) return null;
  if (!(v instanceof Float32Array)) throw new Error(`loss: args.${name} must be a Float32Array`);
  if (v.length !== length) throw new Error(`loss: args.${name} holds ${v.length} floats, expected ${length}`);
  return v;
}

export interface LossJobResult {
  values: LossValues;
  /** [H,W,4] f32 the gradient buffer after the calls (gradInit + Σ calls). */
  grad: Float32Array;
}

/**
 * args: { width, height, render: F32 [H,W,4], target: F32 [H,W,4], mask?: F32 [H,W],
 *   weights: LossWeights, gradInit?: F32 [H,W,4], calls?: number (dispatches into one
 *   encoder, accumulating), ssim?: boolean, maxWorkgroupsPerDimension?: number }
 */
export const lossJob: Job = async (ctx, args) => {
  const width = args.width as number;
  const height = args.height as number;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`loss: args.width/height must be positive integers`);
  const n = width * height;
  const render = f32Arg(args, 'render', n * 4)!;
  const target = f32Arg(args, 'target', n * 4)!;
  const mask = f32Arg(args, 'mask', n, true);
  const gradInit = f32Arg(args, 'gradInit', n * 4, true);
  const calls = (args.calls as number | undefined) ?? 1;
  const { device } = ctx.gpu;
  const plan = await LossPlan.create(ctx.gpu, ctx.cache, width, height, { maxWorkgroupsPerDimension: args.maxWorkgroupsPerDimension as number | undefined });
  const buffers = [
    uploadBuffer(device, render, STORAGE, 'loss-render'),
    uploadBuffer(device, target, STORAGE, 'loss-target'),
    uploadBuffer(device, gradInit ?? new Float32Array(n * 4), STORAGE, 'loss-grad'),
  ];
  if (mask) buffers.push(uploadBuffer(device, mask, STORAGE, 'loss-mask'));
  const [renderBuf, targetBuf, gradBuf, maskBuf] = buffers;
  try {
    const enc = device.createCommandEncoder();
    plan.clearValues(enc);
    for (let i = 0; i < calls; i++) {
      dispatchLoss(enc, plan, { render: renderBuf!, target: targetBuf!, mask: maskBuf ?? null, grad: gradBuf! }, args.weights as LossWeights, {
        ssim: args.ssim as boolean | undefined,
      });
    }
    device.queue.submit([enc.finish()]);
    const [values, grad] = await Promise.all([plan.readValues(), readF32(device, gradBuf!, n * 4)]);
    return { values, grad } satisfies LossJobResult;
  } finally {
    for (const b of buffers) b.destroy();
    plan.destroy();
  }
};

export interface LossBenchResult {
  width: number;
  height: number;
  weights: LossWeights;
  timing: 'timestamp' | 'wall';
  /** GPU time of one loss pass (forward + backward), per iteration. */
  gpuMs: number[];
  gpuMedianMs: number;
  /** Encode + submit + wait, per iteration. */
  wallMedianMs: number;
}

/** args: { width, height, weights?: LossWeights (default: all four terms), iterations?: number, masked?: boolean } */
export const lossBenchJob: Job = async (ctx, args) => {
  const width = args.width as number;
  const height = args.height as number;
  const weights = (args.weights as LossWeights | undefined) ?? { rgbMse: 1, rgbL1: 0.8, dssim: 0.2, alphaMse: 0.1 };
  const iterations = (args.iterations as number | undefined) ?? 10;
  const n = width * height;
  const { device } = ctx.gpu;
  const img = (seed: number) => Float32Array.from({ length: n * 4 }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37 + seed));
  const plan = await LossPlan.create(ctx.gpu, ctx.cache, width, height);
  const buffers = [uploadBuffer(device, img(0), STORAGE), uploadBuffer(device, img(1), STORAGE), uploadBuffer(device, new Float32Array(n * 4), STORAGE)];
  if (args.masked) buffers.push(uploadBuffer(device, Float32Array.from({ length: n }, (_, i) => (i % 7) / 6), STORAGE));
  const timer = new GpuTimer(ctx.gpu);
  try {
    const wall: number[] = [];
    for (let i = 0; i <= iterations; i++) {
      if (i === 1) await timer.reset(); // the first run compiles and warms up
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      dispatchLoss(enc, plan, { render: buffers[0]!, target: buffers[1]!, grad: buffers[2]!, mask: buffers[3] ?? null }, weights, { timer });
      await timer.submit(enc);
      await device.queue.onSubmittedWorkDone();
      if (i > 0) wall.push(performance.now() - t0);
    }
    const samples = await timer.collect();
    const gpuMs = samples.samples.loss ?? [];
    return {
      width,
      height,
      weights,
      timing: samples.method,
      gpuMs,
      gpuMedianMs: summarize(gpuMs).medianMs,
      wallMedianMs: summarize(wall).medianMs,
    } satisfies LossBenchResult;
  } finally {
    timer.destroy();
    for (const b of buffers) b.destroy();
    plan.destroy();
  }
};
