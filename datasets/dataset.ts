// One entry point that validates a whole scene folder before any GPU work: every
// transforms_*.json present is read and checked (images present, one size per
// split, rigid cameras, times in [0,1]); input and eval must come together and match.
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readConsistent4D, type Consistent4DScene } from './formats/c4d.ts';
import { DNERF_SPLITS, readDnerfSplit } from './formats/dnerf.ts';
import type { PosedSplit } from './formats/transforms.ts';
import { DatasetError } from './validate.ts';

export interface SceneFolder {
  dir: string;
  dnerf: Partial<Record<'train' | 'val' | 'test', PosedSplit>>;
  c4d?: Consistent4DScene;
}

const present = (p: string) => access(p).then(() => true, () => false);

/** Reads and validates every split present in a scene folder; throws DatasetError on the first problem. */
export async function loadDataset(dir: string): Promise<SceneFolder> {
  dir = resolve(dir);
  const out: SceneFolder = { dir, dnerf: {} };
  for (const s of DNERF_SPLITS) if (await present(join(dir, `transforms_${s}.json`))) out.dnerf[s] = await readDnerfSplit(dir, s);
  const hasInput = await present(join(dir, 'transforms_input.json'));
  const hasEval = await present(join(dir, 'transforms_eval.json'));
  if (hasInput || hasEval) out.c4d = await readConsistent4D(dir);
  if (!out.c4d && Object.keys(out.dnerf).length === 0) throw new DatasetError(dir, '', 'no transforms_{train,val,test,input,eval}.json in the folder');
  return out;
}
