// Small triangle-mesh builders for the procedural scenes: surfaces of revolution
// (UV sphere, capsule, capped cylinder), box, torus and an open plane strip, plus
// affine transforms, concatenation, free-form deformation and per-vertex normals.
// Closed primitives are closed 2-manifolds once seam vertices (same position,
// different uv) are welded, and are oriented outward: triangles counter-clockwise
// seen from outside, so the signed volume is positive. Pure TypeScript, no DOM.
import type { MeshData } from '../../harness/gt/mesh.ts';

/** A mesh plus what the builders track: `weld[v]` is the first vertex with v's exact position. */
export interface Part extends MeshData {
  weld: Uint32Array;
  /** Every edge (after welding) is shared by exactly two triangles. */
  closed: boolean;
}

/** 3x4 affine matrix, row-major: [r00 r01 r02 tx, r10 r11 r12 ty, r20 r21 r22 tz]. */
export type Mat = readonly number[];

const TAU = Math.PI * 2;

/** Exact-position welding: weld[v] = first vertex index with the same float32 position. */
export function weldByPosition(positions: Float32Array): Uint32Array {
  const n = positions.length / 3;
  const weld = new Uint32Array(n);
  const seen = new Map<string, number>();
  for (let v = 0; v < n; v++) {
    const key = `${positions[3 * v]},${positions[3 * v + 1]},${positions[3 * v + 2]}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, v);
      weld[v] = v;
    } else weld[v] = first;
  }
  return weld;
}

function finish(p: number[], n: number[], uv: number[], idx: number[], closed: boolean): Part {
  const positions = new Float32Array(p);
  const normals = new Float32Array(n);
  normalizeInPlace(normals);
  return { positions, normals, uvs: new Float32Array(uv), indices: new Uint32Array(idx), weld: weldByPosition(positions), closed };
}

function normalizeInPlace(a: Float32Array): void {
  for (let i = 0; i < a.length; i += 3) {
    const x = a[i]!, y = a[i + 1]!, z = a[i + 2]!;
    const l = Math.hypot(x, y, z);
    if (l > 0) {
      a[i] = x / l;
      a[i + 1] = y / l;
      a[i + 2] = z / l;
    } else {
      a[i] = 0;
      a[i + 1] = 1;
      a[i + 2] = 0;
    }
  }
}

/** One row of a surface of revolution around +y: height, radius (0 at a pole), outward normal (radial, axial) and v. */
export interface ProfileRow {
  y: number;
  r: number;
  nr: number;
  ny: number;
  v: number;
}

/**
 * Revolve a profile (rows ordered top to bottom, first and last with r = 0) around
 * the y axis with `segs` segments: closed. Bands between coincident rows (hard
 * edges, where only the normal changes) produce no triangles.
 */
export function revolve(rows: readonly ProfileRow[], segs: number): Part {
  const p: number[] = [], n: number[] = [], uv: number[] = [], idx: number[] = [];
  const cols = segs + 1;
  for (const row of rows) {
    for (let j = 0; j <= segs; j++) {
      const phi = (TAU * (j % segs)) / segs;
      const c = Math.cos(phi), s = Math.sin(phi);
      p.push(row.r * c, row.y, -row.r * s);
      n.push(row.nr * c, row.ny, -row.nr * s);
      uv.push(j / segs, row.v);
    }
  }
  for (let i = 0; i + 1 < rows.length; i++) {
    const a = rows[i]!, b = rows[i + 1]!;
    if (a.y === b.y && a.r === b.r) continue;
    for (let j = 0; j < segs; j++) {
      const v00 = i * cols + j, v10 = (i + 1) * cols + j, v11 = (i + 1) * cols + j + 1, v01 = i * cols + j + 1;
      if (b.r > 0) idx.push(v00, v10, v11);
      if (a.r > 0) idx.push(v00, v11, v01);
    }
  }
  return finish(p, n, uv, idx, true);
}

/** UV sphere of radius r centred at the origin (poles on ±y). */
export function sphere(r: number, segs = 24, rings = 12): Part {
  const rows: ProfileRow[] = [];
  for (let i = 0; i <= rings; i++) {
    const th = (Math.PI * i) / rings;
    const st = i === 0 || i === rings ? 0 : Math.sin(th);
    const ct = i === 0 ? 1 : i === rings ? -1 : Math.cos(th);
    rows.push({ y: r * ct, r: r * st, nr: st, ny: ct, v: 1 - i / rings });
  }
  return revolve(rows, segs);
}

/** Capsule along y: a cylinder of radius r and length `length` between two hemispheres, centred at the origin. */
export function capsule(r: number, length: number, segs = 16, capRings = 6): Part {
  const rows: ProfileRow[] = [];
  const total = length + Math.PI * r;
  const h = length / 2;
  for (let i = 0; i <= capRings; i++) {
    const th = (Math.PI / 2) * (i / capRings);
    const st = i === 0 ? 0 : i === capRings ? 1 : Math.sin(th);
    const ct = i === 0 ? 1 : i === capRings ? 0 : Math.cos(th);
    rows.push({ y: h + r * ct, r: r * st, nr: st, ny: ct, v: 1 - (r * th) / total });
  }
  for (let i = 0; i <= capRings; i++) {
    const th = Math.PI / 2 + (Math.PI / 2) * (i / capRings);
    const st = i === 0 ? 1 : i === capRings ? 0 : Math.sin(th);
    const ct = i === 0 ? 0 : i === capRings ? -1 : Math.cos(th);
    rows.push({ y: -h + r * ct, r: r * st, nr: st, ny: ct, v: 1 - (length + r * th) / total });
  }
  return revolve(rows, segs);
}

/** Closed cylinder along y (flat caps), centred at the origin. */
export function cylinder(r: number, length: number, segs = 16): Part {
  const h = length / 2;
  return revolve(
    [
      { y: h, r: 0, nr: 0, ny: 1, v: 1 },
      { y: h, r, nr: 0, ny: 1, v: 0.9 },
      { y: h, r, nr: 1, ny: 0, v: 0.9 },
      { y: -h, r, nr: 1, ny: 0, v: 0.1 },
      { y: -h, r, nr: 0, ny: -1, v: 0.1 },
      { y: -h, r: 0, nr: 0, ny: -1, v: 0 },
    ],
    segs,
  );
}

/** Torus around the y axis: ring radius R, tube radius r. */
export function torus(R: number, r: number, segs = 32, tubeSegs = 12): Part {
  const p: number[] = [], n: number[] = [], uv: number[] = [], idx: number[] = [];
  const cols = tubeSegs + 1;
  for (let i = 0; i <= segs; i++) {
    const phi = (TAU * (i % segs)) / segs;
    const c = Math.cos(phi), s = Math.sin(phi);
    for (let j = 0; j <= tubeSegs; j++) {
      const psi = (TAU * (j % tubeSegs)) / tubeSegs;
      const cp = Math.cos(psi), sp = Math.sin(psi);
      const rr = R + r * cp;
      p.push(rr * c, r * sp, -rr * s);
      n.push(cp * c, sp, -cp * s);
      uv.push(i / segs, j / tubeSegs);
    }
  }
  for (let i = 0; i < segs; i++) {
    for (let j = 0; j < tubeSegs; j++) {
      const a = i * cols + j, b = (i + 1) * cols + j, c = (i + 1) * cols + j + 1, d = i * cols + j + 1;
      idx.push(a, b, c, a, c, d);
    }
  }
  return finish(p, n, uv, idx, true);
}

/** Axis-aligned box with sides (sx, sy, sz) centred at the origin; each face a `div`×`div` grid, uv [0,1]² per face. */
export function box(sx: number, sy: number, sz: number, div = 1): Part {
  const p: number[] = [], n: number[] = [], uv: number[] = [], idx: number[] = [];
  const hx = sx / 2, hy = sy / 2, hz = sz / 2;
  // Each face: normal, and axes u, v with u × v = normal (so the grid is CCW from outside).
  const faces: [number[], number[], number[]][] = [
    [[1, 0, 0], [0, 0, -1], [0, 1, 0]],
    [[-1, 0, 0], [0, 0, 1], [0, 1, 0]],
    [[0, 1, 0], [1, 0, 0], [0, 0, -1]],
    [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
    [[0, 0, 1], [1, 0, 0], [0, 1, 0]],
    [[0, 0, -1], [-1, 0, 0], [0, 1, 0]],
  ];
  const half = [hx, hy, hz];
  for (const [nn, uu, vv] of faces) {
    const base = p.length / 3;
    for (let i = 0; i <= div; i++) {
      for (let j = 0; j <= div; j++) {
        const a = -1 + (2 * j) / div, b = -1 + (2 * i) / div;
        for (let k = 0; k < 3; k++) p.push((nn[k]! + uu[k]! * a + vv[k]! * b) * half[k]!);
        n.push(nn[0]!, nn[1]!, nn[2]!);
        uv.push(j / div, i / div);
      }
    }
    for (let i = 0; i < div; i++) {
      for (let j = 0; j < div; j++) {
        const a = base + i * (div + 1) + j, b = a + 1, c = a + div + 2, d = a + div + 1;
        idx.push(a, b, c, a, c, d);
      }
    }
  }
  return finish(p, n, uv, idx, true);
}

/** Open rectangular strip in the xy plane (normal +z), w × h, nx × ny quads, centred at the origin. */
export function planeStrip(w: number, h: number, nx = 8, ny = 1): Part {
  const p: number[] = [], n: number[] = [], uv: number[] = [], idx: number[] = [];
  for (let i = 0; i <= ny; i++) {
    for (let j = 0; j <= nx; j++) {
      p.push(-w / 2 + (w * j) / nx, -h / 2 + (h * i) / ny, 0);
      n.push(0, 0, 1);
      uv.push(j / nx, i / ny);
    }
  }
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const a = i * (nx + 1) + j, b = a + 1, c = a + nx + 2, d = a + nx + 1;
      idx.push(a, b, c, a, c, d);
    }
  }
  return finish(p, n, uv, idx, false);
}

// ---- affine matrices ----

export const IDENTITY: Mat = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];

export function mul(a: Mat, b: Mat): Mat {
  const o: number[] = new Array<number>(12);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      let s = c === 3 ? a[r * 4 + 3]! : 0;
      for (let k = 0; k < 3; k++) s += a[r * 4 + k]! * b[k * 4 + c]!;
      o[r * 4 + c] = s;
    }
  }
  return o;
}

/** Product left to right: compose(A, B, C) = A·B·C (C applied first). */
export function compose(...ms: Mat[]): Mat {
  return ms.reduce((acc, m) => mul(acc, m), IDENTITY);
}

export const translate = (x: number, y: number, z: number): Mat => [1, 0, 0, x, 0, 1, 0, y, 0, 0, 1, z];
export const scale = (x: number, y = x, z = x): Mat => [x, 0, 0, 0, 0, y, 0, 0, 0, 0, z, 0];
export function rotateX(a: number): Mat {
  const c = Math.cos(a), s = Math.sin(a);
  return [1, 0, 0, 0, 0, c, -s, 0, 0, s, c, 0];
}
export function rotateY(a: number): Mat {
  const c = Math.cos(a), s = Math.sin(a);
  return [c, 0, s, 0, 0, 1, 0, 0, -s, 0, c, 0];
}
export function rotateZ(a: number): Mat {
  const c = Math.cos(a), s = Math.sin(a);
  return [c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0];
}
/** Rotation by angle a around a (normalised here) axis, Rodrigues. */
export function rotateAxis(axis: readonly [number, number, number], a: number): Mat {
  const l = Math.hypot(...axis);
  const x = axis[0] / l, y = axis[1] / l, z = axis[2] / l;
  const c = Math.cos(a), s = Math.sin(a), t = 1 - c;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, 0, t * x * y + s * z, t * y * y + c, t * y * z - s * x, 0, t * x * z - s * y, t * y * z + s * x, t * z * z + c, 0];
}

/** Apply an affine map: positions by m, normals by its cofactor matrix; mirrors flip the winding. */
export function transform(part: Part, m: Mat): Part {
  const V = part.positions.length / 3;
  const positions = new Float32Array(V * 3);
  const normals = new Float32Array(V * 3);
  const a = m[0]!, b = m[1]!, c = m[2]!, d = m[4]!, e = m[5]!, f = m[6]!, g = m[8]!, h = m[9]!, k = m[10]!;
  // Cofactor matrix (= det · inverse-transpose): maps normals correctly for any invertible m.
  const C = [e * k - f * h, f * g - d * k, d * h - e * g, c * h - b * k, a * k - c * g, b * g - a * h, b * f - c * e, c * d - a * f, a * e - b * d];
  const det = a * C[0]! + b * C[1]! + c * C[2]!;
  for (let v = 0; v < V; v++) {
    const x = part.positions[3 * v]!, y = part.positions[3 * v + 1]!, z = part.positions[3 * v + 2]!;
    positions[3 * v] = a * x + b * y + c * z + m[3]!;
    positions[3 * v + 1] = d * x + e * y + f * z + m[7]!;
    positions[3 * v + 2] = g * x + h * y + k * z + m[11]!;
    const nx = part.normals[3 * v]!, ny = part.normals[3 * v + 1]!, nz = part.normals[3 * v + 2]!;
    const s = det < 0 ? -1 : 1;
    normals[3 * v] = s * (C[0]! * nx + C[3]! * ny + C[6]! * nz);
    normals[3 * v + 1] = s * (C[1]! * nx + C[4]! * ny + C[7]! * nz);
    normals[3 * v + 2] = s * (C[2]! * nx + C[5]! * ny + C[8]! * nz);
  }
  normalizeInPlace(normals);
  let indices = part.indices;
  if (det < 0) {
    indices = new Uint32Array(part.indices);
    for (let i = 0; i < indices.length; i += 3) {
      const t = indices[i + 1]!;
      indices[i + 1] = indices[i + 2]!;
      indices[i + 2] = t;
    }
  }
  return { positions, normals, uvs: part.uvs, indices, weld: part.weld, closed: part.closed };
}

/** Remap uvs into the rectangle [u0, u1] × [v0, v1] (for a texture atlas tile). */
export function mapUvs(part: Part, rect: readonly [number, number, number, number]): Part {
  const [u0, v0, u1, v1] = rect;
  const uvs = new Float32Array(part.uvs.length);
  for (let i = 0; i < uvs.length; i += 2) {
    uvs[i] = u0 + (u1 - u0) * part.uvs[i]!;
    uvs[i + 1] = v0 + (v1 - v0) * part.uvs[i + 1]!;
  }
  return { ...part, uvs };
}

/** Concatenate parts into one (indices and welds offset); closed when every part is. */
export function concat(parts: readonly Part[]): Part {
  let V = 0, I = 0;
  for (const q of parts) {
    V += q.positions.length / 3;
    I += q.indices.length;
  }
  const positions = new Float32Array(V * 3), normals = new Float32Array(V * 3), uvs = new Float32Array(V * 2);
  const indices = new Uint32Array(I), weld = new Uint32Array(V);
  let vo = 0, io = 0;
  for (const q of parts) {
    const n = q.positions.length / 3;
    positions.set(q.positions, vo * 3);
    normals.set(q.normals, vo * 3);
    uvs.set(q.uvs, vo * 2);
    for (let i = 0; i < q.indices.length; i++) indices[io + i] = q.indices[i]! + vo;
    for (let v = 0; v < n; v++) weld[vo + v] = q.weld[v]! + vo;
    vo += n;
    io += q.indices.length;
  }
  return { positions, normals, uvs, indices, weld, closed: parts.every((q) => q.closed) };
}

/** Move every vertex through f (x, y, z) -> [x', y', z'] and recompute smooth normals. */
export function deform(part: Part, f: (x: number, y: number, z: number) => readonly [number, number, number]): Part {
  const positions = new Float32Array(part.positions.length);
  for (let i = 0; i < positions.length; i += 3) {
    const q = f(part.positions[i]!, part.positions[i + 1]!, part.positions[i + 2]!);
    positions[i] = q[0];
    positions[i + 1] = q[1];
    positions[i + 2] = q[2];
  }
  const out: Part = { ...part, positions, normals: new Float32Array(positions.length) };
  out.normals = computeNormals(out);
  return out;
}

/** Smooth per-vertex normals: area-weighted face normals summed over welded vertices (seams stay smooth). */
export function computeNormals(part: Part): Float32Array {
  const { positions: P, indices: I, weld } = part;
  const acc = new Float64Array(P.length);
  for (let t = 0; t < I.length; t += 3) {
    const a = I[t]!, b = I[t + 1]!, c = I[t + 2]!;
    const ux = P[3 * b]! - P[3 * a]!, uy = P[3 * b + 1]! - P[3 * a + 1]!, uz = P[3 * b + 2]! - P[3 * a + 2]!;
    const vx = P[3 * c]! - P[3 * a]!, vy = P[3 * c + 1]! - P[3 * a + 1]!, vz = P[3 * c + 2]! - P[3 * a + 2]!;
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const v of [a, b, c]) {
      const w = weld[v]!;
      acc[3 * w] = acc[3 * w]! + nx;
      acc[3 * w + 1] = acc[3 * w + 1]! + ny;
      acc[3 * w + 2] = acc[3 * w + 2]! + nz;
    }
  }
  const out = new Float32Array(P.length);
  for (let v = 0; v < P.length / 3; v++) {
    const w = weld[v]!;
    out[3 * v] = acc[3 * w]!;
    out[3 * v + 1] = acc[3 * w + 1]!;
    out[3 * v + 2] = acc[3 * w + 2]!;
  }
  normalizeInPlace(out);
  return out;
}

/** Signed volume (divergence theorem); positive for a closed, outward-oriented mesh. */
export function signedVolume(m: MeshData): number {
  const P = m.positions, I = m.indices;
  let s = 0;
  for (let t = 0; t < I.length; t += 3) {
    const a = 3 * I[t]!, b = 3 * I[t + 1]!, c = 3 * I[t + 2]!;
    s += P[a]! * (P[b + 1]! * P[c + 2]! - P[b + 2]! * P[c + 1]!) - P[a + 1]! * (P[b]! * P[c + 2]! - P[b + 2]! * P[c]!) + P[a + 2]! * (P[b]! * P[c + 1]! - P[b + 1]! * P[c]!);
  }
  return s / 6;
}

/** The plain MeshData view of a part. */
export function toMesh(part: Part): MeshData {
  return { positions: part.positions, normals: part.normals, uvs: part.uvs, indices: part.indices };
}
