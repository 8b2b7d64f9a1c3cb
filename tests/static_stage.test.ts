// The static stage (harness/pipeline/static_stage.ts) end to end in real headless
// Chromium: the tiny preset fits the built-in known Gaussian set from its rendered
// training views and is scored on held-out views it never saw; the reference
// prior runs on the input view alone; the result exports to a 3DGS PLY. Plus the
// pure pieces (presets, the synthetic set and its cameras, image helpers) in Node.
// Sized for SwiftShader: the two stage runs take about 45 s together.
import test from 'ava';
import { BrowserSession } from '../harness/browser/session.ts';
import type { StaticJobResult, TrainStepBenchResult } from '../harness/page/static_job.ts';
import { compositeOver, psnr, resampleArea } from '../harness/pipeline/images.ts';
import { DG4D_LOSS_SCALE, DREAMGAUSSIAN_SPATIAL_LR_SCALE, PRESETS, renderSizeAt, staticStageConfig } from '../harness/pipeline/presets.ts';
import { DEFAULT_SYNTHETIC_SEED, EVAL_AZIMUTHS_DEG, syntheticObject, syntheticViews } from '../harness/pipeline/synthetic_gaussians.ts';
import { Camera } from '../harness/splat/camera.ts';
import { PARAM_GROUPS, validateParams } from '../harness/splat/model.ts';
import { readPly, writePly } from '../harness/splat/ply.ts';
import type { PageMessage } from '../harness/protocol/messages.ts';

let session: BrowserSession;
const messages: PageMessage[] = [];
let oracle: Promise<StaticJobResult>;
let reference: Promise<StaticJobResult>;

const TRAIN_VIEWS = 24;
const TEST_VIEWS = 4;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 300_000, onMessage: (m) => messages.push(m) });
  // Both runs queue on the one page (jobs are serialised); tests await what they need.
  oracle = session.run<StaticJobResult>('staticStage', { preset: 'tiny', prior: 'oracle', seed: 1, trainViews: TRAIN_VIEWS, testViews: TEST_VIEWS });
  reference = session.run<StaticJobResult>('staticStage', { preset: 'tiny', prior: 'reference', seed: 1, trainViews: TRAIN_VIEWS, testViews: TEST_VIEWS });
  // Failures surface in the tests that await them, not as unhandled rejections here.
  oracle.catch(() => {});
  reference.catch(() => {});
});

test.after.always(async () => {
  await session?.close();
});

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

// --- GPU: the stage -------------------------------------------------------------

test('oracle prior: the tiny preset reaches >= 30 dB PSNR on held-out views at 64^2', async (t) => {
  const r = await oracle;
  t.log(`oracle: ${r.iterations} iterations in ${(r.trainMs / 1000).toFixed(1)} s (${r.itersPerSecond.toFixed(2)} it/s), ${r.gaussians} Gaussians`);
  t.log(`held-out PSNR ${r.psnrTest.toFixed(2)} dB [${fmt(r.testPsnrs)}]; train ${r.psnrTrain.toFixed(2)} dB; reference view ${r.referencePsnr.toFixed(2)} dB`);
  t.is(r.prior, 'oracle');
  t.is(r.evalSize, 64);
  t.is(r.iterations, staticStageConfig('tiny').iterations);
  t.is(r.testPsnrs.length, TEST_VIEWS);
  t.is(r.trainPsnrs.length, TRAIN_VIEWS);
  t.true(r.psnrTest >= 30, `held-out PSNR ${r.psnrTest.toFixed(2)} dB < 30 dB`);
  for (const p of r.testPsnrs) t.true(p >= 28, `a held-out view at ${p.toFixed(2)} dB`);
  t.true(r.psnrTrain >= 30, `training-view PSNR ${r.psnrTrain.toFixed(2)} dB`);
});

test('oracle prior: held-out poses are not training poses, and there are 8+ training views', async (t) => {
  const r = await oracle;
  t.true(r.trainPoses.length >= 8);
  for (const test of r.testPoses) {
    const nearest = Math.min(...r.trainPoses.map((p) => Math.hypot(p.azimuthDeg - test.azimuthDeg, p.elevationDeg - test.elevationDeg, 10 * (p.radius - test.radius))));
    t.true(nearest > 0.5, `test pose (${test.azimuthDeg}, ${test.elevationDeg}) coincides with a training pose`);
  }
});

test('oracle prior: the loss curve decreases', async (t) => {
  const { lossCurve } = await oracle;
  t.true(lossCurve.length >= 10);
  t.is(lossCurve[0]!.iter, 1);
  t.is(lossCurve.at(-1)!.iter, staticStageConfig('tiny').iterations);
  for (const p of lossCurve) t.true(Number.isFinite(p.loss) && p.loss >= 0 && Number.isFinite(p.objective), `loss at ${p.iter}: ${p.loss}`);
  // One view set per point is noisy: compare the means of the first and last fifths.
  const fifth = Math.max(1, Math.floor(lossCurve.length / 5));
  const mean = (ps: typeof lossCurve) => ps.reduce((s, p) => s + p.loss, 0) / ps.length;
  const early = mean(lossCurve.slice(0, fifth));
  const late = mean(lossCurve.slice(-fifth));
  t.log(`mean RGB MSE, first fifth ${early.toExponential(2)}, last fifth ${late.toExponential(2)}`);
  t.true(late < early / 10, `loss went from ${early} to ${late}`);
  t.is(lossCurve.at(-1)!.views, 1 + staticStageConfig('tiny').priorViews);
});

test('oracle prior: densification ran, timings carry every stage label, progress was emitted', async (t) => {
  const r = await oracle;
  t.true(r.densify.length > 0);
  t.true(r.densify[0]!.countAfter > r.densify[0]!.countBefore, 'the first densification grew the model');
  t.true(r.gaussians <= staticStageConfig('tiny').capacity);
  t.truthy(r.timings);
  const labels = Object.keys(r.timings!.samples);
  if (r.timings!.method === 'timestamp') {
    for (const l of ['project', 'scan', 'map_intersects', 'tile_ranges', 'rasterize', 'loss', 'rasterize_bwd', 'project_bwd', 'adam', 'densify']) t.true(labels.includes(l), `label ${l} missing (${labels.join(', ')})`);
    t.true(labels.some((l) => l.startsWith('sort_')));
  }
  const steps = messages.filter((m) => m.type === 'step' && m.stage === 'static' && m.prior === 'oracle');
  t.true(steps.length >= 5);
  t.true(steps.every((m) => m.type === 'step' && m.iter >= 1 && m.iter <= m.of));
});

test('oracle prior: the trained Gaussians export to a 3DGS PLY and read back unchanged', async (t) => {
  const { params, gaussians } = await oracle;
  t.is(params.count, gaussians);
  t.is(params.shDegree, 0);
  t.notThrows(() => validateParams(params));
  const back = readPly(writePly(params), 'static.ply');
  t.is(back.count, params.count);
  t.is(back.shDegree, params.shDegree);
  for (const g of PARAM_GROUPS) t.deepEqual(back[g], params[g], g);
});

test('reference prior: runs, says so, and generalises worse than the oracle', async (t) => {
  const [r, o] = await Promise.all([reference, oracle]);
  t.log(`reference: held-out ${r.psnrTest.toFixed(2)} dB [${fmt(r.testPsnrs)}], reference view ${r.referencePsnr.toFixed(2)} dB, ${(r.trainMs / 1000).toFixed(1)} s`);
  t.is(r.prior, 'reference');
  t.true(Number.isFinite(r.psnrTest));
  t.true(r.psnrTest < o.psnrTest, `reference ${r.psnrTest} vs oracle ${o.psnrTest}`);
  // What it did see, it fits.
  t.true(r.referencePsnr >= 30, `reference view ${r.referencePsnr.toFixed(2)} dB`);
  t.is(r.lossCurve.at(-1)!.views, 1);
});

test('render size grows on schedule; densify and opacity reset run across the switch', async (t) => {
  await Promise.allSettled([oracle, reference]);
  const from = messages.length;
  const tiny = staticStageConfig('tiny');
  const r = await session.run<StaticJobResult>('staticStage', {
    preset: 'tiny',
    prior: 'oracle',
    seed: 5,
    trainViews: 8,
    testViews: 1,
    config: {
      iterations: 16,
      priorViews: 1,
      stepEvery: 1,
      lossEvery: 4,
      renderSizes: [
        { from: 0, size: 32 },
        { from: 0.5, size: 64 },
      ],
      densify: { ...tiny.densify!, interval: 4, from: 4, until: 100 },
      opacityResetInterval: 6,
    },
  });
  const sizes = messages.slice(from).flatMap((m) => (m.type === 'step' && m.stage === 'static' ? [[m.iter, m.size]] : []));
  t.deepEqual(sizes, Array.from({ length: 16 }, (_, i) => [i + 1, i + 1 < 8 ? 32 : 64]));
  t.is(r.evalSize, 64);
  // Not after the last iteration: nothing would train what it adds.
  t.deepEqual(r.densify.map((d) => d.iter), [4, 8, 12]);
  t.deepEqual(r.lossCurve.map((p) => p.iter), [1, 4, 8, 12, 16]);
  t.true(Number.isFinite(r.psnrTest));
  if (r.timings?.method === 'timestamp') t.true((r.timings.samples.opacity_reset?.length ?? 0) === 2, 'opacity reset at 6 and 12');
});

test('trainStepBench times one training iteration', async (t) => {
  await Promise.allSettled([oracle, reference]);
  const r = await session.run<TrainStepBenchResult>('trainStepBench', { gaussians: 1000, size: 64, timeMs: 10, minIterations: 3 });
  t.true(r.samples >= 3);
  t.true(r.medianMs > 0 && r.p90Ms >= r.medianMs);
  t.true(r.gpuMedianMs > 0);
  if (r.timing === 'timestamp') for (const l of ['rasterize', 'loss', 'rasterize_bwd', 'adam']) t.true(r.perLabelMedianMs[l]! > 0, `label ${l}`);
});

test('staticStage rejects bad arguments before any GPU work', async (t) => {
  await Promise.allSettled([oracle, reference]);
  await t.throwsAsync(session.run('staticStage', { preset: 'huge', prior: 'oracle' }), { message: /preset/ });
  await t.throwsAsync(session.run('staticStage', { preset: 'tiny', prior: 'sds' }), { message: /prior/ });
  await t.throwsAsync(session.run('staticStage', { preset: 'tiny', prior: 'oracle', trainViews: 0 }), { message: /trainViews/ });
});

// --- Node: presets, the synthetic set, image helpers --------------------------------

test('paper preset follows DG4D static stage settings', (t) => {
  const c = staticStageConfig('paper');
  t.is(c.iterations, 500);
  t.is(c.init.points, 5000);
  t.is(c.priorViews, 16);
  t.is(c.shDegree, 0);
  t.deepEqual(c.background, [1, 1, 1]);
  t.deepEqual([1, 149, 150, 299, 300, 500].map((i) => renderSizeAt(c, i)), [128, 128, 256, 256, 512, 512]);
  t.deepEqual(c.lr.means, { kind: 'exponential', lrInit: 1e-3 * DREAMGAUSSIAN_SPATIAL_LR_SCALE, lrFinal: 2e-5 * DREAMGAUSSIAN_SPATIAL_LR_SCALE, maxSteps: 500 });
  t.deepEqual([c.lr.sh, c.lr.opacity_logits, c.lr.log_scales, c.lr.quats], [0.01, 0.05, 0.005, 0.005].map((lr) => ({ kind: 'constant', lr })));
  t.is(c.loss.referenceRgb / c.loss.referenceMask, 10);
  t.is(c.densify!.interval, 100);
  t.is(c.densify!.percentDense, 0.1);
  t.is(c.densify!.gradThreshold, 0.05 / DG4D_LOSS_SCALE);
  t.is(c.opacityResetInterval, 700);
  t.deepEqual(c.orbit, { radius: 2, radiusJitter: 0.5, fovyDeg: 49.1, elevationDeg: [-30, 30] });
  for (const p of PRESETS) {
    const s = staticStageConfig(p);
    t.true(s.init.points <= s.capacity, p);
    t.is(s.renderSizes[0]!.from, 0, p);
  }
  t.deepEqual(staticStageConfig('tiny').renderSizes, [{ from: 0, size: 64 }]);
  t.deepEqual(staticStageConfig('small').renderSizes, [{ from: 0, size: 128 }]);
});

test('the known Gaussian set is deterministic, colourful and inside the unit sphere', (t) => {
  const a = syntheticObject();
  const b = syntheticObject({ seed: DEFAULT_SYNTHETIC_SEED });
  t.deepEqual(a, b);
  t.notDeepEqual(syntheticObject({ seed: 7 }).means, a.means);
  t.true(a.count >= 300 && a.count <= 2000, `${a.count} Gaussians`);
  t.notThrows(() => validateParams(a));
  let maxR = 0;
  for (let i = 0; i < a.count; i++) maxR = Math.max(maxR, Math.hypot(a.means[3 * i]!, a.means[3 * i + 1]!, a.means[3 * i + 2]!));
  t.true(maxR < 0.9, `farthest mean at ${maxR}`);
  // Several distinct hues, varied scales and opacities.
  const dc = new Set<string>();
  for (let i = 0; i < a.count; i++) dc.add([0, 1, 2].map((c) => Math.sign(Math.round(a.sh[3 * i + c]!))).join());
  t.true(dc.size >= 5, `${dc.size} colour classes`);
  const spread = (arr: Float32Array) => Math.max(...arr) - Math.min(...arr);
  t.true(spread(a.log_scales) > 1);
  t.true(spread(a.opacity_logits) > 0.5);
});

test('synthetic views: reference at azimuth 0, training views around the object, held-out views elsewhere', (t) => {
  const orbit = staticStageConfig('paper').orbit;
  const v = syntheticViews(3, { train: 8, test: 6 }, { width: 64, height: 64 }, orbit);
  t.deepEqual([v.reference.azimuthDeg, v.reference.elevationDeg, v.reference.radius], [0, 0, 2]);
  const refCam = Camera.fromBlender(v.reference.camera);
  t.deepEqual(refCam.position.map((x) => Math.round(x * 1e9) / 1e9), [0, 0, 2]);
  t.true(Math.abs((refCam.fovy * 180) / Math.PI - 49.1) < 1e-9);
  t.is(v.train.length, 8);
  // Stratified azimuths: one per 45-degree sector.
  v.train.forEach((p, i) => t.true(p.azimuthDeg >= -180 + 45 * i && p.azimuthDeg < -180 + 45 * (i + 1)));
  for (const p of v.train) {
    t.true(p.elevationDeg >= -30 && p.elevationDeg <= 30);
    t.true(Math.abs(p.radius - 2) <= 0.5);
    // Every camera looks at the origin: it projects to the image centre.
    const cam = Camera.fromBlender(p.camera);
    const c = cam.toCamera([0, 0, 0]);
    t.true(Math.abs(c[0]) < 1e-9 && Math.abs(c[1]) < 1e-9 && c[2] > 0);
  }
  t.deepEqual(v.test.slice(0, 4).map((p) => p.azimuthDeg), EVAL_AZIMUTHS_DEG);
  t.deepEqual(syntheticViews(3, { train: 8, test: 6 }, { width: 64, height: 64 }, orbit), v);
});

test('image helpers: area resampling keeps the mean, compositing and PSNR', (t) => {
  const w = 4;
  const img = new Float32Array(w * w * 4);
  for (let i = 0; i < img.length; i++) img[i] = (i % 7) / 7;
  const half = resampleArea(img, w, w, 2, 2);
  t.is(half.length, 16);
  const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
  t.true(Math.abs(mean(half) - mean(img)) < 1e-6);
  t.true(Math.abs(half[0]! - (img[0]! + img[4]! + img[16]! + img[20]!) / 4) < 1e-6);
  const odd = resampleArea(img, w, w, 3, 3);
  t.true(Math.abs(mean(odd) - mean(img)) < 1e-6);
  const px = compositeOver(new Float32Array([0.2, 0.1, 0, 0.5]), [1, 1, 1]);
  t.deepEqual([...px].map((x) => Math.round(x * 1e6) / 1e6), [0.7, 0.6, 0.5, 0.5]);
  t.is(psnr(px, px), Infinity);
  const off = px.map((x, i) => (i % 4 === 3 ? x : x + 0.1));
  t.true(Math.abs(psnr(off, px) - 20) < 1e-4);
});
