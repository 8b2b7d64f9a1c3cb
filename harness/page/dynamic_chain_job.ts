// Page job checking the chain deform -> render -> loss -> backward (tests/dynamic_chain.test.ts).
// `dynamicChain` does what one sample of runDynamicStage (harness/pipeline/dynamic_stage.ts)
// does, with the same buffers and calls in the same order, in one encoder:
//
//   field.encodeForward(canonical, t) -> deformed means / log_scales / quats
//   Renderer.encodeForward on a GaussianModel.view: deformed rows + canonical opacity and SH,
//     gradients into dDeformed (means, log_scales, quats) and the canonical grads (opacity, SH)
//   dispatchLoss(render, target) -> dL/d image
//   Renderer.encodeBackward -> dDeformed, canonical opacity / SH grads
//   field.encodeBackward(dDeformed, dCanonical = canonical grads) -> field grads, identity path
//
// and returns the loss, every gradient and the deformed rows.
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import type { DeformBuffers, DeformationField } from '../deform/field.ts';
import { HexPlaneField, type HexPlaneConfig } from '../deform/hexplane.ts';
import { createMlpField, type MlpFieldConfig } from '../deform/mlp.ts';
import { Camera, type CameraSpec } from '../splat/camera.ts';
import { LossPlan, dispatchLoss, type LossValues, type LossWeights } from '../splat/loss.ts';
import { GaussianModel, type GaussianParams, type ParamGroup, validateParams } from '../splat/model.ts';
import { Renderer } from '../splat/render.ts';
import type { Job } from './context.ts';

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const DEFORMED = ['means', 'log_scales', 'quats'] as const;
const WIDTHS = { means: 3, log_scales: 3, quats: 4 } as const;

export type DynamicChainField =
  | { kind: 'hexplane'; config: HexPlaneConfig; frames: number; params: Record<string, Float32Array> }
  /** Parameter names without the `mlp.` prefix (initMlpParams' names). */
  | { kind: 'mlp'; config: MlpFieldConfig; params: Record<string, Float32Array> };

export interface DynamicChainArgs {
  field: DynamicChainField;
  /** Canonical Gaussians. */
  params: GaussianParams;
  camera: CameraSpec;
  /** In [0, 1]. */
  time: number;
  /** [H,W,4] f32 target RGBA (alpha: the mask of the alphaMse term). */
  target: Float32Array;
  weights: LossWeights;
  background: [number, number, number];
}

export interface DynamicChainResult {
  loss: LossValues;
  /** Field parameter gradients by group name (the field's own names: `hexplane.*`, `mlp.*`). */
  fieldGrads: Record<string, Float32Array>;
  /** Canonical gradients: deformable groups through the identity path, opacity and SH from the renderer. */
  grads: Record<ParamGroup, Float32Array>;
  /** Deformed rows [N,3], [N,3], [N,4]. */
  deformed: Record<(typeof DEFORMED)[number], Float32Array>;
  /** dL/d deformed rows. */
  dDeformed: Record<(typeof DEFORMED)[number], Float32Array>;
  /** [H,W,4] rendered image. */
  image: Float32Array;
  /** Intersection report after the submit (overflow would mean missing splats). */
  overflowed: boolean;
}

async function makeField(ctx: Parameters<Job>[0], spec: DynamicChainField, rows: number): Promise<DeformationField & { downloadGrads(): Promise<Record<string, Float32Array>> }> {
  if (spec.kind === 'hexplane') {
    const field = await HexPlaneField.create(ctx.gpu, ctx.cache, spec.config, { frames: spec.frames, rows });
    field.upload(spec.params);
    return field;
  }
  if (spec.kind === 'mlp') return createMlpField(ctx, spec.config, { rows, params: spec.params });
  throw new Error(`dynamicChain: unknown field kind '${String((spec as { kind: unknown }).kind)}'`);
}

export const dynamicChainJob: Job = async (ctx, raw) => {
  const args = raw as unknown as DynamicChainArgs;
  const params = args.params;
  validateParams(params, 'dynamicChain: canonical Gaussians');
  const camera = Camera.fromBlender(args.camera);
  const { width: W, height: H } = camera;
  if (!(args.target instanceof Float32Array) || args.target.length !== W * H * 4) throw new Error(`dynamicChain: target must be a Float32Array of ${W * H * 4}`);
  const { device } = ctx.gpu;
  const n = params.count;
  const owned: { destroy(): void }[] = [];
  const buffer = (label: string, bytes: number) => {
    const b = device.createBuffer({ label, size: Math.max(16, bytes), usage: STORAGE });
    owned.push(b);
    return b;
  };
  try {
    const field = await makeField(ctx, args.field, n);
    owned.push(field);
    const canonical = GaussianModel.create(device, params);
    owned.push(canonical);
    const renderer = await Renderer.create(ctx.gpu, ctx.cache, { width: W, height: H, gaussians: n, background: args.background });
    owned.push(renderer);
    const loss = await LossPlan.create(ctx.gpu, ctx.cache, W, H, { slots: 1 });
    owned.push(loss);
    const target = uploadBuffer(device, args.target, STORAGE, 'dynamic-chain-target');
    owned.push(target);
    const grad = buffer('dynamic-chain-d-image', W * H * 16);
    // As runDynamicStage: the deformed rows and their gradients, and a view rendering them with canonical opacity and SH.
    const deformed = Object.fromEntries(DEFORMED.map((g) => [g, buffer(`dynamic-chain-deformed-${g}`, n * WIDTHS[g] * 4)])) as unknown as DeformBuffers;
    const dDeformed = Object.fromEntries(DEFORMED.map((g) => [g, buffer(`dynamic-chain-d-deformed-${g}`, n * WIDTHS[g] * 4)])) as unknown as DeformBuffers;
    const model = GaussianModel.view(device, n, params.shDegree, { ...canonical.params, ...deformed }, { ...canonical.grads, ...dDeformed });

    const enc = device.createCommandEncoder({ label: 'dynamic-chain' });
    canonical.clearGrads(enc);
    field.clearGrads(enc);
    loss.clearValues(enc);
    for (const g of DEFORMED) enc.clearBuffer(dDeformed[g]);
    field.encodeForward(enc, canonical.params, n, args.time, deformed);
    renderer.encodeForward(enc, model, camera);
    enc.clearBuffer(grad);
    dispatchLoss(enc, loss, { render: renderer.target.image, target, grad }, args.weights);
    renderer.encodeBackward(enc, model, camera, grad);
    field.encodeBackward(enc, dDeformed, canonical.grads);
    device.queue.submit([enc.finish()]);
    renderer.afterSubmit();
    const report = await renderer.sync();

    const rows = async (b: DeformBuffers) => Object.fromEntries(await Promise.all(DEFORMED.map(async (g) => [g, await readF32(device, b[g], n * WIDTHS[g])] as const))) as DynamicChainResult['deformed'];
    const result: DynamicChainResult = {
      loss: await loss.readValues(),
      fieldGrads: await field.downloadGrads(),
      grads: await canonical.downloadGrads(),
      deformed: await rows(deformed),
      dDeformed: await rows(dDeformed),
      image: await readF32(device, renderer.target.image, W * H * 4),
      overflowed: report.overflowed,
    };
    return result;
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const o of owned.reverse()) o.destroy();
  }
};

export const DYNAMIC_CHAIN_JOBS: Record<string, Job> = {
  dynamicChain: dynamicChainJob,
};
