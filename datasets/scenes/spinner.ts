// Rigid motion: a textured torus with a box tab spins about a tilted axis while its
// centre travels once around a small horizontal loop.
import { deriveSeed, seededRandom } from '../../harness/pipeline/rng.ts';
import { box, compose, concat, mapUvs, rotateAxis, rotateY, toMesh, torus, transform, translate, type Part } from './geometry.ts';
import type { Scene, SceneFactory } from './scene.ts';
import { atlas, checker, noise, randomColour, shade, tileRect } from './textures.ts';

export const spinner: SceneFactory = (seed) => {
  const rng = seededRandom(deriveSeed(seed, 101));
  const c1 = randomColour(rng), c2 = randomColour(rng), c3 = randomColour(rng);
  const texture = atlas([checker(128, 8, c1, shade(c2, 0.5), rng), noise(128, c3, shade(c1, 0.4), rng)], 2);
  const phase = rng() * Math.PI * 2;
  const spins = 1 + Math.floor(rng() * 2); // whole turns over t in [0,1]
  const axis: [number, number, number] = [0.3 + 0.4 * rng(), 1, 0.2 * rng()];
  const body: Part = concat([
    mapUvs(torus(0.28, 0.09, 40, 14), tileRect(0, 2, 1, 128)),
    mapUvs(transform(box(0.1, 0.08, 0.08, 2), translate(0.41, 0, 0)), tileRect(1, 2, 1, 128)),
  ]);
  const loopR = 0.2;
  return {
    name: 'spinner',
    motion: 'rigid',
    description: 'A checkered torus with a tab, spinning about a tilted axis while travelling around a small loop.',
    frame(t: number) {
      const a = phase + 2 * Math.PI * t;
      const m = compose(
        translate(loopR * Math.cos(a), 0.12 * Math.sin(2 * a), loopR * Math.sin(a)),
        rotateAxis(axis, 2 * Math.PI * spins * t + phase),
        rotateY(0.5),
      );
      return { mesh: toMesh(transform(body, m)), texture };
    },
  } satisfies Scene;
};
