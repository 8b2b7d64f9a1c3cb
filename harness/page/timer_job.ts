// Times a few labelled scan passes with the GPU timer, for tests of the timer itself.
import { uploadBuffer } from '../gpu/readback.ts';
import { ScanPlan, dispatchScan } from '../gpu/scan.ts';
import { GpuTimer, type TimingMethod } from '../gpu/timer.ts';
import type { Job } from './context.ts';

/** args: { method?: 'auto'|'timestamp'|'wall', n?: number, repeats?: number, capacity?: number } */
export const timerCheckJob: Job = async (ctx, args) => {
  const n = (args.n as number | undefined) ?? 1 << 16;
  const repeats = (args.repeats as number | undefined) ?? 3;
  const { device } = ctx.gpu;
  const timer = new GpuTimer(ctx.gpu, {
    method: (args.method as 'auto' | TimingMethod | undefined) ?? 'auto',
    capacity: args.capacity as number | undefined,
  });
  const plan = await ScanPlan.create(ctx.gpu, ctx.cache, n);
  const data = uploadBuffer(device, new Uint32Array(n).fill(1), GPUBufferUsage.STORAGE, 'timer-data');
  try {
    for (let i = 0; i < repeats; i++) {
      const enc = device.createCommandEncoder();
      dispatchScan(enc, plan, data, timer);
      // A second labelled pass in the same encoder: labels stay separate.
      const pass = timer.beginPass(enc, 'empty');
      pass.end();
      await timer.submit(enc);
    }
    return await timer.collect();
  } finally {
    timer.destroy();
    plan.destroy();
    data.destroy();
  }
};
