// The Consistent4D protocol in Blender-NeRF form: transforms_input.json (the fixed
// front video) and transforms_eval.json (held-out azimuths, every input time).
import { join } from 'node:path';
import { checkInputEval } from '../validate.ts';
import { readTransforms, type PosedSplit } from './transforms.ts';

export interface Consistent4DScene {
  input: PosedSplit;
  eval: PosedSplit;
}

/** Reads and checks both splits, and that eval holds frames at exactly the input times. */
export async function readConsistent4D(dir: string): Promise<Consistent4DScene> {
  const input = await readTransforms(join(dir, 'transforms_input.json'), 'input');
  const evals = await readTransforms(join(dir, 'transforms_eval.json'), 'eval');
  checkInputEval(input, evals);
  return { input, eval: evals };
}
