// The MLP deformation field of Deformable 3D Gaussians (Yang et al. 2023): its
// configuration, parameter layout and initialisation, and the float64 CPU
// references refMlpField / refMlpFieldBwd of harness/deform/mlp.ts. Pure (no
// WebGPU), so Node-side tests and the page share it.
//
// Network (the paper's DeformNetwork): e = [γ(x), γ(t)]; h_0 = relu(L_0 e);
// h_k = relu(L_k h_{k−1}), except that the layer after `skipAt` takes
// [e, h_skipAt] (the encoding concatenated again, encoding first); then three
// linear heads on h_{D−1}: Δposition (3), Δrotation (4, raw quaternion),
// Δscale (3, log-scale). x is the canonical mean, detached (no gradient).
//
// Positional encoding, as the paper's code (NeRF's embedder, log sampling, the
// input included, no π): γ(p) = (p, sin(2^0 p), cos(2^0 p), …, sin(2^{L−1} p),
// cos(2^{L−1} p)), each term the whole vector (3 values for x, 1 for t), so
// γ(x) has 3 + 6·L_x values and γ(t) 1 + 2·L_t.
import { validateSchedule, type LrSchedule } from '../splat/adam_ref.ts';
import { deriveSeed } from '../pipeline/rng.ts';
import { initLinearParams, refLinear, refLinearBwd, type RefLinearParams } from './linear_ref.ts';

export interface MlpFieldConfig {
  /** Hidden layers D (all ReLU, width W). */
  depth: number;
  /** Hidden width W. */
  width: number;
  /** The encoding is concatenated to h_skipAt, the input of layer skipAt + 1 (0-based); null: no skip. */
  skipAt: number | null;
  /** Frequency bands L_x of γ(x) and L_t of γ(t). */
  posFreqs: number;
  timeFreqs: number;
  /** Zero-initialised heads: exactly zero deformation at step 0 (the paper's code keeps torch's default init). */
  zeroHeads: boolean;
  lr: LrSchedule;
  seed: number;
}

/** The paper's settings: 8 × 256, skip at 4, L_x = 10, L_t = 6 (synthetic scenes; 10 for real ones), lr 8e-4 → 1.6e-6 over 40k iterations. */
export const MLP_PAPER: MlpFieldConfig = {
  depth: 8,
  width: 256,
  skipAt: 4,
  posFreqs: 10,
  timeFreqs: 6,
  zeroHeads: false,
  lr: { kind: 'exponential', lrInit: 8e-4, lrFinal: 1.6e-6, maxSteps: 40_000 },
  seed: 0,
};

export const MLP_HEADS = [
  { name: 'warp', outputs: 3 },
  { name: 'rotation', outputs: 4 },
  { name: 'scaling', outputs: 3 },
] as const;

export function encodingWidth(c: Pick<MlpFieldConfig, 'posFreqs' | 'timeFreqs'>): { pos: number; time: number; total: number } {
  const pos = 3 + 6 * c.posFreqs;
  const time = 1 + 2 * c.timeFreqs;
  return { pos, time, total: pos + time };
}

/** Throws on a config the field cannot build; the message names the field. */
export function validateMlpConfig(c: MlpFieldConfig): void {
  const int = (name: keyof MlpFieldConfig, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`mlp field: ${name} ${String(v)} must be an integer in [${min}, ${max}]`);
  };
  int('depth', c.depth, 1, 64);
  int('width', c.width, 1, 4096);
  int('posFreqs', c.posFreqs, 0, 20);
  int('timeFreqs', c.timeFreqs, 0, 20);
  if (c.skipAt !== null) {
    if (c.depth < 2) throw new Error(`mlp field: skipAt ${String(c.skipAt)} needs depth >= 2 (got depth ${c.depth}); use skipAt null`);
    int('skipAt', c.skipAt, 0, c.depth - 2);
  }
  if (typeof c.zeroHeads !== 'boolean') throw new Error(`mlp field: zeroHeads ${String(c.zeroHeads)} must be a boolean`);
  if (typeof c.seed !== 'number' || !Number.isInteger(c.seed) || c.seed < 0) throw new Error(`mlp field: seed ${String(c.seed)} must be a non-negative integer`);
  if (!c.lr || typeof c.lr !== 'object') throw new Error('mlp field: lr must be a learning-rate schedule');
  validateSchedule(c.lr, 'mlp field: lr');
}

const CONFIG_KEYS = ['depth', 'width', 'skipAt', 'posFreqs', 'timeFreqs', 'zeroHeads', 'lr', 'seed', 'lrSteps'];

/**
 * A config from loose options over `base` (default MLP_PAPER); `lrSteps` sets the
 * exponential schedule's length (the run's iterations). Unknown keys throw.
 */
export function mlpFieldConfig(options: Record<string, unknown> = {}, base: MlpFieldConfig = MLP_PAPER): MlpFieldConfig {
  for (const k of Object.keys(options)) if (!CONFIG_KEYS.includes(k)) throw new Error(`mlp field: unknown option '${k}' (known: ${CONFIG_KEYS.join(', ')})`);
  const { lrSteps, ...rest } = options;
  const c = { ...base, ...rest } as MlpFieldConfig;
  if (lrSteps !== undefined) {
    if (c.lr.kind !== 'exponential') throw new Error('mlp field: lrSteps needs an exponential lr schedule');
    if (typeof lrSteps !== 'number' || !(lrSteps > 0)) throw new Error(`mlp field: lrSteps ${String(lrSteps)} must be > 0`);
    c.lr = { ...c.lr, maxSteps: lrSteps };
  }
  validateMlpConfig(c);
  return c;
}

export interface MlpLayerShape {
  /** Parameter names are `<name>.weight`, `<name>.bias`. */
  name: string;
  inputs: number;
  outputs: number;
  activation: 'relu' | 'none';
  head: boolean;
}

/** Hidden layers layer0..layer{D−1}, then the heads warp, rotation, scaling. */
export function mlpLayers(c: MlpFieldConfig): MlpLayerShape[] {
  const e = encodingWidth(c).total;
  const out: MlpLayerShape[] = [];
  for (let k = 0; k < c.depth; k++) {
    const inputs = k === 0 ? e : c.skipAt !== null && k === c.skipAt + 1 ? e + c.width : c.width;
    out.push({ name: `layer${k}`, inputs, outputs: c.width, activation: 'relu', head: false });
  }
  for (const h of MLP_HEADS) out.push({ name: h.name, inputs: c.width, outputs: h.outputs, activation: 'none', head: true });
  return out;
}

export type MlpParams = Record<string, Float32Array>;

/** Initial parameters: torch's nn.Linear default per layer from its own seed stream; heads zero with zeroHeads. */
export function initMlpParams(c: MlpFieldConfig): MlpParams {
  const p: MlpParams = {};
  mlpLayers(c).forEach((l, k) => {
    const init = initLinearParams(l.inputs, l.outputs, l.head && c.zeroHeads ? 'zero' : 'torch', deriveSeed(c.seed, k));
    p[`${l.name}.weight`] = init.weight;
    p[`${l.name}.bias`] = init.bias;
  });
  return p;
}

/** γ(x) then γ(t) for each row: [count, E]. */
export function refMlpEncode(c: MlpFieldConfig, means: ArrayLike<number>, count: number, t: number): Float64Array {
  const { total } = encodingWidth(c);
  const out = new Float64Array(count * total);
  for (let r = 0; r < count; r++) {
    let k = r * total;
    const x = [means[3 * r]!, means[3 * r + 1]!, means[3 * r + 2]!];
    for (const v of x) out[k++] = v;
    for (let f = 0; f < c.posFreqs; f++) {
      for (const v of x) out[k++] = Math.sin(2 ** f * v);
      for (const v of x) out[k++] = Math.cos(2 ** f * v);
    }
    out[k++] = t;
    for (let f = 0; f < c.timeFreqs; f++) {
      out[k++] = Math.sin(2 ** f * t);
      out[k++] = Math.cos(2 ** f * t);
    }
  }
  return out;
}

export interface RefDeform {
  means: Float64Array;
  log_scales: Float64Array;
  quats: Float64Array;
}

interface Trace {
  /** Input of each layer (dense), by layer index in mlpLayers order. */
  inputs: Float64Array[];
  /** Output of each hidden layer. */
  hidden: Float64Array[];
  heads: Float64Array[];
}

function layerParams(p: Record<string, ArrayLike<number>>, l: MlpLayerShape): RefLinearParams {
  const weight = p[`${l.name}.weight`];
  const bias = p[`${l.name}.bias`];
  if (!weight || !bias) throw new Error(`mlp field: parameters of '${l.name}' missing`);
  return { inputs: l.inputs, outputs: l.outputs, activation: l.activation, weight, bias };
}

function forward(p: Record<string, ArrayLike<number>>, c: MlpFieldConfig, means: ArrayLike<number>, count: number, t: number): Trace {
  const layers = mlpLayers(c);
  const e = refMlpEncode(c, means, count, t);
  const E = encodingWidth(c).total;
  const inputs: Float64Array[] = [];
  const hidden: Float64Array[] = [];
  let h = e;
  for (let k = 0; k < c.depth; k++) {
    let x = h;
    if (c.skipAt !== null && k === c.skipAt + 1) {
      x = new Float64Array(count * (E + c.width));
      for (let r = 0; r < count; r++) {
        x.set(e.subarray(r * E, (r + 1) * E), r * (E + c.width));
        x.set(h.subarray(r * c.width, (r + 1) * c.width), r * (E + c.width) + E);
      }
    }
    inputs.push(x);
    h = refLinear(layerParams(p, layers[k]!), x, count);
    hidden.push(h);
  }
  const heads = layers.slice(c.depth).map((l) => {
    inputs.push(h);
    return refLinear(layerParams(p, l), h, count);
  });
  return { inputs, hidden, heads };
}

/** Deformed rows [0, count): canonical + the heads' outputs at time t. */
export function refMlpField(p: Record<string, ArrayLike<number>>, c: MlpFieldConfig, canonical: { means: ArrayLike<number>; log_scales: ArrayLike<number>; quats: ArrayLike<number> }, count: number, t: number): RefDeform {
  const { heads } = forward(p, c, canonical.means, count, t);
  const add = (base: ArrayLike<number>, d: Float64Array) => Float64Array.from(d, (v, i) => base[i]! + v);
  return { means: add(canonical.means, heads[0]!), quats: add(canonical.quats, heads[1]!), log_scales: add(canonical.log_scales, heads[2]!) };
}

/**
 * Backward of refMlpField given dOut (dL/d deformed): parameter gradients by
 * name, and dL/d canonical (the identity path only: the field's input is detached).
 */
export function refMlpFieldBwd(
  p: Record<string, ArrayLike<number>>,
  c: MlpFieldConfig,
  canonical: { means: ArrayLike<number>; log_scales: ArrayLike<number>; quats: ArrayLike<number> },
  count: number,
  t: number,
  dOut: { means: ArrayLike<number>; log_scales: ArrayLike<number>; quats: ArrayLike<number> },
): { grads: Record<string, Float64Array>; dCanonical: RefDeform } {
  const layers = mlpLayers(c);
  const tr = forward(p, c, canonical.means, count, t);
  const grads: Record<string, Float64Array> = {};
  const E = encodingWidth(c).total;
  const W = c.width;
  let dh: Float64Array = new Float64Array(count * W);
  const dHeads = [dOut.means, dOut.quats, dOut.log_scales];
  layers.slice(c.depth).forEach((l, j) => {
    const k = c.depth + j;
    const g = refLinearBwd(layerParams(p, l), tr.inputs[k]!, tr.heads[j]!, Float64Array.from({ length: count * l.outputs }, (_, i) => dHeads[j]![i]!), count);
    grads[`${l.name}.weight`] = g.dWeight;
    grads[`${l.name}.bias`] = g.dBias;
    for (let i = 0; i < dh.length; i++) dh[i]! += g.dx[i]!;
  });
  for (let k = c.depth - 1; k >= 0; k--) {
    const l = layers[k]!;
    const g = refLinearBwd(layerParams(p, l), tr.inputs[k]!, tr.hidden[k]!, dh, count);
    grads[`${l.name}.weight`] = g.dWeight;
    grads[`${l.name}.bias`] = g.dBias;
    if (l.inputs === E + W && c.skipAt !== null && k === c.skipAt + 1) {
      // Only the h part flows on; the encoding's share is dropped (x detached, t constant).
      dh = new Float64Array(count * W);
      for (let r = 0; r < count; r++) dh.set(g.dx.subarray(r * (E + W) + E, (r + 1) * (E + W)), r * W);
    } else dh = g.dx;
  }
  const copy = (a: ArrayLike<number>, n: number) => Float64Array.from({ length: n }, (_, i) => a[i]!);
  return { grads, dCanonical: { means: copy(dOut.means, count * 3), log_scales: copy(dOut.log_scales, count * 3), quats: copy(dOut.quats, count * 4) } };
}
