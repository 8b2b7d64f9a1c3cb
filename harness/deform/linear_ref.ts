// CPU references (float64) of wgsl/linear.wgsl and wgsl/linear_bwd.wgsl, and the
// layers' initialisation (pure, so Node-side tests and the page share it).
// Dense layouts here: X [rows, inputs], Y and dY [rows, outputs]; the GPU's
// strides and column offsets are the tests' business.
import { seededRandom } from '../pipeline/rng.ts';

export type Activation = 'relu' | 'none';

export interface RefLinearParams {
  inputs: number;
  outputs: number;
  activation: Activation;
  /** [outputs, inputs] row-major. */
  weight: ArrayLike<number>;
  /** [outputs] */
  bias: ArrayLike<number>;
}

/** Y[r, o] = act(b[o] + Σ_i X[r, i] · W[o, i]), [rows, outputs]. */
export function refLinear(p: RefLinearParams, x: ArrayLike<number>, rows: number): Float64Array {
  const { inputs, outputs } = p;
  const y = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      let s = p.bias[o]!;
      for (let i = 0; i < inputs; i++) s += x[r * inputs + i]! * p.weight[o * inputs + i]!;
      y[r * outputs + o] = p.activation === 'relu' ? Math.max(s, 0) : s;
    }
  }
  return y;
}

export interface RefLinearGrads {
  /** [rows, inputs] */
  dx: Float64Array;
  /** [outputs, inputs] */
  dWeight: Float64Array;
  /** [outputs] */
  dBias: Float64Array;
}

/**
 * Backward of refLinear given dY [rows, outputs] and the forward's output Y (its
 * sign is the ReLU mask; at exactly 0 the gradient is 0, as torch's relu).
 */
export function refLinearBwd(p: RefLinearParams, x: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>, rows: number): RefLinearGrads {
  const { inputs, outputs } = p;
  const dx = new Float64Array(rows * inputs);
  const dWeight = new Float64Array(outputs * inputs);
  const dBias = new Float64Array(outputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      const g = p.activation === 'relu' && !(y[r * outputs + o]! > 0) ? 0 : dy[r * outputs + o]!;
      if (g === 0) continue;
      dBias[o]! += g;
      for (let i = 0; i < inputs; i++) {
        dWeight[o * inputs + i]! += g * x[r * inputs + i]!;
        dx[r * inputs + i]! += g * p.weight[o * inputs + i]!;
      }
    }
  }
  return { dx, dWeight, dBias };
}

export type LinearInit = 'torch' | 'zero';

/**
 * Initial parameters: 'torch' is nn.Linear's default (kaiming-uniform with a = √5,
 * i.e. weight and bias both U(−1/√inputs, 1/√inputs)); 'zero' zeroes both.
 * Weight first, row-major, then bias, from seededRandom(seed).
 */
export function initLinearParams(inputs: number, outputs: number, init: LinearInit, seed: number): { weight: Float32Array; bias: Float32Array } {
  const weight = new Float32Array(outputs * inputs);
  const bias = new Float32Array(outputs);
  if (init === 'zero') return { weight, bias };
  if (init !== 'torch') throw new Error(`linear: unknown init '${init as string}' (torch or zero)`);
  const next = seededRandom(seed);
  const bound = 1 / Math.sqrt(inputs);
  for (let k = 0; k < weight.length; k++) weight[k] = (2 * next() - 1) * bound;
  for (let k = 0; k < bias.length; k++) bias[k] = (2 * next() - 1) * bound;
  return { weight, bias };
}
