// Node side of a 4D run: the static stage once, then each method (or ablation
// variant) from the same static Gaussians, each scored on the evaluation sets.
// Metrics are computed here on the CPU (harness/metrics/image_metrics.ts) from
// the renders the page returns, against the targets composited on white (the
// Consistent4D protocol).
import type { BrowserSession } from '../browser/session.ts';
import { composite } from '../../datasets/formats/png.ts';
import { psnr, ssim } from '../metrics/image_metrics.ts';
import type { PipelineDynamicArgs, PipelineDynamicResult, PipelineOverrides, PipelineStaticArgs, PipelineStaticResult } from '../page/dynamic_job.ts';
import type { MethodName } from '../pipeline/methods.ts';
import type { PresetName, PriorKind } from '../pipeline/presets.ts';
import type { EvalSet, RunInputs } from './inputs.ts';

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
}

export interface SetScore {
  views: number;
  psnr: number;
  ssim: number;
}

export interface VariantOutcome {
  label: string;
  method: MethodName;
  result: Omit<PipelineDynamicResult, 'renders'>;
  scores: ViewScore[];
  /** Mean over the views of each set. */
  summary: Record<string, SetScore>;
  renders: Record<string, Float32Array[]>;
}

export interface PipelineRunOptions {
  preset: PresetName;
  prior: PriorKind;
  seed: number;
  /** Also return each variant's Gaussians at these times. */
  paramsAt?: number[];
  staticOverrides?: PipelineStaticArgs['overrides'];
  log?: (line: string) => void;
}

const mean = (a: number[]) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);

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
  }
  return out;
}

export async function runStaticFit(session: BrowserSession, inputs: RunInputs, o: PipelineRunOptions): Promise<PipelineStaticResult> {
  o.log?.(`static stage: preset ${o.preset}, prior: ${o.prior}, ${inputs.staticTrain.length} oracle views`);
  const args: PipelineStaticArgs = { preset: o.preset, prior: o.prior, seed: o.seed, reference: inputs.reference, train: inputs.staticTrain, overrides: o.staticOverrides };
  return session.run<PipelineStaticResult>('pipelineStatic', args as unknown as Record<string, unknown>);
}

export async function runVariant(session: BrowserSession, inputs: RunInputs, canonical: PipelineStaticResult['params'], v: Variant, o: PipelineRunOptions): Promise<VariantOutcome> {
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
  const { renders, ...result } = await session.run<PipelineDynamicResult>('pipelineDynamic', args as unknown as Record<string, unknown>);
  const scores = Object.entries(inputs.eval).flatMap(([name, set]) => scoreSet(name, set, renders[name] ?? []));
  return { label: v.label, method: v.method, result, scores, summary: summarizeScores(scores), renders };
}
