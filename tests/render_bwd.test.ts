// The splatting backward pass (rasterize_bwd -> project_bwd): the float64
// references against central finite differences of the forward reference, then
// the GPU against the references for every gradient group, both reductions,
// depth gradients, the densification statistics and accumulation over views.
// The loss is sum(w * image) + sum(wd * depth) with random w, wd, so dImage = w.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession } from '../harness/browser/session.ts';
import type { RenderJobResult } from '../harness/page/render_job.ts';
import { Camera, type CameraSpec } from '../harness/splat/camera.ts';
import type { GaussianParams, ParamGroup } from '../harness/splat/model.ts';
import type { ParamsLike } from '../harness/splat/project_ref.ts';
import { refRender, refRenderBwd, type RefRenderBwdResult } from '../harness/splat/render_ref.ts';
import { cameraAt, PARAM_GROUPS, randomScene, uniform } from './helpers/splat_scenes.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const BG = [0.2, 0.5, 0.7];

function weights(n: number, seed: number): Float32Array {
  const rnd = uniform(seed);
  return Float32Array.from({ length: n }, () => rnd() - 0.5);
}

function toF64(p: GaussianParams): ParamsLike {
  const out = { count: p.count, shDegree: p.shDegree } as ParamsLike;
  for (const g of PARAM_GROUPS) (out as Record<string, unknown>)[g] = Float64Array.from(p[g]);
  return out;
}

/** ||got - want|| / ||want|| <= rel, and every element within atol (relative to the largest |want|) + rtol. */
function closeGrad(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, rel: number, elem: number, what: string) {
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
  t.true(r <= rel || num === 0, `${what}: relative error ${r.toExponential(2)} (norm ${Math.sqrt(den).toExponential(2)})`);
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!) - elem * (peak + Math.abs(want[i]!));
    if (d > excess) {
      excess = d;
      worst = i;
    }
  }
  t.is(worst, -1, worst >= 0 ? `${what}[${worst}]: got ${got[worst]}, want ${want[worst]} (peak ${peak})` : undefined);
}

// --- References against finite differences (CPU, float64) ---------------------

/** A scene with the awkward cases: SH degree 3, clamped alpha, clamped colour, a splat past the frustum clamp. */
function fdScene(): GaussianParams {
  const p = randomScene(8, 21, { shDegree: 3, logScale: [-2.2, -1.3], spread: 0.6, logit: [-0.5, 2.5], shRest: 0.4 });
  p.opacity_logits[0] = 6; // opacity 0.9975: alpha clamped at 0.99 near its centre
  p.sh.fill(0, 48, 96);
  p.sh.fill(-2.5, 48, 51); // colour of splat 1 clamped at 0 from every side
  // Splat 2 sits beyond 1.3 tan(fov/2) to the right but reaches into the image.
  p.means.set([2.4, 0.1, 0], 3 * 2);
  p.log_scales.set([-0.2, -0.6, -0.5], 3 * 2);
  return p;
}

test('refRasterizeBwd + refProjectBwd match central finite differences of refRender (every group, with depth)', (t) => {
  const W = 32;
  const H = 28;
  const p = toF64(fdScene());
  const cam = Camera.fromBlender(cameraAt([0.4, 0.3, 3], W, H, 50));
  // The awkward cases are really there.
  const fwd = refRender(p, cam, { background: BG });
  t.true(fwd.projected.tilesTouched[2]! > 0, 'splat 2 is visible');
  const pc = cam.toCamera([2.4, 0.1, 0]);
  t.true(Math.abs(pc[0] / pc[2]) > 1.3 * cam.tanHalfFovX, 'splat 2 is past the frustum clamp');
  t.is(fwd.projected.rgb[4 * 1 + 3], 7, 'splat 1 colour clamped');

  const w = weights(W * H * 4, 22);
  const wd = weights(W * H, 23);
  const loss = () => {
    const r = refRender(p, cam, { background: BG });
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i]! * r.image[i]!;
    for (let i = 0; i < wd.length; i++) s += wd[i]! * r.depth[i]!;
    return s;
  };
  const analytic = refRenderBwd(p, cam, w, wd, { background: BG });
  for (const g of PARAM_GROUPS) {
    const arr = p[g] as Float64Array;
    const fd = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]!;
      // Small steps: the forward has measure-zero jumps (alpha crossing 1/255, the
      // transmittance stop, bbox edges) that a larger step may straddle.
      const eps = 1e-7 * Math.max(1, Math.abs(v));
      arr[i] = v + eps;
      const up = loss();
      arr[i] = v - eps;
      const down = loss();
      arr[i] = v;
      fd[i] = (up - down) / (2 * eps);
    }
    closeGrad(t, analytic.grads[g], fd, 1e-6, 1e-6, `d loss / d ${g}`);
  }
  // The clamps do cut gradients: splat 1's colour gets none.
  t.true(analytic.grads.sh.subarray(48, 96).every((v) => v === 0));
});

// --- GPU against the references --------------------------------------------------

interface BwdCase {
  params: GaussianParams;
  camera: CameraSpec;
  dImage: Float32Array;
  dDepth?: Float32Array;
}

function makeCase(params: GaussianParams, camera: CameraSpec, seed: number, withDepth: boolean): BwdCase {
  const n = camera.width * camera.height;
  return { params, camera, dImage: weights(n * 4, seed), dDepth: withDepth ? weights(n, seed + 1) : undefined };
}

function reference(c: BwdCase): RefRenderBwdResult {
  return refRenderBwd(c.params, Camera.fromBlender(c.camera), c.dImage, c.dDepth ?? null, { background: BG });
}

function runGpu(c: BwdCase, extra: Record<string, unknown> = {}): Promise<RenderJobResult> {
  return session.run<RenderJobResult>('render', { params: c.params, camera: c.camera, background: BG, dImage: c.dImage, dDepth: c.dDepth, ...extra });
}

/** `scale`: backward passes accumulated; the per-splat rows are per pass. */
function checkGrads(t: ExecutionContext, got: RenderJobResult, ref: RefRenderBwdResult, scale = 1) {
  closeGrad(t, got.gradSplat!, ref.gradSplat, 1e-4, 1e-4, 'per-splat gradients');
  for (const g of PARAM_GROUPS as readonly ParamGroup[]) closeGrad(t, got.grads![g], ref.grads[g].map((v) => v * scale), 1e-4, 1e-4, `d loss / d ${g}`);
  closeGrad(t, got.xyGradNorm!, ref.xyGradNorm.map((v) => v * scale), 1e-4, 1e-4, 'xy gradient norm');
  t.deepEqual([...got.visCount!], [...ref.visible].map((v) => v * scale), 'visibility count');
}

const smallCase = () => makeCase(fdScene(), cameraAt([0.4, 0.3, 3], 32, 28, 50), 31, true);

for (const reduce of ['subgroups', 'workgroup'] as const) {
  test(`GPU gradients (${reduce} reduction) match the references: SH degree 3, clamps, depth loss`, async (t) => {
    const c = smallCase();
    const got = await runGpu(c, { reduce });
    t.is(got.reduceVariant, reduce);
    checkGrads(t, got, reference(c));
  });
}

test('GPU gradients on a larger random scene (300 Gaussians, 64x48, SH degree 1, no depth loss)', async (t) => {
  const c = makeCase(randomScene(300, 32, { shDegree: 1 }), cameraAt([-0.6, 0.5, 3.2], 64, 48, 55), 33, false);
  const got = await runGpu(c);
  checkGrads(t, got, reference(c));
  t.true(got.visCount!.reduce((a, b) => a + b, 0) > 200, 'most splats visible');
});

test('GPU gradients with hundreds of splats in one tile: several backward batches and saturated pixels', async (t) => {
  const camera = cameraAt([0, 0, 4], 32, 32, 40);
  const cam = Camera.fromBlender(camera);
  const stack = randomScene(400, 34, { shDegree: 0, spread: 0.03, logScale: [-1.2, -0.5], logit: [-1, 2] });
  for (let i = 0; i < 400; i++) {
    const d = 3 + (i * 2) / 400;
    stack.means.set([((8 - cam.cx) / cam.fx) * d + stack.means[3 * i]!, (-(8 - cam.cy) / cam.fy) * d + stack.means[3 * i + 1]!, 4 - d], 3 * i);
  }
  const c = makeCase(stack, camera, 35, true);
  const got = await runGpu(c);
  t.true(got.ranges[1]! - got.ranges[0]! > 256, 'more than two backward batches in tile 0');
  t.true(Array.from(got.finalT).some((v) => v < 1e-3), 'some pixels saturate');
  checkGrads(t, got, reference(c));
});

test('gradients and densification statistics accumulate over backward passes; a zero dImage adds nothing', async (t) => {
  const c = smallCase();
  const twice = await runGpu(c, { backwardRepeat: 2 });
  checkGrads(t, twice, reference(c), 2);
  const zero = await runGpu({ ...c, dImage: new Float32Array(c.dImage.length), dDepth: undefined });
  for (const g of PARAM_GROUPS) t.true(zero.grads![g].every((v) => v === 0), `${g} stays zero`);
  t.true(zero.xyGradNorm!.every((v) => v === 0));
  t.true(zero.visCount!.some((v) => v === 1), 'visibility still counts');
});
