// `dg4d build`: writes the page bundle to dist/ (the CLI bundles in memory on its
// own; this is for inspecting the bundle and for hosts that serve files).
import { mkdir, readFile } from 'node:fs/promises';
import { ASM_BUILD_DIR, asmModules, buildAsm } from '../../../asm/build.mjs';
import { join } from 'node:path';
import { REPO_ROOT, pageBundle } from '../../browser/bundle.ts';
import { writeFileAtomic } from '../../report/atomic.ts';
import { parse } from '../args.ts';

export const BUILD_HELP = `usage: dg4d build

Bundles the page core (harness/page/main.ts and the WGSL it imports) with esbuild
into dist/page.js, builds the AssemblyScript modules that are stale
(asm/<module>/index.ts -> asm/build/<module>.wasm) and copies them to
dist/asm/, and prints the sizes.`;

export async function buildCommand(argv: string[]): Promise<number> {
  parse('build', argv, { help: { type: 'boolean', short: 'h', default: false } });
  const code = await pageBundle();
  await mkdir(join(REPO_ROOT, 'dist'), { recursive: true });
  const out = join(REPO_ROOT, 'dist', 'page.js');
  await writeFileAtomic(out, code);
  process.stdout.write(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB)\n`);
  buildAsm({ log: () => {} });
  await mkdir(join(REPO_ROOT, 'dist', 'asm'), { recursive: true });
  for (const name of asmModules()) {
    const wasm = await readFile(join(ASM_BUILD_DIR, `${name}.wasm`));
    const dest = join(REPO_ROOT, 'dist', 'asm', `${name}.wasm`);
    await writeFileAtomic(dest, wasm);
    process.stdout.write(`wrote ${dest} (${(wasm.length / 1024).toFixed(0)} KiB)\n`);
  }
  return 0;
}
