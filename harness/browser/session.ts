// A headless Chromium with one page that holds the GPU core. Every way it can
// fail (page crash, browser exit, device loss, a call running past its timeout)
// rejects the call in flight with a clear error; close() always ends the process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { decodeValue, encodeValue } from '../protocol/codec.ts';
import type { AdapterReport, JobResult, PageMessage } from '../protocol/messages.ts';
import { CallGuard } from './call_guard.ts';
import { ADAPTER_FLAGS, BASE_FLAGS, adapterAttempts, findChrome, type AdapterChoice } from './chrome.ts';
import { StaticServer } from './server.ts';
import { BrowserError, CallTimeoutError, DEFAULT_CALL_TIMEOUT_MS, DeviceLostError, PageJobError, type GpuSession, type SessionOptions } from './session_types.ts';

export { BrowserError, CallTimeoutError, DeviceLostError, PageJobError, type SessionOptions } from './session_types.ts';

/** Processes started by this Node process, killed synchronously if it exits abruptly. */
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) killGroup(pid);
});

function killGroup(pid: number) {
  // puppeteer starts Chromium detached, so its pid leads a process group.
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class BrowserSession implements GpuSession {
  readonly runtime = 'chromium' as const;
  private readonly calls = new CallGuard();

  private constructor(
    readonly browser: Browser,
    readonly page: Page,
    readonly server: StaticServer,
    readonly adapterFlags: Exclude<AdapterChoice, 'auto'>,
    readonly browserVersion: string,
    readonly userDataDir: string,
    readonly pid: number,
    readonly launchArgs: string[],
    private readonly options: SessionOptions,
  ) {}

  /** Starts the server and a browser; with adapter 'auto', falls back to SwiftShader. */
  static async open(options: SessionOptions = {}): Promise<BrowserSession> {
    const attempts = adapterAttempts(options.adapter ?? 'auto');
    let lastError: Error | null = null;
    for (const flags of attempts) {
      const session = await BrowserSession.launch(flags, options);
      try {
        const ok = await session.evaluate(async () => {
          const a = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
          return Boolean(a) && !(a!.info as { isFallbackAdapter?: boolean }).isFallbackAdapter;
        });
        // A fallback (software) adapter is fine when SwiftShader is what we asked for.
        if (ok || flags === 'swiftshader' || attempts.length === 1) return session;
        lastError = new BrowserError(`no hardware WebGPU adapter with ${flags} flags`);
      } catch (err) {
        lastError = err as Error;
      }
      await session.close();
    }
    throw lastError ?? new BrowserError('no WebGPU adapter');
  }

  private static async launch(flags: Exclude<AdapterChoice, 'auto'>, options: SessionOptions): Promise<BrowserSession> {
    const server = new StaticServer({ dataRoots: options.dataRoots, runDir: options.runDir });
    const url = await server.start();
    const userDataDir = await mkdtemp(join(tmpdir(), 'dg4d-chromium-'));
    // puppeteer adds --headless=new itself for headless: true.
    const args = [...BASE_FLAGS.filter((f) => !f.startsWith('--headless')), ...ADAPTER_FLAGS[flags], `--user-data-dir=${userDataDir}`];
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: findChrome(),
        headless: true,
        args,
        timeout: options.launchTimeoutMs ?? 60_000,
        // Our own per-call timeouts govern; CDP's default 180 s would cut long benchmarks.
        protocolTimeout: 24 * 3600_000,
        // CDP over a pipe: Chromium exits when this process dies, even by SIGKILL
        // (with a WebSocket it would keep running, orphaned).
        pipe: true,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (err) {
      await server.close();
      await rm(userDataDir, { recursive: true, force: true });
      throw new BrowserError(`could not start Chromium: ${(err as Error).message}`);
    }
    const proc = browser.process();
    const pid = proc?.pid ?? -1;
    if (pid > 0) live.add(pid);
    const version = await browser.version();
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    const session = new BrowserSession(browser, page, server, flags, version, userDataDir, pid, proc?.spawnargs ?? args, options);
    try {
      await session.attach(url);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  private async attach(url: string) {
    const { page, options } = this;
    const forward = options.onConsole ?? ((level: string, text: string) => options.quiet || process.stderr.write(`[page ${level}] ${text}\n`));
    page.on('console', (msg) => forward(msg.type(), msg.text()));
    page.on('pageerror', (err) => forward('error', `uncaught: ${(err as Error).message ?? String(err)}`));
    page.on('error', (err) => this.calls.fail(new BrowserError(`page crashed: ${err.message}`)));
    this.browser.on('disconnected', () => this.calls.fail(new BrowserError('Chromium exited or disconnected')));
    await page.exposeFunction('__dg4dEmit', (msg: PageMessage) => {
      if (msg.type === 'device-lost') this.calls.fail(new DeviceLostError(`GPU device lost (${msg.reason}): ${msg.message}`), false);
      options.onMessage?.(msg);
    });
    await this.calls.call(() => page.goto(url, { waitUntil: 'load' }), 60_000, 'loading the page');
    await this.calls.call(() => page.waitForFunction(() => typeof globalThis.dg4d === 'object', { timeout: 0 }), 60_000, 'starting the page core');
  }


  /** Runs a named page job (harness/page/jobs.ts). */
  async run<T = unknown>(job: string, args: Record<string, unknown> = {}, opts: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const encoded = encodeValue(args);
    const result = await this.calls.call(
      () => this.page.evaluate((name: string, a: unknown) => globalThis.dg4d.run(name, a), job, encoded) as Promise<JobResult>,
      timeoutMs,
      `page job '${job}'`,
    );
    if (!result.ok) throw new PageJobError(`page job '${job}' failed: ${result.error.message}`, result.error.stack);
    return decodeValue(result.value) as T;
  }

  /** Evaluates a function in the page with the same failure handling (tests, probes). */
  evaluate<T>(fn: () => T | Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
    return this.calls.call(() => this.page.evaluate(fn) as Promise<T>, opts.timeoutMs ?? this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, 'page evaluation');
  }

  adapterInfo(): Promise<AdapterReport> {
    return this.run<AdapterReport>('info');
  }

  /** Closes the browser (killing it if it does not exit), the server and the profile dir. */
  async close(): Promise<void> {
    if (!this.calls.close()) return;
    await Promise.race([this.browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    if (this.pid > 0) {
      if (isAlive(this.pid)) killGroup(this.pid);
      for (let i = 0; i < 50 && isAlive(this.pid); i++) await new Promise((r) => setTimeout(r, 100));
      live.delete(this.pid);
    }
    await this.server.close();
    await rm(this.userDataDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Opens a session, runs `fn`, and always closes the session. */
export async function withSession<T>(options: SessionOptions, fn: (s: BrowserSession) => Promise<T>): Promise<T> {
  const session = await BrowserSession.open(options);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
