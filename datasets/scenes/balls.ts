// Multi-object motion: several textured balls bouncing on an invisible floor
// (y = FLOOR). Each ball follows ballistic arcs under one gravity with perfectly
// elastic bounces (period T, apex height g T² / 8), touching the floor at contact
// and never going through it, while drifting along its own lane; it also rolls.
import { deriveSeed, seededRandom } from '../../harness/pipeline/rng.ts';
import { compose, concat, mapUvs, rotateX, sphere, toMesh, transform, translate, type Part } from './geometry.ts';
import type { Scene, SceneFactory } from './scene.ts';
import { atlas, checker, fine, noise, randomColour, shade, stripes, tileRect } from './textures.ts';

export const FLOOR = -0.6;
export const GRAVITY = 14;

/** Height of a ball's lowest point above the floor at time t (ballistic, elastic bounces). */
export function bounceHeight(t: number, period: number, phase: number): number {
  const tau = (((t + phase) % period) + period) % period;
  const v0 = (GRAVITY * period) / 2;
  return v0 * tau - (GRAVITY * tau * tau) / 2;
}

export const balls: SceneFactory = (seed) => {
  const rng = seededRandom(deriveSeed(seed, 104));
  const cs = [randomColour(rng), randomColour(rng), randomColour(rng), randomColour(rng)];
  const texture = atlas(
    [
      checker(128, 8, cs[0]!, shade(cs[0]!, 0.4), rng),
      stripes(128, 8, [cs[1]!, shade(cs[2]!, 0.5)]),
      noise(128, cs[2]!, shade(cs[3]!, 0.3), rng),
      fine(128, cs[3]!, shade(cs[1]!, 0.4), 8),
    ],
    2,
  );
  const lanes = [-0.45, -0.15, 0.15, 0.45];
  const spec = lanes.map((z, i) => {
    const r = 0.09 + 0.04 * rng();
    return {
      r,
      z,
      period: 1 / (2 + Math.floor(rng() * 3)), // 2–4 bounces over [0,1]
      phase: rng(),
      x0: (rng() - 0.5) * 0.3,
      vx: (i % 2 === 0 ? 1 : -1) * (0.3 + 0.3 * rng()),
      part: mapUvs(sphere(r, 20, 12), tileRect(i, 2, 2, 128)),
    };
  });
  return {
    name: 'balls',
    motion: 'multi-object',
    description: 'Four textured balls bouncing in ballistic arcs on an invisible floor, each in its own lane.',
    frame(t: number) {
      const parts: Part[] = spec.map((b) => {
        const x = b.x0 + b.vx * (t - 0.5);
        const y = FLOOR + b.r + bounceHeight(t, b.period, b.phase);
        return transform(b.part, compose(translate(x, y, b.z), rotateX((b.vx * (t - 0.5)) / b.r)));
      });
      return { mesh: toMesh(concat(parts)), texture };
    },
  } satisfies Scene;
};
