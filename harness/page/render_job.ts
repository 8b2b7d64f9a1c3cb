// Page jobs for the splatting renderer (harness/splat/render.ts): `render` runs
// the forward (and optionally the backward) pass of one view and returns every
// intermediate buffer for the tests; `renderBench` times the passes.
import { readBuffer, readF32, readU32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { Camera, type CameraSpec } from '../splat/camera.ts';
import { sortIntersections } from '../splat/map_intersects_ref.ts';
import { GaussianModel, type GaussianParams, PARAM_GROUPS, type ParamGroup, validateParams } from '../splat/model.ts';
import { Renderer, type RendererOptions } from '../splat/render.ts';
import { GRAD_LAYOUT, intersectStatusLayout, type ReduceVariant } from '../splat/shaders.ts';
import { summarize } from '../util/stats.ts';
import type { Job, JobContext } from './context.ts';

export interface RenderJobArgs {
  params: GaussianParams;
  camera: CameraSpec;
  background?: number[];
  intersectCapacity?: number;
  depthBits?: number;
  reduce?: ReduceVariant | 'auto' | 'cas';
  /** Sort the intersections on the CPU between two submits (isolates the GPU sort). */
  cpuSort?: boolean;
  /** Extra forward renders with the same renderer; their images come back in `repeats`. */
  repeat?: number;
  /** More views, all encoded into one command encoder and one submit; images in `views`. */
  views?: CameraSpec[];
  /** Skip the overflow check and re-render (shows what a training frame that overflowed looks like). */
  noResync?: boolean;
  /** d loss / d image [H,W,4] (and d loss / d depth [H,W]): also run the backward pass. */
  dImage?: Float32Array;
  dDepth?: Float32Array;
  /** Backward passes to run (gradients and statistics accumulate); default 1. */
  backwardRepeat?: number;
}

export interface RenderJobResult {
  image: Float32Array;
  depth: Float32Array;
  finalT: Float32Array;
  end: Uint32Array;
  xyDepth: Float32Array;
  conicOpacity: Float32Array;
  rgb: Float32Array;
  tilesTouched: Uint32Array;
  tileRect: Uint32Array;
  /** Sorted intersection lists: `count` entries. */
  keys: Uint32Array;
  values: Uint32Array;
  ranges: Uint32Array;
  status: { count: number; required: number; overflow: number };
  report: { overflowed: boolean; required: number; capacity: number; grownTo: number; attempts: number };
  intersectCapacity: number;
  depthBits: number;
  reduceVariant: ReduceVariant;
  repeats: Float32Array[];
  views: Float32Array[];
  grads?: Record<ParamGroup, Float32Array>;
  gradSplat?: Float32Array;
  xyGradNorm?: Float32Array;
  visCount?: Uint32Array;
}

function parseParams(raw: unknown): GaussianParams {
  const p = raw as GaussianParams;
  if (!p || typeof p !== 'object' || !Number.isInteger(p.count) || !Number.isInteger(p.shDegree)) throw new Error('render: args.params must be GaussianParams {count, shDegree, means, ...}');
  for (const g of PARAM_GROUPS) if (!(p[g] instanceof Float32Array)) throw new Error(`render: args.params.${g} must be a Float32Array`);
  validateParams(p, 'render: Gaussian parameters');
  return p;
}

async function readStatus(ctx: JobContext, r: Renderer) {
  const v = new Uint32Array(await readBuffer(ctx.gpu.device, r.intersectBuffers.status, 0, intersectStatusLayout.size));
  const at = (f: string) => v[intersectStatusLayout.field(f).offset / 4]!;
  return { count: at('count'), required: at('required'), overflow: at('overflow') };
}

/** Forward with the intersections sorted on the CPU: prepare, read back, sort, upload, rasterize. */
async function renderCpuSorted(ctx: JobContext, r: Renderer, model: GaussianModel, camera: Camera) {
  const { device } = ctx.gpu;
  for (let attempt = 1; ; attempt++) {
    const enc = device.createCommandEncoder();
    r.encodePrepare(enc, model, camera);
    device.queue.submit([enc.finish()]);
    const report = await r.sync();
    if (report.overflowed && attempt < 2) continue;
    const { count } = await readStatus(ctx, r);
    const x = r.intersectBuffers;
    const sorted = sortIntersections(await readU32(device, x.keys, count), await readU32(device, x.values, count), r.keyBits);
    if (count > 0) {
      device.queue.writeBuffer(x.keys, 0, sorted.keys as Uint32Array<ArrayBuffer>);
      device.queue.writeBuffer(x.values, 0, sorted.values as Uint32Array<ArrayBuffer>);
    }
    const enc2 = device.createCommandEncoder();
    r.encodeRasterize(enc2, model, camera);
    device.queue.submit([enc2.finish()]);
    return { ...report, attempts: attempt };
  }
}

function rendererOptions(args: RenderJobArgs, camera: Camera, params: GaussianParams): RendererOptions {
  return {
    width: camera.width,
    height: camera.height,
    gaussians: params.count,
    intersectCapacity: args.intersectCapacity,
    background: args.background,
    depthBits: args.depthBits,
    reduce: args.reduce,
  };
}

export const renderJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as unknown as RenderJobArgs;
  const params = parseParams(args.params);
  const camera = Camera.fromBlender(args.camera);
  const { device } = ctx.gpu;
  const model = GaussianModel.create(device, params);
  const renderer = await Renderer.create(ctx.gpu, ctx.cache, rendererOptions(args, camera, params));
  const extra: GPUBuffer[] = [];
  try {
    let report;
    if (args.cpuSort) report = await renderCpuSorted(ctx, renderer, model, camera);
    else if (args.noResync) {
      const enc = device.createCommandEncoder();
      renderer.encodeForward(enc, model, camera);
      device.queue.submit([enc.finish()]);
      report = { ...(await renderer.sync()), attempts: 1 };
    } else report = await renderer.render(model, camera);

    const { width: W, height: H } = camera;
    const t = renderer.target;
    const s = renderer.splatBuffers;
    const x = renderer.intersectBuffers;
    const n = params.count;
    const status = await readStatus(ctx, renderer);
    const state = await readU32(device, t.pixelState, W * H * 2);
    const result: RenderJobResult = {
      image: await readF32(device, t.image, W * H * 4),
      depth: await readF32(device, t.depth, W * H),
      finalT: new Float32Array(state.filter((_, i) => i % 2 === 0).buffer),
      end: state.filter((_, i) => i % 2 === 1),
      xyDepth: await readF32(device, s.xyDepth, n * 4),
      conicOpacity: await readF32(device, s.conicOpacity, n * 4),
      rgb: await readF32(device, s.rgb, n * 4),
      tilesTouched: await readU32(device, s.tilesTouched, n),
      tileRect: await readU32(device, s.tileRect, n * 4),
      keys: await readU32(device, x.keys, status.count),
      values: await readU32(device, x.values, status.count),
      ranges: await readU32(device, x.ranges, renderer.tilesX * renderer.tilesY * 2),
      status,
      report,
      intersectCapacity: renderer.intersectCapacity,
      depthBits: renderer.depthBits,
      reduceVariant: renderer.reduceVariant,
      repeats: [],
      views: [],
    };

    for (let i = 0; i < (args.repeat ?? 0); i++) {
      const target = renderer.createTarget();
      extra.push(target.image, target.depth, target.pixelState);
      const enc = device.createCommandEncoder();
      renderer.encodeForward(enc, model, camera, target);
      device.queue.submit([enc.finish()]);
      renderer.afterSubmit();
      result.repeats.push(await readF32(device, target.image, W * H * 4));
    }

    if (args.views?.length) {
      const enc = device.createCommandEncoder();
      const targets = args.views.map((spec) => {
        const target = renderer.createTarget();
        extra.push(target.image, target.depth, target.pixelState);
        renderer.encodeForward(enc, model, Camera.fromBlender(spec), target);
        return target;
      });
      device.queue.submit([enc.finish()]);
      renderer.afterSubmit();
      for (const target of targets) result.views.push(await readF32(device, target.image, W * H * 4));
    }

    if (args.dImage) {
      if (!(args.dImage instanceof Float32Array) || args.dImage.length !== W * H * 4) throw new Error(`render: args.dImage must be a Float32Array of ${W * H * 4}`);
      if (args.dDepth && (!(args.dDepth instanceof Float32Array) || args.dDepth.length !== W * H)) throw new Error(`render: args.dDepth must be a Float32Array of ${W * H}`);
      const dImage = uploadBuffer(device, args.dImage, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'render-job-d-image');
      const dDepth = args.dDepth ? uploadBuffer(device, args.dDepth, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'render-job-d-depth') : undefined;
      extra.push(dImage, ...(dDepth ? [dDepth] : []));
      // Repeats and views rendered since: render this view again for the backward.
      const enc = device.createCommandEncoder();
      model.clearGrads(enc);
      renderer.clearDensifyStats(enc);
      if (args.cpuSort || result.repeats.length || result.views.length) {
        if (args.cpuSort) {
          device.queue.submit([enc.finish()]);
          await renderCpuSorted(ctx, renderer, model, camera);
        } else renderer.encodeForward(enc, model, camera);
      }
      const enc2 = args.cpuSort ? device.createCommandEncoder() : enc;
      for (let i = 0; i < (args.backwardRepeat ?? 1); i++) renderer.encodeBackward(enc2, model, camera, dImage, undefined, { dDepth });
      device.queue.submit([enc2.finish()]);
      renderer.afterSubmit();
      result.grads = await model.downloadGrads();
      result.gradSplat = await readF32(device, s.gradSplat, n * GRAD_LAYOUT.stride);
      result.xyGradNorm = await readF32(device, s.xyGradNorm, n);
      result.visCount = await readU32(device, s.visCount, n);
    }
    return result;
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const b of extra) b.destroy();
    renderer.destroy();
    model.destroy();
  }
};

export interface RenderBenchArgs {
  params: GaussianParams;
  camera: CameraSpec;
  background?: number[];
  /** Timed iterations of forward + backward (after one warm-up). */
  iterations?: number;
  reduce?: ReduceVariant | 'auto' | 'cas';
}

/** GPU milliseconds per label (median and minimum over iterations), forward and backward of one view. */
export const renderBenchJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as unknown as RenderBenchArgs;
  const params = parseParams(args.params);
  const camera = Camera.fromBlender(args.camera);
  const { device } = ctx.gpu;
  const model = GaussianModel.create(device, params);
  const renderer = await Renderer.create(ctx.gpu, ctx.cache, { width: camera.width, height: camera.height, gaussians: params.count, background: args.background, reduce: args.reduce });
  const dImage = uploadBuffer(device, new Float32Array(camera.width * camera.height * 4).fill(1e-3), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, 'render-bench-d-image');
  const timer = new GpuTimer(ctx.gpu);
  try {
    const report = await renderer.render(model, camera);
    const iterations = args.iterations ?? 5;
    const wall: number[] = [];
    for (let i = 0; i <= iterations; i++) {
      if (i === 1) await timer.reset();
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      model.clearGrads(enc);
      renderer.encodeForward(enc, model, camera, renderer.target, timer);
      renderer.encodeBackward(enc, model, camera, dImage, timer);
      await timer.submit(enc);
      renderer.afterSubmit();
      await device.queue.onSubmittedWorkDone();
      if (i > 0) wall.push(performance.now() - t0);
    }
    const { samples, method } = await timer.collect();
    // A label may recur within an iteration (the scan inside the sort, sort_* per digit):
    // sum its passes per iteration, then take the median and the minimum over iterations.
    const perIteration = (label: string) => {
      const list = samples[label] ?? [];
      const k = Math.max(1, Math.round(list.length / iterations));
      return Array.from({ length: iterations }, (_, i) => list.slice(i * k, i * k + k).reduce((a, b) => a + b, 0));
    };
    const labels = Object.keys(samples);
    const perLabelMs: Record<string, number> = {};
    const perLabelMinMs: Record<string, number> = {};
    for (const l of labels) {
      const v = perIteration(l);
      perLabelMs[l] = summarize(v).medianMs;
      perLabelMinMs[l] = Math.min(...v);
    }
    const isBackward = (l: string) => l.includes('_bwd'); // rasterize_bwd_reduce too
    const total = (pick: (l: string) => boolean) =>
      summarize(Array.from({ length: iterations }, (_, i) => labels.filter(pick).reduce((a, l) => a + perIteration(l)[i]!, 0))).medianMs;
    const forwardMs = total((l) => !isBackward(l));
    const backwardMs = total(isBackward);
    const status = await readStatus(ctx, renderer);
    return {
      method,
      perLabelMs,
      perLabelMinMs,
      forwardMs,
      backwardMs,
      wall: summarize(wall),
      intersections: status.required,
      report,
      reduceVariant: renderer.reduceVariant,
    };
  } finally {
    await device.queue.onSubmittedWorkDone();
    timer.destroy();
    dImage.destroy();
    renderer.destroy();
    model.destroy();
  }
};
