// Small flat-shaded previews of the extracted per-frame meshes for the report's
// strip: the OBJ's triangles projected orthographically from one fixed camera
// (shared framing for every frame, so motion shows), rasterised on the CPU with
// a depth buffer into a PNG. A fixed-size image whatever the face count (the
// paper preset keeps up to 100k faces per frame, too many for inline SVG).
import type { RgbaImage } from '../../datasets/formats/png.ts';

export interface ObjMesh {
  /** [V,3] f32 vertex positions. */
  positions: Float32Array;
  /** [F,3] u32 vertex indices of triangles (polygons fanned). */
  triangles: Uint32Array;
}

export class ObjError extends Error {
  override name = 'ObjError';
}

/** Reads the `v` and `f` lines of an OBJ (1-based or negative indices, v/vt/vn forms). */
export function parseObjMesh(text: string, file: string): ObjMesh {
  const pos: number[] = [];
  const tri: number[] = [];
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (line.startsWith('v ')) {
      const a = line.split(/\s+/).slice(1, 4).map(Number);
      if (a.length < 3 || !a.every(Number.isFinite)) throw new ObjError(`${file}:${li + 1}: vertex needs three finite coordinates`);
      pos.push(...a);
    } else if (line.startsWith('f ')) {
      const nv = pos.length / 3;
      const idx = line.split(/\s+/).slice(1).map((t) => {
        const i = parseInt(t.split('/')[0]!, 10);
        const k = i < 0 ? nv + i : i - 1;
        if (!Number.isInteger(k) || k < 0 || k >= nv) throw new ObjError(`${file}:${li + 1}: face index '${t}' is outside the ${nv} vertices read so far`);
        return k;
      });
      for (let j = 1; j + 1 < idx.length; j++) tri.push(idx[0]!, idx[j]!, idx[j + 1]!);
    }
  }
  return { positions: new Float32Array(pos), triangles: new Uint32Array(tri) };
}

type V3 = [number, number, number];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: V3): V3 => {
  const l = Math.hypot(...a) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
};

/**
 * One preview per mesh, all framed by the bounding box of every mesh, seen from
 * azimuth 30°, elevation 20° (y up, as our scenes and the OBJ export use).
 */
export function meshPreviews(meshes: ObjMesh[], size = 128): RgbaImage[] {
  const lo: V3 = [Infinity, Infinity, Infinity];
  const hi: V3 = [-Infinity, -Infinity, -Infinity];
  for (const m of meshes) {
    for (let i = 0; i < m.positions.length; i++) {
      const c = i % 3;
      lo[c] = Math.min(lo[c]!, m.positions[i]!);
      hi[c] = Math.max(hi[c]!, m.positions[i]!);
    }
  }
  const center: V3 = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
  const radius = Math.max(1e-9, Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) / 2);
  const az = (30 * Math.PI) / 180;
  const el = (20 * Math.PI) / 180;
  // Camera looks along -back; back points from the centre towards the camera.
  const back: V3 = [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
  const right = norm(cross([0, 1, 0], back));
  const up = cross(back, right);
  const light = norm([back[0] + 0.3, back[1] + 0.5, back[2]]);
  return meshes.map((m) => rasterize(m, size, center, radius, right, up, back, light));
}

function rasterize(m: ObjMesh, size: number, center: V3, radius: number, right: V3, up: V3, back: V3, light: V3): RgbaImage {
  const rgba = new Float32Array(size * size * 4).fill(1);
  const depth = new Float32Array(size * size).fill(-Infinity); // larger = nearer the camera
  const nv = m.positions.length / 3;
  const sx = new Float32Array(nv);
  const sy = new Float32Array(nv);
  const sz = new Float32Array(nv);
  const k = (0.48 * size) / radius;
  for (let i = 0; i < nv; i++) {
    const p = sub([m.positions[3 * i]!, m.positions[3 * i + 1]!, m.positions[3 * i + 2]!], center);
    sx[i] = size / 2 + dot(p, right) * k;
    sy[i] = size / 2 - dot(p, up) * k;
    sz[i] = dot(p, back);
  }
  const base: V3 = [0.45, 0.58, 0.78];
  for (let t = 0; t < m.triangles.length; t += 3) {
    const [a, b, c] = [m.triangles[t]!, m.triangles[t + 1]!, m.triangles[t + 2]!];
    const pa: V3 = [m.positions[3 * a]!, m.positions[3 * a + 1]!, m.positions[3 * a + 2]!];
    const n = norm(cross(sub([m.positions[3 * b]!, m.positions[3 * b + 1]!, m.positions[3 * b + 2]!], pa), sub([m.positions[3 * c]!, m.positions[3 * c + 1]!, m.positions[3 * c + 2]!], pa)));
    // Two-sided: marching-cubes winding differs between exporters.
    const shade = 0.3 + 0.7 * Math.abs(dot(n, light));
    const area = (sx[b]! - sx[a]!) * (sy[c]! - sy[a]!) - (sy[b]! - sy[a]!) * (sx[c]! - sx[a]!);
    if (area === 0) continue;
    const x0 = Math.max(0, Math.floor(Math.min(sx[a]!, sx[b]!, sx[c]!)));
    const x1 = Math.min(size - 1, Math.ceil(Math.max(sx[a]!, sx[b]!, sx[c]!)));
    const y0 = Math.max(0, Math.floor(Math.min(sy[a]!, sy[b]!, sy[c]!)));
    const y1 = Math.min(size - 1, Math.ceil(Math.max(sy[a]!, sy[b]!, sy[c]!)));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const w0 = ((sx[b]! - px) * (sy[c]! - py) - (sy[b]! - py) * (sx[c]! - px)) / area;
        const w1 = ((sx[c]! - px) * (sy[a]! - py) - (sy[c]! - py) * (sx[a]! - px)) / area;
        const w2 = 1 - w0 - w1;
        if (w0 < 0 || w1 < 0 || w2 < 0) continue;
        const z = w0 * sz[a]! + w1 * sz[b]! + w2 * sz[c]!;
        const p = y * size + x;
        if (z <= depth[p]!) continue;
        depth[p] = z;
        for (let ch = 0; ch < 3; ch++) rgba[4 * p + ch] = base[ch]! * shade;
      }
    }
  }
  return { width: size, height: size, rgba };
}
