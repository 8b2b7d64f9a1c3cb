// The GPU prefix scan in real headless Chromium (WebGPU on SwiftShader here)
// against the CPU reference, for every variant the device offers.
import test from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { refScan } from '../harness/gpu/scan_ref.ts';
import type { AdapterReport } from '../harness/protocol/messages.ts';
import { randomU32 } from './helpers/random.ts';

type Variant = 'workgroup' | 'subgroups';
interface ScanResult {
  output: Uint32Array;
  total: number;
  variant: Variant;
}

let session: BrowserSession;
let report: AdapterReport;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
  report = await session.adapterInfo();
});

test.after.always(async () => {
  await session?.close();
});

const hasSubgroups = () => report.enabledFeatures.includes('subgroups');

/** Index of the first difference, or -1; cheap for million-element arrays. */
function firstMismatch(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function checkScan(t: import('ava').ExecutionContext, input: Uint32Array, variant: Variant, extra: Record<string, unknown> = {}) {
  const want = refScan(input);
  const got = await session.run<ScanResult>('scan', { input, variant, ...extra });
  t.is(got.variant, variant);
  t.true(got.output instanceof Uint32Array);
  t.is(got.output.length, input.length);
  const at = firstMismatch(got.output, want.scan);
  t.is(at, -1, at >= 0 ? `first mismatch at ${at}: got ${got.output[at]}, want ${want.scan[at]}` : undefined);
  t.is(got.total, want.total, 'total');
}

// [length, max value (undefined: full u32 range, so sums wrap), seed]
const CASES: [number, number | undefined, number][] = [
  [0, undefined, 1],
  [1, undefined, 2],
  [255, 15, 3],
  [256, undefined, 4],
  [257, 255, 5],
  [1024, undefined, 6], // exactly one block
  [1025, 3, 7], // one block and one element
  [4099, undefined, 8],
  [1_000_003, undefined, 9],
  [1_000_003, 255, 10],
  [1_048_577, 1, 11], // 1025 blocks: three levels
];

for (const variant of ['workgroup', 'subgroups'] as const) {
  for (const [n, max, seed] of CASES) {
    const data = max === undefined ? 'full-range' : `values <= ${max}`;
    test(`${variant} scan of ${n} ${data} u32 matches refScan`, async (t) => {
      const input = randomU32(n, seed, max);
      if (variant === 'subgroups' && !hasSubgroups()) {
        // Without the feature the variant must be refused, not silently replaced.
        await t.throwsAsync(session.run('scan', { input, variant }), { instanceOf: PageJobError, message: /subgroups/ });
        return;
      }
      if (max === undefined && n > 1000) t.true(input.reduce((a, b) => a + b, 0) > 2 ** 32, 'data does wrap');
      await checkScan(t, input, variant);
    });
  }

  test(`${variant} scan on a folded 2-D grid (maxWorkgroupsPerDimension: 32, 977 blocks -> 32 x 31)`, async (t) => {
    const input = randomU32(1_000_003, 12);
    if (variant === 'subgroups' && !hasSubgroups()) {
      await t.throwsAsync(session.run('scan', { input, variant, maxWorkgroupsPerDimension: 32 }), { instanceOf: PageJobError });
      return;
    }
    await checkScan(t, input, variant, { maxWorkgroupsPerDimension: 32 });
  });

  test(`${variant} scan on a folded 2-D grid with overshoot (200,000 keys, 196 blocks, max 16 -> 16 x 13)`, async (t) => {
    const input = randomU32(200_000, 13, 1000);
    if (variant === 'subgroups' && !hasSubgroups()) {
      await t.throwsAsync(session.run('scan', { input, variant, maxWorkgroupsPerDimension: 16 }), { instanceOf: PageJobError });
      return;
    }
    await checkScan(t, input, variant, { maxWorkgroupsPerDimension: 16 });
  });
}

test('a grid too large even when folded (977 blocks, max 16 per dimension) is a PageJobError', async (t) => {
  await t.throwsAsync(session.run('scan', { input: randomU32(1_000_003, 14), variant: 'workgroup', maxWorkgroupsPerDimension: 16 }), {
    instanceOf: PageJobError,
    message: /977 workgroups exceed a 16\^2 grid/,
  });
});

test('SwiftShader offers the subgroups variant, and "auto" picks it', async (t) => {
  t.is(report.architecture, 'swiftshader');
  t.true(hasSubgroups(), `enabledFeatures: ${report.enabledFeatures.join(', ')}`);
  const input = randomU32(5000, 15, 100);
  const got = await session.run<ScanResult>('scan', { input });
  t.is(got.variant, 'subgroups');
  t.deepEqual(got.output, refScan(input).scan);
});

test('the same input scanned twice gives the same result (plans and buffers are not reused wrongly)', async (t) => {
  const a = randomU32(3000, 16);
  const b = randomU32(3000, 17);
  const [ra, rb] = await Promise.all([
    session.run<ScanResult>('scan', { input: a, variant: 'workgroup' }),
    session.run<ScanResult>('scan', { input: b, variant: 'workgroup' }),
  ]);
  const ra2 = await session.run<ScanResult>('scan', { input: a, variant: 'workgroup' });
  t.deepEqual(ra.output, refScan(a).scan);
  t.deepEqual(rb.output, refScan(b).scan);
  t.deepEqual(ra2.output, ra.output);
  t.is(ra2.total, ra.total);
});

test('scan rejects input that is not a Uint32Array with a PageJobError', async (t) => {
  for (const input of [[1, 2, 3], new Float32Array([1, 2]), new Int32Array([1]), 'abc', null]) {
    const err = await t.throwsAsync(session.run('scan', { input }), { instanceOf: PageJobError, message: /args\.input must be a Uint32Array/ });
    t.truthy(err?.pageStack, 'the page-side stack comes along');
  }
  await t.throwsAsync(session.run('scan', {}), { instanceOf: PageJobError });
  // The session is still usable afterwards.
  const ok = await session.run<ScanResult>('scan', { input: new Uint32Array([1, 2, 3]), variant: 'workgroup' });
  t.deepEqual([...ok.output], [0, 1, 3]);
  t.is(ok.total, 6);
});

// --- CPU reference ----------------------------------------------------------

test('refScan: exclusive prefix sum on tiny known arrays', (t) => {
  const empty = refScan(new Uint32Array(0));
  t.is(empty.scan.length, 0);
  t.is(empty.total, 0);
  t.deepEqual(refScan(new Uint32Array([5])), { scan: new Uint32Array([0]), total: 5 });
  t.deepEqual(refScan(new Uint32Array([1, 2, 3, 4])), { scan: new Uint32Array([0, 1, 3, 6]), total: 10 });
  t.deepEqual(refScan(new Uint32Array([0, 0, 7, 0])), { scan: new Uint32Array([0, 0, 0, 7]), total: 7 });
});

test('refScan wraps modulo 2^32', (t) => {
  t.deepEqual(refScan(new Uint32Array([0xffffffff, 2, 3])), { scan: new Uint32Array([0, 0xffffffff, 1]), total: 4 });
  t.deepEqual(refScan(new Uint32Array([0x80000000, 0x80000000])), { scan: new Uint32Array([0, 0x80000000]), total: 0 });
  const r = refScan(new Uint32Array(5).fill(0xffffffff));
  t.deepEqual([...r.scan], [0, 0xffffffff, 0xfffffffe, 0xfffffffd, 0xfffffffc]);
  t.is(r.total, 0xfffffffb);
  t.true(r.total >= 0 && Number.isInteger(r.total));
});

test('refScan does not modify its input', (t) => {
  const input = new Uint32Array([3, 1, 4, 1, 5]);
  refScan(input);
  t.deepEqual([...input], [3, 1, 4, 1, 5]);
});
