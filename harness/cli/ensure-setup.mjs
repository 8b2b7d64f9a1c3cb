#!/usr/bin/env node
// Bootstrap that runs before any dependency exists, so it uses Node built-ins only.
// `npm run bench` and `npm test` call it first: it installs npm packages when
// node_modules is missing or older than package-lock.json, and Debian's chromium
// when no browser is found, and builds the AssemblyScript modules (asm/build.mjs)
// when their .wasm is missing or stale. Idempotent and quiet when nothing is missing.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsm } from '../../asm/build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const stampPath = join(root, 'node_modules', '.dg4d-lock-sha256');

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd} failed to start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with status ${r.status}`);
}

function lockHash() {
  return createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
}

export function ensureNodeModules() {
  const want = lockHash();
  const have = existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : '';
  if (have === want && existsSync(join(root, 'node_modules', 'puppeteer-core'))) return false;
  log(existsSync(join(root, 'node_modules')) ? 'node_modules is stale; reinstalling' : 'installing npm packages');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stampPath, want + '\n');
  return true;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const DEFAULT_CHROME = '/usr/bin/chromium';

/** CHROME_PATH when set (it must then be executable), else Debian's chromium, else null. */
export function findChrome(candidates = [DEFAULT_CHROME]) {
  const env = process.env.CHROME_PATH;
  if (env) {
    if (!isExecutable(env)) throw new Error(`CHROME_PATH=${env} is not an executable file`);
    return env;
  }
  return candidates.find(isExecutable) ?? null;
}

/** Installs Debian's chromium when no browser is found; returns whether it installed. */
export function ensureChrome({ candidates = [DEFAULT_CHROME], isRoot = typeof process.getuid === 'function' && process.getuid() === 0 } = {}) {
  if (findChrome(candidates)) return false;
  if (!isRoot) {
    throw new Error(
      'No browser found: set CHROME_PATH to a Chromium/Chrome binary, or install Debian\'s ' +
        'chromium (as root: apt-get update && apt-get install -y chromium).',
    );
  }
  log('no browser found; installing Debian chromium with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', 'chromium'], { env });
  if (!findChrome()) throw new Error('apt-get installed chromium but /usr/bin/chromium is still missing');
  return true;
}

/** Whether the Vulkan loader that Dawn (the dawn runtime, npm webgpu) opens is installed. */
export function hasVulkanLoader() {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  if (r.status === 0 && /\blibvulkan\.so\.1\b/.test(r.stdout)) return true;
  return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some((p) => existsSync(p));
}

/**
 * Installs Debian's libvulkan1 for the dawn runtime when it is missing (as root);
 * otherwise only warns: the chromium runtime does not need it.
 */
export function ensureVulkanLoader({ isRoot = typeof process.getuid === 'function' && process.getuid() === 0 } = {}) {
  if (process.platform !== 'linux' || hasVulkanLoader()) return false;
  if (!isRoot) {
    log('warning: no Vulkan loader (libvulkan.so.1): --runtime dawn will not work (as root: apt-get install -y libvulkan1)');
    return false;
  }
  log('no Vulkan loader; installing Debian libvulkan1 with apt-get (for --runtime dawn)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', 'libvulkan1'], { env });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const [major, minor] = process.versions.node.split('.').map(Number);
    if (major < 20 || (major === 20 && minor < 8)) throw new Error(`Node ${process.versions.node} is too old; need >= 20.8`);
    ensureNodeModules();
    buildAsm(); // asm/<module>/index.ts -> asm/build/<module>.wasm when missing or stale
    ensureChrome();
    ensureVulkanLoader();
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(1);
  }
}
