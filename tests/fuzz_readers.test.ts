// Fuzzing the file readers (issue 8, part 1): PLY, PNG, OBJ, transforms JSON
// (with its images) and run summaries (run.json + CSVs, baseline files), each
// fed truncated, oversized and corrupted (seeded byte flips) versions of a
// valid file. Pass: every read returns or throws an error whose message names
// the file (and the field, where the reader has fields); none hangs. Reads run
// in a worker thread that is terminated when one passes READ_BOUND_MS, so a
// hang fails the test naming the case instead of stalling the suite.
import test, { type ExecutionContext } from 'ava';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { deflateSync } from 'node:zlib';
import { encodePng } from '../datasets/formats/png.ts';
import { writeCsv } from '../harness/report/csv.ts';
import { KERNEL_COLUMNS, METRIC_COLUMNS, STAGE_COLUMNS } from '../harness/runner/outputs.ts';
import type { GaussianParams } from '../harness/splat/model.ts';
import { writePly } from '../harness/splat/ply.ts';
import type { FuzzReader } from './helpers/fuzz_worker.ts';
import { mulberry32 } from './helpers/random.ts';

/** A hang guard, not a speed target: the slowest case here takes well under a second. */
const READ_BOUND_MS = 30_000;
const FLIP_CASES = 40;
const TRUNCATIONS = 16;

let tmp: string;
let worker: Worker | null = null;
let nextId = 0;
const waiting = new Map<number, (r: ReadResult) => void>();

interface ReadResult {
  ok: boolean;
  error?: { name: string; message: string };
}

function startWorker(): Worker {
  // The worker registers tsx itself (execArgv --import does not reach workers on Node 20).
  const api = import.meta.resolve('tsx/esm/api');
  const file = new URL('./helpers/fuzz_worker.ts', import.meta.url).href;
  const w = new Worker(`import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(file)}); });`, { eval: true });
  w.on('message', (m: ReadResult & { id: number }) => waiting.get(m.id)?.(m));
  w.unref();
  return w;
}

/** Reads `path` with `reader` in the worker; a read past READ_BOUND_MS terminates the worker and counts as a hang. */
function readInWorker(reader: FuzzReader, path: string): Promise<ReadResult | 'hang'> {
  worker ??= startWorker();
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      void worker?.terminate();
      worker = null;
      resolve('hang');
    }, READ_BOUND_MS);
    waiting.set(id, (r) => {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(r);
    });
    worker!.postMessage({ id, reader, path });
  });
}

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'dg4d-fuzz-'));
});
test.after.always(async () => {
  await worker?.terminate();
  await rm(tmp, { recursive: true, force: true });
});

/** Seeded corruptions of `bytes`: 1 to 8 bytes set to random values at random places. */
function flips(bytes: Uint8Array, seed: number, count = FLIP_CASES): { name: string; bytes: Uint8Array }[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, (_, c) => {
    const out = bytes.slice();
    const n = 1 + (next() % 8);
    for (let k = 0; k < n; k++) out[next() % out.length] = next() & 255;
    return { name: `flip#${c}`, bytes: out };
  });
}

/** Prefixes of `bytes`: empty, one byte, and seeded cut points. */
function truncations(bytes: Uint8Array, seed: number): { name: string; bytes: Uint8Array }[] {
  const next = mulberry32(seed);
  const cuts = [0, 1, ...Array.from({ length: TRUNCATIONS }, () => next() % bytes.length), bytes.length - 1];
  return cuts.map((n) => ({ name: `truncated@${n}`, bytes: bytes.subarray(0, n) }));
}

interface Expect {
  /** Text every error message must contain besides the file name (the field), when the case fixes it. */
  field?: RegExp;
  /** Whether the read must fail (oversized and truncated files); otherwise success is allowed too. */
  mustFail?: boolean;
}

/** Checks one read: no hang; an error names the file (its full path, or its base name inside a message that names the folder). */
async function check(t: ExecutionContext, reader: FuzzReader, path: string, label: string, named: string, e: Expect = {}) {
  const r = await readInWorker(reader, path);
  if (r === 'hang') return t.fail(`${label}: no answer within ${READ_BOUND_MS} ms (hang)`);
  if (r.ok) return t.false(Boolean(e.mustFail), `${label}: read succeeded but must fail`);
  const msg = r.error!.message;
  t.true(msg.includes(named), `${label}: the error does not name ${named}: ${r.error!.name}: ${msg}`);
  if (e.field) t.regex(msg, e.field, `${label}: the error does not name the field`);
  t.false(/^(TypeError|RangeError|ReferenceError)$/.test(r.error!.name), `${label}: a programming error escaped: ${r.error!.name}: ${msg}`);
}

async function fuzzFiles(t: ExecutionContext, reader: FuzzReader, dir: string, ext: string, cases: { name: string; bytes: Uint8Array }[], e: (name: string) => Expect = () => ({})) {
  await mkdir(dir, { recursive: true });
  for (const [i, c] of cases.entries()) {
    const path = join(dir, `case${i}${ext}`);
    await writeFile(path, c.bytes);
    await check(t, reader, path, `${reader} ${c.name}`, path, e(c.name));
  }
}

function params(count: number, shDegree: number, seed: number): GaussianParams {
  const next = mulberry32(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => next() / 2 ** 32 - 0.5);
  return { count, shDegree, means: r(3 * count), log_scales: r(3 * count), quats: r(4 * count), opacity_logits: r(count), sh: r(3 * (shDegree + 1) ** 2 * count) };
}

const PLY_FIELD = /(ply|format|end_header|element|property|f_rest|vertex|x|y|z|scale_|rot_|opacity|f_dc_|f_rest_)/;

test('PLY: truncated, corrupted and oversized files fail with the file and the field, never hang', async (t) => {
  const good = writePly(params(12, 1, 7));
  const text = new TextDecoder('latin1').decode(good);
  const headerEnd = text.indexOf('end_header\n') + 'end_header\n'.length;
  const header = text.slice(0, headerEnd);
  const body = good.subarray(headerEnd);
  const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  const withHeader = (h: string, b = body) => Uint8Array.from([...latin1(h), ...b]);
  const oversized = [
    { name: 'vertex count 2^31', bytes: withHeader(header.replace('element vertex 12', 'element vertex 2147483648')) },
    { name: 'vertex count 2^53-1', bytes: withHeader(header.replace('element vertex 12', 'element vertex 9007199254740991')) },
    { name: 'vertex count 2^64', bytes: withHeader(header.replace('element vertex 12', 'element vertex 18446744073709551616')) },
    { name: 'an element of 2^40 faces before the vertices', bytes: withHeader(header.replace('element vertex 12', 'element face 1099511627776\nproperty float q\nelement vertex 12')) },
    { name: 'a 2 MiB header without end_header', bytes: latin1('ply\nformat binary_little_endian 1.0\n' + 'comment x\n'.repeat(200_000)) },
    { name: '10^5 properties', bytes: withHeader(header.replace('end_header\n', Array.from({ length: 100_000 }, (_, i) => `property float extra${i}\n`).join('') + 'end_header\n')) },
  ];
  await fuzzFiles(t, 'ply', join(tmp, 'ply-over'), '.ply', oversized, () => ({ mustFail: true, field: PLY_FIELD }));
  await fuzzFiles(t, 'ply', join(tmp, 'ply-trunc'), '.ply', truncations(good, 11), () => ({ mustFail: true, field: PLY_FIELD }));
  await fuzzFiles(t, 'ply', join(tmp, 'ply-flip'), '.ply', flips(good, 12), () => ({ field: PLY_FIELD }));
  // Corruption inside the header alone (where flips change the structure, not just values).
  const headerFlips = flips(latin1(header), 13).map((c) => ({ name: `header ${c.name}`, bytes: withHeader(new TextDecoder('latin1').decode(c.bytes)) }));
  await fuzzFiles(t, 'ply', join(tmp, 'ply-hflip'), '.ply', headerFlips, () => ({ field: PLY_FIELD }));
  const missing = join(tmp, 'ply-none', 'absent.ply');
  await check(t, 'ply', missing, 'ply missing file', missing, { mustFail: true, field: /file/ });
});

// --- PNG -----------------------------------------------------------------------

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(Uint8Array.from(type, (ch) => ch.charCodeAt(0)), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A structurally valid PNG (correct CRCs) whose header claims width × height RGBA8 pixels, with `rows` bytes of image data. */
function claimedPng(width: number, height: number, rows: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array(0))];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

function smallImage(w: number, h: number, seed: number) {
  const next = mulberry32(seed);
  return { width: w, height: h, rgba: Float32Array.from({ length: w * h * 4 }, () => (next() % 256) / 255) };
}

test('PNG: truncated, corrupted and oversized files fail with the file named, never hang', async (t) => {
  const good8 = new Uint8Array(encodePng(smallImage(9, 7, 21)));
  const good16 = new Uint8Array(encodePng(smallImage(5, 4, 22), { bitDepth: 16 }));
  const oversized = [
    { name: '100000 x 100000', bytes: claimedPng(100_000, 100_000, new Uint8Array(64)) },
    { name: '2^31-1 x 1', bytes: claimedPng(2 ** 31 - 1, 1, new Uint8Array(64)) },
    { name: '1 x 2^31-1', bytes: claimedPng(1, 2 ** 31 - 1, new Uint8Array(64)) },
    { name: '65536 x 65536 with a 64 MiB zero stream', bytes: claimedPng(65_536, 65_536, new Uint8Array(64 << 20)) },
    { name: '0 x 0', bytes: claimedPng(0, 0, new Uint8Array(0)) },
  ];
  await fuzzFiles(t, 'png', join(tmp, 'png-over'), '.png', oversized, () => ({ mustFail: true, field: /width|height|size|IHDR|pixels/ }));
  await fuzzFiles(t, 'png', join(tmp, 'png-trunc8'), '.png', truncations(good8, 23), () => ({ mustFail: true }));
  await fuzzFiles(t, 'png', join(tmp, 'png-flip8'), '.png', flips(good8, 24));
  await fuzzFiles(t, 'png', join(tmp, 'png-flip16'), '.png', flips(good16, 25, 20));
});

// --- OBJ -----------------------------------------------------------------------

const OBJ = `# a cube with texture coordinates and normals
mtllib frame_000.mtl
o frame_000
v -1 -1 -1
v 1 -1 -1
v 1 1 -1
v -1 1 -1
v -1 -1 1
v 1 -1 1
v 1 1 1
v -1 1 1
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 -1
vn 0 0 1
usemtl material0
f 1/1/1 2/2/1 3/3/1 4/4/1
f 5/1/2 6/2/2 7/3/2
f 5/1/2 7/3/2 8/4/2
f 1//1 5//1 8//1 4//1
f -8 -7 -3
`;

test('OBJ: truncated, corrupted and oversized files fail with the file and line, never hang', async (t) => {
  const good = new TextEncoder().encode(OBJ);
  const oversized = [
    { name: 'vertex index 2^31', bytes: new TextEncoder().encode(OBJ + 'f 1 2 2147483648\n') },
    { name: 'vertex index 10^400', bytes: new TextEncoder().encode(OBJ + `f 1 2 1${'0'.repeat(400)}\n`) },
    { name: 'negative index past the start', bytes: new TextEncoder().encode(OBJ + 'f -1 -2 -2147483648\n') },
    { name: 'a number of 10^6 digits', bytes: new TextEncoder().encode(`v 1${'0'.repeat(1_000_000)} 0 0\n`) },
  ];
  await fuzzFiles(t, 'obj', join(tmp, 'obj-over'), '.obj', oversized, () => ({ mustFail: true, field: /:\d+: / }));
  await fuzzFiles(t, 'obj', join(tmp, 'obj-trunc'), '.obj', truncations(good, 31), () => ({ field: /:\d+: / }));
  await fuzzFiles(t, 'obj', join(tmp, 'obj-flip'), '.obj', flips(good, 32), () => ({ field: /:\d+: / }));
  const missing = join(tmp, 'obj-none', 'absent.obj');
  await check(t, 'obj', missing, 'obj missing file', missing, { mustFail: true });
});

// --- transforms JSON (+ its images) ------------------------------------------------

const transformsJson = (paths: string[]) =>
  JSON.stringify(
    {
      camera_angle_x: 0.69,
      frames: paths.map((p, i) => ({ file_path: p, time: i / Math.max(1, paths.length - 1), transform_matrix: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]] })),
    },
    null,
    1,
  );

test('transforms JSON: truncated, corrupted and oversized files (and images) fail with the JSON file and field, never hang', async (t) => {
  const dir = join(tmp, 'scene');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'r_0.png'), encodePng(smallImage(6, 5, 41)));
  await writeFile(join(dir, 'r_1.png'), encodePng(smallImage(6, 5, 42)));
  const good = new TextEncoder().encode(transformsJson(['./r_0', './r_1.png']));
  const cases = [...truncations(good, 43), ...flips(good, 44)];
  // The JSON cases live beside the images so that their file_path entries resolve.
  for (const [i, c] of cases.entries()) {
    const path = join(dir, `transforms_case${i}.json`);
    await writeFile(path, c.bytes);
    await check(t, 'transforms', path, `transforms ${c.name}`, path, c.name.startsWith('truncated') ? { mustFail: true } : {});
  }
  // Oversized or broken images behind a valid JSON: the error names the JSON file and the frame's field.
  const images: [string, Uint8Array][] = [
    ['100000 x 100000', claimedPng(100_000, 100_000, new Uint8Array(64))],
    ['truncated PNG', new Uint8Array(encodePng(smallImage(6, 5, 45))).subarray(0, 40)],
    ['corrupted PNG data', flips(new Uint8Array(encodePng(smallImage(6, 5, 46))), 47, 1)[0]!.bytes.map((b, k, a) => (k > 40 && k < a.length - 12 ? b ^ 0x5a : b))],
  ];
  for (const [i, [name, bytes]] of images.entries()) {
    await writeFile(join(dir, `bad${i}.png`), bytes);
    const path = join(dir, `transforms_bad${i}.json`);
    await writeFile(path, transformsJson(['./r_0.png', `./bad${i}.png`]));
    await check(t, 'transforms', path, `transforms image ${name}`, path, { mustFail: true, field: /frames\[1\]\.file_path/ });
  }
});

// --- run summaries: run.json + CSVs, and baseline files --------------------------------

async function runDir(dir: string) {
  await mkdir(dir, { recursive: true });
  const tag = { scene: 'walker', task: 'video-to-4d' };
  const run = { runId: 'r1', command: 'run', kind: 'video-to-4d', status: 'complete', startedAt: '2026-01-01T00:00:00.000Z', preset: 'tiny', seed: 1, prior: 'oracle', config: {}, environment: { adapter: { vendor: 'v', architecture: 'a', description: 'd', isFallbackAdapter: true }, tool: { version: '0', commit: 'c' } } };
  await writeFile(join(dir, 'run.json'), JSON.stringify(run, null, 2));
  await writeCsv(join(dir, 'metrics.csv'), [0, 1].map((i) => ({ ...tag, method: 'static', prior: 'oracle', preset: 'tiny', set: 'eval', view: `v${i}`, time: i, psnr: 20 + i, ssim: 0.9 })), METRIC_COLUMNS);
  await writeCsv(join(dir, 'stages.csv'), [{ ...tag, stage: 'static', method: 'all', prior: 'oracle', preset: 'tiny', iterations: 3, wall_ms: 10, train_ms: 9, iters_per_s: 1, samples_per_iter: '', gaussians: 5, field_parameters: '' }], STAGE_COLUMNS);
  await writeCsv(join(dir, 'kernels.csv'), [{ ...tag, stage: 'static', method: 'all', kernel: 'rasterize', samples: 3, median_ms: 1, p90_ms: 1, total_ms: 3, timing: 'timestamp' }], KERNEL_COLUMNS);
}

test('run.json, the run CSVs and baseline files: corrupted or truncated, each error names the file, never hangs', async (t) => {
  const base = join(tmp, 'run-good');
  await runDir(base);
  const ok = await readInWorker('summary', base);
  t.true(ok !== "hang" && ok.ok, `the unmodified run directory reads: ${JSON.stringify(ok)}`);
  for (const file of ['run.json', 'metrics.csv', 'stages.csv']) {
    const good = new Uint8Array(await readFile(join(base, file)));
    const cases = [...truncations(good, 51 + file.length), ...flips(good, 61 + file.length, 20)];
    for (const [i, c] of cases.entries()) {
      const dir = join(tmp, `run-${basename(file, '.json')}-${i}`);
      await runDir(dir);
      await writeFile(join(dir, file), c.bytes);
      // The message names the run directory or the file in it.
      await check(t, 'summary', dir, `${file} ${c.name}`, dir);
    }
  }
  const baseline = join(import.meta.dirname, '..', 'reports', 'baselines', 'tiny.json');
  const good = new Uint8Array(await readFile(baseline));
  const bdir = join(tmp, 'baselines');
  await mkdir(bdir, { recursive: true });
  await copyFile(baseline, join(bdir, 'good.json'));
  const okBase = await readInWorker('summary', join(bdir, 'good.json'));
  t.true(okBase !== 'hang' && okBase.ok, `the committed baseline reads: ${JSON.stringify(okBase)}`);
  await fuzzFiles(t, 'summary', bdir, '.json', [...truncations(good, 71), ...flips(good, 72)]);
});
