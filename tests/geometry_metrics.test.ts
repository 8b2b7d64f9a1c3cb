// Geometry metrics (harness/metrics/geometry_metrics.ts) on analytic cases:
// identical meshes, concentric spheres (Chamfer = radius difference, F-score
// across the 1 % threshold), a shifted mesh, the k-d tree's nearest neighbours against
// brute force, and the sampler's area weighting.
import test from 'ava';
import { bboxDiagonal, geometryMetrics, PointTree, sampleSurface, type TriangleMesh } from '../harness/metrics/geometry_metrics.ts';
import { uniform } from './helpers/splat_scenes.ts';

/** Icosphere: subdivided icosahedron projected to the sphere. */
function icosphere(radius: number, levels: number, centre = [0, 0, 0]): TriangleMesh {
  const t = (1 + Math.sqrt(5)) / 2;
  let verts: number[][] = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]];
  let faces = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]];
  const norm = (v: number[]) => {
    const l = Math.hypot(...v);
    return v.map((x) => x / l);
  };
  verts = verts.map(norm);
  for (let l = 0; l < levels; l++) {
    const mid = new Map<string, number>();
    const m = (a: number, b: number) => {
      const k = a < b ? `${a},${b}` : `${b},${a}`;
      if (!mid.has(k)) {
        verts.push(norm(verts[a]!.map((x, i) => x + verts[b]![i]!)));
        mid.set(k, verts.length - 1);
      }
      return mid.get(k)!;
    };
    faces = faces.flatMap(([a, b, c]) => {
      const [ab, bc, ca] = [m(a!, b!), m(b!, c!), m(c!, a!)];
      return [[a!, ab, ca], [b!, bc, ab], [c!, ca, bc], [ab, bc, ca]];
    });
  }
  return { positions: Float64Array.from(verts.flatMap((v) => v.map((x, i) => centre[i]! + radius * x))), indices: Uint32Array.from(faces.flat()) };
}

test('identical meshes: Chamfer 0, F-score 1', (t) => {
  const m = icosphere(0.8, 3);
  const r = geometryMetrics(m, m, { samples: 5000 });
  t.is(r.chamfer, 0);
  t.is(r.chamferRel, 0);
  t.is(r.fscore, 1);
});

test('concentric spheres: Chamfer is the radius difference; F-score drops past 1 % of the diagonal', (t) => {
  const gt = icosphere(1, 4);
  const diag = bboxDiagonal(gt);
  for (const dr of [0.004, 0.05]) {
    const r = geometryMetrics(icosphere(1 + dr, 4), gt, { samples: 20_000 });
    t.log(`dr ${dr}: chamfer ${r.chamfer.toFixed(5)}, rel ${r.chamferRel.toFixed(5)}, F ${r.fscore.toFixed(3)}`);
    t.true(Math.abs(r.chamfer - dr) < 0.1 * dr + 0.001, `chamfer ${r.chamfer} vs ${dr}`);
    t.true(Math.abs(r.chamferRel - r.chamfer / diag) < 1e-12);
    if (dr < 0.01 * diag) t.true(r.fscore > 0.99, `F ${r.fscore}`);
    else t.true(r.fscore < 0.05, `F ${r.fscore}`);
  }
});

test('a mesh against a shifted, independently sampled copy: Chamfer close to the shift for shifts above the sample spacing', (t) => {
  const gt = icosphere(0.5, 3);
  const pred = icosphere(0.5, 3, [0.3, 0, 0]);
  const r = geometryMetrics(pred, gt, { samples: 20_000 });
  // Points on the spheres' far sides are farther apart than the shift... and overlapping parts closer: just bounds.
  t.true(r.chamfer > 0.05 && r.chamfer < 0.3, `chamfer ${r.chamfer}`);
  t.true(r.fscore < 0.5);
});

test('PointTree.nearest equals brute force; sampling follows area', (t) => {
  const rnd = uniform(3);
  const pts = Float64Array.from({ length: 3 * 2000 }, () => rnd() * 2 - 1);
  pts.set([5, 5, 5], 0); // an outlier
  const g = new PointTree(pts);
  for (let q = 0; q < 200; q++) {
    const [x, y, z] = [rnd() * 4 - 2, rnd() * 4 - 2, rnd() * 4 - 2];
    let best = Infinity;
    for (let i = 0; i < pts.length / 3; i++) best = Math.min(best, Math.hypot(pts[3 * i]! - x, pts[3 * i + 1]! - y, pts[3 * i + 2]! - z));
    t.true(Math.abs(g.nearest(x!, y!, z!) - best) < 1e-12);
  }
  // Two triangles, areas 1/2 and 3/2: samples split about 1:3.
  const m: TriangleMesh = { positions: [0, 0, 0, 1, 0, 0, 0, 1, 0, 10, 0, 0, 13, 0, 0, 10, 1, 0], indices: [0, 1, 2, 3, 4, 5] };
  const s = sampleSurface(m, 8000, 9);
  let first = 0;
  for (let i = 0; i < 8000; i++) if (s[3 * i]! < 5) first++;
  t.true(Math.abs(first / 8000 - 0.25) < 0.02, `${first}`);
  t.throws(() => sampleSurface({ positions: [0, 0, 0], indices: [] }, 10, 1), { message: /no faces/ });
});
