// UV unwrapping of a welded triangle mesh: the typed wrapper around
// asm/uv_unwrap (WASM), the options shared with its CPU reference
// (uv_unwrap_ref.ts, `refUvUnwrap`), input validation, and `uvQuality`, the
// numbers the report prints (packing efficiency, stretch, charts, flips).
// Host-agnostic: no DOM, no node: imports; the module comes from the shared
// loader (wasm.ts), which the caller feeds with asm/build/uv_unwrap.wasm.
//
// Pipeline (the same in both implementations, see asm/README.md):
//   segment   region growing over face adjacency: a face joins a chart while its
//             normal stays within `maxChartAngleDeg` of the chart's mean normal,
//             cheapest first (normal deviation + compactness); tiny charts merge
//             into the neighbour with the longest shared border;
//   param     per chart: projection onto its mean plane when its L2 stretch is
//             low, else LSCM (conjugate gradients, two pinned vertices); a
//             chart whose result flips or stretches too much is split in two
//             and each half retried;
//   pack      each chart scaled to its 3D area, rotated to its minimal-area
//             bounding box, shelf-packed by height into a textureSize² atlas
//             with `padding` empty texels around every chart;
//   split     one output vertex per (input vertex, chart): seams get copies.
import type { AsmExports, AsmModule } from './wasm.ts';

/** Input: a welded triangle mesh. */
export interface UvMesh {
  /** [V,3] f32 positions. */
  positions: Float32Array;
  /** [F,3] u32 vertex indices (counter-clockwise seen from outside). */
  indices: Uint32Array;
}

export interface UvUnwrapOptions {
  /** Atlas size in texels (square); padding is measured in these texels. Default 1024. */
  textureSize?: number;
  /** Empty texels around every chart (two charts are >= 2·padding apart). Default 2. */
  padding?: number;
  /** Normal cone: a face joins a chart only within this angle of the chart's mean normal. Default 60. */
  maxChartAngleDeg?: number;
  /** Cap on faces per chart during growth; 0 = no cap. Default 0. */
  maxChartFaces?: number;
  /** Weight of distance-from-seed (relative to the chart's radius) in the growth order. Default 0.5. */
  compactness?: number;
  /** Charts with less than this fraction of the total area merge into a neighbour. Default 0.002. */
  mergeAreaFraction?: number;
  /** ...if all their faces lie within this angle of the neighbour's mean normal. Default 80. */
  mergeMaxAngleDeg?: number;
  /** Planar projection is kept when the chart's normalised L2 stretch is at most this. Default 1.1. */
  planarMaxStretch?: number;
  /** A chart whose best parameterisation stretches more (L2) or flips is split. Default 1.5. */
  maxStretch?: number;
  /** LSCM conjugate-gradient iteration cap. Default 2000. */
  cgMaxIterations?: number;
  /** LSCM stops when the preconditioned residual falls below this fraction of the first. Default 1e-6. */
  cgTolerance?: number;
}

/** Options with every field resolved; angles as cosines (computed once on the host, so WASM and reference see the same bits). */
export interface UvUnwrapParams {
  textureSize: number;
  padding: number;
  cosMaxChartAngle: number;
  maxChartFaces: number;
  compactness: number;
  mergeAreaFraction: number;
  cosMergeMaxAngle: number;
  planarMaxStretch: number;
  maxStretch: number;
  cgMaxIterations: number;
  cgTolerance: number;
}

export const UV_UNWRAP_DEFAULTS: Required<UvUnwrapOptions> = {
  textureSize: 1024,
  padding: 2,
  maxChartAngleDeg: 60,
  maxChartFaces: 0,
  compactness: 0.5,
  mergeAreaFraction: 0.002,
  mergeMaxAngleDeg: 80,
  planarMaxStretch: 1.1,
  maxStretch: 1.5,
  cgMaxIterations: 2000,
  cgTolerance: 1e-6,
};

/** Parameterisation a chart ended with (`chartMethod`). */
export const CHART_PLANAR = 0;
export const CHART_LSCM = 1;

export interface UvUnwrapResult {
  /** [V',3] f32 positions of the output vertices (copies of input positions). */
  positions: Float32Array;
  /** [V'] u32 input vertex of each output vertex (vertices on seams appear once per chart). */
  vertexMap: Uint32Array;
  /** [F,3] u32 indices into the output vertices; face f is input face f. */
  indices: Uint32Array;
  /** [V',2] f32 texture coordinates in [0,1]², (0,0) at texel (0,0)'s corner, u along the first axis. */
  uvs: Float32Array;
  /** [F] u32 chart of each face. */
  faceChart: Uint32Array;
  chartCount: number;
  /** [C] u8 CHART_PLANAR or CHART_LSCM per chart. */
  chartMethod: Uint8Array;
  textureSize: number;
  padding: number;
}

const finiteIn = (name: string, v: number, lo: number, hi: number, integer = false): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw new RangeError(`uv_unwrap options.${name}: ${String(v)} is not ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
  }
  return v;
};

export function resolveUvUnwrapOptions(options: UvUnwrapOptions = {}): UvUnwrapParams {
  const o = { ...UV_UNWRAP_DEFAULTS, ...options };
  const deg = Math.PI / 180;
  const textureSize = finiteIn('textureSize', o.textureSize, 1, 1 << 16, true);
  return {
    textureSize,
    padding: finiteIn('padding', o.padding, 0, Math.floor((textureSize - 1) / 2), true),
    cosMaxChartAngle: Math.cos(finiteIn('maxChartAngleDeg', o.maxChartAngleDeg, 0, 89, false) * deg),
    maxChartFaces: finiteIn('maxChartFaces', o.maxChartFaces, 0, 2 ** 31 - 1, true),
    compactness: finiteIn('compactness', o.compactness, 0, 1e6),
    mergeAreaFraction: finiteIn('mergeAreaFraction', o.mergeAreaFraction, 0, 1),
    cosMergeMaxAngle: Math.cos(finiteIn('mergeMaxAngleDeg', o.mergeMaxAngleDeg, 0, 89) * deg),
    planarMaxStretch: finiteIn('planarMaxStretch', o.planarMaxStretch, 1, 1e6),
    maxStretch: finiteIn('maxStretch', o.maxStretch, 1, 1e6),
    cgMaxIterations: finiteIn('cgMaxIterations', o.cgMaxIterations, 0, 1e7, true),
    cgTolerance: finiteIn('cgTolerance', o.cgTolerance, 0, 1),
  };
}

/** Throws an error naming the field when the mesh cannot be unwrapped (before any work). */
export function validateUvMesh(mesh: UvMesh, where = 'mesh'): void {
  const { positions, indices } = mesh;
  if (!(positions instanceof Float32Array)) throw new TypeError(`${where}.positions: expected a Float32Array [V,3]`);
  if (!(indices instanceof Uint32Array)) throw new TypeError(`${where}.indices: expected a Uint32Array [F,3]`);
  if (positions.length % 3 !== 0) throw new RangeError(`${where}.positions: length ${positions.length} is not a multiple of 3`);
  if (indices.length % 3 !== 0) throw new RangeError(`${where}.indices: length ${indices.length} is not a multiple of 3`);
  const V = positions.length / 3;
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i]!)) throw new RangeError(`${where}.positions[${i}]: ${positions[i]} is not finite (vertex ${Math.floor(i / 3)})`);
  }
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! >= V) throw new RangeError(`${where}.indices[${i}]: ${indices[i]} is out of range (V = ${V}, face ${Math.floor(i / 3)})`);
  }
  if (indices.length / 3 > 0x3fffffff) throw new RangeError(`${where}.indices: too many faces (${indices.length / 3})`);
}

/** Copies a per-vertex attribute ([V,k]) to the output vertices ([V',k]) through `vertexMap`. */
export function remapVertexAttribute<T extends Float32Array | Uint32Array | Uint8Array>(values: T, vertexMap: Uint32Array, components: number): T {
  const Ctor = values.constructor as new (n: number) => T;
  const out = new Ctor(vertexMap.length * components);
  for (let i = 0; i < vertexMap.length; i++) {
    const src = vertexMap[i]! * components;
    for (let k = 0; k < components; k++) out[i * components + k] = values[src + k]!;
  }
  return out;
}

// ---------------------------------------------------------------------------
// WASM binding, on the shared asm/ loader (wasm.ts: reset, alloc, copy in,
// call, copy out). Load with loadAsm('uv_unwrap', bytes) or, in Node,
// loadAsmFile('uv_unwrap') (wasm_file.ts).

export interface UvUnwrapExports extends AsmExports {
  unwrap(
    positions: number,
    vertexCount: number,
    indices: number,
    faceCount: number,
    textureSize: number,
    padding: number,
    cosMaxChartAngle: number,
    maxChartFaces: number,
    compactness: number,
    mergeAreaFraction: number,
    cosMergeMaxAngle: number,
    planarMaxStretch: number,
    maxStretch: number,
    cgMaxIterations: number,
    cgTolerance: number,
  ): number;
  outVertexCount(): number;
  outChartCount(): number;
  outVertexMap(): number;
  outIndices(): number;
  outUvs(): number;
  outFaceChart(): number;
  outChartMethod(): number;
}

/** Status codes of `unwrap` (shared with the reference's errors). */
export const UV_STATUS_OK = 0;
export const UV_STATUS_TOO_MANY_CHARTS = 1;

export function uvStatusMessage(status: number, params: UvUnwrapParams): string {
  if (status === UV_STATUS_TOO_MANY_CHARTS) {
    return `uv_unwrap: the charts do not fit a ${params.textureSize}² atlas with padding ${params.padding} even at zero size (too many charts; raise textureSize or lower padding)`;
  }
  return `uv_unwrap: failed with status ${status}`;
}

/** Positions of the output vertices from the input positions and the vertex map. */
export function splitPositions(positions: Float32Array, vertexMap: Uint32Array): Float32Array {
  return remapVertexAttribute(positions, vertexMap, 3);
}

/** Unwraps `mesh` with the WASM build (asm/uv_unwrap); same result as refUvUnwrap. Throws on bad input before any work. */
export function uvUnwrap(mod: AsmModule<UvUnwrapExports>, mesh: UvMesh, options?: UvUnwrapOptions): UvUnwrapResult {
  validateUvMesh(mesh);
  const p = resolveUvUnwrapOptions(options);
  const e = mod.exports;
  const V = mesh.positions.length / 3;
  const F = mesh.indices.length / 3;
  mod.reset();
  const posPtr = mod.copyIn(mesh.positions);
  const idxPtr = mod.copyIn(mesh.indices);
  const status = e.unwrap(
    posPtr,
    V,
    idxPtr,
    F,
    p.textureSize,
    p.padding,
    p.cosMaxChartAngle,
    p.maxChartFaces,
    p.compactness,
    p.mergeAreaFraction,
    p.cosMergeMaxAngle,
    p.planarMaxStretch,
    p.maxStretch,
    p.cgMaxIterations,
    p.cgTolerance,
  );
  if (status !== UV_STATUS_OK) throw new Error(uvStatusMessage(status, p));
  const Vo = e.outVertexCount();
  const C = e.outChartCount();
  const vertexMap = mod.u32(e.outVertexMap(), Vo);
  return {
    positions: splitPositions(mesh.positions, vertexMap),
    vertexMap,
    indices: mod.u32(e.outIndices(), F * 3),
    uvs: mod.f32(e.outUvs(), Vo * 2),
    faceChart: mod.u32(e.outFaceChart(), F),
    chartCount: C,
    chartMethod: new Uint8Array(e.memory.buffer, e.outChartMethod(), C).slice(),
    textureSize: p.textureSize,
    padding: p.padding,
  };
}

// ---------------------------------------------------------------------------
// Quality: what the report prints about an atlas.

export interface UvQuality {
  chartCount: number;
  faces: number;
  /** Σ |UV area| over faces: the fraction of the unit square covered (packing efficiency). */
  packingEfficiency: number;
  /** Σ |UV area| / area of the UVs' bounding box. */
  boundingEfficiency: number;
  /**
   * Sander et al.'s L2 stretch over the whole atlas: area-weighted RMS of each
   * face's L2 stretch, normalised so that UV area = surface area (1 = isometric,
   * uniform texel density; larger = stretched or uneven). 3D-degenerate faces skipped.
   */
  stretchL2: number;
  /** Largest per-face L∞ stretch (largest singular value), same normalisation. */
  stretchLinfMax: number;
  /** Faces whose UV orientation disagrees with the majority (by area) of their chart, or with zero UV area. */
  flippedFaces: number;
  /** UV coordinates outside [0,1]. */
  outsideUnitSquare: number;
}

export function uvQuality(mesh: { positions: Float32Array; indices: Uint32Array; uvs: Float32Array; faceChart: Uint32Array }): UvQuality {
  const { positions: P, indices: I, uvs: T, faceChart } = mesh;
  const F = I.length / 3;
  let chartCount = 0;
  for (let f = 0; f < F; f++) chartCount = Math.max(chartCount, faceChart[f]! + 1);
  const signedByChart = new Float64Array(chartCount);
  const uvSigned = new Float64Array(F);
  const area3 = new Float64Array(F);
  let sumUv = 0;
  let sum3 = 0;
  for (let f = 0; f < F; f++) {
    const a = I[3 * f]!, b = I[3 * f + 1]!, c = I[3 * f + 2]!;
    const s = ((T[2 * b]! - T[2 * a]!) * (T[2 * c + 1]! - T[2 * a + 1]!) - (T[2 * c]! - T[2 * a]!) * (T[2 * b + 1]! - T[2 * a + 1]!)) / 2;
    uvSigned[f] = s;
    signedByChart[faceChart[f]!]! += s;
    const e1 = [P[3 * b]! - P[3 * a]!, P[3 * b + 1]! - P[3 * a + 1]!, P[3 * b + 2]! - P[3 * a + 2]!];
    const e2 = [P[3 * c]! - P[3 * a]!, P[3 * c + 1]! - P[3 * a + 1]!, P[3 * c + 2]! - P[3 * a + 2]!];
    const cx = e1[1]! * e2[2]! - e1[2]! * e2[1]!, cy = e1[2]! * e2[0]! - e1[0]! * e2[2]!, cz = e1[0]! * e2[1]! - e1[1]! * e2[0]!;
    area3[f] = Math.sqrt(cx * cx + cy * cy + cz * cz) / 2;
    sumUv += Math.abs(s);
    sum3 += area3[f]!;
  }
  const norm = sum3 > 0 ? Math.sqrt(sumUv / sum3) : 1;
  const eps = (1e-12 * sum3) / Math.max(F, 1);
  let flipped = 0, l2sum = 0, w = 0, linfMax = 0;
  for (let f = 0; f < F; f++) {
    if (area3[f]! <= eps) continue;
    const s = uvSigned[f]!;
    const major = signedByChart[faceChart[f]!]! >= 0 ? 1 : -1;
    if (s * major <= 0) {
      flipped++;
      continue;
    }
    const a = I[3 * f]!, b = I[3 * f + 1]!, c = I[3 * f + 2]!;
    const s1 = T[2 * a]!, t1 = T[2 * a + 1]!, s2 = T[2 * b]!, t2 = T[2 * b + 1]!, s3 = T[2 * c]!, t3 = T[2 * c + 1]!;
    const a2 = Math.abs(2 * s);
    let ss = 0, st = 0, tt = 0;
    for (let k = 0; k < 3; k++) {
      const d2 = P[3 * b + k]! - P[3 * a + k]!, d3 = P[3 * c + k]! - P[3 * a + k]!;
      const Ss = (d2 * (t3 - t1) + d3 * (t1 - t2)) / a2;
      const St = (d2 * (s1 - s3) + d3 * (s2 - s1)) / a2;
      ss += Ss * Ss;
      st += Ss * St;
      tt += St * St;
    }
    l2sum += ((ss + tt) / 2) * area3[f]!;
    w += area3[f]!;
    linfMax = Math.max(linfMax, Math.sqrt((ss + tt + Math.sqrt((ss - tt) ** 2 + 4 * st * st)) / 2));
  }
  let minU = Infinity, minV = Infinity, maxU = -Infinity, maxV = -Infinity, outside = 0;
  for (let i = 0; i < T.length; i += 2) {
    const u = T[i]!, v = T[i + 1]!;
    if (!(u >= 0 && u <= 1)) outside++;
    if (!(v >= 0 && v <= 1)) outside++;
    minU = Math.min(minU, u); maxU = Math.max(maxU, u);
    minV = Math.min(minV, v); maxV = Math.max(maxV, v);
  }
  const box = (maxU - minU) * (maxV - minV);
  return {
    chartCount,
    faces: F,
    packingEfficiency: sumUv,
    boundingEfficiency: box > 0 ? sumUv / box : 0,
    stretchL2: w > 0 ? Math.sqrt(l2sum / w) * norm : 1,
    stretchLinfMax: linfMax * norm,
    flippedFaces: flipped,
    outsideUnitSquare: outside,
  };
}
