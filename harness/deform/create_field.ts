// Builds the deformation field a method names (harness/pipeline/methods.ts).
import type { Gpu } from '../gpu/device.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import type { FieldSpec } from '../pipeline/methods.ts';
import type { DeformationField } from './field.ts';

export async function createField(_ctx: { gpu: Gpu; cache: PipelineCache }, spec: FieldSpec, _o: { frames: number; seed: number }): Promise<DeformationField> {
  throw new Error(`deformation field '${spec.kind}' is not available yet`);
}
