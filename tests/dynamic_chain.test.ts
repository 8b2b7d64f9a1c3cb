// The dynamic stage's chain for one sample, deform -> render -> loss -> backward
// (runDynamicStage in harness/pipeline/dynamic_stage.ts), for both fields
// (HexPlane, MLP), on a tiny scene:
//   (a) the float64 chain refHexPlaneField / refMlpField -> refRender -> refLoss
//       and its backward refLoss grad -> refRenderBwd -> refHexPlaneFieldBwd /
//       refMlpFieldBwd against central finite differences of the float64 forward
//       chain: sampled plane entries (and unsampled ones, which get none), every
//       decoder / MLP layer, and every canonical parameter;
//   (b) the page job `dynamicChain` (the stage's buffers and calls, real Chromium)
//       against that float64 chain: field gradients, canonical gradients, deformed
//       rows;
//   (c) the GPU loss against refLoss.
// Loss: RGB MSE + RGB L1 + D-SSIM + alpha MSE against a random target.
//
// What "the gradient" of the canonical means is. The field reads the canonical
// means as its input position *detached* (harness/deform/field.ts, as Deformable
// 3DGS; we do the same for HexPlane): the chain's backward sends dL/d means only
// through the identity path means' = means + Δ(x, t). So the function the finite
// differences differentiate is
//   L(θ, c) = loss(render(c.means + Δ_θ(x0, t), c.log_scales + …, c.quats + …, c.opacity, c.sh))
// with the field's input x0 held fixed at the unperturbed canonical means: a
// canonical mean's finite difference moves the deformed mean only (the same as
// the finite difference of the deformed mean). The total derivative through
// x0 is a different number (and not what training uses).
//
// Heads are random and non-zero (with zero heads every gradient upstream of the
// heads vanishes), time planes random rather than the constant 1 of the init.
// The scene is well-conditioned (checked): every centre a few pixels inside the
// image (2x2 tiles), distinct depths, a visible deformation; FD steps small
// enough (1e-7 / 1e-6) that none straddles the forward's measure-zero jumps
// (alpha crossing 1/255, bbox edges at tile borders, ReLU kinks).
// Tolerances: float64 analytic vs FD 1e-6 (relative norm and elementwise, plus
// the FD rounding noise, see NOISE); GPU vs float64 1e-4 as render_bwd.test.ts
// (measured ~1e-6); GPU loss terms 1e-5 relative.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession } from '../harness/browser/session.ts';
import {
  HEXPLANE_PAPER,
  hexPlaneLayout,
  initHexPlaneParams,
  LAYER_LABELS,
  PLANE_AXES,
  PLANE_GROUP,
  refHexPlaneActivations,
  refHexPlaneFieldBwd,
  type HexPlaneConfig,
  type HexPlaneParams,
  type RefDeformRows,
} from '../harness/deform/hexplane_ref.ts';
import { initMlpParams, MLP_PAPER, mlpLayers, refMlpField, refMlpFieldBwd, type MlpFieldConfig } from '../harness/deform/mlp_ref.ts';
import type { DynamicChainArgs, DynamicChainField, DynamicChainResult } from '../harness/page/dynamic_chain_job.ts';
import { seededRandom } from '../harness/pipeline/rng.ts';
import { Camera, type CameraSpec } from '../harness/splat/camera.ts';
import { refLoss, type RefLossWeights } from '../harness/splat/loss_ref.ts';
import type { GaussianParams, ParamGroup } from '../harness/splat/model.ts';
import type { ParamsLike } from '../harness/splat/project_ref.ts';
import { refRender, refRenderBwd } from '../harness/splat/render_ref.ts';
import { cameraAt, PARAM_GROUPS, randomScene } from './helpers/splat_scenes.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const BG: [number, number, number] = [0.2, 0.5, 0.7];
const WEIGHTS: RefLossWeights = { rgbMse: 1, rgbL1: 0.3, dssim: 0.4, alphaMse: 0.5 };
const CAMERA: CameraSpec = cameraAt([0.4, 0.3, 3], 32, 24, 50);
const DEFORMED = ['means', 'log_scales', 'quats'] as const;
type Rows = Record<(typeof DEFORMED)[number], Float64Array>;

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

// --- the two fields: parameters, Δ at the fixed input, backward --------------------

interface FieldCase {
  kind: 'hexplane' | 'mlp';
  time: number;
  /** What the page job builds the field from. */
  spec: DynamicChainField;
  /** Parameters by the GPU's group names (`hexplane.*`, `mlp.*`). */
  params: Record<string, Float32Array>;
  /** Δ(x0, t) [N,3], [N,3], [N,4] in float64 for parameters by the GPU's names. */
  delta(params: Record<string, ArrayLike<number>>, x0: ArrayLike<number>, count: number): Rows;
  /** Field parameter gradients (GPU names) given dL/d deformed rows. */
  backward(params: Record<string, ArrayLike<number>>, x0: ArrayLike<number>, count: number, dOut: Rows): Record<string, Float64Array>;
  /** Groups and the indices whose finite differences are checked (sampled plane entries and some that are not). */
  fdIndices(grads: Record<string, Float64Array>): Record<string, number[]>;
}

/** Up to k indices spread evenly over `from`. */
function spread(from: number[], k: number): number[] {
  if (from.length <= k) return from;
  return Array.from({ length: k }, (_, i) => from[Math.floor((i * from.length) / k)]!);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Per group: up to k entries with a non-zero analytic gradient (sampled plane
 * texels, live ReLU units) and up to 4 with none (texels no Gaussian samples,
 * dead units), whose finite difference must then be 0 as well.
 */
function pick(grads: Record<string, Float64Array>, k: (name: string) => number): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(grads).map(([name, g]) => {
      const all = range(g.length);
      return [name, [...spread(all.filter((i) => g[i] !== 0), k(name)), ...spread(all.filter((i) => g[i] === 0), 4)]];
    }),
  );
}

/** Two scales, uneven axes: small enough for float64 finite differences. */
const HEX_CONFIG: HexPlaneConfig = {
  ...HEXPLANE_PAPER,
  resolution: [4, 5, 3, null],
  scales: [1, 2],
  features: 4,
  width: 8,
  bounds: { min: [-1.2, -1.1, -1.3], max: [1.1, 1.2, 1.0] },
  seed: 5,
};
const HEX_FRAMES = 5;

function hexplaneCase(): FieldCase {
  const layout = hexPlaneLayout(HEX_CONFIG, HEX_FRAMES);
  const params: HexPlaneParams = initHexPlaneParams(HEX_CONFIG, HEX_FRAMES);
  // Every plane U[0.5, 1.5] (init: spatial U[0.1, 0.5], time planes all 1, so the
  // features are O(1) and the planes' gradients not tiny); heads random and small (init: 0).
  layout.res.forEach((r, s) =>
    PLANE_AXES.forEach(([a, b], q) => {
      params[PLANE_GROUP]!.set(uniform(r[a] * r[b] * layout.features, 40 + 10 * s + q, 0.5, 1.5), layout.offsets[s]![q]!);
    }),
  );
  let k = 0;
  for (const name of Object.keys(params)) {
    if (name === PLANE_GROUP || name.startsWith(LAYER_LABELS.feature)) continue;
    const outHead = LAYER_LABELS.out.some((l) => name.startsWith(l));
    params[name] = uniform(params[name]!.length, 60 + k++, -1, 1).map((v) => v * (outHead ? 0.12 : 0.4));
  }
  const input = (p: Record<string, ArrayLike<number>>, x0: ArrayLike<number>, count: number) => ({
    layout,
    bounds: HEX_CONFIG.bounds,
    params: p,
    canonical: { means: x0, log_scales: new Float64Array(count * 3), quats: new Float64Array(count * 4) },
    count,
    time: 0.37,
  });
  return {
    kind: 'hexplane',
    time: 0.37,
    spec: { kind: 'hexplane', config: HEX_CONFIG, frames: HEX_FRAMES, params },
    params,
    delta(p, x0, count) {
      const [means, log_scales, quats] = refHexPlaneActivations(input(p, x0, count)).delta as [Float64Array, Float64Array, Float64Array];
      return { means, log_scales, quats };
    },
    backward: (p, x0, count, dOut) => refHexPlaneFieldBwd(input(p, x0, count), dOut as RefDeformRows).grads,
    fdIndices: (grads) => pick(grads, (name) => (name === PLANE_GROUP ? 40 : 8)),
  };
}

/** D = 3, W = 16, skip after layer 0, L_x = 4, L_t = 2; torch-default (non-zero) heads, scaled down. */
const MLP_CONFIG: MlpFieldConfig = { ...MLP_PAPER, depth: 3, width: 16, skipAt: 0, posFreqs: 4, timeFreqs: 2, zeroHeads: false, seed: 9 };

function mlpCase(): FieldCase {
  const raw = initMlpParams(MLP_CONFIG);
  for (const l of mlpLayers(MLP_CONFIG)) if (l.head) for (const s of ['weight', 'bias']) raw[`${l.name}.${s}`] = raw[`${l.name}.${s}`]!.map((v) => v * 0.5);
  const ref = (p: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/^mlp\./, ''), v]));
  const gpuNames = (p: Record<string, Float64Array>) => Object.fromEntries(Object.entries(p).map(([k, v]) => [`mlp.${k}`, v]));
  const zeros = (count: number) => ({ log_scales: new Float64Array(count * 3), quats: new Float64Array(count * 4) });
  return {
    kind: 'mlp',
    time: 0.61,
    spec: { kind: 'mlp', config: MLP_CONFIG, params: raw },
    params: Object.fromEntries(Object.entries(raw).map(([k, v]) => [`mlp.${k}`, v])),
    delta(p, x0, count) {
      const out = refMlpField(ref(p), MLP_CONFIG, { means: x0, ...zeros(count) }, count, 0.61);
      return { means: out.means.map((v, i) => v - x0[i]!), log_scales: out.log_scales, quats: out.quats };
    },
    backward: (p, x0, count, dOut) => gpuNames(refMlpFieldBwd(ref(p), MLP_CONFIG, { means: x0, ...zeros(count) }, count, 0.61, dOut).grads),
    fdIndices: (grads) => pick(grads, (name) => (name.endsWith('.bias') ? 6 : 12)),
  };
}

// --- the scene and the float64 chain ---------------------------------------------

/** 8 Gaussians, SH degree 1 (view-dependent colour: means get gradient through it too). */
function scene(seed: number): GaussianParams {
  return randomScene(8, seed, { shDegree: 1, spread: 0.55, logScale: [-2.3, -1.5], logit: [-0.5, 2], shRest: 0.4 });
}

function target(seed: number): Float32Array {
  return uniform(CAMERA.width * CAMERA.height * 4, seed, 0, 1);
}

interface Chain {
  loss: ReturnType<typeof refLoss>;
  deformed: Rows;
  fieldGrads: Record<string, Float64Array>;
  grads: Record<ParamGroup, Float64Array>;
  /** The deformed scene as rendered (float64). */
  rendered: ParamsLike;
}

class ChainRef {
  readonly cam = Camera.fromBlender(CAMERA);
  /** The field's input: the canonical means, fixed (detached). */
  readonly x0: Float64Array;
  readonly canonical: Record<ParamGroup, Float64Array>;
  readonly fieldParams: Record<string, Float64Array>;

  constructor(
    readonly field: FieldCase,
    readonly params: GaussianParams,
    readonly target: Float32Array,
  ) {
    this.x0 = Float64Array.from(params.means);
    this.canonical = Object.fromEntries(PARAM_GROUPS.map((g) => [g, Float64Array.from(params[g])])) as Record<ParamGroup, Float64Array>;
    this.fieldParams = Object.fromEntries(Object.entries(field.params).map(([k, v]) => [k, Float64Array.from(v)]));
  }

  private deform(delta: Rows): ParamsLike {
    const c = this.canonical;
    const add = (a: Float64Array, d: Float64Array) => a.map((v, i) => v + d[i]!);
    return { count: this.params.count, shDegree: this.params.shDegree, means: add(c.means, delta.means), log_scales: add(c.log_scales, delta.log_scales), quats: add(c.quats, delta.quats), opacity_logits: c.opacity_logits, sh: c.sh };
  }

  private lossOf(p: ParamsLike, grad: boolean) {
    const image = refRender(p, this.cam, { background: BG }).image;
    return refLoss({ width: CAMERA.width, height: CAMERA.height, render: image, target: this.target, weights: WEIGHTS }, { grad });
  }

  /** The forward chain's total loss at the current parameters; `delta` reuses Δ when only canonical values moved. */
  value(delta?: Rows): number {
    return this.lossOf(this.deform(delta ?? this.field.delta(this.fieldParams, this.x0, this.params.count)), false).total;
  }

  /** The chain's analytic gradients (float64 backward of every stage). */
  analytic(): Chain {
    const n = this.params.count;
    const delta = this.field.delta(this.fieldParams, this.x0, n);
    const rendered = this.deform(delta);
    const loss = this.lossOf(rendered, true);
    const rb = refRenderBwd(rendered, this.cam, loss.grad!, null, { background: BG });
    const dOut: Rows = { means: rb.grads.means, log_scales: rb.grads.log_scales, quats: rb.grads.quats };
    const fieldGrads = this.field.backward(this.fieldParams, this.x0, n, dOut);
    // Identity path: dL/d canonical = dL/d deformed for the deformable groups.
    const grads = { ...rb.grads, ...dOut } as Record<ParamGroup, Float64Array>;
    return { loss, deformed: { means: rendered.means as Float64Array, log_scales: rendered.log_scales as Float64Array, quats: rendered.quats as Float64Array }, fieldGrads, grads, rendered };
  }
}

const CASES = [
  { make: hexplaneCase, seed: 11 },
  { make: mlpCase, seed: 12 },
];

/**
 * ||got - want|| / ||want|| <= rel, and every element within elem·(max|want| + |want_i|),
 * both up to an absolute `floor` per element (the finite differences' rounding noise).
 */
function closeGrad(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, rel: number, elem: number, what: string, floor = 0) {
  t.is(got.length, want.length, `${what}: length`);
  let num = 0;
  let den = 0;
  let peak = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
    peak = Math.max(peak, Math.abs(want[i]!));
  }
  const r = Math.sqrt(num / Math.max(den, 1e-300));
  t.true(r <= rel || Math.sqrt(num / want.length) <= floor, `${what}: relative error ${r.toExponential(2)} (norm ${Math.sqrt(den).toExponential(2)})`);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!) - elem * (peak + Math.abs(want[i]!)) - floor;
    if (d > excess) {
      excess = d;
      worst = i;
    }
  }
  t.is(worst, -1, worst >= 0 ? `${what}[${worst}]: got ${got[worst]}, want ${want[worst]} (peak ${peak})` : undefined);
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

/** The scene is well-conditioned after deformation: visible, inside the image, distinct depths, a real deformation. */
function checkScene(t: ExecutionContext, ref: ChainRef, chain: Chain) {
  const pr = refRender(chain.rendered, ref.cam, { background: BG }).projected;
  const depths: number[] = [];
  for (let i = 0; i < ref.params.count; i++) {
    const [x, y, d] = [pr.xyDepth[4 * i]!, pr.xyDepth[4 * i + 1]!, pr.xyDepth[4 * i + 2]!];
    t.true(pr.tilesTouched[i]! > 0, `Gaussian ${i} visible`);
    t.true(x > 3 && x < CAMERA.width - 3 && y > 3 && y < CAMERA.height - 3, `Gaussian ${i} centre (${x.toFixed(1)}, ${y.toFixed(1)}) inside the image`);
    depths.push(d);
  }
  depths.sort((a, b) => a - b);
  for (let i = 1; i < depths.length; i++) t.true(depths[i]! - depths[i - 1]! > 1e-3, 'no depth ties');
  const moved = Math.max(...chain.deformed.means.map((v, i) => Math.abs(v - ref.x0[i]!)));
  t.true(moved > 0.03 && moved < 0.5, `the field moves the means by a visible amount (max |Δ| ${moved.toFixed(3)})`);
}

// --- (a) the float64 chain against finite differences ------------------------------

// Steps relative to max(1, |value|). A canonical value moves one Gaussian: 1e-7, as
// render_bwd.test.ts (the forward's jumps are never straddled). A field parameter
// moves every Gaussian at once, and its gradients are smaller: 1e-6 keeps the
// rounding noise below the tolerance without straddling a jump either.
const CANONICAL_STEP = 1e-7;
const FIELD_STEP = 1e-6;
/**
 * Bound on the float64 forward chain's rounding noise (loss ≈ 0.5; measured ~1e-16):
 * a central difference is off by up to NOISE / step from it, so that much is
 * allowed per element on top of the relative tolerances (measured errors are
 * 10–50x below it: rms 1e-10 at FIELD_STEP, 7e-10 at CANONICAL_STEP).
 */
const NOISE = 5e-15;

for (const { make, seed } of CASES) {
  const field = make();

  test(`${field.kind}: float64 chain deform -> render -> loss -> backward matches central finite differences`, (t) => {
    const ref = new ChainRef(field, scene(seed), target(seed + 100));
    const chain = ref.analytic();
    checkScene(t, ref, chain);
    const fd = (arr: Float64Array, i: number, f: () => number, step: number) => {
      const v = arr[i]!;
      const eps = step * Math.max(1, Math.abs(v));
      arr[i] = v + eps;
      const up = f();
      arr[i] = v - eps;
      const down = f();
      arr[i] = v;
      return (up - down) / (2 * eps);
    };
    // Field parameters: Δ recomputed at the fixed input x0.
    for (const [name, idx] of Object.entries(field.fdIndices(chain.fieldGrads))) {
      const analytic = chain.fieldGrads[name]!;
      t.true(norm(idx.map((i) => analytic[i]!)) > 0, `${name}: non-zero gradient on the checked entries`);
      const numeric = idx.map((i) => fd(ref.fieldParams[name]!, i, () => ref.value(), FIELD_STEP));
      closeGrad(t, idx.map((i) => analytic[i]!), numeric, 1e-6, 1e-6, `d loss / d ${name}`, NOISE / FIELD_STEP);
    }
    // Canonical parameters, every entry: Δ fixed (the field's input is detached).
    const delta = field.delta(ref.fieldParams, ref.x0, ref.params.count);
    for (const g of PARAM_GROUPS) {
      const arr = ref.canonical[g];
      const numeric = Array.from(arr, (_, i) => fd(arr, i, () => ref.value(delta), CANONICAL_STEP));
      t.true(norm(chain.grads[g]) > 0, `${g}: non-zero gradient`);
      closeGrad(t, chain.grads[g], numeric, 1e-6, 1e-6, `d loss / d canonical ${g}`, NOISE / CANONICAL_STEP);
    }
  });

  // --- (b, c) the GPU chain against the float64 chain ---------------------------------

  test(`${field.kind}: the page's chain (field -> Renderer -> dispatchLoss -> backward) matches the float64 chain`, async (t) => {
    const params = scene(seed);
    const tgt = target(seed + 100);
    const ref = new ChainRef(field, params, tgt);
    const want = ref.analytic();
    const args: DynamicChainArgs = { field: field.spec, params, camera: CAMERA, time: field.time, target: tgt, weights: WEIGHTS, background: BG };
    const got = await session.run<DynamicChainResult>('dynamicChain', args as unknown as Record<string, unknown>);
    t.false(got.overflowed, 'no intersection overflow');
    for (const g of DEFORMED) closeGrad(t, got.deformed[g], want.deformed[g], 1e-6, 1e-6, `deformed ${g}`);
    // (c) the loss and its terms.
    for (const k of ['total', 'rgbMse', 'rgbL1', 'dssim', 'alphaMse'] as const) {
      t.true(Math.abs(got.loss[k] - want.loss[k]) <= 1e-5 * Math.abs(want.loss[k]), `loss ${k}: GPU ${got.loss[k]}, float64 ${want.loss[k]}`);
    }
    t.is(got.loss.calls, 1);
    // (b) gradients: canonical (identity path + renderer), then the field's.
    for (const g of PARAM_GROUPS) closeGrad(t, got.grads[g], want.grads[g], 1e-4, 1e-4, `d loss / d canonical ${g}`);
    for (const g of DEFORMED) closeGrad(t, got.dDeformed[g], want.grads[g], 1e-4, 1e-4, `d loss / d deformed ${g}`);
    t.deepEqual(Object.keys(got.fieldGrads).sort(), Object.keys(want.fieldGrads).sort(), 'field gradient groups');
    for (const [name, g] of Object.entries(want.fieldGrads)) {
      t.true(norm(g) > 0, `${name}: non-zero gradient`);
      closeGrad(t, got.fieldGrads[name]!, g, 1e-4, 1e-4, `d loss / d ${name}`);
    }
  });
}
