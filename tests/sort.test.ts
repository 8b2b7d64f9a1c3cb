// The GPU radix sort in real headless Chromium (WebGPU on SwiftShader here)
// against refSort. Every sort takes its pair count from a GPU buffer, as the
// rasterizer's will.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { refSort } from '../harness/gpu/sort_ref.ts';
import { mulberry32, randomU32 } from './helpers/random.ts';

interface Pairs {
  keys: Uint32Array;
  values: Uint32Array;
}
interface SortResult extends Pairs {
  passes: number;
  results?: Pairs[];
}

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

/** Index of the first difference, or -1; cheap for million-element arrays. */
function firstMismatch(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function samePairs(t: ExecutionContext, got: Pairs, want: Pairs, what = '') {
  for (const field of ['keys', 'values'] as const) {
    t.true(got[field] instanceof Uint32Array);
    const at = firstMismatch(got[field], want[field]);
    t.is(at, -1, at >= 0 ? `${what}${field}: first mismatch at ${at} of ${want[field].length}: got ${got[field][at]}, want ${want[field][at]}` : undefined);
  }
}

/** Sorts on the GPU and compares with refSort; returns the GPU result. */
async function checkSort(t: ExecutionContext, keys: Uint32Array, values: Uint32Array, options: Record<string, unknown> = {}): Promise<SortResult> {
  const got = await session.run<SortResult>('sort', { keys, values, ...options });
  samePairs(t, got, refSort(keys, values, (options.keyBits as number | undefined) ?? 32));
  return got;
}

/** Values 0..n-1, so that the sorted values name each pair's input position. */
const iota = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

// --- sizes: 0, 1, 2 and 2^k - 1, 2^k, 2^k + 1 ---------------------------------

const SIZES = [0, 1, 2, ...[4, 8, 12, 16].flatMap((k) => [2 ** k - 1, 2 ** k, 2 ** k + 1])];

for (const [i, n] of SIZES.entries()) {
  // Alternate duplicate-heavy keys (a range of 100) with the full u32 range.
  const max = i % 2 ? undefined : 99;
  test(`sorts ${n} pairs with ${max === undefined ? 'full-range' : 'duplicate (<= 99)'} keys like refSort`, async (t) => {
    const got = await checkSort(t, randomU32(n, 100 + i, max), randomU32(n, 200 + i));
    t.is(got.passes, 4, '32 key bits, 8 per pass');
  });
}

test('1,000,003 random pairs', async (t) => {
  await checkSort(t, randomU32(1_000_003, 301), randomU32(1_000_003, 302));
});

// --- stability and key bits ---------------------------------------------------

test('stable: pairs with equal keys keep their input order', async (t) => {
  const n = 50_000;
  const keys = randomU32(n, 311, 7); // 8 distinct keys, ~6,000 of each
  const got = await checkSort(t, keys, iota(n));
  for (let i = 1; i < n; i++) {
    if (got.keys[i] === got.keys[i - 1] && got.values[i]! <= got.values[i - 1]!) {
      t.fail(`equal keys ${got.keys[i]} at ${i - 1}, ${i} came from positions ${got.values[i - 1]}, ${got.values[i]}`);
      return;
    }
  }
});

test('keyBits < 32: bits above keyBits are ignored for the order and come back intact', async (t) => {
  const n = 30_011;
  const keys = randomU32(n, 321); // every key has random high bits
  const got = await checkSort(t, keys, iota(n), { keyBits: 12 });
  t.is(got.passes, 2);
  // Stable by the low 12 bits only: a high-bit order would break this.
  for (let i = 1; i < n; i++) {
    const [a, b] = [got.keys[i - 1]! & 0xfff, got.keys[i]! & 0xfff];
    if (a > b || (a === b && got.values[i - 1]! > got.values[i]!)) {
      t.fail(`not stably ordered by the low 12 bits at ${i}`);
      return;
    }
  }
  // Every output key is its input key, all 32 bits of it.
  for (let i = 0; i < n; i++) {
    if (got.keys[i] !== keys[got.values[i]!]) {
      t.fail(`output ${i}: key ${got.keys[i]} is not input key ${keys[got.values[i]!]}`);
      return;
    }
  }
});

// Odd pass counts end in scratch and copy back; keyBits 0 sorts nothing.
for (const [keyBits, bitsPerPass, passes] of [
  [24, 8, 3],
  [20, 8, 3],
  [7, 1, 7],
  [16, 3, 6],
  [13, 5, 3],
  [0, 8, 0],
] as const) {
  test(`keyBits ${keyBits}, bitsPerPass ${bitsPerPass}: ${passes} passes`, async (t) => {
    const n = 20_003;
    const got = await checkSort(t, randomU32(n, 330 + keyBits), iota(n), { keyBits, bitsPerPass });
    t.is(got.passes, passes);
  });
}

// --- capacity and the GPU-side count --------------------------------------------

test('capacity > count: only the first count pairs are sorted, those past it are untouched', async (t) => {
  const capacity = 10_000;
  const count = 6_007;
  const keys = randomU32(capacity, 341, 500);
  const values = randomU32(capacity, 342);
  const got = await session.run<SortResult>('sort', { keys, values, count, capacity });
  const want = refSort(keys.subarray(0, count), values.subarray(0, count));
  samePairs(t, { keys: got.keys.subarray(0, count), values: got.values.subarray(0, count) }, want);
  samePairs(t, { keys: got.keys.subarray(count), values: got.values.subarray(count) }, { keys: keys.subarray(count), values: values.subarray(count) }, 'tail ');
});

test('a count above the capacity is clamped to it (the pairs past the capacity are untouched)', async (t) => {
  const keys = randomU32(5_000, 343);
  const values = iota(5_000);
  const capacity = 4_001;
  const got = await session.run<SortResult>('sort', { keys, values, capacity, count: 1_000_000 });
  samePairs(t, { keys: got.keys.subarray(0, capacity), values: got.values.subarray(0, capacity) }, refSort(keys.subarray(0, capacity), values.subarray(0, capacity)));
  samePairs(t, { keys: got.keys.subarray(capacity), values: got.values.subarray(capacity) }, { keys: keys.subarray(capacity), values: values.subarray(capacity) }, 'tail ');
});

test('one plan, several GPU counts in one command buffer (large, small, zero, capacity)', async (t) => {
  const capacity = 40_000;
  const keys = randomU32(capacity, 351, 3000);
  const values = randomU32(capacity, 352);
  const counts = [39_999, 17, 0, 40_000, 1_234];
  // Three passes: the copy back runs too.
  const got = await session.run<SortResult>('sort', { keys, values, capacity, counts, keyBits: 20 });
  t.is(got.results?.length, counts.length);
  counts.forEach((count, i) => {
    const r = got.results![i]!;
    const head = refSort(keys.subarray(0, count), values.subarray(0, count), 20);
    samePairs(t, { keys: r.keys.subarray(0, count), values: r.values.subarray(0, count) }, head, `count ${count}: `);
    samePairs(t, { keys: r.keys.subarray(count), values: r.values.subarray(count) }, { keys: keys.subarray(count), values: values.subarray(count) }, `count ${count} tail: `);
  });
});

// --- thread shapes: the GPU default, odd shapes, and the 2-D grid fold -----------

for (const [itemsPerThread, workgroupSize, n, what] of [
  [256, 64, 100_003, 'the GPU default shape'],
  [4, 1, 3_001, 'runs of 4, one thread per workgroup'],
  [12, 256, 70_001, 'runs of 12, 256 threads per workgroup'],
  [8192, 4, 100_003, 'the longest CPU runs'],
] as const) {
  test(`${what} (itemsPerThread ${itemsPerThread}, workgroupSize ${workgroupSize}) sorts like refSort`, async (t) => {
    await checkSort(t, randomU32(n, 360 + itemsPerThread, 2 ** 20), randomU32(n, 361), { itemsPerThread, workgroupSize });
  });
}

test('a folded 2-D indirect grid (2,501 workgroups, at most 64 per dimension -> 63 x 40, with overshoot)', async (t) => {
  // 10,001 pairs in runs of 4, one thread per workgroup: 2,501 workgroups.
  await checkSort(t, randomU32(10_001, 371, 5000), iota(10_001), { itemsPerThread: 4, workgroupSize: 1, maxWorkgroupsPerDimension: 64 });
});

test('a capacity whose grid does not fit even folded is a PageJobError', async (t) => {
  await t.throwsAsync(session.run('sort', { keys: randomU32(10_001, 372), values: iota(10_001), itemsPerThread: 4, workgroupSize: 1, maxWorkgroupsPerDimension: 32 }), {
    instanceOf: PageJobError,
    message: /2501 workgroups exceed a 32\^2 grid/,
  });
});

test('bad options and arguments are PageJobErrors, and the session stays usable', async (t) => {
  const keys = new Uint32Array([3, 1, 2]);
  const values = new Uint32Array([0, 1, 2]);
  for (const [extra, message] of [
    [{ keyBits: 33 }, /keyBits 33/],
    [{ bitsPerPass: 9 }, /bitsPerPass 9/],
    [{ bitsPerPass: 0 }, /bitsPerPass 0/],
    [{ itemsPerThread: 6 }, /itemsPerThread 6/],
    [{ values: new Uint32Array(2) }, /3 keys but 2 values/],
    [{ keys: [3, 1, 2] }, /must be Uint32Arrays/],
    [{ counts: [] }, /counts/],
  ] as const) {
    await t.throwsAsync(session.run('sort', { keys, values, ...extra }), { instanceOf: PageJobError, message });
  }
  const ok = await session.run<SortResult>('sort', { keys, values });
  t.deepEqual([...ok.keys], [1, 2, 3]);
  t.deepEqual([...ok.values], [1, 2, 0]);
});

test('sortBench: rows with GPU timings, and the timed sorts verify in the page', async (t) => {
  const rows = await session.run<Record<string, unknown>[]>('sortBench', { sizes: [5_003, 40_000], keyBits: 20, timeMs: 50, minIterations: 2, verify: true });
  t.deepEqual(
    rows.map((r) => [r.n, r.passes, r.verified]),
    [
      [5_003, 3, true],
      [40_000, 3, true],
    ],
  );
  for (const r of rows) {
    for (const field of ['medianMs', 'p90Ms', 'keysPerSecond', 'gpuMedianMs', 'gpuKeysPerSecond', 'gpuMinMs']) t.true((r[field] as number) > 0, `${field} = ${r[field]}`);
    t.is(r.timing, 'timestamp');
    t.deepEqual(Object.keys(r.gpuStageMedianMs as object).sort(), ['scan', 'sort_count', 'sort_scatter']);
  }
});

// --- CPU reference --------------------------------------------------------------

test('refSort: stable sort by the masked key on known arrays', (t) => {
  const empty = refSort(new Uint32Array(0), new Uint32Array(0));
  t.is(empty.keys.length, 0);
  t.is(empty.values.length, 0);
  t.deepEqual(refSort(new Uint32Array([5]), new Uint32Array([9])), { keys: new Uint32Array([5]), values: new Uint32Array([9]) });
  t.deepEqual(refSort(new Uint32Array([3, 1, 3, 0, 1]), new Uint32Array([10, 11, 12, 13, 14])), {
    keys: new Uint32Array([0, 1, 1, 3, 3]),
    values: new Uint32Array([13, 11, 14, 10, 12]),
  });
  // Unsigned order: 0xffffffff is the largest key, not -1.
  t.deepEqual([...refSort(new Uint32Array([0xffffffff, 0x80000000, 1]), new Uint32Array(3)).keys], [1, 0x80000000, 0xffffffff]);
  // keyBits 4: only the low nibble orders; the high bits stay in the keys.
  t.deepEqual(refSort(new Uint32Array([0x12, 0xf1, 0x03, 0x21]), new Uint32Array([0, 1, 2, 3]), 4), {
    keys: new Uint32Array([0xf1, 0x21, 0x12, 0x03]),
    values: new Uint32Array([1, 3, 0, 2]),
  });
  // keyBits 0: every key is equal, so the order is the input order.
  t.deepEqual([...refSort(new Uint32Array([9, 8, 7]), new Uint32Array([0, 1, 2]), 0).keys], [9, 8, 7]);
});

test('refSort agrees with a plain comparison sort on random data and leaves its input alone', (t) => {
  const next = mulberry32(391);
  const keys = Uint32Array.from({ length: 2000 }, () => next() % 64 | (next() & 0xffff0000));
  const values = iota(2000);
  const copy = keys.slice();
  const got = refSort(keys, values, 6);
  const want = [...keys.keys()].sort((a, b) => (keys[a]! & 63) - (keys[b]! & 63) || a - b);
  t.deepEqual([...got.values], want);
  t.deepEqual([...got.keys], want.map((i) => keys[i]!));
  t.deepEqual(keys, copy);
});

test('refSort rejects mismatched lengths and bad keyBits', (t) => {
  t.throws(() => refSort(new Uint32Array(2), new Uint32Array(3)), { message: /2 keys but 3 values/ });
  t.throws(() => refSort(new Uint32Array(1), new Uint32Array(1), 33), { message: /keyBits 33/ });
  t.throws(() => refSort(new Uint32Array(1), new Uint32Array(1), 1.5), { message: /keyBits 1.5/ });
});
