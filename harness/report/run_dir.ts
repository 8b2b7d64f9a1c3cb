// Run directories: reports/<run-id>/ by default, one per run, never reused.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
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
 * With `claim` (run.json's first content) the directory is claimed by creating
 * run.json exclusively: of two runs started at once on one --out, one is refused.
 */
export async function createRunDir(out: string | undefined, runId: string, claim?: string): Promise<string> {
  if (!out) {
    const dir = join(REPO_ROOT, 'reports', runId);
    await mkdir(join(REPO_ROOT, 'reports'), { recursive: true });
    await mkdir(dir); // fails if it exists: run ids carry a random suffix
    if (claim !== undefined) await claimRunDir(dir, out ?? dir, claim);
    return dir;
  }
  const dir = resolve(out);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new OutputDirError(`--out ${out}: cannot read directory (${err.code ?? err.message})`);
  });
  if (entries === null) await mkdir(dir, { recursive: true });
  else if (entries.length) throw new OutputDirError(`--out ${out}: directory is not empty; choose a new one so no earlier run is overwritten`);
  if (claim !== undefined) await claimRunDir(dir, out, claim);
  return dir;
}

/** Creates run.json complete or not at all (written aside, then hard-linked: link fails if it exists). */
async function claimRunDir(dir: string, out: string, content: string): Promise<void> {
  const tmp = join(dir, `.run.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, content, { flag: 'wx' });
  try {
    await link(tmp, join(dir, 'run.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputDirError(`--out ${out}: another run started in this directory at the same time; choose a new one`);
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}
