// The rendering constants of wgsl/splat_common.wgsl, for code that runs where
// WGSL files cannot be imported (the float64 references and Camera under Node).
// The WGSL stays the source: shaders.ts checks this mirror against it whenever
// the page core loads, and tests/render.test.ts does the same under Node, so the
// two cannot drift silently.
import type { WgslLayouts } from '../gpu/layout.ts';

export const SPLAT_CONSTANTS = {
  TILE_SIZE: 16,
  LOW_PASS: 0.3,
  FRUSTUM_CLAMP: 1.3,
  SIGMA_EXTENT: 3,
  ALPHA_MAX: 0.99,
  ALPHA_MIN: 0.00392156862745098,
  TRANSMITTANCE_MIN: 0.0001,
  RASTER_THREADS: 64,
  WORKGROUP_SIZE_1D: 256,
  GRAD_XY: 0,
  GRAD_CONIC: 2,
  GRAD_OPACITY: 5,
  GRAD_RGB: 6,
  GRAD_DEPTH: 9,
  GRAD_STRIDE: 10,
  SH_C0: 0.28209479177387814,
  SH_C1: 0.4886025119029199,
  SH_C2_0: 1.0925484305920792,
  SH_C2_1: -1.0925484305920792,
  SH_C2_2: 0.31539156525252005,
  SH_C2_3: -1.0925484305920792,
  SH_C2_4: 0.5462742152960396,
  SH_C3_0: -0.5900435899266435,
  SH_C3_1: 2.890611442640554,
  SH_C3_2: -0.4570457994644658,
  SH_C3_3: 0.3731763325901154,
  SH_C3_4: -0.4570457994644658,
  SH_C3_5: 1.445305721320277,
  SH_C3_6: -0.5900435899266435,
} as const;

export const TILE_SIZE = SPLAT_CONSTANTS.TILE_SIZE;

/** Row layout of the per-splat gradients rasterize_bwd writes: [N, stride] f32. */
export const GRAD_LAYOUT = {
  xy: SPLAT_CONSTANTS.GRAD_XY,
  conic: SPLAT_CONSTANTS.GRAD_CONIC,
  opacity: SPLAT_CONSTANTS.GRAD_OPACITY,
  rgb: SPLAT_CONSTANTS.GRAD_RGB,
  depth: SPLAT_CONSTANTS.GRAD_DEPTH,
  stride: SPLAT_CONSTANTS.GRAD_STRIDE,
} as const;

/** Throws naming every constant whose WGSL value differs from this mirror. */
export function checkSplatConstants(layouts: WgslLayouts): void {
  const bad: string[] = [];
  for (const [name, value] of Object.entries(SPLAT_CONSTANTS)) {
    let wgsl: number;
    try {
      wgsl = layouts.constant(name);
    } catch {
      bad.push(`${name} (missing in WGSL)`);
      continue;
    }
    if (wgsl !== value) bad.push(`${name} (WGSL ${wgsl}, harness/splat/constants.ts ${value})`);
  }
  if (bad.length) throw new Error(`harness/splat/constants.ts disagrees with wgsl/splat_common.wgsl: ${bad.join(', ')}`);
}
