// The methods a run compares (`--method`) and their dynamic-stage settings per
// preset. Pure data, importable from Node and from the page.
//
//   dg4d             DreamGaussian4D: HexPlane field, T frames x 4 views per iteration
//   dg4d-fast        DG4D's "Ours-Fast": 16 frames, 1 view per iteration
//   deformable-3dgs  Deformable 3D Gaussians: MLP field with positional encoding,
//                    warm-up, annealed time noise (AST), 0.8 L1 + 0.2 D-SSIM
//   static           the static stage alone, shown at every time (the baseline)
//
// `paper` follows /work/shared/paper-settings.md; `small` and `tiny` scale the
// schedules and networks down for CPU machines and say how beside each value.
import type { LrSchedule } from '../splat/adam_ref.ts';
import type { ParamGroup } from '../splat/model.ts';
import type { DynamicStageConfig } from './dynamic_stage.ts';
import { DG4D_LOSS_SCALE, type PresetName, staticStageConfig, type StaticStageConfig } from './presets.ts';

export const METHODS = ['dg4d', 'dg4d-fast', 'deformable-3dgs', 'static'] as const;
export type MethodName = (typeof METHODS)[number];

/** Which field a method trains; `options` are shallow overrides of the field's preset config. */
export type FieldSpec = { kind: 'hexplane'; options: Record<string, unknown> } | { kind: 'mlp'; options: Record<string, unknown> };

export interface MethodConfig {
  method: MethodName;
  preset: PresetName;
  static: StaticStageConfig;
  /** The static stage's oracle draws from the training views nearest in time to the reference frame: this many. */
  staticViews: number;
  /** null for `static`. */
  dynamic: DynamicStageConfig | null;
  field: FieldSpec | null;
}

const exponential = (lrInit: number, lrFinal: number, maxSteps: number): LrSchedule => ({ kind: 'exponential', lrInit, lrFinal, maxSteps });
const constant = (lr: number): LrSchedule => ({ kind: 'constant', lr });

/** Canonical rates while the field trains: the static stage's, ten times smaller for the means (they only refine). */
function jointLr(iterations: number, s: StaticStageConfig): Record<ParamGroup, LrSchedule> {
  return {
    means: exponential(1e-3, 1e-5, iterations),
    sh: constant((s.lr.sh as { lr: number }).lr / 2),
    opacity_logits: constant(0.01),
    log_scales: constant(0.002),
    quats: constant(0.002),
  };
}

/** Deformable 3DGS's canonical rates (position 1.6e-4 -> 1.6e-6 times its scene extent, ~5 on D-NeRF). */
function deformableLr(iterations: number): Record<ParamGroup, LrSchedule> {
  return {
    means: exponential(1.6e-4 * 5, 1.6e-6 * 5, iterations),
    sh: constant(0.0025),
    opacity_logits: constant(0.05),
    log_scales: constant(0.001),
    quats: constant(0.001),
  };
}

interface Schedule {
  iterations: number;
  renderSize: number;
  /** 0: all frames. */
  frames: number;
  views: number;
}

/**
 * Per preset: DG4D's iterations, frames and views per iteration; the CPU
 * presets cut them. `tiny` (the quality bars of CI) trains 2 frames + 2 oracle
 * views per iteration (SwiftShader spends ~60 ms per sample at 64^2 with 2k
 * Gaussians) for 400 iterations: on walker 200 iterations gave 25.4 dB, 400
 * gave 29.2 dB. `small` is the CPU bench: 128^2 costs ~3.6x per sample (dg4d:
 * 0.81 s per 4-sample iteration against 0.225 s), so the whole suite fits in 15
 * minutes on 2 cores only with 1 frame + 1 view for ~100 iterations; it times
 * the same work at a larger size rather than reaching tiny's quality.
 */
const DG4D_SCHEDULE: Record<PresetName, Schedule> = {
  paper: { iterations: 500, renderSize: 512, frames: 0, views: 4 },
  small: { iterations: 100, renderSize: 128, frames: 1, views: 1 },
  tiny: { iterations: 400, renderSize: 64, frames: 2, views: 2 },
};
/** "Ours-Fast": half of DG4D's frames and a quarter of its views; the CPU presets halve the samples (small: two thirds of the iterations). */
const DG4D_FAST_SCHEDULE: Record<PresetName, Schedule> = {
  paper: { iterations: 500, renderSize: 512, frames: 16, views: 1 },
  small: { iterations: 70, renderSize: 128, frames: 1, views: 1 },
  tiny: { iterations: 300, renderSize: 64, frames: 1, views: 1 },
};
/**
 * Deformable 3DGS trains one view per iteration for 40k iterations; the CPU
 * presets use several per iteration for far fewer. Tiny trains 500, not dg4d's
 * 400: the MLP learns the thin, fast windmill blades more slowly than the
 * HexPlane (windmill, rate 4e-3: 400 iterations 23.05 dB, 500 iterations 23.22
 * dB against static 20.14; a rate of 5e-3 at 400 gave 23.21 but 6e-3 already
 * cost walker 1 dB).
 */
const DEFORMABLE_SCHEDULE: Record<PresetName, Schedule> = {
  paper: { iterations: 40_000, renderSize: 512, frames: 1, views: 1 },
  small: { iterations: 120, renderSize: 128, frames: 1, views: 1 },
  tiny: { iterations: 500, renderSize: 64, frames: 2, views: 2 },
};

/**
 * The HexPlane per preset (paper: Consistent4D's [32,32,32,T], one scale, 32
 * features, width 64, planes 6.4e-3 and MLP 6.4e-4). CPU presets: the paper's
 * [32,32,32,T] with 16 features, width 32, rates ~3x (0.02 and 0.002) for their
 * shorter runs. The thin turning blades of windmill need the resolution: at 400
 * iterations [16,16,16] gave 23.1 dB there, [32,32,32] 23.8 dB.
 */
const HEXPLANE_OPTIONS: Record<PresetName, Record<string, unknown>> = {
  paper: {},
  small: { resolution: [32, 32, 32, 0], features: 16, width: 32, planeLr: constant(0.02), mlpLr: constant(0.002) },
  tiny: { resolution: [32, 32, 32, 0], features: 16, width: 32, planeLr: constant(0.02), mlpLr: constant(0.002) },
};
/**
 * The MLP per preset (paper: 8 x 256, skip at 4, heads with torch's default
 * init, 8e-4 -> 1.6e-6 over 40k steps). CPU presets: 4 x 64, skip at 2, zero
 * heads (training starts from no motion, as DG4D's), 4e-3 -> 4e-5 over the run.
 * With the paper's rates 4 x 64 gave 21.9 dB on walker (200 iterations), barely
 * above static. At 8e-3 -> 8e-5 walker (400 iterations) gave 26.6, 24.5 and
 * 24.3 dB in three repeats of the same seed (float-atomic order alone): the
 * run was unstable; at 4e-3 -> 4e-5 it gave 28.33 and 28.43 dB. On windmill at
 * 400 iterations 4 x 32 gave 23.0 dB, 4 x 64 23.4 dB (twice the time). Their
 * canonical rates are jointLr's (as dg4d's), not the paper's.
 */
const MLP_OPTIONS: Record<PresetName, (iterations: number) => Record<string, unknown>> = {
  paper: (iterations) => ({ lrSteps: iterations }),
  small: (iterations) => ({ depth: 4, width: 64, skipAt: 2, zeroHeads: true, lr: exponential(4e-3, 4e-5, iterations) }),
  tiny: (iterations) => ({ depth: 4, width: 64, skipAt: 2, zeroHeads: true, lr: exponential(4e-3, 4e-5, iterations) }),
};

/** Deformable 3DGS's annealed time noise: beta 0.1, annealed to zero over the first half of the run (tau 20k of 40k). */
export function deformableAst(iterations: number): { beta: number; tau: number } {
  return { beta: 0.1, tau: Math.round(iterations / 2) };
}

export function methodConfig(method: MethodName, preset: PresetName): MethodConfig {
  if (!(METHODS as readonly string[]).includes(method)) throw new Error(`unknown method '${String(method)}' (known: ${METHODS.join(', ')})`);
  const s = staticStageConfig(preset);
  const staticViews = preset === 'paper' ? 16 : 12;
  if (method === 'static') return { method, preset, static: s, staticViews, dynamic: null, field: null };
  const base = {
    background: s.background,
    lossEvery: s.lossEvery,
    stepEvery: s.stepEvery,
    frames: 32,
    poseNoise: null,
  };
  if (method === 'deformable-3dgs') {
    const sch = DEFORMABLE_SCHEDULE[preset];
    const dssim = { rgbL1: 0.8, dssim: 0.2 };
    const dynamic: DynamicStageConfig = {
      ...base,
      iterations: sch.iterations,
      renderSize: sch.renderSize,
      framesPerIteration: sch.frames,
      priorViews: sch.views,
      loss: { reference: dssim, prior: dssim, stepRatio: false },
      canonical: 'joint',
      canonicalLr: preset === 'paper' ? deformableLr(sch.iterations) : jointLr(sch.iterations, s),
      // 3k of 40k iterations. AST is for real scenes only (paper settings); every
      // input here is synthetic, so it is off unless asked for (the ast ablation:
      // deformableAst). Tiny, rate 4e-3, 400 iterations, AST off: walker 28.6,
      // jelly 29.9, windmill 23.05 dB (AST on: walker 28.3/28.4, windmill 23.02).
      warmup: Math.round(sch.iterations * 0.075),
      ast: null,
    };
    return { method, preset, static: s, staticViews, dynamic, field: { kind: 'mlp', options: MLP_OPTIONS[preset](sch.iterations) } };
  }
  const sch = method === 'dg4d' ? DG4D_SCHEDULE[preset] : DG4D_FAST_SCHEDULE[preset];
  const dynamic: DynamicStageConfig = {
    ...base,
    iterations: sch.iterations,
    renderSize: sch.renderSize,
    framesPerIteration: sch.frames,
    priorViews: sch.views,
    loss: {
      // DG4D: 10000·r·MSE(rgb)/T + 1000·r·MSE(mask)/T at the reference view (weights / DG4D_LOSS_SCALE, see presets.ts).
      reference: { rgbMse: 10_000 / DG4D_LOSS_SCALE, alphaMse: 1_000 / DG4D_LOSS_SCALE },
      prior: { rgbMse: 1, alphaMse: 0.1 },
      stepRatio: preset === 'paper',
    },
    canonical: 'joint',
    canonicalLr: jointLr(sch.iterations, s),
    warmup: 0,
    ast: null,
  };
  return { method, preset, static: s, staticViews, dynamic, field: { kind: 'hexplane', options: HEXPLANE_OPTIONS[preset] } };
}
