// Opens the GPU host a command asked for (--runtime): headless Chromium or Dawn in
// this Node process. Each is imported only when chosen, so the dawn runtime runs
// where puppeteer-core or a browser is missing (dg4d bundle) and vice versa.
import type { GpuSession, Runtime, SessionOptions } from './session_types.ts';

export interface OpenSessionOptions extends SessionOptions {
  /** Default 'chromium'. */
  runtime?: Runtime;
}

export async function openSession(options: OpenSessionOptions = {}): Promise<GpuSession> {
  const { runtime = 'chromium', ...rest } = options;
  if (runtime === 'dawn') {
    const { DawnSession } = await import('../dawn/session.ts');
    return DawnSession.open(rest);
  }
  const { BrowserSession } = await import('./session.ts');
  return BrowserSession.open(rest);
}

/** Opens a session, runs `fn`, and always closes the session. */
export async function withGpuSession<T>(options: OpenSessionOptions, fn: (s: GpuSession) => Promise<T>): Promise<T> {
  const session = await openSession(options);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
