// `dg4d bundle`: one .tar.gz with what a GPU server without registry access needs
// to run the bench on the dawn runtime: the CLI and page core as one esbuild
// bundle (WGSL inlined), the AssemblyScript builds, the paper reference tables and
// baselines, and the production dependencies that cannot be bundled, for
// linux-x64 only: Dawn's dawn.node and onnxruntime-web's single-threaded wasm
// build. Chromium's side (puppeteer-core, esbuild for the page bundle) is left
// out; `--runtime chromium` says so. Optionally the node binary itself.
import { build, type Plugin } from 'esbuild';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { REPO_ROOT } from '../../browser/bundle.ts';
import { findLibVulkan } from '../../dawn/dawn_gpu.ts';
import { toolVersion } from '../../report/environment.ts';
import { UsageError, parse } from '../args.ts';

export const BUNDLE_HELP = `usage: dg4d bundle --out FILE [--with-node] [--json]

Writes FILE (.tar.gz) holding dg4d-bench/ for linux-x64 machines with a Vulkan
driver and no browser or registry: unpack it and run dg4d-bench/dg4d (the dawn
runtime is its default), e.g.

  tar -xzf dg4d-bench.tar.gz && dg4d-bench/dg4d info
  dg4d-bench/dg4d bench --preset tiny

It holds the CLI and page core as one JavaScript file, asm/build/*.wasm, the
reference tables and baselines, node_modules/webgpu (linux-x64 dawn.node only),
onnxruntime-web's single-threaded wasm build (learned metrics), and Debian's
Vulkan loader (lib/libvulkan.so.1, used only where the system has none).
Prints the size; bundles over ${64} MiB are reported as too large (exit 1).

  --out FILE     where to write the archive (atomically)
  --with-node    also pack this node binary (node/bin/node; the run script prefers it)
  --json         print the summary as JSON
  -h, --help     this help`;

export const MAX_BUNDLE_BYTES = 64 * 2 ** 20;
const TOP = 'dg4d-bench';

/** One file of the archive: bytes from memory or from a file on disk. */
interface Entry {
  path: string;
  mode: number;
  data?: Uint8Array;
  file?: string;
}

// --- ustar --------------------------------------------------------------------

/** Splits a path into ustar's prefix (155) and name (100) at a slash. */
function splitName(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const [prefix, name] = [path.slice(0, i), path.slice(i + 1)];
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new Error(`bundle: path too long for a ustar archive: ${path}`);
}

/** A ustar header block (POSIX.1-1988) for a regular file. */
export function tarHeader(path: string, size: number, mode: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number, len: number) => h.write(s, at, len, 'utf8');
  const octal = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', at, len);
  const [prefix, name] = splitName(path);
  put(name, 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.floor(mtime), 136, 12);
  h.fill(' ', 148, 156); // the checksum counts its own field as spaces
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

async function writeTarGz(out: string, entries: Entry[], mtime: number): Promise<number> {
  const tmp = `${out}.${process.pid}.tmp`;
  const gz = createGzip({ level: 6 });
  const sink = createWriteStream(tmp, { flags: 'wx' });
  gz.pipe(sink);
  const write = async (b: Uint8Array) => {
    if (!gz.write(b)) await once(gz, 'drain');
  };
  try {
    for (const e of entries) {
      const data = e.data ?? (await readFile(e.file!));
      await write(tarHeader(`${TOP}/${e.path}`, data.length, e.mode, mtime));
      await write(data);
      if (data.length % 512) await write(Buffer.alloc(512 - (data.length % 512)));
    }
    await write(Buffer.alloc(1024)); // two zero blocks end the archive
    gz.end();
    await once(sink, 'close');
    await rename(tmp, out);
  } catch (err) {
    gz.destroy();
    sink.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  return (await stat(out)).size;
}

// --- contents -----------------------------------------------------------------

/** Chromium's side replaced by modules that explain why it is missing. */
const chromiumLeftOut: Plugin = {
  name: 'chromium-left-out',
  setup(b) {
    const why = "the Chromium runtime is not in a dg4d bundle (no puppeteer-core, no page bundler): use --runtime dawn";
    b.onResolve({ filter: /^(puppeteer-core|esbuild)$/ }, (a) => ({ path: a.path, namespace: 'left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(why)}); };\nexport const build = fail;\nexport default { launch: fail };`,
      loader: 'js',
    }));
  },
};

/** The scene registry is imported through a computed URL (datasets/make.ts); the bundle needs the literal import. */
const literalSceneImport: Plugin = {
  name: 'literal-scene-import',
  setup(b) {
    b.onLoad({ filter: /datasets[\\/]make\.ts$/ }, async (a) => {
      const src = await readFile(a.path, 'utf8');
      const fixed = src.replace('await import(spec)', "await import('./scenes/index.ts')");
      if (fixed === src) throw new Error('bundle: datasets/make.ts no longer imports the scene registry through `import(spec)`; update harness/cli/commands/bundle.ts');
      return { contents: fixed, loader: 'ts' };
    });
  },
};

/**
 * Scripts that run themselves when they are the main module (asm/build.mjs,
 * ensure-setup.mjs) would do so inside the bundle, whose one file is the main
 * module: their guard is turned off there.
 */
const MAIN_GUARD = 'process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]';
const noSelfRun: Plugin = {
  name: 'no-self-run',
  setup(b) {
    b.onLoad({ filter: /(asm[\\/]build|cli[\\/]ensure-setup)\.mjs$/ }, async (a) => {
      const src = await readFile(a.path, 'utf8');
      if (!src.includes(MAIN_GUARD)) throw new Error(`bundle: ${relative(REPO_ROOT, a.path)} has no '${MAIN_GUARD}' guard any more; update harness/cli/commands/bundle.ts`);
      return { contents: src.replace(MAIN_GUARD, 'false'), loader: 'js' };
    });
  },
};

/** The CLI and the page core as one ES module for Node. */
export async function bundleCli(): Promise<string> {
  const r = await build({
    stdin: { contents: "import { main } from './harness/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n", resolveDir: REPO_ROOT, sourcefile: 'dg4d-entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    loader: { '.wgsl': 'text' },
    // dawn.node is native; onnxruntime-web is loaded from its dist files at run time.
    external: ['webgpu', 'onnxruntime-web'],
    plugins: [chromiumLeftOut, literalSceneImport, noSelfRun],
    // Bundled CommonJS dependencies call require(); give the module one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __dg4dCreateRequire } from 'node:module';\nconst require = __dg4dCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

const RUN_SCRIPT = `#!/bin/sh
# dg4d-bench bundle: runs the dg4d command with the dawn runtime by default.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
node=node
[ -x "$here/node/bin/node" ] && node="$here/node/bin/node"
export DG4D_RUNTIME="\${DG4D_RUNTIME:-dawn}"
# The packed Vulkan loader only where the system has none.
if [ -e "$here/lib/libvulkan.so.1" ] && ! { ldconfig -p 2>/dev/null | grep -q 'libvulkan\\.so\\.1 '; }; then
  export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec "$node" "$here/harness/cli/dg4d.mjs" "$@"
`;

const fromRepo = (path: string, mode = 0o644): Entry => ({ path, mode, file: join(REPO_ROOT, path) });

async function filesUnder(dir: string, pick: (name: string) => boolean): Promise<Entry[]> {
  const names = (await readdir(join(REPO_ROOT, dir)).catch(() => [] as string[])).filter(pick).sort();
  return names.map((n) => fromRepo(`${dir}/${n}`));
}

/** Only the single-threaded wasm build that learned_metrics.ts loads (ort.wasm.min.mjs). */
const ORT_FILES = ['package.json', 'LICENSE', 'dist/ort.wasm.min.mjs', 'dist/ort-wasm-simd-threaded.mjs', 'dist/ort-wasm-simd-threaded.wasm'];
const WEBGPU_FILES = ['package.json', 'index.js', 'LICENSE.md', 'dist/linux-x64/dawn.node'];

export async function bundleEntries(o: { withNode?: boolean } = {}): Promise<Entry[]> {
  const asm = await filesUnder('asm/build', (n) => n.endsWith('.wasm'));
  if (!asm.length) throw new Error('bundle: asm/build/ has no .wasm (run: node asm/build.mjs, or npm run build)');
  const pkg = { name: 'dg4d-bench', version: toolVersion(), private: true, type: 'module', description: 'dg4d bundle (dawn runtime)' };
  const entries: Entry[] = [
    { path: 'dg4d', mode: 0o755, data: Buffer.from(RUN_SCRIPT) },
    { path: 'harness/cli/dg4d.mjs', mode: 0o755, data: Buffer.from(await bundleCli()) },
    { path: 'package.json', mode: 0o644, data: Buffer.from(JSON.stringify(pkg, null, 2) + '\n') },
    ...asm,
    ...(await filesUnder('reports/reference', (n) => n.endsWith('.json'))),
    ...(await filesUnder('reports/baselines', (n) => n.endsWith('.json'))),
    ...WEBGPU_FILES.map((f) => fromRepo(`node_modules/webgpu/${f}`)),
    ...ORT_FILES.filter((f) => existsSync(join(REPO_ROOT, 'node_modules/onnxruntime-web', f))).map((f) => fromRepo(`node_modules/onnxruntime-web/${f}`)),
  ];
  const vulkan = findLibVulkan();
  if (vulkan) entries.push({ path: 'lib/libvulkan.so.1', mode: 0o644, file: vulkan });
  if (o.withNode) entries.push({ path: 'node/bin/node', mode: 0o755, file: process.execPath });
  for (const e of entries) if (e.file && !existsSync(e.file)) throw new Error(`bundle: ${relative(REPO_ROOT, e.file)} is missing (npm ci?)`);
  return entries;
}

export interface BundleSummary {
  file: string;
  bytes: number;
  files: number;
  withNode: boolean;
  tooLarge: boolean;
}

export async function writeBundle(out: string, o: { withNode?: boolean } = {}): Promise<BundleSummary> {
  if (!existsSync(dirname(out))) throw new UsageError(`--out: folder ${dirname(out)} does not exist`);
  const entries = await bundleEntries(o);
  const bytes = await writeTarGz(out, entries, Date.now() / 1000);
  return { file: out, bytes, files: entries.length, withNode: Boolean(o.withNode), tooLarge: bytes > MAX_BUNDLE_BYTES };
}

export async function bundleCommand(argv: string[]): Promise<number> {
  const opts = parse('bundle', argv, {
    out: { type: 'string' },
    'with-node': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (!opts.out) throw new UsageError('dg4d bundle: --out FILE is required');
  const s = await writeBundle(resolve(opts.out), { withNode: opts['with-node'] });
  const mib = (s.bytes / 2 ** 20).toFixed(1);
  if (opts.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  else process.stdout.write(`wrote ${s.file}: ${mib} MiB, ${s.files} files${s.withNode ? ' (node included)' : ''}\n`);
  if (s.tooLarge) process.stderr.write(`dg4d bundle: ${mib} MiB is over the ${MAX_BUNDLE_BYTES / 2 ** 20} MiB limit\n`);
  return s.tooLarge ? 1 : 0;
}
