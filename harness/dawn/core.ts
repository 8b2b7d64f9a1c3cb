// The page core, loaded into this Node process for the dawn runtime. From the
// TypeScript sources (tsx), WGSL imports need the text hook (wgsl_hooks.mjs); in
// the esbuild bundle (dg4d bundle) they are already inlined strings.
import { register } from 'node:module';
import type { GpuHost } from '../page/context.ts';
import type { JOBS } from '../page/jobs.ts';
import { webgpuModule } from './dawn_gpu.ts';

export interface PageCore {
  GpuHost: typeof GpuHost;
  JOBS: typeof JOBS;
}

let core: Promise<PageCore> | null = null;

export function pageCore(): Promise<PageCore> {
  core ??= (async () => {
    // Only the sources need the hook; a bundle has no .ts modules left.
    if (import.meta.url.endsWith('.ts')) register('./wgsl_hooks.mjs', import.meta.url);
    // Some modules read GPUBufferUsage and friends when they load.
    await webgpuModule();
    const [{ GpuHost }, { JOBS }] = await Promise.all([import('../page/context.ts'), import('../page/jobs.ts')]);
    return { GpuHost, JOBS };
  })();
  core.catch(() => (core = null));
  return core;
}
