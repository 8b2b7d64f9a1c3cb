// Host side of `dg4d datasets make` / `preview`: renders a procedural scene
// (datasets/scenes/) through the ground-truth mesh renderer page job `gtRender`
// and writes one scene folder that loadDataset() reads back:
//   transforms_{train,val,test}.json + train/ val/ test/   (D-NeRF: a monocular camera
//       teleporting to a seeded random view at each time step)
//   transforms_{input,eval}.json + input/ eval/             (Consistent4D: front video,
//       azimuths -75, 15, 105, 195 at elevation 0, every input time)
//   meshes/frame_NNN.obj + scene.mtl + texture.png          (ground truth, one per input frame)
//   image2video/image.png + image2video/frames/frame_NNN.png (image-to-4D pair)
// Cameras are Blender / OpenGL camera-to-world matrices (look-at, +Y up, +Z backwards).
import { seededRandom } from '../harness/pipeline/rng.ts';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GpuSession } from '../harness/browser/session_types.ts';
import type { GtRenderJobResult } from '../harness/page/gt_job.ts';
import type { MeshData, TextureData } from '../harness/gt/mesh.ts';
import { writeFileAtomic, writeJsonAtomic } from '../harness/report/atomic.ts';
import { composite, writePng } from './formats/png.ts';
import type { Scene, SceneFactory } from './scenes/scene.ts';

/** Horizontal field of view: 49.1 degrees (the D-NeRF / Blender default lens). */
export const CAMERA_ANGLE_X = (49.1 * Math.PI) / 180;
export const TRAIN_FRAMES = 100;
export const VAL_FRAMES = 10;
export const TEST_FRAMES = 20;
export const INPUT_FRAMES = 32;
export const EVAL_AZIMUTHS = [-75, 15, 105, 195] as const;
/** Front (Consistent4D) camera distance; D-NeRF radii are drawn from [2.5, 3]. */
export const FRONT_RADIUS = 2.75;

export interface MakeOptions {
  res: number;
  /** Parent folder: the scene is written to out/<scene.name>/. */
  out: string;
  seed: number;
  log?: (line: string) => void;
}

export interface MakeSummary {
  dir: string;
  scene: string;
  renders: number;
  wallMs: number;
}

export interface ViewSpec {
  time: number;
  c2w: number[][];
}

/** Camera-to-world looking at the origin from (azimuth, elevation) in degrees; azimuth 0 is +Z (front). */
export function orbitC2w(azimuthDeg: number, elevationDeg: number, radius: number): number[][] {
  const az = (azimuthDeg * Math.PI) / 180;
  const el = (elevationDeg * Math.PI) / 180;
  const eye = [radius * Math.cos(el) * Math.sin(az), radius * Math.sin(el), radius * Math.cos(el) * Math.cos(az)];
  const back = eye.map((v) => v / radius); // +Z of the camera points away from the target
  const up = [0, 1, 0];
  const cross = (a: number[], b: number[]) => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
  const r0 = cross(up, back);
  const rl = Math.hypot(...r0);
  const right = r0.map((v) => v / rl);
  const camUp = cross(back, right);
  const m = [0, 1, 2].map((i) => [right[i]!, camUp[i]!, back[i]!, eye[i]!]);
  m.push([0, 0, 0, 1]);
  // Exact zeros instead of -0 / 1e-17 noise in the JSON.
  return m.map((row) => row.map((v) => (Math.abs(v) < 1e-12 ? 0 : v)));
}

/** Every camera of a scene folder, deterministic from the seed. */
export function sceneViews(seed: number): Record<'train' | 'val' | 'test' | 'input' | 'eval', ViewSpec[]> {
  const rand = seededRandom(seed ^ 0x9e3779b9);
  const randomView = (time: number): ViewSpec => {
    const az = rand() * 360;
    const el = -30 + rand() * 60;
    const radius = 2.5 + rand() * 0.5;
    return { time, c2w: orbitC2w(az, el, radius) };
  };
  const train = Array.from({ length: TRAIN_FRAMES }, (_, i) => randomView(i / (TRAIN_FRAMES - 1)));
  const val = Array.from({ length: VAL_FRAMES }, () => randomView(rand()));
  const test = Array.from({ length: TEST_FRAMES }, () => randomView(rand()));
  const inputTimes = Array.from({ length: INPUT_FRAMES }, (_, i) => i / (INPUT_FRAMES - 1));
  const input = inputTimes.map((time) => ({ time, c2w: orbitC2w(0, 0, FRONT_RADIUS) }));
  const evals = EVAL_AZIMUTHS.flatMap((az) => inputTimes.map((time) => ({ time, c2w: orbitC2w(az, 0, FRONT_RADIUS) })));
  return { train, val, test, input, eval: evals };
}

/** Renders one view of a mesh: [H,W,4] straight-alpha RGBA. */
export async function renderView(session: GpuSession, mesh: MeshData, texture: TextureData, c2w: number[][], res: number): Promise<Float32Array> {
  const r = await session.run<GtRenderJobResult>('gtRender', { mesh, texture, camera: { c2w, fovx: CAMERA_ANGLE_X, width: res, height: res } });
  return r.image;
}

const pad3 = (i: number) => String(i).padStart(3, '0');

/** Wavefront OBJ with positions, UVs and normals; faces v/vt/vn (1-based). */
export function meshToObj(mesh: MeshData, mtl: string, material = 'albedo'): string {
  const lines: string[] = [`# dg4d procedural scene frame`, `mtllib ${mtl}`, `o mesh`];
  const f = (v: number) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(6).replace(/\.?0+$/, ''));
  const P = mesh.positions, N = mesh.normals, T = mesh.uvs;
  for (let i = 0; i < P.length; i += 3) lines.push(`v ${f(P[i]!)} ${f(P[i + 1]!)} ${f(P[i + 2]!)}`);
  for (let i = 0; i < T.length; i += 2) lines.push(`vt ${f(T[i]!)} ${f(T[i + 1]!)}`);
  for (let i = 0; i < N.length; i += 3) lines.push(`vn ${f(N[i]!)} ${f(N[i + 1]!)} ${f(N[i + 2]!)}`);
  lines.push(`usemtl ${material}`, 's 1');
  const I = mesh.indices;
  for (let i = 0; i < I.length; i += 3) {
    const [a, b, c] = [I[i]! + 1, I[i + 1]! + 1, I[i + 2]! + 1];
    lines.push(`f ${a}/${a}/${a} ${b}/${b}/${b} ${c}/${c}/${c}`);
  }
  return lines.join('\n') + '\n';
}

function textureImage(tex: TextureData) {
  const rgba = new Float32Array(tex.rgba.length);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i & 3) === 3 ? 1 : tex.rgba[i]! / 255;
  return { width: tex.width, height: tex.height, rgba };
}

function checkRes(res: number) {
  if (!Number.isInteger(res) || res < 8 || res > 4096) throw new Error(`resolution must be an integer in [8, 4096], got ${res}`);
}

/** Writes one scene folder into `dir` (made if missing; files in it are replaced). */
export async function writeSceneFolder(session: GpuSession, scene: Scene, dir: string, opts: { res: number; seed: number; log?: (line: string) => void }): Promise<MakeSummary> {
  checkRes(opts.res);
  const start = performance.now();
  const { res } = opts;
  const log = opts.log ?? (() => {});
  const views = sceneViews(opts.seed);
  const texture = scene.frame(0).texture;
  const frameCache = new Map<number, MeshData>();
  const meshAt = (t: number): MeshData => {
    let m = frameCache.get(t);
    if (!m) {
      m = scene.frame(t).mesh;
      if (frameCache.size > 256) frameCache.clear();
      frameCache.set(t, m);
    }
    return m;
  };
  let renders = 0;
  const pending: Promise<void>[] = [];
  const image = (rgba: Float32Array) => ({ width: res, height: res, rgba });

  for (const sub of ['train', 'val', 'test', 'input', 'eval', 'meshes', 'image2video/frames']) await mkdir(join(dir, sub), { recursive: true });

  const splits: ['train' | 'val' | 'test' | 'input' | 'eval', string][] = [
    ['train', 'D-NeRF train'],
    ['val', 'D-NeRF val'],
    ['test', 'D-NeRF test'],
    ['input', 'Consistent4D input (front video)'],
    ['eval', 'Consistent4D eval'],
  ];
  for (const [split, label] of splits) {
    const frames: { file_path: string; time: number; transform_matrix: number[][] }[] = [];
    const list = views[split];
    for (const [i, v] of list.entries()) {
      const rgba = await renderView(session, meshAt(v.time), texture, v.c2w, res);
      renders++;
      const name = `r_${pad3(i)}`;
      pending.push(writePng(join(dir, split, `${name}.png`), image(rgba)));
      if (split === 'input') {
        pending.push(writePng(join(dir, 'image2video', 'frames', `frame_${pad3(i)}.png`), image(rgba)));
        if (i === 0) pending.push(writePng(join(dir, 'image2video', 'image.png'), image(rgba)));
      }
      frames.push({ file_path: `./${split}/${name}`, time: v.time, transform_matrix: v.c2w });
    }
    await Promise.all(pending.splice(0));
    await writeJsonAtomic(join(dir, `transforms_${split}.json`), { camera_angle_x: CAMERA_ANGLE_X, frames });
    log(`  ${scene.name}: ${label}: ${list.length} views`);
  }

  // Ground-truth surfaces at the input times.
  await writePng(join(dir, 'meshes', 'texture.png'), textureImage(texture));
  await writeFileAtomic(join(dir, 'meshes', 'scene.mtl'), `# dg4d procedural scene\nnewmtl albedo\nKa 0 0 0\nKd 1 1 1\nKs 0 0 0\nillum 1\nmap_Kd texture.png\n`);
  for (const [i, v] of views.input.entries()) await writeFileAtomic(join(dir, 'meshes', `frame_${pad3(i)}.obj`), meshToObj(meshAt(v.time), 'scene.mtl'));
  log(`  ${scene.name}: meshes: ${views.input.length} OBJ frames`);
  return { dir, scene: scene.name, renders, wallMs: performance.now() - start };
}

/** `dg4d datasets make` for one scene: writes out/<scene.name>/. */
export function makeScene(session: GpuSession, scene: Scene, opts: MakeOptions): Promise<MakeSummary> {
  return writeSceneFolder(session, scene, join(opts.out, scene.name), opts);
}

export const PREVIEW_AZIMUTHS = [0, 90, 180, 270] as const;
export const PREVIEW_TIMES = [0, 0.25, 0.5, 0.75, 1] as const;

/** Contact sheet: rows = views (azimuths 0, 90, 180, 270 at elevation 15), columns = times; on white. */
export async function previewScene(session: GpuSession, scene: Scene, opts: { res: number; out: string }): Promise<{ width: number; height: number }> {
  checkRes(opts.res);
  const { res } = opts;
  const cols = PREVIEW_TIMES.length;
  const rows = PREVIEW_AZIMUTHS.length;
  const width = cols * res;
  const height = rows * res;
  const sheet = new Float32Array(width * height * 4);
  for (const [c, t] of PREVIEW_TIMES.entries()) {
    const { mesh, texture } = scene.frame(t);
    for (const [r, az] of PREVIEW_AZIMUTHS.entries()) {
      const img = composite(await renderView(session, mesh, texture, orbitC2w(az, 15, FRONT_RADIUS), res), 'white');
      for (let y = 0; y < res; y++) sheet.set(img.subarray(y * res * 4, (y + 1) * res * 4), ((r * res + y) * width + c * res) * 4);
    }
  }
  await writePng(opts.out, { width, height, rgba: sheet });
  return { width, height };
}

/** The scene registry (datasets/scenes/index.ts), or {} while it does not exist yet. */
export async function loadSceneRegistry(): Promise<Record<string, SceneFactory>> {
  const spec = new URL('./scenes/index.ts', import.meta.url).href;
  try {
    const mod = (await import(spec)) as { SCENES?: Record<string, SceneFactory> };
    return mod.SCENES ?? {};
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ENOENT') return {};
    throw err;
  }
}

/** Removes a directory tree (used by the cache for an incomplete folder). */
export const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });
