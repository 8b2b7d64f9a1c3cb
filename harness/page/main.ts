// Page entry: wires the DOM-free core to the browser (navigator.gpu) and exposes
// `globalThis.dg4d.run(name, args)` for the host to call through puppeteer.
import { decodeValue, encodeValue } from '../protocol/codec.ts';
import type { JobResult, PageMessage } from '../protocol/messages.ts';
import { GpuHost } from './context.ts';
import { JOBS } from './jobs.ts';

declare global {
  // Installed by the host with page.exposeFunction before the bundle loads.
  var __dg4dEmit: ((msg: PageMessage) => void) | undefined;
  var dg4d: { run(name: string, args: unknown): Promise<JobResult>; jobs: string[] };
}

const emit = (msg: PageMessage) => globalThis.__dg4dEmit?.(msg);

let host: GpuHost | null = null;

globalThis.dg4d = {
  jobs: Object.keys(JOBS),
  async run(name, args) {
    try {
      const job = JOBS[name];
      if (!job) throw new Error(`unknown page job '${name}' (known: ${Object.keys(JOBS).join(', ')})`);
      if (!('gpu' in navigator) || !navigator.gpu) throw new Error('WebGPU is not available in this page (navigator.gpu is missing)');
      host ??= new GpuHost(navigator.gpu, emit);
      const value = await host.run(job, (decodeValue(args) ?? {}) as Record<string, unknown>);
      return { ok: true, value: encodeValue(value) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return { ok: false, error: { name: e.name, message: e.message, stack: e.stack } };
    }
  },
};
