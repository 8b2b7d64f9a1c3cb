// Thin parts and high-frequency texture: four very thin blades with a fine stripe
// texture rotating about a hub on a slender post; the head yaws slowly.
import { deriveSeed, seededRandom } from '../../harness/pipeline/rng.ts';
import { box, compose, concat, cylinder, mapUvs, rotateY, rotateZ, sphere, toMesh, transform, translate, type Part } from './geometry.ts';
import type { Scene, SceneFactory } from './scene.ts';
import { atlas, fine, noise, randomColour, shade, stripes, tileRect } from './textures.ts';

export const windmill: SceneFactory = (seed) => {
  const rng = seededRandom(deriveSeed(seed, 105));
  const a = randomColour(rng), b = randomColour(rng), c = randomColour(rng);
  const texture = atlas(
    [fine(128, a, shade(b, 0.35), 4), noise(128, c, shade(c, 0.45), rng, 8), stripes(128, 16, [b, shade(a, 0.5)], true), fine(128, shade(c, 0.5), a, 2)],
    2,
  );
  const tile = (i: number) => tileRect(i, 2, 2, 128);
  const phase = rng() * Math.PI * 2;
  const turns = 0.6 + 0.3 * rng();
  const dir = rng() < 0.5 ? -1 : 1;
  const post = mapUvs(transform(cylinder(0.035, 1.0, 16), translate(0, -0.35, 0)), tile(2));
  const hubY = 0.17;
  const nacelle = mapUvs(transform(box(0.09, 0.09, 0.16, 2), translate(0, hubY, -0.02)), tile(1));
  const hub = mapUvs(transform(sphere(0.05, 16, 8), translate(0, 0, 0.08)), tile(3));
  // Blade: 0.58 long, 0.07 wide, 0.006 thick, extending along +y from the hub; slight pitch.
  const blade = mapUvs(transform(box(0.07, 0.58, 0.006, 1), compose(translate(0, 0.34, 0.1), rotateY(0.25))), tile(0));
  return {
    name: 'windmill',
    motion: 'thin-parts',
    description: 'Four thin finely-striped blades turning on a hub atop a slender post, the head yawing slowly.',
    frame(t: number) {
      const yaw = 0.5 * Math.sin(2 * Math.PI * t + phase);
      const spin = dir * 2 * Math.PI * turns * t + phase;
      const head = compose(translate(0, hubY, 0), rotateY(yaw));
      const parts: Part[] = [post, transform(nacelle, rotateY(yaw)), transform(hub, head)];
      for (let k = 0; k < 4; k++) parts.push(transform(blade, compose(head, rotateZ(spin + (k * Math.PI) / 2))));
      return { mesh: toMesh(concat(parts)), texture };
    },
  } satisfies Scene;
};
