// refUvUnwrap: the plain-TypeScript reference of asm/uv_unwrap (same algorithm,
// same order of every floating-point operation, float64 throughout), so the
// WASM build can be checked against it chart for chart. It is also the "plain
// TypeScript version" the microbenchmark sets beside the WASM build.
// Steps and options: see uv_unwrap.ts. No trigonometry in here (only sqrt,
// which is correctly rounded everywhere): angle thresholds arrive as cosines,
// rotations are built from edge directions, so both builds agree to the bit.
import { CHART_LSCM, CHART_PLANAR, UV_STATUS_TOO_MANY_CHARTS, resolveUvUnwrapOptions, splitPositions, uvStatusMessage, validateUvMesh, type UvMesh, type UvUnwrapOptions, type UvUnwrapParams, type UvUnwrapResult } from './uv_unwrap.ts';

/** Per-mesh state shared by the steps. */
interface Geo {
  V: number;
  F: number;
  /** [V,3] f64 positions. */
  P: Float64Array;
  /** [F,3] vertex indices. */
  I: Int32Array;
  /** [F,3] unit face normals (0 for degenerate faces). */
  N: Float64Array;
  /** [F] face areas. */
  A: Float64Array;
  /** [F,3] face centroids. */
  C: Float64Array;
  /** [F] 1 when the face's area is below the degeneracy threshold. */
  degenerate: Uint8Array;
  /** [F,3] face across edge (I[3f+k], I[3f+(k+1)%3]), or -1 (border, non-manifold or degenerate edge). */
  adj: Int32Array;
  totalArea: number;
}

// --- geometry and adjacency --------------------------------------------------

function buildGeo(mesh: UvMesh): Geo {
  const V = mesh.positions.length / 3;
  const F = mesh.indices.length / 3;
  const P = new Float64Array(V * 3);
  for (let i = 0; i < V * 3; i++) P[i] = mesh.positions[i]!;
  const I = new Int32Array(F * 3);
  for (let i = 0; i < F * 3; i++) I[i] = mesh.indices[i]!;
  const N = new Float64Array(F * 3);
  const A = new Float64Array(F);
  const C = new Float64Array(F * 3);
  const degenerate = new Uint8Array(F);
  let totalArea = 0;
  for (let f = 0; f < F; f++) {
    const a = 3 * I[3 * f]!, b = 3 * I[3 * f + 1]!, c = 3 * I[3 * f + 2]!;
    const e1x = P[b]! - P[a]!, e1y = P[b + 1]! - P[a + 1]!, e1z = P[b + 2]! - P[a + 2]!;
    const e2x = P[c]! - P[a]!, e2y = P[c + 1]! - P[a + 1]!, e2z = P[c + 2]! - P[a + 2]!;
    const nx = e1y * e2z - e1z * e2y, ny = e1z * e2x - e1x * e2z, nz = e1x * e2y - e1y * e2x;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    A[f] = 0.5 * len;
    totalArea += 0.5 * len;
    if (len > 0) {
      N[3 * f] = nx / len;
      N[3 * f + 1] = ny / len;
      N[3 * f + 2] = nz / len;
    }
    C[3 * f] = (P[a]! + P[b]! + P[c]!) / 3;
    C[3 * f + 1] = (P[a + 1]! + P[b + 1]! + P[c + 1]!) / 3;
    C[3 * f + 2] = (P[a + 2]! + P[b + 2]! + P[c + 2]!) / 3;
  }
  // Degenerate: area below 1e-10 of the mean face area (its normal is noise).
  const eps = F > 0 ? (1e-10 * totalArea) / F : 0;
  for (let f = 0; f < F; f++) {
    if (A[f]! <= eps) {
      degenerate[f] = 1;
      N[3 * f] = 0;
      N[3 * f + 1] = 0;
      N[3 * f + 2] = 0;
    }
  }
  return { V, F, P, I, N, A, C, degenerate, adj: buildAdjacency(V, F, I), totalArea };
}

/** Face adjacency through vertex -> face lists; an edge is interior only when exactly two faces hold it. */
function buildAdjacency(V: number, F: number, I: Int32Array): Int32Array {
  const start = new Int32Array(V + 1);
  for (let i = 0; i < F * 3; i++) start[I[i]! + 1]!++;
  for (let v = 0; v < V; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, V);
  const faces = new Int32Array(F * 3);
  for (let i = 0; i < F * 3; i++) faces[fill[I[i]!]!++] = (i / 3) | 0;
  const adj = new Int32Array(F * 3).fill(-1);
  for (let f = 0; f < F; f++) {
    for (let k = 0; k < 3; k++) {
      const a = I[3 * f + k]!, b = I[3 * f + ((k + 1) % 3)]!;
      if (a === b) continue;
      let other = -1, count = 0;
      for (let j = start[a]!; j < start[a + 1]!; j++) {
        const g = faces[j]!;
        if (g === f) continue;
        if (I[3 * g] === b || I[3 * g + 1] === b || I[3 * g + 2] === b) {
          other = g;
          count++;
        }
      }
      if (count === 1) adj[3 * f + k] = other;
    }
  }
  return adj;
}

// --- a min-heap of (key, face), ties broken by face index --------------------

class FaceHeap {
  key: Float64Array;
  face: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.key = new Float64Array(capacity);
    this.face = new Int32Array(capacity);
  }
  private less(i: number, j: number): boolean {
    const a = this.key[i]!, b = this.key[j]!;
    return a < b || (a === b && this.face[i]! < this.face[j]!);
  }
  private swap(i: number, j: number): void {
    const k = this.key[i]!;
    this.key[i] = this.key[j]!;
    this.key[j] = k;
    const f = this.face[i]!;
    this.face[i] = this.face[j]!;
    this.face[j] = f;
  }
  push(key: number, face: number): void {
    if (this.size === this.key.length) {
      const k = new Float64Array(this.size * 2);
      k.set(this.key);
      this.key = k;
      const f = new Int32Array(this.size * 2);
      f.set(this.face);
      this.face = f;
    }
    let i = this.size++;
    this.key[i] = key;
    this.face[i] = face;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  /** Removes the smallest entry and returns its face. */
  pop(): number {
    const top = this.face[0]!;
    this.size--;
    if (this.size > 0) {
      this.key[0] = this.key[this.size]!;
      this.face[0] = this.face[this.size]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.size && this.less(l, m)) m = l;
        if (r < this.size && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

// --- segmentation --------------------------------------------------------------

/** Border-smoothing passes after merging (each moves border "teeth" to the chart that surrounds them). */
const SMOOTH_PASSES = 4;

/** Chart of each face after region growing, merging and border smoothing, numbered by first face. */
function segment(g: Geo, p: UvUnwrapParams): { chartOf: Int32Array; chartCount: number } {
  const { F, N, A, C, adj, degenerate } = g;
  const chartOf = new Int32Array(F).fill(-1);
  const nsum = new Float64Array(F * 3); // per chart: Σ area · normal
  const area = new Float64Array(F);
  const count = new Int32Array(F);
  // Faces of each chart as a linked list (merging concatenates lists).
  const head = new Int32Array(F).fill(-1);
  const tail = new Int32Array(F).fill(-1);
  const next = new Int32Array(F).fill(-1);
  const heap = new FaceHeap(64);
  const meanArea = F > 0 ? g.totalArea / F : 0;
  let charts = 0;

  for (let seed = 0; seed < F; seed++) {
    if (chartOf[seed]! >= 0) continue;
    const c = charts++;
    const sx = C[3 * seed]!, sy = C[3 * seed + 1]!, sz = C[3 * seed + 2]!;
    heap.size = 0;
    let f = seed;
    for (;;) {
      // add f to chart c
      chartOf[f] = c;
      nsum[3 * c]! += A[f]! * N[3 * f]!;
      nsum[3 * c + 1]! += A[f]! * N[3 * f + 1]!;
      nsum[3 * c + 2]! += A[f]! * N[3 * f + 2]!;
      area[c]! += A[f]!;
      count[c]!++;
      if (head[c]! < 0) head[c] = f;
      else next[tail[c]!] = f;
      tail[c] = f;
      // queue its free neighbours, cheapest = closest to the chart's normal and seed
      const mx = nsum[3 * c]!, my = nsum[3 * c + 1]!, mz = nsum[3 * c + 2]!;
      const mlen = Math.sqrt(mx * mx + my * my + mz * mz);
      const radius = Math.sqrt(area[c]! > meanArea ? area[c]! : meanArea);
      for (let k = 0; k < 3; k++) {
        const h = adj[3 * f + k]!;
        if (h < 0 || chartOf[h]! >= 0) continue;
        let dev = 0;
        if (mlen > 0 && degenerate[h] === 0) dev = 1 - (N[3 * h]! * mx + N[3 * h + 1]! * my + N[3 * h + 2]! * mz) / mlen;
        const dx = C[3 * h]! - sx, dy = C[3 * h + 1]! - sy, dz = C[3 * h + 2]! - sz;
        const dist = Math.sqrt(dx * dx + dy * dy + dz * dz);
        heap.push(dev + (p.compactness * dist) / (radius > 0 ? radius : 1), h);
      }
      // next candidate inside the normal cone of the chart as it is now
      f = -1;
      while (heap.size > 0) {
        const h = heap.pop();
        if (chartOf[h]! >= 0) continue;
        if (p.maxChartFaces > 0 && count[c]! >= p.maxChartFaces) break;
        if (degenerate[h] === 0) {
          const nx = nsum[3 * c]!, ny = nsum[3 * c + 1]!, nz = nsum[3 * c + 2]!;
          const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
          if (len > 0 && (N[3 * h]! * nx + N[3 * h + 1]! * ny + N[3 * h + 2]! * nz) / len < p.cosMaxChartAngle) continue;
        }
        f = h;
        break;
      }
      if (f < 0) break;
    }
  }

  // Merge tiny charts, smallest first, into the neighbour with the longest shared
  // border among those whose mean normal all their faces stay close to.
  const minArea = p.mergeAreaFraction * g.totalArea;
  const tiny: number[] = [];
  for (let c = 0; c < charts; c++) if (area[c]! < minArea) tiny.push(c);
  const order = Int32Array.from(tiny);
  sortByKey(order, area);
  const shared = new Float64Array(charts);
  const touched = new Int32Array(charts);
  const alive = new Uint8Array(charts).fill(1);
  for (let i = 0; i < order.length; i++) {
    const c = order[i]!;
    if (!alive[c] || !(area[c]! < minArea)) continue;
    let nTouched = 0;
    for (let f = head[c]!; f >= 0; f = next[f]!) {
      for (let k = 0; k < 3; k++) {
        const h = adj[3 * f + k]!;
        if (h < 0) continue;
        const t = chartOf[h]!;
        if (t === c) continue;
        if (shared[t] === 0) touched[nTouched++] = t;
        shared[t]! += edgeLength(g, f, k);
      }
    }
    let best = -1;
    let bestLen = 0;
    for (let j = 0; j < nTouched; j++) {
      const t = touched[j]!;
      const len = shared[t]!;
      shared[t] = 0;
      if (best >= 0 && (len < bestLen || (len === bestLen && t > best))) continue;
      const nx = nsum[3 * t]!, ny = nsum[3 * t + 1]!, nz = nsum[3 * t + 2]!;
      const nlen = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (!(nlen > 0)) continue;
      let ok = true;
      for (let f = head[c]!; f >= 0 && ok; f = next[f]!) {
        if (degenerate[f] === 0 && (N[3 * f]! * nx + N[3 * f + 1]! * ny + N[3 * f + 2]! * nz) / nlen < p.cosMergeMaxAngle) ok = false;
      }
      if (ok) {
        best = t;
        bestLen = len;
      }
    }
    if (best < 0) continue;
    for (let f = head[c]!; f >= 0; f = next[f]!) chartOf[f] = best;
    next[tail[best]!] = head[c]!;
    tail[best] = tail[c]!;
    nsum[3 * best]! += nsum[3 * c]!;
    nsum[3 * best + 1]! += nsum[3 * c + 1]!;
    nsum[3 * best + 2]! += nsum[3 * c + 2]!;
    area[best]! += area[c]!;
    count[best]! += count[c]!;
    alive[c] = 0;
  }

  // Smooth ragged borders: a face held by its chart through one edge only and
  // bordering another chart on two edges moves there (when within that chart's
  // cone). Removing such a leaf never disconnects its chart.
  for (let pass = 0; pass < SMOOTH_PASSES; pass++) {
    let moved = 0;
    for (let f = 0; f < F; f++) {
      const c = chartOf[f]!;
      let own = 0, target = -1, onTarget = 0;
      for (let k = 0; k < 3; k++) {
        const h = adj[3 * f + k]!;
        if (h < 0) continue;
        const t = chartOf[h]!;
        if (t === c) own++;
        else if (t === target) onTarget++;
        else if (onTarget === 0) {
          target = t;
          onTarget = 1;
        }
      }
      if (own !== 1 || onTarget < 2 || count[c]! <= 1) continue;
      if (degenerate[f] === 0) {
        const nx = nsum[3 * target]!, ny = nsum[3 * target + 1]!, nz = nsum[3 * target + 2]!;
        const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
        if (!(len > 0) || (N[3 * f]! * nx + N[3 * f + 1]! * ny + N[3 * f + 2]! * nz) / len < p.cosMaxChartAngle) continue;
      }
      chartOf[f] = target;
      nsum[3 * c]! -= A[f]! * N[3 * f]!;
      nsum[3 * c + 1]! -= A[f]! * N[3 * f + 1]!;
      nsum[3 * c + 2]! -= A[f]! * N[3 * f + 2]!;
      nsum[3 * target]! += A[f]! * N[3 * f]!;
      nsum[3 * target + 1]! += A[f]! * N[3 * f + 1]!;
      nsum[3 * target + 2]! += A[f]! * N[3 * f + 2]!;
      count[c]!--;
      count[target]!++;
      moved++;
    }
    if (moved === 0) break;
  }

  // Renumber in order of each chart's first face.
  const renum = new Int32Array(charts).fill(-1);
  let n = 0;
  for (let f = 0; f < F; f++) {
    const c = chartOf[f]!;
    if (renum[c]! < 0) renum[c] = n++;
    chartOf[f] = renum[c]!;
  }
  return { chartOf, chartCount: n };
}

function edgeLength(g: Geo, f: number, k: number): number {
  const a = 3 * g.I[3 * f + k]!, b = 3 * g.I[3 * f + ((k + 1) % 3)]!;
  const dx = g.P[b]! - g.P[a]!, dy = g.P[b + 1]! - g.P[a + 1]!, dz = g.P[b + 2]! - g.P[a + 2]!;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** Sorts chart ids ascending by key, ties by id. */
function sortByKey(items: Int32Array, key: Float64Array): void {
  heapSort(items, items.length, (a, b) => key[a]! < key[b]! || (key[a] === key[b] && a < b));
}

// --- parameterisation ----------------------------------------------------------

/** Output being built: vertices per (input vertex, chart), uv before packing. */
interface Atlas {
  vertexMap: Int32Array;
  uv: Float64Array;
  vertexCount: number;
  /** [F,3] output vertex of each face corner. */
  corner: Int32Array;
  faceChart: Int32Array;
  /** Per chart: first output vertex, vertex count, method. */
  chartStart: number[];
  chartVerts: number[];
  chartMethod: number[];
  /** Faces of every chart, concatenated in chart order. */
  chartFaceStart: number[];
  chartFaces: Int32Array;
  chartFaceFill: number;
}

/** Scratch arrays reused across charts. */
interface Scratch {
  localOf: Int32Array; // [V] local index in the current piece or -1
  localVerts: Int32Array; // [V]
  cornerLocal: Int32Array; // [F,3]
  u: Float64Array; // [2V] planar uv
  x: Float64Array; // [2V] lscm uv
  mark: Int32Array; // [F] piece stamp
  label: Int32Array; // [F]
  stamp: number;
}

/** L2 stretch of a piece (Sander et al.), normalised to UV area = 3D area; Infinity when a face flips. */
function pieceStretch(g: Geo, faces: Int32Array, s: Scratch, uv: Float64Array): number {
  let sumL2 = 0, sum3 = 0, sumUv = 0;
  for (let i = 0; i < faces.length; i++) {
    const f = faces[i]!;
    if (g.degenerate[f] === 1) continue;
    const l1 = s.cornerLocal[3 * i]!, l2 = s.cornerLocal[3 * i + 1]!, l3 = s.cornerLocal[3 * i + 2]!;
    const s1 = uv[2 * l1]!, t1 = uv[2 * l1 + 1]!, s2 = uv[2 * l2]!, t2 = uv[2 * l2 + 1]!, s3 = uv[2 * l3]!, t3 = uv[2 * l3 + 1]!;
    const a2 = (s2 - s1) * (t3 - t1) - (s3 - s1) * (t2 - t1);
    if (!(a2 > 0)) return Infinity;
    const q1 = 3 * g.I[3 * f]!, q2 = 3 * g.I[3 * f + 1]!, q3 = 3 * g.I[3 * f + 2]!;
    let ss = 0, tt = 0;
    for (let k = 0; k < 3; k++) {
      const d2 = g.P[q2 + k]! - g.P[q1 + k]!, d3 = g.P[q3 + k]! - g.P[q1 + k]!;
      const Ss = (d2 * (t3 - t1) + d3 * (t1 - t2)) / a2;
      const St = (d2 * (s1 - s3) + d3 * (s2 - s1)) / a2;
      ss += Ss * Ss;
      tt += St * St;
    }
    sumL2 += (ss + tt) * 0.5 * g.A[f]!;
    sum3 += g.A[f]!;
    sumUv += a2 * 0.5;
  }
  if (!(sum3 > 0)) return 1;
  return Math.sqrt(sumL2 / sum3) * Math.sqrt(sumUv / sum3);
}

/** Projection onto the piece's mean plane, into s.u. */
function planarProject(g: Geo, faces: Int32Array, nLocal: number, s: Scratch): void {
  let nx = 0, ny = 0, nz = 0;
  for (let i = 0; i < faces.length; i++) {
    const f = faces[i]!;
    nx += g.A[f]! * g.N[3 * f]!;
    ny += g.A[f]! * g.N[3 * f + 1]!;
    nz += g.A[f]! * g.N[3 * f + 2]!;
  }
  let len = Math.sqrt(nx * nx + ny * ny + nz * nz);
  if (len > 0) {
    nx /= len;
    ny /= len;
    nz /= len;
  } else {
    nx = 0;
    ny = 0;
    nz = 1;
  }
  // tangent: the coordinate axis least aligned with the normal, made orthogonal
  const ax = Math.abs(nx), ay = Math.abs(ny), az = Math.abs(nz);
  let tx = 0, ty = 0, tz = 0;
  if (ax <= ay && ax <= az) tx = 1;
  else if (ay <= az) ty = 1;
  else tz = 1;
  const d = tx * nx + ty * ny + tz * nz;
  tx -= d * nx;
  ty -= d * ny;
  tz -= d * nz;
  len = Math.sqrt(tx * tx + ty * ty + tz * tz);
  tx /= len;
  ty /= len;
  tz /= len;
  const bx = ny * tz - nz * ty, by = nz * tx - nx * tz, bz = nx * ty - ny * tx;
  let cx = 0, cy = 0, cz = 0;
  for (let l = 0; l < nLocal; l++) {
    const v = 3 * s.localVerts[l]!;
    cx += g.P[v]!;
    cy += g.P[v + 1]!;
    cz += g.P[v + 2]!;
  }
  cx /= nLocal;
  cy /= nLocal;
  cz /= nLocal;
  for (let l = 0; l < nLocal; l++) {
    const v = 3 * s.localVerts[l]!;
    const px = g.P[v]! - cx, py = g.P[v + 1]! - cy, pz = g.P[v + 2]! - cz;
    s.u[2 * l] = px * tx + py * ty + pz * tz;
    s.u[2 * l + 1] = px * bx + py * by + pz * bz;
  }
}

/**
 * Least-squares conformal map (Lévy et al. 2002) into s.x, started from and
 * pinned at two vertices of the planar projection s.u. Per triangle, with local
 * coordinates z_j in its own plane and d_j = z_{j+1} − z_{j−1}, the energy is
 * |Σ_j U_j d_j|² / area (U_j = u_j + i v_j): zero exactly when the map is
 * conformal and orientation-preserving. Minimised by Jacobi-preconditioned
 * conjugate gradients on the normal equations, matrix-free (one pass over the
 * triangles per product).
 */
function lscm(g: Geo, faces: Int32Array, nLocal: number, s: Scratch, p: UvUnwrapParams): void {
  const nf = faces.length;
  const n2 = 2 * nLocal;
  const coef = new Float64Array(nf * 7); // a0,b0,a1,b1,a2,b2,weight
  const diag = new Float64Array(n2);
  for (let i = 0; i < nf; i++) {
    const f = faces[i]!;
    if (g.degenerate[f] === 1) continue;
    const p0 = 3 * g.I[3 * f]!, p1 = 3 * g.I[3 * f + 1]!, p2 = 3 * g.I[3 * f + 2]!;
    const e1x = g.P[p1]! - g.P[p0]!, e1y = g.P[p1 + 1]! - g.P[p0 + 1]!, e1z = g.P[p1 + 2]! - g.P[p0 + 2]!;
    const l1 = Math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z);
    const ex = e1x / l1, ey = e1y / l1, ez = e1z / l1;
    const nx = g.N[3 * f]!, ny = g.N[3 * f + 1]!, nz = g.N[3 * f + 2]!;
    const fx = ny * ez - nz * ey, fy = nz * ex - nx * ez, fz = nx * ey - ny * ex;
    const e2x = g.P[p2]! - g.P[p0]!, e2y = g.P[p2 + 1]! - g.P[p0 + 1]!, e2z = g.P[p2 + 2]! - g.P[p0 + 2]!;
    const z2x = e2x * ex + e2y * ey + e2z * ez, z2y = e2x * fx + e2y * fy + e2z * fz;
    // d0 = z1 − z2, d1 = z2 − z0, d2 = z0 − z1 with z0 = 0, z1 = (l1, 0)
    const o = 7 * i;
    coef[o] = l1 - z2x;
    coef[o + 1] = -z2y;
    coef[o + 2] = z2x;
    coef[o + 3] = z2y;
    coef[o + 4] = -l1;
    coef[o + 5] = 0;
    const w = 1 / g.A[f]!;
    coef[o + 6] = w;
    for (let j = 0; j < 3; j++) {
      const a = coef[o + 2 * j]!, b = coef[o + 2 * j + 1]!;
      const l = s.cornerLocal[3 * i + j]!;
      diag[2 * l]! += w * (a * a + b * b);
      diag[2 * l + 1]! += w * (a * a + b * b);
    }
  }
  // pins: the vertex farthest from the centroid, then the one farthest from it
  // (the planar uv is centred on the centroid)
  let pin0 = 0, best = -1;
  for (let l = 0; l < nLocal; l++) {
    const d = s.u[2 * l]! * s.u[2 * l]! + s.u[2 * l + 1]! * s.u[2 * l + 1]!;
    if (d > best) {
      best = d;
      pin0 = l;
    }
  }
  let pin1 = 0;
  best = -1;
  for (let l = 0; l < nLocal; l++) {
    const du = s.u[2 * l]! - s.u[2 * pin0]!, dv = s.u[2 * l + 1]! - s.u[2 * pin0 + 1]!;
    const d = du * du + dv * dv;
    if (d > best) {
      best = d;
      pin1 = l;
    }
  }
  const x = s.x;
  for (let k = 0; k < n2; k++) x[k] = s.u[k]!;
  const invD = new Float64Array(n2);
  for (let k = 0; k < n2; k++) invD[k] = diag[k]! > 0 ? 1 / diag[k]! : 0;
  invD[2 * pin0] = 0;
  invD[2 * pin0 + 1] = 0;
  invD[2 * pin1] = 0;
  invD[2 * pin1 + 1] = 0;
  const r = new Float64Array(n2);
  const z = new Float64Array(n2);
  const d = new Float64Array(n2);
  const q = new Float64Array(n2);
  lscmApply(faces.length, coef, s.cornerLocal, x, r);
  for (let k = 0; k < n2; k++) r[k] = invD[k]! > 0 ? -r[k]! : 0;
  let rz = 0;
  for (let k = 0; k < n2; k++) {
    z[k] = r[k]! * invD[k]!;
    d[k] = z[k]!;
    rz += r[k]! * z[k]!;
  }
  const stop = rz * p.cgTolerance * p.cgTolerance;
  for (let it = 0; it < p.cgMaxIterations && rz > stop; it++) {
    lscmApply(faces.length, coef, s.cornerLocal, d, q);
    let dq = 0;
    for (let k = 0; k < n2; k++) {
      if (invD[k]! === 0) q[k] = 0;
      dq += d[k]! * q[k]!;
    }
    if (!(dq > 0)) break;
    const alpha = rz / dq;
    let rzNew = 0;
    for (let k = 0; k < n2; k++) {
      x[k]! += alpha * d[k]!;
      r[k]! -= alpha * q[k]!;
      z[k] = r[k]! * invD[k]!;
      rzNew += r[k]! * z[k]!;
    }
    const beta = rzNew / rz;
    rz = rzNew;
    for (let k = 0; k < n2; k++) d[k] = z[k]! + beta * d[k]!;
  }
}

/** out = Mᵀ M x: the LSCM normal-equation operator, one pass over the triangles. */
function lscmApply(nf: number, coef: Float64Array, cornerLocal: Int32Array, x: Float64Array, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < nf; i++) {
    const o = 7 * i;
    const w = coef[o + 6]!;
    if (w === 0) continue;
    const l0 = 2 * cornerLocal[3 * i]!, l1 = 2 * cornerLocal[3 * i + 1]!, l2 = 2 * cornerLocal[3 * i + 2]!;
    const a0 = coef[o]!, b0 = coef[o + 1]!, a1 = coef[o + 2]!, b1 = coef[o + 3]!, a2 = coef[o + 4]!, b2 = coef[o + 5]!;
    const u0 = x[l0]!, v0 = x[l0 + 1]!, u1 = x[l1]!, v1 = x[l1 + 1]!, u2 = x[l2]!, v2 = x[l2 + 1]!;
    const re = (u0 * a0 - v0 * b0 + (u1 * a1 - v1 * b1) + (u2 * a2 - v2 * b2)) * w;
    const im = (u0 * b0 + v0 * a0 + (u1 * b1 + v1 * a1) + (u2 * b2 + v2 * a2)) * w;
    out[l0]! += a0 * re + b0 * im;
    out[l0 + 1]! += a0 * im - b0 * re;
    out[l1]! += a1 * re + b1 * im;
    out[l1 + 1]! += a1 * im - b1 * re;
    out[l2]! += a2 * re + b2 * im;
    out[l2 + 1]! += a2 * im - b2 * re;
  }
}

/** Splits a piece in two by growing from its two most distant faces in turn (breadth first). */
function splitPiece(g: Geo, faces: Int32Array, s: Scratch): [Int32Array, Int32Array] {
  const n = faces.length;
  const stamp = ++s.stamp;
  let cx = 0, cy = 0, cz = 0;
  for (let i = 0; i < n; i++) {
    const f = faces[i]!;
    s.mark[f] = stamp;
    s.label[f] = -1;
    cx += g.C[3 * f]!;
    cy += g.C[3 * f + 1]!;
    cz += g.C[3 * f + 2]!;
  }
  cx /= n;
  cy /= n;
  cz /= n;
  const seedA = farthestFace(g, faces, cx, cy, cz, -1);
  const seedB = farthestFace(g, faces, g.C[3 * seedA]!, g.C[3 * seedA + 1]!, g.C[3 * seedA + 2]!, seedA);
  const queue = new Int32Array(2 * n);
  // queue A grows from the front of `queue`, B from the middle
  let headA = 0, tailA = 0, headB = n, tailB = n;
  queue[tailA++] = seedA;
  s.label[seedA] = 0;
  queue[tailB++] = seedB;
  s.label[seedB] = 1;
  while (headA < tailA || headB < tailB) {
    if (headA < tailA) {
      const f = queue[headA++]!;
      for (let k = 0; k < 3; k++) {
        const h = g.adj[3 * f + k]!;
        if (h >= 0 && s.mark[h] === stamp && s.label[h]! < 0) {
          s.label[h] = 0;
          queue[tailA++] = h;
        }
      }
    }
    if (headB < tailB) {
      const f = queue[headB++]!;
      for (let k = 0; k < 3; k++) {
        const h = g.adj[3 * f + k]!;
        if (h >= 0 && s.mark[h] === stamp && s.label[h]! < 0) {
          s.label[h] = 1;
          queue[tailB++] = h;
        }
      }
    }
  }
  let nb = 0;
  for (let i = 0; i < n; i++) if (s.label[faces[i]!] === 1) nb++;
  const a = new Int32Array(n - nb);
  const b = new Int32Array(nb);
  let ia = 0, ib = 0;
  for (let i = 0; i < n; i++) {
    const f = faces[i]!;
    if (s.label[f] === 1) b[ib++] = f;
    else a[ia++] = f;
  }
  return [a, b];
}

/** The face whose centroid is farthest from (x,y,z) (first on ties), other than `skip`. */
function farthestFace(g: Geo, faces: Int32Array, x: number, y: number, z: number, skip: number): number {
  let best = -1, bestD = -1;
  for (let i = 0; i < faces.length; i++) {
    const f = faces[i]!;
    if (f === skip) continue;
    const dx = g.C[3 * f]! - x, dy = g.C[3 * f + 1]! - y, dz = g.C[3 * f + 2]! - z;
    const d = dx * dx + dy * dy + dz * dz;
    if (d > bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

/** Parameterises every chart (splitting where needed) into `atlas`. */
function parameterise(g: Geo, chartOf: Int32Array, chartCount: number, p: UvUnwrapParams): Atlas {
  const { V, F } = g;
  const atlas: Atlas = {
    vertexMap: new Int32Array(3 * F),
    uv: new Float64Array(6 * F),
    vertexCount: 0,
    corner: new Int32Array(3 * F),
    faceChart: new Int32Array(F),
    chartStart: [],
    chartVerts: [],
    chartMethod: [],
    chartFaceStart: [],
    chartFaces: new Int32Array(F),
    chartFaceFill: 0,
  };
  const s: Scratch = {
    localOf: new Int32Array(V).fill(-1),
    localVerts: new Int32Array(V),
    cornerLocal: new Int32Array(3 * F),
    u: new Float64Array(2 * V),
    x: new Float64Array(2 * V),
    mark: new Int32Array(F),
    label: new Int32Array(F),
    stamp: 0,
  };
  // faces of each segmented chart, ascending
  const start = new Int32Array(chartCount + 1);
  for (let f = 0; f < F; f++) start[chartOf[f]! + 1]!++;
  for (let c = 0; c < chartCount; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, chartCount);
  const byChart = new Int32Array(F);
  for (let f = 0; f < F; f++) byChart[fill[chartOf[f]!]!++] = f;

  const stack: Int32Array[] = [];
  for (let c = 0; c < chartCount; c++) {
    stack.push(byChart.slice(start[c]!, start[c + 1]!));
    while (stack.length > 0) {
      const faces = stack.pop()!;
      // local vertices in order of first use
      let nLocal = 0;
      for (let i = 0; i < faces.length; i++) {
        for (let k = 0; k < 3; k++) {
          const v = g.I[3 * faces[i]! + k]!;
          if (s.localOf[v]! < 0) {
            s.localOf[v] = nLocal;
            s.localVerts[nLocal++] = v;
          }
          s.cornerLocal[3 * i + k] = s.localOf[v]!;
        }
      }
      for (let l = 0; l < nLocal; l++) s.localOf[s.localVerts[l]!] = -1;

      planarProject(g, faces, nLocal, s);
      const planar = pieceStretch(g, faces, s, s.u);
      let method = -1;
      if (planar <= p.planarMaxStretch) method = CHART_PLANAR;
      else {
        let conformal = Infinity;
        if (nLocal >= 3) {
          lscm(g, faces, nLocal, s, p);
          conformal = pieceStretch(g, faces, s, s.x);
        }
        if (conformal <= p.maxStretch && conformal <= planar) method = CHART_LSCM;
        else if (planar <= p.maxStretch) method = CHART_PLANAR;
      }
      if (method < 0 && faces.length > 1) {
        const [a, b] = splitPiece(g, faces, s);
        stack.push(b, a); // a first
        continue;
      }
      if (method < 0) method = CHART_PLANAR; // a lone face: its own plane (unreachable: one face is flat)
      emitChart(atlas, g, faces, nLocal, s, method === CHART_LSCM ? s.x : s.u, method);
    }
  }
  return atlas;
}

function emitChart(atlas: Atlas, g: Geo, faces: Int32Array, nLocal: number, s: Scratch, uv: Float64Array, method: number): void {
  const chart = atlas.chartStart.length;
  const base = atlas.vertexCount;
  atlas.chartStart.push(base);
  atlas.chartVerts.push(nLocal);
  atlas.chartMethod.push(method);
  atlas.chartFaceStart.push(atlas.chartFaceFill);
  for (let l = 0; l < nLocal; l++) {
    atlas.vertexMap[base + l] = s.localVerts[l]!;
    atlas.uv[2 * (base + l)] = uv[2 * l]!;
    atlas.uv[2 * (base + l) + 1] = uv[2 * l + 1]!;
  }
  atlas.vertexCount += nLocal;
  for (let i = 0; i < faces.length; i++) {
    const f = faces[i]!;
    atlas.faceChart[f] = chart;
    atlas.chartFaces[atlas.chartFaceFill++] = f;
    for (let k = 0; k < 3; k++) atlas.corner[3 * f + k] = base + s.cornerLocal[3 * i + k]!;
  }
}

// --- packing -------------------------------------------------------------------

/**
 * Scales each chart to its 3D area, rotates it to its minimal-area bounding box
 * (lying flat: width >= height), then shelf-packs the boxes by decreasing height
 * at the largest scale (texels per unit length, bisected) that fits the atlas.
 * Writes final uvs in [0,1] into atlas.uv. Returns false if nothing fits.
 */
function pack(atlas: Atlas, g: Geo, p: UvUnwrapParams): boolean {
  const nc = atlas.chartStart.length;
  const W = new Float64Array(nc), H = new Float64Array(nc);
  const uv = atlas.uv;
  const hull = new Int32Array(2 * atlas.vertexCount + 2);
  const sorted = new Int32Array(atlas.vertexCount);
  for (let c = 0; c < nc; c++) {
    const v0 = atlas.chartStart[c]!, nv = atlas.chartVerts[c]!;
    const f0 = atlas.chartFaceStart[c]!, f1 = c + 1 < nc ? atlas.chartFaceStart[c + 1]! : atlas.chartFaceFill;
    let area3 = 0, areaUv = 0;
    for (let i = f0; i < f1; i++) {
      const f = atlas.chartFaces[i]!;
      const a = atlas.corner[3 * f]!, b = atlas.corner[3 * f + 1]!, cc = atlas.corner[3 * f + 2]!;
      area3 += g.A[f]!;
      areaUv += 0.5 * Math.abs((uv[2 * b]! - uv[2 * a]!) * (uv[2 * cc + 1]! - uv[2 * a + 1]!) - (uv[2 * cc]! - uv[2 * a]!) * (uv[2 * b + 1]! - uv[2 * a + 1]!));
    }
    const scale = area3 > 0 && areaUv > 0 ? Math.sqrt(area3 / areaUv) : 1;
    for (let k = 2 * v0; k < 2 * (v0 + nv); k++) uv[k]! *= scale;
    // convex hull (monotone chain) of the chart's uvs
    for (let i = 0; i < nv; i++) sorted[i] = v0 + i;
    sortPoints(sorted, nv, uv);
    let h = 0;
    for (let i = 0; i < nv; i++) {
      const q = sorted[i]!;
      while (h >= 2 && cross(uv, hull[h - 2]!, hull[h - 1]!, q) <= 0) h--;
      hull[h++] = q;
    }
    const lower = h + 1;
    for (let i = nv - 2; i >= 0; i--) {
      const q = sorted[i]!;
      while (h >= lower && cross(uv, hull[h - 2]!, hull[h - 1]!, q) <= 0) h--;
      hull[h++] = q;
    }
    if (h > 1) h--; // the last point repeats the first
    // the hull edge whose direction gives the smallest bounding box
    let ex = 1, ey = 0, bestArea = Infinity;
    for (let i = 0; i < h; i++) {
      const a = hull[i]!, b = hull[i + 1 < h ? i + 1 : 0]!;
      const dx = uv[2 * b]! - uv[2 * a]!, dy = uv[2 * b + 1]! - uv[2 * a + 1]!;
      const len = Math.sqrt(dx * dx + dy * dy);
      if (!(len > 0)) continue;
      const cx = dx / len, cy = dy / len;
      let minA = Infinity, maxA = -Infinity, minB = Infinity, maxB = -Infinity;
      for (let j = 0; j < h; j++) {
        const q = hull[j]!;
        const pa = uv[2 * q]! * cx + uv[2 * q + 1]! * cy;
        const pb = uv[2 * q + 1]! * cx - uv[2 * q]! * cy;
        if (pa < minA) minA = pa;
        if (pa > maxA) maxA = pa;
        if (pb < minB) minB = pb;
        if (pb > maxB) maxB = pb;
      }
      const area = (maxA - minA) * (maxB - minB);
      if (area < bestArea) {
        bestArea = area;
        ex = cx;
        ey = cy;
      }
    }
    let minA = Infinity, maxA = -Infinity, minB = Infinity, maxB = -Infinity;
    for (let i = v0; i < v0 + nv; i++) {
      const a = uv[2 * i]! * ex + uv[2 * i + 1]! * ey;
      const b = uv[2 * i + 1]! * ex - uv[2 * i]! * ey;
      uv[2 * i] = a;
      uv[2 * i + 1] = b;
      if (a < minA) minA = a;
      if (a > maxA) maxA = a;
      if (b < minB) minB = b;
      if (b > maxB) maxB = b;
    }
    const w = maxA - minA, hh = maxB - minB;
    if (hh > w) {
      // stand it on its side: (a, b) -> (maxB − b, a − minA), a rotation by 90°
      for (let i = v0; i < v0 + nv; i++) {
        const a = uv[2 * i]!, b = uv[2 * i + 1]!;
        uv[2 * i] = maxB - b;
        uv[2 * i + 1] = a - minA;
      }
      W[c] = hh;
      H[c] = w;
    } else {
      for (let i = v0; i < v0 + nv; i++) {
        uv[2 * i]! -= minA;
        uv[2 * i + 1]! -= minB;
      }
      W[c] = w;
      H[c] = hh;
    }
  }

  // tallest first, then widest, then chart order
  const order = new Int32Array(nc);
  for (let c = 0; c < nc; c++) order[c] = c;
  const key = new Float64Array(nc);
  for (let c = 0; c < nc; c++) key[c] = -H[c]!;
  sortByKeyThen(order, key, W);
  const size = p.textureSize, pad = p.padding;
  const X = new Float64Array(nc), Y = new Float64Array(nc);
  if (!shelfFits(order, W, H, 0, size, pad, X, Y)) return false;
  let total = 0, maxDim = 0;
  for (let c = 0; c < nc; c++) {
    total += W[c]! * H[c]!;
    if (W[c]! > maxDim) maxDim = W[c]!;
    if (H[c]! > maxDim) maxDim = H[c]!;
  }
  let hi = maxDim > 0 ? size / maxDim : 1;
  if (total > 0 && size / Math.sqrt(total) < hi) hi = size / Math.sqrt(total);
  let scale = hi;
  if (!shelfFits(order, W, H, hi, size, pad, X, Y)) {
    let lo = 0;
    for (let it = 0; it < 40; it++) {
      const mid = 0.5 * (lo + hi);
      if (shelfFits(order, W, H, mid, size, pad, X, Y)) lo = mid;
      else hi = mid;
    }
    scale = lo;
    shelfFits(order, W, H, scale, size, pad, X, Y);
  }
  for (let c = 0; c < nc; c++) {
    const v0 = atlas.chartStart[c]!, nv = atlas.chartVerts[c]!;
    const ox = X[c]! + pad, oy = Y[c]! + pad;
    for (let i = v0; i < v0 + nv; i++) {
      uv[2 * i] = (ox + uv[2 * i]! * scale) / size;
      uv[2 * i + 1] = (oy + uv[2 * i + 1]! * scale) / size;
    }
  }
  return true;
}

/** Shelf packing at `scale` texels per unit: writes each box's corner (texels) into X, Y; false if it overflows. */
function shelfFits(order: Int32Array, W: Float64Array, H: Float64Array, scale: number, size: number, pad: number, X: Float64Array, Y: Float64Array): boolean {
  let x = 0, y = 0, shelf = 0;
  for (let i = 0; i < order.length; i++) {
    const c = order[i]!;
    const w = Math.ceil(W[c]! * scale) + 2 * pad, h = Math.ceil(H[c]! * scale) + 2 * pad;
    if (w > size) return false;
    if (x + w > size) {
      y += shelf;
      x = 0;
      shelf = 0;
    }
    X[c] = x;
    Y[c] = y;
    x += w;
    if (h > shelf) shelf = h;
  }
  return y + shelf <= size;
}

function cross(uv: Float64Array, o: number, a: number, b: number): number {
  return (uv[2 * a]! - uv[2 * o]!) * (uv[2 * b + 1]! - uv[2 * o + 1]!) - (uv[2 * a + 1]! - uv[2 * o + 1]!) * (uv[2 * b]! - uv[2 * o]!);
}

/** Sorts the first n vertex ids of `items` by (u, v, id) (heap sort). */
function sortPoints(items: Int32Array, n: number, uv: Float64Array): void {
  const lessThan = (a: number, b: number) => uv[2 * a]! < uv[2 * b]! || (uv[2 * a] === uv[2 * b] && (uv[2 * a + 1]! < uv[2 * b + 1]! || (uv[2 * a + 1] === uv[2 * b + 1] && a < b)));
  heapSort(items, n, lessThan);
}

/** Sorts chart ids by key ascending, then key2 descending, then id. */
function sortByKeyThen(items: Int32Array, key: Float64Array, key2: Float64Array): void {
  const lessThan = (a: number, b: number) => key[a]! < key[b]! || (key[a] === key[b] && (key2[a]! > key2[b]! || (key2[a] === key2[b] && a < b)));
  heapSort(items, items.length, lessThan);
}

/** Heap sort under a strict total order (so every correct sort gives the same result). */
function heapSort(items: Int32Array, n: number, lessThan: (a: number, b: number) => boolean): void {
  const sift = (start: number, end: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= end) break;
      let m = l;
      if (l + 1 < end && lessThan(items[m]!, items[l + 1]!)) m = l + 1;
      if (!lessThan(items[i]!, items[m]!)) break;
      const t = items[i]!;
      items[i] = items[m]!;
      items[m] = t;
      i = m;
    }
  };
  for (let i = (n >> 1) - 1; i >= 0; i--) sift(i, n);
  for (let end = n - 1; end > 0; end--) {
    const t = items[0]!;
    items[0] = items[end]!;
    items[end] = t;
    sift(0, end);
  }
}

// --- entry ---------------------------------------------------------------------

/** The CPU reference of asm/uv_unwrap's `unwrap` (see uv_unwrap.ts for the result layout). */
export function refUvUnwrap(mesh: UvMesh, options?: UvUnwrapOptions): UvUnwrapResult {
  validateUvMesh(mesh);
  const p = resolveUvUnwrapOptions(options);
  const g = buildGeo(mesh);
  const { chartOf, chartCount } = segment(g, p);
  const atlas = parameterise(g, chartOf, chartCount, p);
  if (!pack(atlas, g, p)) throw new Error(uvStatusMessage(UV_STATUS_TOO_MANY_CHARTS, p));
  const Vo = atlas.vertexCount;
  const vertexMap = new Uint32Array(Vo);
  for (let i = 0; i < Vo; i++) vertexMap[i] = atlas.vertexMap[i]!;
  const uvs = new Float32Array(2 * Vo);
  for (let i = 0; i < 2 * Vo; i++) uvs[i] = atlas.uv[i]!;
  return {
    positions: splitPositions(mesh.positions, vertexMap),
    vertexMap,
    indices: Uint32Array.from(atlas.corner),
    uvs,
    faceChart: Uint32Array.from(atlas.faceChart),
    chartCount: atlas.chartStart.length,
    chartMethod: Uint8Array.from(atlas.chartMethod),
    textureSize: p.textureSize,
    padding: p.padding,
  };
}
