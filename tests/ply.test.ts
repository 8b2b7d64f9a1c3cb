// The 3DGS PLY (harness/splat/ply.ts): bit-exact round trips for SH degrees 0..3,
// the header exactly as 3DGS's save_ply writes it, lenient import of files written
// by other tools, and errors that name the file and the field.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GaussianParams, ParamGroup } from '../harness/splat/model.ts';
import { PlyError, plyHeader, plyPropertyNames, readPly, readPlyFile, writePly, writePlyFile } from '../harness/splat/ply.ts';
import { mulberry32 } from './helpers/random.ts';

const GROUPS: ParamGroup[] = ['means', 'log_scales', 'quats', 'opacity_logits', 'sh'];
const width = (g: ParamGroup, deg: number) => (g === 'sh' ? 3 * (deg + 1) ** 2 : g === 'quats' ? 4 : g === 'opacity_logits' ? 1 : 3);

/** Random parameters whose floats use every bit pattern class a round trip could lose: signs, -0, tiny and huge magnitudes. */
function randomParams(count: number, shDegree: number, seed: number): GaussianParams {
  const next = mulberry32(seed);
  const p = { count, shDegree } as GaussianParams;
  for (const g of GROUPS) {
    p[g] = Float32Array.from({ length: count * width(g, shDegree) }, () => {
      const r = next();
      const mag = 10 ** (((r >>> 8) % 60) - 30);
      return (r & 1 ? -1 : 1) * mag * (next() / 2 ** 32);
    });
  }
  if (count > 0) {
    p.means[0] = -0;
    p.sh[0] = 1.401298464324817e-45; // smallest subnormal
    p.log_scales[0] = 3.4028234663852886e38;
  }
  return p;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

for (const deg of [0, 1, 2, 3]) {
  test(`round trip is bit-exact for SH degree ${deg}`, (t) => {
    const p = randomParams(37, deg, 100 + deg);
    const bytes = writePly(p);
    const q = readPly(bytes, `deg${deg}.ply`);
    t.is(q.count, 37);
    t.is(q.shDegree, deg);
    for (const g of GROUPS) t.true(sameBits(q[g], p[g]), g);
    const k = (deg + 1) ** 2;
    t.is(bytes.length, plyHeader(37, deg).length + 37 * (17 + 3 * (k - 1)) * 4);
  });
}

test('an empty model round-trips', (t) => {
  const q = readPly(writePly(randomParams(0, 1, 1)), 'empty.ply');
  t.is(q.count, 0);
  t.is(q.shDegree, 1);
});

test('header and property order are exactly those of 3DGS save_ply', (t) => {
  const text = new TextDecoder().decode(writePly(randomParams(2, 1, 5))).split('end_header\n')[0] + 'end_header\n';
  const rest = Array.from({ length: 9 }, (_, i) => `property float f_rest_${i}\n`).join('');
  t.is(
    text,
    'ply\nformat binary_little_endian 1.0\nelement vertex 2\n' +
      'property float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\n' +
      'property float f_dc_0\nproperty float f_dc_1\nproperty float f_dc_2\n' +
      rest +
      'property float opacity\nproperty float scale_0\nproperty float scale_1\nproperty float scale_2\n' +
      'property float rot_0\nproperty float rot_1\nproperty float rot_2\nproperty float rot_3\nend_header\n',
  );
  t.is(plyPropertyNames(0).length, 17);
  t.is(plyPropertyNames(3).length, 62);
  t.deepEqual(plyPropertyNames(3).slice(9, 12), ['f_rest_0', 'f_rest_1', 'f_rest_2']);
  t.is(plyPropertyNames(3)[9 + 44], 'f_rest_44');
});

test('vertex data: f_rest channel-major, opacity logit, log-scales, quaternion (w,x,y,z), zero normals', (t) => {
  const deg = 1; // K = 4, 3 rest coefficients per channel
  const p = randomParams(1, deg, 9);
  p.sh = Float32Array.from({ length: 12 }, (_, i) => i); // sh[0, k, c] = 3k + c
  p.quats = Float32Array.from([0.5, 1, 2, 3]);
  const bytes = writePly(p);
  const header = plyHeader(1, deg).length;
  const row = new Float32Array(bytes.buffer.slice(header));
  const names = plyPropertyNames(deg);
  const at = (name: string) => row[names.indexOf(name)];
  t.deepEqual([at('nx'), at('ny'), at('nz')], [0, 0, 0]);
  t.deepEqual([at('f_dc_0'), at('f_dc_1'), at('f_dc_2')], [0, 1, 2]);
  // f_rest_{c·3 + (k−1)} = sh[k, c] = 3k + c
  t.deepEqual(Array.from({ length: 9 }, (_, i) => at(`f_rest_${i}`)), [3, 6, 9, 4, 7, 10, 5, 8, 11]);
  t.is(at('opacity'), p.opacity_logits[0]);
  t.deepEqual([at('scale_0'), at('scale_1'), at('scale_2')], [...p.log_scales]);
  t.deepEqual([at('rot_0'), at('rot_1'), at('rot_2'), at('rot_3')], [0.5, 1, 2, 3]);
});

// --- files written by other tools --------------------------------------------

interface Prop {
  name: string;
  type: string;
}

const SETTERS: Record<string, [number, (v: DataView, at: number, x: number) => void]> = {
  float: [4, (v, at, x) => v.setFloat32(at, x, true)],
  float32: [4, (v, at, x) => v.setFloat32(at, x, true)],
  double: [8, (v, at, x) => v.setFloat64(at, x, true)],
  float64: [8, (v, at, x) => v.setFloat64(at, x, true)],
  uchar: [1, (v, at, x) => v.setUint8(at, x)],
  int: [4, (v, at, x) => v.setInt32(at, x, true)],
  ushort: [2, (v, at, x) => v.setUint16(at, x, true)],
};

/** A binary PLY with arbitrary properties; value(vertex, name) gives each value. */
function buildPly(props: Prop[], count: number, value: (v: number, name: string) => number, opts: { format?: string; trailer?: Uint8Array; headerExtra?: string; eol?: string } = {}): Uint8Array {
  const eol = opts.eol ?? '\n';
  const lines = ['ply', `format ${opts.format ?? 'binary_little_endian 1.0'}`, 'comment written by a test', `element vertex ${count}`, ...props.map((p) => `property ${p.type} ${p.name}`)];
  if (opts.headerExtra) lines.push(opts.headerExtra);
  lines.push('end_header');
  const header = new TextEncoder().encode(lines.join(eol) + eol);
  const stride = props.reduce((s, p) => s + SETTERS[p.type]![0], 0);
  const trailer = opts.trailer ?? new Uint8Array(0);
  const out = new Uint8Array(header.length + count * stride + trailer.length);
  out.set(header);
  const view = new DataView(out.buffer, header.length);
  let at = 0;
  for (let v = 0; v < count; v++) {
    for (const p of props) {
      const [size, set] = SETTERS[p.type]!;
      set(view, at, value(v, p.name));
      at += size;
    }
  }
  out.set(trailer, header.length + count * stride);
  return out;
}

/** The value a test file holds for vertex v, property name (distinct per property and vertex). */
const probe = (v: number, name: string) => {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 997;
  return v * 1000 + h + 0.25;
};

function shuffled<T>(xs: T[], seed: number): T[] {
  const next = mulberry32(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

test('import accepts shuffled properties, extra properties and elements, float32 and double, CRLF', (t) => {
  const deg = 2;
  const standard = plyPropertyNames(deg).filter((n) => !n.startsWith('n'));
  const props: Prop[] = shuffled(standard, 3).map((name, i) => ({ name, type: i % 3 === 0 ? 'double' : i % 3 === 1 ? 'float32' : 'float' }));
  props.splice(4, 0, { name: 'red', type: 'uchar' }, { name: 'segment', type: 'int' });
  props.push({ name: 'confidence', type: 'ushort' });
  const value = (v: number, name: string) => (name === 'red' ? 200 : name === 'segment' ? -3 : name === 'confidence' ? 7 : probe(v, name));
  const bytes = buildPly(props, 5, value, { headerExtra: 'element camera 1\nproperty float fx\nproperty float fy', trailer: new Uint8Array(8), eol: '\r\n' });
  const q = readPly(bytes, 'other-tool.ply');
  t.is(q.count, 5);
  t.is(q.shDegree, deg);
  // Every stored float is read from the property of the same name, rounded to f32.
  const reference = readPly(writePly(q), 'rewritten.ply');
  for (const g of GROUPS) t.true(sameBits(reference[g], q[g]));
  t.is(q.means[3 * 4 + 1], Math.fround(probe(4, 'y')));
  t.is(q.quats[4 * 2 + 3], Math.fround(probe(2, 'rot_3')));
  t.is(q.opacity_logits[1], Math.fround(probe(1, 'opacity')));
  // f_rest_{c·8 + (k−1)} = sh[n, k, c] at K = 9: f_rest_13 is channel 1, k = 6.
  t.is(q.sh[3 * 9 * 3 + 3 * 6 + 1], Math.fround(probe(3, 'f_rest_13')));
  t.is(q.sh[3 * 9 * 0 + 2], Math.fround(probe(0, 'f_dc_2')));
});

test('an element before the vertices is skipped', (t) => {
  const names = plyPropertyNames(0);
  const header = `ply\nformat binary_little_endian 1.0\nelement meta 2\nproperty double a\nelement vertex 1\n${names.map((n) => `property float ${n}\n`).join('')}end_header\n`;
  const h = new TextEncoder().encode(header);
  const bytes = new Uint8Array(h.length + 16 + names.length * 4);
  bytes.set(h);
  const view = new DataView(bytes.buffer, h.length + 16);
  names.forEach((n, i) => view.setFloat32(4 * i, probe(0, n), true));
  const q = readPly(bytes, 'meta.ply');
  t.is(q.means[2], Math.fround(probe(0, 'z')));
  t.is(q.quats[0], Math.fround(probe(0, 'rot_0')));
});

// --- bad input ---------------------------------------------------------------

function expectPlyError(t: import('ava').ExecutionContext, fn: () => unknown, file: string, field: string, pattern: RegExp) {
  const err = t.throws(fn, { instanceOf: PlyError });
  if (!err) return;
  t.is((err as PlyError).file, file);
  t.is((err as PlyError).field, field);
  t.true(err.message.startsWith(`${file}: `), err.message);
  t.true(err.message.includes(field.replace('element ', '')), `message names the field '${field}': ${err.message}`);
  t.regex(err.message, pattern);
}

const good = () => writePly(randomParams(4, 1, 42));
const standardProps = (deg: number): Prop[] => plyPropertyNames(deg).map((name) => ({ name, type: 'float' }));

test('truncated file: names the file and the vertex element', (t) => {
  const bytes = good();
  expectPlyError(t, () => readPly(bytes.subarray(0, bytes.length - 5), 'cut.ply'), 'cut.ply', 'element vertex', /truncated.*4 vertices/);
  expectPlyError(t, () => readPly(bytes.subarray(0, 60), 'cut-header.ply'), 'cut-header.ply', 'end_header', /end_header/);
  expectPlyError(t, () => readPly(new Uint8Array(0), 'empty.ply'), 'empty.ply', 'ply', /not a PLY/);
});

test('unknown or unsupported format: names the format field', (t) => {
  for (const format of ['ascii 1.0', 'binary_big_endian 1.0', 'binary_little_endian 2.0']) {
    expectPlyError(t, () => readPly(buildPly(standardProps(0), 1, probe, { format }), 'fmt.ply'), 'fmt.ply', 'format', new RegExp(`'${format}' is not supported`));
  }
  const noFormat = new TextEncoder().encode('ply\nelement vertex 0\nproperty float x\nend_header\n');
  expectPlyError(t, () => readPly(noFormat, 'nofmt.ply'), 'nofmt.ply', 'format', /no 'format' line/);
  expectPlyError(t, () => readPly(new TextEncoder().encode('PK\u0003\u0004 zip'), 'x.zip'), 'x.zip', 'ply', /not a PLY/);
});

test('missing property: names it', (t) => {
  for (const missing of ['x', 'f_dc_1', 'opacity', 'scale_2', 'rot_3', 'f_rest_4']) {
    const props = standardProps(1).filter((p) => p.name !== missing);
    // Dropping one f_rest leaves 8, not a valid count; replace it by an unrelated name to test the name check.
    if (missing.startsWith('f_rest')) props.push({ name: 'f_rest_9', type: 'float' });
    expectPlyError(t, () => readPly(buildPly(props, 2, probe), 'missing.ply'), 'missing.ply', missing, new RegExp(`no property '${missing}'`));
  }
  const noVertex = new TextEncoder().encode('ply\nformat binary_little_endian 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n');
  expectPlyError(t, () => readPly(noVertex, 'mesh.ply'), 'mesh.ply', 'element vertex', /no 'vertex' element/);
});

test('f_rest count that is no SH degree: names f_rest', (t) => {
  const props = standardProps(0).concat(Array.from({ length: 7 }, (_, i) => ({ name: `f_rest_${i}`, type: 'float' })));
  expectPlyError(t, () => readPly(buildPly(props, 1, probe), 'sh7.ply'), 'sh7.ply', 'f_rest_*', /7 f_rest_\* properties; expected 0, 9, 24, 45/);
});

test('vertex count mismatch: names the vertex element', (t) => {
  expectPlyError(t, () => readPly(buildPly(standardProps(0), 3, probe, { trailer: new Uint8Array(68) }), 'long.ply'), 'long.ply', 'element vertex', /vertex count mismatch.*declares 3 vertices/);
  const bad = new TextEncoder().encode('ply\nformat binary_little_endian 1.0\nelement vertex many\nproperty float x\nend_header\n');
  expectPlyError(t, () => readPly(bad, 'count.ply'), 'count.ply', 'element vertex', /count 'many' is not a non-negative integer/);
});

test('NaN or infinite values: name the property and the vertex', (t) => {
  for (const [name, x] of [['scale_1', Number.NaN], ['f_rest_3', Number.POSITIVE_INFINITY], ['x', Number.NEGATIVE_INFINITY]] as const) {
    const bytes = buildPly(standardProps(1), 4, (v, n) => (v === 2 && n === name ? x : probe(v, n)));
    expectPlyError(t, () => readPly(bytes, 'nan.ply'), 'nan.ply', name, new RegExp(`'${name}' of vertex 2 is ${x}`));
  }
  // A double too large for f32 becomes infinite: refused too.
  const props = standardProps(0).map((p) => (p.name === 'opacity' ? { ...p, type: 'double' } : p));
  expectPlyError(t, () => readPly(buildPly(props, 1, (v, n) => (n === 'opacity' ? 1e300 : probe(v, n))), 'big.ply'), 'big.ply', 'opacity', /not finite/);
  // Normals are not stored, so their values do not matter.
  t.notThrows(() => readPly(buildPly(standardProps(0), 1, (v, n) => (n === 'nx' ? Number.NaN : probe(v, n))), 'nx.ply'));
});

test('wrong property types and malformed header lines: name the property', (t) => {
  const props = standardProps(0).map((p) => (p.name === 'rot_0' ? { ...p, type: 'int' } : p));
  expectPlyError(t, () => readPly(buildPly(props, 1, probe), 'int.ply'), 'int.ply', 'rot_0', /type 'int'; expected float/);
  const header = `ply\nformat binary_little_endian 1.0\nelement vertex 0\n${plyPropertyNames(0).map((n) => `property ${n === 'z' ? 'half' : 'float'} ${n}\n`).join('')}end_header\n`;
  expectPlyError(t, () => readPly(new TextEncoder().encode(header), 'half.ply'), 'half.ply', 'z', /unknown type/);
  const dup = `ply\nformat binary_little_endian 1.0\nelement vertex 0\n${plyPropertyNames(0).map((n) => `property float ${n}\n`).join('')}property float x\nend_header\n`;
  expectPlyError(t, () => readPly(new TextEncoder().encode(dup), 'dup.ply'), 'dup.ply', 'x', /declared twice/);
  const list = `ply\nformat binary_little_endian 1.0\nelement vertex 0\n${plyPropertyNames(0).map((n) => `property float ${n}\n`).join('')}property list uchar int idx\nend_header\n`;
  expectPlyError(t, () => readPly(new TextEncoder().encode(list), 'list.ply'), 'list.ply', 'idx', /is a list/);
});

test('writePly refuses parameters it could not read back', (t) => {
  const p = randomParams(3, 0, 7);
  p.opacity_logits[1] = Number.NaN;
  t.throws(() => writePly(p), { message: /'opacity_logits' row 1 holds NaN/ });
  t.throws(() => writePly({ ...randomParams(3, 0, 7), shDegree: 4 }), { message: /SH degree/ });
  t.throws(() => writePly({ ...randomParams(3, 0, 7), count: 2 }), { message: /'means' must be a Float32Array of 2 x 3/ });
});

test('file helpers: atomic write, read back, unreadable file named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ply-test-'));
  try {
    const path = join(dir, 'static.ply');
    const p = randomParams(10, 3, 77);
    await writeFile(path, 'old contents');
    await writePlyFile(path, p);
    t.deepEqual(await readdir(dir), ['static.ply'], 'no temporary file left behind');
    const q = await readPlyFile(path);
    for (const g of GROUPS) t.true(sameBits(q[g], p[g]), g);
    t.true((await readFile(path)).subarray(0, 4).equals(Buffer.from('ply\n')));
    const missing = join(dir, 'nope.ply');
    const err = await t.throwsAsync(readPlyFile(missing), { instanceOf: PlyError });
    t.true(err!.message.startsWith(`${missing}: cannot read`), err!.message);
    // A failed write (bad parameters) leaves the old file untouched.
    const bad = { ...p, means: new Float32Array(1) };
    await t.throwsAsync(writePlyFile(path, bad));
    const again = await readPlyFile(path);
    t.true(sameBits(again.sh, p.sh));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
