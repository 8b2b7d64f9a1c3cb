// The splatting forward pass (project -> scan -> map_intersects -> GPU sort ->
// tile_ranges -> rasterize) in real headless Chromium against the float64
// references (refProject, refMapIntersects, refTileRanges, refRasterize), edge
// cases, invariants and input validation. Sized for SwiftShader.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { WgslLayouts } from '../harness/gpu/layout.ts';
import type { RenderJobResult } from '../harness/page/render_job.ts';
import { Camera, type CameraSpec, lookAtC2w } from '../harness/splat/camera.ts';
import { checkSplatConstants } from '../harness/splat/constants.ts';
import { refDepthKey, refTileOfKey } from '../harness/splat/map_intersects_ref.ts';
import type { GaussianParams } from '../harness/splat/model.ts';
import { refRasterize } from '../harness/splat/rasterize_ref.ts';
import { type RefRenderResult, refRender } from '../harness/splat/render_ref.ts';
import { cameraAt, concatScenes, emptyParams, maxAbsDiff, randomScene } from './helpers/splat_scenes.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const BG = [0.1, 0.3, 0.6];

function render(params: GaussianParams, camera: CameraSpec, extra: Record<string, unknown> = {}): Promise<RenderJobResult> {
  return session.run<RenderJobResult>('render', { params, camera, background: BG, ...extra });
}

/** |a - b| <= atol + rtol |b| everywhere, reporting the worst offender. */
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

/** Splats whose tile count or radius may legitimately differ: a bbox edge or ceil() within float32 noise of an integer. */
function nearBoundary(ref: RefRenderResult, i: number): boolean {
  const [x, y, , r] = [0, 1, 2, 3].map((k) => ref.projected.xyDepth[4 * i + k]!) as [number, number, number, number];
  const near = (v: number) => Math.abs(v - Math.round(v)) < 1e-4;
  return [(x - r) / 16, (y - r) / 16, (x + r) / 16, (y + r) / 16].some(near) || Math.abs(r - Math.round(r)) < 1e-9;
}

/** Every output of a GPU frame against refRender of the same scene. */
function checkForward(t: ExecutionContext, got: RenderJobResult, ref: RefRenderResult) {
  const n = ref.projected.count;
  const mismatched: number[] = [];
  for (let i = 0; i < n; i++) if (got.tilesTouched[i] !== ref.projected.tilesTouched[i] && !nearBoundary(ref, i)) mismatched.push(i);
  t.deepEqual(mismatched, [], 'tiles_touched away from bbox boundaries');
  const sameTiles = Array.from({ length: n }, (_, i) => got.tilesTouched[i] === ref.projected.tilesTouched[i]);
  if (sameTiles.every(Boolean)) {
    close(t, got.xyDepth, ref.projected.xyDepth, 2e-3, 1e-5, 'xy_depth');
    close(t, got.conicOpacity, ref.projected.conicOpacity, 1e-5, 1e-4, 'conic_opacity');
    t.deepEqual([...got.tileRect], [...ref.projected.tileRect], 'tile_rect');
    // Sorted lists: same Gaussians per tile in the same (depth, index) order.
    t.deepEqual([...got.values], [...ref.values], 'sorted Gaussian indices');
    t.deepEqual([...got.ranges], [...ref.ranges], 'tile ranges');
    t.deepEqual([...got.end], [...ref.end], 'end of the contributing intersections');
  }
  close(t, got.rgb, ref.projected.rgb, 1e-5, 1e-5, 'rgb');
  close(t, got.image, ref.image, 1e-4, 1e-4, 'image');
  close(t, got.depth, ref.depth, 1e-4, 1e-4, 'depth');
  close(t, got.finalT, ref.finalT, 1e-5, 1e-4, 'final transmittance');
  t.is(got.status.required, ref.keys.length, 'intersections');
  t.is(got.status.overflow, 0);
}

// --- CPU-side pieces -----------------------------------------------------------

test('harness/splat/constants.ts mirrors wgsl/splat_common.wgsl, and a drift is caught', (t) => {
  const src = readFileSync(new URL('../wgsl/splat_common.wgsl', import.meta.url), 'utf8');
  t.notThrows(() => checkSplatConstants(new WgslLayouts(src)));
  const drifted = src.replace('const ALPHA_MAX: f32 = 0.99;', 'const ALPHA_MAX: f32 = 0.999;');
  t.throws(() => checkSplatConstants(new WgslLayouts(drifted)), { message: /ALPHA_MAX \(WGSL 0\.999/ });
});

test('Camera.fromBlender: OpenGL camera-to-world becomes an OpenCV view (looks down -Z, +Y up)', (t) => {
  const cam = Camera.fromBlender({ c2w: lookAtC2w([0, 0, 4], [0, 0, 0]), fovx: Math.PI / 2, width: 64, height: 32 });
  t.deepEqual(cam.toCamera([0, 0, 0]).map((v) => +v.toFixed(12)), [0, 0, 4], 'the target is 4 ahead');
  t.true(Math.abs(cam.fx - 32) < 1e-12, 'fx = W / (2 tan 45°)');
  t.is(cam.fy, cam.fx);
  t.is(cam.cx, 32);
  t.is(cam.cy, 16);
  t.is(cam.tilesX, 4);
  t.is(cam.tilesY, 2);
  // World +Y (up) lands above the centre (smaller pixel y), world +X to the right.
  const up = cam.toCamera([0, 1, 0]);
  t.true((cam.fy * up[1]) / up[2] + cam.cy < cam.cy);
  const right = cam.toCamera([1, 0, 0]);
  t.true((cam.fx * right[0]) / right[2] + cam.cx > cam.cx);
  t.deepEqual(cam.position, [0, 0, 4]);
  // Row-major 16 numbers are accepted as well as 4 rows.
  const flat = Camera.fromBlender({ c2w: lookAtC2w([0, 0, 4], [0, 0, 0]).flat(), fovx: Math.PI / 2, width: 64, height: 32 });
  t.deepEqual([...flat.view], [...cam.view]);
});

test('Camera.fromBlender rejects bad input with a message naming it', (t) => {
  const c2w = lookAtC2w([0, 0, 4], [0, 0, 0]);
  const bad = c2w.map((r) => [...r]);
  bad[1]![3] = Number.NaN;
  t.throws(() => Camera.fromBlender({ c2w: bad, fovx: 1, width: 8, height: 8 }), { message: /entry \[1\]\[3\] is NaN/ });
  t.throws(() => Camera.fromBlender({ c2w: c2w.map((r) => r.map((v) => v * 2)), fovx: 1, width: 8, height: 8 }), { message: /not orthonormal/ });
  t.throws(() => Camera.fromBlender({ c2w, fovx: 0, width: 8, height: 8 }), { message: /fovx/ });
  t.throws(() => Camera.fromBlender({ c2w, fovx: 1, width: 0, height: 8 }), { message: /image size/ });
  t.throws(() => Camera.fromBlender({ c2w: [1, 2, 3], fovx: 1, width: 8, height: 8 }), { message: /16 numbers/ });
});

test('refDepthKey orders depths like their values and leaves the tile bits free', (t) => {
  const depths = [0.2, 0.2000001, 0.5, 1, 1.0001, 3, 100, 1e4];
  for (const bits of [32, 26, 20]) {
    const keys = depths.map((d) => refDepthKey(d, bits));
    for (let i = 1; i < keys.length; i++) t.true(keys[i]! >= keys[i - 1]!, `depthBits ${bits}: ${depths[i - 1]} <= ${depths[i]}`);
    t.true(keys.every((k) => k < 2 ** bits));
  }
  t.is(refDepthKey(5, 0), 0);
  t.is(refTileOfKey((7 * 2 ** 26 + 12345) >>> 0, 26), 7);
});

// --- GPU against the references ------------------------------------------------

test('random scene (300 Gaussians, SH degree 3, 72x56 with partial tiles) matches refRender', async (t) => {
  const params = randomScene(300, 1, { shDegree: 3 });
  const camera = cameraAt([0.8, 0.5, 3.5], 72, 56, 55);
  const got = await render(params, camera);
  checkForward(t, got, refRender(params, Camera.fromBlender(camera), { background: BG }));
  t.true(got.status.required > 300, 'a few tiles per splat');
  // Keys are sorted by (tile, depth) and agree with their values.
  for (let k = 1; k < got.keys.length; k++) t.true(got.keys[k]! >= got.keys[k - 1]!, 'keys ascending');
  const tiles = Array.from(got.keys, (key) => refTileOfKey(key, got.depthBits));
  t.true(tiles.every((tile, k) => got.ranges[2 * tile]! <= k && k < got.ranges[2 * tile + 1]!), 'every key inside its tile range');
});

test('rasterize alone: refRasterize on the GPU\'s own projection and sorted lists matches closely', async (t) => {
  const params = randomScene(200, 2, { shDegree: 1, logScale: [-2.5, -1] });
  const camera = cameraAt([-0.4, 0.9, 3], 48, 40);
  const got = await render(params, camera);
  const ref = refRasterize(got, got.values, got.ranges, Camera.fromBlender(camera), BG);
  close(t, got.image, ref.image, 2e-6, 1e-5, 'image');
  close(t, got.depth, ref.depth, 1e-5, 1e-5, 'depth');
  close(t, got.finalT, ref.finalT, 2e-6, 1e-5, 'final transmittance');
  t.deepEqual([...got.end], [...ref.end]);
});

test('edge cases: behind the camera, straddling the near plane, huge, sub-pixel, off-screen, zero opacity, degenerate quaternion', async (t) => {
  const p = emptyParams(8, 0);
  const set = (i: number, mean: number[], logScale: number, logit: number, quat = [1, 0, 0, 0], dc = [1, 0.5, -0.5]) => {
    p.means.set(mean, 3 * i);
    p.log_scales.set([logScale, logScale, logScale], 3 * i);
    p.quats.set(quat, 4 * i);
    p.opacity_logits[i] = logit;
    p.sh.set(dc, 3 * i);
  };
  set(0, [0, 0, 6], -1, 2); // behind the camera (at z = 4 looking down -z)
  set(1, [0.1, 0, 3.9], -1, 2); // 0.1 in front: closer than the near plane
  set(2, [0, 0, -1], 1.2, 0); // huge: covers every tile
  set(3, [0.2, 0.1, 0], -9, 3); // sub-pixel: the 0.3 px low-pass sets its size
  set(4, [30, 0, 0], -1, 3); // far off-screen to the side
  set(5, [0, 0.3, 0], -1.5, -30); // opacity ~ 1e-13: culled
  set(6, [-0.3, -0.2, 0.5], -2, 1, [0, 0, 0, 0]); // zero quaternion: identity rotation
  set(7, [0.4, -0.3, 1], -1.8, 1.5, [0.3, -0.8, 0.1, 0.5], [-3, -3, -3]); // colour clamped at 0
  const camera = cameraAt([0, 0, 4], 48, 48, 60);
  const got = await render(p, camera);
  const ref = refRender(p, Camera.fromBlender(camera), { background: BG });
  checkForward(t, got, ref);
  const radius = (i: number) => got.xyDepth[4 * i + 3]!;
  t.is(radius(0), 0, 'behind the camera: culled');
  t.is(radius(1), 0, 'in front of the near plane: culled');
  t.is(got.tilesTouched[2], 9, 'huge: all 3x3 tiles');
  t.true(radius(3) >= 1 && radius(3) <= 3, `sub-pixel radius ${radius(3)}`);
  t.is(got.tilesTouched[4], 0, 'off-screen: no tiles');
  t.is(got.tilesTouched[5], 0, 'zero opacity: no tiles');
  t.true(got.tilesTouched[6]! > 0, 'zero quaternion still renders');
  t.is(got.rgb[4 * 7 + 3], 7, 'all three channels of splat 7 clamped');
  t.deepEqual([...got.rgb.subarray(28, 31)], [0, 0, 0]);
  t.true(got.image.every(Number.isFinite));
});

test('N = 0 renders the background, and N = 1 matches the reference', async (t) => {
  const camera = cameraAt([0, 0, 3], 40, 24);
  const empty = await render(emptyParams(0, 2), camera);
  t.is(empty.status.required, 0);
  t.is(empty.keys.length, 0);
  for (let i = 0; i < 40 * 24; i++) {
    t.deepEqual([...empty.image.subarray(4 * i, 4 * i + 4)], [Math.fround(BG[0]!), Math.fround(BG[1]!), Math.fround(BG[2]!), 0]);
  }
  t.true(empty.finalT.every((v) => v === 1));
  t.true(empty.depth.every((v) => v === 0));

  const one = randomScene(1, 4, { shDegree: 2, logScale: [-1.5, -1.5], spread: 0.1 });
  const got = await render(one, camera);
  checkForward(t, got, refRender(one, Camera.fromBlender(camera), { background: BG }));
  t.true(got.tilesTouched[0]! > 0);
});

test('hundreds of splats stacked in one tile: several batches and early termination match the reference', async (t) => {
  // 600 mostly opaque splats along the ray through the centre of tile (0, 0), at distinct depths.
  const camera = cameraAt([0, 0, 4], 32, 32, 40);
  const cam = Camera.fromBlender(camera);
  const stack = randomScene(600, 5, { shDegree: 0, spread: 0.03, logScale: [-1, -0.4], logit: [1, 4] });
  for (let i = 0; i < 600; i++) {
    const d = 3 + (i * 2) / 600; // camera depth
    const ray = [(8 - cam.cx) / cam.fx, (8 - cam.cy) / cam.fy]; // OpenCV: +y down = world -y here
    stack.means.set([ray[0]! * d + stack.means[3 * i]!, -ray[1]! * d + stack.means[3 * i + 1]!, 4 - d], 3 * i);
  }
  const got = await render(stack, camera);
  const ref = refRender(stack, cam, { background: BG });
  checkForward(t, got, ref);
  const busiest = Math.max(...Array.from({ length: got.ranges.length / 2 }, (_, k) => got.ranges[2 * k + 1]! - got.ranges[2 * k]!));
  t.true(busiest > 512, `a tile holds ${busiest} splats: several batches`);
  // Pixels of tile 0 that stopped early (before the end of its range): all of them, so the tile stops too.
  const stopped = Array.from(got.finalT).filter((v, i) => v < 1e-3 && i % 32 < 16 && i < 16 * 32 && got.end[i]! < got.ranges[1]!).length;
  t.is(stopped, 256, `${stopped} pixels of tile 0 saturated`);
  t.true(got.ranges[1]! - got.ranges[0]! > 512, 'tile 0 holds them all');
});

test('depthBits: a coarser depth key still renders what refRender renders with the same key', async (t) => {
  const params = randomScene(150, 6, { shDegree: 1 });
  const camera = cameraAt([0.2, -0.3, 3], 40, 40);
  const got = await render(params, camera, { depthBits: 12 });
  t.is(got.depthBits, 12);
  checkForward(t, got, refRender(params, Camera.fromBlender(camera), { background: BG, depthBits: 12 }));
});

// --- Invariants ----------------------------------------------------------------

test('repeated renders are bitwise identical (same renderer, and a fresh one)', async (t) => {
  const params = randomScene(400, 7, { shDegree: 3 });
  const camera = cameraAt([0.6, 0.1, 3], 48, 48);
  const a = await render(params, camera, { repeat: 2 });
  const b = await render(params, camera);
  const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  t.true(bytes(a.repeats[0]!).equals(bytes(a.image)));
  t.true(bytes(a.repeats[1]!).equals(bytes(a.image)));
  t.true(bytes(b.image).equals(bytes(a.image)));
  t.true(bytes(b.depth).equals(bytes(a.depth)));
});

test('views encoded into one command encoder each see their own camera (one submit, several frames)', async (t) => {
  const params = randomScene(200, 15, { shDegree: 2 });
  const eyes: [number, number, number][] = [[0, 0, 3], [2, 1, 2], [-1.5, -0.5, 2.5]];
  const cameras = eyes.map((eye) => cameraAt(eye, 40, 32));
  const together = await render(params, cameras[0]!, { views: cameras });
  t.is(together.views.length, 3);
  for (let k = 0; k < 3; k++) {
    const alone = await render(params, cameras[k]!);
    t.true(Buffer.from(together.views[k]!.buffer).equals(Buffer.from(alone.image.buffer)), `view ${k}`);
  }
  t.false(Buffer.from(together.views[0]!.buffer).equals(Buffer.from(together.views[1]!.buffer)), 'the views differ');
});

test('off-screen, behind-camera and zero-opacity splats do not change the image (bitwise)', async (t) => {
  const base = randomScene(120, 8, { shDegree: 1 });
  const hidden = randomScene(60, 9, { shDegree: 1 });
  for (let i = 0; i < 60; i++) {
    if (i % 3 === 0) hidden.means.set([40 + i, 0, 0], 3 * i); // off-screen
    if (i % 3 === 1) hidden.means.set([0, 0, 8 + i], 3 * i); // behind the camera
    if (i % 3 === 2) hidden.opacity_logits[i] = -40; // invisible
  }
  // Interleave so that the visible splats' indices shift.
  const mixed = emptyParams(180, 1);
  for (let i = 0; i < 180; i++) {
    const [src, j] = i % 3 === 1 ? [hidden, (i - 1) / 3] : [base, i - Math.ceil(i / 3)];
    for (const g of ['means', 'log_scales', 'quats', 'opacity_logits', 'sh'] as const) {
      const w = src[g].length / src.count;
      mixed[g].set(src[g].subarray(j * w, j * w + w), i * w);
    }
  }
  const camera = cameraAt([0, 0.2, 4], 40, 40);
  const a = await render(base, camera);
  const b = await render(mixed, camera);
  t.true(Buffer.from(a.image.buffer).equals(Buffer.from(b.image.buffer)), `max diff ${maxAbsDiff(a.image, b.image).max}`);
  t.true(Buffer.from(a.depth.buffer).equals(Buffer.from(b.depth.buffer)));
  const c = await render(concatScenes(base, hidden), camera);
  t.true(Buffer.from(a.image.buffer).equals(Buffer.from(c.image.buffer)));
});

test('the GPU sort gives exactly the frame the CPU sort gives', async (t) => {
  const params = randomScene(250, 10, { shDegree: 2 });
  const camera = cameraAt([-0.5, 0.4, 3], 48, 32);
  const gpu = await render(params, camera);
  const cpu = await render(params, camera, { cpuSort: true });
  t.deepEqual([...gpu.values], [...cpu.values]);
  t.deepEqual([...gpu.ranges], [...cpu.ranges]);
  t.true(Buffer.from(gpu.image.buffer).equals(Buffer.from(cpu.image.buffer)));
});

// --- Intersection capacity -------------------------------------------------------

test('intersection overflow: reported through the status, buffers grown, the frame rendered again identically', async (t) => {
  const params = randomScene(200, 11, { shDegree: 0, logScale: [-2, -1] });
  const camera = cameraAt([0, 0, 3], 64, 64);
  const roomy = await render(params, camera);
  const needed = roomy.status.required;
  t.true(needed > 300);
  const grown = await render(params, camera, { intersectCapacity: 64 });
  // The first attempt overflowed; the report is the second one's.
  t.is(grown.report.attempts, 2);
  t.false(grown.report.overflowed);
  t.is(grown.report.required, needed);
  t.true(grown.intersectCapacity >= needed);
  t.true(Buffer.from(grown.image.buffer).equals(Buffer.from(roomy.image.buffer)));

  // Without the re-render (what a training frame sees before it syncs): bounded, finite, flagged.
  const over = await render(params, camera, { intersectCapacity: 64, noResync: true });
  t.deepEqual(over.status, { count: 64, required: needed, overflow: 1 });
  t.true(over.report.overflowed);
  t.true(over.image.every(Number.isFinite));
  t.true(maxAbsDiff(over.image, roomy.image).max > 0, 'some splats are missing');
});

// --- Validation ----------------------------------------------------------------

test('NaN / Inf parameters are refused before any GPU work, naming the group and row', async (t) => {
  const camera = cameraAt([0, 0, 3], 16, 16);
  const cases: [keyof GaussianParams & string, number, number, RegExp][] = [
    ['means', 3 * 2 + 1, Number.NaN, /'means' row 2 holds NaN/],
    ['log_scales', 0, Number.POSITIVE_INFINITY, /'log_scales' row 0 holds Infinity/],
    ['quats', 4 * 3 + 2, Number.NEGATIVE_INFINITY, /'quats' row 3 holds -Infinity/],
    ['opacity_logits', 4, Number.NaN, /'opacity_logits' row 4 holds NaN/],
    ['sh', 3 * 4 * 1 + 5, Number.NaN, /'sh' row 1 holds NaN/],
  ];
  for (const [group, index, value, message] of cases) {
    const params = randomScene(5, 12, { shDegree: 1 });
    (params[group] as Float32Array)[index] = value;
    await t.throwsAsync(render(params, camera), { instanceOf: PageJobError, message });
  }
  // As a Float64Array: NaN in a plain array would cross the page boundary as JSON null.
  const bad = cameraAt([0, 0, 3], 16, 16);
  bad.c2w = Float64Array.from((bad.c2w as number[][]).flat());
  (bad.c2w as Float64Array)[0] = Number.NaN;
  await t.throwsAsync(render(randomScene(2, 13), bad), { instanceOf: PageJobError, message: /camera c2w: entry \[0\]\[0\] is NaN/ });
  const short = randomScene(4, 14);
  short.means = short.means.subarray(0, 9);
  await t.throwsAsync(render(short, camera), { instanceOf: PageJobError, message: /'means' has 9 floats, expected 4 x 3/ });
});
