// One real tiny run shared by the test files of one ava invocation
// (tests/report.test.ts and tests/compare.test.ts): the subset that
// reports/baselines/tiny.json holds. The first file to ask runs it; the other
// waits for it. Keyed by ava's process id (the parent of every test worker), so
// a later `npm test` never reuses a stale run; directories of ava processes that
// have ended are removed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const DG4D = join(import.meta.dirname, '..', '..', 'harness', 'cli', 'dg4d.mjs');

/**
 * What the run is: the same command made reports/baselines/tiny.json (the mesh
 * stage, which came later and does not change the metrics, is left out: the
 * report test lays out its own mesh frames, and CI time is short).
 */
export const TINY_RUN_ARGS = ['run', 'video-to-4d', '--scene', 'walker', '--method', 'dg4d-fast,static', '--preset', 'tiny', '--no-mesh'];

const PREFIX = 'dg4d-shared-tiny-run-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function removeStale() {
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${PREFIX}(\\d+)`).exec(name);
    if (m && Number(m[1]) !== process.ppid && !alive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** Runs `dg4d` with arguments; never throws on a non-zero exit. */
export async function dg4d(args: string[], timeout = 1_500_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [DG4D, ...args], { timeout, maxBuffer: 256 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The shared run directory, complete; throws with the run's stderr if it failed. */
export async function sharedTinyRun(): Promise<string> {
  // For working on the report and compare tests: reuse a finished run of TINY_RUN_ARGS.
  if (process.env.DG4D_TEST_TINY_RUN) return process.env.DG4D_TEST_TINY_RUN;
  const base = join(tmpdir(), `${PREFIX}${process.ppid}`);
  const dir = join(base, 'run');
  const done = join(base, 'done.json');
  removeStale();
  mkdirSync(base, { recursive: true });
  let owner = false;
  try {
    mkdirSync(join(base, 'lock'));
    writeFileSync(join(base, 'lock', 'pid'), String(process.pid));
    owner = true;
  } catch {
    /* another test file runs it */
  }
  if (owner) {
    const r = await dg4d([...TINY_RUN_ARGS, '--out', dir, '--quiet']);
    writeFileSync(done, JSON.stringify({ code: r.code, stderr: r.stderr.slice(-4000) }));
  } else {
    for (;;) {
      if (existsSync(done)) break;
      let pid = 0;
      try {
        pid = Number(readFileSync(join(base, 'lock', 'pid'), 'utf8'));
      } catch {
        /* the owner has not written it yet */
      }
      if (pid && !alive(pid)) throw new Error(`the test process ${pid} that was running the shared tiny run ended without finishing it`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const res = JSON.parse(readFileSync(done, 'utf8')) as { code: number; stderr: string };
  if (res.code !== 0) throw new Error(`dg4d ${TINY_RUN_ARGS.join(' ')} exited ${res.code}: ${res.stderr}`);
  return dir;
}
