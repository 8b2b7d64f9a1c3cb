// refMeshCleanup and refDecimate: plain TypeScript references of asm/mesh (the
// same algorithms, visiting order and float64 arithmetic, so the WASM output
// matches them exactly). Also the "plain TypeScript version" of the mesh
// microbenchmark.
//
// Decimation is Garland–Heckbert quadric edge collapse: each vertex carries the
// area-weighted sum of its faces' plane quadrics (plus heavy planes along
// boundary edges so borders stay put); edges are collapsed cheapest first to the
// point minimising the summed quadric (or the best of the two ends and the
// midpoint when that system is singular). A collapse is refused when it would
// break manifoldness (link condition: the two ends share exactly the one or two
// opposite vertices of the edge's faces, and not a face each over those two; two
// boundary vertices joined through the interior) or when a surviving face would
// flip, fold by more than acos(minNormalDot) or lose all area. Entries go stale
// by vertex version stamps; when the queue runs dry above the target, it is
// rebuilt from the live edges (refused collapses may have become legal).
import { validateCleanupOptions, validateDecimateOptions, validateMesh, type CleanupOptions, type CleanupResult, type DecimateOptions, type DecimateResult, type SurfaceMesh } from './surface.ts';

/** Twice the area of face (a,b,c) in float64 (sqrt of the squared cross product). */
function doubleArea(p: ArrayLike<number>, a: number, b: number, c: number): number {
  const ux = p[3 * b]! - p[3 * a]!, uy = p[3 * b + 1]! - p[3 * a + 1]!, uz = p[3 * b + 2]! - p[3 * a + 2]!;
  const vx = p[3 * c]! - p[3 * a]!, vy = p[3 * c + 1]! - p[3 * a + 1]!, vz = p[3 * c + 2]! - p[3 * a + 2]!;
  const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
  return Math.sqrt(nx * nx + ny * ny + nz * nz);
}

/**
 * Cleanup: drops degenerate faces (repeated index or exactly zero area),
 * duplicate faces (same three vertices in any order; the first is kept),
 * components (faces connected through shared vertices) with fewer than
 * minComponentFaces faces or less than minComponentAreaFraction of the total
 * area, then vertices no face uses. Face and vertex order are kept.
 */
export function refMeshCleanup(mesh: SurfaceMesh, options: CleanupOptions = {}): CleanupResult {
  validateMesh(mesh, 'refMeshCleanup');
  const { minComponentFaces, minComponentAreaFraction } = validateCleanupOptions(options, 'refMeshCleanup');
  const p = mesh.positions, I = mesh.indices;
  const V = p.length / 3, F = I.length / 3;
  const keep = new Uint8Array(F);
  let degenerateFaces = 0, duplicateFaces = 0;
  for (let f = 0; f < F; f++) {
    const a = I[3 * f]!, b = I[3 * f + 1]!, c = I[3 * f + 2]!;
    if (a === b || b === c || a === c || doubleArea(p, a, b, c) === 0) degenerateFaces++;
    else keep[f] = 1;
  }
  // Duplicates: faces bucketed by their smallest vertex (CSR), compared within the bucket.
  const start = new Int32Array(V + 1);
  const lo = (f: number) => Math.min(I[3 * f]!, I[3 * f + 1]!, I[3 * f + 2]!);
  const hi = (f: number) => Math.max(I[3 * f]!, I[3 * f + 1]!, I[3 * f + 2]!);
  const mid = (f: number) => I[3 * f]! + I[3 * f + 1]! + I[3 * f + 2]! - lo(f) - hi(f);
  for (let f = 0; f < F; f++) if (keep[f]) start[lo(f) + 1]!++;
  for (let v = 0; v < V; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, V);
  const bucket = new Int32Array(start[V]!);
  for (let f = 0; f < F; f++) if (keep[f]) bucket[fill[lo(f)]!++] = f;
  for (let v = 0; v < V; v++) {
    for (let i = start[v]!; i < start[v + 1]!; i++) {
      const f = bucket[i]!;
      if (!keep[f]) continue;
      for (let j = i + 1; j < start[v + 1]!; j++) {
        const g = bucket[j]!;
        if (keep[g] && mid(g) === mid(f) && hi(g) === hi(f)) {
          keep[g] = 0;
          duplicateFaces++;
        }
      }
    }
  }
  // Components: union-find over vertices (the smaller root wins, so it is order-free).
  const parent = new Int32Array(V);
  for (let v = 0; v < V; v++) parent[v] = v;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const unite = (a: number, b: number) => {
    const ra = find(a), rb = find(b);
    if (ra < rb) parent[rb] = ra;
    else if (rb < ra) parent[ra] = rb;
  };
  for (let f = 0; f < F; f++) {
    if (!keep[f]) continue;
    unite(I[3 * f]!, I[3 * f + 1]!);
    unite(I[3 * f]!, I[3 * f + 2]!);
  }
  const compFaces = new Int32Array(V), compArea = new Float64Array(V);
  let totalArea = 0;
  for (let f = 0; f < F; f++) {
    if (!keep[f]) continue;
    const r = find(I[3 * f]!);
    const area = 0.5 * doubleArea(p, I[3 * f]!, I[3 * f + 1]!, I[3 * f + 2]!);
    compFaces[r]!++;
    compArea[r]! += area;
    totalArea += area;
  }
  let components = 0, removedComponents = 0, removedComponentFaces = 0;
  const dropRoot = new Uint8Array(V);
  for (let v = 0; v < V; v++) {
    if (compFaces[v] === 0) continue;
    components++;
    if (compFaces[v]! < minComponentFaces || compArea[v]! < minComponentAreaFraction * totalArea) {
      dropRoot[v] = 1;
      removedComponents++;
      removedComponentFaces += compFaces[v]!;
    }
  }
  // Compact faces, then vertices in order of first index.
  const newIndex = new Int32Array(V).fill(-1);
  let outF = 0;
  for (let f = 0; f < F; f++) {
    if (!keep[f] || dropRoot[find(I[3 * f]!)]) continue;
    keep[f] = 2;
    outF++;
    for (let s = 0; s < 3; s++) newIndex[I[3 * f + s]!] = 0;
  }
  let outV = 0;
  for (let v = 0; v < V; v++) if (newIndex[v] === 0) newIndex[v] = outV++;
  const positions = new Float32Array(3 * outV), vertexSource = new Uint32Array(outV), indices = new Uint32Array(3 * outF);
  for (let v = 0; v < V; v++) {
    const n = newIndex[v]!;
    if (n < 0) continue;
    vertexSource[n] = v;
    positions[3 * n] = p[3 * v]!;
    positions[3 * n + 1] = p[3 * v + 1]!;
    positions[3 * n + 2] = p[3 * v + 2]!;
  }
  let o = 0;
  for (let f = 0; f < F; f++) if (keep[f] === 2) for (let s = 0; s < 3; s++) indices[o++] = newIndex[I[3 * f + s]!]!;
  const out: CleanupResult = {
    positions,
    indices,
    vertexSource,
    stats: { degenerateFaces, duplicateFaces, components, removedComponents, removedComponentFaces, unreferencedVertices: V - outV },
  };
  if (mesh.normals) {
    const nrm = new Float32Array(3 * outV);
    for (let n = 0; n < outV; n++) for (let k = 0; k < 3; k++) nrm[3 * n + k] = mesh.normals[3 * vertexSource[n]! + k]!;
    out.normals = nrm;
  }
  return out;
}

/** Weight of the planes that hold boundary edges in place, per unit squared edge length. */
export const BOUNDARY_WEIGHT = 100;

/** Binary min-heap of candidate collapses, ordered by (cost, push sequence). */
class CollapseHeap {
  cost = new Float64Array(1024);
  u = new Int32Array(1024);
  v = new Int32Array(1024);
  verU = new Int32Array(1024);
  verV = new Int32Array(1024);
  seq = new Int32Array(1024);
  size = 0;
  private counter = 0;

  private less(i: number, j: number): boolean {
    const a = this.cost[i]!, b = this.cost[j]!;
    return a < b || (a === b && this.seq[i]! < this.seq[j]!);
  }
  private swap(i: number, j: number): void {
    for (const arr of [this.cost, this.u, this.v, this.verU, this.verV, this.seq]) {
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
    }
  }
  push(cost: number, u: number, v: number, verU: number, verV: number): void {
    if (this.size === this.cost.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.cost = grow(this.cost);
      this.u = grow(this.u);
      this.v = grow(this.v);
      this.verU = grow(this.verU);
      this.verV = grow(this.verV);
      this.seq = grow(this.seq);
    }
    let i = this.size++;
    this.cost[i] = cost;
    this.u[i] = u;
    this.v[i] = v;
    this.verU[i] = verU;
    this.verV[i] = verV;
    this.seq[i] = this.counter++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  /** Moves the minimum to slot `size` (read it there) and shrinks the heap. */
  pop(): number {
    const last = --this.size;
    this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return last;
  }
}

/** Quadric error of point (x,y,z) under q[o..o+9] = (a11 a12 a13 a14 a22 a23 a24 a33 a34 a44). */
function quadricError(q: Float64Array, o: number, x: number, y: number, z: number): number {
  return (
    q[o]! * x * x + 2 * q[o + 1]! * x * y + 2 * q[o + 2]! * x * z + 2 * q[o + 3]! * x +
    q[o + 4]! * y * y + 2 * q[o + 5]! * y * z + 2 * q[o + 6]! * y +
    q[o + 7]! * z * z + 2 * q[o + 8]! * z + q[o + 9]!
  );
}

/** Adds w * plane (nx,ny,nz,d) (unit normal) to the quadric at q[o..]. */
function addPlane(q: Float64Array, o: number, nx: number, ny: number, nz: number, d: number, w: number): void {
  q[o] = q[o]! + w * nx * nx;
  q[o + 1] = q[o + 1]! + w * nx * ny;
  q[o + 2] = q[o + 2]! + w * nx * nz;
  q[o + 3] = q[o + 3]! + w * nx * d;
  q[o + 4] = q[o + 4]! + w * ny * ny;
  q[o + 5] = q[o + 5]! + w * ny * nz;
  q[o + 6] = q[o + 6]! + w * ny * d;
  q[o + 7] = q[o + 7]! + w * nz * nz;
  q[o + 8] = q[o + 8]! + w * nz * d;
  q[o + 9] = q[o + 9]! + w * d * d;
}

/**
 * Quadric edge-collapse decimation to at most options.targetFaces faces (or as
 * close as legal collapses allow). See the file comment.
 */
export function refDecimate(mesh: SurfaceMesh, options: DecimateOptions): DecimateResult {
  validateMesh(mesh, 'refDecimate');
  const { targetFaces, minNormalDot } = validateDecimateOptions(options, 'refDecimate');
  const I = mesh.indices;
  const V = mesh.positions.length / 3, F = I.length / 3;
  const pos = Float64Array.from(mesh.positions);
  const idx = Int32Array.from(I);
  const faceAlive = new Uint8Array(F).fill(1);
  const vertAlive = new Uint8Array(V).fill(1);
  const version = new Int32Array(V);
  const onBoundary = new Uint8Array(V);
  const q = new Float64Array(10 * V);
  // Corner lists: the corners (3f + s) of each vertex, linked; dead faces are skipped lazily.
  const head = new Int32Array(V).fill(-1);
  const nextCorner = new Int32Array(3 * F);
  for (let c = 3 * F - 1; c >= 0; c--) {
    const v = idx[c]!;
    nextCorner[c] = head[v]!;
    head[v] = c;
  }
  const mark = new Int32Array(V);
  let stamp = 0;
  let liveFaces = F;

  // Face plane quadrics, area-weighted.
  for (let f = 0; f < F; f++) {
    const a = idx[3 * f]!, b = idx[3 * f + 1]!, c = idx[3 * f + 2]!;
    const ux = pos[3 * b]! - pos[3 * a]!, uy = pos[3 * b + 1]! - pos[3 * a + 1]!, uz = pos[3 * b + 2]! - pos[3 * a + 2]!;
    const vx = pos[3 * c]! - pos[3 * a]!, vy = pos[3 * c + 1]! - pos[3 * a + 1]!, vz = pos[3 * c + 2]! - pos[3 * a + 2]!;
    let nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    if (len === 0) continue;
    nx /= len;
    ny /= len;
    nz /= len;
    const d = -(nx * pos[3 * a]! + ny * pos[3 * a + 1]! + nz * pos[3 * a + 2]!);
    const w = 0.5 * len;
    addPlane(q, 10 * a, nx, ny, nz, d, w);
    addPlane(q, 10 * b, nx, ny, nz, d, w);
    addPlane(q, 10 * c, nx, ny, nz, d, w);
  }
  // Directed edge a->b of face f is a boundary edge when no face has b->a.
  const hasDirected = (a: number, b: number): boolean => {
    for (let c = head[a]!; c !== -1; c = nextCorner[c]!) {
      const f = (c / 3) | 0;
      if (faceAlive[f] && idx[3 * f + ((c - 3 * f + 1) % 3)] === b) return true;
    }
    return false;
  };
  for (let f = 0; f < F; f++) {
    for (let s = 0; s < 3; s++) {
      const a = idx[3 * f + s]!, b = idx[3 * f + ((s + 1) % 3)]!;
      if (hasDirected(b, a)) continue;
      onBoundary[a] = onBoundary[b] = 1;
      // Plane through the edge, perpendicular to the face.
      const c = idx[3 * f + ((s + 2) % 3)]!;
      const ex = pos[3 * b]! - pos[3 * a]!, ey = pos[3 * b + 1]! - pos[3 * a + 1]!, ez = pos[3 * b + 2]! - pos[3 * a + 2]!;
      const wx = pos[3 * c]! - pos[3 * a]!, wy = pos[3 * c + 1]! - pos[3 * a + 1]!, wz = pos[3 * c + 2]! - pos[3 * a + 2]!;
      const fx = ey * wz - ez * wy, fy = ez * wx - ex * wz, fz = ex * wy - ey * wx;
      let nx = ey * fz - ez * fy, ny = ez * fx - ex * fz, nz = ex * fy - ey * fx;
      const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (len === 0) continue;
      nx /= len;
      ny /= len;
      nz /= len;
      const d = -(nx * pos[3 * a]! + ny * pos[3 * a + 1]! + nz * pos[3 * a + 2]!);
      const w = BOUNDARY_WEIGHT * (ex * ex + ey * ey + ez * ez);
      addPlane(q, 10 * a, nx, ny, nz, d, w);
      addPlane(q, 10 * b, nx, ny, nz, d, w);
    }
  }

  // Collapse target of edge (u,v): the summed quadric's minimiser, else the best of u, v, midpoint.
  const qs = new Float64Array(10);
  const target = new Float64Array(4); // x, y, z, cost
  const evaluate = (u: number, v: number): void => {
    for (let k = 0; k < 10; k++) qs[k] = q[10 * u + k]! + q[10 * v + k]!;
    const a11 = qs[0]!, a12 = qs[1]!, a13 = qs[2]!, a22 = qs[4]!, a23 = qs[5]!, a33 = qs[7]!;
    const b1 = -qs[3]!, b2 = -qs[6]!, b3 = -qs[8]!;
    const c11 = a22 * a33 - a23 * a23, c12 = a13 * a23 - a12 * a33, c13 = a12 * a23 - a13 * a22;
    const det = a11 * c11 + a12 * c12 + a13 * c13;
    const tr = a11 + a22 + a33;
    if (Math.abs(det) > 1e-9 * tr * tr * tr && tr > 0) {
      const c22 = a11 * a33 - a13 * a13, c23 = a12 * a13 - a11 * a23, c33 = a11 * a22 - a12 * a12;
      const x = (c11 * b1 + c12 * b2 + c13 * b3) / det;
      const y = (c12 * b1 + c22 * b2 + c23 * b3) / det;
      const z = (c13 * b1 + c23 * b2 + c33 * b3) / det;
      target[0] = x;
      target[1] = y;
      target[2] = z;
      target[3] = quadricError(qs, 0, x, y, z);
      return;
    }
    const ux = pos[3 * u]!, uy = pos[3 * u + 1]!, uz = pos[3 * u + 2]!;
    const vx = pos[3 * v]!, vy = pos[3 * v + 1]!, vz = pos[3 * v + 2]!;
    const mx = 0.5 * (ux + vx), my = 0.5 * (uy + vy), mz = 0.5 * (uz + vz);
    const eu = quadricError(qs, 0, ux, uy, uz), ev = quadricError(qs, 0, vx, vy, vz), em = quadricError(qs, 0, mx, my, mz);
    if (em <= eu && em <= ev) {
      target[0] = mx;
      target[1] = my;
      target[2] = mz;
      target[3] = em;
    } else if (eu <= ev) {
      target[0] = ux;
      target[1] = uy;
      target[2] = uz;
      target[3] = eu;
    } else {
      target[0] = vx;
      target[1] = vy;
      target[2] = vz;
      target[3] = ev;
    }
  };

  const heap = new CollapseHeap();
  const pushEdge = (u: number, v: number): void => {
    evaluate(u, v);
    heap.push(target[3]!, u, v, version[u]!, version[v]!);
  };
  const fillHeap = (): void => {
    heap.size = 0;
    for (let f = 0; f < F; f++) {
      if (!faceAlive[f]) continue;
      for (let s = 0; s < 3; s++) {
        const a = idx[3 * f + s]!, b = idx[3 * f + ((s + 1) % 3)]!;
        if (a < b || !hasDirected(b, a)) pushEdge(a, b);
      }
    }
  };

  /** Link condition (see file comment); true when collapsing u-v keeps the mesh manifold. */
  const linkOk = (u: number, v: number): boolean => {
    stamp++;
    for (let c = head[u]!; c !== -1; c = nextCorner[c]!) {
      const f = (c / 3) | 0;
      if (!faceAlive[f]) continue;
      for (let s = 0; s < 3; s++) mark[idx[3 * f + s]!] = stamp;
    }
    // Opposite vertices of the faces on the edge.
    let shared = 0, o1 = -1, o2 = -1;
    for (let c = head[v]!; c !== -1; c = nextCorner[c]!) {
      const f = (c / 3) | 0;
      if (!faceAlive[f]) continue;
      const a = idx[3 * f]!, b = idx[3 * f + 1]!, d = idx[3 * f + 2]!;
      if (a !== u && b !== u && d !== u) continue;
      const opp = a !== u && a !== v ? a : b !== u && b !== v ? b : d;
      shared++;
      if (shared === 1) o1 = opp;
      else o2 = opp;
    }
    if (shared === 0 || shared > 2) return false;
    if (shared === 2 && onBoundary[u] && onBoundary[v]) return false; // would pinch two borders together
    // Common neighbours must be exactly the opposite vertices.
    stamp++;
    const common = stamp;
    let count = 0;
    for (let c = head[v]!; c !== -1; c = nextCorner[c]!) {
      const f = (c / 3) | 0;
      if (!faceAlive[f]) continue;
      for (let s = 0; s < 3; s++) {
        const w = idx[3 * f + s]!;
        if (w === u || w === v || mark[w] !== common - 1) continue;
        mark[w] = common;
        count++;
        if (w !== o1 && w !== o2) return false;
      }
    }
    if (count !== shared) return false;
    if (shared === 2 && faceWith(u, o1, o2) && faceWith(v, o1, o2)) return false; // tetrahedron-like: would make a double face
    return true;
  };
  const faceWith = (a: number, b: number, c: number): boolean => {
    for (let k = head[a]!; k !== -1; k = nextCorner[k]!) {
      const f = (k / 3) | 0;
      if (!faceAlive[f]) continue;
      const x = idx[3 * f]!, y = idx[3 * f + 1]!, z = idx[3 * f + 2]!;
      if ((x === b || y === b || z === b) && (x === c || y === c || z === c)) return true;
    }
    return false;
  };

  /** Whether moving `moving` to (px,py,pz) keeps every face of it that does not contain `other` unflipped, unfolded, non-degenerate. */
  const foldOk = (moving: number, other: number, px: number, py: number, pz: number): boolean => {
    for (let c = head[moving]!; c !== -1; c = nextCorner[c]!) {
      const f = (c / 3) | 0;
      if (!faceAlive[f]) continue;
      const s = c - 3 * f;
      const b = idx[3 * f + ((s + 1) % 3)]!, d = idx[3 * f + ((s + 2) % 3)]!;
      if (b === other || d === other) continue;
      const bx = pos[3 * b]!, by = pos[3 * b + 1]!, bz = pos[3 * b + 2]!;
      const ex = pos[3 * d]! - bx, ey = pos[3 * d + 1]! - by, ez = pos[3 * d + 2]! - bz;
      // Normals of (moving, b, d) before and after, as (b - m) x (d - b) ... both with edge b->d fixed.
      const ox = bx - pos[3 * moving]!, oy = by - pos[3 * moving + 1]!, oz = bz - pos[3 * moving + 2]!;
      const nx = bx - px, ny = by - py, nz = bz - pz;
      const n0x = oy * ez - oz * ey, n0y = oz * ex - ox * ez, n0z = ox * ey - oy * ex;
      const n1x = ny * ez - nz * ey, n1y = nz * ex - nx * ez, n1z = nx * ey - ny * ex;
      const l0 = n0x * n0x + n0y * n0y + n0z * n0z, l1 = n1x * n1x + n1y * n1y + n1z * n1z;
      if (!(l1 > 1e-12 * l0)) return false;
      const dot = n0x * n1x + n0y * n1y + n0z * n1z;
      if (dot < minNormalDot * Math.sqrt(l0 * l1)) return false;
    }
    return true;
  };

  let collapses = 0, rejectedTopology = 0, rejectedFold = 0, maxError = 0;
  for (let pass = 0; pass < 8 && liveFaces > targetFaces; pass++) {
    fillHeap();
    const before = collapses;
    while (liveFaces > targetFaces && heap.size > 0) {
      const e = heap.pop();
      const u = heap.u[e]!, v = heap.v[e]!;
      if (!vertAlive[u] || !vertAlive[v] || version[u] !== heap.verU[e] || version[v] !== heap.verV[e]) continue;
      if (!linkOk(u, v)) {
        rejectedTopology++;
        continue;
      }
      evaluate(u, v);
      const px = target[0]!, py = target[1]!, pz = target[2]!, cost = target[3]!;
      if (!foldOk(u, v, px, py, pz) || !foldOk(v, u, px, py, pz)) {
        rejectedFold++;
        continue;
      }
      // Collapse v into u.
      for (let c = head[v]!; c !== -1; ) {
        const nextC = nextCorner[c]!;
        const f = (c / 3) | 0;
        if (faceAlive[f]) {
          if (idx[3 * f] === u || idx[3 * f + 1] === u || idx[3 * f + 2] === u) {
            faceAlive[f] = 0;
            liveFaces--;
          } else {
            idx[c] = u;
            nextCorner[c] = head[u]!;
            head[u] = c;
          }
        }
        c = nextC;
      }
      head[v] = -1;
      vertAlive[v] = 0;
      pos[3 * u] = px;
      pos[3 * u + 1] = py;
      pos[3 * u + 2] = pz;
      for (let k = 0; k < 10; k++) q[10 * u + k] = q[10 * u + k]! + q[10 * v + k]!;
      if (onBoundary[v]) onBoundary[u] = 1;
      version[u]!++;
      collapses++;
      if (cost > maxError) maxError = cost;
      // New candidates around u.
      stamp++;
      for (let c = head[u]!; c !== -1; c = nextCorner[c]!) {
        const f = (c / 3) | 0;
        if (!faceAlive[f]) continue;
        for (let s = 0; s < 3; s++) {
          const w = idx[3 * f + s]!;
          if (w === u || mark[w] === stamp) continue;
          mark[w] = stamp;
          pushEdge(u, w);
        }
      }
    }
    if (collapses === before) break;
  }

  // Compact: live faces in order, vertices in order of index.
  const newIndex = new Int32Array(V).fill(-1);
  for (let f = 0; f < F; f++) if (faceAlive[f]) for (let s = 0; s < 3; s++) newIndex[idx[3 * f + s]!] = 0;
  let outV = 0;
  for (let v = 0; v < V; v++) if (newIndex[v] === 0) newIndex[v] = outV++;
  const positions = new Float32Array(3 * outV);
  for (let v = 0; v < V; v++) {
    const n = newIndex[v]!;
    if (n < 0) continue;
    positions[3 * n] = pos[3 * v]!;
    positions[3 * n + 1] = pos[3 * v + 1]!;
    positions[3 * n + 2] = pos[3 * v + 2]!;
  }
  const indices = new Uint32Array(3 * liveFaces);
  let o = 0;
  for (let f = 0; f < F; f++) if (faceAlive[f]) for (let s = 0; s < 3; s++) indices[o++] = newIndex[idx[3 * f + s]!]!;
  return { positions, indices, stats: { collapses, rejectedTopology, rejectedFold, maxError } };
}
