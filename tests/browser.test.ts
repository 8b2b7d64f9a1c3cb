// BrowserSession against a real headless Chromium: the adapter it finds, the flags
// it starts with, and every way a call can fail (page error, job error, timeout,
// page crash, device loss) ending in an error rather than a hang; close() leaves
// no process and no profile directory behind.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ADAPTER_FLAGS, BASE_FLAGS } from '../harness/browser/chrome.ts';
import { BrowserError, BrowserSession, CallTimeoutError, DeviceLostError, PageJobError, type SessionOptions } from '../harness/browser/session.ts';
import type { AdapterReport } from '../harness/protocol/messages.ts';

const OPTIONS: SessionOptions = { adapter: 'swiftshader', quiet: true, callTimeoutMs: 60_000 };

let shared: BrowserSession;

test.before(async () => {
  shared = await BrowserSession.open(OPTIONS);
});

test.after.always(async () => {
  await shared?.close();
});

/** Opens a session of its own for a destructive test; always closed. */
async function withOwnSession(fn: (s: BrowserSession) => Promise<void>): Promise<void> {
  const s = await BrowserSession.open(OPTIONS);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line mentions `needle` (e.g. a profile dir). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** Checks, after close(), that nothing of the session is left. */
async function assertGone(t: import('ava').ExecutionContext, s: BrowserSession) {
  t.false(isAlive(s.pid), `browser pid ${s.pid} is dead`);
  t.throws(() => process.kill(s.pid, 0));
  t.deepEqual(await processesMentioning(s.userDataDir), [], 'no process mentions the profile dir');
  t.false(existsSync(s.userDataDir), 'profile dir removed');
  t.throws(() => s.server.url, { message: /not started/ }, 'server closed');
}

/** Rejects after `ms`: makes a hang a test failure instead of an ava timeout. */
function deadline(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms).unref());
}

// --- (a) adapter ----------------------------------------------------------------

test('the page gets a SwiftShader WebGPU adapter with timestamp-query', async (t) => {
  const info: AdapterReport & { userAgent: string | null } = await shared.adapterInfo() as AdapterReport & { userAgent: string | null };
  t.true(info.description.length > 0, 'non-empty description');
  t.is(info.architecture, 'swiftshader');
  t.true(info.features.includes('timestamp-query'));
  t.true(info.enabledFeatures.includes('timestamp-query'));
  t.deepEqual([...info.features].sort(), info.features, 'features are sorted');
  t.true(info.limits.maxComputeWorkgroupsPerDimension! >= 65535);
  t.true(info.limits.maxStorageBufferBindingSize! >= 128 * 2 ** 20, 'raised limits are reported');
  t.regex(info.userAgent ?? '', /HeadlessChrome\/\d+/);
  t.is(shared.adapterFlags, 'swiftshader');
  t.regex(shared.browserVersion, /Chrome\/\d+/);
  t.true(shared.pid > 0);
});

// --- (b) flags --------------------------------------------------------------------

test('Chromium starts with every base flag, --headless=new and the SwiftShader flags', (t) => {
  const args = shared.launchArgs;
  for (const flag of BASE_FLAGS.filter((f) => !f.startsWith('--headless'))) t.true(args.includes(flag), `missing ${flag}`);
  t.true(args.includes('--headless=new'), 'puppeteer adds --headless=new');
  t.is(args.filter((a) => a.startsWith('--headless')).length, 1, 'one --headless flag');
  t.true(args.includes(`--user-data-dir=${shared.userDataDir}`));
  // Chromium reads only the last --enable-features; puppeteer merges ours into its own.
  const features = (name: string) =>
    args
      .filter((a) => a.startsWith(`--${name}=`))
      .at(-1)
      ?.slice(name.length + 3)
      .split(',') ?? [];
  for (const flag of ADAPTER_FLAGS.swiftshader) {
    const m = /^--enable-features=(.+)$/.exec(flag);
    if (m) {
      for (const f of m[1]!.split(',')) t.true(features('enable-features').includes(f), `effective --enable-features lacks ${f}: ${args.join(' ')}`);
    } else {
      t.true(args.includes(flag), `missing ${flag}`);
    }
  }
  t.false(features('disable-features').includes('Vulkan'), 'Vulkan is not disabled again');
  for (const flag of ADAPTER_FLAGS.vulkan.filter((f) => !ADAPTER_FLAGS.swiftshader.includes(f) && !f.startsWith('--enable-features'))) {
    t.false(args.includes(flag), `vulkan-only ${flag} absent`);
  }
});

// --- (c) errors from the page ----------------------------------------------------

test('a page evaluation that throws rejects with its message; the session goes on', async (t) => {
  await t.throwsAsync(
    shared.evaluate(() => {
      throw new Error('boom from the page 1234');
    }),
    { message: /boom from the page 1234/ },
  );
  await t.throwsAsync(shared.evaluate(() => Promise.reject(new Error('async boom 5678'))), { message: /async boom 5678/ });
  t.is(await shared.evaluate(() => 6 * 7), 42);
});

test('an unknown page job rejects with a PageJobError naming the job; the session goes on', async (t) => {
  const err = await t.throwsAsync(shared.run('noSuchJob', { x: 1 }), { instanceOf: PageJobError });
  t.regex(err!.message, /noSuchJob/);
  t.regex(err!.message, /unknown page job/);
  t.regex(err!.message, /known: .*info/);
  t.is(err!.name, 'PageJobError');
  t.is(typeof err!.pageStack, 'string');
  const info = await shared.adapterInfo();
  t.is(info.architecture, 'swiftshader');
});

// --- (d) timeout --------------------------------------------------------------------

test('a call that never resolves rejects with CallTimeoutError after its timeout', async (t) => {
  const t0 = Date.now();
  const err = await t.throwsAsync(
    Promise.race([shared.evaluate(() => new Promise(() => {}), { timeoutMs: 1500 }), deadline(10_000, 'evaluate with timeoutMs 1500')]),
    { instanceOf: CallTimeoutError },
  );
  const elapsed = Date.now() - t0;
  t.regex(err!.message, /1500 ms/);
  t.true(elapsed >= 1400, `not before the timeout (${elapsed} ms)`);
  t.true(elapsed < 5000, `soon after the timeout (${elapsed} ms)`);
  // A timeout fails only that call.
  t.is(await shared.evaluate(() => 'still alive', { timeoutMs: 10_000 }), 'still alive');
  const jobErr = await t.throwsAsync(
    // Seconds of GPU work against a 100 ms timeout: a 1 ms timeout could lose the race
    // to a fast job on a loaded machine, where the timer callback runs late.
    shared.run('timerCheck', { n: 1 << 22, repeats: 40 }, { timeoutMs: 100 }),
    { instanceOf: CallTimeoutError },
  );
  t.regex(jobErr!.message, /page job 'timerCheck'/);
});

// --- (e) page crash ---------------------------------------------------------------

test('a page crash rejects the call in flight with BrowserError long before its timeout', async (t) => {
  await withOwnSession(async (s) => {
    t.is(await s.evaluate(() => 1), 1);
    const t0 = Date.now();
    const pending = s.evaluate(() => new Promise(() => {}), { timeoutMs: 60_000 });
    pending.catch(() => {});
    const cdp = await s.page.createCDPSession();
    cdp.send('Page.crash').catch(() => {});
    const err = await t.throwsAsync(Promise.race([pending, deadline(20_000, 'pending call after crash')]), { instanceOf: BrowserError });
    const elapsed = Date.now() - t0;
    t.true(elapsed < 15_000, `rejected ${elapsed} ms after the crash, long before the 60 s timeout`);
    t.regex(err!.message, /crash/i);
    // close() after a crash still removes everything.
    await s.close();
    await assertGone(t, s);
  });
});

// Calls after a crash or after close() run in a child process
// (tests/fixtures/crash_session.ts): if one leaks an unhandled rejection, it must
// not take this test worker down with it.
interface Outcome {
  error: string | null;
  message: string;
  ms: number;
}
interface ChildReport {
  crash: { pid: number; userDataDir: string; inFlight: Outcome; later: Outcome[]; unhandled: string[] };
  closed: { pid: number; userDataDir: string; later: Outcome[]; unhandled: string[] };
}

let child: Promise<{ code: number | null; stdout: string; stderr: string }> | null = null;

async function childReport(t: import('ava').ExecutionContext): Promise<ChildReport> {
  child ??= new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./fixtures/crash_session.ts', import.meta.url));
    execFile(process.execPath, ['--import=tsx', script], { timeout: 90_000, cwd: fileURLToPath(new URL('..', import.meta.url)) }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
  const r = await child;
  t.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null') as ChildReport;
}

test('after a page crash every later call is refused at once with BrowserError', async (t) => {
  const { crash } = await childReport(t);
  t.is(crash.inFlight.error, 'BrowserError', crash.inFlight.message);
  t.true(crash.inFlight.ms < 15_000, `in-flight call rejected after ${crash.inFlight.ms} ms`);
  t.is(crash.later.length, 3);
  for (const call of crash.later) {
    t.is(call.error, 'BrowserError', call.message);
    t.true(call.ms < 5000, `${call.ms} ms`);
  }
  t.false(isAlive(crash.pid));
  t.deepEqual(await processesMentioning(crash.userDataDir), []);
  t.false(existsSync(crash.userDataDir));
});

test('after close() every call is refused with BrowserError "session is closed"', async (t) => {
  const { closed } = await childReport(t);
  t.is(closed.later.length, 3);
  for (const call of closed.later) {
    t.is(call.error, 'BrowserError', call.message);
    t.regex(call.message, /session is closed/);
    t.true(call.ms < 5000, `${call.ms} ms`);
  }
  t.false(isAlive(closed.pid));
  t.false(existsSync(closed.userDataDir));
});

// Known bug (harness/browser/session.ts): run() and evaluate() start
// page.evaluate() before guard() looks at `this.closed` / `this.failure`, and
// guard()'s early `throw` skips the `work.catch(() => {})` in its finally block. So
// every call after a crash or after close() leaves the page call's own rejection
// (TargetCloseError / "Attempted to use detached Frame") unhandled, which is fatal
// in a plain Node process such as the CLI.
test('calls after a page crash leave no unhandled rejection behind', async (t) => {
  t.deepEqual((await childReport(t)).crash.unhandled, []);
});

test('calls after close() leave no unhandled rejection behind', async (t) => {
  t.deepEqual((await childReport(t)).closed.unhandled, []);
});

// --- (f) device loss ----------------------------------------------------------------

test('device loss fails the job in flight with DeviceLostError; the next job gets a new device', async (t) => {
  const messages: string[] = [];
  const s = await BrowserSession.open({ ...OPTIONS, onMessage: (m) => messages.push(m.type) });
  try {
    const before = await s.adapterInfo();
    const t0 = Date.now();
    // Observed behaviour: the page reports 'device-lost', the host rejects the call.
    await t.throwsAsync(Promise.race([s.run('destroyDevice'), deadline(20_000, 'destroyDevice')]), { instanceOf: DeviceLostError, message: /device lost \(destroyed\)/ });
    t.true(Date.now() - t0 < 10_000);
    t.true(messages.includes('device-lost'), `messages: ${messages.join(', ')}`);
    // Not sticky: the page makes a new device and work goes on.
    const after = await Promise.race([s.adapterInfo(), deadline(20_000, 'info after device loss')]);
    t.is(after.architecture, before.architecture);
    t.deepEqual(after.enabledFeatures, before.enabledFeatures);
    const timing = await s.run<{ method: string; samples: Record<string, number[]> }>('timerCheck', { n: 4096, repeats: 2 });
    t.is(timing.samples.scan?.length, 2, 'GPU work runs on the new device');
    // And it happens again the same way: no stale state from the first loss.
    await t.throwsAsync(Promise.race([s.run('destroyDevice'), deadline(20_000, 'second destroyDevice')]), { instanceOf: DeviceLostError });
    t.is((await s.adapterInfo()).architecture, before.architecture);
    t.is(messages.filter((m) => m === 'device-lost').length, 2);
  } finally {
    await s.close();
  }
  await assertGone(t, s);
});

// --- (g) close ------------------------------------------------------------------------

test('close() ends Chromium and every child, removes the profile dir, and rejects calls in flight', async (t) => {
  const s = await BrowserSession.open(OPTIONS);
  let pending: Promise<unknown> | null = null;
  try {
    t.true(isAlive(s.pid));
    t.true(existsSync(s.userDataDir));
    const procs = await processesMentioning(s.userDataDir);
    t.true(procs.includes(s.pid), 'the browser process names its profile dir (so the /proc check below means something)');
    pending = s.evaluate(() => new Promise(() => {}), { timeoutMs: 60_000 });
    pending.catch(() => {});
  } finally {
    await s.close();
  }
  await t.throwsAsync(Promise.race([pending!, deadline(5000, 'call in flight at close')]), { instanceOf: BrowserError, message: /closed/ });
  await assertGone(t, s);
  await t.notThrowsAsync(s.close(), 'close() twice is fine');
});
