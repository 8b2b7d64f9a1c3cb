// asm/uv_unwrap (WASM in Node) against refUvUnwrap, on a cube, a UV sphere, a
// torus, a capped cylinder and a bumpy blob: same charts and uvs as the
// reference, faces and positions preserved through the seam split, every UV in
// [0,1]², no flipped UV triangle, no texel shared by two charts (conservative
// rasterisation of the atlas), packing efficiency and stretch within bounds;
// plus LSCM on a developable strip, splitting, degenerate input, bad input and
// uvQuality on hand-made atlases.
import test, { type ExecutionContext } from 'ava';
import { bumpyBlobMesh, cappedCylinderMesh, cubeMesh, torusMesh, uvSphereMesh } from '../harness/mesh/uv_unwrap_bench.ts';
import { CHART_LSCM, CHART_PLANAR, uvQuality, uvUnwrap, type UvMesh, type UvUnwrapExports, type UvUnwrapOptions, type UvUnwrapResult } from '../harness/mesh/uv_unwrap.ts';
import { refUvUnwrap } from '../harness/mesh/uv_unwrap_ref.ts';
import type { AsmModule } from '../harness/mesh/wasm.ts';
import { loadAsmFile } from '../harness/mesh/wasm_file.ts';

let uv: AsmModule<UvUnwrapExports>;

test.before(async () => {
  uv = await loadAsmFile<UvUnwrapExports>('uv_unwrap');
});

/** Runs WASM and reference; asserts the same segmentation and topology, uvs within atol 1e-6 + rtol 1e-6. */
function runBoth(t: ExecutionContext, mesh: UvMesh, options: UvUnwrapOptions = {}, label = ''): UvUnwrapResult {
  const want = refUvUnwrap(mesh, options);
  const got = uvUnwrap(uv, mesh, options);
  t.is(got.chartCount, want.chartCount, `${label}: chart count`);
  t.deepEqual(got.faceChart, want.faceChart, `${label}: chart of each face`);
  t.deepEqual(got.chartMethod, want.chartMethod, `${label}: parameterisation of each chart`);
  t.deepEqual(got.vertexMap, want.vertexMap, `${label}: vertex map`);
  t.deepEqual(got.indices, want.indices, `${label}: indices`);
  let worst = -Infinity;
  for (let i = 0; i < want.uvs.length; i++) worst = Math.max(worst, Math.abs(got.uvs[i]! - want.uvs[i]!) - (1e-6 + 1e-6 * Math.abs(want.uvs[i]!)));
  t.true(want.uvs.length === got.uvs.length && !(worst > 0), `${label}: uvs beyond atol 1e-6 + rtol 1e-6 by ${worst}`);
  return got;
}

function faceAreas(mesh: UvMesh): Float64Array {
  const { positions: P, indices: I } = mesh;
  const out = new Float64Array(I.length / 3);
  for (let f = 0; f < out.length; f++) {
    const a = 3 * I[3 * f]!, b = 3 * I[3 * f + 1]!, c = 3 * I[3 * f + 2]!;
    const e1 = [P[b]! - P[a]!, P[b + 1]! - P[a + 1]!, P[b + 2]! - P[a + 2]!];
    const e2 = [P[c]! - P[a]!, P[c + 1]! - P[a + 1]!, P[c + 2]! - P[a + 2]!];
    out[f] = Math.hypot(e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!) / 2;
  }
  return out;
}

/**
 * Chart id per texel of a size² atlas, conservatively rasterised (a texel
 * counts when its square overlaps the triangle: separating-axis test), and how
 * many texels two different charts both touch.
 */
function rasterOverlaps(r: UvUnwrapResult, size: number): { overlaps: number; covered: number } {
  const owner = new Int32Array(size * size).fill(-1);
  let overlaps = 0, covered = 0;
  const F = r.indices.length / 3;
  for (let f = 0; f < F; f++) {
    const xs = [0, 1, 2].map((k) => r.uvs[2 * r.indices[3 * f + k]!]! * size);
    const ys = [0, 1, 2].map((k) => r.uvs[2 * r.indices[3 * f + k]! + 1]! * size);
    const x0 = Math.max(0, Math.floor(Math.min(...xs))), x1 = Math.min(size - 1, Math.floor(Math.max(...xs)));
    const y0 = Math.max(0, Math.floor(Math.min(...ys))), y1 = Math.min(size - 1, Math.floor(Math.max(...ys)));
    const chart = r.faceChart[f]!;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (!triangleTouchesSquare(xs, ys, x, y)) continue;
        const o = y * size + x;
        if (owner[o] === -1) {
          owner[o] = chart;
          covered++;
        } else if (owner[o] !== chart && owner[o] !== -2) {
          owner[o] = -2;
          overlaps++;
        }
      }
    }
  }
  return { overlaps, covered };
}

/** Whether triangle (xs, ys) and the closed square [x, x+1]×[y, y+1] intersect (separating axes: box axes and edge normals). */
function triangleTouchesSquare(xs: number[], ys: number[], x: number, y: number): boolean {
  if (Math.max(...xs) < x || Math.min(...xs) > x + 1 || Math.max(...ys) < y || Math.min(...ys) > y + 1) return false;
  for (let k = 0; k < 3; k++) {
    const nx = ys[(k + 1) % 3]! - ys[k]!, ny = xs[k]! - xs[(k + 1) % 3]!;
    const tri = [0, 1, 2].map((j) => nx * xs[j]! + ny * ys[j]!);
    const box = [nx * x + ny * y, nx * (x + 1) + ny * y, nx * x + ny * (y + 1), nx * (x + 1) + ny * (y + 1)];
    if (Math.max(...tri) < Math.min(...box) || Math.min(...tri) > Math.max(...box)) return false;
  }
  return true;
}

interface Bounds {
  minEfficiency: number;
  maxStretchL2: number;
  maxLinf: number;
}

/** The invariants every atlas must satisfy. */
function checkAtlas(t: ExecutionContext, mesh: UvMesh, r: UvUnwrapResult, bounds: Bounds, label: string): void {
  const F = mesh.indices.length / 3;
  t.is(r.indices.length, 3 * F, `${label}: face count preserved`);
  const Vo = r.vertexMap.length;
  t.is(r.uvs.length, 2 * Vo);
  t.is(r.positions.length, 3 * Vo);
  // every output vertex is an input vertex with the same position; every face keeps its vertices
  let badPos = 0, badCorner = 0;
  for (let i = 0; i < Vo; i++) {
    const v = r.vertexMap[i]!;
    for (let k = 0; k < 3; k++) if (r.positions[3 * i + k] !== mesh.positions[3 * v + k]) badPos++;
  }
  for (let i = 0; i < 3 * F; i++) if (r.vertexMap[r.indices[i]!] !== mesh.indices[i]) badCorner++;
  t.is(badPos, 0, `${label}: output positions equal their input vertex's`);
  t.is(badCorner, 0, `${label}: each face corner maps back to the input corner`);
  // an output vertex belongs to one chart (seams are split), every vertex is used
  const chartOfVertex = new Int32Array(Vo).fill(-1);
  let shared = 0;
  for (let f = 0; f < F; f++) {
    for (let k = 0; k < 3; k++) {
      const v = r.indices[3 * f + k]!;
      if (chartOfVertex[v] === -1) chartOfVertex[v] = r.faceChart[f]!;
      else if (chartOfVertex[v] !== r.faceChart[f]) shared++;
    }
  }
  t.is(shared, 0, `${label}: no output vertex shared by two charts`);
  t.is(chartOfVertex.indexOf(-1), -1, `${label}: every output vertex is used`);
  for (let f = 0; f < F; f++) t.true(r.faceChart[f]! < r.chartCount);
  t.is(r.chartMethod.length, r.chartCount);
  // no flips: every non-degenerate face is counter-clockwise in UV (the same sign in every chart)
  const areas = faceAreas(mesh);
  let flipped = 0;
  for (let f = 0; f < F; f++) {
    if (areas[f]! <= 1e-12) continue;
    const [a, b, c] = [0, 1, 2].map((k) => r.indices[3 * f + k]!) as [number, number, number];
    const s = (r.uvs[2 * b]! - r.uvs[2 * a]!) * (r.uvs[2 * c + 1]! - r.uvs[2 * a + 1]!) - (r.uvs[2 * c]! - r.uvs[2 * a]!) * (r.uvs[2 * b + 1]! - r.uvs[2 * a + 1]!);
    if (!(s > 0)) flipped++;
  }
  t.is(flipped, 0, `${label}: flipped or collapsed UV triangles`);
  let outside = 0;
  for (const x of r.uvs) if (!(x >= 0 && x <= 1)) outside++;
  t.is(outside, 0, `${label}: uvs outside [0,1]`);
  // 2 texels of padding at 1024 keep charts >= 2 texels apart at 512: no shared texel even conservatively
  const { overlaps, covered } = rasterOverlaps(r, 512);
  t.is(overlaps, 0, `${label}: texels touched by two charts at 512²`);
  t.true(covered > 0);
  const q = uvQuality(r);
  t.is(q.chartCount, r.chartCount);
  t.is(q.flippedFaces, 0);
  t.is(q.outsideUnitSquare, 0);
  t.true(q.packingEfficiency >= bounds.minEfficiency, `${label}: packing efficiency ${q.packingEfficiency.toFixed(3)} < ${bounds.minEfficiency}`);
  t.true(q.boundingEfficiency >= q.packingEfficiency);
  t.true(q.stretchL2 >= 1 - 1e-6 && q.stretchL2 <= bounds.maxStretchL2, `${label}: L2 stretch ${q.stretchL2.toFixed(4)} outside [1, ${bounds.maxStretchL2}]`);
  t.true(q.stretchLinfMax <= bounds.maxLinf, `${label}: max L∞ stretch ${q.stretchLinfMax.toFixed(2)} > ${bounds.maxLinf}`);
}

const SHAPES: [string, () => UvMesh, Bounds][] = [
  ['cube', cubeMesh, { minEfficiency: 0.6, maxStretchL2: 1 + 1e-6, maxLinf: 1 + 1e-5 }],
  ['UV sphere', () => uvSphereMesh(16, 32), { minEfficiency: 0.4, maxStretchL2: 1.15, maxLinf: 4 }],
  ['torus', () => torusMesh(1, 0.35, 48, 16), { minEfficiency: 0.35, maxStretchL2: 1.15, maxLinf: 4 }],
  ['capped cylinder', () => cappedCylinderMesh(32, 8), { minEfficiency: 0.4, maxStretchL2: 1.15, maxLinf: 4 }],
  ['bumpy blob (5120 faces)', () => bumpyBlobMesh(4, 7), { minEfficiency: 0.35, maxStretchL2: 1.15, maxLinf: 8 }],
];

for (const [name, make, bounds] of SHAPES) {
  test(`${name}: WASM matches refUvUnwrap; atlas valid, packed and low-stretch`, (t) => {
    const mesh = make();
    const r = runBoth(t, mesh, {}, name);
    checkAtlas(t, mesh, r, bounds, name);
    t.log(`${name}: ${mesh.indices.length / 3} faces, ${r.chartCount} charts (${r.chartMethod.filter((m) => m === CHART_LSCM).length} LSCM), ${mesh.positions.length / 3} -> ${r.vertexMap.length} vertices, ${JSON.stringify(uvQuality(r), (_k, v: unknown) => (typeof v === 'number' ? +v.toFixed(4) : v))}`);
  });
}

test('cube: six square charts of two faces, each isometric', (t) => {
  const r = uvUnwrap(uv, cubeMesh());
  t.is(r.chartCount, 6);
  t.is(r.vertexMap.length, 24, 'each corner vertex split into its three faces');
  for (let c = 0; c < 6; c++) t.is(r.faceChart.filter((x) => x === c).length, 2);
  t.true(r.chartMethod.every((m) => m === CHART_PLANAR));
});

test('both parameterisations are used on curved shapes (planar on flat-ish charts, LSCM elsewhere)', (t) => {
  const methods = new Set<number>();
  for (const mesh of [uvSphereMesh(16, 32), torusMesh(1, 0.35, 48, 16)]) for (const m of uvUnwrap(uv, mesh).chartMethod) methods.add(m);
  t.true(methods.has(CHART_PLANAR) && methods.has(CHART_LSCM));
});

/** Open half-cylinder strip (developable): rows × cols quads over `degrees` of arc. */
function cylinderStrip(degrees: number, cols = 24, rows = 6): UvMesh {
  const p: number[] = [];
  const idx: number[] = [];
  for (let k = 0; k <= rows; k++) {
    for (let s = 0; s <= cols; s++) {
      const a = ((s / cols - 0.5) * degrees * Math.PI) / 180;
      p.push(Math.sin(a), (2 * k) / rows - 1, Math.cos(a));
    }
  }
  const at = (k: number, s: number) => k * (cols + 1) + s;
  for (let k = 0; k < rows; k++) for (let s = 0; s < cols; s++) idx.push(at(k, s), at(k, s + 1), at(k + 1, s + 1), at(k, s), at(k + 1, s + 1), at(k + 1, s));
  return { positions: Float32Array.from(p), indices: Uint32Array.from(idx) };
}

test('LSCM unrolls a developable strip isometrically where projection would stretch it', (t) => {
  const mesh = cylinderStrip(120);
  const opts = { maxChartAngleDeg: 89, planarMaxStretch: 1.01 };
  const r = runBoth(t, mesh, opts, 'strip');
  t.is(r.chartCount, 1);
  t.is(r.chartMethod[0], CHART_LSCM);
  const q = uvQuality(r);
  t.true(q.stretchL2 < 1.002, `L2 stretch ${q.stretchL2}`);
  t.true(q.stretchLinfMax < 1.01, `L∞ stretch ${q.stretchLinfMax}`);
  // projection alone stretches it (±60° of arc seen from the front)
  const planarOnly = uvQuality(uvUnwrap(uv, mesh, { maxChartAngleDeg: 89, planarMaxStretch: 10 }));
  t.true(planarOnly.stretchL2 > 1.03, `planar L2 stretch ${planarOnly.stretchL2}`);
  checkAtlas(t, mesh, r, { minEfficiency: 0.3, maxStretchL2: 1.002, maxLinf: 1.01 }, 'strip');
});

test('charts that stretch too much are split until they do not (and still match the reference)', (t) => {
  const mesh = uvSphereMesh(16, 32);
  const loose = uvUnwrap(uv, mesh, { maxChartAngleDeg: 85 });
  const strict = runBoth(t, mesh, { maxChartAngleDeg: 85, planarMaxStretch: 1.01, maxStretch: 1.01 }, 'strict');
  t.true(strict.chartCount > loose.chartCount, `${strict.chartCount} charts vs ${loose.chartCount}`);
  checkAtlas(t, mesh, strict, { minEfficiency: 0.2, maxStretchL2: 1.01, maxLinf: 3 }, 'strict');
});

test('maxChartFaces caps chart growth; padding and texture size are honoured', (t) => {
  const mesh = bumpyBlobMesh(3, 3);
  const capped = runBoth(t, mesh, { maxChartFaces: 60, textureSize: 256, padding: 3 }, 'capped');
  t.true(capped.chartCount >= Math.ceil(mesh.indices.length / 3 / 60));
  checkAtlas(t, mesh, capped, { minEfficiency: 0.2, maxStretchL2: 1.15, maxLinf: 8 }, 'capped');
  // charts are >= 2·padding = 6 texels apart at 256², so >= 1.5 texels at 64²: no texel touches two even conservatively
  const { overlaps } = rasterOverlaps(capped, 64);
  t.is(overlaps, 0);
});

test('open mesh with a degenerate face and an unused vertex', (t) => {
  // a 6x6 grid of quads with one face collapsed to a point and one vertex no face uses
  const p: number[] = [];
  const idx: number[] = [];
  for (let y = 0; y <= 6; y++) for (let x = 0; x <= 6; x++) p.push(x / 6, y / 6, 0.1 * Math.sin(x + y));
  for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) {
    const a = y * 7 + x;
    idx.push(a, a + 1, a + 8, a, a + 8, a + 7);
  }
  idx.push(10, 10, 10);
  p.push(5, 5, 5);
  const mesh = { positions: Float32Array.from(p), indices: Uint32Array.from(idx) };
  const r = runBoth(t, mesh, {}, 'grid');
  t.is(r.indices.length, idx.length);
  t.false(r.vertexMap.includes(49), 'the unused vertex is dropped');
  t.is(r.faceChart.length, 73);
  t.true(r.uvs.every((x) => x >= 0 && x <= 1));
});

test('the same input twice gives the same atlas (module state is reset per call)', (t) => {
  const a = uvUnwrap(uv, torusMesh(1, 0.3, 24, 12));
  uvUnwrap(uv, bumpyBlobMesh(3, 5));
  const b = uvUnwrap(uv, torusMesh(1, 0.3, 24, 12));
  t.deepEqual(a, b);
});

test('empty mesh gives an empty atlas', (t) => {
  const r = runBoth(t, { positions: new Float32Array(0), indices: new Uint32Array(0) }, {}, 'empty');
  t.is(r.chartCount, 0);
  t.is(r.vertexMap.length, 0);
});

test('bad input fails before any work with the field named', (t) => {
  const ok = cubeMesh();
  for (const run of [(m: UvMesh, o?: UvUnwrapOptions) => uvUnwrap(uv, m, o), refUvUnwrap]) {
    t.throws(() => run({ positions: ok.positions.subarray(0, 7), indices: ok.indices }), { message: /mesh\.positions: length 7/ });
    t.throws(() => run({ positions: ok.positions, indices: ok.indices.subarray(0, 4) }), { message: /mesh\.indices: length 4/ });
    const badIdx = ok.indices.slice();
    badIdx[5] = 8;
    t.throws(() => run({ positions: ok.positions, indices: badIdx }), { message: /mesh\.indices\[5\]: 8 is out of range/ });
    const nan = ok.positions.slice();
    nan[4] = NaN;
    t.throws(() => run({ positions: nan, indices: ok.indices }), { message: /mesh\.positions\[4\]: NaN/ });
    t.throws(() => run(ok, { padding: -1 }), { message: /options\.padding/ });
    t.throws(() => run(ok, { maxChartAngleDeg: 120 }), { message: /options\.maxChartAngleDeg/ });
    t.throws(() => run({ positions: Array.from(ok.positions) as unknown as Float32Array, indices: ok.indices }), { message: /mesh\.positions: expected a Float32Array/ });
    // charts that cannot fit even at zero size
    t.throws(() => run(bumpyBlobMesh(2, 1), { textureSize: 8, padding: 3 }), { message: /do not fit a 8² atlas with padding 3/ });
  }
});

test('uvQuality on hand-made atlases', (t) => {
  // a 2x2 square mapped onto the whole unit square: full, uniform, isometric up to scale
  const positions = Float32Array.from([0, 0, 0, 2, 0, 0, 2, 2, 0, 0, 2, 0]);
  const indices = Uint32Array.from([0, 1, 2, 0, 2, 3]);
  const square = uvQuality({ positions, indices, uvs: Float32Array.from([0, 0, 1, 0, 1, 1, 0, 1]), faceChart: Uint32Array.from([0, 0]) });
  t.is(square.chartCount, 1);
  t.is(square.packingEfficiency, 1);
  t.is(square.boundingEfficiency, 1);
  t.true(Math.abs(square.stretchL2 - 1) < 1e-12 && Math.abs(square.stretchLinfMax - 1) < 1e-12);
  t.is(square.flippedFaces, 0);
  // squeezed to half width: area half, L2 = sqrt((4 + 1)/2)/sqrt(2) ... normalised: sqrt(5/4)
  const squeezed = uvQuality({ positions, indices, uvs: Float32Array.from([0, 0, 0.5, 0, 0.5, 1, 0, 1]), faceChart: Uint32Array.from([0, 0]) });
  t.true(Math.abs(squeezed.packingEfficiency - 0.5) < 1e-12);
  t.true(Math.abs(squeezed.stretchL2 - Math.sqrt(5 / 4)) < 1e-6, `L2 ${squeezed.stretchL2}`);
  t.true(Math.abs(squeezed.stretchLinfMax - Math.sqrt(2)) < 1e-6, `Linf ${squeezed.stretchLinfMax}`);
  // one triangle mirrored within the chart counts as flipped; a uv outside is counted
  const flipped = uvQuality({ positions, indices, uvs: Float32Array.from([0, 0, 1, 0, 1, 1, 1.5, 0.2]), faceChart: Uint32Array.from([0, 0]) });
  t.is(flipped.flippedFaces, 1);
  t.is(flipped.outsideUnitSquare, 1);
});
