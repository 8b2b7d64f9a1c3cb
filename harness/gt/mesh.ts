// Ground-truth mesh rendering: the inputs shared by the GPU renderer
// (mesh_renderer.ts, wgsl/gt_mesh.wgsl) and its float64 CPU reference
// (mesh_ref.ts), and the camera math. The camera convention is the splatting
// camera's (harness/splat/camera.ts, Camera.fromBlender), computed here on its
// own: camera-to-world in Blender / OpenGL axes (the camera looks down -Z, +Y
// up), horizontal field of view, square pixels, principal point at the image
// centre, pixel (i, j) centred at (i + 0.5, j + 0.5), so a world point lands at
//   u = W/2 + fx * x / d,  v = H/2 - fx * y / d,  fx = W / (2 tan(fovx/2)),
// with (x, y, z) its OpenGL camera coordinates and d = -z its depth.
// No DOM, no GPU.

export interface MeshData {
  /** [V,3] world-space positions. */
  positions: Float32Array;
  /** [V,3] world-space vertex normals (renormalised per pixel). */
  normals: Float32Array;
  /** [V,2] texture coordinates, (0,0) the bottom-left of the texture, repeat. */
  uvs: Float32Array;
  /** [F,3] vertex indices. */
  indices: Uint32Array;
}

export interface TextureData {
  width: number;
  height: number;
  /** [H,W,4] rows top-down; rgb is the (linear) albedo, alpha is ignored. */
  rgba: Uint8Array;
}

export interface GtCameraSpec {
  /** Camera-to-world, OpenGL / Blender axes: 4 rows or 16 numbers row-major. */
  c2w: readonly (readonly number[])[] | ArrayLike<number>;
  /** Horizontal field of view in radians. */
  fovx: number;
  width: number;
  height: number;
  /** Clip planes (camera depth); defaults 0.01 and 1000. */
  near?: number;
  far?: number;
}

export interface GtLight {
  /** Direction towards the light, world space (normalised here). */
  dir: [number, number, number];
  ambient: number;
  diffuse: number;
}

export type GtFilter = 'linear' | 'nearest';

export interface GtRenderOptions {
  /** Samples per pixel: 1 or 4 (WebGPU's standard sample pattern); default 4. */
  msaa?: 1 | 4;
  light?: Partial<GtLight>;
  /** Texture filter; default 'linear'. */
  filter?: GtFilter;
}

export const DEFAULT_LIGHT: GtLight = { dir: [0.3, 0.5, 0.8], ambient: 0.3, diffuse: 0.7 };
export const DEFAULT_GT_NEAR = 0.01;
export const DEFAULT_GT_FAR = 1000;

/** WebGPU's standard 4-sample positions within a pixel (from its top-left corner). */
export const MSAA4_POSITIONS: readonly (readonly [number, number])[] = [
  [0.375, 0.125],
  [0.875, 0.375],
  [0.125, 0.625],
  [0.625, 0.875],
];

export interface ResolvedOptions {
  msaa: 1 | 4;
  light: GtLight;
  filter: GtFilter;
}

export function resolveOptions(o: GtRenderOptions = {}): ResolvedOptions {
  const msaa = o.msaa ?? 4;
  if (msaa !== 1 && msaa !== 4) throw new Error(`gt render: msaa must be 1 or 4, got ${String(msaa)}`);
  const filter = o.filter ?? 'linear';
  if (filter !== 'linear' && filter !== 'nearest') throw new Error(`gt render: filter must be 'linear' or 'nearest', got ${String(filter)}`);
  const l = { ...DEFAULT_LIGHT, ...(o.light ?? {}) };
  const n = Math.hypot(...l.dir);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error('gt render: light.dir must be a non-zero finite vector');
  if (!Number.isFinite(l.ambient) || !Number.isFinite(l.diffuse)) throw new Error('gt render: light.ambient and light.diffuse must be finite numbers');
  return { msaa, filter, light: { dir: [l.dir[0] / n, l.dir[1] / n, l.dir[2] / n], ambient: l.ambient, diffuse: l.diffuse } };
}

export function validateMesh(mesh: MeshData, tex: TextureData): { vertices: number; faces: number } {
  if (!(mesh.positions instanceof Float32Array) || mesh.positions.length % 3) throw new Error('gt render: mesh.positions must be a Float32Array [V,3]');
  const V = mesh.positions.length / 3;
  if (!(mesh.normals instanceof Float32Array) || mesh.normals.length !== 3 * V) throw new Error(`gt render: mesh.normals must be a Float32Array [${V},3]`);
  if (!(mesh.uvs instanceof Float32Array) || mesh.uvs.length !== 2 * V) throw new Error(`gt render: mesh.uvs must be a Float32Array [${V},2]`);
  if (!(mesh.indices instanceof Uint32Array) || mesh.indices.length % 3) throw new Error('gt render: mesh.indices must be a Uint32Array [F,3]');
  for (const name of ['positions', 'normals', 'uvs'] as const) {
    const a = mesh[name];
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new Error(`gt render: mesh.${name}[${i}] is ${a[i]} (not finite)`);
  }
  for (let i = 0; i < mesh.indices.length; i++) if (mesh.indices[i]! >= V) throw new Error(`gt render: mesh.indices[${i}] = ${mesh.indices[i]} is out of range (${V} vertices)`);
  if (!Number.isInteger(tex.width) || !Number.isInteger(tex.height) || tex.width < 1 || tex.height < 1) throw new Error(`gt render: texture size ${tex.width}x${tex.height} is not two positive integers`);
  if (!(tex.rgba instanceof Uint8Array) || tex.rgba.length !== 4 * tex.width * tex.height) throw new Error(`gt render: texture.rgba must be a Uint8Array [${tex.height},${tex.width},4]`);
  return { vertices: V, faces: mesh.indices.length / 3 };
}

export interface GtCamera {
  width: number;
  height: number;
  /** Focal length in pixels (fx = fy). */
  focal: number;
  tanHalfFovX: number;
  tanHalfFovY: number;
  near: number;
  far: number;
  /** Camera centre in world space. */
  position: [number, number, number];
  /** World -> camera (OpenGL axes), row-major 4x4. */
  view: Float64Array;
  /** Camera -> WebGPU clip space (z in [0,1]), row-major 4x4. */
  proj: Float64Array;
  /** proj * view, row-major 4x4. */
  viewProj: Float64Array;
}

function flat16(m: GtCameraSpec['c2w']): number[] {
  let out: number[];
  if (Array.isArray(m) && m.length === 4 && m.every((r) => Array.isArray(r) || ArrayBuffer.isView(r))) out = (m as readonly (readonly number[])[]).flatMap((r) => Array.from(r));
  else out = Array.from(m as ArrayLike<number>);
  if (out.length !== 16) throw new Error(`gt camera: c2w must be 4 rows of 4 or 16 numbers, got ${out.length} numbers`);
  out.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`gt camera: c2w entry [${Math.floor(i / 4)}][${i % 4}] is ${v} (not a finite number)`);
  });
  return out;
}

function mul4(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += a[4 * r + k]! * b[4 * k + c]!;
    o[4 * r + c] = s;
  }
  return o;
}

export function gtCamera(spec: GtCameraSpec): GtCamera {
  const { width, height, fovx } = spec;
  const near = spec.near ?? DEFAULT_GT_NEAR;
  const far = spec.far ?? DEFAULT_GT_FAR;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) throw new Error(`gt camera: image size ${width}x${height} is not two positive integers`);
  if (!(fovx > 0 && fovx < Math.PI)) throw new Error(`gt camera: fovx ${fovx} is not in (0, pi) radians`);
  if (!(near > 0 && far > near && Number.isFinite(far))) throw new Error(`gt camera: need 0 < near < far, got near ${near}, far ${far}`);
  const m = flat16(spec.c2w);
  for (let a = 0; a < 3; a++) for (let b = 0; b <= a; b++) {
    let d = 0;
    for (let r = 0; r < 3; r++) d += m[4 * r + a]! * m[4 * r + b]!;
    if (Math.abs(d - (a === b ? 1 : 0)) > 1e-3) throw new Error('gt camera: the rotation part of c2w is not orthonormal');
  }
  if (Math.abs(m[12]!) + Math.abs(m[13]!) + Math.abs(m[14]!) + Math.abs(m[15]! - 1) > 1e-6) throw new Error('gt camera: the last row of c2w must be (0, 0, 0, 1)');
  const position: [number, number, number] = [m[3]!, m[7]!, m[11]!];
  // view = [R^T | -R^T p].
  const view = new Float64Array(16);
  for (let r = 0; r < 3; r++) {
    let t = 0;
    for (let k = 0; k < 3; k++) {
      view[4 * r + k] = m[4 * k + r]!;
      t += m[4 * k + r]! * position[k]!;
    }
    view[4 * r + 3] = -t;
  }
  view[15] = 1;
  const tanX = Math.tan(fovx / 2);
  const focal = width / (2 * tanX);
  const tanY = height / (2 * focal);
  // Clip: x = x/tanX, y = y/tanY, w = -z, z = far (-z - near) / (far - near) -> depth in [0, 1].
  const proj = new Float64Array(16);
  proj[0] = 1 / tanX;
  proj[5] = 1 / tanY;
  proj[10] = -far / (far - near);
  proj[11] = (-far * near) / (far - near);
  proj[14] = -1;
  return { width, height, focal, tanHalfFovX: tanX, tanHalfFovY: tanY, near, far, position, view, proj, viewProj: mul4(proj, view) };
}

/** World point -> [pixel x, pixel y, camera depth] (pixel centres at +0.5). */
export function gtProject(cam: GtCamera, p: ArrayLike<number>): [number, number, number] {
  const v = cam.view;
  const c = [0, 1, 2].map((r) => v[4 * r]! * p[0]! + v[4 * r + 1]! * p[1]! + v[4 * r + 2]! * p[2]! + v[4 * r + 3]!) as [number, number, number];
  const d = -c[2];
  return [cam.width / 2 + (cam.focal * c[0]) / d, cam.height / 2 - (cam.focal * c[1]) / d, d];
}
