// Tiny scene folders generated on demand for tests and the default bench, kept in a
// git-ignored cache: datasets/.cache/<name>-<res>-<seed>/. A completion marker is
// written last, so a folder left by an interrupted write is never used: it is
// removed and generated again.
import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { openSession } from '../harness/browser/open_session.ts';
import type { GpuSession, Runtime } from '../harness/browser/session_types.ts';
import { DEFAULT_SEED } from '../harness/cli/args.ts';
import { writeJsonAtomic } from '../harness/report/atomic.ts';
import { loadSceneRegistry, removeDir, writeSceneFolder } from './make.ts';
import type { SceneFactory } from './scenes/scene.ts';

export const CACHE_ROOT = join(import.meta.dirname, '.cache');
export const COMPLETE_MARKER = '.complete';
export const TINY_RES = 64;

export interface TinySceneOptions {
  res?: number;
  seed?: number;
  /** Cache root (default datasets/.cache). */
  root?: string;
  /** Scene factory to use instead of the registry entry (tests). */
  factory?: SceneFactory;
  /** A session to render with; default: one opened (SwiftShader or GPU, auto) and closed here. */
  session?: GpuSession;
  /** The runtime of the session opened here (default chromium). */
  runtime?: Runtime;
  log?: (line: string) => void;
}

export function tinySceneDir(name: string, o: { res?: number; seed?: number; root?: string } = {}): string {
  return join(o.root ?? CACHE_ROOT, `${name}-${o.res ?? TINY_RES}-${o.seed ?? DEFAULT_SEED}`);
}

/** Returns the folder of a tiny version of the scene, generating it if missing or incomplete. */
export async function ensureTinyScene(name: string, o: TinySceneOptions = {}): Promise<string> {
  const res = o.res ?? TINY_RES;
  const seed = o.seed ?? DEFAULT_SEED;
  const dir = tinySceneDir(name, { res, seed, root: o.root });
  const complete = async () => {
    try {
      const m = JSON.parse(await readFile(join(dir, COMPLETE_MARKER), 'utf8')) as { scene?: string; res?: number; seed?: number };
      return m.scene === name && m.res === res && m.seed === seed;
    } catch {
      return false; // missing or unreadable marker: (re)generate
    }
  };
  if (await complete()) return dir;
  let factory = o.factory;
  if (!factory) {
    const scenes = await loadSceneRegistry();
    factory = scenes[name];
    if (!factory) throw new Error(`unknown scene '${name}' (known: ${Object.keys(scenes).join(', ') || 'none'})`);
  }
  // Several processes (parallel test files) may ask at once: each writes its own
  // folder and renames it into place; the first rename wins, the others use it.
  const staging = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const session = o.session ?? (await openSession({ quiet: true, runtime: o.runtime }));
  try {
    await writeSceneFolder(session, factory(seed), staging, { res, seed, log: o.log });
  } finally {
    if (!o.session) await session.close();
  }
  await writeJsonAtomic(join(staging, COMPLETE_MARKER), { scene: name, res, seed, written: new Date().toISOString() });
  try {
    await rename(staging, dir);
  } catch (err) {
    if (!(await complete())) {
      // An interrupted write from before (no marker): move it aside, then take its place.
      const stale = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
      await rename(dir, stale).catch(() => {});
      await removeDir(stale);
      await rename(staging, dir).catch(async (again: unknown) => {
        if (!(await complete())) throw again ?? err;
      });
    }
  }
  await removeDir(staging);
  return dir;
}
