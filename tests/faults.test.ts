// GPU and browser faults during real runs (issue 8, parts 2 and 3): the device
// lost mid-stage, an allocation past the device's limits, Chromium killed
// mid-run, a stage past its time budget, a hung page, and signals. Each must give
// a clear error naming the stage, record it in run.json and stages.csv, keep
// what was already written, exit non-zero, and leave no browser behind.
//
// Faults are injected through the test-only DG4D_FAULT hook
// (<stage>:<lose-device|over-limit>@<iteration>, harness/report/fault.ts). Every
// process a CLI run starts inherits DG4D_TEST_TAG, so /proc/<pid>/environ tells
// which processes (Chromium and its children) a run left behind.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserSession, CallTimeoutError } from '../harness/browser/session.ts';
import { StageFailedError, StageTracker } from '../harness/report/fault.ts';
import { parseCsv } from '../harness/report/run_data.ts';
import { readPlyFile } from '../harness/splat/ply.ts';
import { DG4D } from './helpers/tiny_run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dg4d-faults-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const RUN = ['run', 'video-to-4d', '--scene', 'walker', '--preset', 'tiny', '--no-mesh'];

interface Cli {
  pid: number;
  tag: string;
  stderr: () => string;
  /** Resolves when stderr matches `re` (rejects when the process ends first). */
  waitFor: (re: RegExp) => Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `dg4d args` with extra env and a tag that every process it starts inherits. */
function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const tag = randomBytes(8).toString('hex');
  const child = spawn(process.execPath, [DG4D, ...args], { env: { ...process.env, ...env, DG4D_TEST_TAG: tag }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const w of watchers) w();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(stderr)) {
          watchers.delete(check);
          resolve();
        }
      };
      watchers.add(check);
      check();
      void done.then(() => (re.test(stderr) ? resolve() : reject(new Error(`dg4d ended before stderr matched ${re}:\n${stderr}`))));
    });
  return { pid: child.pid!, tag, stderr: () => stderr, waitFor, done };
}

/** Pids of live processes whose environment holds DG4D_TEST_TAG=tag. */
async function tagged(tag: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = await readFile(`/proc/${entry}/environ`, 'latin1');
      const stat = await readFile(`/proc/${entry}/stat`, 'latin1');
      if (env.includes(`DG4D_TEST_TAG=${tag}`) && !/\) Z /.test(stat)) out.push(Number(entry));
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  return out;
}

/** No process of the run is left (Chromium exits within seconds of losing its parent). */
async function assertNothingLeft(t: ExecutionContext, tag: string) {
  let left = await tagged(tag);
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 200));
    left = await tagged(tag);
  }
  t.deepEqual(left, [], 'no process of the run is left');
}

/** The browser process of a run: a tagged Chromium without --type= (its children have one). */
async function browserPid(tag: string): Promise<number | undefined> {
  for (const pid of await tagged(tag)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    if (/chrom/.test(cmd) && !cmd.includes('--type=')) return pid;
  }
  return undefined;
}

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));
const readStages = async (dir: string) => parseCsv(await readFile(join(dir, 'stages.csv'), 'utf8'), 'stages.csv').rows;

test.serial('device lost mid-dynamic: exit 1 naming the stage, run.json and stages.csv record it, the static stage\'s output is kept', async (t) => {
  const out = join(tmp, 'lost');
  const cli = startCli([...RUN, '--method', 'dg4d-fast', '--out', out, '--quiet'], { DG4D_FAULT: 'dynamic:lose-device@20' });
  const r = await cli.done;
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /dg4d run failed: stage 'dynamic' \(method dg4d-fast, walker video-to-4d\) failed at iteration 20\/\d+: .*GPU device lost/);
  const run = await readJson(join(out, 'run.json'));
  t.is(run.status, 'failed');
  t.is(run.failedStage, 'dynamic');
  t.like(run.failure, { stage: 'dynamic', method: 'dg4d-fast', job: 'pipelineDynamic', iteration: 20, kind: 'device-lost' });
  t.regex(run.error, /GPU device lost/);
  const stages = await readStages(out);
  t.deepEqual(stages.map((s) => [s.stage, s.method, s.status]), [['static', 'all', 'complete'], ['dynamic', 'dg4d-fast', 'failed']]);
  t.true(Number(stages[0]!.wall_ms) > 0 && Number(stages[0]!.iterations) === 200, 'the static stage row has its figures');
  t.regex(stages[1]!.error!, /GPU device lost/);
  const ply = await readPlyFile(join(out, 'static.ply'));
  t.true(ply.count > 0, 'static.ply of the finished static stage is kept');
  await assertNothingLeft(t, cli.tag);
});

test.serial('allocation past the device limits mid-static (dg4d bench): exit 1, a validation error naming the stage and iteration', async (t) => {
  const out = join(tmp, 'over-limit');
  const cli = startCli(['bench', '--preset', 'tiny', '--out', out, '--quiet'], { DG4D_FAULT: 'static:over-limit@10' });
  const r = await cli.done;
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /dg4d bench failed: stage 'static' \(walker video-to-4d\) failed at iteration 10\/\d+: .*GPU validation error: .*max buffer size.*\(in stage 'static', detected after iteration 10\)/s);
  const run = await readJson(join(out, 'run.json'));
  t.like(run, { status: 'failed', failedStage: 'static', failure: { kind: 'gpu-error', iteration: 10 } });
  const stages = await readStages(out);
  t.deepEqual(stages.map((s) => [s.scene, s.task, s.stage, s.status]), [['walker', 'video-to-4d', 'static', 'failed']]);
  await assertNothingLeft(t, cli.tag);
});

test.serial('Chromium killed mid-run: exit 1 naming the stage and the browser, recorded, nothing left behind', async (t) => {
  const out = join(tmp, 'killed');
  const cli = startCli([...RUN, '--method', 'static', '--out', out]);
  await cli.waitFor(/\[static\] [#.]+ (10|20|30)\/200/);
  const pid = await browserPid(cli.tag);
  t.truthy(pid, 'found the browser process');
  process.kill(pid!, 'SIGKILL');
  const r = await cli.done;
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /dg4d run failed: stage 'static' \(walker video-to-4d\) failed at iteration \d+\/200: Chromium exited or disconnected/);
  t.like(await readJson(join(out, 'run.json')), { status: 'failed', failedStage: 'static', failure: { kind: 'browser' } });
  t.is((await readStages(out))[0]!.status, 'failed');
  await assertNothingLeft(t, cli.tag);
});

test.serial('a stage past its time budget fails naming the stage and the budget; nothing left behind', async (t) => {
  const out = join(tmp, 'budget');
  const cli = startCli([...RUN, '--method', 'static', '--out', out, '--quiet'], { DG4D_STAGE_TIMEOUT: 'static=2' });
  const r = await cli.done;
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /stage 'static' \(walker video-to-4d\) failed.*: stage 'static' did not finish within its budget of 2 s \(set DG4D_STAGE_TIMEOUT/);
  t.like(await readJson(join(out, 'run.json')), { status: 'failed', failedStage: 'static', failure: { kind: 'timeout' } });
  await assertNothingLeft(t, cli.tag);
});

test.serial('SIGINT and SIGTERM mark the run interrupted (exit 130/143); SIGKILL leaves it running; compare refuses both; no browser left', async (t) => {
  const runs = (['SIGINT', 'SIGTERM', 'SIGKILL'] as const).map((signal) => {
    const out = join(tmp, `signal-${signal}`);
    return { signal, out, cli: startCli([...RUN, '--method', 'static', '--out', out]) };
  });
  await Promise.all(
    runs.map(async ({ signal, cli }) => {
      await cli.waitFor(/\[static\] [#.]+ \d+\/200/);
      process.kill(cli.pid, signal);
    }),
  );
  for (const { signal, out, cli } of runs) {
    const r = await cli.done;
    const run = await readJson(join(out, 'run.json'));
    if (signal === 'SIGKILL') {
      t.is(r.signal, 'SIGKILL');
      t.is(run.status, 'running', 'a killed run stays running: read as incomplete');
    } else {
      t.is(r.code, signal === 'SIGINT' ? 130 : 143, r.stderr);
      t.regex(r.stderr, new RegExp(`${signal}: marking the run interrupted`));
      t.like(run, { status: 'interrupted', failedStage: 'static', failure: { kind: 'interrupted' }, error: `interrupted by ${signal}` });
      t.is((await readStages(out))[0]!.status, 'interrupted');
    }
    await assertNothingLeft(t, cli.tag);
    const cmp = startCli(['compare', out, join(import.meta.dirname, '..', 'reports', 'baselines', 'tiny.json'), '--quiet']);
    const c = await cmp.done;
    t.is(c.code, 2, `${signal}: ${c.stderr}`);
    t.regex(c.stderr, new RegExp(`marked '${signal === 'SIGKILL' ? 'running' : 'interrupted'}'.*never compared`), signal);
  }
});

function image(n: number) {
  return { c2w: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3], [0, 0, 0, 1]], fovx: 0.7, width: n, height: n, rgba: new Float32Array(n * n * 4).fill(0.5) };
}

test.serial('page jobs: absurd capacity and render size fail naming the stage; a hung page times out; close() leaves no browser and no server', async (t) => {
  const session = await BrowserSession.open({ quiet: true });
  const port = Number(new URL(session.server.url).port);
  try {
    const tracked = new StageTracker({ dir: join(tmp, 'page') }).wrap(session);
    const base = { preset: 'tiny', prior: 'reference', seed: 1, reference: image(16), train: [] };
    const cases: [object, RegExp][] = [
      [{ capacity: 2 ** 28, iterations: 5 }, /^stage 'static' failed: page job 'pipelineStatic' failed: .*createBuffer/],
      [{ renderSizes: [{ from: 0, size: 20_000 }], iterations: 5 }, /^stage 'static' failed: page job 'pipelineStatic' failed: .*20000x20000 exceeds the storage binding limit/],
    ];
    for (const [overrides, pattern] of cases) {
      const err = await t.throwsAsync(tracked.run('pipelineStatic', { ...base, overrides }), { instanceOf: StageFailedError });
      t.regex(err!.message, pattern);
    }
    const ok = await tracked.run<{ iterations: number }>('pipelineStatic', { ...base, overrides: { iterations: 3 } });
    t.is(ok.iterations, 3, 'the session goes on after those failures');
    // A page stuck in a loop never answers: the call times out, then close() ends everything.
    await t.throwsAsync(
      session.evaluate(() => {
        for (;;);
      }, { timeoutMs: 1500 }),
      { instanceOf: CallTimeoutError },
    );
  } finally {
    await session.close();
  }
  t.throws(() => process.kill(session.pid, 0), undefined, 'the browser is gone');
  t.false(existsSync(session.userDataDir), 'the profile dir is removed');
  const refused = await new Promise<boolean>((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), resolve(false)));
    sock.once('error', () => resolve(true));
  });
  t.true(refused, `port ${port} is closed`);
});
