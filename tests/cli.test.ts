// The dg4d command as users run it: real processes, real Chromium, real files.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureChrome, findChrome } from '../harness/cli/ensure-setup.mjs';

const run = promisify(execFile);
const DG4D = join(import.meta.dirname, '..', 'harness', 'cli', 'dg4d.mjs');

async function dg4d(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 170_000) {
  try {
    const r = await run(process.execPath, [DG4D, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'dg4d-cli-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

test('info --json reports the SwiftShader adapter with timestamp-query', async (t) => {
  const r = await dg4d(['info', '--json']);
  t.is(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  t.regex(info.browser.version, /Chrome\/\d+/);
  t.is(info.browser.adapterFlags, 'swiftshader');
  t.is(info.adapter.architecture, 'swiftshader');
  t.true(info.adapter.isFallbackAdapter);
  t.true(info.adapter.features.includes('timestamp-query'));
  t.true(info.adapter.enabledFeatures.includes('timestamp-query'));
  t.true(info.adapter.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20);
});

test('every command answers --help with exit 0', async (t) => {
  for (const cmd of ['info', 'bench', 'microbench', 'build']) {
    const r = await dg4d([cmd, '--help']);
    t.is(r.code, 0, cmd);
    t.regex(r.stdout, new RegExp(`usage: dg4d ${cmd}`), cmd);
  }
  const top = await dg4d(['--help']);
  t.is(top.code, 0);
  t.regex(top.stdout, /commands:/);
});

test('bad usage exits 2 with a message naming the problem', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /usage: dg4d <command>/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['bench', '--preset', 'huge'], /--preset must be one of tiny, small, paper/],
    [['bench', '--adapter', 'metal'], /--adapter must be one of/],
    [['bench', '--seed', '-3'], /--seed/],
    [['bench', '--prior', 'sds'], /--prior must be one of oracle, reference/],
    [['bench', '--scenes', 'walker,teapot'], /--scenes: unknown scene 'teapot'/],
    [['info', '--bogus'], /bogus/],
    [['microbench', '--only', 'scan,warp'], /unknown suite 'warp'/],
  ];
  for (const [args, msg] of cases) {
    const r = await dg4d(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr + r.stdout, msg, args.join(' '));
  }
});

test('bench --preset tiny runs the suite: run.json, the concatenated CSVs and one run directory per (scene, task)', async (t) => {
  // About 70 s alone on 2 cores; room for a loaded machine.
  t.timeout(1_200_000);
  const out = join(tmp, 'bench-run');
  const r = await dg4d(['bench', '--preset', 'tiny', '--out', out, '--json', '--quiet'], {}, 1_080_000);
  t.is(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  t.is(summary.runDir, out);
  const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  t.is(record.status, 'complete');
  t.is(record.preset, 'tiny');
  t.is(record.prior, 'oracle');
  t.is(record.environment.adapter.architecture, 'swiftshader');
  t.regex(record.environment.browser.version, /Chrome/);
  t.true(record.environment.browser.launchArgs.includes('--enable-unsafe-webgpu'));
  t.deepEqual(record.plan, [{ task: 'video-to-4d', scene: 'walker', methods: ['dg4d-fast', 'static'], mesh: ['dg4d-fast'] }]);
  const run = record.results.runs[0];
  t.is(run.dir, 'scenes/walker-video-to-4d');
  t.is(run.prior, 'oracle');
  const psnr = Object.fromEntries(run.methods.map((m: { label: string; summary: { eval: { psnr: number } } }) => [m.label, m.summary.eval.psnr]));
  t.true(psnr.static > 15, `static ${psnr.static}`);
  t.true(psnr['dg4d-fast'] > psnr.static, `dg4d-fast ${psnr['dg4d-fast']} vs static ${psnr.static}`);

  const rows = (name: string) => readFileSync(join(out, name), 'utf8').trim().split('\n');
  const stages = rows('stages.csv');
  t.true(stages[0]!.startsWith('scene,task,stage,method,prior,preset,'), stages[0]);
  for (const stage of ['static', 'dynamic', 'eval']) t.true(stages.some((l) => l.startsWith(`walker,video-to-4d,${stage},`)), `stages.csv has ${stage}`);
  const kernels = rows('kernels.csv');
  for (const label of ['project', 'rasterize', 'rasterize_bwd', 'project_bwd', 'adam', 'hexplane', 'hexplane_bwd']) {
    t.true(kernels.some((l) => l.split(',')[4] === label), `kernels.csv has ${label}`);
  }
  const metrics = rows('metrics.csv');
  t.true(metrics[0]!.startsWith('scene,task,method,prior,preset,set,view,time,psnr,ssim'), metrics[0]);
  t.is(metrics.filter((l) => l.startsWith('walker,video-to-4d,static,oracle,tiny,eval,')).length, metrics.filter((l) => l.startsWith('walker,video-to-4d,dg4d-fast,')).length);
  t.true(rows('loss.csv').length > 10);
  const ply = readFileSync(join(out, 'scenes', 'walker-video-to-4d', 'static.ply'));
  t.true(ply.subarray(0, 40).toString('latin1').startsWith('ply\nformat binary_little_endian 1.0\n'));
  t.true(existsSync(join(out, 'scenes', 'walker-video-to-4d', 'renders', 'dg4d-fast_eval.png')));
  // The mesh stages of dg4d-fast (their outputs are checked in detail by the mesh tests).
  for (const stage of ['mesh', 'uv', 'bake', 'refine']) t.true(stages.some((l) => l.startsWith(`walker,video-to-4d,${stage},dg4d-fast,`)), `stages.csv has ${stage}`);
  const meshDir = join(out, 'scenes', 'walker-video-to-4d', 'mesh', 'dg4d-fast');
  t.true(existsSync(join(meshDir, 'animated.glb')));
  t.true(existsSync(join(meshDir, 'frame_000.obj')));
  t.is(run.mesh[0].label, 'dg4d-fast');
  t.true(run.mesh[0].faces > 100, JSON.stringify(run.mesh[0]));
  t.true(rows('geometry.csv').length > 1);
  // The tables and the report (their contents are checked in report.test.ts).
  t.is(summary.report, join(out, 'report.html'));
  t.regex(readFileSync(join(out, 'tables.md'), 'utf8'), /\| measured \| dg4d-fast \|/);
  t.regex(readFileSync(join(out, 'report.html'), 'utf8'), /prior: oracle/);
  t.is(summary.screenshot, join(out, 'report.png'));
  t.true(readFileSync(join(out, 'report.png')).subarray(1, 4).toString('latin1') === 'PNG');
});

test('bench refuses a non-empty --out and leaves it untouched', async (t) => {
  const out = join(tmp, 'occupied');
  rmSync(out, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(out));
  writeFileSync(join(out, 'run.json'), '{"keep":true}\n');
  const r = await dg4d(['bench', '--preset', 'tiny', '--out', out, '--quiet']);
  t.is(r.code, 2);
  t.regex(r.stderr, /not empty/);
  t.is(readFileSync(join(out, 'run.json'), 'utf8'), '{"keep":true}\n');
});

test('setup: a bad CHROME_PATH and a missing browser without root give clear errors', (t) => {
  const saved = process.env.CHROME_PATH;
  try {
    process.env.CHROME_PATH = join(tmp, 'no-such-chrome');
    t.throws(() => findChrome(), { message: /CHROME_PATH=.*no-such-chrome is not an executable file/ });
    delete process.env.CHROME_PATH;
    t.throws(() => ensureChrome({ candidates: [join(tmp, 'missing')], isRoot: false }), { message: /No browser found: set CHROME_PATH.*apt-get install -y chromium/ });
    t.false(ensureChrome(), 'the installed browser is found, nothing to install');
    t.true(existsSync(findChrome()!));
  } finally {
    if (saved === undefined) delete process.env.CHROME_PATH;
    else process.env.CHROME_PATH = saved;
  }
});

test('microbench --only scan,sort writes microbench.json and microbench.csv with the environment', async (t) => {
  const out = join(tmp, 'microbench-run');
  const r = await dg4d(['microbench', '--preset', 'tiny', '--only', 'scan,sort', '--out', out, '--json', '--quiet']);
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(out, 'microbench.json'), 'utf8'));
  t.is(doc.environment.adapter.architecture, 'swiftshader');
  const suites = new Set(doc.rows.map((row: { suite: string }) => row.suite));
  t.deepEqual([...suites].sort(), ['scan', 'sort']);
  for (const row of doc.rows) {
    t.true(row.gpuMedianMs > 0 && row.throughput > 0, JSON.stringify(row));
    t.true([65536, 1048576].includes(row.n));
  }
  const csv = readFileSync(join(out, 'microbench.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], 'suite,case,n,size,samples,median_ms,p90_ms,gpu_median_ms,throughput,throughput_unit,timing');
  t.is(csv.length, doc.rows.length + 1);
  t.is(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'complete');
});
