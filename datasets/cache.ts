// Tiny scene folders generated on demand for tests and the default bench, kept in a
// git-ignored cache: datasets/.cache/<name>-<res>-<seed>/. A completion marker is
// written last, so a folder left by an interrupted write is never used: it is
// removed and generated again.
import { access, readFile } from 'node:fs/promises';
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

const exists = (p: string) => access(p).then(() => true, () => false);

/** Returns the folder of a tiny version of the scene, generating it if missing or incomplete. */
export async function ensureTinyScene(name: string, o: TinySceneOptions = {}): Promise<string> {
  const res = o.res ?? TINY_RES;
  const seed = o.seed ?? DEFAULT_SEED;
  const dir = tinySceneDir(name, { res, seed, root: o.root });
  const marker = join(dir, COMPLETE_MARKER);
  if (await exists(marker)) {
    try {
      const m = JSON.parse(await readFile(marker, 'utf8')) as { scene?: string; res?: number; seed?: number };
      if (m.scene === name && m.res === res && m.seed === seed) return dir;
    } catch {
      /* unreadable marker: regenerate */
    }
  }
  let factory = o.factory;
  if (!factory) {
    const scenes = await loadSceneRegistry();
    factory = scenes[name];
    if (!factory) throw new Error(`unknown scene '${name}' (known: ${Object.keys(scenes).join(', ') || 'none'})`);
  }
  await removeDir(dir);
  const session = o.session ?? (await openSession({ quiet: true, runtime: o.runtime }));
  try {
    await writeSceneFolder(session, factory(seed), dir, { res, seed, log: o.log });
  } finally {
    if (!o.session) await session.close();
  }
  await writeJsonAtomic(marker, { scene: name, res, seed, written: new Date().toISOString() });
  return dir;
}
