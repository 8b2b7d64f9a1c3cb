// refMarchingCubes: plain TypeScript reference of asm/marching_cubes (same
// algorithm, same vertex and face order, same float64 arithmetic, so the WASM
// output matches it exactly). Also the "plain TypeScript version" the mesh
// microbenchmark sets beside the WASM one.
//
// Scheme (asm/README.md says why): per cube, the surface is the set of closed
// loops that the inside/outside boundary draws on the cube's six faces. Faces
// with two crossed edges join them; ambiguous faces (inside corners on one
// diagonal, outside on the other) are resolved by the asymptotic decider, which
// only reads the face's four values, so both cubes sharing a face agree. Each
// loop is triangulated without diagonals between two points of one cube face
// (such a diagonal could also be used by the neighbouring cube). Result: one
// vertex per crossed grid edge, every mesh edge in exactly two triangles with
// opposite directions (closed, oriented) when the surface stays off the border.
// The per-cube triangulation depends on the 8 corner states and the decider
// bits of ambiguous faces only, so it is tabulated once (buildCaseTable).
import { validateGrid, type ScalarGrid, type SurfaceMesh } from './surface.ts';

/** Crossing points are kept this far (fraction of the edge) from grid points, so no triangle collapses to zero area. */
export const MC_T_EPS = 1e-3;
/** Most triangles one cube can emit (a 12-edge loop fanned around a centre vertex). */
export const MC_MAX_TRIS = 12;

// Corner c of a cube sits at (c & 1, (c >> 1) & 1, c >> 2).
// Edges: 0..3 along x at (y, z) = (e & 1, e >> 1); 4..7 along y at (x, z) = (e & 1, e >> 1);
// 8..11 along z at (x, y) = (e & 1, e >> 1). Each runs from its lower corner to its upper one.
export function edgeCorners(e: number): [number, number] {
  const a = e & 1, b = (e >> 1) & 1;
  if (e < 4) return [2 * a + 4 * b, 1 + 2 * a + 4 * b];
  if (e < 8) return [a + 4 * b, a + 2 + 4 * b];
  return [a + 2 * b, a + 2 * b + 4];
}

/** Faces -x, +x, -y, +y, -z, +z: corners counter-clockwise seen from outside the cube. */
export const FACE_CORNERS: readonly (readonly [number, number, number, number])[] = [
  [0, 4, 6, 2],
  [1, 3, 7, 5],
  [0, 1, 5, 4],
  [2, 6, 7, 3],
  [0, 2, 3, 1],
  [4, 5, 7, 6],
];

function edgeBetween(a: number, b: number): number {
  for (let e = 0; e < 12; e++) {
    const [p, q] = edgeCorners(e);
    if ((p === a && q === b) || (p === b && q === a)) return e;
  }
  throw new Error(`corners ${a},${b} share no edge`);
}

/** Bit f set when face f has inside corners on one diagonal and outside corners on the other. */
export function ambiguousFaces(config: number): number {
  let mask = 0;
  for (let f = 0; f < 6; f++) {
    const c = FACE_CORNERS[f]!;
    const s0 = (config >> c[0]) & 1, s1 = (config >> c[1]) & 1, s2 = (config >> c[2]) & 1, s3 = (config >> c[3]) & 1;
    if (s0 === s2 && s1 === s3 && s0 !== s1) mask |= 1 << f;
  }
  return mask;
}

export interface CaseTable {
  /** [256*64] triangles per case; key = config << 6 | decider bits (bit f: face f's inside corners connect). */
  count: Uint8Array;
  /** [256*64, MC_MAX_TRIS, 3] vertex slots per triangle (see CaseTriangles), CCW seen from outside. */
  tris: Uint8Array;
  /** [256*64] CaseTriangles.centerMask. */
  center: Uint16Array;
}

/** Vertex slot of a loop's centre vertex in a case's triangles (slots 0..11 are the cube edges). */
export const MC_CENTER = 12;

export interface CaseTriangles {
  /** Vertex-slot triples (0..11 cube edges, MC_CENTER the centre vertex), CCW seen from outside. */
  tris: number[][];
  /** Bit e set for the edges of the loop fanned around a centre vertex (0: none). */
  centerMask: number;
}

/** Triangulates the loops of one case. */
export function caseTriangles(config: number, bits: number): CaseTriangles {
  // next[e]: the crossing that follows crossing e on its loop. On every face each
  // segment runs from the crossing where the boundary walk (CCW seen from outside)
  // leaves the inside to the one where it re-enters; each cube edge lies on two
  // faces walked in opposite directions, so every crossing has one successor and
  // one predecessor and the segments close into loops.
  const next = new Array<number>(12).fill(-1);
  const faceEdges: number[][] = [];
  for (let f = 0; f < 6; f++) {
    const c = FACE_CORNERS[f]!;
    const s = c.map((k) => (config >> k) & 1);
    const edge = [0, 1, 2, 3].map((k) => edgeBetween(c[k]!, c[(k + 1) & 3]!));
    faceEdges.push(edge);
    const crossings = [0, 1, 2, 3].filter((k) => s[k] !== s[(k + 1) & 3]);
    if (crossings.length === 2) {
      const [k0, k1] = crossings as [number, number];
      const exit = s[k0] === 1 ? k0 : k1;
      const enter = exit === k0 ? k1 : k0;
      next[edge[exit]!] = edge[enter]!;
    } else if (crossings.length === 4) {
      const connected = (bits >> f) & 1;
      for (let k = 0; k < 4; k++) {
        if (connected && s[k] === 0) next[edge[(k + 3) & 3]!] = edge[k]!; // cut off outside corner k
        if (!connected && s[k] === 1) next[edge[k]!] = edge[(k + 3) & 3]!; // cut off inside corner k
      }
    }
  }
  const sameFace = (u: number, v: number) => faceEdges.some((fe) => fe.includes(u) && fe.includes(v));
  const tris: number[][] = [];
  let centerMask = 0;
  const seen = new Array<boolean>(12).fill(false);
  for (let e0 = 0; e0 < 12; e0++) {
    if (next[e0] === -1 || seen[e0]) continue;
    const loop: number[] = [];
    for (let e = e0; !seen[e]; e = next[e]!) {
      seen[e] = true;
      loop.push(e);
    }
    const out: number[][] = [];
    if (!triangulate(loop, sameFace, out)) {
      // No such triangulation (some 8-, 9- and 12-gons over several ambiguous
      // faces): fan around a vertex of this cube's own, which no neighbour shares.
      if (centerMask !== 0) throw new Error(`marching cubes case ${config}/${bits}: two loops need a centre vertex`);
      for (const e of loop) centerMask |= 1 << e;
      for (let i = 0; i < loop.length; i++) out.push([loop[i]!, loop[(i + 1) % loop.length]!, MC_CENTER]);
    }
    // Loops run clockwise seen from outside the surface; emit CCW.
    for (const [a, b, c] of out) tris.push([a!, c!, b!]);
  }
  return { tris, centerMask };
}

/**
 * Triangulates polygon p (the triangle on edge p[0]–p[m] first, its apex tried in
 * order) so that no diagonal joins two crossings of one cube face. First solution found.
 */
function triangulate(p: number[], sameFace: (u: number, v: number) => boolean, out: number[][]): boolean {
  const m = p.length - 1;
  if (m === 2) {
    out.push([p[0]!, p[1]!, p[2]!]);
    return true;
  }
  for (let k = 1; k < m; k++) {
    if (k > 1 && sameFace(p[0]!, p[k]!)) continue;
    if (k < m - 1 && sameFace(p[k]!, p[m]!)) continue;
    const mark = out.length;
    out.push([p[0]!, p[k]!, p[m]!]);
    if ((k === 1 || triangulate(p.slice(0, k + 1), sameFace, out)) && (k === m - 1 || triangulate(p.slice(k), sameFace, out))) return true;
    out.length = mark;
  }
  return false;
}

let cachedTable: CaseTable | null = null;

/** All cases, built once: only decider bits of ambiguous faces are filled (others stay empty). */
export function buildCaseTable(): CaseTable {
  if (cachedTable) return cachedTable;
  const count = new Uint8Array(256 * 64);
  const tris = new Uint8Array(256 * 64 * MC_MAX_TRIS * 3);
  const center = new Uint16Array(256 * 64);
  for (let config = 0; config < 256; config++) {
    const amb = ambiguousFaces(config);
    for (let bits = 0; bits < 64; bits++) {
      if ((bits & ~amb) !== 0) continue;
      const key = (config << 6) | bits;
      const t = caseTriangles(config, bits);
      count[key] = t.tris.length;
      center[key] = t.centerMask;
      t.tris.forEach((tri, i) => tris.set(tri, (key * MC_MAX_TRIS + i) * 3));
    }
  }
  return (cachedTable = { count, tris, center });
}

/** Growable typed array (doubling), so the reference allocates like the WASM version. */
class Grow<T extends Float32Array | Uint32Array> {
  data: T;
  length = 0;
  constructor(private make: (n: number) => T, cap: number) {
    this.data = make(cap);
  }
  reserve(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    const bigger = this.make(Math.max(this.data.length * 2, this.length + extra));
    bigger.set(this.data);
    this.data = bigger;
  }
  result(): T {
    return this.data.slice(0, this.length) as T;
  }
}

/** Marching cubes on a scalar grid; inside = value >= iso. See the file comment and surface.ts marchingCubes(). */
export function refMarchingCubes(grid: ScalarGrid, iso: number): Required<SurfaceMesh> {
  validateGrid(grid, iso, 'refMarchingCubes');
  const table = buildCaseTable();
  const ambiguous = Uint8Array.from({ length: 256 }, (_, c) => ambiguousFaces(c));
  const f = grid.values;
  const [nx, ny, nz] = grid.dims;
  const [ox, oy, oz] = grid.origin;
  const [sx, sy, sz] = grid.spacing;
  const sxy = nx * ny;
  const pos = new Grow((n) => new Float32Array(n), 3 * 1024);
  const nrm = new Grow((n) => new Float32Array(n), 3 * 1024);
  const idx = new Grow((n) => new Uint32Array(n), 3 * 2048);
  let vcount = 0;

  // Vertex ids of crossed edges (-1: not crossed), indexed x + nx*y:
  // x- and y-edges of the previous and current layer, z-edges of the current slab.
  let xPrev = new Int32Array(sxy), xCur = new Int32Array(sxy);
  let yPrev = new Int32Array(sxy), yCur = new Int32Array(sxy);
  const zSlab = new Int32Array(sxy);

  // Field gradient at a grid point: central differences, one-sided at the border.
  const grad = (i: number, j: number, k: number, out: Float64Array, o: number) => {
    const p = i + nx * j + sxy * k;
    out[o] = i === 0 ? (f[p + 1]! - f[p]!) / sx : i === nx - 1 ? (f[p]! - f[p - 1]!) / sx : (f[p + 1]! - f[p - 1]!) / (2 * sx);
    out[o + 1] = j === 0 ? (f[p + nx]! - f[p]!) / sy : j === ny - 1 ? (f[p]! - f[p - nx]!) / sy : (f[p + nx]! - f[p - nx]!) / (2 * sy);
    out[o + 2] = k === 0 ? (f[p + sxy]! - f[p]!) / sz : k === nz - 1 ? (f[p]! - f[p - sxy]!) / sz : (f[p + sxy]! - f[p - sxy]!) / (2 * sz);
  };
  const g = new Float64Array(6);

  // Adds the vertex on the edge from grid point (i,j,k) to its neighbour along axis; returns its id or -1.
  const edgeVertex = (i: number, j: number, k: number, axis: number): number => {
    const p = i + nx * j + sxy * k;
    const q = p + (axis === 0 ? 1 : axis === 1 ? nx : sxy);
    const va = f[p]!, vb = f[q]!;
    if (va >= iso === vb >= iso) return -1;
    let t = (iso - va) / (vb - va);
    if (t < MC_T_EPS) t = MC_T_EPS;
    else if (t > 1 - MC_T_EPS) t = 1 - MC_T_EPS;
    pos.reserve(3);
    nrm.reserve(3);
    const o = 3 * vcount;
    pos.data[o] = ox + sx * (axis === 0 ? i + t : i);
    pos.data[o + 1] = oy + sy * (axis === 1 ? j + t : j);
    pos.data[o + 2] = oz + sz * (axis === 2 ? k + t : k);
    grad(i, j, k, g, 0);
    grad(axis === 0 ? i + 1 : i, axis === 1 ? j + 1 : j, axis === 2 ? k + 1 : k, g, 3);
    const gx = g[0]! + t * (g[3]! - g[0]!), gy = g[1]! + t * (g[4]! - g[1]!), gz = g[2]! + t * (g[5]! - g[2]!);
    const len = Math.sqrt(gx * gx + gy * gy + gz * gz);
    if (len > 0) {
      nrm.data[o] = -gx / len;
      nrm.data[o + 1] = -gy / len;
      nrm.data[o + 2] = -gz / len;
    } else {
      nrm.data[o] = nrm.data[o + 1] = nrm.data[o + 2] = 0;
    }
    pos.length += 3;
    nrm.length += 3;
    return vcount++;
  };

  // Centre vertex of a loop (edges in cmask): mean of its crossings, normalised sum of their normals.
  const centerVertex = (cmask: number): number => {
    let px = 0, py = 0, pz = 0, gx = 0, gy = 0, gz = 0, n = 0;
    for (let e = 0; e < 12; e++) {
      if (((cmask >> e) & 1) === 0) continue;
      const o = 3 * cubeVerts[e]!;
      px += pos.data[o]!;
      py += pos.data[o + 1]!;
      pz += pos.data[o + 2]!;
      gx += nrm.data[o]!;
      gy += nrm.data[o + 1]!;
      gz += nrm.data[o + 2]!;
      n++;
    }
    pos.reserve(3);
    nrm.reserve(3);
    const o = 3 * vcount;
    pos.data[o] = px / n;
    pos.data[o + 1] = py / n;
    pos.data[o + 2] = pz / n;
    const len = Math.sqrt(gx * gx + gy * gy + gz * gz);
    nrm.data[o] = len > 0 ? gx / len : 0;
    nrm.data[o + 1] = len > 0 ? gy / len : 0;
    nrm.data[o + 2] = len > 0 ? gz / len : 0;
    pos.length += 3;
    nrm.length += 3;
    return vcount++;
  };

  const corner = new Float64Array(8);
  const cubeVerts = new Int32Array(13);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx - 1; i++) xCur[i + nx * j] = edgeVertex(i, j, k, 0);
    for (let j = 0; j < ny - 1; j++) for (let i = 0; i < nx; i++) yCur[i + nx * j] = edgeVertex(i, j, k, 1);
    if (k > 0) {
      const kk = k - 1;
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) zSlab[i + nx * j] = edgeVertex(i, j, kk, 2);
      for (let j = 0; j < ny - 1; j++) {
        for (let i = 0; i < nx - 1; i++) {
          const p = i + nx * j + sxy * kk;
          let config = 0;
          for (let c = 0; c < 8; c++) {
            const v = f[p + (c & 1) + nx * ((c >> 1) & 1) + sxy * (c >> 2)]!;
            corner[c] = v - iso;
            if (v >= iso) config |= 1 << c;
          }
          if (config === 0 || config === 255) continue;
          const amb = ambiguous[config]!;
          const key = amb === 0 ? config << 6 : (config << 6) | deciderBits(config, corner, amb);
          const n = table.count[key]!;
          const q = i + nx * j;
          // Edge ids -> vertex ids (see edgeCorners for the numbering).
          cubeVerts[0] = xPrev[q]!;
          cubeVerts[1] = xPrev[q + nx]!;
          cubeVerts[2] = xCur[q]!;
          cubeVerts[3] = xCur[q + nx]!;
          cubeVerts[4] = yPrev[q]!;
          cubeVerts[5] = yPrev[q + 1]!;
          cubeVerts[6] = yCur[q]!;
          cubeVerts[7] = yCur[q + 1]!;
          cubeVerts[8] = zSlab[q]!;
          cubeVerts[9] = zSlab[q + 1]!;
          cubeVerts[10] = zSlab[q + nx]!;
          cubeVerts[11] = zSlab[q + nx + 1]!;
          const cmask = table.center[key]!;
          if (cmask !== 0) cubeVerts[MC_CENTER] = centerVertex(cmask);
          idx.reserve(3 * n);
          const base = key * MC_MAX_TRIS * 3;
          for (let t = 0; t < 3 * n; t++) idx.data[idx.length + t] = cubeVerts[table.tris[base + t]!]!;
          idx.length += 3 * n;
        }
      }
    }
    [xPrev, xCur] = [xCur, xPrev];
    [yPrev, yCur] = [yCur, yPrev];
  }
  return { positions: pos.result(), normals: nrm.result(), indices: idx.result() };
}

/**
 * Asymptotic decider bits (bit f: on ambiguous face f the inside corners connect).
 * The bilinear saddle is inside iff wIn1*wIn2 >= wOut1*wOut2 (w = value - iso):
 * products of a fixed pair are order-free, so both cubes of a face agree exactly.
 */
export function deciderBits(config: number, w: Float64Array, amb = ambiguousFaces(config)): number {
  let bits = 0;
  for (let f = 0; f < 6; f++) {
    if (((amb >> f) & 1) === 0) continue;
    const c = FACE_CORNERS[f]!;
    const s0 = (config >> c[0]) & 1;
    const p02 = w[c[0]]! * w[c[2]]!, p13 = w[c[1]]! * w[c[3]]!;
    if (s0 === 1 ? p02 >= p13 : p13 >= p02) bits |= 1 << f;
  }
  return bits;
}
