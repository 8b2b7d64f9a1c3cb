// Typed wrappers of the WASM surface helpers (asm/marching_cubes, asm/mesh) and
// the shapes they share with their CPU references (marching_cubes_ref.ts,
// mesh_ref.ts). Host-agnostic: takes an AsmModule from wasm.ts (Node:
// wasm_file.ts loadAsmFile('marching_cubes'); page: fetch + loadAsm).
// Inputs are checked here, before any WASM work, with errors naming the field.
//
// Typical use (the `mesh` stage):
//   const mc = await loadAsmFile('marching_cubes'), ms = await loadAsmFile('mesh');
//   const raw = marchingCubes(mc, grid, 0.5);                 // welded, closed, normals
//   const clean = meshCleanup(ms, raw, { minComponentAreaFraction: 0.01 });
//   const dec = decimate(ms, clean, { targetFaces: 100_000 });  // normals: vertexNormals()
import type { AsmModule } from './wasm.ts';

/** A scalar field sampled on a regular grid. */
export interface ScalarGrid {
  /** [nz,ny,nx] f32, x fastest: value at grid point (i,j,k) is values[i + nx*(j + ny*k)]. */
  values: Float32Array;
  /** [nx, ny, nz] grid points per axis, each >= 2. */
  dims: readonly [number, number, number];
  /** World position of grid point (0,0,0). */
  origin: readonly [number, number, number];
  /** World distance between neighbouring grid points per axis, each > 0. */
  spacing: readonly [number, number, number];
}

/** An indexed triangle mesh; triangles are counter-clockwise seen from outside. */
export interface SurfaceMesh {
  /** [V,3] f32 world positions. */
  positions: Float32Array;
  /** [V,3] f32 unit outward normals (marching cubes: from the field gradient; zero where it vanishes). */
  normals?: Float32Array;
  /** [F,3] u32 vertex indices. */
  indices: Uint32Array;
}

export interface CleanupOptions {
  /** Drop connected components (faces sharing vertices) with fewer faces than this. Default 0. */
  minComponentFaces?: number;
  /** Drop components whose area is below this fraction of the total area. Default 0. */
  minComponentAreaFraction?: number;
}

export interface CleanupStats {
  degenerateFaces: number;
  duplicateFaces: number;
  components: number;
  removedComponents: number;
  removedComponentFaces: number;
  unreferencedVertices: number;
}

export interface CleanupResult extends SurfaceMesh {
  /** [V'] u32: index in the input of each output vertex (to carry any per-vertex attribute along; normals already are). */
  vertexSource: Uint32Array;
  stats: CleanupStats;
}

export interface DecimateOptions {
  /** Stop when the face count is at or below this (collapses remove 2 faces, 1 on a boundary). */
  targetFaces: number;
  /**
   * Reject a collapse that turns a surviving face's unit normal by more than
   * acos(minNormalDot) (folds and flips). Default 0.2 (~78°).
   */
  minNormalDot?: number;
}

export interface DecimateStats {
  collapses: number;
  /** Collapses refused by the link condition (would make the mesh non-manifold). */
  rejectedTopology: number;
  /** Collapses refused because a face would flip, fold or degenerate. */
  rejectedFold: number;
  /** Largest quadric error of an accepted collapse (squared world distance, area-weighted). */
  maxError: number;
}

export interface DecimateResult extends SurfaceMesh {
  stats: DecimateStats;
}

/** Exports of asm/build/marching_cubes.wasm (see asm/marching_cubes/index.ts). */
export interface MarchingCubesExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
  /** Returns the face count, or a negative error code. */
  marchingCubes(values: number, nx: number, ny: number, nz: number, ox: number, oy: number, oz: number, sx: number, sy: number, sz: number, iso: number): number;
  outVertexCount(): number;
  outFaceCount(): number;
  outPositions(): number;
  outNormals(): number;
  outIndices(): number;
}

/** Exports of asm/build/mesh.wasm (see asm/mesh/index.ts). */
export interface MeshExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
  meshCleanup(positions: number, vertexCount: number, indices: number, faceCount: number, minComponentFaces: number, minComponentAreaFraction: number): number;
  decimate(positions: number, vertexCount: number, indices: number, faceCount: number, targetFaces: number, minNormalDot: number): number;
  outVertexCount(): number;
  outFaceCount(): number;
  outPositions(): number;
  outIndices(): number;
  outVertexSource(): number;
  /** f64 stats of the last call, in the order of CleanupStats / DecimateStats fields. */
  outStats(): number;
}

// ---------------------------------------------------------------- validation

const isVec3 = (v: unknown): v is readonly [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Throws an Error naming `where` and the field for any malformed grid or iso level. */
export function validateGrid(grid: ScalarGrid, iso: number, where = 'marchingCubes'): void {
  if (!isVec3(grid.dims) || !grid.dims.every((d) => Number.isInteger(d) && d >= 2)) throw new Error(`${where}: grid.dims must be three integers >= 2, got ${JSON.stringify(grid.dims)}`);
  if (!isVec3(grid.origin)) throw new Error(`${where}: grid.origin must be three finite numbers, got ${JSON.stringify(grid.origin)}`);
  if (!isVec3(grid.spacing) || !grid.spacing.every((s) => s > 0)) throw new Error(`${where}: grid.spacing must be three finite numbers > 0, got ${JSON.stringify(grid.spacing)}`);
  if (!(grid.values instanceof Float32Array)) throw new Error(`${where}: grid.values must be a Float32Array`);
  const [nx, ny, nz] = grid.dims;
  if (grid.values.length !== nx * ny * nz) throw new Error(`${where}: grid.values has ${grid.values.length} values, dims ${nx}x${ny}x${nz} need ${nx * ny * nz}`);
  if (typeof iso !== 'number' || !Number.isFinite(iso)) throw new Error(`${where}: iso must be a finite number, got ${String(iso)}`);
  for (let i = 0; i < grid.values.length; i++) {
    if (!Number.isFinite(grid.values[i]!)) {
      const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / (nx * ny));
      throw new Error(`${where}: grid.values[${i}] (point ${x},${y},${z}) is ${grid.values[i]}`);
    }
  }
}

/** Throws an Error naming `where` and the field for malformed positions/indices. */
export function validateMesh(mesh: SurfaceMesh, where: string): void {
  if (!(mesh.positions instanceof Float32Array) || mesh.positions.length % 3 !== 0) throw new Error(`${where}: mesh.positions must be a Float32Array of length 3*V`);
  if (!(mesh.indices instanceof Uint32Array) || mesh.indices.length % 3 !== 0) throw new Error(`${where}: mesh.indices must be a Uint32Array of length 3*F`);
  const v = mesh.positions.length / 3;
  for (let i = 0; i < mesh.positions.length; i++) if (!Number.isFinite(mesh.positions[i]!)) throw new Error(`${where}: mesh.positions[${i}] (vertex ${Math.floor(i / 3)}) is ${mesh.positions[i]}`);
  for (let i = 0; i < mesh.indices.length; i++) if (mesh.indices[i]! >= v) throw new Error(`${where}: mesh.indices[${i}] (face ${Math.floor(i / 3)}) = ${mesh.indices[i]} is out of range (V = ${v})`);
  if (mesh.normals !== undefined && (!(mesh.normals instanceof Float32Array) || mesh.normals.length !== mesh.positions.length)) throw new Error(`${where}: mesh.normals must be a Float32Array of the positions' length`);
}

export function validateCleanupOptions(o: CleanupOptions, where = 'meshCleanup'): Required<CleanupOptions> {
  const minComponentFaces = o.minComponentFaces ?? 0;
  const minComponentAreaFraction = o.minComponentAreaFraction ?? 0;
  if (!Number.isInteger(minComponentFaces) || minComponentFaces < 0) throw new Error(`${where}: minComponentFaces must be an integer >= 0, got ${minComponentFaces}`);
  if (!(minComponentAreaFraction >= 0 && minComponentAreaFraction <= 1)) throw new Error(`${where}: minComponentAreaFraction must be in [0,1], got ${minComponentAreaFraction}`);
  return { minComponentFaces, minComponentAreaFraction };
}

export function validateDecimateOptions(o: DecimateOptions, where = 'decimate'): Required<DecimateOptions> {
  const minNormalDot = o.minNormalDot ?? 0.2;
  if (!Number.isInteger(o.targetFaces) || o.targetFaces < 0) throw new Error(`${where}: targetFaces must be an integer >= 0, got ${o.targetFaces}`);
  if (!(minNormalDot >= -1 && minNormalDot <= 1)) throw new Error(`${where}: minNormalDot must be in [-1,1], got ${minNormalDot}`);
  return { targetFaces: o.targetFaces, minNormalDot };
}

// ---------------------------------------------------------------- wrappers

function check(mod: AsmModule, fn: string, code: number): void {
  if (code < 0) throw new Error(`asm/${mod.name}: ${fn} failed with code ${code}`);
}

/**
 * Marching cubes (asm/marching_cubes): the surface where the field crosses
 * `iso`, inside = value >= iso (density). One vertex per grid edge crossed,
 * triangles CCW seen from outside, closed 2-manifold away from the grid border,
 * normals = -gradient (central differences), linearly interpolated along the edge.
 */
export function marchingCubes(mod: AsmModule<MarchingCubesExports>, grid: ScalarGrid, iso: number): Required<SurfaceMesh> {
  validateGrid(grid, iso, 'marchingCubes');
  const e = mod.exports;
  mod.reset();
  const ptr = mod.copyIn(grid.values);
  const [nx, ny, nz] = grid.dims;
  check(mod, 'marchingCubes', e.marchingCubes(ptr, nx, ny, nz, grid.origin[0], grid.origin[1], grid.origin[2], grid.spacing[0], grid.spacing[1], grid.spacing[2], iso));
  const v = e.outVertexCount(), f = e.outFaceCount();
  const out = { positions: mod.f32(e.outPositions(), 3 * v), normals: mod.f32(e.outNormals(), 3 * v), indices: mod.u32(e.outIndices(), 3 * f) };
  mod.reset();
  return out;
}

/** Carries [V,3] attributes through a vertex map (output vertex -> input vertex). */
export function remapVec3(src: Float32Array, vertexSource: Uint32Array): Float32Array {
  const out = new Float32Array(vertexSource.length * 3);
  for (let i = 0; i < vertexSource.length; i++) {
    const s = vertexSource[i]! * 3;
    out[3 * i] = src[s]!;
    out[3 * i + 1] = src[s + 1]!;
    out[3 * i + 2] = src[s + 2]!;
  }
  return out;
}

const CLEANUP_STATS: (keyof CleanupStats)[] = ['degenerateFaces', 'duplicateFaces', 'components', 'removedComponents', 'removedComponentFaces', 'unreferencedVertices'];
const DECIMATE_STATS: (keyof DecimateStats)[] = ['collapses', 'rejectedTopology', 'rejectedFold', 'maxError'];

function statsOf<K extends string>(mod: AsmModule<MeshExports>, keys: K[]): Record<K, number> {
  const raw = mod.f64(mod.exports.outStats(), keys.length);
  return Object.fromEntries(keys.map((k, i) => [k, raw[i]!])) as Record<K, number>;
}

/**
 * Cleanup (asm/mesh): drops degenerate faces (repeated index or zero area),
 * duplicate faces (same three vertices, any order), small components, then
 * unreferenced vertices. Normals, if given, are carried along.
 */
export function meshCleanup(mod: AsmModule<MeshExports>, mesh: SurfaceMesh, options: CleanupOptions = {}): CleanupResult {
  validateMesh(mesh, 'meshCleanup');
  const o = validateCleanupOptions(options);
  const e = mod.exports;
  mod.reset();
  const p = mod.copyIn(mesh.positions), i = mod.copyIn(mesh.indices);
  check(mod, 'meshCleanup', e.meshCleanup(p, mesh.positions.length / 3, i, mesh.indices.length / 3, o.minComponentFaces, o.minComponentAreaFraction));
  const v = e.outVertexCount(), f = e.outFaceCount();
  const vertexSource = mod.u32(e.outVertexSource(), v);
  const out: CleanupResult = { positions: mod.f32(e.outPositions(), 3 * v), indices: mod.u32(e.outIndices(), 3 * f), vertexSource, stats: statsOf(mod, CLEANUP_STATS) };
  mod.reset();
  if (mesh.normals) out.normals = remapVec3(mesh.normals, vertexSource);
  return out;
}

/**
 * Quadric edge-collapse decimation (Garland–Heckbert; asm/mesh) down to
 * `targetFaces`, refusing collapses that break manifoldness, flip or fold faces.
 * Positions move, so normals are not returned: use vertexNormals().
 */
export function decimate(mod: AsmModule<MeshExports>, mesh: SurfaceMesh, options: DecimateOptions): DecimateResult {
  validateMesh(mesh, 'decimate');
  const o = validateDecimateOptions(options);
  const e = mod.exports;
  mod.reset();
  const p = mod.copyIn(mesh.positions), i = mod.copyIn(mesh.indices);
  check(mod, 'decimate', e.decimate(p, mesh.positions.length / 3, i, mesh.indices.length / 3, o.targetFaces, o.minNormalDot));
  const v = e.outVertexCount(), f = e.outFaceCount();
  const out: DecimateResult = { positions: mod.f32(e.outPositions(), 3 * v), indices: mod.u32(e.outIndices(), 3 * f), stats: statsOf(mod, DECIMATE_STATS) };
  mod.reset();
  return out;
}

/** Area-weighted vertex normals of a CCW mesh (unit length; zero for isolated vertices). */
export function vertexNormals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const acc = new Float64Array(positions.length);
  for (let f = 0; f < indices.length; f += 3) {
    const a = 3 * indices[f]!, b = 3 * indices[f + 1]!, c = 3 * indices[f + 2]!;
    const ux = positions[b]! - positions[a]!, uy = positions[b + 1]! - positions[a + 1]!, uz = positions[b + 2]! - positions[a + 2]!;
    const vx = positions[c]! - positions[a]!, vy = positions[c + 1]! - positions[a + 1]!, vz = positions[c + 2]! - positions[a + 2]!;
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const k of [a, b, c]) {
      acc[k] = acc[k]! + nx;
      acc[k + 1] = acc[k + 1]! + ny;
      acc[k + 2] = acc[k + 2]! + nz;
    }
  }
  const out = new Float32Array(positions.length);
  for (let k = 0; k < acc.length; k += 3) {
    const l = Math.hypot(acc[k]!, acc[k + 1]!, acc[k + 2]!);
    if (l > 0) {
      out[k] = acc[k]! / l;
      out[k + 1] = acc[k + 1]! / l;
      out[k + 2] = acc[k + 2]! / l;
    }
  }
  return out;
}
