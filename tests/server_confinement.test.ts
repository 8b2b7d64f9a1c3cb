// The static server's confinement (issue 8, part 7), beyond tests/server.test.ts:
// nothing of the repository is reachable except the page, its bundle, the asm
// builds and onnxruntime-web's runtime files, however the path is spelled
// (dot segments in every route, double encoding, absolute-form request targets);
// uploads only by PUT, only under /upload/, only into the run directory.
import test from 'ava';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/browser/bundle.ts';
import { StaticServer } from '../harness/browser/server.ts';
import { rawRequest } from './helpers/http.ts';

let base: string;
let runDir: string;
let data: string;
let server: StaticServer;
let url: string;

test.before(async () => {
  base = await mkdtemp(join(tmpdir(), 'dg4d-confine-test-'));
  runDir = join(base, 'run');
  data = join(base, 'data');
  await mkdir(runDir);
  await mkdir(data);
  await writeFile(join(base, 'secret.txt'), 'outside secret\n');
  await writeFile(join(data, 'frame.png'), 'png bytes');
  server = new StaticServer({ runDir, dataRoots: { root: data } });
  url = await server.start();
});
test.after.always(async () => {
  await server?.close();
  await rm(base, { recursive: true, force: true });
});

const tree = async (dir: string) => ((await readdir(dir, { recursive: true })) as string[]).sort();

test('repository files are unreachable through every route, however the path is spelled', async (t) => {
  const pkg = await readFile(join(REPO_ROOT, 'package.json'), 'utf8');
  const secretBits = [pkg.slice(0, 40), 'outside secret', 'ROOT_DIR', '[core]'];
  const paths = [
    '/package.json',
    '/harness/cli/main.ts',
    '/node_modules/puppeteer-core/package.json',
    '/.git/config',
    '/dist/page.js',
    '/reports/',
    '/%2e%2e/package.json',
    '/bundle.js/../package.json',
    '/asm/../package.json',
    '/asm/..%2fpackage.json',
    '/asm/%2e%2e/package.wasm',
    '/asm/build/../../package.json',
    '/asm/..%2f..%2fpackage.wasm',
    '/vendor/onnxruntime-web/../../../package.json',
    '/vendor/onnxruntime-web/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/vendor/onnxruntime-web/ort.min.mjs/../../../../package.json',
    '/vendor/onnxruntime-web/ort..%2f..%2f..%2fpackage.mjs',
    '/data/root/%252e%252e/secret.txt',
    '/data/root/..%252fsecret.txt',
    '/data/root/..;/secret.txt',
    '/data/root/.%2e/secret.txt',
    '/data/%2e%2e/secret.txt',
    '/upload/../package.json',
    'http://127.0.0.1:1/package.json',
    'http://evil.example/data/root/frame.png',
  ];
  for (const path of paths) {
    const r = await rawRequest(url, 'GET', path);
    t.true(r.status === 403 || r.status === 404, `${path}: status ${r.status}`);
    const body = r.body.toString('latin1');
    for (const bit of secretBits) t.false(body.includes(bit), `${path}: the body leaks file content`);
  }
  // The served data root still answers normally.
  t.is((await rawRequest(url, 'GET', '/data/root/frame.png')).body.toString(), 'png bytes');
});

test.serial('uploads: only PUT under /upload/, only into the run directory; a double-encoded dot-dot stays a plain name inside it', async (t) => {
  const before = await tree(base);
  const body = new TextEncoder().encode('EVIL');
  for (const [method, path] of [
    ['POST', '/upload/a.bin'],
    ['PATCH', '/upload/a.bin'],
    ['DELETE', '/upload/a.bin'],
    ['PUT', '/data/root/new.bin'],
    ['PUT', '/bundle.js'],
    ['PUT', '/asm/x.wasm'],
    ['PUT', '/upload/..%2f..%2fsecret.txt'],
    ['PUT', '/upload/%2e%2e%2fsecret.txt'],
    ['PUT', 'http://127.0.0.1:1/upload/../secret.txt'],
    ['PUT', '/upload/C:%5Cwindows%5Cx'],
  ] as const) {
    const r = await rawRequest(url, method, path, body);
    t.true(r.status === 403 || r.status === 404, `${method} ${path}: status ${r.status}`);
  }
  t.deepEqual(await tree(base), before, 'nothing written anywhere');
  t.is(await readFile(join(base, 'secret.txt'), 'utf8'), 'outside secret\n');
  const r = await rawRequest(url, 'PUT', '/upload/%252e%252e', body);
  t.is(r.status, 201);
  t.deepEqual(await tree(runDir), ['%2e%2e'], 'stored under its literal name, inside the run directory');
  t.deepEqual(await tree(base), [...before, 'run/%2e%2e'].sort());
});
