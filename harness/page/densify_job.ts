// Page job for densification: builds a GaussianModel and an Adam over it from
// plain arrays, runs densify / opacity reset (harness/splat/densify.ts) and returns
// the parameters, the moments and what happened, for tests against refDensify.
import { readF32, readU32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { Adam } from '../splat/adam.ts';
import { Densifier, dispatchDensify, dispatchOpacityReset, type DensifyOptions, type DensifyStats } from '../splat/densify.ts';
import { GaussianModel, PARAM_GROUPS, type GaussianParams, type ParamGroup } from '../splat/model.ts';
import type { Job } from './context.ts';

export type DensifyOp = 'densify' | 'opacity_reset';

export interface DensifyJobArgs {
  /** The model's rows [0, count). */
  params: GaussianParams;
  /** Rows the GPU buffers hold (default params.count). */
  capacity?: number;
  /** Groups Adam optimises (default all); their moments move with the rows. */
  adamGroups?: ParamGroup[];
  /** Initial moments, [count, width] f32 per group (missing: zero). */
  moments?: Partial<Record<ParamGroup, { m: Float32Array; v: Float32Array }>>;
  /** [count] f32 accumulated screen-space gradient norms. */
  gradAccum: Float32Array;
  /** [count] f32 or u32 views visible; the type picks the Densifier's gradCountFormat. */
  gradCount: Float32Array | Uint32Array;
  options: DensifyOptions;
  /** Overrides options.seed. */
  seed?: number;
  /** What to run, in order (default ['densify']). */
  ops?: DensifyOp[];
  /** Time the passes with a GpuTimer and return the labels it saw. */
  timed?: boolean;
  maxWorkgroupsPerDimension?: number;
}

export interface DensifyJobResult {
  /** Rows [0, count) after the ops. */
  params: GaussianParams;
  /** Every row of the capacity, to check the spare rows. */
  paramsFull: Record<ParamGroup, Float32Array>;
  m: Partial<Record<ParamGroup, Float32Array>>;
  v: Partial<Record<ParamGroup, Float32Array>>;
  /** One per 'densify' op. */
  stats: DensifyStats[];
  /** [capacity] after the ops (densify clears them). */
  gradAccum: Float32Array;
  gradCount: Float32Array | Uint32Array;
  /** Labels of the timed passes (with args.timed). */
  timingLabels: string[];
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export const densifyJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as unknown as DensifyJobArgs;
  const p = args.params;
  if (!p || typeof p !== 'object' || !(p.means instanceof Float32Array)) throw new Error('densify: args.params must be Gaussian parameters (typed arrays)');
  const capacity = args.capacity ?? p.count;
  if (!(args.gradAccum instanceof Float32Array) || args.gradAccum.length !== p.count) throw new Error(`densify: args.gradAccum must be a Float32Array of ${p.count}`);
  const countIsU32 = args.gradCount instanceof Uint32Array;
  if (!(countIsU32 || args.gradCount instanceof Float32Array) || args.gradCount.length !== p.count) throw new Error(`densify: args.gradCount must be a Float32Array or Uint32Array of ${p.count}`);
  const ops = args.ops ?? ['densify'];
  const options = { ...args.options, seed: args.seed ?? args.options.seed };
  const { device } = ctx.gpu;

  const owned: { destroy(): void }[] = [];
  try {
    const model = GaussianModel.create(device, p, capacity);
    owned.push(model);
    const groups = args.adamGroups ?? [...PARAM_GROUPS];
    const adam = await Adam.forModel(ctx.gpu, ctx.cache, model, Object.fromEntries(groups.map((g) => [g, { kind: 'constant' as const, lr: 0.01 }])));
    owned.push(adam);
    for (const [g, mv] of Object.entries(args.moments ?? {}) as [ParamGroup, { m: Float32Array; v: Float32Array }][]) {
      const want = p.count * model.width(g);
      if (!groups.includes(g)) throw new Error(`densify: moments given for '${g}', which Adam does not optimise`);
      if (mv.m.length !== want || mv.v.length !== want) throw new Error(`densify: moments of '${g}' must hold ${p.count} x ${model.width(g)} floats`);
      const { m, v } = adam.state(g);
      device.queue.writeBuffer(m, 0, mv.m as Float32Array<ArrayBuffer>);
      device.queue.writeBuffer(v, 0, mv.v as Float32Array<ArrayBuffer>);
    }
    const padded = <T extends Float32Array | Uint32Array>(a: T, make: (n: number) => T) => {
      const out = make(Math.max(1, capacity));
      out.set(a);
      return out;
    };
    const gradAccum = uploadBuffer(device, padded(args.gradAccum, (n) => new Float32Array(n)), STORAGE, 'densify-job-grad-accum');
    owned.push(gradAccum);
    const gradCount = uploadBuffer(
      device,
      countIsU32 ? padded(args.gradCount as Uint32Array, (n) => new Uint32Array(n)) : padded(args.gradCount as Float32Array, (n) => new Float32Array(n)),
      STORAGE,
      'densify-job-grad-count',
    );
    owned.push(gradCount);
    const densifier = await Densifier.create(ctx.gpu, ctx.cache, model, adam, { gradAccum, gradCount }, {
      gradCountFormat: countIsU32 ? 'u32' : 'f32',
      maxWorkgroupsPerDimension: args.maxWorkgroupsPerDimension,
    });
    owned.push(densifier);
    const timer = args.timed ? new GpuTimer(ctx.gpu) : undefined;
    if (timer) owned.push(timer);

    const stats: DensifyStats[] = [];
    for (const op of ops) {
      if (op === 'densify') {
        stats.push(await dispatchDensify(densifier, options, timer));
      } else if (op === 'opacity_reset') {
        const enc = device.createCommandEncoder({ label: 'opacity_reset' });
        dispatchOpacityReset(enc, densifier, timer);
        if (timer) await timer.submit(enc);
        else device.queue.submit([enc.finish()]);
      } else {
        throw new Error(`densify: unknown op '${String(op)}' (known: densify, opacity_reset)`);
      }
    }
    // Wall-clock timing charges a submit to all its labels joined by '+'.
    const timingLabels = timer ? [...new Set(Object.keys((await timer.collect()).samples).flatMap((k) => k.split('+')))].sort() : [];

    const result: DensifyJobResult = {
      params: await model.download(),
      paramsFull: {} as Record<ParamGroup, Float32Array>,
      m: {},
      v: {},
      stats,
      gradAccum: await readF32(device, gradAccum, capacity),
      gradCount: countIsU32 ? await readU32(device, gradCount, capacity) : await readF32(device, gradCount, capacity),
      timingLabels,
    };
    for (const g of PARAM_GROUPS) result.paramsFull[g] = await readF32(device, model.params[g], capacity * model.width(g));
    for (const g of groups) {
      const { m, v } = adam.state(g);
      result.m[g] = await readF32(device, m, capacity * model.width(g));
      result.v[g] = await readF32(device, v, capacity * model.width(g));
    }
    return result;
  } finally {
    for (const o of owned.reverse()) o.destroy();
  }
};
