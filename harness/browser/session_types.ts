// What the commands need from a GPU host, whichever runtime holds the page core:
// headless Chromium (harness/browser/session.ts) or Dawn in this Node process
// (harness/dawn/session.ts). Free of puppeteer and of webgpu, so either host can
// be loaded without the other.
import type { AdapterReport, PageMessage } from '../protocol/messages.ts';
import type { AdapterChoice } from './chrome.ts';

export const RUNTIMES = ['chromium', 'dawn'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export class BrowserError extends Error {
  override name = 'BrowserError';
}
export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
}
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}
/** An error thrown by the page job itself, with the page-side stack. */
export class PageJobError extends Error {
  override name = 'PageJobError';
  constructor(
    message: string,
    readonly pageStack?: string,
  ) {
    super(message);
  }
}

export interface SessionOptions {
  adapter?: AdapterChoice;
  /** Directory that page uploads are confined to. */
  runDir?: string;
  /** Folders the page core may read, by name (served as /data/<name>/...). */
  dataRoots?: Record<string, string>;
  /** Default per-call timeout. */
  callTimeoutMs?: number;
  launchTimeoutMs?: number;
  onMessage?: (msg: PageMessage) => void;
  /** Page console lines; default: written to stderr unless `quiet`. */
  onConsole?: (level: string, text: string) => void;
  quiet?: boolean;
}

export const DEFAULT_CALL_TIMEOUT_MS = 15 * 60_000;

/** One WebGPU host running the page core's named jobs (harness/page/jobs.ts). */
export interface GpuSession {
  readonly runtime: Runtime;
  /** The adapter actually used: 'swiftshader' or 'vulkan'. */
  readonly adapterFlags: Exclude<AdapterChoice, 'auto'>;
  /** Chromium: its version string; Dawn: the webgpu package and Node versions. */
  readonly browserVersion: string;
  /** Chromium: its command line; Dawn: the options given to create() and the Vulkan environment. */
  readonly launchArgs: string[];
  run<T = unknown>(job: string, args?: Record<string, unknown>, opts?: { timeoutMs?: number }): Promise<T>;
  adapterInfo(): Promise<AdapterReport>;
  close(): Promise<void>;
}
