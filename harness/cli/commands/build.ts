// `dg4d build`: writes the page bundle to dist/ (the CLI bundles in memory on its
// own; this is for inspecting the bundle and for hosts that serve files).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, pageBundle } from '../../browser/bundle.ts';
import { writeFileAtomic } from '../../report/atomic.ts';
import { parse } from '../args.ts';

export const BUILD_HELP = `usage: dg4d build

Bundles the page core (harness/page/main.ts and the WGSL it imports) with esbuild
into dist/page.js and prints its size.`;

export async function buildCommand(argv: string[]): Promise<number> {
  parse('build', argv, { help: { type: 'boolean', short: 'h', default: false } });
  const code = await pageBundle();
  await mkdir(join(REPO_ROOT, 'dist'), { recursive: true });
  const out = join(REPO_ROOT, 'dist', 'page.js');
  await writeFileAtomic(out, code);
  process.stdout.write(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB)\n`);
  return 0;
}
