// Mesh cleanup and quadric edge-collapse decimation (AssemblyScript). The same
// algorithms, visiting order and float64 arithmetic as refMeshCleanup and
// refDecimate (harness/mesh/mesh_ref.ts, which explains them), so the output
// matches them exactly. Memory protocol: see harness/mesh/wasm.ts.

const BOUNDARY_WEIGHT: f64 = 100;

// ------------------------------------------------------------ memory protocol

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function reset(): void {
  heap.reset();
}

let outV: i32 = 0;
let outF: i32 = 0;
let outPos: usize = 0;
let outIdx: usize = 0;
let outSrc: usize = 0;
const stats = memory.data(8 * 8); // f64 [8]

export function outVertexCount(): i32 {
  return outV;
}
export function outFaceCount(): i32 {
  return outF;
}
export function outPositions(): usize {
  return outPos;
}
export function outIndices(): usize {
  return outIdx;
}
export function outVertexSource(): usize {
  return outSrc;
}
export function outStats(): usize {
  return stats;
}

// ------------------------------------------------------------ typed access

@inline function geti(b: usize, i: i32): i32 {
  return load<i32>(b + (<usize>i << 2));
}
@inline function seti(b: usize, i: i32, v: i32): void {
  store<i32>(b + (<usize>i << 2), v);
}
@inline function getf(b: usize, i: i32): f64 {
  return load<f64>(b + (<usize>i << 3));
}
@inline function setf(b: usize, i: i32, v: f64): void {
  store<f64>(b + (<usize>i << 3), v);
}
@inline function getu8(b: usize, i: i32): i32 {
  return <i32>load<u8>(b + <usize>i);
}
@inline function setu8(b: usize, i: i32, v: i32): void {
  store<u8>(b + <usize>i, <u8>v);
}
@inline function getf32(b: usize, i: i32): f64 {
  return <f64>load<f32>(b + (<usize>i << 2));
}
function allocZero(bytes: usize): usize {
  const p = heap.alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}
function allocFill(count: i32, v: i32): usize {
  const p = heap.alloc(<usize>count << 2);
  for (let i = 0; i < count; i++) seti(p, i, v);
  return p;
}

/** Twice the area of face (a,b,c), positions f32 [V,3] at p. */
function doubleArea(p: usize, a: i32, b: i32, c: i32): f64 {
  const ux = getf32(p, 3 * b) - getf32(p, 3 * a), uy = getf32(p, 3 * b + 1) - getf32(p, 3 * a + 1), uz = getf32(p, 3 * b + 2) - getf32(p, 3 * a + 2);
  const vx = getf32(p, 3 * c) - getf32(p, 3 * a), vy = getf32(p, 3 * c + 1) - getf32(p, 3 * a + 1), vz = getf32(p, 3 * c + 2) - getf32(p, 3 * a + 2);
  const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
  return Math.sqrt(nx * nx + ny * ny + nz * nz);
}

// ------------------------------------------------------------ cleanup

let parent: usize = 0;

function find(x: i32): i32 {
  while (geti(parent, x) != x) {
    seti(parent, x, geti(parent, geti(parent, x)));
    x = geti(parent, x);
  }
  return x;
}

function unite(a: i32, b: i32): void {
  const ra = find(a), rb = find(b);
  if (ra < rb) seti(parent, rb, ra);
  else if (rb < ra) seti(parent, ra, rb);
}

@inline function min3(a: i32, b: i32, c: i32): i32 {
  return min(a, min(b, c));
}
@inline function max3(a: i32, b: i32, c: i32): i32 {
  return max(a, max(b, c));
}

/** refMeshCleanup: positions f32 [V,3], indices u32 [F,3]. Returns the output face count. */
export function meshCleanup(p: usize, V: i32, I: usize, F: i32, minComponentFaces: i32, minComponentAreaFraction: f64): i32 {
  const keep = allocZero(<usize>F);
  let degenerateFaces = 0, duplicateFaces = 0;
  for (let f = 0; f < F; f++) {
    const a = geti(I, 3 * f), b = geti(I, 3 * f + 1), c = geti(I, 3 * f + 2);
    if (a == b || b == c || a == c || doubleArea(p, a, b, c) == 0) degenerateFaces++;
    else setu8(keep, f, 1);
  }
  // Duplicates: faces bucketed by their smallest vertex, compared within the bucket.
  const start = allocZero(<usize>(V + 1) << 2);
  for (let f = 0; f < F; f++) {
    if (!getu8(keep, f)) continue;
    const lo = min3(geti(I, 3 * f), geti(I, 3 * f + 1), geti(I, 3 * f + 2));
    seti(start, lo + 1, geti(start, lo + 1) + 1);
  }
  for (let v = 0; v < V; v++) seti(start, v + 1, geti(start, v + 1) + geti(start, v));
  const fill = heap.alloc(<usize>V << 2);
  memory.copy(fill, start, <usize>V << 2);
  const bucket = heap.alloc(<usize>max(geti(start, V), 1) << 2);
  for (let f = 0; f < F; f++) {
    if (!getu8(keep, f)) continue;
    const lo = min3(geti(I, 3 * f), geti(I, 3 * f + 1), geti(I, 3 * f + 2));
    const at = geti(fill, lo);
    seti(bucket, at, f);
    seti(fill, lo, at + 1);
  }
  for (let v = 0; v < V; v++) {
    const end = geti(start, v + 1);
    for (let i = geti(start, v); i < end; i++) {
      const f = geti(bucket, i);
      if (!getu8(keep, f)) continue;
      const fa = geti(I, 3 * f), fb = geti(I, 3 * f + 1), fc = geti(I, 3 * f + 2);
      const fhi = max3(fa, fb, fc), fmid = fa + fb + fc - min3(fa, fb, fc) - fhi;
      for (let j = i + 1; j < end; j++) {
        const g = geti(bucket, j);
        if (!getu8(keep, g)) continue;
        const ga = geti(I, 3 * g), gb = geti(I, 3 * g + 1), gc = geti(I, 3 * g + 2);
        const ghi = max3(ga, gb, gc), gmid = ga + gb + gc - min3(ga, gb, gc) - ghi;
        if (gmid == fmid && ghi == fhi) {
          setu8(keep, g, 0);
          duplicateFaces++;
        }
      }
    }
  }
  // Components.
  parent = heap.alloc(<usize>V << 2);
  for (let v = 0; v < V; v++) seti(parent, v, v);
  for (let f = 0; f < F; f++) {
    if (!getu8(keep, f)) continue;
    unite(geti(I, 3 * f), geti(I, 3 * f + 1));
    unite(geti(I, 3 * f), geti(I, 3 * f + 2));
  }
  const compFaces = allocZero(<usize>V << 2), compArea = allocZero(<usize>V << 3);
  let totalArea: f64 = 0;
  for (let f = 0; f < F; f++) {
    if (!getu8(keep, f)) continue;
    const r = find(geti(I, 3 * f));
    const area = 0.5 * doubleArea(p, geti(I, 3 * f), geti(I, 3 * f + 1), geti(I, 3 * f + 2));
    seti(compFaces, r, geti(compFaces, r) + 1);
    setf(compArea, r, getf(compArea, r) + area);
    totalArea += area;
  }
  let components = 0, removedComponents = 0, removedComponentFaces = 0;
  const dropRoot = allocZero(<usize>V);
  for (let v = 0; v < V; v++) {
    const n = geti(compFaces, v);
    if (n == 0) continue;
    components++;
    if (n < minComponentFaces || getf(compArea, v) < minComponentAreaFraction * totalArea) {
      setu8(dropRoot, v, 1);
      removedComponents++;
      removedComponentFaces += n;
    }
  }
  const newIndex = allocFill(V, -1);
  let nF = 0;
  for (let f = 0; f < F; f++) {
    if (!getu8(keep, f) || getu8(dropRoot, find(geti(I, 3 * f)))) continue;
    setu8(keep, f, 2);
    nF++;
    for (let s = 0; s < 3; s++) seti(newIndex, geti(I, 3 * f + s), 0);
  }
  let nV = 0;
  for (let v = 0; v < V; v++) if (geti(newIndex, v) == 0) seti(newIndex, v, nV++);
  outPos = heap.alloc(<usize>max(3 * nV, 1) << 2);
  outSrc = heap.alloc(<usize>max(nV, 1) << 2);
  outIdx = heap.alloc(<usize>max(3 * nF, 1) << 2);
  for (let v = 0; v < V; v++) {
    const n = geti(newIndex, v);
    if (n < 0) continue;
    seti(outSrc, n, v);
    memory.copy(outPos + (<usize>(3 * n) << 2), p + (<usize>(3 * v) << 2), 12);
  }
  let o = 0;
  for (let f = 0; f < F; f++) if (getu8(keep, f) == 2) for (let s = 0; s < 3; s++) seti(outIdx, o++, geti(newIndex, geti(I, 3 * f + s)));
  outV = nV;
  outF = nF;
  setf(stats, 0, <f64>degenerateFaces);
  setf(stats, 1, <f64>duplicateFaces);
  setf(stats, 2, <f64>components);
  setf(stats, 3, <f64>removedComponents);
  setf(stats, 4, <f64>removedComponentFaces);
  setf(stats, 5, <f64>(V - nV));
  return nF;
}

// ------------------------------------------------------------ decimation state

let pos: usize = 0; // f64 [V,3]
let idx: usize = 0; // i32 [F,3]
let faceAlive: usize = 0; // u8 [F]
let vertAlive: usize = 0; // u8 [V]
let version: usize = 0; // i32 [V]
let onBoundary: usize = 0; // u8 [V]
let Q: usize = 0; // f64 [V,10]
let head: usize = 0; // i32 [V] first corner
let nextCorner: usize = 0; // i32 [3F]
let mark: usize = 0; // i32 [V]
let stamp: i32 = 0;
let NF: i32 = 0;
let minDot: f64 = 0;
const qs = memory.data(10 * 8); // f64 [10]
let tx: f64 = 0;
let ty: f64 = 0;
let tz: f64 = 0;
let tcost: f64 = 0;

// Heap of candidate collapses (CollapseHeap): parallel arrays, ordered by (cost, seq).
let hCost: usize = 0;
let hU: usize = 0;
let hV: usize = 0;
let hVerU: usize = 0;
let hVerV: usize = 0;
let hSeq: usize = 0;
let hSize: i32 = 0;
let hCap: i32 = 0;
let hCounter: i32 = 0;

@inline function faceOf(c: i32): i32 {
  return c / 3;
}

function hLess(i: i32, j: i32): bool {
  const a = getf(hCost, i), b = getf(hCost, j);
  return a < b || (a == b && geti(hSeq, i) < geti(hSeq, j));
}

@inline function swapI(b: usize, i: i32, j: i32): void {
  const t = geti(b, i);
  seti(b, i, geti(b, j));
  seti(b, j, t);
}

function hSwap(i: i32, j: i32): void {
  const t = getf(hCost, i);
  setf(hCost, i, getf(hCost, j));
  setf(hCost, j, t);
  swapI(hU, i, j);
  swapI(hV, i, j);
  swapI(hVerU, i, j);
  swapI(hVerV, i, j);
  swapI(hSeq, i, j);
}

function hPush(cost: f64, u: i32, v: i32, verU: i32, verV: i32): void {
  if (hSize == hCap) {
    const cap = hCap * 2;
    hCost = heap.realloc(hCost, <usize>cap << 3);
    hU = heap.realloc(hU, <usize>cap << 2);
    hV = heap.realloc(hV, <usize>cap << 2);
    hVerU = heap.realloc(hVerU, <usize>cap << 2);
    hVerV = heap.realloc(hVerV, <usize>cap << 2);
    hSeq = heap.realloc(hSeq, <usize>cap << 2);
    hCap = cap;
  }
  let i = hSize++;
  setf(hCost, i, cost);
  seti(hU, i, u);
  seti(hV, i, v);
  seti(hVerU, i, verU);
  seti(hVerV, i, verV);
  seti(hSeq, i, hCounter++);
  while (i > 0) {
    const par = (i - 1) >> 1;
    if (!hLess(i, par)) break;
    hSwap(i, par);
    i = par;
  }
}

function hPop(): i32 {
  const last = --hSize;
  hSwap(0, last);
  let i = 0;
  for (;;) {
    const l = 2 * i + 1, r = l + 1;
    let m = i;
    if (l < last && hLess(l, m)) m = l;
    if (r < last && hLess(r, m)) m = r;
    if (m == i) break;
    hSwap(i, m);
    i = m;
  }
  return last;
}

function quadricError(q: usize, x: f64, y: f64, z: f64): f64 {
  return (
    getf(q, 0) * x * x + 2 * getf(q, 1) * x * y + 2 * getf(q, 2) * x * z + 2 * getf(q, 3) * x +
    getf(q, 4) * y * y + 2 * getf(q, 5) * y * z + 2 * getf(q, 6) * y +
    getf(q, 7) * z * z + 2 * getf(q, 8) * z + getf(q, 9)
  );
}

function addPlane(o: i32, nx: f64, ny: f64, nz: f64, d: f64, w: f64): void {
  const q = Q + (<usize>(10 * o) << 3);
  setf(q, 0, getf(q, 0) + w * nx * nx);
  setf(q, 1, getf(q, 1) + w * nx * ny);
  setf(q, 2, getf(q, 2) + w * nx * nz);
  setf(q, 3, getf(q, 3) + w * nx * d);
  setf(q, 4, getf(q, 4) + w * ny * ny);
  setf(q, 5, getf(q, 5) + w * ny * nz);
  setf(q, 6, getf(q, 6) + w * ny * d);
  setf(q, 7, getf(q, 7) + w * nz * nz);
  setf(q, 8, getf(q, 8) + w * nz * d);
  setf(q, 9, getf(q, 9) + w * d * d);
}

function hasDirected(a: i32, b: i32): bool {
  for (let c = geti(head, a); c != -1; c = geti(nextCorner, c)) {
    const f = faceOf(c);
    if (getu8(faceAlive, f) && geti(idx, 3 * f + ((c - 3 * f + 1) % 3)) == b) return true;
  }
  return false;
}

function evaluate(u: i32, v: i32): void {
  for (let k = 0; k < 10; k++) setf(qs, k, getf(Q, 10 * u + k) + getf(Q, 10 * v + k));
  const a11 = getf(qs, 0), a12 = getf(qs, 1), a13 = getf(qs, 2), a22 = getf(qs, 4), a23 = getf(qs, 5), a33 = getf(qs, 7);
  const b1 = -getf(qs, 3), b2 = -getf(qs, 6), b3 = -getf(qs, 8);
  const c11 = a22 * a33 - a23 * a23, c12 = a13 * a23 - a12 * a33, c13 = a12 * a23 - a13 * a22;
  const det = a11 * c11 + a12 * c12 + a13 * c13;
  const tr = a11 + a22 + a33;
  if (Math.abs(det) > 1e-9 * tr * tr * tr && tr > 0) {
    const c22 = a11 * a33 - a13 * a13, c23 = a12 * a13 - a11 * a23, c33 = a11 * a22 - a12 * a12;
    const x = (c11 * b1 + c12 * b2 + c13 * b3) / det;
    const y = (c12 * b1 + c22 * b2 + c23 * b3) / det;
    const z = (c13 * b1 + c23 * b2 + c33 * b3) / det;
    tx = x;
    ty = y;
    tz = z;
    tcost = quadricError(qs, x, y, z);
    return;
  }
  const ux = getf(pos, 3 * u), uy = getf(pos, 3 * u + 1), uz = getf(pos, 3 * u + 2);
  const vx = getf(pos, 3 * v), vy = getf(pos, 3 * v + 1), vz = getf(pos, 3 * v + 2);
  const mx = 0.5 * (ux + vx), my = 0.5 * (uy + vy), mz = 0.5 * (uz + vz);
  const eu = quadricError(qs, ux, uy, uz), ev = quadricError(qs, vx, vy, vz), em = quadricError(qs, mx, my, mz);
  if (em <= eu && em <= ev) {
    tx = mx;
    ty = my;
    tz = mz;
    tcost = em;
  } else if (eu <= ev) {
    tx = ux;
    ty = uy;
    tz = uz;
    tcost = eu;
  } else {
    tx = vx;
    ty = vy;
    tz = vz;
    tcost = ev;
  }
}

function pushEdge(u: i32, v: i32): void {
  evaluate(u, v);
  hPush(tcost, u, v, geti(version, u), geti(version, v));
}

function fillHeap(): void {
  hSize = 0;
  for (let f = 0; f < NF; f++) {
    if (!getu8(faceAlive, f)) continue;
    for (let s = 0; s < 3; s++) {
      const a = geti(idx, 3 * f + s), b = geti(idx, 3 * f + ((s + 1) % 3));
      if (a < b || !hasDirected(b, a)) pushEdge(a, b);
    }
  }
}

function faceWith(a: i32, b: i32, c: i32): bool {
  for (let k = geti(head, a); k != -1; k = geti(nextCorner, k)) {
    const f = faceOf(k);
    if (!getu8(faceAlive, f)) continue;
    const x = geti(idx, 3 * f), y = geti(idx, 3 * f + 1), z = geti(idx, 3 * f + 2);
    if ((x == b || y == b || z == b) && (x == c || y == c || z == c)) return true;
  }
  return false;
}

function linkOk(u: i32, v: i32): bool {
  stamp++;
  for (let c = geti(head, u); c != -1; c = geti(nextCorner, c)) {
    const f = faceOf(c);
    if (!getu8(faceAlive, f)) continue;
    for (let s = 0; s < 3; s++) seti(mark, geti(idx, 3 * f + s), stamp);
  }
  let shared = 0, o1 = -1, o2 = -1;
  for (let c = geti(head, v); c != -1; c = geti(nextCorner, c)) {
    const f = faceOf(c);
    if (!getu8(faceAlive, f)) continue;
    const a = geti(idx, 3 * f), b = geti(idx, 3 * f + 1), d = geti(idx, 3 * f + 2);
    if (a != u && b != u && d != u) continue;
    const opp = a != u && a != v ? a : b != u && b != v ? b : d;
    shared++;
    if (shared == 1) o1 = opp;
    else o2 = opp;
  }
  if (shared == 0 || shared > 2) return false;
  if (shared == 2 && getu8(onBoundary, u) && getu8(onBoundary, v)) return false;
  stamp++;
  const common = stamp;
  let count = 0;
  for (let c = geti(head, v); c != -1; c = geti(nextCorner, c)) {
    const f = faceOf(c);
    if (!getu8(faceAlive, f)) continue;
    for (let s = 0; s < 3; s++) {
      const w = geti(idx, 3 * f + s);
      if (w == u || w == v || geti(mark, w) != common - 1) continue;
      seti(mark, w, common);
      count++;
      if (w != o1 && w != o2) return false;
    }
  }
  if (count != shared) return false;
  if (shared == 2 && faceWith(u, o1, o2) && faceWith(v, o1, o2)) return false;
  return true;
}

function foldOk(moving: i32, other: i32, px: f64, py: f64, pz: f64): bool {
  for (let c = geti(head, moving); c != -1; c = geti(nextCorner, c)) {
    const f = faceOf(c);
    if (!getu8(faceAlive, f)) continue;
    const s = c - 3 * f;
    const b = geti(idx, 3 * f + ((s + 1) % 3)), d = geti(idx, 3 * f + ((s + 2) % 3));
    if (b == other || d == other) continue;
    const bx = getf(pos, 3 * b), by = getf(pos, 3 * b + 1), bz = getf(pos, 3 * b + 2);
    const ex = getf(pos, 3 * d) - bx, ey = getf(pos, 3 * d + 1) - by, ez = getf(pos, 3 * d + 2) - bz;
    const ox = bx - getf(pos, 3 * moving), oy = by - getf(pos, 3 * moving + 1), oz = bz - getf(pos, 3 * moving + 2);
    const nx = bx - px, ny = by - py, nz = bz - pz;
    const n0x = oy * ez - oz * ey, n0y = oz * ex - ox * ez, n0z = ox * ey - oy * ex;
    const n1x = ny * ez - nz * ey, n1y = nz * ex - nx * ez, n1z = nx * ey - ny * ex;
    const l0 = n0x * n0x + n0y * n0y + n0z * n0z, l1 = n1x * n1x + n1y * n1y + n1z * n1z;
    if (!(l1 > 1e-12 * l0)) return false;
    const dot = n0x * n1x + n0y * n1y + n0z * n1z;
    if (dot < minDot * Math.sqrt(l0 * l1)) return false;
  }
  return true;
}

/** refDecimate: positions f32 [V,3], indices u32 [F,3]. Returns the output face count. */
export function decimate(p: usize, V: i32, I: usize, F: i32, targetFaces: i32, minNormalDot: f64): i32 {
  NF = F;
  minDot = minNormalDot;
  pos = heap.alloc(<usize>max(3 * V, 1) << 3);
  for (let i = 0; i < 3 * V; i++) setf(pos, i, getf32(p, i));
  idx = I; // worked on in place (the input copy is the module's own)
  faceAlive = heap.alloc(<usize>max(F, 1));
  memory.fill(faceAlive, 1, <usize>F);
  vertAlive = heap.alloc(<usize>max(V, 1));
  memory.fill(vertAlive, 1, <usize>V);
  version = allocZero(<usize>max(V, 1) << 2);
  onBoundary = allocZero(<usize>max(V, 1));
  Q = allocZero(<usize>max(10 * V, 1) << 3);
  head = allocFill(V, -1);
  nextCorner = heap.alloc(<usize>max(3 * F, 1) << 2);
  for (let c = 3 * F - 1; c >= 0; c--) {
    const v = geti(idx, c);
    seti(nextCorner, c, geti(head, v));
    seti(head, v, c);
  }
  mark = allocZero(<usize>max(V, 1) << 2);
  stamp = 0;
  let liveFaces = F;
  hCap = max(1024, 3 * F);
  hCost = heap.alloc(<usize>hCap << 3);
  hU = heap.alloc(<usize>hCap << 2);
  hV = heap.alloc(<usize>hCap << 2);
  hVerU = heap.alloc(<usize>hCap << 2);
  hVerV = heap.alloc(<usize>hCap << 2);
  hSeq = heap.alloc(<usize>hCap << 2);
  hSize = 0;
  hCounter = 0;

  for (let f = 0; f < F; f++) {
    const a = geti(idx, 3 * f), b = geti(idx, 3 * f + 1), c = geti(idx, 3 * f + 2);
    const ux = getf(pos, 3 * b) - getf(pos, 3 * a), uy = getf(pos, 3 * b + 1) - getf(pos, 3 * a + 1), uz = getf(pos, 3 * b + 2) - getf(pos, 3 * a + 2);
    const vx = getf(pos, 3 * c) - getf(pos, 3 * a), vy = getf(pos, 3 * c + 1) - getf(pos, 3 * a + 1), vz = getf(pos, 3 * c + 2) - getf(pos, 3 * a + 2);
    let nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    if (len == 0) continue;
    nx /= len;
    ny /= len;
    nz /= len;
    const d = -(nx * getf(pos, 3 * a) + ny * getf(pos, 3 * a + 1) + nz * getf(pos, 3 * a + 2));
    const w = 0.5 * len;
    addPlane(a, nx, ny, nz, d, w);
    addPlane(b, nx, ny, nz, d, w);
    addPlane(c, nx, ny, nz, d, w);
  }
  for (let f = 0; f < F; f++) {
    for (let s = 0; s < 3; s++) {
      const a = geti(idx, 3 * f + s), b = geti(idx, 3 * f + ((s + 1) % 3));
      if (hasDirected(b, a)) continue;
      setu8(onBoundary, a, 1);
      setu8(onBoundary, b, 1);
      const c = geti(idx, 3 * f + ((s + 2) % 3));
      const ex = getf(pos, 3 * b) - getf(pos, 3 * a), ey = getf(pos, 3 * b + 1) - getf(pos, 3 * a + 1), ez = getf(pos, 3 * b + 2) - getf(pos, 3 * a + 2);
      const wx = getf(pos, 3 * c) - getf(pos, 3 * a), wy = getf(pos, 3 * c + 1) - getf(pos, 3 * a + 1), wz = getf(pos, 3 * c + 2) - getf(pos, 3 * a + 2);
      const fx = ey * wz - ez * wy, fy = ez * wx - ex * wz, fz = ex * wy - ey * wx;
      let nx = ey * fz - ez * fy, ny = ez * fx - ex * fz, nz = ex * fy - ey * fx;
      const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (len == 0) continue;
      nx /= len;
      ny /= len;
      nz /= len;
      const d = -(nx * getf(pos, 3 * a) + ny * getf(pos, 3 * a + 1) + nz * getf(pos, 3 * a + 2));
      const w = BOUNDARY_WEIGHT * (ex * ex + ey * ey + ez * ez);
      addPlane(a, nx, ny, nz, d, w);
      addPlane(b, nx, ny, nz, d, w);
    }
  }

  let collapses = 0, rejectedTopology = 0, rejectedFold = 0;
  let maxError: f64 = 0;
  for (let pass = 0; pass < 8 && liveFaces > targetFaces; pass++) {
    fillHeap();
    const before = collapses;
    while (liveFaces > targetFaces && hSize > 0) {
      const e = hPop();
      const u = geti(hU, e), v = geti(hV, e);
      if (!getu8(vertAlive, u) || !getu8(vertAlive, v) || geti(version, u) != geti(hVerU, e) || geti(version, v) != geti(hVerV, e)) continue;
      if (!linkOk(u, v)) {
        rejectedTopology++;
        continue;
      }
      evaluate(u, v);
      const px = tx, py = ty, pz = tz, cost = tcost;
      if (!foldOk(u, v, px, py, pz) || !foldOk(v, u, px, py, pz)) {
        rejectedFold++;
        continue;
      }
      for (let c = geti(head, v); c != -1; ) {
        const nextC = geti(nextCorner, c);
        const f = faceOf(c);
        if (getu8(faceAlive, f)) {
          if (geti(idx, 3 * f) == u || geti(idx, 3 * f + 1) == u || geti(idx, 3 * f + 2) == u) {
            setu8(faceAlive, f, 0);
            liveFaces--;
          } else {
            seti(idx, c, u);
            seti(nextCorner, c, geti(head, u));
            seti(head, u, c);
          }
        }
        c = nextC;
      }
      seti(head, v, -1);
      setu8(vertAlive, v, 0);
      setf(pos, 3 * u, px);
      setf(pos, 3 * u + 1, py);
      setf(pos, 3 * u + 2, pz);
      for (let k = 0; k < 10; k++) setf(Q, 10 * u + k, getf(Q, 10 * u + k) + getf(Q, 10 * v + k));
      if (getu8(onBoundary, v)) setu8(onBoundary, u, 1);
      seti(version, u, geti(version, u) + 1);
      collapses++;
      if (cost > maxError) maxError = cost;
      stamp++;
      for (let c = geti(head, u); c != -1; c = geti(nextCorner, c)) {
        const f = faceOf(c);
        if (!getu8(faceAlive, f)) continue;
        for (let s = 0; s < 3; s++) {
          const w = geti(idx, 3 * f + s);
          if (w == u || geti(mark, w) == stamp) continue;
          seti(mark, w, stamp);
          pushEdge(u, w);
        }
      }
    }
    if (collapses == before) break;
  }

  const newIndex = allocFill(V, -1);
  for (let f = 0; f < F; f++) if (getu8(faceAlive, f)) for (let s = 0; s < 3; s++) seti(newIndex, geti(idx, 3 * f + s), 0);
  let nV = 0;
  for (let v = 0; v < V; v++) if (geti(newIndex, v) == 0) seti(newIndex, v, nV++);
  outPos = heap.alloc(<usize>max(3 * nV, 1) << 2);
  for (let v = 0; v < V; v++) {
    const n = geti(newIndex, v);
    if (n < 0) continue;
    store<f32>(outPos + (<usize>(3 * n) << 2), <f32>getf(pos, 3 * v));
    store<f32>(outPos + (<usize>(3 * n + 1) << 2), <f32>getf(pos, 3 * v + 1));
    store<f32>(outPos + (<usize>(3 * n + 2) << 2), <f32>getf(pos, 3 * v + 2));
  }
  outIdx = heap.alloc(<usize>max(3 * liveFaces, 1) << 2);
  let o = 0;
  for (let f = 0; f < F; f++) if (getu8(faceAlive, f)) for (let s = 0; s < 3; s++) seti(outIdx, o++, geti(newIndex, geti(idx, 3 * f + s)));
  outV = nV;
  outF = liveFaces;
  outSrc = 0;
  setf(stats, 0, <f64>collapses);
  setf(stats, 1, <f64>rejectedTopology);
  setf(stats, 2, <f64>rejectedFold);
  setf(stats, 3, maxError);
  return liveFaces;
}
