// UV unwrap inputs and the microbenchmark (`dg4d microbench --only uv`): the
// WASM build (asm/uv_unwrap) beside the plain-TypeScript reference
// (refUvUnwrap) on the same ~20k-face mesh in the same run. The meshes are
// also the test shapes (tests/uv_unwrap.test.ts). Node side only for the
// timing; the generators are plain functions.
import { seededRandom } from '../pipeline/rng.ts';
import { uvQuality, uvUnwrap, type UvMesh, type UvUnwrapExports, type UvUnwrapOptions } from './uv_unwrap.ts';
import type { AsmModule } from './wasm.ts';
import { refUvUnwrap } from './uv_unwrap_ref.ts';
import type { MicrobenchCaseRow } from '../bench/microbench_row.ts';

/** Builds a mesh from plain arrays. */
function meshOf(positions: number[], indices: number[]): UvMesh {
  return { positions: Float32Array.from(positions), indices: Uint32Array.from(indices) };
}

/** Unit cube centred at the origin: 8 welded vertices, 12 outward faces. */
export function cubeMesh(): UvMesh {
  const p: number[] = [];
  for (let i = 0; i < 8; i++) p.push(i & 1 ? 0.5 : -0.5, i & 2 ? 0.5 : -0.5, i & 4 ? 0.5 : -0.5);
  // quads (outward, counter-clockwise), two triangles each
  const quads = [
    [0, 2, 3, 1], // -z
    [4, 5, 7, 6], // +z
    [0, 1, 5, 4], // -y
    [2, 6, 7, 3], // +y
    [0, 4, 6, 2], // -x
    [1, 3, 7, 5], // +x
  ];
  const idx: number[] = [];
  for (const [a, b, c, d] of quads) idx.push(a!, b!, c!, a!, c!, d!);
  return meshOf(p, idx);
}

/** Latitude-longitude sphere of radius 1: one vertex per pole, welded at the date line. */
export function uvSphereMesh(rings = 16, segments = 32): UvMesh {
  const p: number[] = [0, 0, 1];
  for (let r = 1; r < rings; r++) {
    const th = (Math.PI * r) / rings;
    for (let s = 0; s < segments; s++) {
      const ph = (2 * Math.PI * s) / segments;
      p.push(Math.sin(th) * Math.cos(ph), Math.sin(th) * Math.sin(ph), Math.cos(th));
    }
  }
  p.push(0, 0, -1);
  const south = (rings - 1) * segments + 1;
  const at = (r: number, s: number) => 1 + (r - 1) * segments + (s % segments);
  const idx: number[] = [];
  for (let s = 0; s < segments; s++) idx.push(0, at(1, s), at(1, s + 1));
  for (let r = 1; r < rings - 1; r++) {
    for (let s = 0; s < segments; s++) idx.push(at(r, s), at(r + 1, s), at(r + 1, s + 1), at(r, s), at(r + 1, s + 1), at(r, s + 1));
  }
  for (let s = 0; s < segments; s++) idx.push(south, at(rings - 1, s + 1), at(rings - 1, s));
  return meshOf(p, idx);
}

/** Torus around z: major radius R, minor radius r, welded in both directions. */
export function torusMesh(R = 1, r = 0.35, nu = 48, nv = 16): UvMesh {
  const p: number[] = [];
  for (let i = 0; i < nu; i++) {
    const a = (2 * Math.PI * i) / nu;
    for (let j = 0; j < nv; j++) {
      const b = (2 * Math.PI * j) / nv;
      p.push((R + r * Math.cos(b)) * Math.cos(a), (R + r * Math.cos(b)) * Math.sin(a), r * Math.sin(b));
    }
  }
  const at = (i: number, j: number) => (i % nu) * nv + (j % nv);
  const idx: number[] = [];
  for (let i = 0; i < nu; i++) {
    for (let j = 0; j < nv; j++) idx.push(at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j), at(i + 1, j + 1), at(i, j + 1));
  }
  return meshOf(p, idx);
}

/** Closed cylinder along z (radius 0.5, height 1.5): side grid plus capped ends with a centre vertex each. */
export function cappedCylinderMesh(segments = 32, rows = 8): UvMesh {
  const p: number[] = [];
  for (let k = 0; k <= rows; k++) {
    const z = -0.75 + (1.5 * k) / rows;
    for (let s = 0; s < segments; s++) {
      const a = (2 * Math.PI * s) / segments;
      p.push(0.5 * Math.cos(a), 0.5 * Math.sin(a), z);
    }
  }
  const bottom = p.length / 3;
  p.push(0, 0, -0.75);
  const top = bottom + 1;
  p.push(0, 0, 0.75);
  const at = (k: number, s: number) => k * segments + (s % segments);
  const idx: number[] = [];
  for (let k = 0; k < rows; k++) {
    for (let s = 0; s < segments; s++) idx.push(at(k, s), at(k, s + 1), at(k + 1, s + 1), at(k, s), at(k + 1, s + 1), at(k + 1, s));
  }
  for (let s = 0; s < segments; s++) {
    idx.push(bottom, at(0, s + 1), at(0, s));
    idx.push(top, at(rows, s), at(rows, s + 1));
  }
  return meshOf(p, idx);
}

/** Icosphere with `subdivisions` levels (20·4^n faces), welded. */
export function icosphereMesh(subdivisions: number): UvMesh {
  const t = (1 + Math.sqrt(5)) / 2;
  const p: number[] = [];
  for (const [x, y, z] of [
    [-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0],
    [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
    [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1],
  ] as const) {
    const l = Math.hypot(x, y, z);
    p.push(x / l, y / l, z / l);
  }
  let faces = [
    0, 11, 5, 0, 5, 1, 0, 1, 7, 0, 7, 10, 0, 10, 11, 1, 5, 9, 5, 11, 4, 11, 10, 2, 10, 7, 6, 7, 1, 8,
    3, 9, 4, 3, 4, 2, 3, 2, 6, 3, 6, 8, 3, 8, 9, 4, 9, 5, 2, 4, 11, 6, 2, 10, 8, 6, 7, 9, 8, 1,
  ];
  for (let s = 0; s < subdivisions; s++) {
    const mid = new Map<number, number>();
    const midpoint = (a: number, b: number) => {
      const key = Math.min(a, b) * 1_000_003 + Math.max(a, b);
      let m = mid.get(key);
      if (m === undefined) {
        const x = p[3 * a]! + p[3 * b]!, y = p[3 * a + 1]! + p[3 * b + 1]!, z = p[3 * a + 2]! + p[3 * b + 2]!;
        const l = Math.hypot(x, y, z);
        m = p.length / 3;
        p.push(x / l, y / l, z / l);
        mid.set(key, m);
      }
      return m;
    };
    const next: number[] = [];
    for (let f = 0; f < faces.length; f += 3) {
      const a = faces[f]!, b = faces[f + 1]!, c = faces[f + 2]!;
      const ab = midpoint(a, b), bc = midpoint(b, c), ca = midpoint(c, a);
      next.push(a, ab, ca, b, bc, ab, c, ca, bc, ab, bc, ca);
    }
    faces = next;
  }
  return meshOf(p, faces);
}

/**
 * A lumpy closed blob: an icosphere with `bumps` seeded Gaussian bumps and a
 * little per-vertex noise along the radius — an organic, irregular surface like
 * the marching-cubes meshes the pipeline unwraps.
 */
export function bumpyBlobMesh(subdivisions = 4, seed = 7, bumps = 12): UvMesh {
  const mesh = icosphereMesh(subdivisions);
  const rand = seededRandom(seed);
  const centres: { x: number; y: number; z: number; h: number; w: number }[] = [];
  for (let i = 0; i < bumps; i++) {
    const z = 2 * rand() - 1, a = 2 * Math.PI * rand();
    const s = Math.sqrt(1 - z * z);
    centres.push({ x: s * Math.cos(a), y: s * Math.sin(a), z, h: (rand() - 0.3) * 0.5, w: 0.15 + 0.25 * rand() });
  }
  const P = mesh.positions;
  for (let v = 0; v < P.length / 3; v++) {
    const x = P[3 * v]!, y = P[3 * v + 1]!, z = P[3 * v + 2]!;
    let r = 1 + 0.01 * (rand() - 0.5);
    for (const c of centres) {
      const d2 = (x - c.x) ** 2 + (y - c.y) ** 2 + (z - c.z) ** 2;
      r += c.h * Math.exp(-d2 / (2 * c.w * c.w));
    }
    P[3 * v] = x * r;
    P[3 * v + 1] = y * r;
    P[3 * v + 2] = z * r;
  }
  return mesh;
}

/** The microbenchmark mesh: a bumpy blob of 20,480 faces. */
export const uvBenchMesh = (seed = 7): UvMesh => bumpyBlobMesh(5, seed);

export interface UvBenchRow {
  impl: 'wasm' | 'ts';
  faces: number;
  samples: number;
  medianMs: number;
  p90Ms: number;
  charts: number;
  packingEfficiency: number;
  stretchL2: number;
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Times unwrap of `mesh` with the WASM build and with refUvUnwrap, alternating
 * (so machine load hits both alike), at least `minIterations` each and until
 * `timeMs` has passed per implementation, after three warm-up calls each.
 */
export function uvUnwrapBench(mod: AsmModule<UvUnwrapExports>, opts: { mesh?: UvMesh; timeMs?: number; minIterations?: number; options?: UvUnwrapOptions } = {}): UvBenchRow[] {
  const mesh = opts.mesh ?? uvBenchMesh();
  const timeMs = opts.timeMs ?? 1000;
  const minIterations = opts.minIterations ?? 3;
  const impls = [
    { impl: 'wasm' as const, run: () => uvUnwrap(mod, mesh, opts.options) },
    { impl: 'ts' as const, run: () => refUvUnwrap(mesh, opts.options) },
  ];
  const times: number[][] = [[], []];
  const spent = [0, 0];
  // warm-up: V8 needs a few calls before the TypeScript reaches its optimised tier (and wasm its top tier)
  for (let i = 0; i < 3; i++) for (const x of impls) x.run();
  while (times[0]!.length < minIterations || times[1]!.length < minIterations || spent[0]! < timeMs || spent[1]! < timeMs) {
    for (let i = 0; i < impls.length; i++) {
      const t0 = performance.now();
      impls[i]!.run();
      const dt = performance.now() - t0;
      times[i]!.push(dt);
      spent[i]! += dt;
    }
  }
  return impls.map((x, i) => {
    const r = x.run();
    const q = uvQuality(r);
    const sorted = [...times[i]!].sort((a, b) => a - b);
    return {
      impl: x.impl,
      faces: mesh.indices.length / 3,
      samples: sorted.length,
      medianMs: quantile(sorted, 0.5),
      p90Ms: quantile(sorted, 0.9),
      charts: r.chartCount,
      packingEfficiency: q.packingEfficiency,
      stretchL2: q.stretchL2,
    };
  });
}

/** A `dg4d microbench` row (harness/cli/commands/microbench.ts, suite `uv`). */
export type UvMicrobenchRow = MicrobenchCaseRow;

/** The `uv` microbenchmark suite: WASM and TypeScript rows; the WASM row's detail carries the ratio. */
export async function uvBenchRows(opts: { timeMs: number; minIterations: number; seed: number }): Promise<UvMicrobenchRow[]> {
  const { loadAsmFile } = await import('./wasm_file.ts'); // Node only; kept out of the page bundle's import graph
  const mod = await loadAsmFile<UvUnwrapExports>('uv_unwrap');
  const rows = uvUnwrapBench(mod, { mesh: uvBenchMesh(opts.seed), timeMs: opts.timeMs, minIterations: opts.minIterations });
  const ts = rows.find((r) => r.impl === 'ts')!;
  return rows.map((r) => ({
    case: `unwrap_${r.impl}`,
    n: r.faces,
    size: null,
    samples: r.samples,
    medianMs: r.medianMs,
    p90Ms: r.p90Ms,
    gpuMedianMs: NaN,
    throughput: (r.faces / r.medianMs) * 1000,
    throughputUnit: 'faces/s (CPU)',
    timing: 'wall',
    detail: { charts: r.charts, packingEfficiency: r.packingEfficiency, stretchL2: r.stretchL2, ...(r.impl === 'wasm' ? { tsOverWasm: ts.medianMs / r.medianMs } : {}) },
  }));
}
