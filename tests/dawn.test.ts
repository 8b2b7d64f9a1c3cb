// The dawn runtime (harness/dawn/): the same page-core jobs run in this Node
// process on Dawn's WebGPU (npm webgpu; SwiftShader's Vulkan driver on CPU
// machines) and in headless Chromium, same inputs and seeds. Each kernel is checked
// against its CPU reference under Dawn, and against Chromium's result: exact for
// integer kernels, within float tolerance for the renderer and the HexPlane field,
// within a PSNR margin for a short static fit. Plus the session's own behaviour
// (errors, device loss, timing, values crossing the boundary) and `dg4d info
// --runtime dawn`. Sized for SwiftShader: about a minute on 2 cores.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../harness/browser/bundle.ts';
import { openSession } from '../harness/browser/open_session.ts';
import { PageJobError, type GpuSession } from '../harness/browser/session_types.ts';
import { assetFile, diskAssets } from '../harness/dawn/assets.ts';
import { acrossBoundary } from '../harness/dawn/session.ts';
import { HEXPLANE_PAPER, hexPlaneLayout, initHexPlaneParams, refHexPlaneField, type HexPlaneConfig } from '../harness/deform/hexplane_ref.ts';
import { refScan } from '../harness/gpu/scan_ref.ts';
import { refSort } from '../harness/gpu/sort_ref.ts';
import type { HexPlaneJobResult, HexPlaneRows } from '../harness/page/hexplane_job.ts';
import type { RenderJobResult } from '../harness/page/render_job.ts';
import type { StaticJobResult } from '../harness/page/static_job.ts';
import { seededRandom } from '../harness/pipeline/rng.ts';
import type { PageMessage } from '../harness/protocol/messages.ts';
import { Camera } from '../harness/splat/camera.ts';
import { PARAM_GROUPS } from '../harness/splat/model.ts';
import { refRender, refRenderBwd } from '../harness/splat/render_ref.ts';
import { randomU32 } from './helpers/random.ts';
import { cameraAt, randomScene } from './helpers/splat_scenes.ts';

const run = promisify(execFile);

let dawn: GpuSession;
let chromium: GpuSession;
const dawnMessages: PageMessage[] = [];

test.before(async () => {
  [dawn, chromium] = await Promise.all([
    openSession({ runtime: 'dawn', quiet: true, callTimeoutMs: 300_000, onMessage: (m) => dawnMessages.push(m) }),
    openSession({ runtime: 'chromium', quiet: true, callTimeoutMs: 300_000 }),
  ]);
});

test.after.always(async () => {
  await Promise.all([dawn?.close(), chromium?.close()]);
});

/** Runs one job under both runtimes (one after the other: the machine has two cores). */
async function both<T>(job: string, args: Record<string, unknown>): Promise<{ dawn: T; chromium: T }> {
  const d = await dawn.run<T>(job, args);
  return { dawn: d, chromium: await chromium.run<T>(job, args) };
}

/** |got - want| <= atol + rtol |want| everywhere, naming the worst element. */
function close(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string) {
  t.is(got.length, want.length, `${what}: length`);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!) - (atol + rtol * Math.abs(want[i]!));
    if (!(d <= excess)) {
      excess = d;
      worst = i;
    }
  }
  t.is(worst, -1, worst >= 0 ? `${what}[${worst}]: got ${got[worst]}, want ${want[worst]}` : undefined);
}

const peak = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

// --- the session ----------------------------------------------------------------

test('the dawn session reports its runtime, Dawn package and SwiftShader adapter with the features the core uses', async (t) => {
  t.is(dawn.runtime, 'dawn');
  t.is(chromium.runtime, 'chromium');
  t.regex(dawn.browserVersion, /^Dawn \(npm webgpu \d+\.\d+\.\d+\) in Node v\d+/);
  const [d, c] = await Promise.all([dawn.adapterInfo(), chromium.adapterInfo()]);
  t.is(d.architecture, c.architecture, 'same adapter family under both runtimes');
  if (d.architecture === 'swiftshader') {
    t.is(dawn.adapterFlags, 'swiftshader');
    t.true(dawn.launchArgs.some((a) => a.startsWith('VK_ICD_FILENAMES=')), dawn.launchArgs.join(' '));
  }
  t.deepEqual([...d.enabledFeatures].sort(), [...c.enabledFeatures].sort(), 'the same optional features are enabled');
  for (const k of ['maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) t.true(d.limits[k]! > 0, k);
});

test('timestamp queries work under Dawn and are not quantised', async (t) => {
  const r = await dawn.run<{ method: string; samples: Record<string, number[]> }>('timerCheck', { n: 1 << 14, repeats: 2 });
  t.is(r.method, 'timestamp');
  t.true(r.samples.scan!.every((ms) => ms > 0 && Number.isFinite(ms)));
  // Dawn's default quantisation would round every sample to a multiple of 0.1 ms.
  t.true([...r.samples.scan!, ...r.samples.empty!].some((ms) => Math.abs(ms / 0.1 - Math.round(ms / 0.1)) > 1e-6), JSON.stringify(r.samples));
});

test('job errors, unknown jobs and a lost device become errors of the call; the next call gets a new device', async (t) => {
  await t.throwsAsync(dawn.run('scan', { input: [1, 2, 3] }), { instanceOf: PageJobError, message: /args\.input must be a Uint32Array/ });
  await t.throwsAsync(dawn.run('noSuchJob'), { instanceOf: PageJobError, message: /unknown page job 'noSuchJob'/ });
  await t.throwsAsync(dawn.run('destroyDevice'), { message: /device lost|destroyed/i });
  t.true(dawnMessages.some((m) => m.type === 'device-lost'), 'a device-lost message reached onMessage');
  const r = await dawn.run<{ output: Uint32Array }>('scan', { input: new Uint32Array([3, 1, 2]) });
  t.deepEqual([...r.output], [0, 3, 4]);
});

test('values cross the Dawn boundary as they cross the page boundary: copied typed arrays, JSON numbers, plain objects', (t) => {
  const f = new Float32Array([1, 2]);
  const out = acrossBoundary({ f, n: NaN, inf: Infinity, u: undefined, a: [undefined, 1], d: new Date(0), nested: { g: Buffer.from([7]) } }) as Record<string, unknown>;
  t.not(out.f, f, 'a copy');
  t.deepEqual(out.f, f);
  t.is(out.n, null);
  t.is(out.inf, null);
  t.false('u' in out);
  t.deepEqual(out.a, [null, 1]);
  t.is(out.d, '1970-01-01T00:00:00.000Z');
  t.is((out.nested as { g: Uint8Array }).g.constructor, Uint8Array);
  t.throws(() => acrossBoundary({ b: new ArrayBuffer(4) }), { message: /ArrayBuffer cannot cross/ });
});

test('host assets under Dawn: the same paths as the static server, read from disk; data roots confined', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'dg4d-dawn-assets-'));
  try {
    await writeFile(join(root, 'm.onnx'), 'model');
    await symlink('/etc/hostname', join(root, 'escape'));
    const assets = diskAssets({ models: root });
    t.is(Buffer.from(await assets.bytes('/data/models/m.onnx')).toString(), 'model');
    await t.throwsAsync(assets.bytes('/data/models/escape'), { message: /symbolic link/ });
    await t.throwsAsync(assets.bytes('/data/models/../x'), { message: /refused path segment/ });
    await t.throwsAsync(assets.bytes('/data/other/m.onnx'), { message: /no data root 'other'/ });
    await t.throwsAsync(assets.bytes('/asm/nope.wasm'), { message: /\/asm\/nope\.wasm: cannot read/ });
    t.is(await assetFile('/vendor/onnxruntime-web/ort.wasm.min.mjs', {}), join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist', 'ort.wasm.min.mjs'));
    await t.throwsAsync(assetFile('/vendor/onnxruntime-web/package.json', {}), { message: /not an onnxruntime-web runtime file/ });
    t.regex(assets.url('/vendor/onnxruntime-web/'), /^file:\/\/.*\/onnxruntime-web\/dist\/$/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

// --- kernels: Dawn against the references and against Chromium --------------------

test('scan: 2^16 + 3 keys, Dawn equals refScan and Chromium exactly', async (t) => {
  const input = randomU32((1 << 16) + 3, 901, 1000);
  const r = await both<{ output: Uint32Array; total: number }>('scan', { input });
  const want = refScan(input);
  t.deepEqual(r.dawn.output, want.scan);
  t.is(r.dawn.total, want.total);
  t.deepEqual(r.dawn.output, r.chromium.output);
});

test('radix sort: 20 000 pairs with duplicate keys, Dawn equals refSort (stable) and Chromium exactly', async (t) => {
  const keys = randomU32(20_000, 902, 5000);
  const values = Uint32Array.from({ length: keys.length }, (_, i) => i);
  const r = await both<{ keys: Uint32Array; values: Uint32Array }>('sort', { keys, values });
  const want = refSort(keys, values, 32);
  t.deepEqual(r.dawn.keys, want.keys);
  t.deepEqual(r.dawn.values, want.values);
  t.deepEqual(r.dawn.values, r.chromium.values);
});

test('render forward and backward: 200 Gaussians at 48x40, SH degree 1, depth loss; Dawn against refRender/refRenderBwd and Chromium', async (t) => {
  const params = randomScene(200, 903, { shDegree: 1 });
  const camera = cameraAt([0.5, -0.4, 3.1], 48, 40, 55);
  const n = camera.width * camera.height;
  const rnd = seededRandom(904);
  const dImage = Float32Array.from({ length: n * 4 }, () => rnd() - 0.5);
  const dDepth = Float32Array.from({ length: n }, () => rnd() - 0.5);
  const background = [0.2, 0.5, 0.7];
  const r = await both<RenderJobResult>('render', { params, camera, background, dImage, dDepth });
  const cam = Camera.fromBlender(camera);
  const ref = refRender(params, cam, { background });
  close(t, r.dawn.image, ref.image, 2e-5, 1e-4, 'image vs refRender');
  close(t, r.dawn.image, r.chromium.image, 1e-6, 1e-5, 'image vs Chromium');
  close(t, r.dawn.depth, r.chromium.depth, 1e-6, 1e-5, 'depth vs Chromium');
  t.deepEqual(r.dawn.tilesTouched, r.chromium.tilesTouched, 'tiles touched');
  const refBwd = refRenderBwd(params, cam, dImage, dDepth, { background });
  for (const g of PARAM_GROUPS) {
    const want = refBwd.grads[g];
    close(t, r.dawn.grads![g], want, 1e-4 * peak(want), 1e-3, `d/d ${g} vs refRenderBwd`);
    close(t, r.dawn.grads![g], r.chromium.grads![g], 1e-5 * peak(want), 1e-4, `d/d ${g} vs Chromium`);
  }
  t.deepEqual(r.dawn.visCount, r.chromium.visCount, 'visibility counts');
});

test('HexPlane field forward and backward: Dawn against refHexPlaneField and Chromium', async (t) => {
  const config: HexPlaneConfig = { ...HEXPLANE_PAPER, resolution: [4, 5, 3, null], scales: [1, 2], features: 4, width: 8, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, seed: 5 };
  const frames = 4;
  const count = 60;
  const rnd = seededRandom(905);
  const rows = (k: number, lo: number, hi: number) => Float32Array.from({ length: count * k }, () => lo + (hi - lo) * rnd());
  const canonical: HexPlaneRows = { means: rows(3, -1.2, 1.2), log_scales: rows(3, -3, 0), quats: rows(4, -1, 1) };
  const dOut: HexPlaneRows = { means: rows(3, -1, 1), log_scales: rows(3, -1, 1), quats: rows(4, -1, 1) };
  // Random heads: at initialisation they are zero and would hide a wrong forward.
  const params = initHexPlaneParams(config, frames);
  for (const k of Object.keys(params)) if (k.endsWith('.weight') && !k.includes('feature')) params[k] = Float32Array.from(params[k]!, () => rnd() - 0.5);
  const r = await both<HexPlaneJobResult>('hexplaneField', { config, frames, canonical, count, params, calls: [{ time: 0.4, dOut }] });
  const want = refHexPlaneField({ layout: hexPlaneLayout(config, frames), bounds: config.bounds, params, canonical, count, time: 0.4 });
  for (const k of ['means', 'log_scales', 'quats'] as const) {
    close(t, r.dawn.outs[0]![k], want[k], 2e-5, 2e-5, `${k} vs refHexPlaneField`);
    close(t, r.dawn.outs[0]![k], r.chromium.outs[0]![k], 1e-6, 1e-5, `${k} vs Chromium`);
  }
  for (const [k, g] of Object.entries(r.chromium.grads)) close(t, r.dawn.grads[k]!, g, 1e-5 * peak(g), 1e-4, `grad ${k} vs Chromium`);
  t.true(Object.values(r.dawn.grads).some((g) => peak(g) > 0), 'some gradient is non-zero');
});

test('a short static fit (tiny preset, 10 iterations, same seed) scores the same under both runtimes (within 0.1 dB)', async (t) => {
  // Ten iterations stay before the first densification; the backward pass is deterministic.
  const args = { preset: 'tiny', prior: 'oracle', seed: 7, trainViews: 8, testViews: 2, config: { iterations: 10, stepEvery: 5 } };
  const r = await both<StaticJobResult>('staticStage', args);
  t.is(r.dawn.iterations, 10);
  t.is(r.dawn.gaussians > 0, true);
  t.true(r.dawn.psnrTest > 12, `Dawn fits: ${r.dawn.psnrTest.toFixed(2)} dB`);
  t.true(Math.abs(r.dawn.psnrTest - r.chromium.psnrTest) < 0.1, `held-out PSNR: Dawn ${r.dawn.psnrTest.toFixed(3)} dB, Chromium ${r.chromium.psnrTest.toFixed(3)} dB`);
  t.true(dawnMessages.some((m) => m.type === 'step' && m.stage === 'static'), 'progress reached onMessage');
});

// --- the command ------------------------------------------------------------------

test('dg4d info --runtime dawn --json names the runtime and the adapter', async (t) => {
  const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'harness', 'cli', 'dg4d.mjs'), 'info', '--runtime', 'dawn', '--json'], { timeout: 120_000 });
  const info = JSON.parse(stdout) as { runtime: string; browser: { version: string; adapterFlags: string }; adapter: { description: string; enabledFeatures: string[] } };
  t.is(info.runtime, 'dawn');
  t.regex(info.browser.version, /^Dawn \(npm webgpu /);
  t.truthy(info.adapter.description);
  const bad = await run(process.execPath, [join(REPO_ROOT, 'harness', 'cli', 'dg4d.mjs'), 'info', '--runtime', 'webkit']).catch((e: { code: number; stderr: string }) => e);
  t.is((bad as { code: number }).code, 2);
  t.regex((bad as { stderr: string }).stderr, /--runtime must be one of chromium, dawn/);
});
