// Float64 CPU reference of the ground-truth mesh renderer (wgsl/gt_mesh.wgsl,
// mesh_renderer.ts). It mimics what the GPU does: per sample (WebGPU's standard
// 4-sample pattern, or the pixel centre without MSAA) the nearest triangle whose
// ray hit lies in [near, far] wins (depth test 'less': ties go to the first
// drawn); each (pixel, triangle) is shaded once at the pixel centre with
// perspective-correct attributes extrapolated from the triangle's plane (WebGPU
// interpolates at the centre by default); the resolve averages the samples
// (background (0,0,0,0)), and the result is turned into straight alpha.
import { type GtCamera, type GtCameraSpec, type GtRenderOptions, gtCamera, type MeshData, MSAA4_POSITIONS, resolveOptions, type TextureData, validateMesh } from './mesh.ts';

/** How near (pixels) a sample must be to a triangle edge for the reference to call its pixel an edge pixel. */
export const EDGE_EPS = 0.01;

/** Offsets (pixels) at which a sample's triangle is checked again to find samples on an edge. */
const JITTER = [
  [EDGE_EPS, 0],
  [-EDGE_EPS, 0],
  [0, EDGE_EPS],
  [0, -EDGE_EPS],
] as const;

export interface RefMeshResult {
  /** [H,W,4] straight-alpha RGBA. */
  image: Float64Array;
  /** [H,W] 1 where the samples of a pixel do not all see the same triangle, or one lies within EDGE_EPS px of an edge (silhouettes, triangle edges). */
  edge: Uint8Array;
  /** [H,W] triangle seen by the pixel's first sample, -1 for background. */
  triangle: Int32Array;
}

/** Texel fetch with repeat addressing, values in [0,1]. */
function texel(tex: TextureData, x: number, y: number, out: number[], w: number) {
  const i = ((x % tex.width) + tex.width) % tex.width;
  const j = ((y % tex.height) + tex.height) % tex.height;
  const o = 4 * (j * tex.width + i);
  for (let c = 0; c < 3; c++) out[c]! += (w * tex.rgba[o + c]!) / 255;
}

/** Albedo at texture coordinate (u, v), v up, as WebGPU's sampler with repeat addressing. */
export function refSampleTexture(tex: TextureData, u: number, v: number, filter: 'linear' | 'nearest'): [number, number, number] {
  const s = u;
  const t = 1 - v;
  const out = [0, 0, 0];
  if (filter === 'nearest') {
    texel(tex, Math.floor(s * tex.width), Math.floor(t * tex.height), out, 1);
  } else {
    const x = s * tex.width - 0.5;
    const y = t * tex.height - 0.5;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    texel(tex, x0, y0, out, (1 - fx) * (1 - fy));
    texel(tex, x0 + 1, y0, out, fx * (1 - fy));
    texel(tex, x0, y0 + 1, out, (1 - fx) * fy);
    texel(tex, x0 + 1, y0 + 1, out, fx * fy);
  }
  return out as [number, number, number];
}

interface Tri {
  a: number[];
  e1: number[];
  e2: number[];
  idx: [number, number, number];
}

const cross = (a: number[], b: number[]) => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

/** Ray from the camera centre through camera-space direction `dir` (z = -1) against a triangle's plane: [depth, b1, b2] or null if parallel. */
function hit(tri: Tri, dir: number[]): [number, number, number] | null {
  // Moller-Trumbore from the origin: a + b1 e1 + b2 e2 = d * dir.
  const p = cross(dir, tri.e2);
  const det = dot(tri.e1, p);
  if (Math.abs(det) < 1e-300) return null;
  const s = [-tri.a[0]!, -tri.a[1]!, -tri.a[2]!];
  const b1 = dot(s, p) / det;
  const q = cross(s, tri.e1);
  const b2 = dot(dir, q) / det;
  const d = dot(tri.e2, q) / det;
  return [d, b1, b2];
}

export function refMeshRender(mesh: MeshData, tex: TextureData, spec: GtCameraSpec | GtCamera, options: GtRenderOptions = {}): RefMeshResult {
  const { faces } = validateMesh(mesh, tex);
  const opts = resolveOptions(options);
  const cam = 'viewProj' in spec ? spec : gtCamera(spec);
  const { width: W, height: H, focal } = cam;
  const v = cam.view;
  const camPos = (i: number) => [0, 1, 2].map((r) => v[4 * r]! * mesh.positions[3 * i]! + v[4 * r + 1]! * mesh.positions[3 * i + 1]! + v[4 * r + 2]! * mesh.positions[3 * i + 2]! + v[4 * r + 3]!);
  const tris: Tri[] = [];
  for (let f = 0; f < faces; f++) {
    const idx = [mesh.indices[3 * f]!, mesh.indices[3 * f + 1]!, mesh.indices[3 * f + 2]!] as [number, number, number];
    const [a, b, c] = idx.map(camPos) as [number[], number[], number[]];
    tris.push({ a, e1: b.map((x, k) => x - a[k]!), e2: c.map((x, k) => x - a[k]!), idx });
  }
  const samples = opts.msaa === 4 ? MSAA4_POSITIONS : [[0.5, 0.5] as const];
  const image = new Float64Array(W * H * 4);
  const edge = new Uint8Array(W * H);
  const triangle = new Int32Array(W * H);
  const dirAt = (x: number, y: number) => [(x - W / 2) / focal, -(y - H / 2) / focal, -1];
  const { light } = opts;
  const shade = (f: number, px: number, py: number): number[] => {
    const t = tris[f]!;
    const h = hit(t, dirAt(px + 0.5, py + 0.5));
    if (!h) return [0, 0, 0];
    const w = [1 - h[1] - h[2], h[1], h[2]];
    const attr = (arr: Float32Array, n: number) => Array.from({ length: n }, (_, k) => w[0]! * arr[n * t.idx[0] + k]! + w[1]! * arr[n * t.idx[1] + k]! + w[2]! * arr[n * t.idx[2] + k]!);
    const n = attr(mesh.normals, 3);
    const uv = attr(mesh.uvs, 2);
    const len = Math.hypot(n[0]!, n[1]!, n[2]!);
    const lambert = len > 0 ? Math.max(0, dot(n, light.dir) / len) : 0;
    const albedo = refSampleTexture(tex, uv[0]!, uv[1]!, opts.filter);
    return albedo.map((a) => Math.min(1, Math.max(0, a * (light.ambient + light.diffuse * lambert))));
  };
  /** The triangle a sample at pixel coordinates (x, y) sees, -1 for none. */
  const nearest = (x: number, y: number): number => {
    const dir = dirAt(x, y);
    let best = -1;
    let bestD = Infinity;
    for (let f = 0; f < faces; f++) {
      const h = hit(tris[f]!, dir);
      if (!h) continue;
      const [d, b1, b2] = h;
      if (b1 < 0 || b2 < 0 || b1 + b2 > 1 || d < cam.near || d > cam.far) continue;
      if (d < bestD) {
        bestD = d;
        best = f;
      }
    }
    return best;
  };
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const seen: number[] = [];
      let fragile = false;
      for (const [sx, sy] of samples) {
        const f = nearest(px + sx, py + sy);
        seen.push(f);
        // A sample within float noise of an edge may go either way on the GPU.
        for (const [jx, jy] of JITTER) if (nearest(px + sx + jx, py + sy + jy) !== f) fragile = true;
      }
      const o = py * W + px;
      triangle[o] = seen[0]!;
      edge[o] = fragile || !seen.every((s) => s === seen[0]) ? 1 : 0;
      const shaded = new Map<number, number[]>();
      const sum = [0, 0, 0, 0];
      for (const f of seen) {
        if (f < 0) continue;
        let c = shaded.get(f);
        if (!c) shaded.set(f, (c = shade(f, px, py)));
        for (let k = 0; k < 3; k++) sum[k]! += c[k]!;
        sum[3]! += 1;
      }
      const alpha = sum[3]! / seen.length;
      for (let k = 0; k < 3; k++) image[4 * o + k] = alpha > 0 ? sum[k]! / sum[3]! : 0;
      image[4 * o + 3] = alpha;
    }
  }
  return { image, edge, triangle };
}
