// Texture bake (wgsl/bake.wgsl, wgsl/bake_raster.wgsl) in real headless Chromium:
// the back-projection, normalisation and dilation kernels against refBake,
// refBakeNormalize and refBakeDilate on a tiny random case; and the whole bake of a
// UV sphere from Gaussians painted with a known colour field (the texture must
// hold that field where the mesh is, so UV orientation, cameras and visibility
// agree end to end); the bake view layout; the WGSL constant mirrors.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrowserSession } from '../harness/browser/session.ts';
import type { MeshData } from '../harness/gt/mesh.ts';
import { BAKE_MIN_ALPHA, BAKE_MIN_WEIGHT, bakeCameras, DG4D_BAKE_VIEWS, refBake, refBakeDilate, refBakeNormalize, type RefBakeView } from '../harness/mesh/bake_ref.ts';
import { bakeViewParams } from '../harness/mesh/bake_ref.ts';
import type { BakeJobResult, BakeKernelsJobResult } from '../harness/page/mesh_job.ts';
import { emptyParams, uniform } from './helpers/splat_scenes.ts';

let session: BrowserSession;
test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 180_000 });
});
test.after.always(async () => {
  await session?.close();
});

function close(t: import('ava').ExecutionContext, got: Float32Array, want: Float64Array, atol: number, rtol: number, what: string) {
  t.is(got.length, want.length, what);
  let bad = 0;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!);
    worst = Math.max(worst, e);
    if (e > atol + rtol * Math.abs(want[i]!)) bad++;
  }
  t.is(bad, 0, `${what}: worst ${worst}`);
}

test('bake, bake_normalize and bake_dilate match their references on random texels and views', async (t) => {
  const T = 16;
  const rnd = uniform(7);
  // Texels on a bumpy patch facing +z; about a fifth uncovered.
  const texelPos = new Float32Array(T * T * 4);
  const texelNrm = new Float32Array(T * T * 4);
  for (let k = 0; k < T * T; k++) {
    if (rnd() < 0.2) continue;
    texelPos.set([rnd() - 0.5, rnd() - 0.5, 0.2 * (rnd() - 0.5), 1], 4 * k);
    const n = [rnd() - 0.5, rnd() - 0.5, 1.2];
    const l = Math.hypot(...n);
    texelNrm.set([n[0]! / l, n[1]! / l, n[2]! / l, 1], 4 * k);
  }
  const cameras = bakeCameras([0, 0, 0], 0.8, 16, { azimuths: 4, elevations: [20], poles: true }).slice(0, 3);
  const views = cameras.map((camera) => {
    const W = camera.width;
    const H = camera.height;
    const render = new Float32Array(W * H * 4);
    const meshView = new Float32Array(W * H * 4);
    const params = bakeViewParams(camera);
    const centreDepth = -(params.view[11]!);
    for (let p = 0; p < W * H; p++) {
      const a = rnd();
      render.set([a * rnd(), a * rnd(), a * rnd(), a], 4 * p);
      // Depth around the patch's: some texels pass, some are occluded; a few pixels uncovered.
      meshView.set([rnd(), rnd(), centreDepth + 0.3 * (rnd() - 0.5), rnd() < 0.1 ? 0 : 1], 4 * p);
    }
    return { camera, render, meshView };
  });
  const options = { minCos: 0.5, depthTolPx: 2 };
  const r = await session.run<BakeKernelsJobResult>('bakeKernels', { size: T, texelPos, texelNrm, views, options, dilate: 3 } as never);
  const refViews: RefBakeView[] = views.map((v) => ({ params: bakeViewParams(v.camera), render: v.render, meshView: v.meshView }));
  const acc = refBake(texelPos, texelNrm, refViews, options);
  close(t, r.accum, acc, 1e-5, 1e-4, 'accum');
  const seen = Array.from({ length: T * T }, (_, k) => acc[4 * k + 3]! >= BAKE_MIN_WEIGHT).filter(Boolean).length;
  t.true(seen > 20 && seen < 0.8 * T * T, `${seen} texels seen`);
  const norm = refBakeNormalize(acc);
  close(t, r.normalized, norm, 1e-4, 1e-4, 'normalized');
  close(t, r.dilated, refBakeDilate(norm, T, 3), 1e-4, 1e-4, 'dilated');
});

/** A UV sphere: lat-long grid with a duplicated seam column; u = longitude, v = latitude (v up). */
function uvSphere(radius: number, rings: number, segments: number): MeshData {
  const pos: number[] = [];
  const nrm: number[] = [];
  const uv: number[] = [];
  for (let i = 0; i <= rings; i++) {
    const th = (Math.PI * i) / rings; // 0 at the top
    for (let j = 0; j <= segments; j++) {
      const ph = (2 * Math.PI * j) / segments;
      const n = [Math.sin(th) * Math.sin(ph), Math.cos(th), Math.sin(th) * Math.cos(ph)];
      pos.push(...n.map((x) => radius * x));
      nrm.push(...n);
      uv.push(0.02 + (0.96 * j) / segments, 0.98 - (0.96 * i) / rings);
    }
  }
  const idx: number[] = [];
  const at = (i: number, j: number) => i * (segments + 1) + j;
  for (let i = 0; i < rings; i++) {
    for (let j = 0; j < segments; j++) {
      idx.push(at(i, j), at(i + 1, j), at(i + 1, j + 1));
      idx.push(at(i, j), at(i + 1, j + 1), at(i, j + 1));
    }
  }
  return { positions: new Float32Array(pos), normals: new Float32Array(nrm), uvs: new Float32Array(uv), indices: new Uint32Array(idx) };
}

/** The colour field painted on the sphere: a smooth function of the direction. */
const field = (d: number[]) => [0.5 + 0.35 * d[0]!, 0.5 + 0.35 * d[1]!, 0.5 - 0.35 * d[2]!];

test('bake of a UV sphere from Gaussians painted with a colour field recovers the field', async (t) => {
  const R = 0.5;
  const N = 2500;
  const params = emptyParams(N, 0);
  const golden = Math.PI * (3 - Math.sqrt(5));
  const SH_C0 = 0.28209479177387814;
  for (let i = 0; i < N; i++) {
    const y = 1 - (2 * (i + 0.5)) / N;
    const r = Math.sqrt(1 - y * y);
    const d = [r * Math.cos(golden * i), y, r * Math.sin(golden * i)];
    params.means.set(d.map((x) => R * x), 3 * i);
    // Flat discs tangent to the sphere: thin along the normal.
    const s = Math.log(0.03);
    params.log_scales.set([s, s, Math.log(0.004)], 3 * i);
    // Rotate local z to the normal d: quaternion from (0,0,1) to d.
    const w = 1 + d[2]!;
    const q = w < 1e-6 ? [0, 1, 0, 0] : [w, -d[1]!, d[0]!, 0];
    const ql = Math.hypot(...q);
    params.quats.set(q.map((x) => x / ql), 4 * i);
    params.opacity_logits[i] = 4;
    params.sh.set(field(d).map((c) => (c - 0.5) / SH_C0), 3 * i);
  }
  const mesh = uvSphere(R, 24, 48);
  const T = 64;
  const views = bakeCameras([0, 0, 0], R, 64);
  t.is(views.length, 26);
  const r = await session.run<BakeJobResult>('bake', { params, mesh, views, config: { textureSize: T, dilate: 4, minCos: 0.5, depthTolPx: 2 }, debug: true } as never);
  let covered = 0;
  let filled = 0;
  let err = 0;
  let onSphere = 0;
  for (let k = 0; k < T * T; k++) {
    if (r.texelPos![4 * k + 3] === 0) continue;
    covered++;
    const p = [0, 1, 2].map((c) => r.texelPos![4 * k + c]!);
    const len = Math.hypot(...p);
    if (Math.abs(len - R) < 0.01) onSphere++;
    if (r.texture[4 * k + 3] === 0) continue;
    filled++;
    const want = field(p.map((x) => x / len));
    err += Math.abs(r.texture[4 * k]! - want[0]!) + Math.abs(r.texture[4 * k + 1]! - want[1]!) + Math.abs(r.texture[4 * k + 2]! - want[2]!);
  }
  const mae = err / (3 * filled);
  t.log(`covered texels ${covered}, filled ${filled}, mean abs colour error ${mae.toFixed(4)}`);
  // The atlas covers [0.02, 0.98]² of the texture.
  t.true(covered > 0.85 * T * T, `${covered} covered`);
  t.is(onSphere, covered, 'texel map points lie on the sphere');
  t.is(filled, covered, 'every covered texel is filled (seen, or dilated)');
  t.true(mae < 0.04, `mean abs error ${mae}`);
  // The mesh view of views[0] (azimuth 0, front): covered in the middle, depth = camera distance − R there.
  const W = views[0]!.width;
  const mid = 4 * ((W / 2) * W + W / 2);
  const dist = (1.1 * R) / Math.sin((49.1 * Math.PI) / 360);
  t.is(r.meshView![mid + 3], 1);
  t.true(Math.abs(r.meshView![mid + 2]! - (dist - R)) < 0.01, `depth ${r.meshView![mid + 2]}`);
});

test('bake views: DG4D layout is 26 cameras looking at the centre', (t) => {
  const cams = bakeCameras([0.1, 0, 0], 0.9, 32, DG4D_BAKE_VIEWS);
  t.is(cams.length, 26);
  for (const c of cams) {
    const p = bakeViewParams(c);
    // The centre projects to the image centre.
    const z = p.view[8]! * 0.1 + p.view[11]!;
    const x = p.view[0]! * 0.1 + p.view[3]!;
    t.true(Math.abs(x) < 1e-9 && z < 0);
  }
});

test('MIN_WEIGHT and MIN_ALPHA in wgsl/bake.wgsl match bake_ref.ts', (t) => {
  const src = readFileSync(join(import.meta.dirname, '..', 'wgsl', 'bake.wgsl'), 'utf8');
  t.regex(src, /const MIN_WEIGHT: f32 = 1e-3;/);
  t.is(BAKE_MIN_WEIGHT, 1e-3);
  t.regex(src, /const MIN_ALPHA: f32 = 0\.2;/);
  t.is(BAKE_MIN_ALPHA, 0.2);
});
