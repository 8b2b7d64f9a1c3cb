// Run directories: reports/<run-id>/ by default, one per run, never reused.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../browser/bundle.ts';

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class OutputDirError extends Error {
  override name = 'OutputDirError';
}

/**
 * Creates the run directory. The default is a fresh reports/<run-id>/; an --out
 * directory may exist only if empty, so a run never mixes with or overwrites another.
 */
export async function createRunDir(out: string | undefined, runId: string): Promise<string> {
  if (!out) {
    const dir = join(REPO_ROOT, 'reports', runId);
    await mkdir(join(REPO_ROOT, 'reports'), { recursive: true });
    await mkdir(dir); // fails if it exists: run ids carry a random suffix
    return dir;
  }
  const dir = resolve(out);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new OutputDirError(`--out ${out}: cannot read directory (${err.code ?? err.message})`);
  });
  if (entries === null) await mkdir(dir, { recursive: true });
  else if (entries.length) throw new OutputDirError(`--out ${out}: directory is not empty; choose a new one so no earlier run is overwritten`);
  return dir;
}
