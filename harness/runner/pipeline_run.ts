// Node side of a 4D run: the static stage once, then each method (or ablation
// variant) from the same static Gaussians, each scored on the evaluation sets.
// Scoring happens in the page, on the GPU (harness/page/metrics_job.ts): the
// targets go there premultiplied and are composited on white (the Consistent4D
// protocol); PSNR/SSIM (plain and masked by the ground-truth alpha), temporal
// consistency and, with --metric-models, LPIPS/CLIP/I3D come back, with the few
// renders the contact sheets show. FVD (Fréchet distance of I3D features) is
// computed here in float64. scoreSet() is the CPU path (the references).
import type { GpuSession } from '../browser/session_types.ts';
import { composite } from '../../datasets/formats/png.ts';
import { frechetFromFeatures } from '../metrics/frechet.ts';
import { psnr, ssim, unpackViewScores, type TemporalConsistency, type ViewScores } from '../metrics/image_metrics.ts';
import { learnedMetricsConfig, type MetricModels } from '../metrics/metric_models.ts';
import type { PipelineDynamicArgs, PipelineDynamicResult, PipelineOverrides, PipelineStaticArgs, PipelineStaticResult } from '../page/dynamic_job.ts';
import type { SetScoresPacked } from '../page/metrics_job.ts';
import type { MethodName } from '../pipeline/methods.ts';
import type { PresetName, PriorKind } from '../pipeline/presets.ts';
import { premultiply, type EvalSet, type RunInputs } from './inputs.ts';
import { contactSheetPicks } from './outputs.ts';

/** One trained configuration: a method, or an ablation variant of one. */
export interface Variant {
  label: string;
  method: MethodName;
  overrides?: PipelineOverrides;
}

export interface ViewScore {
  set: string;
  view: string;
  time: number;
  psnr: number;
  ssim: number;
  /** Masked by the ground-truth alpha (NaN: empty mask); absent on the CPU path. */
  psnrMasked?: number;
  ssimMasked?: number;
  /** null: no model (n/a (no model)). */
  lpips?: number | null;
  clip?: number | null;
  /** Mean |change| from the previous frame of the same view, render and ground truth; null for first frames and lone views. */
  tcRender?: number | null;
  tcGt?: number | null;
}

export interface SetScore {
  views: number;
  psnr: number;
  ssim: number;
  psnrMasked?: number;
  ssimMasked?: number;
  /** Means over the views; null: no model. */
  lpips?: number | null;
  clip?: number | null;
  /** Over the frame pairs of the set's view sequences (image_metrics.ts TemporalConsistency); null: no sequence. */
  temporal?: TemporalConsistency | null;
  /** Fréchet distance of the I3D features of rendered and ground-truth view videos; null: no model or no sequence. */
  fvd?: number | null;
}

export interface VariantOutcome {
  label: string;
  method: MethodName;
  result: Omit<PipelineDynamicResult, 'evaluation'>;
  scores: ViewScore[];
  /** Mean over the views of each set. */
  summary: Record<string, SetScore>;
  /**
   * The render at the input camera and time against the input image (video-to-4d,
   * image-to-4d): reference-view PSNR/SSIM, and CLIP-I as its `clip`. Kept out of
   * `scores`/`summary` (metrics.csv holds the eval views only).
   */
  input: SetScore | null;
  /** Per set, renders at contactSheetPicks() indices only (a sparse array), for the contact sheets. */
  renders: Record<string, Float32Array[]>;
  /** Which learned metrics had a model. */
  learned: { lpips: boolean; clip: boolean; i3d: boolean };
}

export interface PipelineRunOptions {
  preset: PresetName;
  prior: PriorKind;
  seed: number;
  /** Also return each variant's Gaussians at these times. */
  paramsAt?: number[];
  staticOverrides?: PipelineStaticArgs['overrides'];
  /** Learned-metric models (metric_models.ts findMetricModels); the session must serve them (metricModelsDataRoots). */
  metricModels?: MetricModels | null;
  log?: (line: string) => void;
}

/** Name of the pseudo-set of the input view (CLIP-I, reference-view PSNR/SSIM). */
export const INPUT_SET = 'input';

const mean = (a: number[]) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);
const meanOrNull = (a: (number | null | undefined)[]) => (a.length && a.every((x) => typeof x === 'number') ? mean(a as number[]) : null);

/** Scores renders (rgb over white) against straight-alpha targets composited on white. */
export function scoreSet(name: string, set: EvalSet, renders: Float32Array[]): ViewScore[] {
  if (renders.length !== set.targets.length) throw new Error(`eval set '${name}': ${renders.length} renders for ${set.targets.length} targets`);
  return set.targets.map((t, i) => {
    const target = composite(t.rgba, 'white');
    return { set: name, view: set.labels[i]!, time: set.cameras[i]!.time, psnr: psnr(renders[i]!, target), ssim: ssim(renders[i]!, target, t.width, t.height) };
  });
}

export function summarizeScores(scores: ViewScore[]): Record<string, SetScore> {
  const out: Record<string, SetScore> = {};
  for (const set of new Set(scores.map((s) => s.set))) {
    const of = scores.filter((s) => s.set === set);
    out[set] = { views: of.length, psnr: mean(of.map((s) => s.psnr)), ssim: mean(of.map((s) => s.ssim)) };
    if (of.every((s) => s.psnrMasked !== undefined)) {
      Object.assign(out[set], {
        psnrMasked: mean(of.map((s) => s.psnrMasked!)),
        ssimMasked: mean(of.map((s) => s.ssimMasked!)),
        lpips: meanOrNull(of.map((s) => s.lpips)),
        clip: meanOrNull(of.map((s) => s.clip)),
      });
    }
  }
  return out;
}

/** Scores of the page's evaluation of one set (metrics_job.ts evaluateScene). */
function viewScoresOf(name: string, set: { labels: string[]; cameras: { time: number }[] }, views: ViewScores[]): ViewScore[] {
  return views.map((v, i) => ({
    set: name,
    view: set.labels[i]!,
    time: set.cameras[i]!.time,
    psnr: v.psnr,
    ssim: v.ssim,
    psnrMasked: v.psnrMasked,
    ssimMasked: v.ssimMasked,
    lpips: v.lpips,
    clip: v.clip,
    tcRender: v.change?.render ?? null,
    tcGt: v.change?.gt ?? null,
  }));
}

/** The set's summary with the sequence-level metrics: temporal consistency and FVD. */
function setSummary(scores: ViewScore[], packed: SetScoresPacked): SetScore {
  const s = summarizeScores(scores)[scores[0]?.set ?? ''] ?? { views: 0, psnr: NaN, ssim: NaN };
  return { ...s, temporal: packed.temporal, fvd: packed.i3d ? frechetFromFeatures(packed.i3d.render, packed.i3d.gt) : null };
}

export async function runStaticFit(session: GpuSession, inputs: RunInputs, o: PipelineRunOptions): Promise<PipelineStaticResult> {
  o.log?.(`static stage: preset ${o.preset}, prior: ${o.prior}, ${inputs.staticTrain.length} oracle views`);
  const args: PipelineStaticArgs = { preset: o.preset, prior: o.prior, seed: o.seed, reference: inputs.reference, train: inputs.staticTrain, overrides: o.staticOverrides };
  return session.run<PipelineStaticResult>('pipelineStatic', args as unknown as Record<string, unknown>);
}

export async function runVariant(session: GpuSession, inputs: RunInputs, canonical: PipelineStaticResult['params'], v: Variant, o: PipelineRunOptions): Promise<VariantOutcome> {
  o.log?.(`${v.label}: dynamic stage and evaluation`);
  const overrides: PipelineOverrides = { ...v.overrides, dynamic: { frames: inputs.frames, ...(v.overrides?.dynamic ?? {}) } };
  const args: PipelineDynamicArgs = {
    method: v.method,
    preset: o.preset,
    prior: o.prior,
    seed: o.seed,
    canonical,
    video: inputs.video,
    train: inputs.train,
    eval: Object.fromEntries(Object.entries(inputs.eval).map(([k, s]) => [k, s.cameras])),
    overrides: v.method === 'static' ? undefined : overrides,
    paramsAt: o.paramsAt,
  };
  // Targets travel premultiplied (the page composites them on white); the input view is scored as its own set.
  args.evalTargets = Object.fromEntries(Object.entries(inputs.eval).map(([k, set]) => [k, set.targets.map(premultiply)]));
  args.previews = Object.fromEntries(Object.entries(inputs.eval).map(([k, set]) => [k, contactSheetPicks(set.targets.length)]));
  if (inputs.kind !== 'dnerf') {
    const { rgba, ...camera } = inputs.reference;
    const time = inputs.video.reduce((m, f) => Math.min(m, f.time), inputs.video[0]?.time ?? 0);
    args.eval[INPUT_SET] = [{ ...camera, time }];
    args.evalTargets[INPUT_SET] = [rgba];
  }
  args.metricModels = learnedMetricsConfig(o.metricModels ?? null);
  const { evaluation, ...result } = await session.run<PipelineDynamicResult>('pipelineDynamic', args as unknown as Record<string, unknown>);
  const scores: ViewScore[] = [];
  const summary: Record<string, SetScore> = {};
  const renders: Record<string, Float32Array[]> = {};
  for (const [name, set] of Object.entries(inputs.eval)) {
    const packed = evaluation[name];
    if (!packed) throw new Error(`pipelineDynamic returned no evaluation of set '${name}'`);
    const own = viewScoresOf(name, set, unpackViewScores(packed.views));
    scores.push(...own);
    summary[name] = setSummary(own, packed);
    renders[name] = new Array<Float32Array>(set.targets.length);
    for (const p of packed.previews) renders[name]![p.index] = p.rgba;
  }
  const inPacked = evaluation[INPUT_SET];
  const input = inPacked ? setSummary(viewScoresOf(INPUT_SET, { labels: ['reference'], cameras: args.eval[INPUT_SET]! }, unpackViewScores(inPacked.views)), inPacked) : null;
  const files = args.metricModels?.files ?? {};
  return { label: v.label, method: v.method, result, scores, summary, input, renders, learned: { lpips: Boolean(files.lpips), clip: Boolean(files.clip), i3d: Boolean(files.i3d) } };
}
