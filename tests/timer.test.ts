// GpuTimer in the page (timerCheck job): timestamp queries on SwiftShader, the
// wall-clock fallback, separate labels, and the flush path of a small query set.
import test from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';

interface TimingSamples {
  method: 'timestamp' | 'wall';
  samples: Record<string, number[]>;
}

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ adapter: 'swiftshader', quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const timerCheck = (args: Record<string, unknown>) => session.run<TimingSamples>('timerCheck', args);

function allPositiveFinite(xs: number[] | undefined): boolean {
  return Array.isArray(xs) && xs.length > 0 && xs.every((x) => Number.isFinite(x) && x > 0);
}

test('method auto uses timestamp queries on SwiftShader: one positive scan sample per repeat', async (t) => {
  const r = await timerCheck({ method: 'auto', repeats: 4, n: 1 << 16 });
  t.is(r.method, 'timestamp');
  t.deepEqual(Object.keys(r.samples).sort(), ['empty', 'scan']);
  t.is(r.samples.scan!.length, 4);
  t.true(allPositiveFinite(r.samples.scan), `scan samples: ${r.samples.scan}`);
  // Nanosecond ticks converted to ms: a 64 Ki-key scan takes well under 10 s.
  t.true(r.samples.scan!.every((ms) => ms < 10_000), `scan samples: ${r.samples.scan}`);
});

test("the empty pass is recorded under its own 'empty' label and is cheaper than the scan", async (t) => {
  const r = await timerCheck({ method: 'timestamp', repeats: 3, n: 1 << 18 });
  t.is(r.method, 'timestamp');
  const empty = r.samples.empty!;
  const scan = r.samples.scan!;
  t.is(empty.length, 3);
  t.true(empty.every((ms) => Number.isFinite(ms) && ms >= 0), `empty samples: ${empty}`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  t.true(median(empty) < median(scan), `empty ${empty} vs scan ${scan}`);
  t.false('scan+empty' in r.samples);
});

test("method wall charges each submit's time to the combined label 'scan+empty'", async (t) => {
  const r = await timerCheck({ method: 'wall', repeats: 3, n: 1 << 16 });
  t.is(r.method, 'wall');
  t.deepEqual(Object.keys(r.samples), ['scan+empty']);
  t.is(r.samples['scan+empty']!.length, 3);
  t.true(allPositiveFinite(r.samples['scan+empty']), `samples: ${r.samples['scan+empty']}`);
});

test('a query set smaller than the work (capacity 1) still returns every sample', async (t) => {
  const r = await timerCheck({ method: 'timestamp', capacity: 1, repeats: 5, n: 1 << 12 });
  t.is(r.method, 'timestamp');
  t.is(r.samples.scan?.length, 5);
  t.is(r.samples.empty?.length, 5);
  t.true(allPositiveFinite(r.samples.scan), `scan samples: ${r.samples.scan}`);
  t.true(r.samples.empty!.every((ms) => Number.isFinite(ms) && ms >= 0));
});

test('capacities that do not divide the pass count (3 and 4 for 7 repeats) lose no sample', async (t) => {
  for (const capacity of [3, 4]) {
    const r = await timerCheck({ method: 'auto', capacity, repeats: 7, n: 1 << 12 });
    t.is(r.samples.scan?.length, 7, `capacity ${capacity}`);
    t.is(r.samples.empty?.length, 7, `capacity ${capacity}`);
    t.true(allPositiveFinite(r.samples.scan), `capacity ${capacity}: ${r.samples.scan}`);
  }
});

test('zero repeats give no samples, with either method', async (t) => {
  const none = await timerCheck({ method: 'auto', repeats: 0 });
  t.is(none.method, 'timestamp');
  t.deepEqual(none.samples, {});
  const wall = await timerCheck({ method: 'wall', repeats: 0 });
  t.is(wall.method, 'wall');
  t.deepEqual(wall.samples, {});
});

test('method timestamp is accepted when the device has timestamp-query', async (t) => {
  const info = await session.adapterInfo();
  if (info.enabledFeatures.includes('timestamp-query')) {
    const r = await timerCheck({ method: 'timestamp', repeats: 1 });
    t.is(r.method, 'timestamp');
    t.is(r.samples.scan?.length, 1);
  } else {
    await t.throwsAsync(timerCheck({ method: 'timestamp', repeats: 1 }), { instanceOf: PageJobError, message: /timestamp-query is not enabled/ });
  }
});
