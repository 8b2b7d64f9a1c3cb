// density_grid (wgsl/density_grid.wgsl) in real headless Chromium against
// refDensityGrid (float64): random anisotropic Gaussians over a grid whose size is
// not a multiple of the bin, the opacity cut, Gaussians partly or wholly outside
// the grid, determinism, the grid placement, and the WGSL constant mirror.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrowserSession } from '../harness/browser/session.ts';
import { DENSITY_CUTOFF_SIGMA, densityGridSpec, keptGaussians, refDensityGrid } from '../harness/mesh/density_grid_ref.ts';
import type { DensityGridJobResult } from '../harness/page/mesh_job.ts';
import { randomScene } from './helpers/splat_scenes.ts';

let session: BrowserSession;
test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});
test.after.always(async () => {
  await session?.close();
});

const ATOL = 2e-5;
const RTOL = 1e-4;

function compare(t: import('ava').ExecutionContext, gpu: Float32Array, ref: { density: Float64Array; ambiguous: Float64Array }) {
  t.is(gpu.length, ref.density.length);
  let worst = 0;
  let bad = 0;
  for (let i = 0; i < gpu.length; i++) {
    // A contribution right at the 3σ cut may fall on either side in f32.
    const tol = ATOL + RTOL * Math.abs(ref.density[i]!) + ref.ambiguous[i]!;
    const err = Math.abs(gpu[i]! - ref.density[i]!);
    if (err > tol) bad++;
    worst = Math.max(worst, err - ref.ambiguous[i]!);
  }
  t.is(bad, 0, `worst error ${worst}`);
}

test('density grid matches refDensityGrid on random anisotropic Gaussians (n = 37, not a multiple of the bin)', async (t) => {
  const params = randomScene(300, 11, { spread: 0.8, logScale: [-3.2, -1.6], logit: [-7, 4] });
  // Some Gaussians fall below the opacity cut (logit -7 → 0.0009).
  const kept = keptGaussians(params).length;
  t.true(kept < params.count && kept > params.count / 2, `${kept} of ${params.count} kept`);
  const r = await session.run<DensityGridJobResult>('densityGrid', { params, n: 37 } as never);
  const ref = refDensityGrid(params, r.grid, { boundaryMargin: 1e-3 });
  compare(t, r.density, ref);
  const max = Math.max(...r.density);
  t.true(max > 0.5, `max density ${max}`);
  t.true(r.pairs > 0);
  // Deterministic: same input, same bits.
  const again = await session.run<DensityGridJobResult>('densityGrid', { params, n: 37 } as never);
  t.deepEqual(Buffer.from(again.density.buffer), Buffer.from(r.density.buffer));
});

test('density grid with the sampling filter matches the reference, and keeps a sheet thinner than the spacing', async (t) => {
  const params = randomScene(200, 17, { spread: 0.8, logScale: [-5, -1.6], logit: [-1, 4] });
  const r = await session.run<DensityGridJobResult>('densityGrid', { params, n: 29, filterSigma: 0.03 } as never);
  compare(t, r.density, refDensityGrid(params, r.grid, { boundaryMargin: 1e-3, filterSigma: 0.03 }));
  // Filtering widens every Gaussian: the field differs from the unfiltered one.
  const plain = refDensityGrid(params, r.grid).density;
  t.true(r.density.some((v, i) => Math.abs(v - plain[i]!) > 1e-3));

  // A sheet of opaque Gaussians 2 mm thick in z, lying halfway between two grid
  // planes 5 cm apart: unfiltered, no grid point sees it; with a filter of half a
  // spacing it reaches the iso level (0.5) on the planes either side.
  const sheet = randomScene(25, 3);
  for (let i = 0; i < 25; i++) {
    sheet.means.set([-0.2 + 0.1 * (i % 5), -0.2 + 0.1 * Math.floor(i / 5), 0.025], 3 * i);
    sheet.log_scales.set([Math.log(0.06), Math.log(0.06), Math.log(0.002)], 3 * i);
    sheet.quats.set([1, 0, 0, 0], 4 * i);
    sheet.opacity_logits[i] = 4;
  }
  const grid = { n: 11, origin: [-0.25, -0.25, -0.25] as [number, number, number], spacing: 0.05 };
  const bare = await session.run<DensityGridJobResult>('densityGrid', { params: sheet, grid } as never);
  const filtered = await session.run<DensityGridJobResult>('densityGrid', { params: sheet, grid, filterSigma: 0.025 } as never);
  t.true(Math.max(...bare.density) < 1e-6, `unfiltered max ${Math.max(...bare.density)}`);
  const at = (d: Float32Array, i: number, j: number, k: number) => d[i + 11 * (j + 11 * k)]!;
  t.true(at(filtered.density, 5, 5, 5) > 0.5 && at(filtered.density, 5, 5, 6) > 0.5, `planes either side: ${at(filtered.density, 5, 5, 5)}, ${at(filtered.density, 5, 5, 6)}`);
  t.true(at(filtered.density, 5, 5, 8) < 0.01, `far plane ${at(filtered.density, 5, 5, 8)}`);
  compare(t, filtered.density, refDensityGrid(sheet, grid, { boundaryMargin: 1e-3, filterSigma: 0.025 }));
});

test('density grid: a grid that cuts through the Gaussians and an explicit placement', async (t) => {
  const params = randomScene(120, 5, { spread: 1, logScale: [-2.5, -1.2], logit: [0, 3] });
  // A grid covering only part of the cloud: Gaussians outside contribute nothing, no out-of-range writes.
  const grid = { n: 16, origin: [-0.3, -0.5, 0.1] as [number, number, number], spacing: 0.05 };
  const r = await session.run<DensityGridJobResult>('densityGrid', { params, grid } as never);
  compare(t, r.density, refDensityGrid(params, grid, { boundaryMargin: 1e-3 }));
});

test('density grid: one isotropic Gaussian gives the analytic field', async (t) => {
  const params = randomScene(1, 1);
  params.means.set([0.01, -0.02, 0.03]);
  params.log_scales.fill(Math.log(0.2));
  params.quats.set([0.3, 0.1, -0.5, 0.2]); // irrelevant for an isotropic Gaussian
  params.opacity_logits[0] = 2; // opacity 0.8808
  const grid = { n: 9, origin: [-0.4, -0.4, -0.4] as [number, number, number], spacing: 0.1 };
  const r = await session.run<DensityGridJobResult>('densityGrid', { params, grid } as never);
  const o = 1 / (1 + Math.exp(-2));
  let checked = 0;
  for (let k = 0; k < 9; k++) for (let j = 0; j < 9; j++) for (let i = 0; i < 9; i++) {
    const d2 = (-0.4 + 0.1 * i - 0.01) ** 2 + (-0.4 + 0.1 * j + 0.02) ** 2 + (-0.4 + 0.1 * k - 0.03) ** 2;
    const m2 = d2 / 0.04;
    const want = m2 <= 9 ? o * Math.exp(-0.5 * m2) : 0;
    if (Math.abs(m2 - 9) < 1e-3) continue;
    t.true(Math.abs(r.density[i + 9 * (j + 9 * k)]! - want) < 1e-5, `(${i},${j},${k}): ${r.density[i + 9 * (j + 9 * k)]} vs ${want}`);
    checked++;
  }
  t.true(checked > 700);
});

test('densityGridSpec: a padded cube around the kept centres; no Gaussian kept is an error', (t) => {
  const params = randomScene(50, 3, { spread: 0.5 });
  params.means[0] = 5; // far away but transparent: must not stretch the grid
  params.opacity_logits[0] = -10;
  const g = densityGridSpec(params, 33, { padding: 0.1 });
  for (const i of keptGaussians(params)) {
    for (let a = 0; a < 3; a++) {
      const v = params.means[3 * i + a]!;
      t.true(v > g.origin[a]! && v < g.origin[a]! + g.spacing * 32);
    }
  }
  t.true(g.origin[0] + 32 * g.spacing < 1, 'the transparent outlier is ignored');
  params.opacity_logits.fill(-10);
  t.throws(() => densityGridSpec(params, 33), { message: /no Gaussian has opacity above 0.005/ });
});

test('CUTOFF_SIGMA in wgsl/density_grid.wgsl matches DENSITY_CUTOFF_SIGMA', (t) => {
  const src = readFileSync(join(import.meta.dirname, '..', 'wgsl', 'density_grid.wgsl'), 'utf8');
  t.regex(src, new RegExp(`const CUTOFF_SIGMA: f32 = ${DENSITY_CUTOFF_SIGMA}\\.0;`));
});
