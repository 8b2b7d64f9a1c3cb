// Seeded random Gaussian clouds for the microbenchmarks: N Gaussians in the unit
// ball, sized so neighbours just overlap (scale ~ N^(-1/3)), as a trained object
// of that size would be, so tile and intersection counts grow realistically with N.
import { emptyParams, type GaussianParams } from '../splat/model.ts';
import { lookAtC2w, type CameraSpec } from '../splat/camera.ts';
import { seededRandom } from '../pipeline/rng.ts';

export function gaussianCloud(count: number, seed: number): GaussianParams {
  const rnd = seededRandom(seed);
  const p = emptyParams(count, 0);
  const logScale = Math.log(0.6 * Math.cbrt(1 / Math.max(1, count)));
  for (let i = 0; i < count; i++) {
    // Rejection-sample the unit ball.
    let x: number, y: number, z: number;
    do {
      x = 2 * rnd() - 1;
      y = 2 * rnd() - 1;
      z = 2 * rnd() - 1;
    } while (x * x + y * y + z * z > 1);
    p.means.set([x, y, z], 3 * i);
    for (let k = 0; k < 3; k++) p.log_scales[3 * i + k] = logScale + 0.5 * (rnd() - 0.5);
    p.quats.set([rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5], 4 * i);
    p.opacity_logits[i] = 4 * rnd() - 1;
    for (let c = 0; c < 3; c++) p.sh[3 * i + c] = 3 * rnd() - 1.5;
  }
  return p;
}

/** A square view from distance 2.6 (the unit ball fills most of a 49.1° frame). */
export function benchCamera(size: number): CameraSpec {
  return { c2w: lookAtC2w([0, 0.8, 2.5], [0, 0, 0]), fovx: (49.1 * Math.PI) / 180, width: size, height: size };
}
