// Bundles the page core (harness/page/main.ts) with esbuild, in memory, once per
// process. WGSL files become string imports.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: Promise<string> | null = null;

export function pageBundle(): Promise<string> {
  cached ??= build({
    entryPoints: [join(REPO_ROOT, 'harness', 'page', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    sourcemap: 'inline',
    loader: { '.wgsl': 'text' },
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  cached.catch(() => (cached = null));
  return cached;
}
