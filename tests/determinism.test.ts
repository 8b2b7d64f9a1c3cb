// Determinism (issue 8, part 5): the same inputs and seed give the same bits.
// (a) Kernels: the splatting backward on a scene where hundreds of splats overlap
//     (many pixels and tiles feed each splat) and the HexPlane backward with many
//     Gaussians per plane cell, each run twice in fresh pipelines; both ordered
//     rasterize_bwd variants, checked against the compare-exchange kernel too so
//     that "identical" cannot mean "identically wrong".
// (b) Pipeline: the tiny static stage (with a densification) and short dynamic
//     stages of dg4d-fast and deformable-3dgs, twice with one seed: parameters,
//     loss curves and every evaluation metric bit for bit; another seed differs.
import test, { type ExecutionContext } from 'ava';
import { ensureTinyScene } from '../datasets/cache.ts';
import { BrowserSession } from '../harness/browser/session.ts';
import { hexPlaneGroupSizes, hexPlaneLayout, type HexPlaneConfig, HEXPLANE_SMALL } from '../harness/deform/hexplane_ref.ts';
import type { HexPlaneJobResult } from '../harness/page/hexplane_job.ts';
import type { RenderJobResult } from '../harness/page/render_job.ts';
import { methodConfig } from '../harness/pipeline/methods.ts';
import type { PipelineDynamicResult } from '../harness/page/dynamic_job.ts';
import { unpackViewScores } from '../harness/metrics/image_metrics.ts';
import { loadRunInputs, premultiply, type RunInputs } from '../harness/runner/inputs.ts';
import { runStaticFit, type PipelineRunOptions } from '../harness/runner/pipeline_run.ts';
import { Camera } from '../harness/splat/camera.ts';
import { cameraAt, PARAM_GROUPS, randomScene, uniform } from './helpers/splat_scenes.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 600_000 });
});

test.after.always(async () => {
  await session?.close();
});

/** The index of the first element whose bits differ (NaN payloads and -0 included), or -1. */
function firstBitDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const fa = new Float32Array(1);
  const fb = new Float32Array(1);
  const ua = new Uint32Array(fa.buffer);
  const ub = new Uint32Array(fb.buffer);
  for (let i = 0; i < a.length; i++) {
    fa[0] = a[i]!;
    fb[0] = b[i]!;
    if (ua[0] !== ub[0]) return i;
  }
  return -1;
}

function sameBits(t: ExecutionContext, a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const i = firstBitDifference(a, b);
  t.is(i, -1, i < 0 ? undefined : `${what}[${i}]: ${a[i]} vs ${b[i]} (lengths ${a.length}, ${b.length})`);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Every element within atol + rtol |b| (the orders of summation differ, the values must not). */
function close(t: ExecutionContext, a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const atol = 1e-4 * maxAbs(b);
  for (let i = 0; i < b.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= atol + 1e-4 * Math.abs(b[i]!))) {
      t.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
      return;
    }
  }
  t.pass();
}

// --- (a) kernels ---------------------------------------------------------------

/** 300 splats stacked over a 32x32 view: every tile holds over a hundred, each splat spans several tiles. */
function overlapCase() {
  const camera = cameraAt([0, 0, 4], 32, 32, 40);
  const cam = Camera.fromBlender(camera);
  const n = 300;
  const params = randomScene(n, 51, { shDegree: 1, spread: 0.25, logScale: [-1.6, -0.9], logit: [-1, 2] });
  for (let i = 0; i < n; i++) params.means[3 * i + 2] = params.means[3 * i + 2]! * 0.5;
  const rnd = uniform(52);
  const dImage = Float32Array.from({ length: camera.width * camera.height * 4 }, () => rnd() - 0.5);
  const dDepth = Float32Array.from({ length: camera.width * camera.height }, () => 0.1 * (rnd() - 0.5));
  return { params, camera, dImage, dDepth, cam };
}

const renderBwd = (c: ReturnType<typeof overlapCase>, reduce: string) =>
  session.run<RenderJobResult>('render', { params: c.params, camera: c.camera, background: [0.3, 0.4, 0.5], dImage: c.dImage, dDepth: c.dDepth, reduce });

test.serial('rasterize_bwd (both ordered variants): the same backward twice gives bit-identical gradients on a heavily overlapped scene', async (t) => {
  const c = overlapCase();
  const cas = await renderBwd(c, 'workgroup');
  const perTile = Array.from({ length: 4 }, (_, k) => cas.ranges[2 * k + 1]! - cas.ranges[2 * k]!);
  t.true(Math.min(...perTile) > 100, `every tile holds > 100 splats (${perTile.join(', ')})`);
  t.true(cas.status.count > 1.5 * c.params.count, `splats span several tiles (${cas.status.count} intersections)`);
  const info = await session.run<{ enabledFeatures: string[] }>('info', {});
  const variants = ['ordered_workgroup', ...(info.enabledFeatures.includes('subgroups') ? ['ordered_subgroups'] : [])];
  for (const reduce of variants) {
    const a = await renderBwd(c, reduce);
    const b = await renderBwd(c, reduce);
    t.is(a.reduceVariant as string, reduce);
    sameBits(t, a.gradSplat!, b.gradSplat!, `${reduce} per-splat gradients`);
    for (const g of PARAM_GROUPS) sameBits(t, a.grads![g], b.grads![g], `${reduce} d loss / d ${g}`);
    sameBits(t, a.xyGradNorm!, b.xyGradNorm!, `${reduce} xy gradient norm`);
    t.true(maxAbs(a.gradSplat!) > 0, 'gradients are not all zero');
    close(t, a.gradSplat!, cas.gradSplat!, `${reduce} vs compare-exchange`);
  }
  t.log(`variants checked: ${variants.join(', ')}`);
});

test.serial('hexplane_bwd: the same backward twice gives bit-identical plane gradients, many Gaussians per cell, two scales', async (t) => {
  const config: HexPlaneConfig = { ...HEXPLANE_SMALL, resolution: [6, 5, 4, null], scales: [1, 2], features: 8, width: 16 };
  const frames = 4;
  const count = 800;
  const rnd = uniform(61);
  const sizes = hexPlaneGroupSizes(hexPlaneLayout(config, frames));
  const params = Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, Float32Array.from({ length: n }, () => (k.endsWith('planes') ? 0.2 + 0.3 * rnd() : 0.3 * (rnd() - 0.5)))]));
  // Clustered means: ~800 Gaussians over a handful of cells of each plane.
  const canonical = {
    means: Float32Array.from({ length: count * 3 }, () => 0.4 * (rnd() - 0.5)),
    log_scales: Float32Array.from({ length: count * 3 }, () => rnd() - 2),
    quats: Float32Array.from({ length: count * 4 }, () => rnd() - 0.5),
  };
  const dOut = {
    means: Float32Array.from({ length: count * 3 }, () => rnd() - 0.5),
    log_scales: Float32Array.from({ length: count * 3 }, () => rnd() - 0.5),
    quats: Float32Array.from({ length: count * 4 }, () => rnd() - 0.5),
  };
  const args = { config, frames, canonical, count, calls: [{ time: 0.4, dOut }, { time: 0.9, dOut }], params, dCanonical: true };
  const a = await session.run<HexPlaneJobResult>('hexplaneField', args);
  const b = await session.run<HexPlaneJobResult>('hexplaneField', args);
  for (const [g, v] of Object.entries(a.grads)) sameBits(t, v, b.grads[g]!, `d loss / d ${g}`);
  t.true(maxAbs(a.grads['hexplane.planes']!) > 0, 'plane gradients are not all zero');
});

// --- (b) pipeline --------------------------------------------------------------

interface VariantOutcome {
  label: string;
  result: PipelineDynamicResult;
  /** PSNR, SSIM and their masked forms per evaluation view. */
  metrics: number[];
}

interface PipelineOutcome {
  params: Record<string, ArrayLike<number>>;
  staticLoss: number[];
  variants: VariantOutcome[];
}

/** A method's dynamic stage from `canonical`, scored on the first 3 views of each eval set (pipelineDynamic, as runVariant does it). */
async function dynamicRun(inputs: RunInputs, canonical: unknown, method: 'dg4d-fast' | 'deformable-3dgs', seed: number, dynamic: Record<string, unknown>): Promise<VariantOutcome> {
  const sets = Object.entries(inputs.eval).map(([k, set]) => [k, { cameras: set.cameras.slice(0, 3), targets: set.targets.slice(0, 3).map(premultiply) }] as const);
  const result = await session.run<PipelineDynamicResult>('pipelineDynamic', {
    method,
    preset: 'tiny',
    prior: 'oracle',
    seed,
    canonical,
    video: inputs.video,
    train: inputs.train,
    eval: Object.fromEntries(sets.map(([k, v]) => [k, v.cameras])),
    evalTargets: Object.fromEntries(sets.map(([k, v]) => [k, v.targets])),
    overrides: { dynamic: { frames: inputs.frames, ...dynamic } },
    paramsAt: [0.5],
  });
  const metrics = Object.values(result.evaluation).flatMap((packed) => {
    const v = unpackViewScores(packed.views) as { psnr: number; ssim: number; psnrMasked?: number; ssimMasked?: number }[];
    return v.flatMap((x) => [x.psnr, x.ssim, x.psnrMasked ?? 0, x.ssimMasked ?? 0]);
  });
  return { label: method, result, metrics };
}

async function tinyPipeline(seed: number, dynamic: boolean, iterations = 10): Promise<PipelineOutcome> {
  const data = await ensureTinyScene('walker');
  const inputs = await loadRunInputs({ kind: 'video-to-4d', data }, { prior: 'oracle', staticViews: methodConfig('static', 'tiny').staticViews });
  const o: PipelineRunOptions = {
    preset: 'tiny',
    prior: 'oracle',
    seed,
    paramsAt: [0.5],
    // 10 iterations with a densification at 5 (clone/split/prune compaction) instead of 200.
    staticOverrides: { iterations, lossEvery: 2, densify: { ...methodConfig('static', 'tiny').static.densify!, interval: 5, from: 5, until: 5 } },
  };
  const s = await runStaticFit(session, inputs, o);
  const variants: VariantOutcome[] = [];
  if (dynamic) {
    variants.push(await dynamicRun(inputs, s.params, 'dg4d-fast', seed, { iterations: 3, lossEvery: 1 }));
    variants.push(await dynamicRun(inputs, s.params, 'deformable-3dgs', seed, { iterations: 3, warmup: 1, lossEvery: 1 }));
  }
  const { count: _c, shDegree: _d, ...groups } = s.params;
  return { params: groups as Record<string, ArrayLike<number>>, staticLoss: s.lossCurve.flatMap((p) => [p.loss, p.alphaMse, p.objective]), variants };
}

test.serial('two tiny runs with one seed (static with densification, dg4d-fast, deformable-3dgs) agree bit for bit; another seed does not', async (t) => {
  const a = await tinyPipeline(7, true);
  const b = await tinyPipeline(7, true);
  for (const [g, v] of Object.entries(a.params)) sameBits(t, v, b.params[g]!, `static ${g}`);
  sameBits(t, a.staticLoss, b.staticLoss, 'static loss curve');
  t.is(a.variants.length, 2);
  for (const [k, va] of a.variants.entries()) {
    const vb = b.variants[k]!;
    const lossA = va.result.dynamic!.lossCurve.flatMap((p) => [p.loss, p.alphaMse, p.objective]);
    sameBits(t, lossA, vb.result.dynamic!.lossCurve.flatMap((p) => [p.loss, p.alphaMse, p.objective]), `${va.label} loss curve`);
    t.true(lossA.length >= 9 && lossA.every(Number.isFinite), `${va.label}: finite loss at every iteration`);
    t.true(va.metrics.length > 0 && va.metrics.every(Number.isFinite), `${va.label}: metrics computed`);
    sameBits(t, va.metrics, vb.metrics, `${va.label} evaluation metrics (PSNR, SSIM, masked)`);
    for (const [g, v] of Object.entries(va.result.paramsAt[0]!.params)) if (ArrayBuffer.isView(v)) sameBits(t, v as Float32Array, vb.result.paramsAt[0]!.params[g as 'means'] as Float32Array, `${va.label} Gaussians at t = 0.5: ${g}`);
  }
  const other = await tinyPipeline(8, false);
  t.not(firstBitDifference(a.params.means!, other.params.means!), -1, 'seed 8 gives other static Gaussians than seed 7');
  t.not(firstBitDifference(a.staticLoss, other.staticLoss), -1, 'and another loss curve');
});
