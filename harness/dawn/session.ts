// The dawn runtime: the page core's jobs (harness/page/jobs.ts) run in this Node
// process on Dawn's WebGPU (npm `webgpu`), behind the same GpuSession interface
// as headless Chromium. What differs from the browser host, on purpose:
// - arguments and results are copied as they would cross the page boundary
//   (acrossBoundary), so a job sees and returns the same values under both hosts;
// - host files come from disk (assets.ts) instead of the static server;
// - a timed-out job cannot be stopped (it shares this process): the call fails,
//   and later calls queue behind it as they do in the page.
import { CallGuard } from '../browser/call_guard.ts';
import { adapterAttempts } from '../browser/chrome.ts';
import {
  BrowserError,
  CallTimeoutError,
  DEFAULT_CALL_TIMEOUT_MS,
  DeviceLostError,
  PageJobError,
  type GpuSession,
  type SessionOptions,
} from '../browser/session_types.ts';
import type { GpuHost } from '../page/context.ts';
import type { AdapterReport, PageMessage } from '../protocol/messages.ts';
import { diskAssets } from './assets.ts';
import { pageCore, type PageCore } from './core.ts';
import { createDawnGpu, DawnUnavailableError, webgpuVersion, type DawnLaunch } from './dawn_gpu.ts';

const TYPED = [Uint8Array, Uint8ClampedArray, Uint16Array, Uint32Array, Int8Array, Int16Array, Int32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const;

/**
 * A copy of `v` as it arrives on the other side of the page boundary
 * (protocol/codec.ts over JSON): typed arrays copied into their base type, plain
 * objects for everything else, non-finite numbers as null, undefined and
 * functions dropped from objects (null in arrays).
 */
export function acrossBoundary(v: unknown, inArray = false): unknown {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return inArray ? null : undefined;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') throw new TypeError('a BigInt cannot cross the page boundary');
  const Ctor = TYPED.find((C) => v instanceof C);
  if (Ctor) return new (Ctor as unknown as new (a: ArrayLike<number>) => unknown)(v as ArrayLike<number>);
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) throw new Error(`codec: ${(v as object).constructor.name} cannot cross the page boundary; use a typed array`);
  const json = (v as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return acrossBoundary(json.call(v), inArray);
  if (Array.isArray(v)) return v.map((x) => acrossBoundary(x, true));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const c = acrossBoundary(x);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

export class DawnSession implements GpuSession {
  readonly runtime = 'dawn' as const;
  private readonly calls = new CallGuard();
  private host!: GpuHost;

  private constructor(
    private readonly core: PageCore,
    readonly adapterFlags: DawnLaunch['adapterFlags'],
    readonly launchArgs: string[],
    readonly browserVersion: string,
    private readonly options: SessionOptions,
  ) {}

  /** Creates Dawn's GPU; with adapter 'auto', tries Vulkan's drivers first when a GPU device node exists, then SwiftShader. */
  static async open(options: SessionOptions = {}): Promise<DawnSession> {
    const core = await pageCore();
    const attempts = adapterAttempts(options.adapter ?? 'auto');
    const version = `Dawn (npm webgpu ${webgpuVersion()}) in Node ${process.version}`;
    let lastError: Error | null = null;
    for (const flags of attempts) {
      try {
        const launch = await createDawnGpu(flags);
        const adapter = await withTimeout(launch.gpu.requestAdapter({ powerPreference: 'high-performance' }), options.launchTimeoutMs ?? 60_000, 'requesting a Dawn adapter');
        const hardware = Boolean(adapter) && !adapter!.info.isFallbackAdapter;
        if (adapter && (hardware || flags === 'swiftshader' || attempts.length === 1)) {
          const session = new DawnSession(core, launch.adapterFlags, launch.launchArgs, version, options);
          session.host = new core.GpuHost(launch.gpu, (msg) => session.receive(msg), diskAssets(options.dataRoots ?? {}));
          return session;
        }
        lastError = new BrowserError(adapter ? `Dawn found no hardware adapter with ${flags} drivers` : `Dawn found no adapter with ${flags} drivers (${launch.launchArgs.join(' ')})`);
      } catch (err) {
        if (err instanceof DawnUnavailableError) throw err;
        lastError = err as Error;
      }
    }
    throw lastError ?? new BrowserError('Dawn found no WebGPU adapter');
  }

  private receive(msg: PageMessage) {
    if (this.calls.closed) return;
    if (msg.type === 'device-lost') this.calls.fail(new DeviceLostError(`GPU device lost (${msg.reason}): ${msg.message}`), false);
    this.options.onMessage?.(msg);
  }



  /** Runs a named page-core job in this process. */
  async run<T = unknown>(job: string, args: Record<string, unknown> = {}, opts: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const fn = this.core.JOBS[job];
    const value = await this.calls.call(
      async () => {
        if (!fn) throw new PageJobError(`page job '${job}' failed: unknown page job '${job}' (known: ${Object.keys(this.core.JOBS).join(', ')})`);
        try {
          return await this.host.run(fn, (acrossBoundary(args) ?? {}) as Record<string, unknown>);
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          throw new PageJobError(`page job '${job}' failed: ${e.message}`, e.stack);
        }
      },
      timeoutMs,
      `page job '${job}'`,
    );
    return acrossBoundary(value) as T;
  }

  adapterInfo(): Promise<AdapterReport> {
    return this.run<AdapterReport>('info');
  }

  /** Destroys the device; the GPU object itself is released with the process. */
  async close(): Promise<void> {
    if (!this.calls.close()) return;
    await this.host.destroy().catch(() => {});
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CallTimeoutError(`${what} did not finish within ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
