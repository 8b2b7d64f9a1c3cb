#!/usr/bin/env node
// Builds every asm/<module>/index.ts into asm/build/<module>.wasm with asc
// (asconfig.json, target `release` unless --debug). Node built-ins only, so
// harness/cli/ensure-setup.mjs can call it before anything else is loaded.
// A module is rebuilt when its .wasm is missing or older than any .ts in its
// folder, asconfig.json or this file; `--force` rebuilds all.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const asmDir = dirname(fileURLToPath(import.meta.url));
const root = join(asmDir, '..');
export const ASM_BUILD_DIR = join(asmDir, 'build');

/** Folders of asm/ that hold an index.ts, sorted by name. */
export function asmModules() {
  return readdirSync(asmDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'build' && existsSync(join(asmDir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether asm/build/<name>.wasm is missing or older than its sources. */
export function isStale(name) {
  const out = join(ASM_BUILD_DIR, `${name}.wasm`);
  if (!existsSync(out)) return true;
  const shared = Math.max(statSync(join(asmDir, 'asconfig.json')).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  return statSync(out).mtimeMs < Math.max(shared, newestMtime(join(asmDir, name)));
}

/**
 * Compiles the stale modules (all with force) and returns their names.
 * The .wasm is written to a temporary name and renamed, so a reader never sees half a file.
 */
export function buildAsm({ force = false, target = 'release', log = (s) => process.stderr.write(`[asm] ${s}\n`) } = {}) {
  const asc = join(root, 'node_modules', '.bin', 'asc');
  if (!existsSync(asc)) throw new Error(`AssemblyScript compiler not found at ${asc} (run npm ci)`);
  mkdirSync(ASM_BUILD_DIR, { recursive: true });
  const built = [];
  for (const name of asmModules()) {
    if (!force && !isStale(name)) continue;
    const out = join(ASM_BUILD_DIR, `${name}.wasm`);
    const tmp = `${out}.${process.pid}.tmp`;
    const args = [join('asm', name, 'index.ts'), '--config', join('asm', 'asconfig.json'), '--target', target, '--outFile', tmp];
    log(`asc ${args.join(' ')}`);
    const r = spawnSync(asc, args, { cwd: root, stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`asc failed for asm/${name}/index.ts (${r.error ? r.error.message : `exit status ${r.status}`})`);
    }
    renameSync(tmp, out);
    built.push(name);
  }
  return built;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const argv = process.argv.slice(2);
    const built = buildAsm({ force: argv.includes('--force'), target: argv.includes('--debug') ? 'debug' : 'release' });
    process.stderr.write(`[asm] ${built.length ? `built ${built.join(', ')}` : 'up to date'}\n`);
  } catch (err) {
    process.stderr.write(`[asm] error: ${err.message}\n`);
    process.exit(1);
  }
}
