// Evaluation in the page: renders stay on the GPU and are scored there
// (harness/metrics/gpu_metrics.ts); only the few renders the contact sheets show
// come back, plus, when models are given, the learned metrics (LPIPS, CLIP, I3D
// features for FVD) through onnxruntime-web (harness/metrics/learned_metrics.ts).
//
//   evaluateScene   used by pipelineDynamic (dynamic_job.ts) for every eval set
//   imageMetrics    job: GPU metrics of given images (tests compare with the CPU references)
//   learnedMetrics  job: the learned metrics of given images and videos (tests)
import type { Gpu } from '../gpu/device.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { GpuTimer } from '../gpu/timer.ts';
import { ImageMetricsPlan, dispatchMetricsComposite, dispatchPsnr, dispatchSsim, dispatchTemporalConsistency, type ViewMetrics } from '../metrics/gpu_metrics.ts';
import { packViewScores, refMetricsComposite, summarizeTemporal, viewSequences, type TemporalConsistency, type ViewScores } from '../metrics/image_metrics.ts';
import { LearnedMetrics, SIGNED_UNIT, cosine, toPlanes, type LearnedMetricsConfig, type MetricModelName } from '../metrics/learned_metrics.ts';
import { staticScene, type DynamicScene, type TimedCamera } from '../pipeline/dynamic_stage.ts';
import type { GaussianParams } from '../splat/model.ts';
import { Camera } from '../splat/camera.ts';
import { Renderer } from '../splat/render.ts';
import type { HostAssets, Job } from './context.ts';

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** One evaluation set as the page gets it. */
export interface EvalSetInput {
  cameras: TimedCamera[];
  /** [H,W,4] f32 premultiplied ground truth per camera (composited on white here). */
  targets: Float32Array[];
  /** Views whose renders come back (contact sheets). */
  previews?: number[];
}

/** One set's scores in the page; SetScoresPacked crosses to the host. */
export interface SetScores {
  views: ViewScores[];
  temporal: TemporalConsistency | null;
  /** I3D features per view sequence (renders, ground truth), for FVD on the host; null without the model or sequences. */
  i3d: { render: Float32Array[]; gt: Float32Array[] } | null;
  previews: { index: number; rgba: Float32Array }[];
}

/** What crosses the page boundary: the views packed (Infinity and NaN survive; image_metrics.ts unpackViewScores). */
export type SetScoresPacked = Omit<SetScores, 'views'> & { views: Float64Array };

export function packSetScores(s: SetScores): SetScoresPacked {
  return { ...s, views: packViewScores(s.views) };
}

export interface EvaluateOptions {
  learned: LearnedMetrics | null;
  timer?: GpuTimer;
  onSet?: (name: string, views: number) => void;
}

let learnedCache: { key: string; value: Promise<LearnedMetrics> } | null = null;

/** The learned metrics of a configuration, loaded once per page (models can be hundreds of MB). */
export function learnedMetricsFor(config: LearnedMetricsConfig | null | undefined, assets: HostAssets): Promise<LearnedMetrics | null> {
  if (!config || !Object.values(config.files).some(Boolean)) return Promise.resolve(null);
  const key = JSON.stringify(config);
  if (learnedCache?.key !== key) {
    const old = learnedCache;
    learnedCache = { key, value: LearnedMetrics.load(config, assets) };
    learnedCache.value.catch(() => (learnedCache = null));
    void old?.value.then((m) => m.release()).catch(() => {});
  }
  return learnedCache.value;
}

interface SetBuffers {
  plan: ImageMetricsPlan;
  targetIn: GPUBuffer;
  target: GPUBuffer;
  mask: GPUBuffer;
  prevRender: GPUBuffer;
  prevTarget: GPUBuffer;
}

async function setBuffers(ctx: { gpu: Gpu; cache: PipelineCache }, width: number, height: number, slots: number): Promise<SetBuffers> {
  const { device } = ctx.gpu;
  const n = width * height;
  const buf = (label: string, bytes: number) => device.createBuffer({ label, size: bytes, usage: STORAGE });
  return {
    plan: await ImageMetricsPlan.create(ctx.gpu, ctx.cache, width, height, { slots }),
    targetIn: buf('eval-target-in', n * 16),
    target: buf('eval-target', n * 16),
    mask: buf('eval-mask', n * 4),
    prevRender: buf('eval-prev-render', n * 16),
    prevTarget: buf('eval-prev-target', n * 16),
  };
}

function destroySet(b: SetBuffers): void {
  b.plan.destroy();
  for (const x of [b.targetIn, b.target, b.mask, b.prevRender, b.prevTarget]) x.destroy();
}

/** Renders every camera of every set at its time and scores it against its target on the GPU. */
export async function evaluateScene(ctx: { gpu: Gpu; cache: PipelineCache }, scene: DynamicScene, sets: Record<string, EvalSetInput>, opts: EvaluateOptions): Promise<Record<string, SetScores>> {
  const { device } = ctx.gpu;
  const renderers = new Map<string, Renderer>();
  const out: Record<string, SetScores> = {};
  try {
    for (const [name, set] of Object.entries(sets)) {
      const n = set.cameras.length;
      if (set.targets.length !== n) throw new Error(`evaluate: set '${name}' has ${n} cameras and ${set.targets.length} targets`);
      if (n === 0) {
        out[name] = { views: [], temporal: null, i3d: null, previews: [] };
        continue;
      }
      const { width, height } = set.cameras[0]!;
      set.cameras.forEach((c, i) => {
        if (c.width !== width || c.height !== height) throw new Error(`evaluate: set '${name}' view ${i} is ${c.width}x${c.height}, the set's first ${width}x${height}`);
        if (set.targets[i]!.length !== width * height * 4) throw new Error(`evaluate: set '${name}' target ${i} holds ${set.targets[i]!.length} floats, ${width}x${height}x4 expected`);
      });
      const key = `${width}x${height}`;
      let r = renderers.get(key);
      if (!r) {
        r = await Renderer.create(ctx.gpu, ctx.cache, { width, height, gaussians: scene.canonical.count, background: scene.background });
        renderers.set(key, r);
      }
      const sequences = viewSequences(set.cameras);
      const inSequence = new Set(sequences.flat());
      const order = [...sequences.flat(), ...set.cameras.map((_, i) => i).filter((i) => !inSequence.has(i))];
      const firstOfSequence = new Set(sequences.map((s) => s[0]!));
      const previews = new Set(set.previews ?? []);
      const learned = opts.learned;
      const wantPixels = Boolean(learned && (learned.has('lpips') || learned.has('clip') || learned.has('i3d')));
      const i3d = learned?.i3dInput() ?? null;
      const b = await setBuffers(ctx, width, height, n);
      const lpips: (number | null)[] = new Array(n).fill(null);
      const clip: (number | null)[] = new Array(n).fill(null);
      const hasChange = new Set<number>();
      const back: SetScores['previews'] = [];
      const videos = { render: [] as Float32Array[], gt: [] as Float32Array[] };
      let clipRender: Float32Array[] = [];
      let clipGt: Float32Array[] = [];
      try {
        for (const i of order) {
          const camera = Camera.fromBlender(set.cameras[i]!);
          for (let attempt = 0; ; attempt++) {
            const enc = device.createCommandEncoder({ label: 'eval-render' });
            r.encodeForward(enc, scene.encodeAt(enc, set.cameras[i]!.time, opts.timer), camera, r.target, opts.timer);
            device.queue.submit([enc.finish()]);
            const report = await r.sync();
            if (!report.overflowed) break;
            if (attempt >= 2) throw new Error(`evaluate: set '${name}' view ${i} at t=${set.cameras[i]!.time} needs ${report.required} intersections, more than the renderer could grow to`);
          }
          device.queue.writeBuffer(b.targetIn, 0, set.targets[i]! as Float32Array<ArrayBuffer>);
          const enc = device.createCommandEncoder({ label: 'eval-metrics' });
          const render = r.target.image;
          dispatchMetricsComposite(enc, b.plan, { premultiplied: b.targetIn, composited: b.target, mask: b.mask }, opts.timer);
          dispatchPsnr(enc, b.plan, { render, target: b.target, mask: b.mask }, i, opts.timer);
          dispatchSsim(enc, b.plan, { render, target: b.target, mask: b.mask }, i, opts.timer);
          if (inSequence.has(i)) {
            if (!firstOfSequence.has(i)) {
              dispatchTemporalConsistency(enc, b.plan, { render, renderPrev: b.prevRender, target: b.target, targetPrev: b.prevTarget }, i, opts.timer);
              hasChange.add(i);
            }
            enc.copyBufferToBuffer(render, 0, b.prevRender, 0, width * height * 16);
            enc.copyBufferToBuffer(b.target, 0, b.prevTarget, 0, width * height * 16);
          }
          if (opts.timer) await opts.timer.submit(enc);
          else device.queue.submit([enc.finish()]);
          if (!previews.has(i) && !wantPixels) continue;
          // Page-side readback: the learned models run on the CPU copy (wasm backend).
          const pixels = await readF32(device, render, width * height * 4);
          if (previews.has(i)) back.push({ index: i, rgba: pixels });
          if (!learned || !wantPixels) continue;
          const gt = refMetricsComposite(set.targets[i]!).rgba;
          lpips[i] = await learned.lpips(pixels, gt, width, height);
          const [er, eg] = [await learned.clipEmbedding(pixels, width, height), await learned.clipEmbedding(gt, width, height)];
          if (er && eg) clip[i] = cosine(er, eg);
          if (i3d && inSequence.has(i)) {
            if (firstOfSequence.has(i)) {
              clipRender = [];
              clipGt = [];
            }
            clipRender.push(toPlanes(pixels, width, height, i3d.W, i3d.H, SIGNED_UNIT));
            clipGt.push(toPlanes(gt, width, height, i3d.W, i3d.H, SIGNED_UNIT));
            const seq = sequences.find((s) => s.includes(i))!;
            if (seq[seq.length - 1] === i) {
              videos.render.push((await learned.i3dFeatures(clipRender))!);
              videos.gt.push((await learned.i3dFeatures(clipGt))!);
            }
          }
        }
        const metrics: ViewMetrics[] = await b.plan.read(n);
        const views = metrics.map((m, i): ViewScores => ({
          psnr: m.psnr!,
          ssim: m.ssim!,
          psnrMasked: m.psnrMasked ?? NaN,
          ssimMasked: m.ssimMasked ?? NaN,
          lpips: lpips[i]!,
          clip: clip[i]!,
          change: hasChange.has(i) ? m.change : null,
        }));
        out[name] = {
          views,
          temporal: summarizeTemporal(views.flatMap((v) => (v.change ? [v.change] : []))),
          i3d: videos.render.length ? videos : null,
          previews: back.sort((x, y) => x.index - y.index),
        };
        opts.onSet?.(name, n);
      } finally {
        destroySet(b);
      }
    }
    return out;
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const r of renderers.values()) r.destroy();
  }
}

// --- jobs for the tests -------------------------------------------------------

function f32List(args: Record<string, unknown>, name: string, length: number, count?: number): Float32Array[] {
  const v = args[name];
  if (!Array.isArray(v) || (count !== undefined && v.length !== count)) throw new Error(`imageMetrics: args.${name} must be an array of ${count ?? 'some'} Float32Arrays`);
  v.forEach((x, i) => {
    if (!(x instanceof Float32Array) || x.length !== length) throw new Error(`imageMetrics: args.${name}[${i}] must be a Float32Array of ${length} floats`);
  });
  return v as Float32Array[];
}

export interface ImageMetricsJobResult {
  /** ViewMetrics packed per view as (psnr, ssim, psnr_masked, ssim_masked, change render, gt, error); null -> NaN. */
  views: Float64Array;
  /** With premultiplied targets: the GPU's composite on white and its mask, per target. */
  composited: Float32Array[];
  masks: Float32Array[];
  /** With args.timed: GPU milliseconds per pass label (metrics_composite, psnr, ssim, temporal_consistency). */
  timings: Record<string, number[]> | null;
}

/**
 * args: { width, height, renders: F32[H,W,4][], targets: F32[H,W,4][], premultiplied?: boolean
 *   (targets are premultiplied: composite on white on the GPU and take alpha as the mask),
 *   masks?: (F32[H,W] | null)[] (explicit masks; override alpha), sequence?: boolean (the
 *   images are one view's frames in time order: temporal consistency of each pair),
 *   maxWorkgroupsPerDimension?: number, timed?: boolean (GPU time per pass label) }
 */
export const imageMetricsJob: Job = async (ctx, args) => {
  const width = args.width as number;
  const height = args.height as number;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error('imageMetrics: args.width/height must be positive integers');
  const n = width * height;
  const renders = f32List(args, 'renders', n * 4);
  const targets = f32List(args, 'targets', n * 4, renders.length);
  const masks = args.masks === undefined ? null : (args.masks as (Float32Array | null)[]);
  if (masks && (!Array.isArray(masks) || masks.length !== renders.length || masks.some((m) => m !== null && (!(m instanceof Float32Array) || m.length !== n)))) {
    throw new Error(`imageMetrics: args.masks must hold ${renders.length} entries, each null or a Float32Array of ${n} floats`);
  }
  const premultiplied = Boolean(args.premultiplied);
  const { device } = ctx.gpu;
  const count = renders.length;
  const plan = await ImageMetricsPlan.create(ctx.gpu, ctx.cache, width, height, { slots: Math.max(1, count), maxWorkgroupsPerDimension: args.maxWorkgroupsPerDimension as number | undefined });
  const owned: GPUBuffer[] = [];
  const timer = args.timed ? new GpuTimer(ctx.gpu) : undefined;
  const up = (a: Float32Array) => {
    const b = uploadBuffer(device, a, STORAGE);
    owned.push(b);
    return b;
  };
  const fresh = (bytes: number) => {
    const b = device.createBuffer({ size: bytes, usage: STORAGE });
    owned.push(b);
    return b;
  };
  try {
    const r = renders.map(up);
    const tIn = targets.map(up);
    const t = premultiplied ? tIn.map(() => fresh(n * 16)) : tIn;
    const alpha = premultiplied ? tIn.map(() => fresh(n * 4)) : [];
    const m = masks?.map((x) => (x ? up(x) : null)) ?? null;
    const enc = device.createCommandEncoder();
    for (let i = 0; i < count; i++) {
      if (premultiplied) dispatchMetricsComposite(enc, plan, { premultiplied: tIn[i]!, composited: t[i]!, mask: alpha[i]! }, timer);
      const mask = m ? m[i] : premultiplied ? alpha[i]! : null;
      dispatchPsnr(enc, plan, { render: r[i]!, target: t[i]!, mask }, i, timer);
      dispatchSsim(enc, plan, { render: r[i]!, target: t[i]!, mask }, i, timer);
      if (args.sequence && i > 0) dispatchTemporalConsistency(enc, plan, { render: r[i]!, renderPrev: r[i - 1]!, target: t[i]!, targetPrev: t[i - 1]! }, i, timer);
    }
    if (timer) await timer.submit(enc);
    else device.queue.submit([enc.finish()]);
    const views = new Float64Array(
      (await plan.read(count)).flatMap((v) => [v.psnr, v.ssim, v.psnrMasked, v.ssimMasked, v.change?.render, v.change?.gt, v.change?.error].map((x) => x ?? NaN)),
    );
    const composited = premultiplied ? await Promise.all(t.map((b) => readF32(device, b, n * 4))) : [];
    const maskOut = premultiplied ? await Promise.all(alpha.map((b) => readF32(device, b, n))) : [];
    const timings = timer ? (await timer.collect()).samples : null;
    return { views, composited, masks: maskOut, timings } satisfies ImageMetricsJobResult;
  } finally {
    await device.queue.onSubmittedWorkDone();
    timer?.destroy();
    for (const b of owned) b.destroy();
    plan.destroy();
  }
};

export interface LearnedMetricsJobResult {
  models: Record<MetricModelName, boolean>;
  lpips: (number | null)[];
  clip: (Float32Array | null)[];
  i3d: (Float32Array | null)[];
}

/**
 * args: { models: LearnedMetricsConfig, width, height, pairs?: { render, target }[] (LPIPS),
 *   images?: F32[H,W,4][] (CLIP embeddings), videos?: F32[H,W,4][][] (I3D features) }
 */
export const learnedMetricsJob: Job = async (ctx, args) => {
  const learned = await LearnedMetrics.load(args.models as LearnedMetricsConfig, ctx.assets);
  try {
    const w = args.width as number;
    const h = args.height as number;
    const pairs = (args.pairs as { render: Float32Array; target: Float32Array }[] | undefined) ?? [];
    const images = (args.images as Float32Array[] | undefined) ?? [];
    const videos = (args.videos as Float32Array[][] | undefined) ?? [];
    const io = learned.i3dInput();
    const lpips: (number | null)[] = [];
    for (const p of pairs) lpips.push(await learned.lpips(p.render, p.target, w, h));
    const clip: (Float32Array | null)[] = [];
    for (const im of images) clip.push(await learned.clipEmbedding(im, w, h));
    const i3d: (Float32Array | null)[] = [];
    for (const v of videos) i3d.push(io ? await learned.i3dFeatures(v.map((f) => toPlanes(f, w, h, io.W, io.H, SIGNED_UNIT))) : null);
    const models = { lpips: learned.has('lpips'), clip: learned.has('clip'), i3d: learned.has('i3d') };
    return { models, lpips, clip, i3d } satisfies LearnedMetricsJobResult;
  } finally {
    await learned.release();
  }
};

/**
 * evaluateScene on the static scene of given Gaussians (tests: the pipeline's
 * evaluation path against the CPU references on the renders it returns).
 * args: { params: GaussianParams, background: [r,g,b], sets: Record<name, EvalSetInput>,
 *   metricModels?: LearnedMetricsConfig }
 */
export const evaluateStaticJob: Job = async (ctx, args) => {
  const scene = staticScene(ctx, args.params as GaussianParams, args.background as [number, number, number]);
  try {
    const learned = await learnedMetricsFor(args.metricModels as LearnedMetricsConfig | undefined, ctx.assets);
    const scored = await evaluateScene(ctx, scene, args.sets as Record<string, EvalSetInput>, { learned });
    return Object.fromEntries(Object.entries(scored).map(([k, v]) => [k, packSetScores(v)]));
  } finally {
    scene.destroy();
  }
};

export const METRICS_JOBS: Record<string, Job> = { imageMetrics: imageMetricsJob, learnedMetrics: learnedMetricsJob, evaluateStatic: evaluateStaticJob };
