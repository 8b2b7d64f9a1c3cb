// The ablations of issue 5 as config switches over the methods' presets. Each
// group compares variants trained from the same static Gaussians on the same
// data; `dg4d ablate` runs them and writes one table.
import { deformableAst, methodConfig } from '../pipeline/methods.ts';
import type { PresetName } from '../pipeline/presets.ts';
import type { Variant } from './pipeline_run.ts';

export interface AblationGroup {
  name: string;
  /** What the switch changes (the table's second column). */
  about: string;
  variants: (Variant & { setting: string; withAst?: boolean })[];
}

/** Camera-pose noise injected into every training view for the AST comparison. */
export const ABLATION_POSE_NOISE = { rotationDeg: 1, translation: 0.02 };

export const ABLATIONS: AblationGroup[] = [
  {
    name: 'encoding',
    about: 'deformable-3dgs: positional encoding of x and t (off: raw values only)',
    variants: [
      { label: 'encoding-on', setting: 'on', method: 'deformable-3dgs' },
      { label: 'encoding-off', setting: 'off', method: 'deformable-3dgs', overrides: { field: { posFreqs: 0, timeFreqs: 0 } } },
    ],
  },
  {
    name: 'warmup',
    about: 'deformable-3dgs: canonical-only warm-up iterations',
    variants: [
      { label: 'warmup-on', setting: 'on', method: 'deformable-3dgs' },
      { label: 'warmup-off', setting: 'off', method: 'deformable-3dgs', overrides: { dynamic: { warmup: 0 } } },
    ],
  },
  {
    name: 'ast',
    about: `deformable-3dgs with camera-pose noise (${ABLATION_POSE_NOISE.rotationDeg} deg, ${ABLATION_POSE_NOISE.translation} units): annealed time noise`,
    variants: [
      { label: 'ast-on', setting: 'on', method: 'deformable-3dgs', withAst: true, overrides: { dynamic: { poseNoise: ABLATION_POSE_NOISE } } },
      { label: 'ast-off', setting: 'off', method: 'deformable-3dgs', overrides: { dynamic: { poseNoise: ABLATION_POSE_NOISE, ast: null } } },
    ],
  },
  {
    name: 'hexplane',
    about: 'dg4d: HexPlane spatial resolution and scales',
    variants: [
      { label: 'hexplane-8', setting: '[8,8,8], scales 1', method: 'dg4d', overrides: { field: { resolution: [8, 8, 8, 0], scales: [1] } } },
      { label: 'hexplane-16', setting: '[16,16,16], scales 1', method: 'dg4d', overrides: { field: { resolution: [16, 16, 16, 0], scales: [1] } } },
      { label: 'hexplane-32', setting: '[32,32,32], scales 1', method: 'dg4d', overrides: { field: { resolution: [32, 32, 32, 0], scales: [1] } } },
      { label: 'hexplane-8x2', setting: '[8,8,8], scales 1,2', method: 'dg4d', overrides: { field: { resolution: [8, 8, 8, 0], scales: [1, 2] } } },
    ],
  },
  {
    name: 'canonical',
    about: 'dg4d: static Gaussians frozen or optimised with the field',
    variants: [
      { label: 'canonical-joint', setting: 'joint', method: 'dg4d', overrides: { dynamic: { canonical: 'joint' } } },
      { label: 'canonical-frozen', setting: 'frozen', method: 'dg4d', overrides: { dynamic: { canonical: 'frozen' } } },
    ],
  },
];

export function ablationGroups(only: string[] | undefined): AblationGroup[] {
  if (!only) return ABLATIONS;
  const names = ABLATIONS.map((g) => g.name);
  for (const n of only) if (!names.includes(n)) throw new Error(`unknown ablation '${n}' (known: ${names.join(', ')})`);
  return ABLATIONS.filter((g) => only.includes(g.name));
}

/** A variant with its preset-dependent settings filled in (AST's tau is half the preset's iterations). */
export function resolveVariant(v: AblationGroup['variants'][number], preset: PresetName): Variant {
  if (!v.withAst) return v;
  const iterations = methodConfig(v.method, preset).dynamic!.iterations;
  return { ...v, overrides: { ...v.overrides, dynamic: { ...(v.overrides?.dynamic ?? {}), ast: deformableAst(iterations) } } };
}
