// asm/mesh (WASM in Node) against refMeshCleanup / refDecimate: cleanup removes
// exactly what was planted (degenerate and duplicate faces, a small component,
// unused vertices); decimation reaches the target, stays a closed oriented
// manifold with the same Euler characteristic, keeps borders, and stays close to
// the analytic surface.
import test, { type ExecutionContext } from 'ava';
import { sampleGrid, sphere, torus } from '../harness/mesh/analytic_fields.ts';
import { refMarchingCubes } from '../harness/mesh/marching_cubes_ref.ts';
import { refDecimate, refMeshCleanup } from '../harness/mesh/mesh_ref.ts';
import { decimate, meshCleanup, vertexNormals, type MeshExports, type SurfaceMesh } from '../harness/mesh/surface.ts';
import { enclosedVolume, meshTopology, surfaceArea } from '../harness/mesh/topology.ts';
import type { AsmModule } from '../harness/mesh/wasm.ts';
import { loadAsmFile } from '../harness/mesh/wasm_file.ts';

let ms: AsmModule<MeshExports>;

test.before(async () => {
  ms = await loadAsmFile<MeshExports>('mesh');
});

function sameArrays(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, label: string, atol = 0, rtol = 0) {
  t.is(got.length, want.length, `${label}: length`);
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++) if (!(Math.abs(got[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!))) bad = i;
  t.is(bad, -1, `${label}: first difference at ${bad}`);
}

function assertClosedManifold(t: ExecutionContext, mesh: SurfaceMesh, label: string) {
  const topo = meshTopology(mesh);
  t.is(topo.boundaryEdges, 0, `${label}: boundary edges`);
  t.is(topo.nonManifoldEdges, 0, `${label}: non-manifold edges`);
  t.is(topo.orientationErrors, 0, `${label}: orientation`);
  t.is(topo.nonManifoldVertices, 0, `${label}: non-manifold vertices`);
  t.is(topo.degenerateFaces, 0, `${label}: degenerate faces`);
  t.is(topo.unreferencedVertices, 0, `${label}: unreferenced vertices`);
  return topo;
}

function decimateBoth(t: ExecutionContext, mesh: SurfaceMesh, targetFaces: number, label: string) {
  const want = refDecimate(mesh, { targetFaces });
  const got = decimate(ms, mesh, { targetFaces });
  sameArrays(t, got.indices, want.indices, `${label}: indices`);
  sameArrays(t, got.positions, want.positions, `${label}: positions`, 1e-6, 1e-6);
  t.deepEqual(got.stats, want.stats, `${label}: stats`);
  return got;
}

/** Concatenates meshes (indices offset). */
function concat(...meshes: SurfaceMesh[]): SurfaceMesh {
  const V = meshes.reduce((s, m) => s + m.positions.length, 0), F = meshes.reduce((s, m) => s + m.indices.length, 0);
  const positions = new Float32Array(V), normals = new Float32Array(V), indices = new Uint32Array(F);
  let v = 0, f = 0;
  for (const m of meshes) {
    positions.set(m.positions, v);
    normals.set(m.normals ?? new Float32Array(m.positions.length), v);
    for (let i = 0; i < m.indices.length; i++) indices[f + i] = m.indices[i]! + v / 3;
    v += m.positions.length;
    f += m.indices.length;
  }
  return { positions, normals, indices };
}

test('cleanup removes planted degenerate and duplicate faces, a small component and unused vertices; WASM = reference', (t) => {
  const big = refMarchingCubes(sampleGrid(sphere(0.5), [24, 24, 24]), 0);
  const small = refMarchingCubes(sampleGrid(sphere(0.12, 0.8, 0.8, 0.8), [24, 24, 24]), 0);
  const V = big.positions.length / 3, F = big.indices.length / 3;
  const extraPositions = new Float32Array([0, 0, 0, 1, 1, 1, 2, 2, 2, 5, 5, 5]); // 3 collinear + 1 unused
  const junkFaces = [
    V + 4 + 0, V + 4 + 1, V + 4 + 2, // zero area (collinear; indices after `small`, fixed below)
    0, 0, 1, // repeated index
    big.indices[4]!, big.indices[5]!, big.indices[3]!, // duplicate of face 1, rotated
    big.indices[8]!, big.indices[7]!, big.indices[6]!, // duplicate of face 2, reversed
  ];
  const smallV = small.positions.length / 3;
  const mesh = concat(big, small, { positions: extraPositions, indices: new Uint32Array(0) });
  const indices = new Uint32Array(mesh.indices.length + junkFaces.length);
  indices.set(mesh.indices);
  junkFaces.forEach((x, i) => (indices[mesh.indices.length + i] = i < 3 ? x - 4 + smallV : x));
  const planted: SurfaceMesh = { positions: mesh.positions, normals: mesh.normals, indices };

  const smallFaces = small.indices.length / 3;
  const want = refMeshCleanup(planted, { minComponentAreaFraction: 0.2 });
  const got = meshCleanup(ms, planted, { minComponentAreaFraction: 0.2 });
  for (const [r, label] of [[want, 'reference'], [got, 'wasm']] as const) {
    t.deepEqual(r.stats, { degenerateFaces: 2, duplicateFaces: 2, components: 2, removedComponents: 1, removedComponentFaces: smallFaces, unreferencedVertices: smallV + 4 }, label);
    // What is left is the big sphere, untouched and in order.
    sameArrays(t, r.indices, big.indices, `${label}: indices`);
    sameArrays(t, r.positions, big.positions, `${label}: positions`);
    sameArrays(t, r.normals!, big.normals, `${label}: normals carried along`);
    sameArrays(t, r.vertexSource, Uint32Array.from({ length: V }, (_, i) => i), `${label}: vertexSource`);
  }
  t.is(F, got.indices.length / 3);
  // By face count instead: the small sphere stays under a low threshold and goes under a high one.
  t.is(meshCleanup(ms, planted, { minComponentFaces: smallFaces }).stats.removedComponents, 0);
  t.is(meshCleanup(ms, planted, { minComponentFaces: smallFaces + 1 }).stats.removedComponents, 1);
  t.deepEqual(meshCleanup(ms, planted, { minComponentFaces: smallFaces + 1 }).indices, want.indices);
});

test('decimate a sphere 10x: target reached, closed oriented manifold, Euler 2, close to the sphere; WASM = reference', (t) => {
  const r = 0.6;
  const mesh = refMarchingCubes(sampleGrid(sphere(r), [40, 40, 40]), 0);
  const F0 = mesh.indices.length / 3;
  const target = Math.round(F0 / 10);
  const d = decimateBoth(t, mesh, target, 'sphere');
  const F = d.indices.length / 3;
  t.true(F <= target && F >= target - 2, `faces ${F}, target ${target}`);
  const topo = assertClosedManifold(t, d, 'sphere');
  t.is(topo.euler, 2);
  // Hausdorff-ish: vertices and face centroids stay near the sphere.
  const h = 2 / 39;
  let vErr = 0, cErr = 0;
  for (let v = 0; v < d.positions.length; v += 3) vErr = Math.max(vErr, Math.abs(Math.hypot(d.positions[v]!, d.positions[v + 1]!, d.positions[v + 2]!) - r));
  for (let f = 0; f < d.indices.length; f += 3) {
    const c = [0, 1, 2].map((k) => (d.positions[3 * d.indices[f]! + k]! + d.positions[3 * d.indices[f + 1]! + k]! + d.positions[3 * d.indices[f + 2]! + k]!) / 3);
    cErr = Math.max(cErr, Math.abs(Math.hypot(c[0]!, c[1]!, c[2]!) - r));
  }
  t.log(`${F0} -> ${F} faces; max vertex error ${(vErr / h).toFixed(3)} cells, centroid ${(cErr / h).toFixed(3)} cells; ${JSON.stringify(d.stats)}`);
  t.true(vErr < 0.15 * h, `vertex off the sphere by ${vErr}`);
  t.true(cErr < 0.5 * h, `face centroid off the sphere by ${cErr}`);
  const vol = enclosedVolume(d), want = (4 / 3) * Math.PI * r ** 3;
  t.true(Math.abs(vol / want - 1) < 0.02, `volume ${vol} vs ${want}`);
  // Normals from the decimated faces point outward.
  const n = vertexNormals(d.positions, d.indices);
  let minDot = 1;
  for (let v = 0; v < n.length; v += 3) minDot = Math.min(minDot, (n[v]! * d.positions[v]! + n[v + 1]! * d.positions[v + 1]! + n[v + 2]! * d.positions[v + 2]!) / r);
  t.true(minDot > 0.9, `vertex normal vs radial: min cos ${minDot}`);
});

test('decimate a torus 20x: genus kept (Euler 0), closed oriented manifold; WASM = reference', (t) => {
  const mesh = refMarchingCubes(sampleGrid(torus(0.55, 0.22), [40, 40, 24], 0.85), 0);
  const target = Math.round(mesh.indices.length / 3 / 20);
  const d = decimateBoth(t, mesh, target, 'torus');
  t.true(d.indices.length / 3 <= target);
  const topo = assertClosedManifold(t, d, 'torus');
  t.is(topo.euler, 0);
  const vol = enclosedVolume(d), want = 2 * Math.PI ** 2 * 0.55 * 0.22 ** 2;
  t.true(Math.abs(vol / want - 1) < 0.05, `volume ${vol} vs ${want}`);
});

test('decimate an open flat patch: the border stays on the square, area kept, no fold', (t) => {
  // 21x21 grid of the square [-1,1]^2, two triangles per cell, CCW seen from +z.
  const n = 21;
  const positions = new Float32Array(3 * n * n), idx: number[] = [];
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) positions.set([-1 + (2 * i) / (n - 1), -1 + (2 * j) / (n - 1), 0], 3 * (i + n * j));
  for (let j = 0; j < n - 1; j++)
    for (let i = 0; i < n - 1; i++) {
      const a = i + n * j;
      idx.push(a, a + 1, a + n + 1, a, a + n + 1, a + n);
    }
  const mesh = { positions, indices: Uint32Array.from(idx) };
  const d = decimateBoth(t, mesh, 50, 'patch');
  const topo = meshTopology(d);
  t.is(topo.nonManifoldEdges, 0);
  t.is(topo.orientationErrors, 0);
  t.is(topo.degenerateFaces, 0);
  t.is(topo.euler, 1, 'still a disc');
  t.true(Math.abs(surfaceArea(d) - 4) < 1e-4, `area ${surfaceArea(d)}`);
  for (let v = 0; v < d.positions.length; v += 3) t.true(Math.abs(d.positions[v + 2]!) < 1e-6, 'stays flat');
  const nrm = vertexNormals(d.positions, d.indices);
  for (let v = 2; v < nrm.length; v += 3) if (nrm[v]! < 0.999) return t.fail(`flipped or tilted normal at vertex ${(v - 2) / 3}`);
});

test('decimation stops at what stays manifold: a tetrahedron keeps its 4 faces, an octahedron ends closed', (t) => {
  const tet = { positions: new Float32Array([1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1]), indices: new Uint32Array([0, 1, 2, 0, 3, 1, 0, 2, 3, 1, 3, 2]) };
  t.true(enclosedVolume(tet) > 0, 'test tetrahedron is CCW from outside');
  const d = decimateBoth(t, tet, 0, 'tetrahedron');
  t.is(d.indices.length / 3, 4);
  const oct = {
    positions: new Float32Array([1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1]),
    indices: new Uint32Array([0, 2, 4, 2, 1, 4, 1, 3, 4, 3, 0, 4, 2, 0, 5, 1, 2, 5, 3, 1, 5, 0, 3, 5]),
  };
  const o = decimateBoth(t, oct, 0, 'octahedron');
  t.true(o.indices.length / 3 >= 4);
  assertClosedManifold(t, o, 'octahedron');
});

test('bad mesh input stops before WASM work with the field named', (t) => {
  const mesh = { positions: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]), indices: new Uint32Array([0, 1, 2]) };
  t.throws(() => meshCleanup(ms, { ...mesh, indices: new Uint32Array([0, 1, 3]) }, {}), { message: /meshCleanup: mesh\.indices\[2\] \(face 0\) = 3 is out of range/ });
  t.throws(() => decimate(ms, { ...mesh, positions: new Float32Array([0, 0, 0, NaN, 0, 0, 0, 1, 0]) }, { targetFaces: 1 }), { message: /decimate: mesh\.positions\[3\] \(vertex 1\) is NaN/ });
  t.throws(() => decimate(ms, mesh, { targetFaces: -1 }), { message: /targetFaces/ });
  t.throws(() => refMeshCleanup(mesh, { minComponentAreaFraction: 2 }), { message: /refMeshCleanup: minComponentAreaFraction/ });
});
