// asm/uv_unwrap: UV unwrapping of a welded triangle mesh (chart segmentation,
// planar / LSCM parameterisation, shelf packing, seam vertex splitting).
// The algorithm, step by step and in the same floating-point order, is
// harness/mesh/uv_unwrap_ref.ts (refUvUnwrap); keep the two in step. Options
// and the result layout: harness/mesh/uv_unwrap.ts.
//
// Memory protocol (stub runtime, see harness/mesh/wasm.ts):
//   reset(); p = alloc(V*12), i = alloc(F*12), copy positions [V,3] f32 and
//   indices [F,3] u32 in; status = unwrap(p, V, i, F, ...options);
//   outputs behind out*(): vertexMap [V'] u32, indices [F,3] u32, uvs [V',2] f32,
//   faceChart [F] u32, chartMethod [C] u8 (0 planar, 1 LSCM).

const STATUS_OK: i32 = 0;
const STATUS_TOO_MANY_CHARTS: i32 = 1;
const CHART_PLANAR: i32 = 0;
const CHART_LSCM: i32 = 1;

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function reset(): void {
  heap.reset();
}

// --- options (set per call) -----------------------------------------------------
let textureSize: f64 = 1024;
let padding: f64 = 2;
let cosMaxChartAngle: f64 = 0.5;
let maxChartFaces: i32 = 0;
let compactness: f64 = 0.5;
let mergeAreaFraction: f64 = 0.002;
let cosMergeMaxAngle: f64 = 0.17;
let planarMaxStretch: f64 = 1.1;
let maxStretch: f64 = 1.5;
let cgMaxIterations: i32 = 2000;
let cgTolerance: f64 = 1e-6;

// --- mesh state -------------------------------------------------------------------
let nV: i32 = 0;
let nF: i32 = 0;
let P = new StaticArray<f64>(0); // [V,3]
let I = new StaticArray<i32>(0); // [F,3]
let N = new StaticArray<f64>(0); // [F,3] unit normals, 0 when degenerate
let A = new StaticArray<f64>(0); // [F] areas
let C = new StaticArray<f64>(0); // [F,3] centroids
let degenerate = new StaticArray<u8>(0); // [F]
let adj = new StaticArray<i32>(0); // [F,3] face across each edge or -1
let totalArea: f64 = 0;

// --- outputs ----------------------------------------------------------------------
let outVertexCountValue: i32 = 0;
let outChartCountValue: i32 = 0;
let outVertexMapArr = new StaticArray<u32>(0);
let outIndicesArr = new StaticArray<u32>(0);
let outUvsArr = new StaticArray<f32>(0);
let outFaceChartArr = new StaticArray<u32>(0);
let outChartMethodArr = new StaticArray<u8>(0);

export function outVertexCount(): i32 {
  return outVertexCountValue;
}
export function outChartCount(): i32 {
  return outChartCountValue;
}
export function outVertexMap(): usize {
  return changetype<usize>(outVertexMapArr);
}
export function outIndices(): usize {
  return changetype<usize>(outIndicesArr);
}
export function outUvs(): usize {
  return changetype<usize>(outUvsArr);
}
export function outFaceChart(): usize {
  return changetype<usize>(outFaceChartArr);
}
export function outChartMethod(): usize {
  return changetype<usize>(outChartMethodArr);
}

// --- geometry and adjacency -------------------------------------------------------

function buildGeo(posPtr: usize, idxPtr: usize): void {
  P = new StaticArray<f64>(nV * 3);
  for (let i = 0; i < nV * 3; i++) unchecked((P[i] = <f64>load<f32>(posPtr + (<usize>i << 2))));
  I = new StaticArray<i32>(nF * 3);
  for (let i = 0; i < nF * 3; i++) unchecked((I[i] = load<i32>(idxPtr + (<usize>i << 2))));
  N = new StaticArray<f64>(nF * 3);
  A = new StaticArray<f64>(nF);
  C = new StaticArray<f64>(nF * 3);
  degenerate = new StaticArray<u8>(nF);
  totalArea = 0;
  for (let f = 0; f < nF; f++) {
    const a = 3 * unchecked(I[3 * f]), b = 3 * unchecked(I[3 * f + 1]), c = 3 * unchecked(I[3 * f + 2]);
    const e1x = unchecked(P[b]) - unchecked(P[a]), e1y = unchecked(P[b + 1]) - unchecked(P[a + 1]), e1z = unchecked(P[b + 2]) - unchecked(P[a + 2]);
    const e2x = unchecked(P[c]) - unchecked(P[a]), e2y = unchecked(P[c + 1]) - unchecked(P[a + 1]), e2z = unchecked(P[c + 2]) - unchecked(P[a + 2]);
    const nx = e1y * e2z - e1z * e2y, ny = e1z * e2x - e1x * e2z, nz = e1x * e2y - e1y * e2x;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    unchecked((A[f] = 0.5 * len));
    totalArea += 0.5 * len;
    if (len > 0) {
      unchecked((N[3 * f] = nx / len));
      unchecked((N[3 * f + 1] = ny / len));
      unchecked((N[3 * f + 2] = nz / len));
    }
    unchecked((C[3 * f] = (unchecked(P[a]) + unchecked(P[b]) + unchecked(P[c])) / 3));
    unchecked((C[3 * f + 1] = (unchecked(P[a + 1]) + unchecked(P[b + 1]) + unchecked(P[c + 1])) / 3));
    unchecked((C[3 * f + 2] = (unchecked(P[a + 2]) + unchecked(P[b + 2]) + unchecked(P[c + 2])) / 3));
  }
  const eps: f64 = nF > 0 ? (1e-10 * totalArea) / <f64>nF : 0;
  for (let f = 0; f < nF; f++) {
    if (unchecked(A[f]) <= eps) {
      unchecked((degenerate[f] = 1));
      unchecked((N[3 * f] = 0));
      unchecked((N[3 * f + 1] = 0));
      unchecked((N[3 * f + 2] = 0));
    }
  }
  buildAdjacency();
}

function buildAdjacency(): void {
  const start = new StaticArray<i32>(nV + 1);
  for (let i = 0; i < nF * 3; i++) unchecked(start[unchecked(I[i]) + 1]++);
  for (let v = 0; v < nV; v++) unchecked((start[v + 1] += unchecked(start[v])));
  const fill = new StaticArray<i32>(nV);
  for (let v = 0; v < nV; v++) unchecked((fill[v] = unchecked(start[v])));
  const faces = new StaticArray<i32>(nF * 3);
  for (let i = 0; i < nF * 3; i++) {
    const v = unchecked(I[i]);
    unchecked((faces[unchecked(fill[v])] = i / 3));
    unchecked(fill[v]++);
  }
  adj = new StaticArray<i32>(nF * 3);
  for (let i = 0; i < nF * 3; i++) unchecked((adj[i] = -1));
  for (let f = 0; f < nF; f++) {
    for (let k = 0; k < 3; k++) {
      const a = unchecked(I[3 * f + k]), b = unchecked(I[3 * f + ((k + 1) % 3)]);
      if (a == b) continue;
      let other = -1, count = 0;
      const end = unchecked(start[a + 1]);
      for (let j = unchecked(start[a]); j < end; j++) {
        const g = unchecked(faces[j]);
        if (g == f) continue;
        if (unchecked(I[3 * g]) == b || unchecked(I[3 * g + 1]) == b || unchecked(I[3 * g + 2]) == b) {
          other = g;
          count++;
        }
      }
      if (count == 1) unchecked((adj[3 * f + k] = other));
    }
  }
}

// --- min-heap of (key, face), ties by face ------------------------------------------

let heapKey = new StaticArray<f64>(64);
let heapFace = new StaticArray<i32>(64);
let heapSize: i32 = 0;

// @ts-ignore: decorator
@inline function heapLess(i: i32, j: i32): bool {
  const a = unchecked(heapKey[i]), b = unchecked(heapKey[j]);
  return a < b || (a == b && unchecked(heapFace[i]) < unchecked(heapFace[j]));
}

// @ts-ignore: decorator
@inline function heapSwap(i: i32, j: i32): void {
  const k = unchecked(heapKey[i]);
  unchecked((heapKey[i] = unchecked(heapKey[j])));
  unchecked((heapKey[j] = k));
  const f = unchecked(heapFace[i]);
  unchecked((heapFace[i] = unchecked(heapFace[j])));
  unchecked((heapFace[j] = f));
}

function heapPush(key: f64, face: i32): void {
  if (heapSize == heapKey.length) {
    const k = new StaticArray<f64>(heapSize * 2);
    const f = new StaticArray<i32>(heapSize * 2);
    for (let i = 0; i < heapSize; i++) {
      unchecked((k[i] = unchecked(heapKey[i])));
      unchecked((f[i] = unchecked(heapFace[i])));
    }
    heapKey = k;
    heapFace = f;
  }
  let i = heapSize++;
  unchecked((heapKey[i] = key));
  unchecked((heapFace[i] = face));
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!heapLess(i, parent)) break;
    heapSwap(i, parent);
    i = parent;
  }
}

function heapPop(): i32 {
  const top = unchecked(heapFace[0]);
  heapSize--;
  if (heapSize > 0) {
    unchecked((heapKey[0] = unchecked(heapKey[heapSize])));
    unchecked((heapFace[0] = unchecked(heapFace[heapSize])));
    let i = 0;
    while (true) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heapSize && heapLess(l, m)) m = l;
      if (r < heapSize && heapLess(r, m)) m = r;
      if (m == i) break;
      heapSwap(i, m);
      i = m;
    }
  }
  return top;
}

// --- sorting: heap sort under strict total orders (same result as the reference) ----

const ORDER_KEY: i32 = 0; // key[a] asc, then a
const ORDER_POINT: i32 = 1; // (key[2a], key[2a+1]) asc, then a
const ORDER_SHELF: i32 = 2; // key[a] asc, key2[a] desc, then a
let sortKey = new StaticArray<f64>(0);
let sortKey2 = new StaticArray<f64>(0);
let sortOrder: i32 = 0;

function sortLess(a: i32, b: i32): bool {
  if (sortOrder == ORDER_POINT) {
    const ua = unchecked(sortKey[2 * a]), ub = unchecked(sortKey[2 * b]);
    if (ua < ub) return true;
    if (ua != ub) return false;
    const va = unchecked(sortKey[2 * a + 1]), vb = unchecked(sortKey[2 * b + 1]);
    return va < vb || (va == vb && a < b);
  }
  const ka = unchecked(sortKey[a]), kb = unchecked(sortKey[b]);
  if (ka < kb) return true;
  if (ka != kb) return false;
  if (sortOrder == ORDER_SHELF) {
    const wa = unchecked(sortKey2[a]), wb = unchecked(sortKey2[b]);
    if (wa > wb) return true;
    if (wa != wb) return false;
  }
  return a < b;
}

function sift(items: StaticArray<i32>, start: i32, end: i32): void {
  let i = start;
  while (true) {
    const l = 2 * i + 1;
    if (l >= end) break;
    let m = l;
    if (l + 1 < end && sortLess(unchecked(items[m]), unchecked(items[l + 1]))) m = l + 1;
    if (!sortLess(unchecked(items[i]), unchecked(items[m]))) break;
    const t = unchecked(items[i]);
    unchecked((items[i] = unchecked(items[m])));
    unchecked((items[m] = t));
    i = m;
  }
}

function heapSort(items: StaticArray<i32>, n: i32): void {
  for (let i = (n >> 1) - 1; i >= 0; i--) sift(items, i, n);
  for (let end = n - 1; end > 0; end--) {
    const t = unchecked(items[0]);
    unchecked((items[0] = unchecked(items[end])));
    unchecked((items[end] = t));
    sift(items, 0, end);
  }
}

// --- segmentation ---------------------------------------------------------------------

const SMOOTH_PASSES: i32 = 4;
let chartOf = new StaticArray<i32>(0);
let segChartCount: i32 = 0;

function edgeLength(f: i32, k: i32): f64 {
  const a = 3 * unchecked(I[3 * f + k]), b = 3 * unchecked(I[3 * f + ((k + 1) % 3)]);
  const dx = unchecked(P[b]) - unchecked(P[a]), dy = unchecked(P[b + 1]) - unchecked(P[a + 1]), dz = unchecked(P[b + 2]) - unchecked(P[a + 2]);
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

function segment(): void {
  chartOf = new StaticArray<i32>(nF);
  for (let f = 0; f < nF; f++) unchecked((chartOf[f] = -1));
  const nsum = new StaticArray<f64>(nF * 3);
  const area = new StaticArray<f64>(nF);
  const count = new StaticArray<i32>(nF);
  const head = new StaticArray<i32>(nF);
  const tail = new StaticArray<i32>(nF);
  const next = new StaticArray<i32>(nF);
  for (let f = 0; f < nF; f++) {
    unchecked((head[f] = -1));
    unchecked((tail[f] = -1));
    unchecked((next[f] = -1));
  }
  const meanArea: f64 = nF > 0 ? totalArea / <f64>nF : 0;
  let charts = 0;

  for (let seed = 0; seed < nF; seed++) {
    if (unchecked(chartOf[seed]) >= 0) continue;
    const c = charts++;
    const sx = unchecked(C[3 * seed]), sy = unchecked(C[3 * seed + 1]), sz = unchecked(C[3 * seed + 2]);
    heapSize = 0;
    let f = seed;
    while (true) {
      unchecked((chartOf[f] = c));
      const af = unchecked(A[f]);
      unchecked((nsum[3 * c] += af * unchecked(N[3 * f])));
      unchecked((nsum[3 * c + 1] += af * unchecked(N[3 * f + 1])));
      unchecked((nsum[3 * c + 2] += af * unchecked(N[3 * f + 2])));
      unchecked((area[c] += af));
      unchecked(count[c]++);
      if (unchecked(head[c]) < 0) unchecked((head[c] = f));
      else unchecked((next[unchecked(tail[c])] = f));
      unchecked((tail[c] = f));
      const mx = unchecked(nsum[3 * c]), my = unchecked(nsum[3 * c + 1]), mz = unchecked(nsum[3 * c + 2]);
      const mlen = Math.sqrt(mx * mx + my * my + mz * mz);
      const ac = unchecked(area[c]);
      const radius = Math.sqrt(ac > meanArea ? ac : meanArea);
      for (let k = 0; k < 3; k++) {
        const h = unchecked(adj[3 * f + k]);
        if (h < 0 || unchecked(chartOf[h]) >= 0) continue;
        let dev: f64 = 0;
        if (mlen > 0 && unchecked(degenerate[h]) == 0) dev = 1 - (unchecked(N[3 * h]) * mx + unchecked(N[3 * h + 1]) * my + unchecked(N[3 * h + 2]) * mz) / mlen;
        const dx = unchecked(C[3 * h]) - sx, dy = unchecked(C[3 * h + 1]) - sy, dz = unchecked(C[3 * h + 2]) - sz;
        const dist = Math.sqrt(dx * dx + dy * dy + dz * dz);
        heapPush(dev + (compactness * dist) / (radius > 0 ? radius : 1), h);
      }
      f = -1;
      while (heapSize > 0) {
        const h = heapPop();
        if (unchecked(chartOf[h]) >= 0) continue;
        if (maxChartFaces > 0 && unchecked(count[c]) >= maxChartFaces) break;
        if (unchecked(degenerate[h]) == 0) {
          const nx = unchecked(nsum[3 * c]), ny = unchecked(nsum[3 * c + 1]), nz = unchecked(nsum[3 * c + 2]);
          const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
          if (len > 0 && (unchecked(N[3 * h]) * nx + unchecked(N[3 * h + 1]) * ny + unchecked(N[3 * h + 2]) * nz) / len < cosMaxChartAngle) continue;
        }
        f = h;
        break;
      }
      if (f < 0) break;
    }
  }

  // merge tiny charts, smallest first
  const minArea = mergeAreaFraction * totalArea;
  let nTiny = 0;
  for (let c = 0; c < charts; c++) if (unchecked(area[c]) < minArea) nTiny++;
  const order = new StaticArray<i32>(nTiny);
  nTiny = 0;
  for (let c = 0; c < charts; c++) if (unchecked(area[c]) < minArea) unchecked((order[nTiny++] = c));
  sortKey = area;
  sortOrder = ORDER_KEY;
  heapSort(order, nTiny);
  const shared = new StaticArray<f64>(charts);
  const touched = new StaticArray<i32>(charts);
  const alive = new StaticArray<u8>(charts);
  for (let c = 0; c < charts; c++) unchecked((alive[c] = 1));
  for (let i = 0; i < nTiny; i++) {
    const c = unchecked(order[i]);
    if (unchecked(alive[c]) == 0 || !(unchecked(area[c]) < minArea)) continue;
    let nTouched = 0;
    for (let f = unchecked(head[c]); f >= 0; f = unchecked(next[f])) {
      for (let k = 0; k < 3; k++) {
        const h = unchecked(adj[3 * f + k]);
        if (h < 0) continue;
        const t = unchecked(chartOf[h]);
        if (t == c) continue;
        if (unchecked(shared[t]) == 0) unchecked((touched[nTouched++] = t));
        unchecked((shared[t] += edgeLength(f, k)));
      }
    }
    let best = -1;
    let bestLen: f64 = 0;
    for (let j = 0; j < nTouched; j++) {
      const t = unchecked(touched[j]);
      const len = unchecked(shared[t]);
      unchecked((shared[t] = 0));
      if (best >= 0 && (len < bestLen || (len == bestLen && t > best))) continue;
      const nx = unchecked(nsum[3 * t]), ny = unchecked(nsum[3 * t + 1]), nz = unchecked(nsum[3 * t + 2]);
      const nlen = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (!(nlen > 0)) continue;
      let ok = true;
      for (let f = unchecked(head[c]); f >= 0 && ok; f = unchecked(next[f])) {
        if (unchecked(degenerate[f]) == 0 && (unchecked(N[3 * f]) * nx + unchecked(N[3 * f + 1]) * ny + unchecked(N[3 * f + 2]) * nz) / nlen < cosMergeMaxAngle) ok = false;
      }
      if (ok) {
        best = t;
        bestLen = len;
      }
    }
    if (best < 0) continue;
    for (let f = unchecked(head[c]); f >= 0; f = unchecked(next[f])) unchecked((chartOf[f] = best));
    unchecked((next[unchecked(tail[best])] = unchecked(head[c])));
    unchecked((tail[best] = unchecked(tail[c])));
    unchecked((nsum[3 * best] += unchecked(nsum[3 * c])));
    unchecked((nsum[3 * best + 1] += unchecked(nsum[3 * c + 1])));
    unchecked((nsum[3 * best + 2] += unchecked(nsum[3 * c + 2])));
    unchecked((area[best] += unchecked(area[c])));
    unchecked((count[best] += unchecked(count[c])));
    unchecked((alive[c] = 0));
  }

  // smooth ragged borders (see the reference)
  for (let pass = 0; pass < SMOOTH_PASSES; pass++) {
    let moved = 0;
    for (let f = 0; f < nF; f++) {
      const c = unchecked(chartOf[f]);
      let own = 0, target = -1, onTarget = 0;
      for (let k = 0; k < 3; k++) {
        const h = unchecked(adj[3 * f + k]);
        if (h < 0) continue;
        const t = unchecked(chartOf[h]);
        if (t == c) own++;
        else if (t == target) onTarget++;
        else if (onTarget == 0) {
          target = t;
          onTarget = 1;
        }
      }
      if (own != 1 || onTarget < 2 || unchecked(count[c]) <= 1) continue;
      if (unchecked(degenerate[f]) == 0) {
        const nx = unchecked(nsum[3 * target]), ny = unchecked(nsum[3 * target + 1]), nz = unchecked(nsum[3 * target + 2]);
        const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
        if (!(len > 0) || (unchecked(N[3 * f]) * nx + unchecked(N[3 * f + 1]) * ny + unchecked(N[3 * f + 2]) * nz) / len < cosMaxChartAngle) continue;
      }
      unchecked((chartOf[f] = target));
      const af = unchecked(A[f]);
      unchecked((nsum[3 * c] -= af * unchecked(N[3 * f])));
      unchecked((nsum[3 * c + 1] -= af * unchecked(N[3 * f + 1])));
      unchecked((nsum[3 * c + 2] -= af * unchecked(N[3 * f + 2])));
      unchecked((nsum[3 * target] += af * unchecked(N[3 * f])));
      unchecked((nsum[3 * target + 1] += af * unchecked(N[3 * f + 1])));
      unchecked((nsum[3 * target + 2] += af * unchecked(N[3 * f + 2])));
      unchecked(count[c]--);
      unchecked(count[target]++);
      moved++;
    }
    if (moved == 0) break;
  }

  const renum = new StaticArray<i32>(charts);
  for (let c = 0; c < charts; c++) unchecked((renum[c] = -1));
  let n = 0;
  for (let f = 0; f < nF; f++) {
    const c = unchecked(chartOf[f]);
    if (unchecked(renum[c]) < 0) unchecked((renum[c] = n++));
    unchecked((chartOf[f] = unchecked(renum[c])));
  }
  segChartCount = n;
}

// --- parameterisation -------------------------------------------------------------------

// atlas being built
let atlasVertexMap = new StaticArray<i32>(0); // [3F]
let atlasUv = new StaticArray<f64>(0); // [6F]
let atlasVertexCount: i32 = 0;
let atlasCorner = new StaticArray<i32>(0); // [F,3]
let atlasFaceChart = new StaticArray<i32>(0); // [F]
let atlasChartStart = new Array<i32>();
let atlasChartVerts = new Array<i32>();
let atlasChartMethod = new Array<i32>();
let atlasChartFaceStart = new Array<i32>();
let atlasChartFaces = new StaticArray<i32>(0); // [F]
let atlasChartFaceFill: i32 = 0;

// scratch
let localOf = new StaticArray<i32>(0); // [V]
let localVerts = new StaticArray<i32>(0); // [V]
let cornerLocal = new StaticArray<i32>(0); // [3F]
let su = new StaticArray<f64>(0); // [2V] planar uv
let sx = new StaticArray<f64>(0); // [2V] lscm uv
let mark = new StaticArray<i32>(0); // [F]
let label = new StaticArray<i32>(0); // [F]
let stamp: i32 = 0;

function pieceStretch(faces: StaticArray<i32>, uv: StaticArray<f64>): f64 {
  let sumL2: f64 = 0, sum3: f64 = 0, sumUv: f64 = 0;
  const n = faces.length;
  for (let i = 0; i < n; i++) {
    const f = unchecked(faces[i]);
    if (unchecked(degenerate[f]) == 1) continue;
    const l1 = unchecked(cornerLocal[3 * i]), l2 = unchecked(cornerLocal[3 * i + 1]), l3 = unchecked(cornerLocal[3 * i + 2]);
    const s1 = unchecked(uv[2 * l1]), t1 = unchecked(uv[2 * l1 + 1]), s2 = unchecked(uv[2 * l2]), t2 = unchecked(uv[2 * l2 + 1]), s3 = unchecked(uv[2 * l3]), t3 = unchecked(uv[2 * l3 + 1]);
    const a2 = (s2 - s1) * (t3 - t1) - (s3 - s1) * (t2 - t1);
    if (!(a2 > 0)) return Infinity;
    const q1 = 3 * unchecked(I[3 * f]), q2 = 3 * unchecked(I[3 * f + 1]), q3 = 3 * unchecked(I[3 * f + 2]);
    let ss: f64 = 0, tt: f64 = 0;
    for (let k = 0; k < 3; k++) {
      const d2 = unchecked(P[q2 + k]) - unchecked(P[q1 + k]), d3 = unchecked(P[q3 + k]) - unchecked(P[q1 + k]);
      const Ss = (d2 * (t3 - t1) + d3 * (t1 - t2)) / a2;
      const St = (d2 * (s1 - s3) + d3 * (s2 - s1)) / a2;
      ss += Ss * Ss;
      tt += St * St;
    }
    const af = unchecked(A[f]);
    sumL2 += (ss + tt) * 0.5 * af;
    sum3 += af;
    sumUv += a2 * 0.5;
  }
  if (!(sum3 > 0)) return 1;
  return Math.sqrt(sumL2 / sum3) * Math.sqrt(sumUv / sum3);
}

function planarProject(faces: StaticArray<i32>, nLocal: i32): void {
  let nx: f64 = 0, ny: f64 = 0, nz: f64 = 0;
  const n = faces.length;
  for (let i = 0; i < n; i++) {
    const f = unchecked(faces[i]);
    const af = unchecked(A[f]);
    nx += af * unchecked(N[3 * f]);
    ny += af * unchecked(N[3 * f + 1]);
    nz += af * unchecked(N[3 * f + 2]);
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
  const ax = Math.abs(nx), ay = Math.abs(ny), az = Math.abs(nz);
  let tx: f64 = 0, ty: f64 = 0, tz: f64 = 0;
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
  let cx: f64 = 0, cy: f64 = 0, cz: f64 = 0;
  for (let l = 0; l < nLocal; l++) {
    const v = 3 * unchecked(localVerts[l]);
    cx += unchecked(P[v]);
    cy += unchecked(P[v + 1]);
    cz += unchecked(P[v + 2]);
  }
  cx /= <f64>nLocal;
  cy /= <f64>nLocal;
  cz /= <f64>nLocal;
  for (let l = 0; l < nLocal; l++) {
    const v = 3 * unchecked(localVerts[l]);
    const px = unchecked(P[v]) - cx, py = unchecked(P[v + 1]) - cy, pz = unchecked(P[v + 2]) - cz;
    unchecked((su[2 * l] = px * tx + py * ty + pz * tz));
    unchecked((su[2 * l + 1] = px * bx + py * by + pz * bz));
  }
}

/** out = Mᵀ M x for the LSCM energy (see the reference's lscm()). */
function lscmApply(nf: i32, coef: StaticArray<f64>, x: StaticArray<f64>, out: StaticArray<f64>, n2: i32): void {
  for (let k = 0; k < n2; k++) unchecked((out[k] = 0));
  for (let i = 0; i < nf; i++) {
    const o = 7 * i;
    const w = unchecked(coef[o + 6]);
    if (w == 0) continue;
    const l0 = 2 * unchecked(cornerLocal[3 * i]), l1 = 2 * unchecked(cornerLocal[3 * i + 1]), l2 = 2 * unchecked(cornerLocal[3 * i + 2]);
    const a0 = unchecked(coef[o]), b0 = unchecked(coef[o + 1]), a1 = unchecked(coef[o + 2]), b1 = unchecked(coef[o + 3]), a2 = unchecked(coef[o + 4]), b2 = unchecked(coef[o + 5]);
    const u0 = unchecked(x[l0]), v0 = unchecked(x[l0 + 1]), u1 = unchecked(x[l1]), v1 = unchecked(x[l1 + 1]), u2 = unchecked(x[l2]), v2 = unchecked(x[l2 + 1]);
    const re = (u0 * a0 - v0 * b0 + (u1 * a1 - v1 * b1) + (u2 * a2 - v2 * b2)) * w;
    const im = (u0 * b0 + v0 * a0 + (u1 * b1 + v1 * a1) + (u2 * b2 + v2 * a2)) * w;
    unchecked((out[l0] += a0 * re + b0 * im));
    unchecked((out[l0 + 1] += a0 * im - b0 * re));
    unchecked((out[l1] += a1 * re + b1 * im));
    unchecked((out[l1 + 1] += a1 * im - b1 * re));
    unchecked((out[l2] += a2 * re + b2 * im));
    unchecked((out[l2 + 1] += a2 * im - b2 * re));
  }
}

function lscm(faces: StaticArray<i32>, nLocal: i32): void {
  const nf = faces.length;
  const n2 = 2 * nLocal;
  const coef = new StaticArray<f64>(nf * 7);
  const diag = new StaticArray<f64>(n2);
  for (let i = 0; i < nf; i++) {
    const f = unchecked(faces[i]);
    if (unchecked(degenerate[f]) == 1) continue;
    const p0 = 3 * unchecked(I[3 * f]), p1 = 3 * unchecked(I[3 * f + 1]), p2 = 3 * unchecked(I[3 * f + 2]);
    const e1x = unchecked(P[p1]) - unchecked(P[p0]), e1y = unchecked(P[p1 + 1]) - unchecked(P[p0 + 1]), e1z = unchecked(P[p1 + 2]) - unchecked(P[p0 + 2]);
    const l1 = Math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z);
    const ex = e1x / l1, ey = e1y / l1, ez = e1z / l1;
    const nx = unchecked(N[3 * f]), ny = unchecked(N[3 * f + 1]), nz = unchecked(N[3 * f + 2]);
    const fx = ny * ez - nz * ey, fy = nz * ex - nx * ez, fz = nx * ey - ny * ex;
    const e2x = unchecked(P[p2]) - unchecked(P[p0]), e2y = unchecked(P[p2 + 1]) - unchecked(P[p0 + 1]), e2z = unchecked(P[p2 + 2]) - unchecked(P[p0 + 2]);
    const z2x = e2x * ex + e2y * ey + e2z * ez, z2y = e2x * fx + e2y * fy + e2z * fz;
    const o = 7 * i;
    unchecked((coef[o] = l1 - z2x));
    unchecked((coef[o + 1] = -z2y));
    unchecked((coef[o + 2] = z2x));
    unchecked((coef[o + 3] = z2y));
    unchecked((coef[o + 4] = -l1));
    unchecked((coef[o + 5] = 0));
    const w = 1 / unchecked(A[f]);
    unchecked((coef[o + 6] = w));
    for (let j = 0; j < 3; j++) {
      const a = unchecked(coef[o + 2 * j]), b = unchecked(coef[o + 2 * j + 1]);
      const l = unchecked(cornerLocal[3 * i + j]);
      unchecked((diag[2 * l] += w * (a * a + b * b)));
      unchecked((diag[2 * l + 1] += w * (a * a + b * b)));
    }
  }
  let pin0 = 0;
  let best: f64 = -1;
  for (let l = 0; l < nLocal; l++) {
    const d = unchecked(su[2 * l]) * unchecked(su[2 * l]) + unchecked(su[2 * l + 1]) * unchecked(su[2 * l + 1]);
    if (d > best) {
      best = d;
      pin0 = l;
    }
  }
  let pin1 = 0;
  best = -1;
  for (let l = 0; l < nLocal; l++) {
    const du = unchecked(su[2 * l]) - unchecked(su[2 * pin0]), dv = unchecked(su[2 * l + 1]) - unchecked(su[2 * pin0 + 1]);
    const d = du * du + dv * dv;
    if (d > best) {
      best = d;
      pin1 = l;
    }
  }
  for (let k = 0; k < n2; k++) unchecked((sx[k] = unchecked(su[k])));
  const invD = new StaticArray<f64>(n2);
  for (let k = 0; k < n2; k++) unchecked((invD[k] = unchecked(diag[k]) > 0 ? 1 / unchecked(diag[k]) : 0));
  unchecked((invD[2 * pin0] = 0));
  unchecked((invD[2 * pin0 + 1] = 0));
  unchecked((invD[2 * pin1] = 0));
  unchecked((invD[2 * pin1 + 1] = 0));
  const r = new StaticArray<f64>(n2);
  const z = new StaticArray<f64>(n2);
  const d = new StaticArray<f64>(n2);
  const q = new StaticArray<f64>(n2);
  lscmApply(nf, coef, sx, r, n2);
  for (let k = 0; k < n2; k++) unchecked((r[k] = unchecked(invD[k]) > 0 ? -unchecked(r[k]) : 0));
  let rz: f64 = 0;
  for (let k = 0; k < n2; k++) {
    const zk = unchecked(r[k]) * unchecked(invD[k]);
    unchecked((z[k] = zk));
    unchecked((d[k] = zk));
    rz += unchecked(r[k]) * zk;
  }
  const stop = rz * cgTolerance * cgTolerance;
  for (let it = 0; it < cgMaxIterations && rz > stop; it++) {
    lscmApply(nf, coef, d, q, n2);
    let dq: f64 = 0;
    for (let k = 0; k < n2; k++) {
      if (unchecked(invD[k]) == 0) unchecked((q[k] = 0));
      dq += unchecked(d[k]) * unchecked(q[k]);
    }
    if (!(dq > 0)) break;
    const alpha = rz / dq;
    let rzNew: f64 = 0;
    for (let k = 0; k < n2; k++) {
      unchecked((sx[k] += alpha * unchecked(d[k])));
      const rk = unchecked(r[k]) - alpha * unchecked(q[k]);
      unchecked((r[k] = rk));
      const zk = rk * unchecked(invD[k]);
      unchecked((z[k] = zk));
      rzNew += rk * zk;
    }
    const beta = rzNew / rz;
    rz = rzNew;
    for (let k = 0; k < n2; k++) unchecked((d[k] = unchecked(z[k]) + beta * unchecked(d[k])));
  }
}

function farthestFace(faces: StaticArray<i32>, x: f64, y: f64, z: f64, skip: i32): i32 {
  let best = -1;
  let bestD: f64 = -1;
  const n = faces.length;
  for (let i = 0; i < n; i++) {
    const f = unchecked(faces[i]);
    if (f == skip) continue;
    const dx = unchecked(C[3 * f]) - x, dy = unchecked(C[3 * f + 1]) - y, dz = unchecked(C[3 * f + 2]) - z;
    const d = dx * dx + dy * dy + dz * dz;
    if (d > bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

let splitA = new StaticArray<i32>(0);
let splitB = new StaticArray<i32>(0);

function splitPiece(faces: StaticArray<i32>): void {
  const n = faces.length;
  const st = ++stamp;
  let cx: f64 = 0, cy: f64 = 0, cz: f64 = 0;
  for (let i = 0; i < n; i++) {
    const f = unchecked(faces[i]);
    unchecked((mark[f] = st));
    unchecked((label[f] = -1));
    cx += unchecked(C[3 * f]);
    cy += unchecked(C[3 * f + 1]);
    cz += unchecked(C[3 * f + 2]);
  }
  cx /= <f64>n;
  cy /= <f64>n;
  cz /= <f64>n;
  const seedA = farthestFace(faces, cx, cy, cz, -1);
  const seedB = farthestFace(faces, unchecked(C[3 * seedA]), unchecked(C[3 * seedA + 1]), unchecked(C[3 * seedA + 2]), seedA);
  const queue = new StaticArray<i32>(2 * n);
  let headA = 0, tailA = 0, headB = n, tailB = n;
  unchecked((queue[tailA++] = seedA));
  unchecked((label[seedA] = 0));
  unchecked((queue[tailB++] = seedB));
  unchecked((label[seedB] = 1));
  while (headA < tailA || headB < tailB) {
    if (headA < tailA) {
      const f = unchecked(queue[headA++]);
      for (let k = 0; k < 3; k++) {
        const h = unchecked(adj[3 * f + k]);
        if (h >= 0 && unchecked(mark[h]) == st && unchecked(label[h]) < 0) {
          unchecked((label[h] = 0));
          unchecked((queue[tailA++] = h));
        }
      }
    }
    if (headB < tailB) {
      const f = unchecked(queue[headB++]);
      for (let k = 0; k < 3; k++) {
        const h = unchecked(adj[3 * f + k]);
        if (h >= 0 && unchecked(mark[h]) == st && unchecked(label[h]) < 0) {
          unchecked((label[h] = 1));
          unchecked((queue[tailB++] = h));
        }
      }
    }
  }
  let nb = 0;
  for (let i = 0; i < n; i++) if (unchecked(label[unchecked(faces[i])]) == 1) nb++;
  splitA = new StaticArray<i32>(n - nb);
  splitB = new StaticArray<i32>(nb);
  let ia = 0, ib = 0;
  for (let i = 0; i < n; i++) {
    const f = unchecked(faces[i]);
    if (unchecked(label[f]) == 1) unchecked((splitB[ib++] = f));
    else unchecked((splitA[ia++] = f));
  }
}

function emitChart(faces: StaticArray<i32>, nLocal: i32, uv: StaticArray<f64>, method: i32): void {
  const chart = atlasChartStart.length;
  const base = atlasVertexCount;
  atlasChartStart.push(base);
  atlasChartVerts.push(nLocal);
  atlasChartMethod.push(method);
  atlasChartFaceStart.push(atlasChartFaceFill);
  for (let l = 0; l < nLocal; l++) {
    unchecked((atlasVertexMap[base + l] = unchecked(localVerts[l])));
    unchecked((atlasUv[2 * (base + l)] = unchecked(uv[2 * l])));
    unchecked((atlasUv[2 * (base + l) + 1] = unchecked(uv[2 * l + 1])));
  }
  atlasVertexCount += nLocal;
  const n = faces.length;
  for (let i = 0; i < n; i++) {
    const f = unchecked(faces[i]);
    unchecked((atlasFaceChart[f] = chart));
    unchecked((atlasChartFaces[atlasChartFaceFill++] = f));
    for (let k = 0; k < 3; k++) unchecked((atlasCorner[3 * f + k] = base + unchecked(cornerLocal[3 * i + k])));
  }
}

function parameterise(): void {
  atlasVertexMap = new StaticArray<i32>(3 * nF);
  atlasUv = new StaticArray<f64>(6 * nF);
  atlasVertexCount = 0;
  atlasCorner = new StaticArray<i32>(3 * nF);
  atlasFaceChart = new StaticArray<i32>(nF);
  atlasChartStart = new Array<i32>();
  atlasChartVerts = new Array<i32>();
  atlasChartMethod = new Array<i32>();
  atlasChartFaceStart = new Array<i32>();
  atlasChartFaces = new StaticArray<i32>(nF);
  atlasChartFaceFill = 0;
  localOf = new StaticArray<i32>(nV);
  for (let v = 0; v < nV; v++) unchecked((localOf[v] = -1));
  localVerts = new StaticArray<i32>(nV);
  cornerLocal = new StaticArray<i32>(3 * nF);
  su = new StaticArray<f64>(2 * nV);
  sx = new StaticArray<f64>(2 * nV);
  mark = new StaticArray<i32>(nF);
  label = new StaticArray<i32>(nF);
  stamp = 0;

  const nc = segChartCount;
  const start = new StaticArray<i32>(nc + 1);
  for (let f = 0; f < nF; f++) unchecked(start[unchecked(chartOf[f]) + 1]++);
  for (let c = 0; c < nc; c++) unchecked((start[c + 1] += unchecked(start[c])));
  const fill = new StaticArray<i32>(nc);
  for (let c = 0; c < nc; c++) unchecked((fill[c] = unchecked(start[c])));
  const byChart = new StaticArray<i32>(nF);
  for (let f = 0; f < nF; f++) {
    const c = unchecked(chartOf[f]);
    unchecked((byChart[unchecked(fill[c])] = f));
    unchecked(fill[c]++);
  }

  const stack = new Array<StaticArray<i32>>();
  for (let c = 0; c < nc; c++) {
    const s0 = unchecked(start[c]), s1 = unchecked(start[c + 1]);
    const first = new StaticArray<i32>(s1 - s0);
    for (let i = s0; i < s1; i++) unchecked((first[i - s0] = unchecked(byChart[i])));
    stack.push(first);
    while (stack.length > 0) {
      const faces = stack.pop();
      const n = faces.length;
      let nLocal = 0;
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < 3; k++) {
          const v = unchecked(I[3 * unchecked(faces[i]) + k]);
          if (unchecked(localOf[v]) < 0) {
            unchecked((localOf[v] = nLocal));
            unchecked((localVerts[nLocal++] = v));
          }
          unchecked((cornerLocal[3 * i + k] = unchecked(localOf[v])));
        }
      }
      for (let l = 0; l < nLocal; l++) unchecked((localOf[unchecked(localVerts[l])] = -1));

      planarProject(faces, nLocal);
      const planar = pieceStretch(faces, su);
      let method = -1;
      if (planar <= planarMaxStretch) method = CHART_PLANAR;
      else {
        let conformal: f64 = Infinity;
        if (nLocal >= 3) {
          lscm(faces, nLocal);
          conformal = pieceStretch(faces, sx);
        }
        if (conformal <= maxStretch && conformal <= planar) method = CHART_LSCM;
        else if (planar <= maxStretch) method = CHART_PLANAR;
      }
      if (method < 0 && n > 1) {
        splitPiece(faces);
        stack.push(splitB);
        stack.push(splitA);
        continue;
      }
      if (method < 0) method = CHART_PLANAR;
      emitChart(faces, nLocal, method == CHART_LSCM ? sx : su, method);
    }
  }
}

// --- packing ------------------------------------------------------------------------------

function cross(uv: StaticArray<f64>, o: i32, a: i32, b: i32): f64 {
  return (unchecked(uv[2 * a]) - unchecked(uv[2 * o])) * (unchecked(uv[2 * b + 1]) - unchecked(uv[2 * o + 1])) - (unchecked(uv[2 * a + 1]) - unchecked(uv[2 * o + 1])) * (unchecked(uv[2 * b]) - unchecked(uv[2 * o]));
}

let packX = new StaticArray<f64>(0);
let packY = new StaticArray<f64>(0);

function shelfFits(order: StaticArray<i32>, W: StaticArray<f64>, H: StaticArray<f64>, scale: f64, size: f64, pad: f64): bool {
  let x: f64 = 0, y: f64 = 0, shelf: f64 = 0;
  const n = order.length;
  for (let i = 0; i < n; i++) {
    const c = unchecked(order[i]);
    const w = Math.ceil(unchecked(W[c]) * scale) + 2 * pad, h = Math.ceil(unchecked(H[c]) * scale) + 2 * pad;
    if (w > size) return false;
    if (x + w > size) {
      y += shelf;
      x = 0;
      shelf = 0;
    }
    unchecked((packX[c] = x));
    unchecked((packY[c] = y));
    x += w;
    if (h > shelf) shelf = h;
  }
  return y + shelf <= size;
}

function pack(): bool {
  const nc = atlasChartStart.length;
  const W = new StaticArray<f64>(nc), H = new StaticArray<f64>(nc);
  const uv = atlasUv;
  const hull = new StaticArray<i32>(2 * atlasVertexCount + 2);
  const sorted = new StaticArray<i32>(atlasVertexCount);
  for (let c = 0; c < nc; c++) {
    const v0 = unchecked(atlasChartStart[c]), nv = unchecked(atlasChartVerts[c]);
    const f0 = unchecked(atlasChartFaceStart[c]), f1 = c + 1 < nc ? unchecked(atlasChartFaceStart[c + 1]) : atlasChartFaceFill;
    let area3: f64 = 0, areaUv: f64 = 0;
    for (let i = f0; i < f1; i++) {
      const f = unchecked(atlasChartFaces[i]);
      const a = unchecked(atlasCorner[3 * f]), b = unchecked(atlasCorner[3 * f + 1]), cc = unchecked(atlasCorner[3 * f + 2]);
      area3 += unchecked(A[f]);
      areaUv += 0.5 * Math.abs((unchecked(uv[2 * b]) - unchecked(uv[2 * a])) * (unchecked(uv[2 * cc + 1]) - unchecked(uv[2 * a + 1])) - (unchecked(uv[2 * cc]) - unchecked(uv[2 * a])) * (unchecked(uv[2 * b + 1]) - unchecked(uv[2 * a + 1])));
    }
    const scale = area3 > 0 && areaUv > 0 ? Math.sqrt(area3 / areaUv) : 1;
    for (let k = 2 * v0; k < 2 * (v0 + nv); k++) unchecked((uv[k] *= scale));
    for (let i = 0; i < nv; i++) unchecked((sorted[i] = v0 + i));
    sortKey = uv;
    sortOrder = ORDER_POINT;
    heapSort(sorted, nv);
    let h = 0;
    for (let i = 0; i < nv; i++) {
      const q = unchecked(sorted[i]);
      while (h >= 2 && cross(uv, unchecked(hull[h - 2]), unchecked(hull[h - 1]), q) <= 0) h--;
      unchecked((hull[h++] = q));
    }
    const lower = h + 1;
    for (let i = nv - 2; i >= 0; i--) {
      const q = unchecked(sorted[i]);
      while (h >= lower && cross(uv, unchecked(hull[h - 2]), unchecked(hull[h - 1]), q) <= 0) h--;
      unchecked((hull[h++] = q));
    }
    if (h > 1) h--;
    let ex: f64 = 1, ey: f64 = 0, bestArea: f64 = Infinity;
    for (let i = 0; i < h; i++) {
      const a = unchecked(hull[i]), b = unchecked(hull[i + 1 < h ? i + 1 : 0]);
      const dx = unchecked(uv[2 * b]) - unchecked(uv[2 * a]), dy = unchecked(uv[2 * b + 1]) - unchecked(uv[2 * a + 1]);
      const len = Math.sqrt(dx * dx + dy * dy);
      if (!(len > 0)) continue;
      const cx = dx / len, cy = dy / len;
      let minA: f64 = Infinity, maxA: f64 = -Infinity, minB: f64 = Infinity, maxB: f64 = -Infinity;
      for (let j = 0; j < h; j++) {
        const q = unchecked(hull[j]);
        const pa = unchecked(uv[2 * q]) * cx + unchecked(uv[2 * q + 1]) * cy;
        const pb = unchecked(uv[2 * q + 1]) * cx - unchecked(uv[2 * q]) * cy;
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
    let minA: f64 = Infinity, maxA: f64 = -Infinity, minB: f64 = Infinity, maxB: f64 = -Infinity;
    for (let i = v0; i < v0 + nv; i++) {
      const a = unchecked(uv[2 * i]) * ex + unchecked(uv[2 * i + 1]) * ey;
      const b = unchecked(uv[2 * i + 1]) * ex - unchecked(uv[2 * i]) * ey;
      unchecked((uv[2 * i] = a));
      unchecked((uv[2 * i + 1] = b));
      if (a < minA) minA = a;
      if (a > maxA) maxA = a;
      if (b < minB) minB = b;
      if (b > maxB) maxB = b;
    }
    const w = maxA - minA, hh = maxB - minB;
    if (hh > w) {
      for (let i = v0; i < v0 + nv; i++) {
        const a = unchecked(uv[2 * i]), b = unchecked(uv[2 * i + 1]);
        unchecked((uv[2 * i] = maxB - b));
        unchecked((uv[2 * i + 1] = a - minA));
      }
      unchecked((W[c] = hh));
      unchecked((H[c] = w));
    } else {
      for (let i = v0; i < v0 + nv; i++) {
        unchecked((uv[2 * i] -= minA));
        unchecked((uv[2 * i + 1] -= minB));
      }
      unchecked((W[c] = w));
      unchecked((H[c] = hh));
    }
  }

  const order = new StaticArray<i32>(nc);
  for (let c = 0; c < nc; c++) unchecked((order[c] = c));
  const key = new StaticArray<f64>(nc);
  for (let c = 0; c < nc; c++) unchecked((key[c] = -unchecked(H[c])));
  sortKey = key;
  sortKey2 = W;
  sortOrder = ORDER_SHELF;
  heapSort(order, nc);
  const size = textureSize, pad = padding;
  packX = new StaticArray<f64>(nc);
  packY = new StaticArray<f64>(nc);
  if (!shelfFits(order, W, H, 0, size, pad)) return false;
  let total: f64 = 0, maxDim: f64 = 0;
  for (let c = 0; c < nc; c++) {
    total += unchecked(W[c]) * unchecked(H[c]);
    if (unchecked(W[c]) > maxDim) maxDim = unchecked(W[c]);
    if (unchecked(H[c]) > maxDim) maxDim = unchecked(H[c]);
  }
  let hi: f64 = maxDim > 0 ? size / maxDim : 1;
  if (total > 0 && size / Math.sqrt(total) < hi) hi = size / Math.sqrt(total);
  let scale = hi;
  if (!shelfFits(order, W, H, hi, size, pad)) {
    let lo: f64 = 0;
    for (let it = 0; it < 40; it++) {
      const mid = 0.5 * (lo + hi);
      if (shelfFits(order, W, H, mid, size, pad)) lo = mid;
      else hi = mid;
    }
    scale = lo;
    shelfFits(order, W, H, scale, size, pad);
  }
  for (let c = 0; c < nc; c++) {
    const v0 = unchecked(atlasChartStart[c]), nv = unchecked(atlasChartVerts[c]);
    const ox = unchecked(packX[c]) + pad, oy = unchecked(packY[c]) + pad;
    for (let i = v0; i < v0 + nv; i++) {
      unchecked((uv[2 * i] = (ox + unchecked(uv[2 * i]) * scale) / size));
      unchecked((uv[2 * i + 1] = (oy + unchecked(uv[2 * i + 1]) * scale) / size));
    }
  }
  return true;
}

// --- entry ---------------------------------------------------------------------------------

/** Unwraps the mesh at posPtr ([V,3] f32) / idxPtr ([F,3] u32, validated by the host). Returns a status. */
export function unwrap(
  posPtr: usize,
  vertexCount: i32,
  idxPtr: usize,
  faceCount: i32,
  textureSize_: f64,
  padding_: f64,
  cosMaxChartAngle_: f64,
  maxChartFaces_: i32,
  compactness_: f64,
  mergeAreaFraction_: f64,
  cosMergeMaxAngle_: f64,
  planarMaxStretch_: f64,
  maxStretch_: f64,
  cgMaxIterations_: i32,
  cgTolerance_: f64,
): i32 {
  textureSize = textureSize_;
  padding = padding_;
  cosMaxChartAngle = cosMaxChartAngle_;
  maxChartFaces = maxChartFaces_;
  compactness = compactness_;
  mergeAreaFraction = mergeAreaFraction_;
  cosMergeMaxAngle = cosMergeMaxAngle_;
  planarMaxStretch = planarMaxStretch_;
  maxStretch = maxStretch_;
  cgMaxIterations = cgMaxIterations_;
  cgTolerance = cgTolerance_;
  nV = vertexCount;
  nF = faceCount;
  heapKey = new StaticArray<f64>(64);
  heapFace = new StaticArray<i32>(64);
  heapSize = 0;

  buildGeo(posPtr, idxPtr);
  segment();
  parameterise();
  if (!pack()) return STATUS_TOO_MANY_CHARTS;

  const nv = atlasVertexCount;
  const nc = atlasChartStart.length;
  outVertexCountValue = nv;
  outChartCountValue = nc;
  outVertexMapArr = new StaticArray<u32>(nv);
  outUvsArr = new StaticArray<f32>(2 * nv);
  for (let i = 0; i < nv; i++) {
    unchecked((outVertexMapArr[i] = <u32>unchecked(atlasVertexMap[i])));
    unchecked((outUvsArr[2 * i] = <f32>unchecked(atlasUv[2 * i])));
    unchecked((outUvsArr[2 * i + 1] = <f32>unchecked(atlasUv[2 * i + 1])));
  }
  outIndicesArr = new StaticArray<u32>(3 * nF);
  for (let i = 0; i < 3 * nF; i++) unchecked((outIndicesArr[i] = <u32>unchecked(atlasCorner[i])));
  outFaceChartArr = new StaticArray<u32>(nF);
  for (let f = 0; f < nF; f++) unchecked((outFaceChartArr[f] = <u32>unchecked(atlasFaceChart[f])));
  outChartMethodArr = new StaticArray<u8>(nc);
  for (let c = 0; c < nc; c++) unchecked((outChartMethodArr[c] = <u8>unchecked(atlasChartMethod[c])));
  return STATUS_OK;
}
