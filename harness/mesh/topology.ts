// Mesh facts the tests assert and the report can print: manifoldness,
// orientation, degenerate faces, Euler characteristic, components, enclosed
// volume, area. Plain TypeScript, float64, no GPU.
import type { SurfaceMesh } from './surface.ts';

export interface MeshTopology {
  vertices: number;
  faces: number;
  /** Undirected edges. */
  edges: number;
  /** Edges in exactly one face. */
  boundaryEdges: number;
  /** Edges in three or more faces. */
  nonManifoldEdges: number;
  /** Directed edges that occur more than once (two faces disagree on orientation). */
  orientationErrors: number;
  /** Vertices whose faces do not form one fan (disc or half-disc). */
  nonManifoldVertices: number;
  /** Faces with a repeated index or zero area (float64 from the f32 positions). */
  degenerateFaces: number;
  /** Vertices in no face. */
  unreferencedVertices: number;
  /** Connected components of faces (sharing vertices). */
  components: number;
  /** V - E + F over referenced vertices. */
  euler: number;
}

const key = (a: number, b: number) => a * 0x100000000 + b;

export function faceArea(p: Float32Array, a: number, b: number, c: number): number {
  const ux = p[3 * b]! - p[3 * a]!, uy = p[3 * b + 1]! - p[3 * a + 1]!, uz = p[3 * b + 2]! - p[3 * a + 2]!;
  const vx = p[3 * c]! - p[3 * a]!, vy = p[3 * c + 1]! - p[3 * a + 1]!, vz = p[3 * c + 2]! - p[3 * a + 2]!;
  return 0.5 * Math.hypot(uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx);
}

export function meshTopology(mesh: SurfaceMesh): MeshTopology {
  const { positions: p, indices: I } = mesh;
  const V = p.length / 3, F = I.length / 3;
  const directed = new Map<number, number>();
  let degenerateFaces = 0;
  const used = new Uint8Array(V);
  // Union-find over vertices for components.
  const parent = new Int32Array(V).map((_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  for (let f = 0; f < F; f++) {
    const a = I[3 * f]!, b = I[3 * f + 1]!, c = I[3 * f + 2]!;
    if (a === b || b === c || a === c || !(faceArea(p, a, b, c) > 0)) degenerateFaces++;
    used[a] = used[b] = used[c] = 1;
    parent[find(a)] = find(b);
    parent[find(b)] = find(c);
    for (const [u, v] of [[a, b], [b, c], [c, a]] as const) directed.set(key(u, v), (directed.get(key(u, v)) ?? 0) + 1);
  }
  let edges = 0, boundaryEdges = 0, nonManifoldEdges = 0, orientationErrors = 0;
  for (const [k, n] of directed) {
    if (n > 1) orientationErrors += n - 1;
    const u = Math.floor(k / 0x100000000), v = k % 0x100000000;
    const back = directed.get(key(v, u)) ?? 0;
    if (back > 0 && u > v) continue; // counted from the other direction
    edges++;
    const total = n + back;
    if (total === 1) boundaryEdges++;
    else if (total > 2) nonManifoldEdges++;
  }
  // Vertex fans: the link of a vertex (edges opposite it) must be one path or one cycle.
  const link = new Map<number, number[]>();
  for (let f = 0; f < F; f++) {
    for (let s = 0; s < 3; s++) {
      const v = I[3 * f + s]!, a = I[3 * f + ((s + 1) % 3)]!, b = I[3 * f + ((s + 2) % 3)]!;
      let l = link.get(v);
      if (!l) link.set(v, (l = []));
      l.push(a, b);
    }
  }
  let nonManifoldVertices = 0;
  for (const l of link.values()) {
    // Link edges a->b; one fan means they chain into a single path or cycle.
    const next = new Map<number, number>();
    let ok = true;
    for (let i = 0; i < l.length; i += 2) {
      if (next.has(l[i]!)) ok = false;
      next.set(l[i]!, l[i + 1]!);
    }
    if (ok) {
      const targets = new Set(next.values());
      const starts = [...next.keys()].filter((x) => !targets.has(x));
      let x = starts.length === 1 ? starts[0]! : starts.length === 0 ? l[0]! : -1;
      if (x < 0) ok = false;
      else {
        let steps = 0;
        const start = x;
        while (next.has(x) && steps <= next.size) {
          x = next.get(x)!;
          steps++;
          if (x === start) break;
        }
        ok = steps === next.size;
      }
    }
    if (!ok) nonManifoldVertices++;
  }
  let referenced = 0;
  const roots = new Set<number>();
  for (let v = 0; v < V; v++) {
    if (!used[v]) continue;
    referenced++;
    roots.add(find(v));
  }
  return {
    vertices: V,
    faces: F,
    edges,
    boundaryEdges,
    nonManifoldEdges,
    orientationErrors,
    nonManifoldVertices,
    degenerateFaces,
    unreferencedVertices: V - referenced,
    components: roots.size,
    euler: referenced - edges + F,
  };
}

/** Signed enclosed volume (positive for a closed mesh with CCW-from-outside faces). */
export function enclosedVolume(mesh: SurfaceMesh): number {
  const { positions: p, indices: I } = mesh;
  let vol = 0;
  for (let f = 0; f < I.length; f += 3) {
    const a = 3 * I[f]!, b = 3 * I[f + 1]!, c = 3 * I[f + 2]!;
    vol += p[a]! * (p[b + 1]! * p[c + 2]! - p[b + 2]! * p[c + 1]!) - p[a + 1]! * (p[b]! * p[c + 2]! - p[b + 2]! * p[c]!) + p[a + 2]! * (p[b]! * p[c + 1]! - p[b + 1]! * p[c]!);
  }
  return vol / 6;
}

export function surfaceArea(mesh: SurfaceMesh): number {
  let area = 0;
  for (let f = 0; f < mesh.indices.length; f += 3) area += faceArea(mesh.positions, mesh.indices[f]!, mesh.indices[f + 1]!, mesh.indices[f + 2]!);
  return area;
}
