// Marching cubes (AssemblyScript). The same algorithm, vertex order and float64
// arithmetic as refMarchingCubes (harness/mesh/marching_cubes_ref.ts, which
// explains the scheme); the case table is generated from it (tables.ts).
// Memory protocol: see harness/mesh/wasm.ts (alloc / reset, outputs behind getters).
import { AMBIGUOUS, CASE_COUNT, CASE_CENTER, CASE_TRIS } from './tables';

const T_EPS: f64 = 1e-3; // MC_T_EPS
const CENTER: i32 = 12; // MC_CENTER
const KEYS: i32 = 256 * 64;

// Full case lookup by key = config << 6 | decider bits, in static memory so reset() keeps it.
const caseStart = memory.data(KEYS * 4); // i32: first vertex slot in CASE_TRIS
const caseCount = memory.data(KEYS); // u8: triangles
const caseCenter = memory.data(KEYS * 2); // u16: centre-loop edge mask
const corner = memory.data(8 * 8); // f64 [8]: corner value - iso
const cubeVerts = memory.data(13 * 4); // i32 [13]: vertex id per slot
const grad = memory.data(6 * 8); // f64 [2,3]: gradients at an edge's two ends

// Face corners, counter-clockwise seen from outside: -x, +x, -y, +y, -z, +z (FACE_CORNERS).
const FACES: StaticArray<u8> = [0, 4, 6, 2, 1, 3, 7, 5, 0, 1, 5, 4, 2, 6, 7, 3, 0, 2, 3, 1, 4, 5, 7, 6];

function initTables(): void {
  let c: i32 = 0;
  let t: i32 = 0;
  for (let config = 0; config < 256; config++) {
    const amb = <i32>AMBIGUOUS[config];
    for (let bits = 0; bits < 64; bits++) {
      if ((bits & ~amb) != 0) continue;
      const key = (config << 6) | bits;
      store<i32>(caseStart + (<usize>key << 2), t);
      store<u8>(caseCount + <usize>key, CASE_COUNT[c]);
      store<u16>(caseCenter + (<usize>key << 1), CASE_CENTER[c]);
      t += 3 * <i32>CASE_COUNT[c];
      c++;
    }
  }
}
initTables();

// ------------------------------------------------------------ memory protocol

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function reset(): void {
  heap.reset();
}

/** Growable buffer of 4-byte elements (doubling). */
class Buf {
  ptr: usize;
  len: i32 = 0; // elements
  cap: i32;
  constructor(cap: i32) {
    this.cap = cap;
    this.ptr = heap.alloc(<usize>cap << 2);
  }
  @inline reserve(extra: i32): void {
    if (this.len + extra > this.cap) this.grow(extra);
  }
  grow(extra: i32): void {
    let cap = this.cap * 2;
    if (cap < this.len + extra) cap = this.len + extra;
    this.ptr = heap.realloc(this.ptr, <usize>cap << 2);
    this.cap = cap;
  }
}

let outV: i32 = 0;
let outF: i32 = 0;
let outPos: usize = 0;
let outNrm: usize = 0;
let outIdx: usize = 0;

export function outVertexCount(): i32 {
  return outV;
}
export function outFaceCount(): i32 {
  return outF;
}
export function outPositions(): usize {
  return outPos;
}
export function outNormals(): usize {
  return outNrm;
}
export function outIndices(): usize {
  return outIdx;
}

// ------------------------------------------------------------ the algorithm

let F: usize = 0; // field: f32 [nz,ny,nx]
let NX: i32 = 0;
let NY: i32 = 0;
let NZ: i32 = 0;
let SXY: i32 = 0;
let OX: f64 = 0;
let OY: f64 = 0;
let OZ: f64 = 0;
let SX: f64 = 0;
let SY: f64 = 0;
let SZ: f64 = 0;
let ISO: f64 = 0;
let pos: Buf = changetype<Buf>(0);
let nrm: Buf = changetype<Buf>(0);
let vcount: i32 = 0;

@inline function fv(p: i32): f64 {
  return <f64>load<f32>(F + (<usize>p << 2));
}

/** Field gradient at grid point (i,j,k) into grad[o..o+2]: central differences, one-sided at the border. */
function gradAt(i: i32, j: i32, k: i32, o: usize): void {
  const p = i + NX * j + SXY * k;
  const gx = i == 0 ? (fv(p + 1) - fv(p)) / SX : i == NX - 1 ? (fv(p) - fv(p - 1)) / SX : (fv(p + 1) - fv(p - 1)) / (2 * SX);
  const gy = j == 0 ? (fv(p + NX) - fv(p)) / SY : j == NY - 1 ? (fv(p) - fv(p - NX)) / SY : (fv(p + NX) - fv(p - NX)) / (2 * SY);
  const gz = k == 0 ? (fv(p + SXY) - fv(p)) / SZ : k == NZ - 1 ? (fv(p) - fv(p - SXY)) / SZ : (fv(p + SXY) - fv(p - SXY)) / (2 * SZ);
  store<f64>(grad + (o << 3), gx);
  store<f64>(grad + ((o + 1) << 3), gy);
  store<f64>(grad + ((o + 2) << 3), gz);
}

@inline function putVec(b: Buf, o: i32, x: f64, y: f64, z: f64): void {
  const at = b.ptr + (<usize>o << 2);
  store<f32>(at, <f32>x);
  store<f32>(at, <f32>y, 4);
  store<f32>(at, <f32>z, 8);
}

/** Adds the vertex on the edge from grid point (i,j,k) to its neighbour along axis; returns its id or -1. */
function edgeVertex(i: i32, j: i32, k: i32, axis: i32): i32 {
  const p = i + NX * j + SXY * k;
  const q = p + (axis == 0 ? 1 : axis == 1 ? NX : SXY);
  const va = fv(p);
  const vb = fv(q);
  if ((va >= ISO) == (vb >= ISO)) return -1;
  let t = (ISO - va) / (vb - va);
  if (t < T_EPS) t = T_EPS;
  else if (t > 1 - T_EPS) t = 1 - T_EPS;
  pos.reserve(3);
  nrm.reserve(3);
  const o = 3 * vcount;
  putVec(pos, o, OX + SX * (axis == 0 ? <f64>i + t : <f64>i), OY + SY * (axis == 1 ? <f64>j + t : <f64>j), OZ + SZ * (axis == 2 ? <f64>k + t : <f64>k));
  gradAt(i, j, k, 0);
  gradAt(axis == 0 ? i + 1 : i, axis == 1 ? j + 1 : j, axis == 2 ? k + 1 : k, 3);
  const g0 = load<f64>(grad), g1 = load<f64>(grad, 8), g2 = load<f64>(grad, 16);
  const gx = g0 + t * (load<f64>(grad, 24) - g0);
  const gy = g1 + t * (load<f64>(grad, 32) - g1);
  const gz = g2 + t * (load<f64>(grad, 40) - g2);
  const len = Math.sqrt(gx * gx + gy * gy + gz * gz);
  if (len > 0) putVec(nrm, o, -gx / len, -gy / len, -gz / len);
  else putVec(nrm, o, 0, 0, 0);
  pos.len += 3;
  nrm.len += 3;
  return vcount++;
}

/** Centre vertex of a loop (edges in cmask): mean of its crossings, normalised sum of their normals. */
function centerVertex(cmask: i32): i32 {
  let px: f64 = 0, py: f64 = 0, pz: f64 = 0, gx: f64 = 0, gy: f64 = 0, gz: f64 = 0;
  let n: i32 = 0;
  for (let e = 0; e < 12; e++) {
    if (((cmask >> e) & 1) == 0) continue;
    const o = <usize>(3 * load<i32>(cubeVerts + (<usize>e << 2))) << 2;
    px += <f64>load<f32>(pos.ptr + o);
    py += <f64>load<f32>(pos.ptr + o, 4);
    pz += <f64>load<f32>(pos.ptr + o, 8);
    gx += <f64>load<f32>(nrm.ptr + o);
    gy += <f64>load<f32>(nrm.ptr + o, 4);
    gz += <f64>load<f32>(nrm.ptr + o, 8);
    n++;
  }
  pos.reserve(3);
  nrm.reserve(3);
  const o = 3 * vcount;
  const fn = <f64>n;
  putVec(pos, o, px / fn, py / fn, pz / fn);
  const len = Math.sqrt(gx * gx + gy * gy + gz * gz);
  if (len > 0) putVec(nrm, o, gx / len, gy / len, gz / len);
  else putVec(nrm, o, 0, 0, 0);
  pos.len += 3;
  nrm.len += 3;
  return vcount++;
}

/** Asymptotic decider bits (deciderBits in the reference): bit f set when face f's inside corners connect. */
function deciderBits(config: i32, amb: i32): i32 {
  let bits = 0;
  for (let f = 0; f < 6; f++) {
    if (((amb >> f) & 1) == 0) continue;
    const c0 = <i32>unchecked(FACES[4 * f]), c1 = <i32>unchecked(FACES[4 * f + 1]), c2 = <i32>unchecked(FACES[4 * f + 2]), c3 = <i32>unchecked(FACES[4 * f + 3]);
    const s0 = (config >> c0) & 1;
    const p02 = load<f64>(corner + (<usize>c0 << 3)) * load<f64>(corner + (<usize>c2 << 3));
    const p13 = load<f64>(corner + (<usize>c1 << 3)) * load<f64>(corner + (<usize>c3 << 3));
    if (s0 == 1 ? p02 >= p13 : p13 >= p02) bits |= 1 << f;
  }
  return bits;
}

@inline function ld(p: usize, q: i32): i32 {
  return load<i32>(p + (<usize>q << 2));
}
@inline function setSlot(slot: i32, v: i32): void {
  store<i32>(cubeVerts + (<usize>slot << 2), v);
}

/**
 * Marching cubes on values (f32 [nz,ny,nx], x fastest), inside = value >= iso.
 * Returns the face count; outputs behind outPositions/outNormals/outIndices.
 */
export function marchingCubes(values: usize, nx: i32, ny: i32, nz: i32, ox: f64, oy: f64, oz: f64, sx: f64, sy: f64, sz: f64, iso: f64): i32 {
  if (nx < 2 || ny < 2 || nz < 2) return -1;
  F = values;
  NX = nx;
  NY = ny;
  NZ = nz;
  SXY = nx * ny;
  OX = ox;
  OY = oy;
  OZ = oz;
  SX = sx;
  SY = sy;
  SZ = sz;
  ISO = iso;
  vcount = 0;
  pos = new Buf(3 * 1024);
  nrm = new Buf(3 * 1024);
  const idx = new Buf(3 * 2048);
  const slice = <usize>SXY << 2;
  let xPrev = heap.alloc(slice), xCur = heap.alloc(slice);
  let yPrev = heap.alloc(slice), yCur = heap.alloc(slice);
  const zSlab = heap.alloc(slice);

  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx - 1; i++) store<i32>(xCur + (<usize>(i + nx * j) << 2), edgeVertex(i, j, k, 0));
    for (let j = 0; j < ny - 1; j++) for (let i = 0; i < nx; i++) store<i32>(yCur + (<usize>(i + nx * j) << 2), edgeVertex(i, j, k, 1));
    if (k > 0) {
      const kk = k - 1;
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) store<i32>(zSlab + (<usize>(i + nx * j) << 2), edgeVertex(i, j, kk, 2));
      for (let j = 0; j < ny - 1; j++) {
        for (let i = 0; i < nx - 1; i++) {
          const p = i + nx * j + SXY * kk;
          let config = 0;
          for (let c = 0; c < 8; c++) {
            const v = fv(p + (c & 1) + nx * ((c >> 1) & 1) + SXY * (c >> 2));
            store<f64>(corner + (<usize>c << 3), v - iso);
            if (v >= iso) config |= 1 << c;
          }
          if (config == 0 || config == 255) continue;
          const amb = <i32>unchecked(AMBIGUOUS[config]);
          const key = amb == 0 ? config << 6 : (config << 6) | deciderBits(config, amb);
          const n = <i32>load<u8>(caseCount + <usize>key);
          const q = i + nx * j;
          setSlot(0, ld(xPrev, q));
          setSlot(1, ld(xPrev, q + nx));
          setSlot(2, ld(xCur, q));
          setSlot(3, ld(xCur, q + nx));
          setSlot(4, ld(yPrev, q));
          setSlot(5, ld(yPrev, q + 1));
          setSlot(6, ld(yCur, q));
          setSlot(7, ld(yCur, q + 1));
          setSlot(8, ld(zSlab, q));
          setSlot(9, ld(zSlab, q + 1));
          setSlot(10, ld(zSlab, q + nx));
          setSlot(11, ld(zSlab, q + nx + 1));
          const cmask = <i32>load<u16>(caseCenter + (<usize>key << 1));
          if (cmask != 0) setSlot(CENTER, centerVertex(cmask));
          idx.reserve(3 * n);
          const base = load<i32>(caseStart + (<usize>key << 2));
          const dst = idx.ptr + (<usize>idx.len << 2);
          for (let t = 0; t < 3 * n; t++) {
            const slot = <usize>unchecked(CASE_TRIS[base + t]);
            store<i32>(dst + (<usize>t << 2), load<i32>(cubeVerts + (slot << 2)));
          }
          idx.len += 3 * n;
        }
      }
    }
    const xs = xPrev;
    xPrev = xCur;
    xCur = xs;
    const ys = yPrev;
    yPrev = yCur;
    yCur = ys;
  }
  outV = vcount;
  outF = idx.len / 3;
  outPos = pos.ptr;
  outNrm = nrm.ptr;
  outIdx = idx.ptr;
  return outF;
}
