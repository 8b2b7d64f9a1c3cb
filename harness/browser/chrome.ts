// Which Chromium to start and with which flags (DESIGN.md, "Browser and GPU").
import { existsSync, readdirSync } from 'node:fs';
// The same lookup as the dependency-free bootstrap that `npm test` runs first.
import { findChrome as findChromeBootstrap } from '../cli/ensure-setup.mjs';

export type AdapterChoice = 'auto' | 'swiftshader' | 'vulkan';
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['auto', 'swiftshader', 'vulkan'];

export function findChrome(): string {
  const path = findChromeBootstrap();
  if (!path) {
    throw new Error('No browser found: set CHROME_PATH, or run `npm test` / `npm run bench` as root to install Debian chromium.');
  }
  return path;
}

/** Always on: headless, no sandbox (root in containers), no background traffic. */
export const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  // Unquantised timestamp queries: Chromium rounds them to 100 µs otherwise.
  '--enable-webgpu-developer-features',
];

export const ADAPTER_FLAGS: Record<Exclude<AdapterChoice, 'auto'>, string[]> = {
  swiftshader: ['--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
  vulkan: ['--use-angle=vulkan', '--enable-features=Vulkan', '--disable-vulkan-surface'],
};

/** Whether this machine shows a GPU device node worth trying Vulkan on. */
export function hasGpuDeviceNode(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** The concrete adapters to try, in order, for a choice. */
export function adapterAttempts(choice: AdapterChoice): Exclude<AdapterChoice, 'auto'>[] {
  if (choice !== 'auto') return [choice];
  return hasGpuDeviceNode() ? ['vulkan', 'swiftshader'] : ['swiftshader'];
}
