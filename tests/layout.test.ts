// Pure host-side pieces: WGSL struct layouts, packStruct, grid folding, statistics
// and the Node <-> page value codec. Layouts are checked against offsets worked
// out by hand from the WGSL spec's "Memory Layout" rules.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { splitGrid } from '../harness/gpu/dispatch.ts';
import { WgslLayouts, packStruct, type StructLayout } from '../harness/gpu/layout.ts';
import { decodeValue, encodeValue } from '../harness/protocol/codec.ts';
import { quantile, summarize } from '../harness/util/stats.ts';
import { randomU32 } from './helpers/random.ts';

const SRC = /* wgsl */ `
// comment with a fake struct Foo { x: f32 } inside
enable f16;

const SCALE: f32 = 0.5;
const NEG = -3i;
const BIG: u32 = 4096u;
const EXP = 1e3f;

/* block comment
struct Ghost { a: f32 }
*/

struct Basic {
  a: f32,      // 0
  v: vec3f,    // 16: vec3 aligns to 16
  b: f32,      // 28: packs into the vec3's tail
}              // size 32, align 16

struct Packed { v: vec3<f32>, b: f32 }

struct Vecs {
  a: u32,          // 0
  v2: vec2<f32>,   // 8
  v4: vec4<i32>,   // 16
  h: f32,          // 32
}                  // 36 -> size 48 (align 16)

struct Mats {
  s: f32,            // 0
  m4: mat4x4f,       // 16, size 64
  m3: mat3x3<f32>,   // 80, columns at stride 16, size 48
  m2: mat2x2f,       // 128, align 8, size 16
  t: f32,            // 144
}                    // 148 -> size 160

struct Arrays {
  a: f32,                // 0
  vs: array<vec3f, 4>,   // 16, stride 16, size 64
  fs: array<f32, 3u>,    // 80, stride 4, size 12
  u: u32,                // 92
}                        // size 96

struct Inner {
  x: f32,          // 0
  y: vec2<f32>,    // 8
}                  // size 16, align 8

struct Outer {
  a: f32,                 // 0
  inner: Inner,           // 8
  b: f32,                 // 24
  arr: array<Inner, 2>,   // 32, stride 16, size 32
}                         // size 64, align 8

struct Attrs {
  a: u32,                      // 0
  @align(16) b: u32,           // 16
  @size(16) c: f32,            // 20, occupies 16 bytes
  d: u32,                      // 36
  @align(32) @size(8) e: u32,  // 64
}                              // 72 -> size 96 (align 32)

struct Trailing { v: vec3f }

struct Halfs {
  a: f16,            // 0
  b: vec3<f16>,      // 8: align 8, size 6
  c: f16,            // 14
}                    // size 16, align 8

struct Atomics { count: atomic<u32>, val: atomic<i32> }

struct MoreMats {
  m32: mat3x2f,          // 0: columns vec2 (align 8), size 24
  m23: mat2x3<f32>,      // 32: columns vec3 (align 16), size 32
  m43: mat4x3f,          // 64: size 64
}                        // size 128, align 16

struct NestedArrays {
  grid: array<array<f32, 3>, 2>,   // 0: inner stride 4 size 12; outer stride 12, size 24
  tail: u32,                       // 24
}                                  // size 28

struct MatArray {
  ms: array<mat3x3f, 2>,   // 0: stride 48, size 96
}

struct Runtime { n: u32, items: array<u32> }
struct Unknown { q: quat }
`;

const L = new WgslLayouts(SRC);

function offsets(s: StructLayout): Record<string, number> {
  return Object.fromEntries(s.fields.map((f) => [f.name, f.offset]));
}

// --- layouts ---------------------------------------------------------------

test('f32, vec3f, f32: vec3 aligns to 16 and a trailing f32 packs into its tail', (t) => {
  const s = L.struct('Basic');
  t.deepEqual(offsets(s), { a: 0, v: 16, b: 28 });
  t.is(s.size, 32);
  t.is(s.align, 16);
  const p = L.struct('Packed');
  t.deepEqual(offsets(p), { v: 0, b: 12 });
  t.is(p.size, 16);
  const tr = L.struct('Trailing');
  t.is(tr.size, 16, 'size rounds up to the struct alignment');
  t.is(tr.field('v').layout.size, 12);
});

test('vectors: vec2 aligns to 8, vec4 to 16; struct size rounds up to its alignment', (t) => {
  const s = L.struct('Vecs');
  t.deepEqual(offsets(s), { a: 0, v2: 8, v4: 16, h: 32 });
  t.is(s.size, 48);
  t.is(s.align, 16);
  t.like(s.field('v4').layout, { scalar: 'i32', components: 4, align: 16, size: 16 });
  t.like(s.field('v2').layout, { scalar: 'f32', components: 2, align: 8, size: 8 });
});

test('matrices: mat4x4f 64 bytes; mat3x3<f32> column stride 16, size 48; mat2x2f align 8', (t) => {
  const s = L.struct('Mats');
  t.deepEqual(offsets(s), { s: 0, m4: 16, m3: 80, m2: 128, t: 144 });
  t.is(s.size, 160);
  t.like(s.field('m4').layout, { align: 16, size: 64, stride: 16, components: 16 });
  t.like(s.field('m3').layout, { align: 16, size: 48, stride: 16, components: 9 });
  t.like(s.field('m2').layout, { align: 8, size: 16, stride: 8, components: 4 });
  const m = L.struct('MoreMats');
  t.deepEqual(offsets(m), { m32: 0, m23: 32, m43: 64 });
  t.like(m.field('m32').layout, { align: 8, size: 24, stride: 8 });
  t.like(m.field('m23').layout, { align: 16, size: 32, stride: 16 });
  t.like(m.field('m43').layout, { align: 16, size: 64, stride: 16 });
  t.is(m.size, 128);
});

test('arrays: array<vec3f, 4> has stride 16; array<f32, 3u> stride 4; nested arrays', (t) => {
  const s = L.struct('Arrays');
  t.deepEqual(offsets(s), { a: 0, vs: 16, fs: 80, u: 92 });
  t.is(s.size, 96);
  t.like(s.field('vs').layout, { stride: 16, size: 64, align: 16, components: 12 });
  t.like(s.field('fs').layout, { stride: 4, size: 12, align: 4, components: 3 });
  const n = L.struct('NestedArrays');
  t.deepEqual(offsets(n), { grid: 0, tail: 24 });
  t.like(n.field('grid').layout, { stride: 12, size: 24 });
  t.is(n.size, 28);
  t.like(L.struct('MatArray').field('ms').layout, { stride: 48, size: 96, align: 16 });
});

test('nested structs align to their own alignment and keep their size', (t) => {
  const inner = L.struct('Inner');
  t.deepEqual(offsets(inner), { x: 0, y: 8 });
  t.is(inner.size, 16);
  t.is(inner.align, 8);
  const s = L.struct('Outer');
  t.deepEqual(offsets(s), { a: 0, inner: 8, b: 24, arr: 32 });
  t.is(s.size, 64);
  t.is(s.align, 8);
  t.is(s.field('inner').layout.struct?.name, 'Inner');
  t.like(s.field('arr').layout, { stride: 16, size: 32 });
  t.is(s.field('arr').layout.struct?.name, 'Inner');
});

test('@align and @size attributes move and widen members', (t) => {
  const s = L.struct('Attrs');
  t.deepEqual(offsets(s), { a: 0, b: 16, c: 20, d: 36, e: 64 });
  t.is(s.align, 32);
  t.is(s.size, 96);
});

test('f16 and atomic members', (t) => {
  const h = L.struct('Halfs');
  t.deepEqual(offsets(h), { a: 0, b: 8, c: 14 });
  t.is(h.size, 16);
  t.is(h.align, 8);
  const a = L.struct('Atomics');
  t.deepEqual(offsets(a), { count: 0, val: 4 });
  t.is(a.size, 8);
  t.is(a.field('val').layout.scalar, 'i32');
});

test('comments are ignored; unknown names and runtime-sized arrays are errors', (t) => {
  t.throws(() => L.struct('Foo'), { message: /no struct 'Foo'/ });
  t.throws(() => L.struct('Ghost'), { message: /no struct 'Ghost'/ });
  t.throws(() => L.struct('Runtime'), { message: /runtime-sized array/ });
  t.throws(() => L.struct('Unknown'), { message: /unknown WGSL type 'quat'/ });
  t.throws(() => L.struct('Basic').field('nope'), { message: /no field 'nope'/ });
  t.is(L.struct('Basic'), L.struct('Basic'), 'layouts are cached');
});

test('constant() reads numeric consts, including BLOCK_SIZE from wgsl/scan.wgsl', (t) => {
  t.is(L.constant('SCALE'), 0.5);
  t.is(L.constant('NEG'), -3);
  t.is(L.constant('BIG'), 4096);
  t.is(L.constant('EXP'), 1000);
  t.throws(() => L.constant('MISSING'), { message: /no numeric const 'MISSING'/ });

  const scan = new WgslLayouts(readFileSync(new URL('../wgsl/scan.wgsl', import.meta.url), 'utf8'));
  t.is(scan.constant('BLOCK_SIZE'), 1024);
  // The split of a block between threads may change; the product may not.
  t.is(scan.constant('BLOCK_SIZE'), scan.constant('WORKGROUP_SIZE') * scan.constant('ITEMS_PER_THREAD'));
  const params = scan.struct('ScanParams');
  t.deepEqual(offsets(params), { n: 0, grid_x: 4 });
  t.is(params.size, 8);
});

// --- packStruct ---------------------------------------------------------------

test('packStruct writes scalars and vectors at their offsets and zeroes padding', (t) => {
  const buf = packStruct(L.struct('Basic'), { a: 1.5, v: [1, 2, 3], b: -2 });
  t.is(buf.byteLength, 32);
  const v = new DataView(buf);
  t.is(v.getFloat32(0, true), 1.5);
  t.deepEqual([v.getFloat32(16, true), v.getFloat32(20, true), v.getFloat32(24, true)], [1, 2, 3]);
  t.is(v.getFloat32(28, true), -2);
  t.deepEqual([...new Uint8Array(buf, 4, 12)], Array(12).fill(0));

  const vecs = new DataView(packStruct(L.struct('Vecs'), { a: 0xffffffff, v2: [0.25, -0.5], v4: [-1, 2, -3, 4], h: 7 }));
  t.is(vecs.getUint32(0, true), 0xffffffff);
  t.deepEqual([vecs.getFloat32(8, true), vecs.getFloat32(12, true)], [0.25, -0.5]);
  t.deepEqual([0, 1, 2, 3].map((i) => vecs.getInt32(16 + 4 * i, true)), [-1, 2, -3, 4]);
  t.is(vecs.getFloat32(32, true), 7);
});

test('packStruct places matrix columns and array elements at their stride', (t) => {
  const m3 = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const m4 = Array.from({ length: 16 }, (_, i) => 100 + i);
  const v = new DataView(packStruct(L.struct('Mats'), { s: 1, m4, m3, m2: [11, 12, 13, 14], t: 2 }));
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) t.is(v.getFloat32(16 + c * 16 + r * 4, true), 100 + c * 4 + r);
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < 3; r++) t.is(v.getFloat32(80 + c * 16 + r * 4, true), m3[c * 3 + r]!, `m3[${c}][${r}]`);
    t.is(v.getFloat32(80 + c * 16 + 12, true), 0, 'column padding stays zero');
  }
  t.deepEqual([0, 1, 2, 3].map((i) => v.getFloat32(128 + 4 * i, true)), [11, 12, 13, 14]);
  t.is(v.getFloat32(144, true), 2);

  const a = new DataView(packStruct(L.struct('Arrays'), { a: 3, vs: Array.from({ length: 12 }, (_, i) => i + 1), fs: [0.5, 1.5, 2.5], u: 9 }));
  for (let e = 0; e < 4; e++) {
    for (let j = 0; j < 3; j++) t.is(a.getFloat32(16 + e * 16 + j * 4, true), e * 3 + j + 1);
    t.is(a.getFloat32(16 + e * 16 + 12, true), 0);
  }
  t.deepEqual([0, 1, 2].map((i) => a.getFloat32(80 + 4 * i, true)), [0.5, 1.5, 2.5]);
  t.is(a.getUint32(92, true), 9);

  const at = new DataView(packStruct(L.struct('Attrs'), { a: 1, b: 2, c: 3.5, d: 4, e: 5 }));
  t.deepEqual([at.getUint32(0, true), at.getUint32(16, true), at.getFloat32(20, true), at.getUint32(36, true), at.getUint32(64, true)], [1, 2, 3.5, 4, 5]);
  t.is(at.byteLength, 96);

  const n = new DataView(packStruct(L.struct('NestedArrays'), { grid: [1, 2, 3, 4, 5, 6], tail: 7 }));
  t.deepEqual([0, 1, 2, 3, 4, 5].map((i) => n.getFloat32(4 * i, true)), [1, 2, 3, 4, 5, 6]);
  t.is(n.getUint32(24, true), 7);
});

test('packStruct accepts booleans as 0/1 and packs ScanParams', (t) => {
  const scan = new WgslLayouts(readFileSync(new URL('../wgsl/scan.wgsl', import.meta.url), 'utf8'));
  const buf = packStruct(scan.struct('ScanParams'), { n: 1_000_003, grid_x: true });
  t.deepEqual([...new Uint32Array(buf)], [1_000_003, 1]);
});

test('packStruct rejects a missing field, a non-u32 value, a wrong count and unsupported fields', (t) => {
  const basic = L.struct('Basic');
  t.throws(() => packStruct(basic, { a: 1, v: [1, 2, 3] }), { message: /missing field 'b'/ });
  const scanParams = new WgslLayouts('struct P { n: u32, grid_x: u32 }').struct('P');
  for (const bad of [-1, 1.5, 2 ** 32, NaN, Infinity]) {
    t.throws(() => packStruct(scanParams, { n: bad, grid_x: 1 }), { message: /is not a u32/ }, String(bad));
  }
  t.throws(() => packStruct(scanParams, { n: 1, grid_x: [1, 2] }), { message: /needs 1 values, got 2/ });
  t.throws(() => packStruct(basic, { a: 1, v: [1, 2], b: 0 }), { message: /needs 3 values, got 2/ });
  t.throws(() => packStruct(L.struct('Outer'), { a: 1, inner: [1, 2, 3], b: 2, arr: [] }), { message: /nested struct field 'inner' is not supported/ });
  t.throws(() => packStruct(L.struct('Halfs'), { a: 1, b: [1, 2, 3], c: 1 }), { message: /f16 fields are not supported/ });
});

// Known bug: for arrays whose elements have internal padding (matrices with vec3
// columns, arrays of padded arrays), packStruct places the scalars of one element
// contiguously instead of at the element's own column/element stride.
test('packStruct respects column padding inside array<mat3x3f, 2>', (t) => {
  const values = Array.from({ length: 18 }, (_, i) => i + 1);
  const v = new DataView(packStruct(L.struct('MatArray'), { ms: values }));
  // Element e, column c, row r lives at e*48 + c*16 + r*4.
  for (let e = 0; e < 2; e++) for (let c = 0; c < 3; c++) for (let r = 0; r < 3; r++) t.is(v.getFloat32(e * 48 + c * 16 + r * 4, true), e * 9 + c * 3 + r + 1);
});

// --- splitGrid ----------------------------------------------------------------

test('splitGrid keeps counts up to the limit 1-D', (t) => {
  t.deepEqual(splitGrid(0, 65535), { x: 0, y: 1 });
  t.deepEqual(splitGrid(1, 65535), { x: 1, y: 1 });
  t.deepEqual(splitGrid(977, 65535), { x: 977, y: 1 });
  t.deepEqual(splitGrid(65535, 65535), { x: 65535, y: 1 });
  t.deepEqual(splitGrid(16, 16), { x: 16, y: 1 });
});

test('splitGrid folds larger counts into a 2-D grid that covers them with minimal overshoot', (t) => {
  t.deepEqual(splitGrid(65536, 65535), { x: 32768, y: 2 });
  t.deepEqual(splitGrid(977, 32), { x: 32, y: 31 });
  for (const max of [1, 2, 7, 16, 31]) {
    for (let count = 0; count <= max * max; count++) {
      const g = splitGrid(count, max);
      const msg = `count ${count}, max ${max}: ${JSON.stringify(g)}`;
      t.true(g.x * g.y >= count, msg);
      t.true(g.x <= max && g.y <= max, msg);
      t.true(Number.isInteger(g.x) && Number.isInteger(g.y) && g.y >= 1, msg);
      if (count > max) {
        t.true(g.y > 1, msg);
        t.true(g.x * g.y - count < g.y, `overshoot below one row: ${msg}`);
      }
    }
  }
  t.deepEqual(splitGrid(65535 * 65535, 65535), { x: 65535, y: 65535 });
});

test('splitGrid rejects counts beyond max^2 and invalid counts', (t) => {
  t.throws(() => splitGrid(257, 16), { message: /257 workgroups exceed a 16\^2 grid/ });
  t.throws(() => splitGrid(977, 16), { message: /exceed/ });
  t.throws(() => splitGrid(65535 * 65535 + 1, 65535), { message: /exceed/ });
  t.throws(() => splitGrid(-1, 16), { message: /invalid workgroup count/ });
  t.throws(() => splitGrid(1.5, 16), { message: /invalid workgroup count/ });
  t.throws(() => splitGrid(NaN, 16), { message: /invalid workgroup count/ });
});

// --- stats ----------------------------------------------------------------------

test('quantile interpolates linearly between order statistics', (t) => {
  t.true(Number.isNaN(quantile([], 0.5)));
  t.is(quantile([7], 0), 7);
  t.is(quantile([7], 0.9), 7);
  const xs = [4, 1, 3, 2];
  t.is(quantile(xs, 0), 1);
  t.is(quantile(xs, 1), 4);
  t.is(quantile(xs, 0.5), 2.5);
  t.is(quantile([3, 1, 2], 0.5), 2);
  t.true(Math.abs(quantile(xs, 0.9) - 3.7) < 1e-12);
  t.true(Math.abs(quantile(xs, 0.25) - 1.75) < 1e-12);
  t.deepEqual(xs, [4, 1, 3, 2], 'input is not sorted in place');
  t.is(quantile([10, 2, 33, 4, 5, 6, 7, 8, 9, 1], 0.5), 6.5, 'numeric, not lexicographic, order');
});

test('summarize reports count, median, p90, mean, min and total', (t) => {
  const s = summarize([4, 1, 3, 2]);
  t.is(s.count, 4);
  t.is(s.medianMs, 2.5);
  t.true(Math.abs(s.p90Ms - 3.7) < 1e-12);
  t.is(s.meanMs, 2.5);
  t.is(s.minMs, 1);
  t.is(s.totalMs, 10);
  const e = summarize([]);
  t.is(e.count, 0);
  t.is(e.totalMs, 0);
  for (const k of ['medianMs', 'p90Ms', 'meanMs', 'minMs'] as const) t.true(Number.isNaN(e[k]), k);
});

// --- codec ----------------------------------------------------------------------

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

function sameTyped(t: import('ava').ExecutionContext, got: unknown, want: Typed, what: string) {
  t.is(Object.getPrototypeOf(got), Object.getPrototypeOf(want), `${what}: type`);
  const g = got as Typed;
  t.is(g.length, want.length, `${what}: length`);
  t.true(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), `${what}: bytes`);
}

function sample() {
  const u32 = randomU32(1000, 5);
  return {
    u8: new Uint8Array([0, 1, 127, 128, 255]),
    u16: new Uint16Array([0, 1, 0x7fff, 0xffff]),
    i32: new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)]),
    f32: new Float32Array([0, -0, 1.5, NaN, Infinity, -Infinity, 3.4e38, 1e-45]),
    f64: new Float64Array([Math.PI, -0, NaN, Number.MAX_VALUE, Number.MIN_VALUE]),
    // A view into a larger buffer at a non-zero offset.
    u32view: new Uint32Array(u32.buffer, 12, 5),
    nested: [new Uint32Array([1, 2, 3]), { deeper: [new Float32Array([0.25]), new Uint8Array(0)] }],
    empty: new Float64Array(0),
    plain: { s: 'text', n: 42, b: true, z: null, list: [1, 'two', { three: 3 }] },
    big: u32,
  };
}

function checkRoundTrip(t: import('ava').ExecutionContext, back: any, v: ReturnType<typeof sample>) {
  sameTyped(t, back.u8, v.u8, 'u8');
  sameTyped(t, back.u16, v.u16, 'u16');
  sameTyped(t, back.i32, v.i32, 'i32');
  sameTyped(t, back.f32, v.f32, 'f32');
  sameTyped(t, back.f64, v.f64, 'f64');
  sameTyped(t, back.u32view, v.u32view, 'u32view');
  sameTyped(t, back.nested[0], v.nested[0] as Uint32Array, 'nested[0]');
  sameTyped(t, back.nested[1].deeper[0], (v.nested[1] as { deeper: Typed[] }).deeper[0]!, 'nested deeper f32');
  sameTyped(t, back.nested[1].deeper[1], (v.nested[1] as { deeper: Typed[] }).deeper[1]!, 'nested deeper empty u8');
  sameTyped(t, back.empty, v.empty, 'empty');
  sameTyped(t, back.big, v.big, 'big');
  t.true(Object.is(back.f32[1], -0) && Number.isNaN(back.f32[3]) && Object.is(back.f64[1], -0));
  t.deepEqual(back.plain, v.plain);
  // Decoded arrays own an aligned buffer of exactly their size.
  t.is(back.u32view.byteOffset, 0);
  t.is(back.u32view.buffer.byteLength, 20);
}

test('codec round-trips every supported typed array, nested in objects and arrays, through JSON', (t) => {
  const v = sample();
  const wire = JSON.parse(JSON.stringify(encodeValue(v)));
  t.is(wire.u8.__typed, 'Uint8Array');
  t.is(typeof wire.big.b64, 'string');
  checkRoundTrip(t, decodeValue(wire), v);
  for (const prim of [null, undefined, 0, -1.5, 'x', true]) t.is(decodeValue(encodeValue(prim)), prim);
});

test('codec browser path (no Buffer: btoa/atob, chunked) matches the Node path', (t) => {
  const v = sample();
  // Large enough to need several 32 KiB chunks in toBase64's browser branch.
  const large = randomU32(50_000, 9);
  const nodeWire = JSON.stringify(encodeValue({ ...v, large }));
  const g = globalThis as { Buffer?: unknown };
  const saved = g.Buffer;
  let browserWire: string;
  let back: any;
  try {
    g.Buffer = undefined; // synchronous: nothing else in this process runs meanwhile
    browserWire = JSON.stringify(encodeValue({ ...v, large }));
    back = decodeValue(JSON.parse(nodeWire));
  } finally {
    g.Buffer = saved;
  }
  t.is(browserWire, nodeWire);
  checkRoundTrip(t, back, v);
  sameTyped(t, back.large, large, 'large');
});

// Known gap: Int8Array, Int16Array, Uint8ClampedArray (and BigInt arrays) are not
// in the codec's table, so they silently become index-keyed plain objects.
test('codec round-trips Int8Array, Int16Array and Uint8ClampedArray', (t) => {
  const v = { a: new Int8Array([-1, 2]), b: new Int16Array([-300, 300]), c: new Uint8ClampedArray([0, 255]) };
  const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(v)))) as Record<string, unknown>;
  t.true(back.a instanceof Int8Array);
  t.true(back.b instanceof Int16Array);
  t.true(back.c instanceof Uint8ClampedArray);
});
