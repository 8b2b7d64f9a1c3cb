// The `mesh` microbenchmark suite (`dg4d microbench --only mesh`): marching
// cubes on N^3 grids of a lumpy analytic field and quadric decimation of a
// ~200k-face marching-cubes mesh to a tenth, each as the WASM build (asm/)
// beside its plain-TypeScript reference (refMarchingCubes, refDecimate) on the
// same input in the same run, alternating so machine load hits both alike.
// CPU only (Node); wall time per call including the copies in and out of WASM.
import { summarize } from '../util/stats.ts';
import { lumpy, sampleGrid } from './analytic_fields.ts';
import { refMarchingCubes } from './marching_cubes_ref.ts';
import { refDecimate } from './mesh_ref.ts';
import { decimate, marchingCubes, type MarchingCubesExports, type MeshExports, type ScalarGrid, type SurfaceMesh } from './surface.ts';
import type { AsmModule } from './wasm.ts';
import type { MicrobenchCaseRow } from '../bench/microbench_row.ts';

export interface MeshBenchConfig {
  /** Marching-cubes grid sizes N (N^3 points). */
  grids: number[];
  /** Decimation input size (faces, approximate) and the target is a tenth of it. */
  decimateFaces: number;
  timeMs: number;
  minIterations: number;
}

/** A `dg4d microbench` row (harness/cli/commands/microbench.ts, suite `mesh`). */
export type MeshMicrobenchRow = MicrobenchCaseRow;

/** The benchmark field: a lumpy sphere of radius 0.6 in [-1,1]^3. */
export const meshBenchGrid = (n: number): ScalarGrid => sampleGrid(lumpy(0.6), [n, n, n]);

/** Faces per N^2 of meshBenchGrid's surface (measured: ~3.37 N^2). */
const FACES_PER_N2 = 3.37;

/** Times two implementations alternately: at least minIterations each and until timeMs has passed for each. */
function timePair(runs: [() => unknown, () => unknown], timeMs: number, minIterations: number) {
  const times: number[][] = [[], []];
  const spent = [0, 0];
  for (const run of runs) run(); // warm-up (JIT, WASM tier-up)
  while (times[0]!.length < minIterations || times[1]!.length < minIterations || spent[0]! < timeMs || spent[1]! < timeMs) {
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      runs[i]!();
      const dt = performance.now() - t0;
      times[i]!.push(dt);
      spent[i]! += dt;
    }
  }
  return times.map((t) => summarize(t));
}

export function marchingCubesBench(mc: AsmModule<MarchingCubesExports>, n: number, timeMs: number, minIterations: number): MeshMicrobenchRow[] {
  const grid = meshBenchGrid(n);
  const mesh = marchingCubes(mc, grid, 0);
  const faces = mesh.indices.length / 3, vertices = mesh.positions.length / 3;
  const [wasm, ts] = timePair([() => marchingCubes(mc, grid, 0), () => refMarchingCubes(grid, 0)], timeMs, minIterations);
  return ([['wasm', wasm!], ['ts', ts!]] as const).map(([impl, s]) => ({
    case: `marching_cubes_${impl}`,
    n: n ** 3,
    size: null,
    samples: s.count,
    medianMs: s.medianMs,
    p90Ms: s.p90Ms,
    gpuMedianMs: NaN,
    throughput: (faces / s.medianMs) * 1000,
    throughputUnit: 'triangles/s (CPU)',
    timing: 'wall',
    detail: { grid: n, triangles: faces, vertices, ...(impl === 'wasm' ? { tsOverWasm: ts!.medianMs / wasm!.medianMs, wasmOverTs: wasm!.medianMs / ts!.medianMs } : {}) },
  }));
}

export function decimateBench(ms: AsmModule<MeshExports>, mesh: SurfaceMesh, timeMs: number, minIterations: number): MeshMicrobenchRow[] {
  const faces = mesh.indices.length / 3;
  const targetFaces = Math.round(faces / 10);
  const out = decimate(ms, mesh, { targetFaces });
  const [wasm, ts] = timePair([() => decimate(ms, mesh, { targetFaces }), () => refDecimate(mesh, { targetFaces })], timeMs, minIterations);
  return ([['wasm', wasm!], ['ts', ts!]] as const).map(([impl, s]) => ({
    case: `decimate_${impl}`,
    n: faces,
    size: null,
    samples: s.count,
    medianMs: s.medianMs,
    p90Ms: s.p90Ms,
    gpuMedianMs: NaN,
    throughput: (faces / s.medianMs) * 1000,
    throughputUnit: 'input faces/s (CPU)',
    timing: 'wall',
    detail: { targetFaces, outFaces: out.indices.length / 3, ...(impl === 'wasm' ? { tsOverWasm: ts!.medianMs / wasm!.medianMs, wasmOverTs: wasm!.medianMs / ts!.medianMs } : {}) },
  }));
}

/** The `mesh` microbenchmark suite. */
export async function meshBenchRows(cfg: MeshBenchConfig, log: (s: string) => void = () => {}): Promise<MeshMicrobenchRow[]> {
  const { loadAsmFile } = await import('./wasm_file.ts'); // Node only; kept out of the page bundle's import graph
  const mc = await loadAsmFile<MarchingCubesExports>('marching_cubes');
  const ms = await loadAsmFile<MeshExports>('mesh');
  const rows: MeshMicrobenchRow[] = [];
  for (const n of cfg.grids) {
    log(`[microbench] mesh: marching cubes ${n}^3`);
    rows.push(...marchingCubesBench(mc, n, cfg.timeMs, cfg.minIterations));
  }
  const n = Math.round(Math.sqrt(cfg.decimateFaces / FACES_PER_N2));
  const mesh = marchingCubes(mc, meshBenchGrid(n), 0);
  log(`[microbench] mesh: decimate ${mesh.indices.length / 3} -> ${Math.round(mesh.indices.length / 30)} faces`);
  rows.push(...decimateBench(ms, mesh, cfg.timeMs, cfg.minIterations));
  return rows;
}
