// What every page job receives: the device, a pipeline cache and the message stream.
// DOM-free, so another WebGPU host (Dawn in Node) can build one too.
import { createGpu, type Gpu } from '../gpu/device.ts';
import { PipelineCache } from '../gpu/pipelines.ts';
import type { PageMessage } from '../protocol/messages.ts';

export interface JobContext {
  gpu: Gpu;
  cache: PipelineCache;
  emit(msg: PageMessage): void;
  /** Host files the core loads at run time (WASM builds, metric models, onnxruntime-web). */
  assets: HostAssets;
}

/**
 * Files the host provides, named by the paths the static server serves them at
 * (harness/browser/server.ts): `/asm/<module>.wasm`, `/data/<root>/<file>`,
 * `/vendor/onnxruntime-web/<file>`. The page fetches them; Dawn in Node reads them
 * from disk (harness/dawn/assets.ts).
 */
export interface HostAssets {
  /** The file's bytes; rejects with a message naming the path when it cannot be read. */
  bytes(path: string): Promise<ArrayBuffer>;
  /** A URL that import() and runtime loaders (onnxruntime-web's wasmPaths) resolve `path` to. */
  url(path: string): string;
}

/** The page's assets: same-origin requests to the static server. */
export const fetchAssets: HostAssets = {
  async bytes(path) {
    const res = await fetch(path);
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.arrayBuffer();
  },
  url: (path) => path,
};

export type Job = (ctx: JobContext, args: Record<string, unknown>) => Promise<unknown>;

/** Holds one device; a lost device is forgotten so the next job gets a new one. */
export class GpuHost {
  private current: Promise<JobContext> | null = null;
  /** Rejects the job in flight when the device is lost mid-job. */
  private lostReject: ((e: Error) => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly gpuApi: GPU,
    private readonly emit: (msg: PageMessage) => void,
    private readonly assets: HostAssets = fetchAssets,
  ) {}

  context(): Promise<JobContext> {
    this.current ??= createGpu(this.gpuApi, {
      onLost: (info) => {
        this.current = null;
        const message = info.message || 'no message';
        this.emit({ type: 'device-lost', reason: String(info.reason), message });
        this.lostReject?.(new Error(`GPU device lost (${info.reason}): ${message}`));
      },
      onUncapturedError: (error) => {
        const kind = error.constructor.name === 'GPUOutOfMemoryError' ? 'out-of-memory' : error.constructor.name === 'GPUInternalError' ? 'internal' : 'validation';
        this.emit({ type: 'gpu-error', kind, message: error.message });
      },
    }).then((gpu) => ({ gpu, cache: new PipelineCache(gpu.device), emit: this.emit, assets: this.assets }));
    this.current.catch(() => (this.current = null));
    return this.current;
  }

  /** Destroys the device if one was made (a host that outlives its jobs: Dawn in Node). */
  async destroy(): Promise<void> {
    const current = this.current;
    this.current = null;
    const ctx = await current?.catch(() => null);
    ctx?.gpu.device.destroy();
  }

  /**
   * Runs a job. A device loss while it runs rejects it instead of leaving it
   * pending, and any GPU error it caused (validation, out-of-memory, internal)
   * fails it: WebGPU would otherwise only log them and go on with wrong results.
   */
  run(job: Job, args: Record<string, unknown>): Promise<unknown> {
    // One job at a time: error scopes live on the device, so overlapping jobs
    // would be blamed for each other's errors.
    const result = this.queue.then(() => this.runNow(job, args));
    this.queue = result.catch(() => {});
    return result;
  }

  private async runNow(job: Job, args: Record<string, unknown>): Promise<unknown> {
    const ctx = await this.context();
    const { device } = ctx.gpu;
    const lost = new Promise<never>((_, reject) => (this.lostReject = reject));
    const scopes: GPUErrorFilter[] = ['internal', 'out-of-memory', 'validation'];
    for (const filter of scopes) device.pushErrorScope(filter);
    let value: unknown;
    let failure: unknown = null;
    try {
      value = await Promise.race([job(ctx, args), lost]);
    } catch (err) {
      failure = err;
    } finally {
      this.lostReject = null;
    }
    // Pop innermost first. A lost device resolves or rejects these harmlessly in
    // Chromium; Dawn in Node never settles them, so the loss ends the wait.
    const gone = device.lost.then(() => null);
    const errors: string[] = [];
    for (const filter of [...scopes].reverse()) {
      const error = await Promise.race([device.popErrorScope(), gone]).catch(() => null);
      if (error) errors.push(`${filter}: ${error.message}`);
    }
    if (failure) throw failure;
    if (errors.length) throw new Error(`GPU error during the job:\n${errors.join('\n')}`);
    return value;
  }
}
