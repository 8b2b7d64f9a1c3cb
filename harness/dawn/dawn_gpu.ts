// Dawn's WebGPU for Node (npm `webgpu`, dawn.node): the Vulkan driver it is pointed
// at, the options it is created with, and the GPU object the page core receives.
//
// Dawn reaches GPUs through the Vulkan loader (Debian's libvulkan1). On a CPU
// machine the driver is SwiftShader's Vulkan ICD, which Debian's chromium ships;
// the loader finds it through VK_ICD_FILENAMES. Both are read when Dawn creates
// its Vulkan instance, so the environment is set before create().
import { existsSync, readFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { AdapterChoice } from '../browser/chrome.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * dawn.node options. Timestamp quantization is Dawn's privacy rounding of
 * timestamp queries (Chromium turns it off with --enable-webgpu-developer-features).
 */
export const DAWN_CREATE_FLAGS = ['disable-dawn-features=timestamp_quantization'];

const LIBVULKAN = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

export class DawnUnavailableError extends Error {
  override name = 'DawnUnavailableError';
}

interface WebGpuModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let loaded: Promise<WebGpuModule> | null = null;

/** Imports `webgpu` once and installs its globals (GPUBufferUsage, GPUShaderStage, ...), as the page has them. */
export function webgpuModule(): Promise<WebGpuModule> {
  loaded ??= (import('webgpu') as Promise<WebGpuModule>).then((m) => {
    for (const [k, v] of Object.entries(m.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    return m;
  });
  loaded.catch(() => (loaded = null));
  return loaded;
}

/** The installed `webgpu` package's version (dawn.node has no version of its own to ask). */
export function webgpuVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('webgpu');
    return (JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function findLibVulkan(): string | null {
  const fromEnv = process.env.LD_LIBRARY_PATH?.split(':').map((d) => join(d, 'libvulkan.so.1')) ?? [];
  return [...fromEnv, ...LIBVULKAN].find((p) => existsSync(p)) ?? null;
}

/**
 * Chromium runs its GPU process at nice -8 (where it may); SwiftShader's workers
 * under Dawn are threads of this process, so without the same priority a shared
 * machine would time the two runtimes unequally. Linux applies nice per thread and
 * new threads inherit it: this must run before Dawn starts its workers. Returns
 * the nice value in effect.
 */
function raisePriority(target = -8): number {
  try {
    if (getPriority() > target) setPriority(target);
  } catch {
    /* not permitted (not root): stay as we are */
  }
  return getPriority();
}

/** What a Dawn GPU was created with: reported as the session's launchArgs. */
export interface DawnLaunch {
  gpu: GPU;
  adapterFlags: Exclude<AdapterChoice, 'auto'>;
  launchArgs: string[];
}

/**
 * Points the Vulkan loader at the driver for `choice` and creates Dawn's GPU:
 * 'swiftshader' uses SwiftShader's ICD (unless VK_ICD_FILENAMES is already set),
 * 'vulkan' the system's drivers.
 */
export async function createDawnGpu(choice: Exclude<AdapterChoice, 'auto'>): Promise<DawnLaunch> {
  if (process.platform === 'linux' && !findLibVulkan()) {
    throw new DawnUnavailableError('the dawn runtime needs the Vulkan loader (libvulkan.so.1): as root, apt-get install -y libvulkan1 (npm test and npm run bench do this)');
  }
  const env: Record<string, string> = {};
  // The loader wants a runtime dir; containers often have none.
  if (!process.env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = tmpdir();
  if (choice === 'swiftshader' && !process.env.VK_ICD_FILENAMES) {
    if (!existsSync(SWIFTSHADER_ICD)) {
      throw new DawnUnavailableError(`SwiftShader's Vulkan driver is missing (${SWIFTSHADER_ICD}, from Debian's chromium): install chromium or set VK_ICD_FILENAMES`);
    }
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  Object.assign(process.env, env);
  const nice = raisePriority();
  const { create } = await webgpuModule();
  // DG4D_DAWN_FLAGS adds dawn.node options (toggles, 'adapter=NAME') for experiments; they are reported.
  const flags = [...DAWN_CREATE_FLAGS, ...(process.env.DG4D_DAWN_FLAGS?.split(/\s+/).filter(Boolean) ?? [])];
  const gpu = create(flags);
  const shown = { ...env, ...(process.env.VK_ICD_FILENAMES && !env.VK_ICD_FILENAMES ? { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES } : {}) };
  const launchArgs = [...Object.entries(shown).map(([k, v]) => `${k}=${v}`), ...flags, `nice=${nice}`];
  return { gpu, adapterFlags: choice, launchArgs };
}

/** Where this module lives: the page core's sources sit beside it, or it is inside a bundle. */
export const DAWN_DIR = dirname(fileURLToPath(import.meta.url));
