// The `static` stage: fit static 3-D Gaussians to posed RGBA images (DG4D's
// DreamGaussianHD stage). Page core, DOM-free: takes a Gpu and plain arrays.
//
// Per iteration, all in one command encoder and one submit:
//   reference view  r·(w_rgb·MSE(rgb) + w_mask·MSE(mask)), r = iteration / iterations
//   prior views     `oracle`: `priorViews` training views drawn at random (seeded),
//                   each weighted 1/priorViews; `reference`: none
//   each view: forward -> loss (gradient image) -> backward, gradients summed in
//   model.grads; then one Adam step over the model's rows.
// Densification (one small readback each) and the opacity reset run on schedule
// between iterations. The loss is never read in the loop: every `lossEvery`
// iterations its accumulated values are copied into a GPU-side curve buffer that
// is read once at the end.
//
// Numerical faults: every nonFiniteCheckEvery iterations (default 10) the
// parameters and gradients are checked for NaN / Inf on the GPU and the result
// read back asynchronously (harness/gpu/nonfinite.ts); a fault stops the stage
// with an error naming the iteration and the groups, within that many iterations.
//
// The CPU runs at most MAX_IN_FLIGHT iterations ahead of the GPU: the GPU always
// has the next iteration queued, but progress messages stay honest and encoded
// work cannot pile up without bound.
import lossSource from '../../wgsl/loss.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { WgslLayouts } from '../gpu/layout.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import { readBuffer, uploadBuffer } from '../gpu/readback.ts';
import type { GpuTimer, TimingSamples } from '../gpu/timer.ts';
import { encodeInjection, NONFINITE_CHECK_EVERY, NonFiniteCheck, type CheckedBuffer } from '../gpu/nonfinite.ts';
import type { PageMessage } from '../protocol/messages.ts';
import { Adam } from '../splat/adam.ts';
import { Camera, type Matrix4Input } from '../splat/camera.ts';
import { Densifier, type DensifyStats } from '../splat/densify.ts';
import { LossPlan, dispatchLoss, type LossWeights } from '../splat/loss.ts';
import { emptyParams, GaussianModel, groupWidth, PARAM_GROUPS, type GaussianParams } from '../splat/model.ts';
import { Renderer } from '../splat/render.ts';
import { compositeOver, resampleArea } from './images.ts';
import { renderSizeAt, type PriorKind, type StaticStageConfig } from './presets.ts';
import { deriveSeed, seededRandom } from './rng.ts';

const lossValuesLayout = new WgslLayouts(lossSource).struct('LossValues');
const MAX_IN_FLIGHT = 2;
const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** One posed image: camera (Blender / OpenGL camera-to-world, horizontal fov) and premultiplied RGBA. */
export interface PosedImage {
  c2w: Matrix4Input;
  /** Horizontal field of view, radians. */
  fovx: number;
  width: number;
  height: number;
  /** [H,W,4] f32, premultiplied: rgb composited over black, alpha the object mask (see images.ts). */
  rgba: Float32Array;
}

export interface StaticStageInput {
  /** The input image (its view is supervised by every prior). */
  reference: PosedImage;
  /** The dataset's training split; the oracle prior draws from these (never from test views). */
  train: PosedImage[];
}

export interface StaticStageOptions {
  seed: number;
  prior: PriorKind;
  emit?: (msg: PageMessage) => void;
  timer?: GpuTimer;
}

export interface LossPoint {
  iter: number;
  /** Mean over the iteration's views of the unweighted RGB MSE: comparable across iterations, sizes and priors. */
  loss: number;
  /** Mean alpha (mask) MSE over the iteration's views. */
  alphaMse: number;
  /** The weighted objective the iteration minimised (Σ weight · term). */
  objective: number;
  views: number;
}

export interface StaticStageResult {
  prior: PriorKind;
  params: GaussianParams;
  iterations: number;
  /** The whole stage: uploads, pipelines, training, download. */
  wallMs: number;
  /** The training loop alone (first encode to the GPU finishing the last iteration). */
  trainMs: number;
  lossCurve: LossPoint[];
  densify: (DensifyStats & { iter: number })[];
  timings: TimingSamples | null;
}

interface ViewTarget {
  camera: Camera;
  /** [H,W,4] f32 target composited over the background, alpha = mask. */
  image: GPUBuffer;
}

interface SizeState {
  size: number;
  renderer: Renderer;
  loss: LossPlan;
  grad: GPUBuffer;
  densifier: Densifier | null;
  reference: ViewTarget;
  train: ViewTarget[];
}

function checkImage(img: PosedImage, what: string): void {
  if (!img || typeof img !== 'object') throw new Error(`static stage: ${what} is not a posed image`);
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) throw new Error(`static stage: ${what}: size ${img.width}x${img.height} is not two positive integers`);
  if (!(img.rgba instanceof Float32Array) || img.rgba.length !== img.width * img.height * 4) {
    throw new Error(`static stage: ${what}.rgba must be a Float32Array of ${img.width}x${img.height}x4`);
  }
  for (let i = 0; i < img.rgba.length; i++) if (!Number.isFinite(img.rgba[i]!)) throw new Error(`static stage: ${what}.rgba[${i}] is ${img.rgba[i]} (not finite)`);
  // Camera.fromBlender names the bad matrix entry or fov.
  Camera.fromBlender({ c2w: img.c2w, fovx: img.fovx, width: img.width, height: img.height });
}

function checkConfig(c: StaticStageConfig, prior: PriorKind, trainViews: number): void {
  if (!Number.isInteger(c.iterations) || c.iterations < 1) throw new Error(`static stage: iterations ${c.iterations} must be a positive integer`);
  if (!(c.init.points >= 1 && c.init.points <= c.capacity)) throw new Error(`static stage: init.points ${c.init.points} must be in [1, capacity ${c.capacity}]`);
  if (!c.renderSizes.length || c.renderSizes[0]!.from !== 0) throw new Error('static stage: renderSizes must start with an entry from 0');
  if (prior !== 'oracle' && prior !== 'reference') throw new Error(`static stage: prior '${String(prior)}' is not 'oracle' or 'reference'`);
  if (prior === 'oracle') {
    if (trainViews < 1) throw new Error('static stage: the oracle prior needs training views (input.train is empty)');
    if (!Number.isInteger(c.priorViews) || c.priorViews < 1 || c.priorViews > 63) throw new Error(`static stage: priorViews ${c.priorViews} must be an integer in [1, 63]`);
  }
  if (!(c.lossEvery >= 1 && c.stepEvery >= 1)) throw new Error('static stage: lossEvery and stepEvery must be >= 1');
}

/**
 * DreamGaussian's initialize(): `points` uniform in a ball, grey (SH DC ~ U(0, 1/255)),
 * opacity `opacity`, identity rotation, isotropic scale = RMS distance to the 3
 * nearest neighbours (3DGS's distCUDA2).
 */
export function initialGaussians(config: Pick<StaticStageConfig, 'init' | 'shDegree'>, seed: number): GaussianParams {
  const { points: n, radius, opacity } = config.init;
  const rnd = seededRandom(seed);
  const p = emptyParams(n, config.shDegree);
  const shRow = p.sh.length / n;
  for (let i = 0; i < n; i++) {
    const phi = rnd() * 2 * Math.PI;
    const cosTheta = rnd() * 2 - 1;
    const sinTheta = Math.sqrt(1 - cosTheta * cosTheta);
    const r = radius * Math.cbrt(rnd());
    p.means.set([r * sinTheta * Math.cos(phi), r * sinTheta * Math.sin(phi), r * cosTheta], 3 * i);
    p.quats[4 * i] = 1;
    p.opacity_logits[i] = Math.log(opacity / (1 - opacity));
    for (let c = 0; c < 3; c++) p.sh[shRow * i + c] = rnd() / 255;
  }
  const d2 = meanSquaredNeighbourDistance(p.means, n, 3);
  for (let i = 0; i < n; i++) p.log_scales.fill(Math.log(Math.sqrt(Math.max(d2[i]!, 1e-7))), 3 * i, 3 * i + 3);
  return p;
}

/** Mean squared distance of each point to its k nearest others, via a uniform grid. */
function meanSquaredNeighbourDistance(xyz: Float32Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  if (n <= 1) return out.fill(1e-2);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) {
    lo[a] = Math.min(lo[a]!, xyz[3 * i + a]!);
    hi[a] = Math.max(hi[a]!, xyz[3 * i + a]!);
  }
  const extent = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!, 1e-6);
  const cells = Math.max(1, Math.min(64, Math.round(Math.cbrt(n / 2))));
  const cell = extent / cells;
  const key = (x: number, y: number, z: number) => (x * cells + y) * cells + z;
  const coord = (v: number, a: number) => Math.min(cells - 1, Math.max(0, Math.floor((v - lo[a]!) / cell)));
  const buckets = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const kk = key(coord(xyz[3 * i]!, 0), coord(xyz[3 * i + 1]!, 1), coord(xyz[3 * i + 2]!, 2));
    let b = buckets.get(kk);
    if (!b) buckets.set(kk, (b = []));
    b.push(i);
  }
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = [coord(xyz[3 * i]!, 0), coord(xyz[3 * i + 1]!, 1), coord(xyz[3 * i + 2]!, 2)];
    // Grow the searched shell until k neighbours are found and no nearer cell remains.
    for (let ring = 1; ; ring++) {
      best.length = 0;
      for (let x = c[0]! - ring; x <= c[0]! + ring; x++) for (let y = c[1]! - ring; y <= c[1]! + ring; y++) for (let z = c[2]! - ring; z <= c[2]! + ring; z++) {
        if (x < 0 || y < 0 || z < 0 || x >= cells || y >= cells || z >= cells) continue;
        for (const j of buckets.get(key(x, y, z)) ?? []) {
          if (j === i) continue;
          const dx = xyz[3 * j]! - xyz[3 * i]!;
          const dy = xyz[3 * j + 1]! - xyz[3 * i + 1]!;
          const dz = xyz[3 * j + 2]! - xyz[3 * i + 2]!;
          best.push(dx * dx + dy * dy + dz * dz);
        }
      }
      best.sort((a, b) => a - b);
      const enough = Math.min(k, n - 1);
      if ((best.length >= enough && best[enough - 1]! <= (ring * cell) ** 2) || ring >= cells) {
        let s = 0;
        for (let m = 0; m < enough; m++) s += best[m]!;
        out[i] = s / enough;
        break;
      }
    }
  }
  return out;
}

/** `count` distinct indices below `n` (with repeats only when n < count). */
function drawViews(rnd: () => number, n: number, count: number, scratch: number[]): number[] {
  if (n < count) return Array.from({ length: count }, () => Math.floor(rnd() * n));
  if (scratch.length !== n) {
    scratch.length = 0;
    for (let i = 0; i < n; i++) scratch.push(i);
  }
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    [scratch[i], scratch[j]] = [scratch[j]!, scratch[i]!];
  }
  return scratch.slice(0, count);
}

export async function runStaticStage(
  ctx: { gpu: Gpu; cache: PipelineCache },
  input: StaticStageInput,
  config: StaticStageConfig,
  options: StaticStageOptions,
): Promise<StaticStageResult> {
  const started = performance.now();
  const { prior, seed, timer, emit } = options;
  const trainViews = prior === 'oracle' ? input.train : [];
  checkConfig(config, prior, trainViews.length);
  checkImage(input.reference, 'reference view');
  trainViews.forEach((v, i) => checkImage(v, `training view ${i}`));

  const { gpu, cache } = ctx;
  const { device } = gpu;
  const owned: { destroy(): void }[] = [];
  const sizes = new Map<number, SizeState>();
  try {
    const model = GaussianModel.create(device, initialGaussians(config, deriveSeed(seed, 1)), config.capacity);
    owned.push(model);
    const adam = await Adam.forModel(gpu, cache, model, config.lr);
    owned.push(adam);
    const needDensifier = config.densify !== null || config.opacityResetInterval > 0;

    const uploadTarget = (img: PosedImage, width: number, height: number): ViewTarget => {
      const pixels = compositeOver(resampleArea(img.rgba, img.width, img.height, width, height), config.background);
      const image = uploadBuffer(device, pixels, STORAGE(), 'static-target');
      owned.push(image);
      return { camera: Camera.fromBlender({ c2w: img.c2w, fovx: img.fovx, width, height }), image };
    };
    // Everything one render size needs, built when the schedule first reaches it.
    const sizeState = async (size: number): Promise<SizeState> => {
      const hit = sizes.get(size);
      if (hit) return hit;
      const ref = input.reference;
      const width = size;
      const height = Math.max(1, Math.round((size * ref.height) / ref.width));
      const renderer = await Renderer.create(gpu, cache, { width, height, gaussians: config.capacity, background: config.background });
      owned.push(renderer);
      const loss = await LossPlan.create(gpu, cache, width, height);
      owned.push(loss);
      const grad = device.createBuffer({ label: 'static-d-image', size: width * height * 16, usage: STORAGE() });
      owned.push(grad);
      let densifier: Densifier | null = null;
      if (needDensifier) {
        const { xyGradNorm, visCount } = renderer.densifyStats;
        densifier = await Densifier.create(gpu, cache, model, adam, { gradAccum: xyGradNorm, gradCount: visCount }, { gradCountFormat: 'u32' });
        owned.push(densifier);
      }
      const state: SizeState = {
        size,
        renderer,
        loss,
        grad,
        densifier,
        reference: uploadTarget(ref, width, height),
        train: trainViews.map((v) => uploadTarget(v, width, height)),
      };
      sizes.set(size, state);
      return state;
    };

    const N = config.iterations;
    const lossIters: number[] = [];
    for (let i = 1; i <= N; i++) if (i === 1 || i === N || i % config.lossEvery === 0) lossIters.push(i);
    const curve = device.createBuffer({ label: 'static-loss-curve', size: lossIters.length * lossValuesLayout.size, usage: STORAGE() });
    owned.push(curve);
    const curveSlot = new Map(lossIters.map((it, slot) => [it, slot]));

    const viewRnd = seededRandom(deriveSeed(seed, 2));
    const shuffle: number[] = [];
    const priorWeights: LossWeights = {};
    for (const [k, v] of Object.entries(config.loss.prior) as [keyof LossWeights, number][]) priorWeights[k] = v / config.priorViews;
    const densifyLog: (DensifyStats & { iter: number })[] = [];
    const checked: CheckedBuffer[] = PARAM_GROUPS.flatMap((g) => [
      { group: g, kind: 'parameters' as const, buffer: model.params[g] },
      { group: g, kind: 'gradients' as const, buffer: model.grads[g] },
    ]);
    const check = await NonFiniteCheck.create(gpu, cache, 'static', config.nonFiniteCheckEvery ?? NONFINITE_CHECK_EVERY, checked);
    owned.push(check);
    const checkedFloats = (e: CheckedBuffer) => model.count * groupWidth(e.group as (typeof PARAM_GROUPS)[number], model.shDegree);
    const inFlight: Promise<void>[] = [];
    let previous: SizeState | null = null;

    // Build the first size before the clock starts: shader compilation is setup, not training.
    await sizeState(renderSizeAt(config, 1));
    const trainStart = performance.now();
    for (let iter = 1; iter <= N; iter++) {
      const s = await sizeState(renderSizeAt(config, iter));
      const enc = device.createCommandEncoder({ label: 'static-iteration' });
      if (previous && previous !== s) {
        // Each renderer keeps its own densification statistics: carry them across the switch.
        const from = previous.renderer.densifyStats;
        const to = s.renderer.densifyStats;
        enc.copyBufferToBuffer(from.xyGradNorm, 0, to.xyGradNorm, 0, Math.min(from.xyGradNorm.size, to.xyGradNorm.size));
        enc.copyBufferToBuffer(from.visCount, 0, to.visCount, 0, Math.min(from.visCount.size, to.visCount.size));
      }
      previous = s;
      model.clearGrads(enc);
      s.loss.clearValues(enc);
      encodeInjection(enc, device, checked, config.injectNonFinite, iter, 'parameters');
      const encodeView = (view: ViewTarget, weights: LossWeights) => {
        s.renderer.encodeForward(enc, model, view.camera, s.renderer.target, timer);
        enc.clearBuffer(s.grad);
        dispatchLoss(enc, s.loss, { render: s.renderer.target.image, target: view.image, grad: s.grad }, weights, { timer });
        s.renderer.encodeBackward(enc, model, view.camera, s.grad, timer);
      };
      const r = config.loss.stepRatio ? iter / N : 1;
      encodeView(s.reference, { rgbMse: config.loss.referenceRgb * r, alphaMse: config.loss.referenceMask * r });
      if (prior === 'oracle') for (const k of drawViews(viewRnd, trainViews.length, config.priorViews, shuffle)) encodeView(s.train[k]!, priorWeights);
      const slot = curveSlot.get(iter);
      if (slot !== undefined) enc.copyBufferToBuffer(s.loss.values, 0, curve, slot * lossValuesLayout.size, lossValuesLayout.size);
      encodeInjection(enc, device, checked, config.injectNonFinite, iter, 'gradients');
      adam.step(enc, model.count, timer);
      if (check.due(iter, N)) check.encode(enc, iter, checkedFloats, timer);
      if (timer) await timer.submit(enc);
      else device.queue.submit([enc.finish()]);
      s.renderer.afterSubmit();
      await check.afterSubmit();
      inFlight.push(device.queue.onSubmittedWorkDone());
      if (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
      // A frame ran out of intersection room (rare: the GPU reported it asynchronously): grow now.
      if (s.renderer.needsGrowth) await s.renderer.sync();

      const d = config.densify;
      if (d && s.densifier && iter % d.interval === 0 && iter >= d.from && iter <= d.until && iter < N) {
        const stats = await s.densifier.densify(
          { gradThreshold: d.gradThreshold, percentDense: d.percentDense, sceneExtent: d.sceneExtent, minOpacity: d.minOpacity, maxScaleFraction: d.maxScaleFraction, seed: deriveSeed(seed, 1000 + iter) },
          timer,
        );
        densifyLog.push({ iter, ...stats });
      }
      if (config.opacityResetInterval > 0 && s.densifier && iter % config.opacityResetInterval === 0 && iter < N) {
        const reset = device.createCommandEncoder({ label: 'static-opacity-reset' });
        s.densifier.opacityReset(reset, timer);
        if (timer) await timer.submit(reset);
        else device.queue.submit([reset.finish()]);
      }
      if (emit && (iter % config.stepEvery === 0 || iter === N)) {
        emit({ type: 'step', stage: 'static', iter, of: N, prior, gaussians: model.count, size: s.size, elapsedMs: performance.now() - trainStart });
      }
    }
    await device.queue.onSubmittedWorkDone();
    await check.finish();
    const trainMs = performance.now() - trainStart;

    const raw = new DataView(await readBuffer(device, curve));
    const f = (slot: number, name: string) => raw.getFloat32(slot * lossValuesLayout.size + lossValuesLayout.field(name).offset, true);
    const lossCurve = lossIters.map((iter, slot): LossPoint => {
      const calls = Math.max(1, f(slot, 'calls'));
      return { iter, loss: f(slot, 'rgb_mse') / calls, alphaMse: f(slot, 'alpha_mse') / calls, objective: f(slot, 'total'), views: f(slot, 'calls') };
    });
    const params = await model.download();
    const timings = timer ? await timer.collect() : null;
    return { prior, params, iterations: N, wallMs: performance.now() - started, trainMs, lossCurve, densify: densifyLog, timings };
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const o of owned.reverse()) o.destroy();
  }
}
