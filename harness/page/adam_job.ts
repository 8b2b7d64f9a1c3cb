// Page job for Adam: several steps on given parameters and per-step gradients,
// optionally reordering rows (parameters and moments together, as densification
// will) between two steps; returns parameters, moments and the rates used.
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { Adam, dispatchAdam, type AdamRows, type LrSchedule } from '../splat/adam.ts';
import type { Job } from './context.ts';

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export interface AdamJobGroup {
  name: string;
  width: number;
  capacity: number;
  /** [capacity, width] f32 initial parameters. */
  params: Float32Array;
  lr: LrSchedule;
}

export interface AdamJobStep {
  rows?: AdamRows;
  /** Per group: [capacity, width] f32 gradient for this step. */
  grads: Record<string, Float32Array<ArrayBuffer>>;
}

export interface AdamJobResult {
  params: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  /** Per group: the rate each step used. */
  lrs: Record<string, number[]>;
  stepCount: number;
}

/**
 * args: { groups: AdamJobGroup[], steps: AdamJobStep[], beta1?, beta2?, eps?,
 *   reorder?: { afterStep: number, order: Uint32Array } (new row r = old row order[r], every group),
 *   maxWorkgroupsPerDimension?: number }
 */
export const adamJob: Job = async (ctx, args) => {
  const groups = args.groups as AdamJobGroup[];
  const steps = args.steps as AdamJobStep[];
  if (!Array.isArray(groups) || !Array.isArray(steps)) throw new Error('adam: args.groups and args.steps must be arrays');
  const reorder = args.reorder as { afterStep: number; order: Uint32Array } | undefined;
  const { device } = ctx.gpu;
  const buffers: GPUBuffer[] = [];
  const bufs = new Map<string, { params: GPUBuffer; grads: GPUBuffer }>();
  for (const g of groups) {
    if (!(g.params instanceof Float32Array) || g.params.length !== g.capacity * g.width) throw new Error(`adam: group '${g.name}' params must be a Float32Array of ${g.capacity} x ${g.width}`);
    const params = uploadBuffer(device, g.params, STORAGE, `adam-job-params-${g.name}`);
    const grads = device.createBuffer({ label: `adam-job-grads-${g.name}`, size: params.size, usage: STORAGE });
    buffers.push(params, grads);
    bufs.set(g.name, { params, grads });
  }
  let adam: Adam | null = null;
  try {
    adam = await Adam.create(
      ctx.gpu,
      ctx.cache,
      groups.map((g) => ({ name: g.name, width: g.width, capacity: g.capacity, lr: g.lr, ...bufs.get(g.name)! })),
      {
        beta1: args.beta1 as number | undefined,
        beta2: args.beta2 as number | undefined,
        eps: args.eps as number | undefined,
        maxWorkgroupsPerDimension: args.maxWorkgroupsPerDimension as number | undefined,
      },
    );
    const lrs: Record<string, number[]> = Object.fromEntries(groups.map((g) => [g.name, []]));
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s]!;
      for (const g of groups) {
        const grad = step.grads[g.name];
        if (!(grad instanceof Float32Array) || grad.length !== g.capacity * g.width) throw new Error(`adam: step ${s} gradient of '${g.name}' must be a Float32Array of ${g.capacity} x ${g.width}`);
        device.queue.writeBuffer(bufs.get(g.name)!.grads, 0, grad);
      }
      const enc = device.createCommandEncoder();
      dispatchAdam(enc, adam, step.rows);
      device.queue.submit([enc.finish()]);
      for (const g of groups) lrs[g.name]!.push(adam.lastLr(g.name));
      if (reorder && reorder.afterStep === s + 1) {
        // What densification does on the GPU, done here by hand: gather parameters
        // and both moments with the same row order.
        for (const g of groups) {
          const { m, v } = adam.state(g.name);
          for (const buf of [bufs.get(g.name)!.params, m, v]) {
            const old = await readF32(device, buf, g.capacity * g.width);
            const moved = new Float32Array(old.length);
            reorder.order.forEach((from, to) => moved.set(old.subarray(from * g.width, (from + 1) * g.width), to * g.width));
            device.queue.writeBuffer(buf, 0, moved);
          }
        }
      }
    }
    const out: AdamJobResult = { params: {}, m: {}, v: {}, lrs, stepCount: adam.stepCount };
    for (const g of groups) {
      const n = g.capacity * g.width;
      const { m, v } = adam.state(g.name);
      out.params[g.name] = await readF32(device, bufs.get(g.name)!.params, n);
      out.m[g.name] = await readF32(device, m, n);
      out.v[g.name] = await readF32(device, v, n);
    }
    return out;
  } finally {
    adam?.destroy();
    for (const b of buffers) b.destroy();
  }
};
