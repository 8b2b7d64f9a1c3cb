// Procedural animated scenes (datasets/scenes/*): geometry builders checked for
// closedness, orientation and volume; every scene at several times checked for
// determinism, bounds (inside the unit sphere with margin), finite values, unit
// normals, valid non-degenerate triangles, 2-manifold closed parts, visible motion
// and non-flat textures.
import test from 'ava';
import type { MeshData, TextureData } from '../harness/gt/mesh.ts';
import { box, capsule, concat, cylinder, planeStrip, rotateAxis, scale, signedVolume, sphere, torus, transform, translate, compose, type Part } from '../datasets/scenes/geometry.ts';
import { SCENES, sceneNames } from '../datasets/scenes/index.ts';
import { FLOOR } from '../datasets/scenes/balls.ts';
import { atlas, checker, fine, noise, stripes, tileRect } from '../datasets/scenes/textures.ts';
import { seededRandom } from '../harness/pipeline/rng.ts';

const TIMES = [0, 0.25, 0.5, 1];
const RADIUS = 0.95;

/** Edge use counts after welding vertices by exact position: [boundary edges, edges used ≠ 2 times]. */
function edgeStats(m: MeshData): { bad: number; boundary: number } {
  const key = new Map<string, number>();
  const id = new Uint32Array(m.positions.length / 3);
  for (let v = 0; v < id.length; v++) {
    const k = `${m.positions[3 * v]},${m.positions[3 * v + 1]},${m.positions[3 * v + 2]}`;
    let i = key.get(k);
    if (i === undefined) key.set(k, (i = key.size));
    id[v] = i;
  }
  const edges = new Map<string, number>();
  for (let t = 0; t < m.indices.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = id[m.indices[t + e]!]!, b = id[m.indices[t + ((e + 1) % 3)]!]!;
      // Directed edges: in a consistently oriented closed mesh each appears once each way.
      const k = `${a},${b}`;
      edges.set(k, (edges.get(k) ?? 0) + 1);
    }
  }
  let bad = 0, boundary = 0;
  for (const [k, n] of edges) {
    const [a, b] = k.split(',');
    const back = edges.get(`${b},${a}`) ?? 0;
    if (n !== 1) bad++;
    else if (back === 0) boundary++;
    else if (back !== 1) bad++;
  }
  return { bad, boundary };
}

function checkMesh(t: { true: (v: boolean, m?: string) => void; is: (a: unknown, b: unknown, m?: string) => void }, m: MeshData, what: string): void {
  const V = m.positions.length / 3;
  t.is(m.normals.length, V * 3, `${what}: normals length`);
  t.is(m.uvs.length, V * 2, `${what}: uvs length`);
  t.is(m.indices.length % 3, 0, `${what}: indices length`);
  t.true(m.indices.length > 0, `${what}: has triangles`);
  let maxR = 0, badNormal = 0, nonFinite = 0;
  for (let v = 0; v < V; v++) {
    const x = m.positions[3 * v]!, y = m.positions[3 * v + 1]!, z = m.positions[3 * v + 2]!;
    if (![x, y, z, m.uvs[2 * v]!, m.uvs[2 * v + 1]!].every(Number.isFinite)) nonFinite++;
    maxR = Math.max(maxR, Math.hypot(x, y, z));
    const l = Math.hypot(m.normals[3 * v]!, m.normals[3 * v + 1]!, m.normals[3 * v + 2]!);
    if (!(Math.abs(l - 1) < 1e-4)) badNormal++;
  }
  t.is(nonFinite, 0, `${what}: non-finite values`);
  t.is(badNormal, 0, `${what}: normals not unit length`);
  t.true(maxR <= RADIUS, `${what}: max radius ${maxR}`);
  let outOfRange = 0, degenerate = 0;
  const P = m.positions;
  for (let f = 0; f < m.indices.length; f += 3) {
    const a = m.indices[f]!, b = m.indices[f + 1]!, c = m.indices[f + 2]!;
    if (a >= V || b >= V || c >= V) {
      outOfRange++;
      continue;
    }
    const ux = P[3 * b]! - P[3 * a]!, uy = P[3 * b + 1]! - P[3 * a + 1]!, uz = P[3 * b + 2]! - P[3 * a + 2]!;
    const vx = P[3 * c]! - P[3 * a]!, vy = P[3 * c + 1]! - P[3 * a + 1]!, vz = P[3 * c + 2]! - P[3 * a + 2]!;
    const area = 0.5 * Math.hypot(uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx);
    if (!(area > 1e-9)) degenerate++;
  }
  t.is(outOfRange, 0, `${what}: indices out of range`);
  t.is(degenerate, 0, `${what}: degenerate triangles`);
}

function distinctColours(tex: TextureData): number {
  const s = new Set<number>();
  for (let i = 0; i < tex.rgba.length; i += 4) s.add((tex.rgba[i]! << 16) | (tex.rgba[i + 1]! << 8) | tex.rgba[i + 2]!);
  return s.size;
}

const sameArrays = (a: MeshData, b: MeshData) =>
  Buffer.from(a.positions.buffer, a.positions.byteOffset, a.positions.byteLength).equals(Buffer.from(b.positions.buffer, b.positions.byteOffset, b.positions.byteLength)) &&
  Buffer.from(a.normals.buffer, a.normals.byteOffset, a.normals.byteLength).equals(Buffer.from(b.normals.buffer, b.normals.byteOffset, b.normals.byteLength)) &&
  Buffer.from(a.uvs.buffer, a.uvs.byteOffset, a.uvs.byteLength).equals(Buffer.from(b.uvs.buffer, b.uvs.byteOffset, b.uvs.byteLength)) &&
  Buffer.from(a.indices.buffer, a.indices.byteOffset, a.indices.byteLength).equals(Buffer.from(b.indices.buffer, b.indices.byteOffset, b.indices.byteLength));

// ---- geometry ----

const PRIMS: [string, Part, number][] = [
  ['sphere', sphere(0.5, 24, 12), (4 / 3) * Math.PI * 0.125],
  ['capsule', capsule(0.2, 0.4, 24, 8), Math.PI * 0.04 * 0.4 + (4 / 3) * Math.PI * 0.008],
  ['cylinder', cylinder(0.3, 0.5, 32), Math.PI * 0.09 * 0.5],
  ['torus', torus(0.4, 0.1, 48, 16), 2 * Math.PI * Math.PI * 0.4 * 0.01],
  ['box', box(0.2, 0.3, 0.4, 2), 0.024],
];

for (const [name, part, vol] of PRIMS) {
  test(`geometry: ${name} is closed, outward, with about the right volume`, (t) => {
    checkMesh(t, part, name);
    const e = edgeStats(part);
    t.is(e.bad, 0);
    t.is(e.boundary, 0);
    const v = signedVolume(part);
    t.true(v > 0, `volume ${v}`);
    t.true(Math.abs(v - vol) / vol < 0.06, `volume ${v} vs ${vol}`);
    // Normals point outward: away from the centroid for these convex-ish shapes (torus: from the ring).
    let inward = 0;
    for (let i = 0; i < part.positions.length; i += 3) {
      let cx = 0, cz = 0;
      if (name === 'torus') {
        const l = Math.hypot(part.positions[i]!, part.positions[i + 2]!);
        cx = (0.4 * part.positions[i]!) / l;
        cz = (0.4 * part.positions[i + 2]!) / l;
      }
      const d = (part.positions[i]! - cx) * part.normals[i]! + part.positions[i + 1]! * part.normals[i + 1]! + (part.positions[i + 2]! - cz) * part.normals[i + 2]!;
      if (d <= 0) inward++;
    }
    t.is(inward, 0);
  });
}

test('geometry: transforms keep orientation (mirror included), concat offsets indices, plane strip is open', (t) => {
  const s = sphere(0.3, 16, 8);
  const m = transform(s, compose(translate(0.1, 0.2, 0.3), rotateAxis([1, 2, 3], 0.7), scale(1, 1.5, 0.5)));
  t.true(signedVolume(m) > 0);
  const mirrored = transform(s, scale(-1, 1, 1));
  t.true(signedVolume(mirrored) > 0);
  t.true(Math.abs(signedVolume(mirrored) - signedVolume(s)) < 1e-6);
  const both = concat([s, transform(box(0.1, 0.1, 0.1), translate(0.5, 0, 0))]);
  t.true(both.closed);
  t.true(Math.abs(signedVolume(both) - signedVolume(s) - 0.001) < 1e-6);
  t.is(edgeStats(both).bad, 0);
  const p = planeStrip(1, 0.2, 8, 2);
  t.false(p.closed);
  checkMesh(t, p, 'plane');
  const e = edgeStats(p);
  t.is(e.bad, 0);
  t.is(e.boundary, 2 * (8 + 2));
});

test('textures: sizes, tileable patterns, deterministic, not flat', (t) => {
  const a: [number, number, number] = [0.9, 0.2, 0.1], b: [number, number, number] = [0.1, 0.3, 0.8];
  const texs = [checker(64, 8, a, b, seededRandom(1)), stripes(128, 8, [a, b]), noise(128, a, b, seededRandom(2)), fine(64, a, b)];
  for (const x of texs) {
    t.is(x.rgba.length, x.width * x.height * 4);
    t.true(distinctColours(x) >= 2);
  }
  t.deepEqual(noise(64, a, b, seededRandom(3)).rgba, noise(64, a, b, seededRandom(3)).rgba);
  t.notDeepEqual(noise(64, a, b, seededRandom(3)).rgba, noise(64, a, b, seededRandom(4)).rgba);
  const at = atlas([texs[0]!, fine(64, b, a)], 2);
  t.is(at.width, 128);
  t.is(at.height, 64);
  const r = tileRect(1, 2, 1, 64);
  t.true(r[0] > 0.5 && r[2] < 1 && r[1] > 0 && r[3] < 1);
});

// ---- scenes ----

test('scenes: the five named scenes with their motion kinds', (t) => {
  t.deepEqual(sceneNames().sort(), ['balls', 'jelly', 'spinner', 'walker', 'windmill']);
  const kinds = Object.fromEntries(sceneNames().map((n) => [n, SCENES[n]!(1).motion]));
  t.deepEqual(kinds, { spinner: 'rigid', walker: 'articulated', jelly: 'non-rigid', balls: 'multi-object', windmill: 'thin-parts' });
});

for (const name of sceneNames()) {
  test(`scene ${name}: valid, deterministic, closed, moving, textured`, (t) => {
    const scene = SCENES[name]!(7);
    t.is(scene.name, name);
    t.true(scene.description.length > 0);
    const again = SCENES[name]!(7);
    const other = SCENES[name]!(8);
    let F = -1;
    for (const time of TIMES) {
      const f = scene.frame(time);
      const what = `${name} t=${time}`;
      checkMesh(t, f.mesh, what);
      if (F < 0) F = f.mesh.indices.length;
      t.is(f.mesh.indices.length, F, `${what}: topology constant over time`);
      t.true(sameArrays(f.mesh, again.frame(time).mesh), `${what}: deterministic`);
      t.false(sameArrays(f.mesh, other.frame(time).mesh), `${what}: seed changes the frame`);
      const e = edgeStats(f.mesh);
      t.is(e.bad, 0, `${what}: non-manifold or inconsistently oriented edges`);
      t.is(e.boundary, 0, `${what}: boundary edges in a mesh of closed parts`);
      t.true(signedVolume(f.mesh) > 0, `${what}: outward orientation`);
      const tex = f.texture;
      t.true(tex.width >= 64 && tex.width <= 256 && tex.height >= 64 && tex.height <= 256, `${what}: texture size`);
      t.is(tex.rgba.length, tex.width * tex.height * 4);
      t.true(distinctColours(tex) >= 8, `${what}: texture not flat`);
      t.deepEqual(tex.rgba, again.frame(time).texture.rgba);
    }
    t.notDeepEqual(scene.frame(0).texture.rgba, other.frame(0).texture.rgba);
    // Visible motion: some vertex moves by a clear amount between t = 0 and 0.5.
    const p0 = scene.frame(0).mesh.positions, p1 = scene.frame(0.5).mesh.positions;
    let maxMove = 0;
    for (let i = 0; i < p0.length; i += 3) maxMove = Math.max(maxMove, Math.hypot(p0[i]! - p1[i]!, p0[i + 1]! - p1[i + 1]!, p0[i + 2]! - p1[i + 2]!));
    t.true(maxMove > 0.1, `max vertex displacement ${maxMove}`);
    // Bounds hold on a finer time grid too.
    for (let k = 0; k <= 40; k++) {
      const p = scene.frame(k / 40).mesh.positions;
      let r = 0;
      for (let i = 0; i < p.length; i += 3) r = Math.max(r, Math.hypot(p[i]!, p[i + 1]!, p[i + 2]!));
      if (r > RADIUS) t.fail(`${name} t=${k / 40}: radius ${r}`);
    }
  });
}

test('scene jelly: volume roughly preserved through squash, stretch, twist and bend', (t) => {
  const scene = SCENES.jelly!(3);
  const v0 = signedVolume(scene.frame(0).mesh);
  for (let k = 0; k <= 20; k++) {
    const v = signedVolume(scene.frame(k / 20).mesh);
    t.true(Math.abs(v - v0) / v0 < 0.1, `t=${k / 20}: volume ${v} vs ${v0}`);
  }
});

test('scene balls: no ball goes below the floor, and each touches it', (t) => {
  const scene = SCENES.balls!(5);
  let minY = Infinity;
  for (let k = 0; k <= 200; k++) {
    const p = scene.frame(k / 200).mesh.positions;
    for (let i = 1; i < p.length; i += 3) minY = Math.min(minY, p[i]!);
  }
  t.true(minY >= FLOOR - 1e-4, `min y ${minY}`);
  t.true(minY < FLOOR + 0.01, `min y ${minY} (balls reach the floor)`);
});
