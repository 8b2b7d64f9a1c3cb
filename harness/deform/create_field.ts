// Builds the deformation field a method names (harness/pipeline/methods.ts):
// the field's preset config, the method's options over it, the run's seed.
import type { Gpu } from '../gpu/device.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import type { FieldSpec } from '../pipeline/methods.ts';
import type { DeformationField } from './field.ts';
import { createHexPlaneField, HEXPLANE_PAPER, type HexPlaneConfig } from './hexplane.ts';
import { createMlpField, mlpFieldConfig } from './mlp.ts';

export async function createField(ctx: { gpu: Gpu; cache: PipelineCache }, spec: FieldSpec, o: { frames: number; seed: number; rows?: number }): Promise<DeformationField> {
  if (spec.kind === 'hexplane') {
    const config = { ...HEXPLANE_PAPER, ...spec.options, seed: o.seed } as HexPlaneConfig;
    return createHexPlaneField(ctx, config, { frames: o.frames, rows: o.rows });
  }
  if (spec.kind === 'mlp') return createMlpField(ctx, { ...mlpFieldConfig(spec.options), seed: o.seed }, { rows: o.rows });
  throw new Error(`unknown deformation field '${String((spec as { kind: unknown }).kind)}'`);
}
