// asm/marching_cubes (WASM in Node) against refMarchingCubes, on analytic fields
// (sphere, torus, touching blobs, thin shell), every cube configuration with
// random values (so the asymptotic decider goes both ways on ambiguous faces),
// and random noise: same output as the reference, closed oriented 2-manifold,
// no degenerate triangles, Euler characteristic, volume and normals.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { tablesSource, TABLES_PATH } from '../asm/marching_cubes/gen_tables.ts';
import { sampleGrid, shell, sphere, torus, union } from '../harness/mesh/analytic_fields.ts';
import { ambiguousFaces, buildCaseTable, FACE_CORNERS, edgeCorners, MC_CENTER, MC_MAX_TRIS, refMarchingCubes } from '../harness/mesh/marching_cubes_ref.ts';
import { marchingCubes, type MarchingCubesExports, type ScalarGrid, type SurfaceMesh } from '../harness/mesh/surface.ts';
import { enclosedVolume, meshTopology } from '../harness/mesh/topology.ts';
import type { AsmModule } from '../harness/mesh/wasm.ts';
import { loadAsmFile } from '../harness/mesh/wasm_file.ts';
import { seededRandom } from '../harness/pipeline/rng.ts';

let mc: AsmModule<MarchingCubesExports>;

test.before(async () => {
  mc = await loadAsmFile<MarchingCubesExports>('marching_cubes');
});

/** Runs both versions; asserts identical counts and indices, positions/normals within atol + rtol. */
function runBoth(t: ExecutionContext, grid: ScalarGrid, iso: number, label: string): Required<SurfaceMesh> {
  const want = refMarchingCubes(grid, iso);
  const got = marchingCubes(mc, grid, iso);
  t.is(got.positions.length, want.positions.length, `${label}: vertex count`);
  t.is(got.indices.length, want.indices.length, `${label}: face count`);
  let idxDiff = 0;
  for (let i = 0; i < want.indices.length; i++) if (got.indices[i] !== want.indices[i]) idxDiff++;
  t.is(idxDiff, 0, `${label}: indices differ`);
  for (const field of ['positions', 'normals'] as const) {
    let worst = 0;
    for (let i = 0; i < want[field].length; i++) {
      const err = Math.abs(got[field][i]! - want[field][i]!) - (1e-6 + 1e-6 * Math.abs(want[field][i]!));
      worst = Math.max(worst, err);
    }
    t.true(worst <= 0, `${label}: ${field} beyond atol 1e-6 + rtol 1e-6 by ${worst}`);
  }
  return got;
}

function assertClosedManifold(t: ExecutionContext, mesh: SurfaceMesh, label: string) {
  const topo = meshTopology(mesh);
  t.true(topo.faces > 0, `${label}: no faces`);
  t.is(topo.boundaryEdges, 0, `${label}: boundary edges`);
  t.is(topo.nonManifoldEdges, 0, `${label}: non-manifold edges`);
  t.is(topo.orientationErrors, 0, `${label}: directed edges used twice`);
  t.is(topo.nonManifoldVertices, 0, `${label}: non-manifold vertices`);
  t.is(topo.degenerateFaces, 0, `${label}: degenerate faces`);
  t.is(topo.unreferencedVertices, 0, `${label}: unreferenced vertices`);
  return topo;
}

test('sphere: closed, Euler 2, volume and normals match the analytic ones, WASM = reference', (t) => {
  const r = 0.6;
  const grid = sampleGrid(sphere(r), [41, 37, 45]);
  const m = runBoth(t, grid, 0, 'sphere');
  const topo = assertClosedManifold(t, m, 'sphere');
  t.is(topo.euler, 2);
  t.is(topo.components, 1);
  const vol = enclosedVolume(m), want = (4 / 3) * Math.PI * r ** 3;
  t.true(Math.abs(vol / want - 1) < 0.01, `volume ${vol} vs ${want}`);
  let minDot = 1, maxRadiusErr = 0;
  for (let v = 0; v < m.positions.length; v += 3) {
    const x = m.positions[v]!, y = m.positions[v + 1]!, z = m.positions[v + 2]!;
    const len = Math.hypot(x, y, z);
    maxRadiusErr = Math.max(maxRadiusErr, Math.abs(len - r));
    minDot = Math.min(minDot, (x * m.normals[v]! + y * m.normals[v + 1]! + z * m.normals[v + 2]!) / len);
  }
  t.true(minDot > 0.99, `normal vs analytic outward normal: min cos ${minDot}`);
  t.true(maxRadiusErr < 0.1 * grid.spacing[0], `vertex off the sphere by ${maxRadiusErr}`);
});

test('torus: closed, Euler 0, volume near 2 pi^2 R r^2', (t) => {
  const R = 0.55, r = 0.22;
  const m = runBoth(t, sampleGrid(torus(R, r), [48, 48, 32], 0.85), 0, 'torus');
  const topo = assertClosedManifold(t, m, 'torus');
  t.is(topo.euler, 0);
  const vol = enclosedVolume(m), want = 2 * Math.PI ** 2 * R * r * r;
  t.true(Math.abs(vol / want - 1) < 0.02, `volume ${vol} vs ${want}`);
});

test('two blobs touching at a grid point, barely overlapping, barely apart: closed manifolds', (t) => {
  // 33 points over [-1,1]: x = 0 is a grid point, where two spheres of radius 0.3 at x = ±0.3 touch (value = iso exactly).
  for (const [gap, components] of [[0, null], [-0.02, 1], [0.02, 2]] as const) {
    const c = 0.3 + gap / 2;
    const m = runBoth(t, sampleGrid(union(sphere(0.3, -c, 0, 0), sphere(0.3, c, 0, 0)), [33, 33, 33]), 0, `blobs gap ${gap}`);
    const topo = assertClosedManifold(t, m, `blobs gap ${gap}`);
    if (components !== null) {
      t.is(topo.components, components, `gap ${gap}: components`);
      t.is(topo.euler, 2 * components, `gap ${gap}: Euler`);
    } else t.is(topo.euler, 2 * topo.components, 'touching: every component a sphere');
  }
});

test('thin shell (1.4 cells thick): two nested closed spheres, outer outward and inner inward', (t) => {
  const grid = sampleGrid(shell(0.6, 0.7 / 24), [49, 49, 49]);
  const m = runBoth(t, grid, 0, 'shell');
  const topo = assertClosedManifold(t, m, 'shell');
  t.is(topo.components, 2);
  t.is(topo.euler, 4);
  const w = 0.7 / 24, want = (4 / 3) * Math.PI * ((0.6 + w) ** 3 - (0.6 - w) ** 3);
  const vol = enclosedVolume(m);
  t.true(Math.abs(vol / want - 1) < 0.05, `shell volume ${vol} vs ${want}`);
});

test('every cube configuration with random corner values (both decider outcomes): closed manifold, WASM = reference', (t) => {
  const table = buildCaseTable();
  const rand = seededRandom(6);
  const hit = new Set<number>();
  const n = 4; // the central cube's corners are the grid points 1..2; all others are outside
  let cases = 0;
  for (let config = 1; config < 255; config++) {
    const draws = ambiguousFaces(config) ? 40 : 2;
    for (let d = 0; d < draws; d++) {
      const values = new Float32Array(n * n * n).fill(-1);
      const w: number[] = [];
      for (let c = 0; c < 8; c++) {
        const mag = 0.05 + rand();
        w.push((config >> c) & 1 ? mag : -mag);
        values[1 + (c & 1) + n * (1 + ((c >> 1) & 1)) + n * n * (1 + (c >> 2))] = w[c]!;
      }
      const grid: ScalarGrid = { values, dims: [n, n, n], origin: [0, 0, 0], spacing: [1, 1, 1] };
      const m = runBoth(t, grid, 0, `config ${config}`);
      const topo = meshTopology(m);
      if (topo.boundaryEdges || topo.nonManifoldEdges || topo.orientationErrors || topo.nonManifoldVertices || topo.degenerateFaces) {
        t.fail(`config ${config} values ${w.map((x) => x.toFixed(3)).join(',')}: ${JSON.stringify(topo)}`);
        return;
      }
      let bits = 0;
      FACE_CORNERS.forEach((f, i) => {
        const a = ambiguousFaces(config);
        if (((a >> i) & 1) === 0) return;
        const p02 = w[f[0]]! * w[f[2]]!, p13 = w[f[1]]! * w[f[3]]!;
        if ((config >> f[0]) & 1 ? p02 >= p13 : p13 >= p02) bits |= 1 << i;
      });
      hit.add((config << 6) | bits);
      cases++;
    }
  }
  // Not every decider combination is reachable from one set of corner values; most are.
  let valid = 0;
  for (let k = 0; k < table.count.length; k++) if (((k & 63) & ~ambiguousFaces(k >> 6)) === 0) valid++;
  t.log(`${cases} cubes, ${hit.size} of ${valid} table cases exercised`);
  t.true(hit.size > 0.8 * valid, `only ${hit.size} of ${valid} cases exercised`);
});

test('case table: each case is a patch whose boundary is exactly the face segments, no diagonal within one cube face', (t) => {
  const table = buildCaseTable();
  const faceOf = (u: number, v: number) => FACE_CORNERS.findIndex((f) => [u, v].every((e) => { const [a, b] = edgeCorners(e); return f.includes(a) && f.includes(b); }));
  for (let key = 0; key < table.count.length; key++) {
    const config = key >> 6, bits = key & 63;
    if ((bits & ~ambiguousFaces(config)) !== 0 || config === 0 || config === 255) continue;
    const crossed = new Set<number>();
    for (let e = 0; e < 12; e++) {
      const [a, b] = edgeCorners(e);
      if (((config >> a) & 1) !== ((config >> b) & 1)) crossed.add(e);
    }
    const directed = new Map<string, number>();
    const used = new Set<number>();
    for (let i = 0; i < table.count[key]!; i++) {
      const tri = [0, 1, 2].map((s) => table.tris[(key * MC_MAX_TRIS + i) * 3 + s]!);
      tri.forEach((s, j) => {
        used.add(s);
        const k = `${s},${tri[(j + 1) % 3]}`;
        directed.set(k, (directed.get(k) ?? 0) + 1);
      });
    }
    const where = `case ${config}/${bits}`;
    t.deepEqual([...used].filter((s) => s !== MC_CENTER).sort((a, b) => a - b), [...crossed].sort((a, b) => a - b), `${where}: vertices = crossed edges`);
    t.is(used.has(MC_CENTER), table.center[key] !== 0, `${where}: centre slot`);
    const outDeg = new Map<number, number>(), inDeg = new Map<number, number>();
    for (const [k, n] of directed) {
      const [u, v] = k.split(',').map(Number) as [number, number];
      if (n !== 1) return t.fail(`${where}: directed edge ${k} used ${n} times`);
      if (directed.has(`${v},${u}`)) {
        if (u !== MC_CENTER && v !== MC_CENTER && faceOf(u, v) >= 0) return t.fail(`${where}: interior edge ${k} lies on face ${faceOf(u, v)}`);
        continue;
      }
      if (u === MC_CENTER || v === MC_CENTER || faceOf(u, v) < 0) return t.fail(`${where}: boundary edge ${k} is not on a cube face`);
      outDeg.set(u, (outDeg.get(u) ?? 0) + 1);
      inDeg.set(v, (inDeg.get(v) ?? 0) + 1);
    }
    for (const e of crossed) if (outDeg.get(e) !== 1 || inDeg.get(e) !== 1) return t.fail(`${where}: crossing ${e} not on exactly one boundary segment each way`);
  }
  t.pass();
});

test('asm/marching_cubes/tables.ts is what gen_tables.ts generates from the reference', (t) => {
  t.is(readFileSync(TABLES_PATH, 'utf8'), tablesSource(), 'run: npx tsx asm/marching_cubes/gen_tables.ts');
});

test('random noise (many ambiguous faces, values exactly at iso): closed manifold, WASM = reference', (t) => {
  for (const seed of [1, 2, 3]) {
    const rand = seededRandom(seed);
    const n = 16;
    const grid = sampleGrid(() => 0, [n, n, n]);
    for (let k = 0; k < n; k++)
      for (let j = 0; j < n; j++)
        for (let i = 0; i < n; i++) {
          const border = i === 0 || j === 0 || k === 0 || i === n - 1 || j === n - 1 || k === n - 1;
          // Quantised values hit the iso level exactly now and then.
          grid.values[i + n * (j + n * k)] = border ? -1 : Math.round(rand() * 8 - 4) / 4;
        }
    const m = runBoth(t, grid, 0, `noise seed ${seed}`);
    const topo = assertClosedManifold(t, m, `noise seed ${seed}`);
    t.is(Math.abs(topo.euler % 2), 0, 'Euler characteristic of closed orientable surfaces is even');
  }
});

test('surface cut by the grid border: open but still manifold and oriented; empty field: no faces', (t) => {
  const m = runBoth(t, sampleGrid((x, y, z) => 0.2 - x - 0.3 * y + 0.1 * z, [12, 10, 9]), 0, 'plane');
  const topo = meshTopology(m);
  t.true(topo.boundaryEdges > 0);
  t.is(topo.nonManifoldEdges, 0);
  t.is(topo.orientationErrors, 0);
  t.is(topo.degenerateFaces, 0);
  t.is(topo.euler, 1, 'a disc');
  const empty = runBoth(t, sampleGrid(() => -1, [5, 5, 5]), 0, 'empty');
  t.is(empty.indices.length, 0);
  t.is(empty.positions.length, 0);
});

test('bad input stops before WASM work with the field named', (t) => {
  const grid = sampleGrid(sphere(0.5), [8, 8, 8]);
  const nan = { ...grid, values: grid.values.slice() };
  nan.values[3 + 8 * 2] = NaN;
  t.throws(() => marchingCubes(mc, nan, 0), { message: /grid\.values\[19\] \(point 3,2,0\) is NaN/ });
  t.throws(() => marchingCubes(mc, { ...grid, values: grid.values.subarray(1) }, 0), { message: /grid\.values has 511 values/ });
  t.throws(() => marchingCubes(mc, { ...grid, dims: [8, 8, 1] }, 0), { message: /grid\.dims/ });
  t.throws(() => marchingCubes(mc, { ...grid, spacing: [1, 0, 1] }, 0), { message: /grid\.spacing/ });
  t.throws(() => refMarchingCubes(grid, NaN), { message: /refMarchingCubes: iso/ });
});
