// Safe outputs (issue 8, part 6): every file written atomically (an audit of the
// sources), a run directory never shared by two runs (also when started at the
// same instant), distinct directories for concurrent runs, and a run's end
// recorded once (an interrupted run is not then marked failed). Signals and
// `dg4d compare` refusing unfinished runs are tested on real runs in
// tests/faults.test.ts. The tests that make runs are serial: a signal marks
// every unfinished run of the process, and one of them simulates it.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../harness/browser/bundle.ts';
import { writeFileAtomic } from '../harness/report/atomic.ts';
import { FaultConfigError } from '../harness/report/fault.ts';
import { OutputDirError } from '../harness/report/run_dir.ts';
import { RunRecorder } from '../harness/report/run_record.ts';

let tmp: string;
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'dg4d-outputs-test-'));
});
test.after.always(() => rm(tmp, { recursive: true, force: true }));

const FIELDS = { command: 'test', preset: 'tiny', seed: 1, prior: 'none', config: {} };

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && !['node_modules', 'build', '.cache'].includes(e.name)) out.push(...(await sources(p)));
    else if (/\.(ts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * The files allowed to call a raw write API, each because it writes aside and
 * then publishes with rename/link (checked below), or for the reason given.
 */
const RAW_WRITERS: Record<string, string> = {
  'harness/report/atomic.ts': 'the atomic writer itself (temp file, then rename)',
  'harness/browser/server.ts': 'uploads: temp file beside the target, then rename',
  'harness/report/run_dir.ts': 'claims run.json: temp file, then link (fails if it exists)',
  'harness/cli/commands/bundle.ts': 'the bundle archive: temp file, then rename',
  'harness/cli/ensure-setup.mjs': 'NOT ATOMIC, allowed: the node_modules install stamp (a torn stamp only causes a reinstall), not a run output',
  'asm/marching_cubes/gen_tables.ts': 'NOT ATOMIC, allowed: a developer\'s generator of a committed source file, not a run output',
};
const WRITE_API = /\b(writeFile|writeFileSync|createWriteStream|appendFile|appendFileSync|copyFile|copyFileSync|writeSync)\s*\(/;

test('audit: outside the writers listed, no source writes a file except through writeFileAtomic', async (t) => {
  const files = [...(await sources(join(REPO_ROOT, 'harness'))), ...(await sources(join(REPO_ROOT, 'datasets'))), ...(await sources(join(REPO_ROOT, 'asm')))];
  t.true(files.length > 50, 'the audit sees the sources');
  const offenders: string[] = [];
  for (const file of files) {
    const rel = relative(REPO_ROOT, file);
    const lines = (await readFile(file, 'utf8')).split('\n');
    const hits = lines.flatMap((line, i) => (WRITE_API.test(line.replace(/\/\/.*$/, '')) && !/^\s*(\*|import)/.test(line) ? [`${rel}:${i + 1}: ${line.trim()}`] : []));
    if (!hits.length) continue;
    if (!(rel in RAW_WRITERS)) offenders.push(...hits);
    else if (!RAW_WRITERS[rel]!.startsWith('NOT ATOMIC')) t.regex(lines.join('\n'), /\b(rename|renameSync|link)\(/, `${rel} publishes with rename or link`);
  }
  t.deepEqual(offenders, [], 'write through harness/report/atomic.ts (writeFileAtomic) or add the file to RAW_WRITERS with its reason');
});

test('writeFileAtomic: a reader sees the old or the new content, never a mix; no temp file is left, also on failure', async (t) => {
  const path = join(tmp, 'atomic.bin');
  const a = new Uint8Array(1 << 21).fill(0x61);
  const b = new Uint8Array(1 << 21).fill(0x62);
  await writeFileAtomic(path, a);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 20; i++) await writeFileAtomic(path, i % 2 ? a : b);
    writing = false;
  })();
  let reads = 0;
  while (writing) {
    const got = await readFile(path);
    reads++;
    t.true(got.length === a.length && (got.every((x) => x === 0x61) || got.every((x) => x === 0x62)), `read ${reads}: a whole old or new file`);
  }
  await writer;
  t.true(reads > 0);
  await t.throwsAsync(writeFileAtomic(join(tmp, 'no-such-dir', 'x.bin'), a));
  t.deepEqual((await readdir(tmp)).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
});

test.serial('one --out for runs started at the same instant: exactly one gets it, the others are refused; run.json is the winner\'s, whole', async (t) => {
  const out = join(tmp, 'shared-out');
  const attempts = await Promise.allSettled(Array.from({ length: 8 }, () => RunRecorder.create(out, FIELDS)));
  const won = attempts.filter((r): r is PromiseFulfilledResult<RunRecorder> => r.status === 'fulfilled');
  t.is(won.length, 1, 'one run claims the directory');
  for (const r of attempts) if (r.status === 'rejected') t.true(r.reason instanceof OutputDirError, String(r.reason));
  const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  t.is(record.runId, won[0]!.value.record.runId);
  t.is(record.status, 'running');
  t.deepEqual((await readdir(out)).sort(), ['run.json'], 'nothing else left in the directory (no claim temp files)');
  await won[0]!.value.complete();
  // A non-empty --out is refused later too, and left as it was.
  await t.throwsAsync(RunRecorder.create(out, FIELDS), { instanceOf: OutputDirError, message: /not empty/ });
  t.is(JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).status, 'complete');
});

test.serial('runs started at once without --out get distinct reports/<run-id>/ directories', async (t) => {
  const runs = await Promise.all(Array.from({ length: 8 }, () => RunRecorder.create(undefined, FIELDS)));
  try {
    t.is(new Set(runs.map((r) => r.dir)).size, 8);
    t.is(new Set(runs.map((r) => r.record.runId)).size, 8);
    for (const r of runs) t.is(JSON.parse(await readFile(join(r.dir, 'run.json'), 'utf8')).runId, r.record.runId);
  } finally {
    for (const r of runs) await r.complete();
    for (const r of runs) await rm(r.dir, { recursive: true, force: true });
  }
});

test.serial('a run\'s end is recorded once: interrupted stays interrupted when the failure that follows arrives', async (t) => {
  const out = join(tmp, 'interrupted');
  const run = await RunRecorder.create(out, FIELDS);
  await RunRecorder.interruptAll('SIGTERM');
  await run.fail(new Error('session closed'));
  await run.complete();
  const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  t.like(record, { status: 'interrupted', error: 'interrupted by SIGTERM' });
  // No session went through its stage tracker (as in dg4d ablate and microbench): no stage is claimed, no stages.csv.
  t.is(record.failedStage, undefined);
  t.false(existsSync(join(out, 'stages.csv')));
  t.deepEqual(await readdir(out), ['run.json']);
});

test.serial('an existing empty --out is used; an --out that cannot be read is refused naming it', async (t) => {
  const empty = join(tmp, 'empty');
  await mkdir(empty);
  const run = await RunRecorder.create(empty, FIELDS);
  t.is(run.dir, empty);
  await run.complete();
  const file = join(tmp, 'a-file');
  await writeFile(file, 'x');
  await t.throwsAsync(RunRecorder.create(file, FIELDS), { instanceOf: OutputDirError, message: new RegExp(`--out ${file}: cannot read directory`) });
});

test.serial('a malformed DG4D_STAGE_TIMEOUT or DG4D_FAULT is refused (FaultConfigError: exit 2) before any run directory exists', async (t) => {
  for (const [name, value, pattern] of [
    ['DG4D_STAGE_TIMEOUT', 'static=soon', /DG4D_STAGE_TIMEOUT: the budget of 'static' must be a positive number of seconds, got 'soon'/],
    ['DG4D_STAGE_TIMEOUT', '-5', /DG4D_STAGE_TIMEOUT: the budget must be a positive number/],
    ['DG4D_FAULT', 'dynamic:melt@3', /DG4D_FAULT must be <stage>:<lose-device\|over-limit>@<iteration>, got 'dynamic:melt@3'/],
  ] as const) {
    const out = join(tmp, `bad-env-${name}-${value.length}`);
    const before = process.env[name];
    process.env[name] = value;
    try {
      await t.throwsAsync(RunRecorder.create(out, FIELDS), { instanceOf: FaultConfigError, message: pattern });
    } finally {
      if (before === undefined) delete process.env[name];
      else process.env[name] = before;
    }
    t.false(existsSync(out), `${name}=${value}: no directory made`);
  }
});
