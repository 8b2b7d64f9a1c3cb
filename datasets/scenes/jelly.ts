// Non-rigid motion: a finely subdivided textured blob standing on its base that
// squashes and stretches (volume-preserving: height × s, width / √s), twists about
// its axis and bends sideways, with smooth normals recomputed every frame.
import { deriveSeed, seededRandom } from '../../harness/pipeline/rng.ts';
import { deform, sphere, toMesh, transform, scale } from './geometry.ts';
import type { Scene, SceneFactory } from './scene.ts';
import { checker, randomColour, shade } from './textures.ts';

export const jelly: SceneFactory = (seed) => {
  const rng = seededRandom(deriveSeed(seed, 103));
  const a = randomColour(rng), b = randomColour(rng);
  const texture = checker(128, 8, a, shade(b, 0.6), rng);
  const phase = rng() * Math.PI * 2;
  const twistAmp = 0.8 + 0.6 * rng();
  const bendAmp = 0.6 + 0.4 * rng();
  const H = 0.9; // rest height; base at y = -0.45
  const rest = transform(sphere(1, 40, 32), scale(0.3, H / 2, 0.3));
  return {
    name: 'jelly',
    motion: 'non-rigid',
    description: 'A subdivided checkered blob that squashes and stretches (volume kept), twists and bends.',
    frame(t: number) {
      const w = 2 * Math.PI * t + phase;
      const s = 1 + 0.3 * Math.sin(2 * w); // stretch factor along y
      const lat = 1 / Math.sqrt(s);
      const twist = twistAmp * Math.sin(w);
      const kappa = bendAmp * Math.sin(w + 1.3); // curvature of the axis, 1/units
      const mesh = deform(rest, (x, y, z) => {
        // Stretch about the base, then twist about y by an angle growing with height.
        const h = (y + H / 2) * s; // height above the base, in [0, H s]
        const px = x * lat, pz = z * lat;
        const ang = (twist * h) / (H * s);
        const c = Math.cos(ang), sn = Math.sin(ang);
        const tx = c * px - sn * pz, tz = sn * px + c * pz;
        // Bend the axis into a circular arc in the xy plane (length-preserving along the axis).
        if (Math.abs(kappa) < 1e-6) return [tx, h - H / 2, tz];
        const R = 1 / kappa, phi = h * kappa;
        return [R - (R - tx) * Math.cos(phi), (R - tx) * Math.sin(phi) - H / 2, tz];
      });
      return { mesh: toMesh(mesh), texture };
    },
  } satisfies Scene;
};
