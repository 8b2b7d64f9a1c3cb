// CPU reference of wgsl/adam.wgsl (float64), and the learning-rate schedules.
// The schedules are host-side math used by both Adam (adam.ts) and the tests:
// the GPU only ever sees their value for the current step.

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
/** 3DGS's value (torch's default is 1e-8). */
export const ADAM_EPS = 1e-15;

export type LrSchedule =
  | { kind: 'constant'; lr: number }
  | {
      /** 3DGS get_expon_lr_func: log-linear from lrInit to lrFinal over maxSteps. */
      kind: 'exponential';
      lrInit: number;
      lrFinal: number;
      maxSteps: number;
      /** Warm-up: the rate is scaled by delayMult rising to 1 along a sine over delaySteps. */
      delaySteps?: number;
      delayMult?: number;
    };

/**
 * The learning rate at `step`, as 3DGS's get_expon_lr_func(step): lrInit at 0,
 * √(lrInit·lrFinal) at maxSteps/2, lrFinal from maxSteps on, 0 for a negative step
 * or when both ends are 0. Adam's t-th step (t from 1) uses learningRate(s, t),
 * as 3DGS calls update_learning_rate(iteration) with iteration from 1.
 */
export function learningRate(s: LrSchedule, step: number): number {
  if (s.kind === 'constant') return s.lr;
  if (step < 0 || (s.lrInit === 0 && s.lrFinal === 0)) return 0;
  const delaySteps = s.delaySteps ?? 0;
  const delayMult = s.delayMult ?? 1;
  const delayRate = delaySteps > 0 ? delayMult + (1 - delayMult) * Math.sin(0.5 * Math.PI * Math.min(Math.max(step / delaySteps, 0), 1)) : 1;
  const t = Math.min(Math.max(step / s.maxSteps, 0), 1);
  return delayRate * Math.exp(Math.log(s.lrInit) * (1 - t) + Math.log(s.lrFinal) * t);
}

/** Throws on a schedule the formula cannot evaluate (non-positive ends, no steps). */
export function validateSchedule(s: LrSchedule, what = 'learning-rate schedule'): void {
  if (s.kind === 'constant') {
    if (!Number.isFinite(s.lr) || s.lr < 0) throw new Error(`${what}: lr ${s.lr} must be finite and >= 0`);
    return;
  }
  if (s.kind !== 'exponential') throw new Error(`${what}: unknown kind '${(s as { kind: unknown }).kind}'`);
  const both0 = s.lrInit === 0 && s.lrFinal === 0;
  if (!both0 && !(s.lrInit > 0 && s.lrFinal > 0 && Number.isFinite(s.lrInit) && Number.isFinite(s.lrFinal))) {
    throw new Error(`${what}: lrInit ${s.lrInit} and lrFinal ${s.lrFinal} must both be > 0 (or both 0)`);
  }
  if (!(s.maxSteps > 0)) throw new Error(`${what}: maxSteps ${s.maxSteps} must be > 0`);
  if ((s.delaySteps ?? 0) < 0) throw new Error(`${what}: delaySteps ${s.delaySteps} must be >= 0`);
}

export interface AdamState {
  params: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

export interface RefAdamStep {
  lr: number;
  /** The step number t, from 1, used for the bias corrections. */
  t: number;
  /** Rows updated (rows >= count are left alone). */
  count: number;
  width: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** One Adam step (torch.optim.Adam's update); returns new arrays. */
export function refAdam(state: AdamState, grad: ArrayLike<number>, s: RefAdamStep): AdamState {
  const b1 = s.beta1 ?? ADAM_BETA1;
  const b2 = s.beta2 ?? ADAM_BETA2;
  const eps = s.eps ?? ADAM_EPS;
  const params = Float64Array.from(state.params);
  const m = Float64Array.from(state.m);
  const v = Float64Array.from(state.v);
  const bc1 = 1 - b1 ** s.t;
  const bc2 = 1 - b2 ** s.t;
  const n = s.count * s.width;
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * g;
    v[i] = b2 * v[i]! + (1 - b2) * g * g;
    const mHat = m[i]! / bc1;
    const vHat = v[i]! / bc2;
    params[i] = params[i]! - (s.lr * mHat) / (Math.sqrt(vHat) + eps);
  }
  return { params, m, v };
}
