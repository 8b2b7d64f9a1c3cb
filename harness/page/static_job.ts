// Page jobs for the static stage (harness/pipeline/static_stage.ts):
//   staticStage     fit the built-in known Gaussian set (harness/pipeline/
//                   synthetic_gaussians.ts) from its rendered views with a preset
//                   and a prior, then score held-out views;
//   trainStepBench  time one full training iteration (forward + loss + backward +
//                   Adam, submitted and waited) with tinybench and GPU timestamps.
import { Bench } from 'tinybench';
import { benchCamera, gaussianCloud } from '../bench/gaussian_cloud.ts';
import { uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer, type TimingSamples } from '../gpu/timer.ts';
import { compositeOver, psnr, resampleArea } from '../pipeline/images.ts';
import { PRESETS, PRIORS, renderSizeAt, staticStageConfig, type PresetName, type PriorKind, type StaticStageConfig } from '../pipeline/presets.ts';
import { renderViews } from '../pipeline/render_views.ts';
import { deriveSeed } from '../pipeline/rng.ts';
import { runStaticStage, type LossPoint, type PosedImage } from '../pipeline/static_stage.ts';
import { syntheticObject, syntheticViews, type PosedView } from '../pipeline/synthetic_gaussians.ts';
import { Adam } from '../splat/adam.ts';
import { Camera } from '../splat/camera.ts';
import type { DensifyStats } from '../splat/densify.ts';
import { LossPlan, dispatchLoss } from '../splat/loss.ts';
import { GaussianModel, type GaussianParams } from '../splat/model.ts';
import { Renderer } from '../splat/render.ts';
import { quantile, summarize } from '../util/stats.ts';
import type { Job } from './context.ts';

export interface StaticJobArgs {
  preset: PresetName;
  prior: PriorKind;
  seed?: number;
  /** Training views the oracle prior draws from (default 24). */
  trainViews?: number;
  /** Held-out views (default 4: Consistent4D's eval azimuths at elevation 0). */
  testViews?: number;
  /** Shallow overrides of the preset's config (experiments, ablations). */
  config?: Partial<StaticStageConfig>;
  /** Also return the rendered test views and their targets (composited over the background). */
  images?: boolean;
}

export interface StaticJobResult {
  prior: PriorKind;
  preset: PresetName;
  seed: number;
  iterations: number;
  wallMs: number;
  trainMs: number;
  itersPerSecond: number;
  /** Final Gaussian count. */
  gaussians: number;
  lossCurve: LossPoint[];
  /** Mean PSNR over the views the prior supervised (oracle: the training split; reference: the reference view). */
  psnrTrain: number;
  trainPsnrs: number[];
  referencePsnr: number;
  /** Mean PSNR over the held-out views (never used for training), RGB composited on the background. */
  psnrTest: number;
  testPsnrs: number[];
  testPoses: { azimuthDeg: number; elevationDeg: number; radius: number }[];
  trainPoses: { azimuthDeg: number; elevationDeg: number; radius: number }[];
  evalSize: number;
  densify: (DensifyStats & { iter: number })[];
  timings: TimingSamples | null;
  params: GaussianParams;
  config: StaticStageConfig;
  /** With args.images: [H,W,4] renders and targets of the held-out views. */
  testImages?: { render: Float32Array; target: Float32Array }[];
}

const DEFAULT_SEED = 1;

export const staticStageJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as unknown as StaticJobArgs;
  if (!PRESETS.includes(args.preset)) throw new Error(`staticStage: args.preset must be one of ${PRESETS.join(', ')} (got ${String(args.preset)})`);
  if (!PRIORS.includes(args.prior)) throw new Error(`staticStage: args.prior must be one of ${PRIORS.join(', ')} (got ${String(args.prior)})`);
  const seed = args.seed ?? DEFAULT_SEED;
  const trainCount = args.trainViews ?? 24;
  const testCount = args.testViews ?? 4;
  for (const [name, v, min] of [['seed', seed, 0], ['trainViews', trainCount, 1], ['testViews', testCount, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`staticStage: args.${name} must be an integer >= ${min} (got ${v})`);
  }
  const config: StaticStageConfig = { ...staticStageConfig(args.preset), ...(args.config ?? {}) };

  // Targets at the largest render size; the stage area-averages them down for smaller ones.
  const size = Math.max(...config.renderSizes.map((s) => s.size));
  const truth = syntheticObject();
  const views = syntheticViews(deriveSeed(seed, 10), { train: trainCount, test: testCount }, { width: size, height: size }, config.orbit);
  const all = [views.reference, ...views.train, ...views.test];
  const premultiplied = await renderViews(ctx, truth, all.map((v) => v.camera), [0, 0, 0]);
  const posed = (v: PosedView, rgba: Float32Array): PosedImage => ({ c2w: v.camera.c2w, fovx: v.camera.fovx, width: v.camera.width, height: v.camera.height, rgba });
  const reference = posed(views.reference, premultiplied[0]!);
  const train = views.train.map((v, i) => posed(v, premultiplied[1 + i]!));

  const timer = new GpuTimer(ctx.gpu);
  try {
    const result = await runStaticStage(ctx, { reference, train }, config, { seed, prior: args.prior, emit: ctx.emit, timer });

    // Score at the final render size, composited on the stage's background.
    const evalSize = renderSizeAt(config, config.iterations);
    const evalCamera = (v: PosedView) => ({ ...v.camera, width: evalSize, height: evalSize });
    const evalTarget = (i: number) => compositeOver(evalSize === size ? premultiplied[i]! : resampleArea(premultiplied[i]!, size, size, evalSize, evalSize), config.background);
    const renders = await renderViews(ctx, result.params, all.map(evalCamera), config.background);
    const scores = renders.map((r, i) => psnr(r, evalTarget(i)));
    const referencePsnr = scores[0]!;
    const trainPsnrs = args.prior === 'oracle' ? scores.slice(1, 1 + trainCount) : [referencePsnr];
    const testFrom = 1 + trainCount;
    const testPsnrs = scores.slice(testFrom);
    const pose = ({ azimuthDeg, elevationDeg, radius }: PosedView) => ({ azimuthDeg, elevationDeg, radius });
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    const out: StaticJobResult = {
      prior: result.prior,
      preset: args.preset,
      seed,
      iterations: result.iterations,
      wallMs: result.wallMs,
      trainMs: result.trainMs,
      itersPerSecond: result.iterations / (result.trainMs / 1000),
      gaussians: result.params.count,
      lossCurve: result.lossCurve,
      psnrTrain: mean(trainPsnrs),
      trainPsnrs,
      referencePsnr,
      psnrTest: mean(testPsnrs),
      testPsnrs,
      testPoses: views.test.map(pose),
      trainPoses: views.train.map(pose),
      evalSize,
      densify: result.densify,
      timings: result.timings,
      params: result.params,
      config,
    };
    if (args.images) out.testImages = testPsnrs.map((_, k) => ({ render: renders[testFrom + k]!, target: evalTarget(testFrom + k) }));
    return out;
  } finally {
    timer.destroy();
  }
};

export interface TrainStepBenchArgs {
  gaussians?: number;
  size?: number;
  timeMs?: number;
  minIterations?: number;
  seed?: number;
}

export interface TrainStepBenchResult {
  gaussians: number;
  size: number;
  /** Wall time of one iteration: encode, submit, wait for the queue. */
  medianMs: number;
  p90Ms: number;
  samples: number;
  /** Sum of the labelled passes per iteration (timestamps; queue wall time without them), median over iterations. */
  gpuMedianMs: number;
  perLabelMedianMs: Record<string, number>;
  timing: 'timestamp' | 'wall';
}

/**
 * One static-stage training iteration of one view: clear gradients, forward,
 * loss (reference-view weights: RGB MSE + 0.1 mask MSE), backward, Adam step with
 * the paper preset's learning rates; submitted and waited.
 */
export const trainStepBenchJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as TrainStepBenchArgs;
  const gaussians = args.gaussians ?? 5000;
  const size = args.size ?? 128;
  const timeMs = args.timeMs ?? 1000;
  const minIterations = args.minIterations ?? 10;
  const seed = args.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(gaussians) || gaussians < 1) throw new Error(`trainStepBench: args.gaussians must be a positive integer (got ${gaussians})`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`trainStepBench: args.size must be a positive integer (got ${size})`);
  const { device } = ctx.gpu;
  const config = staticStageConfig('paper');
  const params = gaussianCloud(gaussians, seed);
  const cameraSpec = benchCamera(size);
  const camera = Camera.fromBlender(cameraSpec);
  // The target: another cloud of the same size, so the loss and its gradient are realistic.
  const [targetPixels] = await renderViews(ctx, gaussianCloud(gaussians, deriveSeed(seed, 1)), [cameraSpec], config.background);
  const owned: { destroy(): void }[] = [];
  try {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const target = uploadBuffer(device, targetPixels!, usage, 'train-bench-target');
    owned.push(target);
    const grad = device.createBuffer({ label: 'train-bench-d-image', size: size * size * 16, usage });
    owned.push(grad);
    const model = GaussianModel.create(device, params);
    owned.push(model);
    const renderer = await Renderer.create(ctx.gpu, ctx.cache, { width: size, height: size, gaussians, background: config.background });
    owned.push(renderer);
    const loss = await LossPlan.create(ctx.gpu, ctx.cache, size, size);
    owned.push(loss);
    const adam = await Adam.forModel(ctx.gpu, ctx.cache, model, config.lr);
    owned.push(adam);
    const timer = new GpuTimer(ctx.gpu);
    owned.push(timer);

    const step = async () => {
      const enc = device.createCommandEncoder({ label: 'train-step' });
      model.clearGrads(enc);
      renderer.encodeForward(enc, model, camera, renderer.target, timer);
      enc.clearBuffer(grad);
      dispatchLoss(enc, loss, { render: renderer.target.image, target, grad }, { rgbMse: config.loss.referenceRgb, alphaMse: config.loss.referenceMask }, { timer });
      renderer.encodeBackward(enc, model, camera, grad, timer);
      adam.step(enc, model.count, timer);
      await timer.submit(enc);
      renderer.afterSubmit();
      await device.queue.onSubmittedWorkDone();
      if (renderer.needsGrowth) await renderer.sync();
    };
    // Warm-up outside the measurement: pipelines, first-use allocations, intersection growth.
    for (let i = 0; i < 2; i++) await step();
    await renderer.sync();
    await timer.reset();

    const bench = new Bench({ time: timeMs, iterations: minIterations, warmupIterations: 0, warmupTime: 0, retainSamples: true });
    bench.add('train_step', step);
    await bench.run();
    const task = bench.tasks[0]!;
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`trainStepBench did not complete (${result.state}${'error' in result ? `: ${String(result.error)}` : ''})`);
    const wall = [...(result.latency.samples ?? [])];
    const { samples, method } = await timer.collect();
    const n = wall.length;
    // A label recurs within an iteration (sort_* per digit, scan inside the sort): sum per iteration.
    const perIteration = (label: string) => {
      const list = samples[label] ?? [];
      const k = Math.max(1, Math.round(list.length / n));
      return Array.from({ length: n }, (_, i) => list.slice(i * k, i * k + k).reduce((a, b) => a + b, 0));
    };
    const labels = Object.keys(samples);
    const perLabel = Object.fromEntries(labels.map((l) => [l, perIteration(l)]));
    const totals = Array.from({ length: n }, (_, i) => labels.reduce((a, l) => a + perLabel[l]![i]!, 0));
    const out: TrainStepBenchResult = {
      gaussians,
      size,
      medianMs: summarize(wall).medianMs,
      p90Ms: quantile(wall, 0.9),
      samples: n,
      gpuMedianMs: summarize(totals).medianMs,
      perLabelMedianMs: Object.fromEntries(labels.map((l) => [l, summarize(perLabel[l]!).medianMs])),
      timing: method,
    };
    ctx.emit({ type: 'step', stage: 'train-bench', iter: 1, of: 1, gaussians, size });
    return out;
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const o of owned.reverse()) o.destroy();
  }
};
