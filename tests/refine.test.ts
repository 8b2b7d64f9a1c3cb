// Texture refinement (wgsl/refine.wgsl, wgsl/refine_bwd.wgsl) in real headless
// Chromium: colours, per-pixel loss and texture gradients against refRefineForward,
// refRefineLoss and refRefineBwd; refRefineBwd against central finite differences
// of the reference loss; a refinement with Adam lowers the loss and leaves the
// alpha column alone.
import test from 'ava';
import { BrowserSession } from '../harness/browser/session.ts';
import { refRefineBwd, refRefineForward, refRefineLoss } from '../harness/mesh/refine_ref.ts';
import type { RefineJobResult } from '../harness/page/mesh_job.ts';
import { uniform } from './helpers/splat_scenes.ts';

let session: BrowserSession;
test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});
test.after.always(async () => {
  await session?.close();
});

const T = 8;
const F = 4;
const P = 16 * 16;
const weights = { data: 1, temporal: 0.7 };

function makeCase(seed: number) {
  const rnd = uniform(seed);
  const textures = Array.from({ length: F }, () => Float32Array.from({ length: T * T * 4 }, (_, i) => (i % 4 === 3 ? 1 : rnd())));
  // Pixels map into the texture (including its clamped edges); ~15 % uncovered per frame.
  const uvMaps = Array.from({ length: F }, () => {
    const m = new Float32Array(P * 4);
    for (let p = 0; p < P; p++) if (rnd() > 0.15) m.set([rnd() * 1.04 - 0.02, rnd() * 1.04 - 0.02, 2, 1], 4 * p);
    return m;
  });
  const targets = Array.from({ length: F }, () => {
    const t = new Float32Array(P * 4);
    for (let p = 0; p < P; p++) {
      const a = rnd() < 0.2 ? 0.3 * rnd() : 0.6 + 0.4 * rnd();
      t.set([a * rnd(), a * rnd(), a * rnd(), a], 4 * p);
    }
    return t;
  });
  return { textures, uvMaps, targets };
}

test('refine and refine_bwd match refRefineForward, refRefineLoss and refRefineBwd', async (t) => {
  const c = makeCase(3);
  const r = await session.run<RefineJobResult>('refine', { size: T, ...c, weights } as never);
  const colours = refRefineForward(c.textures, c.uvMaps, T);
  const grads = refRefineBwd(colours, c.targets, c.uvMaps, T, weights);
  const loss = refRefineLoss(colours, c.targets, weights);
  let worstC = 0;
  let worstG = 0;
  let maxG = 0;
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < P * 4; i++) worstC = Math.max(worstC, Math.abs(r.colours[f]![i]! - colours[f]![i]!));
    for (let i = 0; i < T * T * 4; i++) {
      worstG = Math.max(worstG, Math.abs(r.grads[f]![i]! - grads[f]![i]!));
      maxG = Math.max(maxG, Math.abs(grads[f]![i]!));
    }
  }
  t.true(worstC < 1e-5, `colours: worst ${worstC}`);
  t.true(maxG > 1e-3, 'gradients are not trivially zero');
  t.true(worstG < 1e-5 + 1e-4 * maxG, `gradients: worst ${worstG} of max ${maxG}`);
  const gpuLoss = r.loss.reduce((s, l) => s + l.reduce((a, b) => a + b, 0), 0);
  t.true(Math.abs(gpuLoss - loss.total) < 1e-5 + 1e-4 * loss.total, `loss ${gpuLoss} vs ${loss.total}`);
  t.true(loss.temporal > 0.05 * loss.total, 'the temporal term is exercised');
});

test('refRefineBwd matches central finite differences of the reference loss', (t) => {
  const c = makeCase(9);
  const tex = c.textures.map((x) => Float64Array.from(x));
  const lossOf = () => refRefineLoss(refRefineForward(tex, c.uvMaps, T), c.targets, weights).total;
  const grads = refRefineBwd(refRefineForward(tex, c.uvMaps, T), c.targets, c.uvMaps, T, weights);
  const rnd = uniform(4);
  const h = 1e-5;
  let checked = 0;
  for (let k = 0; k < 60; k++) {
    const f = Math.floor(rnd() * F);
    const i = 4 * Math.floor(rnd() * T * T) + Math.floor(rnd() * 3);
    const v = tex[f]![i]!;
    tex[f]![i] = v + h;
    const up = lossOf();
    tex[f]![i] = v - h;
    const down = lossOf();
    tex[f]![i] = v;
    const fd = (up - down) / (2 * h);
    t.true(Math.abs(fd - grads[f]![i]!) < 1e-7 + 1e-4 * Math.abs(fd), `frame ${f} float ${i}: fd ${fd} vs ${grads[f]![i]}`);
    checked++;
  }
  t.is(checked, 60);
});

test('refineTextures: Adam lowers the loss and never touches alpha', async (t) => {
  const c = makeCase(5);
  const r = await session.run<RefineJobResult>('refine', { size: T, ...c, weights, config: { iterations: 30, lr: 0.05, dataWeight: 1, temporalWeight: 0.7 } } as never);
  t.log(`loss ${r.lossBefore} -> ${r.lossAfter}`);
  t.true(r.lossAfter! < 0.5 * r.lossBefore!, `loss ${r.lossBefore} -> ${r.lossAfter}`);
  for (const tex of r.textures) for (let i = 3; i < tex.length; i += 4) t.is(tex[i], 1);
});
