// How a session (headless Chromium or Dawn in this process) guards its calls:
// each call races its own work against the session failing and its timeout, so
// a crash, an exit or a hung job rejects the caller instead of leaving it waiting.
import { BrowserError, CallTimeoutError } from './session_types.ts';

export class CallGuard {
  private failure: Error | null = null;
  private readonly pending = new Set<(e: Error) => void>();
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Rejects everything in flight. `sticky` failures (crash, exit) also refuse all
   * later calls; a lost device only fails the current call (the core makes a new one).
   */
  fail(err: Error, sticky = true): void {
    if (sticky && !this.failure) this.failure = err;
    for (const reject of this.pending) reject(err);
    this.pending.clear();
  }

  /** Refuses later calls and rejects those in flight; false when it was closed already. */
  close(): boolean {
    if (this.isClosed) return false;
    this.isClosed = true;
    this.fail(new BrowserError('session closed'));
    return true;
  }

  /** Starts `start()` only if the session is usable, and races it against failure and timeout. */
  async call<T>(start: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
    if (this.isClosed) throw new BrowserError(`session is closed (${what})`);
    if (this.failure) throw this.failure;
    const work = start();
    let reject!: (e: Error) => void;
    const failed = new Promise<never>((_, r) => (reject = r));
    this.pending.add(reject);
    const timer = setTimeout(() => reject(new CallTimeoutError(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await Promise.race([work, failed]);
    } finally {
      clearTimeout(timer);
      this.pending.delete(reject);
      work.catch(() => {}); // the loser of the race must not become an unhandled rejection
    }
  }
}
