// The `dynamic` stage: fit a deformation field (HexPlane for DG4D, MLP for
// Deformable 3D Gaussians) that moves the static stage's Gaussians over time.
// Page core, DOM-free: takes a Gpu, plain arrays and a DeformationField.
//
// One iteration, one command encoder, one submit:
//   samples   `framesPerIteration` frames of the driving video at the reference
//             view (all of them when 0), weight reference·r/F (DG4D divides by T),
//             plus, with the `oracle` prior, `priorViews` training views drawn at
//             random, each rendered at its own time (ground truth at the same
//             time), weight prior/K
//   each      deform(t) -> render -> loss -> render backward -> deform backward;
//             the deformed rows' gradients are cleared per sample, the field's
//             and the canonical ones accumulate over the iteration
//   then      Adam on the field; Adam on the canonical Gaussians when `canonical`
//             is 'joint' (or during the warm-up, which trains only them)
// Time noise (AST) is drawn on the host per sample from the seeded stream, so a
// run is reproducible. Every nonFiniteCheckEvery iterations (default 10) the
// field's and the canonical parameters and gradients are checked for NaN / Inf
// (harness/gpu/nonfinite.ts): a fault stops the stage naming iteration and group. The loss is never read in the loop (see static_stage.ts).
import lossSource from '../../wgsl/loss.wgsl';
import type { DeformationField, DeformBuffers } from '../deform/field.ts';
import type { Gpu } from '../gpu/device.ts';
import { WgslLayouts } from '../gpu/layout.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import { readBuffer, readF32, uploadBuffer } from '../gpu/readback.ts';
import type { GpuTimer, TimingSamples } from '../gpu/timer.ts';
import { encodeInjection, NONFINITE_CHECK_EVERY, NonFiniteCheck, type CheckedBuffer, type NonFiniteInjection } from '../gpu/nonfinite.ts';
import type { PageMessage } from '../protocol/messages.ts';
import { Adam, type LrSchedule } from '../splat/adam.ts';
import { Camera } from '../splat/camera.ts';
import { LossPlan, dispatchLoss, type LossWeights } from '../splat/loss.ts';
import { GaussianModel, groupWidth, PARAM_GROUPS, type GaussianParams, type ParamGroup } from '../splat/model.ts';
import { Renderer } from '../splat/render.ts';
import { compositeOver, resampleArea } from './images.ts';
import type { PriorKind } from './presets.ts';
import { deriveSeed, seededRandom } from './rng.ts';
import type { LossPoint, PosedImage } from './static_stage.ts';

const lossValuesLayout = new WgslLayouts(lossSource).struct('LossValues');
const MAX_IN_FLIGHT = 2;
const DEFORMED: readonly (keyof DeformBuffers)[] = ['means', 'log_scales', 'quats'];
const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A posed image at a time in [0, 1]. */
export interface TimedImage extends PosedImage {
  time: number;
}

/** A camera at a time: what evaluation renders. */
export interface TimedCamera {
  c2w: PosedImage['c2w'];
  fovx: number;
  width: number;
  height: number;
  time: number;
}

export interface DynamicStageInput {
  /** The static stage's Gaussians (the canonical space). */
  canonical: GaussianParams;
  /** The driving video at the reference view (empty for D-NeRF reconstruction). */
  video: TimedImage[];
  /** Training views at their own times; the oracle prior draws from these. */
  train: TimedImage[];
}

export type CanonicalMode = 'frozen' | 'joint';

export interface DynamicStageConfig {
  iterations: number;
  /** Render size (width; height keeps the aspect of the inputs). */
  renderSize: number;
  background: [number, number, number];
  /** Video frames per iteration; 0: all of them (DG4D). */
  framesPerIteration: number;
  /** Oracle training views per iteration. */
  priorViews: number;
  loss: {
    /** Per video frame, scaled by r = iter / iterations when stepRatio, split evenly over the frames of the iteration. */
    reference: LossWeights;
    /** Per iteration, split evenly over the prior views. */
    prior: LossWeights;
    stepRatio: boolean;
  };
  /** Static Gaussians frozen (DG4D v1) or optimised with the field (later DG4D code, Deformable 3DGS). */
  canonical: CanonicalMode;
  /** Canonical learning rates when joint or in the warm-up; steps count from the stage's start. */
  canonicalLr: Record<ParamGroup, LrSchedule>;
  /** First iterations train only the canonical Gaussians (Deformable 3DGS: 3k of 40k); 0: none. */
  warmup: number;
  /** Annealed time noise (Deformable 3DGS): t += N(0,1)·beta·(1/frames)·max(1 − i/tau, 0); null: off. */
  ast: { beta: number; tau: number } | null;
  /** Ablations: a fixed seeded perturbation of every training camera (video and prior views). */
  poseNoise: { rotationDeg: number; translation: number } | null;
  /** Frames of the video (the time step of AST; defaults to the video's length, or 1 / the train times' spacing). */
  frames: number;
  lossEvery: number;
  stepEvery: number;
  /** Check parameters and gradients for NaN / Inf every this many iterations (default NONFINITE_CHECK_EVERY). */
  nonFiniteCheckEvery?: number;
  /** Tests only: write NaN into a group's parameters or gradients (field groups by name, canonical ones as `canonical.<group>`). */
  injectNonFinite?: NonFiniteInjection;
}

export interface DynamicStageOptions {
  seed: number;
  prior: PriorKind;
  /** Method name shown in progress messages. */
  label?: string;
  emit?: (msg: PageMessage) => void;
  timer?: GpuTimer;
}

export interface DynamicStageResult {
  prior: PriorKind;
  iterations: number;
  wallMs: number;
  trainMs: number;
  lossCurve: LossPoint[];
  timings: TimingSamples | null;
  /** Samples (frame, view) rendered per iteration. */
  samplesPerIteration: number;
  /** The trained scene, alive until the caller destroys it (evaluation, export). */
  scene: DynamicScene;
}

interface Target {
  camera: Camera;
  time: number;
  image: GPUBuffer;
}

function fail(msg: string): never {
  throw new Error(`dynamic stage: ${msg}`);
}

function checkTimedImage(img: TimedImage, what: string): void {
  if (!img || typeof img !== 'object') fail(`${what} is not a posed image`);
  if (!(img.time >= 0 && img.time <= 1)) fail(`${what}.time ${img.time} is not in [0, 1]`);
  if (!(img.rgba instanceof Float32Array) || img.rgba.length !== img.width * img.height * 4) fail(`${what}.rgba must be a Float32Array of ${img.width}x${img.height}x4`);
  for (let i = 0; i < img.rgba.length; i++) if (!Number.isFinite(img.rgba[i]!)) fail(`${what}.rgba[${i}] is ${img.rgba[i]} (not finite)`);
  Camera.fromBlender({ c2w: img.c2w, fovx: img.fovx, width: img.width, height: img.height });
}

export function checkDynamicConfig(c: DynamicStageConfig, prior: PriorKind, input: { video: number; train: number }): void {
  const int = (v: number, min: number, name: string) => {
    if (!Number.isInteger(v) || v < min) fail(`${name} ${v} must be an integer >= ${min}`);
  };
  int(c.iterations, 1, 'iterations');
  int(c.renderSize, 1, 'renderSize');
  int(c.framesPerIteration, 0, 'framesPerIteration');
  int(c.priorViews, 0, 'priorViews');
  int(c.warmup, 0, 'warmup');
  int(c.frames, 1, 'frames');
  int(c.lossEvery, 1, 'lossEvery');
  int(c.stepEvery, 1, 'stepEvery');
  if (c.canonical !== 'frozen' && c.canonical !== 'joint') fail(`canonical '${String(c.canonical)}' is not 'frozen' or 'joint'`);
  if (prior !== 'oracle' && prior !== 'reference') fail(`prior '${String(prior)}' is not 'oracle' or 'reference'`);
  if (c.ast && !(c.ast.beta >= 0 && c.ast.tau > 0)) fail(`ast needs beta >= 0 and tau > 0 (got ${c.ast.beta}, ${c.ast.tau})`);
  if (c.poseNoise && !(c.poseNoise.rotationDeg >= 0 && c.poseNoise.translation >= 0)) fail('poseNoise values must be >= 0');
  const priorSamples = prior === 'oracle' ? Math.min(c.priorViews, input.train) : 0;
  if (input.video === 0 && priorSamples === 0) {
    fail(prior === 'oracle' ? 'nothing to fit: no video frames and no training views' : 'the reference prior needs a driving video (no video frames given)');
  }
}

/** `count` distinct indices below `n` (all of them, shuffled, when count >= n). */
function drawDistinct(rnd: () => number, n: number, count: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const k = Math.min(n, count);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}

/** Standard normal from two uniforms (Box–Muller). */
function normal(rnd: () => number): number {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/** c2w (row-major 4x4 as nested rows or 16 numbers) rotated by a small random rotation and shifted, seeded. */
export function perturbPose(c2w: PosedImage['c2w'], rnd: () => number, rotationDeg: number, translation: number): number[][] {
  const flat = Array.isArray(c2w[0]) ? (c2w as number[][]).flat() : Array.from(c2w as ArrayLike<number>);
  const m = [0, 1, 2, 3].map((r) => flat.slice(4 * r, 4 * r + 4));
  // Axis-angle with angle ~ N(0, rotationDeg) about a uniform axis, applied on the left (world frame).
  const axis = [normal(rnd), normal(rnd), normal(rnd)];
  const len = Math.hypot(...axis) || 1;
  const [x, y, z] = axis.map((v) => v / len) as [number, number, number];
  const a = (normal(rnd) * rotationDeg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const t = 1 - c;
  const R = [
    [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
    [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
    [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
  ];
  const shift = [normal(rnd), normal(rnd), normal(rnd)].map((v) => v * translation);
  const out = [0, 1, 2].map((r) => [0, 1, 2, 3].map((col) => R[r]!.reduce((acc, rv, k) => acc + rv * m[k]![col]!, 0) + (col === 3 ? shift[r]! : 0)));
  out.push([0, 0, 0, 1]);
  return out;
}

/**
 * The trained dynamic scene on the GPU: canonical Gaussians plus a field (null
 * for the `static` method, which shows the canonical set at every time).
 */
export class DynamicScene {
  /** The rows encodeAt() writes. */
  readonly deformed: DeformBuffers;
  private readonly view: GaussianModel;
  private readonly renderers = new Map<string, Renderer>();

  constructor(
    private readonly gpu: Gpu,
    private readonly cache: PipelineCache,
    readonly canonical: GaussianModel,
    readonly field: DeformationField | null,
    readonly background: [number, number, number],
    private readonly ownsCanonical: boolean,
  ) {
    const { device } = gpu;
    const count = canonical.count;
    const buf = (g: keyof DeformBuffers) => device.createBuffer({ label: `deformed-${g}`, size: Math.max(1, count) * groupWidth(g, 0) * 4, usage: STORAGE() });
    this.deformed = { means: buf('means'), log_scales: buf('log_scales'), quats: buf('quats') };
    this.view = GaussianModel.view(device, count, canonical.shDegree, { ...canonical.params, ...this.deformed }, canonical.grads);
  }

  /** Records the Gaussians at `time` into the scene's deformed buffers and returns the model to render. */
  encodeAt(encoder: GPUCommandEncoder, time: number, timer?: GpuTimer): GaussianModel {
    if (!this.field) return this.canonical;
    this.field.encodeForward(encoder, this.canonical.params, this.canonical.count, time, this.deformed, timer);
    return this.view;
  }

  /** Renders each camera at its time: [H,W,4] rgb over the scene's background, alpha = coverage. */
  async render(cameras: TimedCamera[]): Promise<Float32Array[]> {
    const { device } = this.gpu;
    const out: Float32Array[] = [];
    for (const spec of cameras) {
      const camera = Camera.fromBlender(spec);
      const key = `${camera.width}x${camera.height}`;
      let r = this.renderers.get(key);
      if (!r) {
        r = await Renderer.create(this.gpu, this.cache, { width: camera.width, height: camera.height, gaussians: this.canonical.count, background: this.background });
        this.renderers.set(key, r);
      }
      for (let attempt = 0; ; attempt++) {
        const enc = device.createCommandEncoder({ label: 'dynamic-eval' });
        const model = this.encodeAt(enc, spec.time);
        r.encodeForward(enc, model, camera);
        device.queue.submit([enc.finish()]);
        const report = await r.sync();
        if (!report.overflowed) break;
        if (attempt >= 2) throw new Error(`dynamic scene: a view at t=${spec.time} needs ${report.required} intersections, more than the renderer could grow to`);
      }
      out.push(await readF32(device, r.target.image, camera.width * camera.height * 4));
    }
    return out;
  }

  /** The Gaussians at `time` (mesh export, PLY per frame). */
  async paramsAt(time: number): Promise<GaussianParams> {
    const { device } = this.gpu;
    const p = await this.canonical.download();
    if (!this.field) return p;
    const enc = device.createCommandEncoder({ label: 'dynamic-params-at' });
    this.encodeAt(enc, time);
    device.queue.submit([enc.finish()]);
    for (const g of DEFORMED) p[g] = await readF32(device, this.deformed[g], p.count * groupWidth(g, 0));
    return p;
  }

  destroy(): void {
    for (const r of this.renderers.values()) r.destroy();
    this.renderers.clear();
    for (const g of DEFORMED) this.deformed[g].destroy();
    this.field?.destroy();
    if (this.ownsCanonical) this.canonical.destroy();
  }
}

/** The `static` method's scene: the canonical Gaussians at every time. */
export function staticScene(ctx: { gpu: Gpu; cache: PipelineCache }, params: GaussianParams, background: [number, number, number]): DynamicScene {
  return new DynamicScene(ctx.gpu, ctx.cache, GaussianModel.create(ctx.gpu.device, params), null, background, true);
}

/**
 * Trains `field` on the input; the returned scene owns the field and the
 * canonical model (destroy it when done).
 */
export async function runDynamicStage(
  ctx: { gpu: Gpu; cache: PipelineCache },
  input: DynamicStageInput,
  field: DeformationField,
  config: DynamicStageConfig,
  options: DynamicStageOptions,
): Promise<DynamicStageResult> {
  const started = performance.now();
  const { prior, seed, timer, emit } = options;
  const label = options.label ?? field.kind;
  const trainViews = prior === 'oracle' ? input.train : [];
  const { gpu, cache } = ctx;
  const { device } = gpu;
  const canonical = GaussianModel.create(device, input.canonical);
  const scene = new DynamicScene(gpu, cache, canonical, field, config.background, true);
  const owned: { destroy(): void }[] = [];
  try {
    checkDynamicConfig(config, prior, { video: input.video.length, train: trainViews.length });
    input.video.forEach((v, i) => checkTimedImage(v, `video frame ${i}`));
    trainViews.forEach((v, i) => checkTimedImage(v, `training view ${i}`));
    await field.reserve(canonical.count);

    const first = input.video[0] ?? trainViews[0]!;
    const width = config.renderSize;
    const height = Math.max(1, Math.round((width * first.height) / first.width));
    const renderer = await Renderer.create(gpu, cache, { width, height, gaussians: canonical.count, background: config.background });
    owned.push(renderer);
    const framesPerIter = config.framesPerIteration === 0 ? input.video.length : Math.min(config.framesPerIteration, input.video.length);
    const priorPerIter = Math.min(config.priorViews, trainViews.length);
    const samplesPerIteration = framesPerIter + priorPerIter;
    const loss = await LossPlan.create(gpu, cache, width, height, { slots: Math.max(1, samplesPerIteration) });
    owned.push(loss);
    const grad = device.createBuffer({ label: 'dynamic-d-image', size: width * height * 16, usage: STORAGE() });
    owned.push(grad);

    // Gradients of the deformed rows (cleared per sample); opacity and colour go straight to the canonical ones.
    const dDeformed: DeformBuffers = {
      means: device.createBuffer({ label: 'd-deformed-means', size: Math.max(1, canonical.count) * 12, usage: STORAGE() }),
      log_scales: device.createBuffer({ label: 'd-deformed-log_scales', size: Math.max(1, canonical.count) * 12, usage: STORAGE() }),
      quats: device.createBuffer({ label: 'd-deformed-quats', size: Math.max(1, canonical.count) * 16, usage: STORAGE() }),
    };
    owned.push(dDeformed.means, dDeformed.log_scales, dDeformed.quats);
    const deformedBuffers = scene.deformed;
    const trainModel = GaussianModel.view(device, canonical.count, canonical.shDegree, { ...canonical.params, ...deformedBuffers }, { ...canonical.grads, ...dDeformed });

    const fieldAdam = await Adam.create(gpu, cache, field.adamGroups());
    owned.push(fieldAdam);
    const canonicalAdam = await Adam.forModel(gpu, cache, canonical, config.canonicalLr);
    owned.push(canonicalAdam);

    // Targets at the render size, composited over the background; cameras perturbed for the pose-noise ablation.
    const poseRnd = seededRandom(deriveSeed(seed, 21));
    const upload = (img: TimedImage): Target => {
      const pixels = compositeOver(resampleArea(img.rgba, img.width, img.height, width, height), config.background);
      const image = uploadBuffer(device, pixels, STORAGE(), 'dynamic-target');
      owned.push(image);
      const c2w = config.poseNoise ? perturbPose(img.c2w, poseRnd, config.poseNoise.rotationDeg, config.poseNoise.translation) : img.c2w;
      return { camera: Camera.fromBlender({ c2w, fovx: img.fovx, width, height }), time: img.time, image };
    };
    const video = input.video.map(upload);
    const train = trainViews.map(upload);

    const N = config.iterations;
    const lossIters: number[] = [];
    for (let i = 1; i <= N; i++) if (i === 1 || i === N || i % config.lossEvery === 0) lossIters.push(i);
    const curve = device.createBuffer({ label: 'dynamic-loss-curve', size: lossIters.length * lossValuesLayout.size, usage: STORAGE() });
    owned.push(curve);
    const curveSlot = new Map(lossIters.map((it, slot) => [it, slot]));
    const sampleRnd = seededRandom(deriveSeed(seed, 22));
    const noiseRnd = seededRandom(deriveSeed(seed, 23));
    const dt = 1 / config.frames;
    const priorWeights: LossWeights = {};
    for (const [k, v] of Object.entries(config.loss.prior) as [keyof LossWeights, number][]) priorWeights[k] = v / Math.max(1, priorPerIter);
    const inFlight: Promise<void>[] = [];
    const joint = config.canonical === 'joint';
    const fieldGroups = field.adamGroups();
    const checked: (CheckedBuffer & { floats: number })[] = [
      ...fieldGroups.flatMap((g) => [
        { group: g.name, kind: 'parameters' as const, buffer: g.params, floats: g.width * g.capacity },
        { group: g.name, kind: 'gradients' as const, buffer: g.grads, floats: g.width * g.capacity },
      ]),
      ...PARAM_GROUPS.flatMap((g) => {
        const floats = canonical.count * groupWidth(g, canonical.shDegree);
        return [
          { group: `canonical.${g}`, kind: 'parameters' as const, buffer: canonical.params[g], floats },
          { group: `canonical.${g}`, kind: 'gradients' as const, buffer: canonical.grads[g], floats },
        ];
      }),
    ];
    const check = await NonFiniteCheck.create(gpu, cache, 'dynamic', config.nonFiniteCheckEvery ?? NONFINITE_CHECK_EVERY, checked);
    owned.push(check);

    const trainStart = performance.now();
    for (let iter = 1; iter <= N; iter++) {
      const warming = iter <= config.warmup;
      const enc = device.createCommandEncoder({ label: 'dynamic-iteration' });
      canonical.clearGrads(enc);
      field.clearGrads(enc);
      loss.clearValues(enc);
      encodeInjection(enc, device, checked, config.injectNonFinite, iter, 'parameters');
      const r = config.loss.stepRatio ? iter / N : 1;
      const refWeights: LossWeights = {};
      for (const [k, v] of Object.entries(config.loss.reference) as [keyof LossWeights, number][]) refWeights[k] = (v * r) / Math.max(1, framesPerIter);
      const samples: [Target, LossWeights][] = [
        ...drawDistinct(sampleRnd, video.length, framesPerIter).map((k): [Target, LossWeights] => [video[k]!, refWeights]),
        ...drawDistinct(sampleRnd, train.length, priorPerIter).map((k): [Target, LossWeights] => [train[k]!, priorWeights]),
      ];
      for (const [target, weights] of samples) {
        let model = canonical;
        if (!warming) {
          const annealed = config.ast ? config.ast.beta * dt * Math.max(1 - iter / config.ast.tau, 0) : 0;
          const time = annealed > 0 ? target.time + normal(noiseRnd) * annealed : target.time;
          for (const g of DEFORMED) enc.clearBuffer(dDeformed[g]);
          field.encodeForward(enc, canonical.params, canonical.count, time, deformedBuffers, timer);
          model = trainModel;
        }
        renderer.encodeForward(enc, model, target.camera, renderer.target, timer);
        enc.clearBuffer(grad);
        dispatchLoss(enc, loss, { render: renderer.target.image, target: target.image, grad }, weights, { timer });
        renderer.encodeBackward(enc, model, target.camera, grad, timer);
        if (!warming) field.encodeBackward(enc, dDeformed, joint ? canonical.grads : null, timer);
      }
      const slot = curveSlot.get(iter);
      if (slot !== undefined) enc.copyBufferToBuffer(loss.values, 0, curve, slot * lossValuesLayout.size, lossValuesLayout.size);
      encodeInjection(enc, device, checked, config.injectNonFinite, iter, 'gradients');
      if (!warming) fieldAdam.step(enc, undefined, timer);
      if (joint || warming) canonicalAdam.step(enc, canonical.count, timer);
      if (check.due(iter, N)) check.encode(enc, iter, (e) => (e as (typeof checked)[number]).floats, timer);
      if (timer) await timer.submit(enc);
      else device.queue.submit([enc.finish()]);
      renderer.afterSubmit();
      await check.afterSubmit();
      inFlight.push(device.queue.onSubmittedWorkDone());
      if (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
      if (renderer.needsGrowth) await renderer.sync();
      if (emit && (iter % config.stepEvery === 0 || iter === N)) {
        emit({ type: 'step', stage: 'dynamic', iter, of: N, prior, method: label, gaussians: canonical.count, size: width, elapsedMs: performance.now() - trainStart });
      }
    }
    await device.queue.onSubmittedWorkDone();
    await check.finish();
    const trainMs = performance.now() - trainStart;

    const raw = new DataView(await readBuffer(device, curve));
    const f = (slot: number, name: string) => raw.getFloat32(slot * lossValuesLayout.size + lossValuesLayout.field(name).offset, true);
    const lossCurve = lossIters.map((it, slot): LossPoint => {
      const calls = Math.max(1, f(slot, 'calls'));
      return { iter: it, loss: f(slot, 'rgb_mse') / calls, alphaMse: f(slot, 'alpha_mse') / calls, objective: f(slot, 'total'), views: f(slot, 'calls') };
    });
    const timings = timer ? await timer.collect() : null;
    return { prior, iterations: N, wallMs: performance.now() - started, trainMs, lossCurve, timings, samplesPerIteration, scene };
  } catch (err) {
    scene.destroy();
    throw err;
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const o of owned.reverse()) o.destroy();
  }
}
