// The bar: `dg4d datasets make --scene all --res 64` writes every built-in
// scene in every layout, the loaders read each back, and each scene's rendered
// alpha matches its ground-truth mesh silhouette.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadDataset } from '../datasets/dataset.ts';
import { readPng } from '../datasets/formats/png.ts';
import { sceneNames } from '../datasets/scenes/index.ts';
import { parseObj, rasterSilhouette, silhouetteIou } from './helpers/silhouette.ts';

const run = promisify(execFile);
const DG4D = join(import.meta.dirname, '..', 'harness', 'cli', 'dg4d.mjs');
const RES = 64;
const out = mkdtempSync(join(tmpdir(), 'dg4d-make-all-'));
let made: { code: number; stderr: string } = { code: -1, stderr: '' };

test.before(async () => {
  try {
    const r = await run(process.execPath, [DG4D, 'datasets', 'make', '--scene', 'all', '--res', String(RES), '--out', out, '--quiet'], { timeout: 170_000 });
    made = { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    made = { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? String(err) };
  }
});
test.after.always(() => rmSync(out, { recursive: true, force: true }));

test('at least five built-in scenes', (t) => {
  t.true(sceneNames().length >= 5);
});

for (const name of sceneNames()) {
  test(`${name}: every layout written, loads back, and alpha matches the mesh silhouette`, async (t) => {
    t.is(made.code, 0, made.stderr);
    const dir = join(out, name);
    const ds = await loadDataset(dir);
    t.true(ds.dnerf.train!.frames.length >= 100);
    t.true(ds.dnerf.val!.frames.length > 0 && ds.dnerf.test!.frames.length > 0);
    t.is(ds.c4d!.input.frames.length, 32);
    t.is(ds.c4d!.eval.frames.length, 4 * 32);
    t.is(readdirSync(join(dir, 'meshes')).filter((f) => f.endsWith('.obj')).length, 32);
    t.true(existsSync(join(dir, 'image2video', 'image.png')));
    t.is(readdirSync(join(dir, 'image2video', 'frames')).filter((f) => f.endsWith('.png')).length, 32);
    const input = ds.c4d!.input;
    for (const i of [0, 16]) {
      const frame = input.frames[i]!;
      const img = await readPng(frame.file);
      t.is(img.width, RES);
      const obj = parseObj(readFileSync(join(dir, 'meshes', `frame_${String(i).padStart(3, '0')}.obj`), 'utf8'));
      const { iou, area, ties } = silhouetteIou(img, rasterSilhouette(obj.v, obj.f, frame.c2w, input.fovx, RES));
      t.true(area > 50, `${name} frame ${i}: silhouette area ${area}`);
      t.true(ties <= Math.max(4, 0.01 * area), `${name} frame ${i}: ${ties} edge ties`);
      t.true(iou >= 0.98, `${name} frame ${i}: IoU ${iou.toFixed(4)}`);
    }
  });
}
