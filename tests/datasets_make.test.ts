// `dg4d datasets make` / `preview` (datasets/make.ts, datasets/cache.ts) on a scene
// of the test's own (a spinning, bobbing textured box), at 64² on SwiftShader:
// the folder loads back with loadDataset, counts and times, the OBJ frames parse,
// the rendered alpha of input frames matches the OBJ silhouette rasterised on the
// CPU with the same camera, the contact sheet's size, and the cache's reuse and
// regeneration of an incomplete folder.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BrowserSession } from '../harness/browser/session.ts';
import type { MeshData, TextureData } from '../harness/gt/mesh.ts';
import { parseObj, rasterSilhouette, silhouetteIou } from './helpers/silhouette.ts';
import { COMPLETE_MARKER, ensureTinyScene } from '../datasets/cache.ts';
import { loadDataset } from '../datasets/dataset.ts';
import { readPng } from '../datasets/formats/png.ts';
import { CAMERA_ANGLE_X, makeScene, previewScene, PREVIEW_AZIMUTHS, PREVIEW_TIMES } from '../datasets/make.ts';
import type { Scene, SceneFactory } from '../datasets/scenes/scene.ts';

const RES = 64;
const SEED = 7;

/** A tilted box (half sizes 0.7, 0.5, 0.4) spinning about Y and bobbing; a checker texture. */
const spinningBox: SceneFactory = (seed) => {
  const texture: TextureData = { width: 8, height: 8, rgba: new Uint8Array(8 * 8 * 4) };
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
    const o = 4 * (y * 8 + x);
    const on = (x + y + seed) % 2 === 0;
    texture.rgba.set(on ? [230, 80, 40, 255] : [40, 120, 220, 255], o);
  }
  const half = [0.7, 0.5, 0.4];
  // A fixed tilt so silhouette edges do not line up with pixel rows.
  const tx = 0.35, tz = 0.2;
  const tilt = (p: number[]) => {
    const y1 = Math.cos(tx) * p[1]! - Math.sin(tx) * p[2]!, z1 = Math.sin(tx) * p[1]! + Math.cos(tx) * p[2]!;
    return [Math.cos(tz) * p[0]! - Math.sin(tz) * y1, Math.sin(tz) * p[0]! + Math.cos(tz) * y1, z1];
  };
  const scene: Scene = {
    name: 'testbox',
    motion: 'rigid',
    description: 'a textured box spinning about +Y while bobbing',
    frame(t) {
      const a = 2 * Math.PI * t;
      const c = Math.cos(a), s = Math.sin(a), dy = 0.05 * Math.sin(a);
      const rot = (q: number[]) => {
        const p = tilt(q);
        return [c * p[0]! + s * p[2]!, p[1]! + dy, -s * p[0]! + c * p[2]!];
      };
      const positions: number[] = [], normals: number[] = [], uvs: number[] = [], indices: number[] = [];
      for (let axis = 0; axis < 3; axis++) for (const sign of [1, -1]) {
        const n = [0, 0, 0];
        n[axis] = sign;
        const u = (axis + 1) % 3, v = (axis + 2) % 3;
        const base = positions.length / 3;
        for (const [su, sv] of [[-1, -1], [1, -1], [1, 1], [-1, 1]] as const) {
          const p = [0, 0, 0];
          p[axis] = sign * half[axis]!;
          p[u] = su * sign * half[u]!;
          p[v] = sv * half[v]!;
          positions.push(...rot(p));
          const rn = rot(n);
          normals.push(rn[0]!, rn[1]! - dy, rn[2]!);
          uvs.push((su + 1) / 2, (sv + 1) / 2);
        }
        indices.push(base, base + 1, base + 2, base, base + 2, base + 3);
      }
      const mesh: MeshData = { positions: new Float32Array(positions), normals: new Float32Array(normals), uvs: new Float32Array(uvs), indices: new Uint32Array(indices) };
      return { mesh, texture };
    },
  };
  return scene;
};

let session: BrowserSession;
const tmp = mkdtempSync(join(tmpdir(), 'dg4d-make-test-'));
let dir = '';

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
  const summary = await makeScene(session, spinningBox(SEED), { res: RES, out: tmp, seed: SEED });
  dir = summary.dir;
});

test.after.always(async () => {
  await session?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('the written folder loads back: counts, times, sizes, file paths, image-to-4D pair', async (t) => {
  t.is(dir, join(tmp, 'testbox'));
  const ds = await loadDataset(dir);
  const train = ds.dnerf.train!, val = ds.dnerf.val!, test_ = ds.dnerf.test!;
  t.true(train.frames.length >= 100);
  train.frames.forEach((f, i) => t.true(Math.abs(f.time - i / (train.frames.length - 1)) < 1e-12));
  t.true(val.frames.length >= 10 && test_.frames.length >= 10);
  t.is(ds.c4d!.input.frames.length, 32);
  t.is(ds.c4d!.eval.frames.length, 4 * 32);
  for (const split of [train, val, test_, ds.c4d!.input, ds.c4d!.eval]) {
    t.is(split.width, RES);
    t.is(split.height, RES);
    t.true(Math.abs(split.fovx - CAMERA_ANGLE_X) < 1e-12);
    for (const f of split.frames) t.true(f.time >= 0 && f.time <= 1);
  }
  t.is(train.frames[0]!.filePath, './train/r_000');
  // Front camera: azimuth 0, elevation 0 on +Z looking at the origin.
  const c2w = ds.c4d!.input.frames[0]!.c2w;
  t.deepEqual([c2w[3], c2w[7]].map((v) => Math.abs(v!) < 1e-9), [true, true]);
  t.true(c2w[11]! > 2);
  // Train cameras: radius in [2.5, 3], elevation in [-30, 30] degrees, looking at the origin.
  for (const f of train.frames) {
    const p = [f.c2w[3]!, f.c2w[7]!, f.c2w[11]!];
    const r = Math.hypot(...p);
    t.true(r >= 2.5 - 1e-9 && r <= 3 + 1e-9);
    t.true(Math.abs(Math.asin(p[1]! / r)) <= (30 * Math.PI) / 180 + 1e-9);
    const back = [f.c2w[2]!, f.c2w[6]!, f.c2w[10]!];
    t.true(Math.abs(back[0]! * p[0]! + back[1]! * p[1]! + back[2]! * p[2]! - r) < 1e-6);
  }
  const img = await readPng(join(dir, 'image2video', 'image.png'));
  t.is(img.width, RES);
  t.deepEqual(readFileSync(join(dir, 'image2video', 'image.png')), readFileSync(join(dir, 'input', 'r_000.png')));
  t.is(readdirSync(join(dir, 'image2video', 'frames')).filter((f) => f.endsWith('.png')).length, 32);
});

test('OBJ frames parse, indices in range; mtl and texture present', (t) => {
  const files = readdirSync(join(dir, 'meshes')).filter((f) => f.endsWith('.obj')).sort();
  t.is(files.length, 32);
  t.is(files[0], 'frame_000.obj');
  for (const file of files) {
    const obj = parseObj(readFileSync(join(dir, 'meshes', file), 'utf8'));
    t.is(obj.v.length, 24);
    t.is(obj.vt.length, 24);
    t.is(obj.vn.length, 24);
    t.is(obj.f.length, 12);
    for (const face of obj.f) {
      t.is(face.length, 3);
      for (const [a, b, c] of face) t.true(a! >= 1 && a! <= obj.v.length && b! >= 1 && b! <= obj.vt.length && c! >= 1 && c! <= obj.vn.length);
    }
    for (const p of obj.v) t.true(p.every(Number.isFinite) && Math.hypot(...p) <= 1);
  }
  t.regex(readFileSync(join(dir, 'meshes', 'scene.mtl'), 'utf8'), /map_Kd texture\.png/);
  t.true(existsSync(join(dir, 'meshes', 'texture.png')));
});

test('rendered alpha of input frames matches the OBJ silhouette (IoU >= 0.98)', async (t) => {
  const ds = await loadDataset(dir);
  const input = ds.c4d!.input;
  for (const i of [0, 9, 20]) {
    const obj = parseObj(readFileSync(join(dir, 'meshes', `frame_${String(i).padStart(3, '0')}.obj`), 'utf8'));
    const { iou, area } = silhouetteIou(await readPng(input.frames[i]!.file), rasterSilhouette(obj.v, obj.f, input.frames[i]!.c2w, input.fovx, RES));
    t.true(area > 200, `frame ${i}: silhouette area ${area}`);
    t.true(iou >= 0.98, `frame ${i}: IoU ${iou}`);
  }
});

test('preview writes a contact sheet of views x times on white', async (t) => {
  const file = join(tmp, 'preview.png');
  const size = await previewScene(session, spinningBox(SEED), { res: 32, out: file });
  const img = await readPng(file);
  t.deepEqual([img.width, img.height], [32 * PREVIEW_TIMES.length, 32 * PREVIEW_AZIMUTHS.length]);
  t.deepEqual(size, { width: img.width, height: img.height });
  t.is(img.rgba[3], 1);
  t.deepEqual(Array.from(img.rgba.subarray(0, 3)), [1, 1, 1]); // a corner is background
});

test('ensureTinyScene reuses a complete folder and regenerates an incomplete one', async (t) => {
  const root = join(tmp, 'cache');
  const small = { root, res: 16, seed: 3, factory: spinningBox, session };
  const d1 = await ensureTinyScene('testbox', small);
  const marker = join(d1, COMPLETE_MARKER);
  t.true(existsSync(marker));
  const probe = join(d1, 'train', 'r_000.png');
  const m1 = statSync(probe).mtimeMs;
  const mk1 = statSync(marker).mtimeMs;
  const d2 = await ensureTinyScene('testbox', small);
  t.is(d2, d1);
  t.is(statSync(probe).mtimeMs, m1);
  t.is(statSync(marker).mtimeMs, mk1);
  // An interrupted write: no marker, a stale file → regenerated from scratch.
  unlinkSync(marker);
  unlinkSync(join(d1, 'transforms_test.json'));
  await new Promise((r) => setTimeout(r, 20));
  const d3 = await ensureTinyScene('testbox', small);
  t.is(d3, d1);
  t.true(existsSync(marker));
  t.true(statSync(probe).mtimeMs > m1);
  await t.notThrowsAsync(loadDataset(d3));
  // Two callers at once (parallel test files): one folder wins, both get it whole.
  const both = { ...small, root: join(tmp, 'cache-race') };
  const [a, b] = await Promise.all([ensureTinyScene('testbox', both), ensureTinyScene('testbox', both)]);
  t.is(a, b);
  t.true(existsSync(join(a, COMPLETE_MARKER)));
  await t.notThrowsAsync(loadDataset(a));
  t.deepEqual(readdirSync(join(tmp, 'cache-race')), [basename(a)], 'no staging folder left behind');
});

const DG4D = join(import.meta.dirname, '..', 'harness', 'cli', 'dg4d.mjs');
async function dg4d(args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, [DG4D, ...args], { timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('dg4d datasets: --help exits 0; usage errors exit 2 naming the option', async (t) => {
  const help = await dg4d(['datasets', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /usage: dg4d datasets make/);
  t.regex(help.stdout, /dg4d datasets preview --scene NAME/);
  const cases: [string[], RegExp][] = [
    [['datasets'], /missing subcommand/],
    [['datasets', 'frobnicate'], /unknown subcommand 'frobnicate'/],
    [['datasets', 'make', '--res', 'big'], /--res must be an integer/],
    [['datasets', 'make', '--seed', '-1'], /--seed/],
    [['datasets', 'make', '--scene', 'no-such-scene'], /--scene: unknown scene 'no-such-scene'/],
    [['datasets', 'preview'], /--scene is required/],
    [['datasets', 'make', '--bogus'], /bogus/],
  ];
  for (const [args, re] of cases) {
    const r = await dg4d(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
  }
});
