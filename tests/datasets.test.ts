// Dataset loaders (datasets/formats/*) and validation (datasets/validate.ts): small
// scenes written to a temp dir here, read back and compared; one test per kind of
// bad input, each asserting that the message names the file and the field.
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { loadDataset } from '../datasets/dataset.ts';
import { readConsistent4D } from '../datasets/formats/c4d.ts';
import { loadImages, readDnerf, readDnerfSplit } from '../datasets/formats/dnerf.ts';
import { naturalCompare, readImageAndFrames } from '../datasets/formats/frames.ts';
import { composite, decodePng, readPng, writePng, type RgbaImage } from '../datasets/formats/png.ts';
import { DatasetError, jsonErrorPosition } from '../datasets/validate.ts';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dg4d-datasets-test-'));
});
test.after.always(() => rm(root, { recursive: true, force: true }));
let seq = 0;
const newDir = async () => {
  const d = join(root, `d${seq++}`);
  await mkdir(d, { recursive: true });
  return d;
};

/** Deterministic test image with distinct values per pixel and channel; alpha varies. */
function image(width: number, height: number, levels = 255): RgbaImage {
  const rgba = new Float32Array(width * height * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = ((i * 37 + 11) % (levels + 1)) / levels;
  return { width, height, rgba };
}

const EYE = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 4],
  [0, 0, 0, 1],
];
/** Rotation about y by angle a, camera 4 units out. */
function orbit(a: number): number[][] {
  const c = Math.cos(a), s = Math.sin(a);
  return [
    [c, 0, s, 4 * s],
    [0, 1, 0, 0],
    [-s, 0, c, 4 * c],
    [0, 0, 0, 1],
  ];
}

interface FrameSpec { file_path: unknown; time?: unknown; transform_matrix?: unknown }
async function writeSplit(dir: string, name: string, frames: FrameSpec[], extra: Record<string, unknown> = { camera_angle_x: 0.69 }) {
  await writeFile(join(dir, `transforms_${name}.json`), JSON.stringify({ ...extra, frames }, null, 2));
}
/** A split of n frames with images sub/r_i.png (w x h), file_path without extension. */
async function goodSplit(dir: string, name: string, n = 3, w = 4, h = 3, times?: number[]) {
  await mkdir(join(dir, name), { recursive: true });
  const frames: FrameSpec[] = [];
  for (let i = 0; i < n; i++) {
    await writePng(join(dir, name, `r_${i}.png`), image(w, h));
    frames.push({ file_path: `./${name}/r_${i}`, time: times?.[i] ?? (n === 1 ? 0 : i / (n - 1)), transform_matrix: orbit(i * 0.3) });
  }
  await writeSplit(dir, name, frames);
  return frames;
}

/** Asserts a DatasetError whose message names the file and the field. */
async function rejects(t: import('ava').ExecutionContext, p: Promise<unknown>, file: string, field: string, detail?: RegExp) {
  const err = await t.throwsAsync(p, { instanceOf: DatasetError });
  if (!err) return;
  const e = err as DatasetError;
  t.true(e.file.endsWith(file), `file ${e.file} should end with ${file}`);
  t.is(e.field, field);
  t.true(e.message.includes(file), e.message);
  if (field) t.true(e.message.includes(`${field}:`), e.message);
  if (detail) t.regex(e.message, detail);
}

// ---------------------------------------------------------------- PNG

for (const depth of [8, 16] as const) {
  for (const channels of ['rgba', 'rgb', 'grey', 'greya'] as const) {
    test(`png round trip ${depth}-bit ${channels}`, async (t) => {
      const max = depth === 16 ? 65535 : 255;
      const img = image(5, 3, max);
      const p = join(await newDir(), `img.png`);
      await writePng(p, img, { bitDepth: depth, channels });
      const back = await readPng(p);
      t.is(back.width, 5);
      t.is(back.height, 3);
      t.is(back.info.depth, depth);
      t.is(back.rgba.length, 5 * 3 * 4);
      const hasAlpha = channels === 'rgba' || channels === 'greya';
      const grey = channels === 'grey' || channels === 'greya';
      for (let i = 0; i < 15; i++) {
        for (let c = 0; c < 4; c++) {
          const want = c === 3 ? (hasAlpha ? img.rgba[4 * i + 3]! : 1) : grey ? img.rgba[4 * i]! : img.rgba[4 * i + c]!;
          const got = back.rgba[4 * i + c]!;
          if (Math.abs(got - want) > 1e-6) return t.fail(`pixel ${i} channel ${c}: ${got} != ${want}`);
        }
      }
      t.pass();
    });
  }
}

test('16-bit PNG keeps 16-bit precision (not rescaled to 8 bits)', async (t) => {
  const img: RgbaImage = { width: 2, height: 1, rgba: new Float32Array([1 / 65535, 0.5, 65534 / 65535, 1, 0, 0, 0, 0.25]) };
  const p = join(await newDir(), 'a.png');
  await writePng(p, img, { bitDepth: 16 });
  const back = await readPng(p);
  t.is(Math.round(back.rgba[0]! * 65535), 1);
  t.is(Math.round(back.rgba[2]! * 65535), 65534);
  t.is(Math.round(back.rgba[7]! * 65535), Math.round(0.25 * 65535));
});

// A palette PNG and a 4-bit grey PNG built by hand (pngjs writes neither).
const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  let c = 0xffffffff;
  for (const b of body) c = CRC[(c ^ b) & 255]! ^ (c >>> 8);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0, body.length + 4);
  return out;
}
function rawPng(w: number, h: number, depth: number, colorType: number, rows: number[][], extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.from([0, ...r])));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array())]);
}

test('palette PNG with tRNS decodes to RGBA', (t) => {
  const plte = chunk('PLTE', Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]));
  const trns = chunk('tRNS', Uint8Array.from([255, 128, 0]));
  const img = decodePng(rawPng(3, 1, 8, 3, [[0, 1, 2]], [plte, trns]));
  t.is(img.info.colorType, 3);
  t.deepEqual(Array.from(img.rgba, (v) => Math.round(v * 255)), [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0]);
});

test('4-bit grey PNG scales by 15', (t) => {
  const img = decodePng(rawPng(2, 1, 4, 0, [[0xf5]]));
  t.deepEqual(Array.from(img.rgba), [1, 1, 1, 1, 5 / 15, 5 / 15, 5 / 15, 1].map(Math.fround));
});

test('composite over white, black and a colour', (t) => {
  const px = new Float32Array([1, 0, 0, 0.25, 0, 0, 1, 0]);
  const near = (a: Float32Array, b: number[]) => t.deepEqual(Array.from(a, (v) => +v.toFixed(5)), b);
  near(composite(px, 'white'), [1, 0.75, 0.75, 1, 1, 1, 1, 1]);
  near(composite(px, 'black'), [0.25, 0, 0, 1, 0, 0, 0, 1]);
  near(composite(px, [0, 0.5, 0]), [0.25, 0.375, 0, 1, 0, 0.5, 0, 1]);
});

// ---------------------------------------------------------------- loaders

test('D-NeRF splits load: paths with and without extension, times, matrices, size, images', async (t) => {
  const dir = await newDir();
  const train = await goodSplit(dir, 'train', 3, 4, 3);
  await goodSplit(dir, 'val', 1, 4, 3);
  // test split: explicit '.png' in file_path and a path without './'
  await mkdir(join(dir, 'test'));
  await writePng(join(dir, 'test', 'a.png'), image(6, 2), { bitDepth: 16, channels: 'rgb' });
  await writeSplit(dir, 'test', [{ file_path: 'test/a.png', time: 0.5, transform_matrix: EYE.flat() }]);
  const s = await readDnerf(dir);
  t.is(s.train!.split, 'train');
  t.is(s.train!.fovx, 0.69);
  t.is(s.train!.width, 4);
  t.is(s.train!.height, 3);
  t.deepEqual(s.train!.frames.map((f) => f.time), [0, 0.5, 1]);
  t.deepEqual(s.train!.frames.map((f) => f.filePath), train.map((f) => f.file_path));
  t.true(s.train!.frames[2]!.file.endsWith(join('train', 'r_2.png')));
  t.deepEqual(s.train!.frames[1]!.c2w, orbit(0.3).flat());
  t.is(s.test!.width, 6);
  t.deepEqual(s.test!.frames[0]!.c2w, EYE.flat());
  const imgs = await loadImages(s.train!);
  t.is(imgs.length, 3);
  const want = image(4, 3).rgba;
  t.true(imgs[0]!.rgba.every((v, i) => Math.abs(v - want[i]!) < 1e-6));
  const test16 = await loadImages(s.test!);
  t.true(test16[0]!.rgba.every((v, i) => (i % 4 === 3 ? v === 1 : Math.abs(v - image(6, 2).rgba[i]!) <= 0.5 / 65535 + 1e-7)));
});

test('Consistent4D input + eval load; loadDataset reads every split present', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'input', 2);
  await goodSplit(dir, 'eval', 4, 4, 3, [0, 1, 0, 1]);
  await goodSplit(dir, 'train', 2);
  const c = await readConsistent4D(dir);
  t.is(c.input.frames.length, 2);
  t.is(c.eval.frames.length, 4);
  const all = await loadDataset(dir);
  t.deepEqual(Object.keys(all.dnerf), ['train']);
  t.is(all.c4d?.eval.split, 'eval');
});

test('frames folder sorts naturally and spreads times over [0,1]', async (t) => {
  t.true(naturalCompare('frame_2.png', 'frame_10.png') < 0);
  const dir = await newDir();
  await mkdir(join(dir, 'video'));
  for (const n of ['frame_10', 'frame_2', 'frame_1', 'frame_0']) await writePng(join(dir, 'video', `${n}.png`), image(3, 2));
  await writeFile(join(dir, 'video', 'notes.txt'), 'ignored');
  await writePng(join(dir, 'ref.png'), image(3, 2));
  const v = await readImageAndFrames(join(dir, 'ref.png'), join(dir, 'video'));
  t.deepEqual(v.frames.map((f) => f.file.slice(-12)), ['frame_0.png', 'frame_1.png', 'frame_2.png', 'frame_10.png'].map((s) => s.padStart(12, '/').slice(-12)));
  t.deepEqual(v.frames.map((f) => f.time), [0, 1 / 3, 2 / 3, 1]);
  t.is(v.width, 3);
  await writePng(join(dir, 'video', 'frame_11.png'), image(2, 2));
  await rejects(t, readImageAndFrames(join(dir, 'ref.png'), join(dir, 'video')), 'video', 'frames/frame_11.png', /2x2/);
});

// ---------------------------------------------------------------- validation errors

test('missing transforms file', async (t) => {
  await rejects(t, readDnerfSplit(await newDir(), 'train'), 'transforms_train.json', '', /missing/);
});

test('unreadable transforms file', async (t) => {
  const dir = await newDir();
  await mkdir(join(dir, 'transforms_train.json')); // a folder: EISDIR
  await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', '', /unreadable/);
});

test('bad JSON names the line, column and position', async (t) => {
  const dir = await newDir();
  await writeFile(join(dir, 'transforms_train.json'), '{\n  "camera_angle_x": 0.6,\n  "frames": [}\n}');
  await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', '', /bad JSON at line 3 column 14 \(position 40\)/);
  t.is(jsonErrorPosition('[1, 2'), 5);
  t.is(jsonErrorPosition('{"a": tru}'), 6);
});

test('missing image', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'train');
  await rm(join(dir, 'train', 'r_1.png'));
  await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', 'frames[1].file_path', /r_1\.png is missing/);
});

test('image that is not a PNG', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'train');
  await writeFile(join(dir, 'train', 'r_2.png'), 'not a png at all, just text');
  await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', 'frames[2].file_path', /not a PNG/);
});

test('images of one split with different sizes', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'train');
  await writePng(join(dir, 'train', 'r_2.png'), image(5, 3));
  await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', 'frames[2].file_path', /5x3.*4x3/);
});

const badMatrices: [string, unknown, RegExp][] = [
  ['NaN', [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 'NaN'], [0, 0, 0, 1]], /row 2 is not finite/],
  ['null (JSON of NaN)', [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, null], [0, 0, 0, 1]], /row 2 is not finite/],
  ['scaled rotation', [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], /not orthonormal/],
  ['reflection', [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], /determinant/],
  ['last row', [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], /last row/],
  ['3 rows', [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], /4x4/],
  ['missing', undefined, /4x4/],
];
for (const [name, m, detail] of badMatrices) {
  test(`camera matrix: ${name}`, async (t) => {
    const dir = await newDir();
    const frames = await goodSplit(dir, 'train');
    frames[1]!.transform_matrix = m;
    await writeSplit(dir, 'train', frames);
    await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', 'frames[1].transform_matrix', detail);
  });
}

for (const [name, time, detail] of [['missing', undefined, /missing/], ['above 1', 1.5, /outside \[0,1\]/], ['negative', -0.1, /outside/], ['a string', '0.5', /outside/]] as const) {
  test(`time ${name}`, async (t) => {
    const dir = await newDir();
    const frames = await goodSplit(dir, 'val');
    frames[2]!.time = time;
    await writeSplit(dir, 'val', frames);
    await rejects(t, readDnerfSplit(dir, 'val'), 'transforms_val.json', 'frames[2].time', detail);
  });
}

test('empty frame list', async (t) => {
  const dir = await newDir();
  await writeSplit(dir, 'test', []);
  await rejects(t, readDnerfSplit(dir, 'test'), 'transforms_test.json', 'frames', /empty/);
});

test('frames missing', async (t) => {
  const dir = await newDir();
  await writeFile(join(dir, 'transforms_test.json'), '{"camera_angle_x": 0.5}');
  await rejects(t, readDnerfSplit(dir, 'test'), 'transforms_test.json', 'frames', /missing/);
});

for (const [name, fov, detail] of [['missing', undefined, /missing/], ['zero', 0, /not in \(0, π\)/], ['π', Math.PI, /not in/], ['a string', 'wide', /not in/]] as const) {
  test(`camera_angle_x ${name}`, async (t) => {
    const dir = await newDir();
    const frames = await goodSplit(dir, 'train');
    await writeSplit(dir, 'train', frames, fov === undefined ? {} : { camera_angle_x: fov });
    await rejects(t, readDnerfSplit(dir, 'train'), 'transforms_train.json', 'camera_angle_x', detail);
  });
}

test('Consistent4D: eval frame counts that do not match input', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'input', 3); // times 0, 0.5, 1
  await goodSplit(dir, 'eval', 5, 4, 3, [0, 0.5, 1, 0, 0.5]);
  await rejects(t, readConsistent4D(dir), 'transforms_eval.json', 'frames', /5 frames do not match the 3 input frames/);
});

test('Consistent4D: eval frame at a time the input does not have', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'input', 2); // times 0, 1
  await goodSplit(dir, 'eval', 2, 4, 3, [0, 0.5]);
  await rejects(t, readConsistent4D(dir), 'transforms_eval.json', 'frames[1].time', /0\.5 is not a time of .*transforms_input\.json/);
});

test('Consistent4D: eval missing beside input', async (t) => {
  const dir = await newDir();
  await goodSplit(dir, 'input', 2);
  await rejects(t, loadDataset(dir), 'transforms_eval.json', '', /missing/);
});
