// Page jobs for the 4D pipelines (harness/pipeline/dynamic_stage.ts):
//   pipelineStatic    the static stage on the input image (+ oracle views)
//   pipelineDynamic   a method's dynamic stage on given canonical Gaussians, then
//                     the evaluation cameras rendered, each at its time, and scored
//                     on the GPU against their targets (metrics_job.ts evaluateScene)
// Every method of a run starts from the same static result. The host
// (harness/runner/) loads the dataset and writes the run.
import { createField } from '../deform/create_field.ts';
import { GpuTimer, type TimingSamples } from '../gpu/timer.ts';
import { runDynamicStage, staticScene, type DynamicStageConfig, type TimedCamera, type TimedImage } from '../pipeline/dynamic_stage.ts';
import { METHODS, methodConfig, type MethodConfig, type MethodName } from '../pipeline/methods.ts';
import { PRESETS, PRIORS, staticStageConfig, type PresetName, type PriorKind, type StaticStageConfig } from '../pipeline/presets.ts';
import { deriveSeed } from '../pipeline/rng.ts';
import { runStaticStage, type LossPoint, type PosedImage } from '../pipeline/static_stage.ts';
import type { DensifyStats } from '../splat/densify.ts';
import type { GaussianParams } from '../splat/model.ts';
import type { LearnedMetricsConfig } from '../metrics/learned_metrics.ts';
import type { Job } from './context.ts';
import { evaluateScene, learnedMetricsFor, packSetScores, type SetScoresPacked } from './metrics_job.ts';
import { inStage, type FaultSpec } from './stage_scope.ts';

export interface PipelineOverrides {
  static?: Partial<StaticStageConfig>;
  dynamic?: Partial<DynamicStageConfig>;
  /** Shallow overrides of the field's options (resolution, depth, ...). */
  field?: Record<string, unknown>;
}

export interface PipelineStaticArgs {
  preset: PresetName;
  prior: PriorKind;
  seed: number;
  /** The static stage's input image and its oracle views. */
  reference: PosedImage;
  train: PosedImage[];
  overrides?: Partial<StaticStageConfig>;
  /** Tests only: a fault to inject (stage_scope.ts). */
  fault?: FaultSpec | null;
}

export interface StageSummary {
  iterations: number;
  wallMs: number;
  trainMs: number;
  lossCurve: LossPoint[];
  timings: TimingSamples | null;
}

export interface PipelineStaticResult extends StageSummary {
  gaussians: number;
  densify: (DensifyStats & { iter: number })[];
  params: GaussianParams;
  config: StaticStageConfig;
}

export interface PipelineDynamicArgs {
  method: MethodName;
  preset: PresetName;
  prior: PriorKind;
  seed: number;
  /** The static stage's Gaussians (pipelineStatic), shared by every method of a run. */
  canonical: GaussianParams;
  /** The driving video (reference view) and the oracle views, each at its time. */
  video: TimedImage[];
  train: TimedImage[];
  /** Camera sets to render after training, by name. */
  eval: Record<string, TimedCamera[]>;
  /** Per set, [H,W,4] premultiplied ground truth per camera (scored composited on white). */
  evalTargets?: Record<string, Float32Array[]>;
  /** Per set, the views whose renders come back (contact sheets). */
  previews?: Record<string, number[]>;
  /** Learned-metric models to load (harness/metrics/metric_models.ts learnedMetricsConfig); null: none. */
  metricModels?: LearnedMetricsConfig | null;
  overrides?: PipelineOverrides;
  /** Also return the Gaussians at these times (mesh export, per-frame PLY). */
  paramsAt?: number[];
  /** Tests only: a fault to inject (stage_scope.ts). */
  fault?: FaultSpec | null;
}

export interface PipelineDynamicResult {
  method: MethodName;
  config: MethodConfig;
  /** null for the `static` method. */
  dynamic: (StageSummary & { samplesPerIteration: number; fieldParameters: number }) | null;
  evalMs: number;
  /** Per set: the views' scores (packed), temporal consistency, I3D features, preview renders. */
  evaluation: Record<string, SetScoresPacked>;
  paramsAt: { time: number; params: GaussianParams }[];
}

function applyOverrides(config: MethodConfig, o: PipelineOverrides | undefined): MethodConfig {
  if (!o) return config;
  const out = structuredClone(config);
  if (o.static) out.static = { ...out.static, ...o.static };
  if (o.dynamic) {
    if (!out.dynamic) throw new Error(`pipelineDynamic: method '${config.method}' has no dynamic stage to override`);
    out.dynamic = { ...out.dynamic, ...o.dynamic };
  }
  if (o.field) {
    if (!out.field) throw new Error(`pipelineDynamic: method '${config.method}' has no deformation field to override`);
    out.field = { ...out.field, options: { ...out.field.options, ...o.field } };
  }
  return out;
}

function checkCommon(job: string, a: { preset: unknown; prior: unknown; seed: unknown }): void {
  if (!PRESETS.includes(a.preset as PresetName)) throw new Error(`${job}: args.preset must be one of ${PRESETS.join(', ')} (got ${String(a.preset)})`);
  if (!PRIORS.includes(a.prior as PriorKind)) throw new Error(`${job}: args.prior must be one of ${PRIORS.join(', ')} (got ${String(a.prior)})`);
  if (!Number.isInteger(a.seed) || (a.seed as number) < 0) throw new Error(`${job}: args.seed must be a non-negative integer (got ${String(a.seed)})`);
}

export const pipelineStaticJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as unknown as PipelineStaticArgs;
  checkCommon('pipelineStatic', args);
  const config: StaticStageConfig = { ...staticStageConfig(args.preset), ...(args.overrides ?? {}) };
  const timer = new GpuTimer(ctx.gpu);
  try {
    const s = await inStage(ctx, 'static', args.fault, (c) => runStaticStage(c, { reference: args.reference, train: args.train }, config, { seed: deriveSeed(args.seed, 101), prior: args.prior, emit: c.emit, timer }));
    const out: PipelineStaticResult = {
      iterations: s.iterations,
      wallMs: s.wallMs,
      trainMs: s.trainMs,
      lossCurve: s.lossCurve,
      timings: s.timings,
      gaussians: s.params.count,
      densify: s.densify,
      params: s.params,
      config,
    };
    return out;
  } finally {
    timer.destroy();
  }
};

export const pipelineDynamicJob: Job = async (ctx, rawArgs) => {
  const args = rawArgs as unknown as PipelineDynamicArgs;
  if (!(METHODS as readonly string[]).includes(args.method)) throw new Error(`pipelineDynamic: args.method must be one of ${METHODS.join(', ')} (got ${String(args.method)})`);
  checkCommon('pipelineDynamic', args);
  const config = applyOverrides(methodConfig(args.method, args.preset), args.overrides);
  const timer = new GpuTimer(ctx.gpu);
  try {
    const dynamic = config.field && config.dynamic ? { field: config.field, stage: config.dynamic } : null;
    const trained = dynamic
      ? await inStage(ctx, 'dynamic', args.fault, async (c) => {
          const field = await createField(c, dynamic.field, { frames: dynamic.stage.frames, seed: deriveSeed(args.seed, 102) });
          const d = await runDynamicStage(c, { canonical: args.canonical, video: args.video, train: args.train }, field, dynamic.stage, {
            seed: deriveSeed(args.seed, 103),
            prior: args.prior,
            label: args.method,
            emit: c.emit,
            timer,
          });
          return { field, d };
        })
      : null;
    const field = trained?.field ?? null;
    const d = trained?.d ?? null;
    const scene = d?.scene ?? staticScene(ctx, args.canonical, config.static.background);
    try {
      const evalStart = performance.now();
      const sets = Object.fromEntries(
        Object.entries(args.eval).map(([name, cameras]) => {
          const targets = args.evalTargets?.[name];
          if (!targets) throw new Error(`pipelineDynamic: args.evalTargets.${name} is missing (the targets of eval set '${name}')`);
          return [name, { cameras, targets, previews: args.previews?.[name] ?? [] }];
        }),
      );
      const scored = await inStage(ctx, 'eval', args.fault, async (c) => {
        const learned = await learnedMetricsFor(args.metricModels, c.assets);
        return evaluateScene(c, scene, sets, {
          learned,
          onSet: (name, n) => c.emit({ type: 'step', stage: 'eval', iter: n, of: n, method: args.method, set: name }),
        });
      });
      const evaluation = Object.fromEntries(Object.entries(scored).map(([k, v]) => [k, packSetScores(v)]));
      const evalMs = performance.now() - evalStart;
      const paramsAt: PipelineDynamicResult['paramsAt'] = [];
      for (const time of args.paramsAt ?? []) paramsAt.push({ time, params: await scene.paramsAt(time) });
      const out: PipelineDynamicResult = {
        method: args.method,
        config,
        dynamic:
          d && field
            ? { iterations: d.iterations, wallMs: d.wallMs, trainMs: d.trainMs, lossCurve: d.lossCurve, timings: d.timings, samplesPerIteration: d.samplesPerIteration, fieldParameters: field.parameterCount }
            : null,
        evalMs,
        evaluation,
        paramsAt,
      };
      return out;
    } finally {
      scene.destroy();
    }
  } finally {
    timer.destroy();
  }
};

export const DYNAMIC_JOBS: Record<string, Job> = { pipelineStatic: pipelineStaticJob, pipelineDynamic: pipelineDynamicJob };
