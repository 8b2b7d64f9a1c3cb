// D-NeRF / Blender-NeRF scenes: transforms_{train,val,test}.json beside their images.
import { join } from 'node:path';
import { readTransforms, type PosedSplit } from './transforms.ts';

export type DnerfSplitName = 'train' | 'val' | 'test';
export const DNERF_SPLITS: readonly DnerfSplitName[] = ['train', 'val', 'test'];

/** Reads and checks `<dir>/transforms_<split>.json`. */
export function readDnerfSplit(dir: string, split: DnerfSplitName): Promise<PosedSplit> {
  return readTransforms(join(dir, `transforms_${split}.json`), split);
}

/** Reads the named splits (all three by default); any missing file is an error. */
export async function readDnerf(dir: string, splits: readonly DnerfSplitName[] = DNERF_SPLITS): Promise<Record<string, PosedSplit>> {
  const out: Record<string, PosedSplit> = {};
  for (const s of splits) out[s] = await readDnerfSplit(dir, s);
  return out;
}

export { loadImages, type PosedFrame, type PosedSplit } from './transforms.ts';
