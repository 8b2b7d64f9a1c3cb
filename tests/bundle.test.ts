// `dg4d bundle`: the archive is a valid tar.gz under 64 MiB holding only what the
// dawn runtime needs (linux-x64 dawn.node, no puppeteer-core, no other platform),
// and the unpacked bundle runs `dg4d info` with Dawn from its own run script, in
// a folder that has no node_modules of the repository above it.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '../harness/browser/bundle.ts';
import { MAX_BUNDLE_BYTES, tarHeader } from '../harness/cli/commands/bundle.ts';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'harness', 'cli', 'dg4d.mjs');

let dir: string;
let archive: string;
let summary: { file: string; bytes: number; files: number };

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dg4d-bundle-test-'));
  archive = join(dir, 'dg4d-bench.tar.gz');
  const { stdout } = await run(process.execPath, [CLI, 'bundle', '--out', archive, '--json'], { timeout: 120_000 });
  summary = JSON.parse(stdout);
  await run('tar', ['-xzf', archive, '-C', dir]);
});

test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Names of a tar's regular files, read with our own parser of the headers (not the writer's code). */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const field = (o: number, n: number) => h.subarray(o, o + n).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12), 8);
    names.push([field(345, 155), field(0, 100)].filter(Boolean).join('/'));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

test('the archive is under 64 MiB and holds only the dawn runtime for linux-x64', async (t) => {
  t.is((await stat(archive)).size, summary.bytes);
  t.true(summary.bytes < MAX_BUNDLE_BYTES, `${(summary.bytes / 2 ** 20).toFixed(1)} MiB`);
  const names = tarNames(gunzipSync(await readFile(archive)));
  t.is(names.length, summary.files);
  for (const want of ['dg4d-bench/dg4d', 'dg4d-bench/harness/cli/dg4d.mjs', 'dg4d-bench/node_modules/webgpu/dist/linux-x64/dawn.node', 'dg4d-bench/asm/build/marching_cubes.wasm', 'dg4d-bench/reports/reference/dg4d-tables.json']) {
    t.true(names.includes(want), want);
  }
  t.false(names.some((n) => /webgpu\/dist\/(darwin|win32|linux-arm64)/.test(n)), 'no other platform');
  t.false(names.some((n) => n.includes('puppeteer') || n.includes('node_modules/esbuild')), 'no Chromium side');
  t.false(names.some((n) => /ort-wasm-simd-threaded\.(jsep|jspi|asyncify)/.test(n)), 'one onnxruntime-web wasm variant');
});

test('ustar headers: checksum, octal fields, long paths split into prefix and name', (t) => {
  const long = `dg4d-bench/${'a'.repeat(120)}/file.bin`;
  const h = tarHeader(long, 1000, 0o755, 1_700_000_000);
  t.is(h.length, 512);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  t.is(parseInt(h.subarray(148, 155).toString(), 8), sum);
  t.is(parseInt(h.subarray(124, 136).toString(), 8), 1000);
  t.is(h.subarray(257, 263).toString(), 'ustar\0');
  t.is(h.subarray(0, 8).toString(), 'file.bin');
  t.throws(() => tarHeader(`${'b'.repeat(200)}/${'c'.repeat(120)}`, 0, 0o644, 0), { message: /too long/ });
});

test('the unpacked bundle runs dg4d info with Dawn (its default runtime), and refuses Chromium with a clear message', async (t) => {
  const dg4d = join(dir, 'dg4d-bench', 'dg4d');
  const env = { ...process.env };
  delete env.DG4D_RUNTIME;
  const { stdout } = await run(dg4d, ['info', '--runtime', 'dawn', '--json'], { timeout: 120_000, env });
  const info = JSON.parse(stdout) as { runtime: string; adapter: { description: string; enabledFeatures: string[] } };
  t.is(info.runtime, 'dawn');
  t.truthy(info.adapter.description);
  const plain = await run(dg4d, ['info', '--json'], { timeout: 120_000, env });
  t.is((JSON.parse(plain.stdout) as { runtime: string }).runtime, 'dawn', 'the run script makes dawn the default');
  const err = await run(dg4d, ['info', '--runtime', 'chromium'], { timeout: 60_000, env }).catch((e: { code: number; stderr: string }) => e);
  t.is((err as { code: number }).code, 1);
  t.regex((err as { stderr: string }).stderr, /Chromium runtime is not in a dg4d bundle/);
});
