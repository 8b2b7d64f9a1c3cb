// Articulated motion: a jointed figure (capsule torso, sphere head, two-segment
// capsule arms and legs) walking in place; limbs swing about hip / shoulder joints
// and bend at knees / elbows, the whole figure bobs and turns slowly.
import { deriveSeed, seededRandom } from '../../harness/pipeline/rng.ts';
import { capsule, compose, concat, mapUvs, rotateX, rotateY, rotateZ, sphere, toMesh, transform, translate, type Mat, type Part } from './geometry.ts';
import type { Scene, SceneFactory } from './scene.ts';
import { atlas, checker, fine, noise, randomColour, shade, stripes, tileRect } from './textures.ts';

export const walker: SceneFactory = (seed) => {
  const rng = seededRandom(deriveSeed(seed, 102));
  const skin = randomColour(rng), shirt = randomColour(rng), pants = randomColour(rng);
  const texture = atlas(
    [
      stripes(128, 8, [shirt, shade(shirt, 0.55)], true),
      noise(128, skin, shade(skin, 0.7), rng, 4),
      checker(128, 8, pants, shade(pants, 0.5), rng),
      fine(128, shade(skin, 0.8), shade(shirt, 0.8), 4),
    ],
    2,
  );
  const tile = (i: number) => tileRect(i, 2, 2, 128);
  const phase = rng() * Math.PI * 2;
  const swing = 0.45 + 0.15 * rng();
  const turn = (rng() - 0.5) * 1.2;
  // Segments hang from their joint at the origin, along -y.
  const seg = (r: number, len: number, t: number): Part => mapUvs(transform(capsule(r, len, 14, 4), translate(0, -len / 2, 0)), tile(t));
  const torso = mapUvs(capsule(0.13, 0.3, 18, 5), tile(0));
  const head = mapUvs(sphere(0.11, 20, 10), tile(1));
  const upperArm = seg(0.045, 0.2, 3), lowerArm = seg(0.04, 0.18, 1);
  const thigh = seg(0.06, 0.26, 2), shin = seg(0.05, 0.26, 2);
  return {
    name: 'walker',
    motion: 'articulated',
    description: 'A capsule figure walking in place: hips, knees, shoulders and elbows rotate, the body bobs and turns.',
    frame(t: number) {
      const w = phase + 2 * Math.PI * t; // one stride cycle over [0,1]
      const root: Mat = compose(rotateY(turn * t + phase), translate(0, 0.02 * Math.cos(2 * w), 0));
      const parts: Part[] = [transform(torso, compose(root, translate(0, 0.2, 0))), transform(head, compose(root, translate(0, 0.6, 0)))];
      for (const side of [-1, 1]) {
        const s = Math.sin(w) * side;
        // Leg: hip at (±0.08, -0.02), swing about x; knee bends backwards on the forward swing.
        const hip = compose(root, translate(0.08 * side, -0.02, 0), rotateX(-swing * s));
        const knee = compose(hip, translate(0, -0.3, 0), rotateX(0.6 * Math.max(0, Math.sin(w * side + 0.8 * side))));
        parts.push(transform(thigh, hip), transform(shin, knee));
        // Arm: shoulder at (±0.2, 0.38), opposite phase to the leg, slightly abducted.
        const shoulder = compose(root, translate(0.19 * side, 0.38, 0), rotateZ(0.15 * side), rotateX(swing * s));
        const elbow = compose(shoulder, translate(0, -0.24, 0), rotateX(-0.3 - 0.4 * Math.max(0, s)));
        parts.push(transform(upperArm, shoulder), transform(lowerArm, elbow));
      }
      return { mesh: toMesh(concat(parts)), texture };
    },
  } satisfies Scene;
};
