// Pinhole cameras for the splatting kernels. Datasets (Blender / D-NeRF
// transforms, DG4D orbits) give a camera-to-world matrix in the OpenGL convention
// (the camera looks down -Z, +Y up) and a horizontal field of view; the kernels
// want a world->camera view with OpenCV axes (+X right, +Y down, +Z forward), so
// the Y and Z camera axes are flipped here. Square pixels, principal point at the
// image centre, pixel (i, j) centred at (i + 0.5, j + 0.5).
import { packStruct, type StructLayout } from '../gpu/layout.ts';
import { TILE_SIZE } from './constants.ts';

export type Vec3 = [number, number, number];
/** A 4x4 matrix as 4 rows (the JSON form of `transform_matrix`) or 16 numbers in row-major order. */
export type Matrix4Input = readonly (readonly number[])[] | ArrayLike<number>;

/** Default near plane: the depth below which diff-gaussian-rasterization (3DGS, DG4D) culls. */
export const DEFAULT_NEAR = 0.2;

export interface CameraSpec {
  /** Camera-to-world, OpenGL / Blender axes. */
  c2w: Matrix4Input;
  /** Horizontal field of view in radians. */
  fovx: number;
  width: number;
  height: number;
  near?: number;
}

function rowMajor16(m: Matrix4Input, what: string): number[] {
  const flat: number[] = [];
  if (Array.isArray(m) && m.length === 4 && m.every((r) => Array.isArray(r) || ArrayBuffer.isView(r))) {
    for (const row of m as readonly (readonly number[])[]) {
      if (row.length !== 4) throw new Error(`${what}: each row must hold 4 numbers, got ${row.length}`);
      flat.push(...Array.from(row));
    }
  } else {
    const arr = m as ArrayLike<number>;
    if (arr.length !== 16) throw new Error(`${what}: expected 4 rows or 16 numbers, got ${arr.length} entries`);
    for (let i = 0; i < 16; i++) flat.push(arr[i]!);
  }
  flat.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what}: entry [${Math.floor(i / 4)}][${i % 4}] is ${v} (not a finite number)`);
  });
  return flat;
}

export class Camera {
  private constructor(
    /** World -> camera (OpenCV axes), row-major 4x4. */
    readonly view: Float64Array,
    /** Camera centre in world space. */
    readonly position: Vec3,
    readonly width: number,
    readonly height: number,
    readonly fx: number,
    readonly fy: number,
    readonly cx: number,
    readonly cy: number,
    readonly tanHalfFovX: number,
    readonly tanHalfFovY: number,
    readonly near: number,
  ) {}

  /** From a Blender / OpenGL camera-to-world and a horizontal field of view (radians). */
  static fromBlender(spec: CameraSpec): Camera {
    const { fovx, width, height } = spec;
    const near = spec.near ?? DEFAULT_NEAR;
    if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) throw new Error(`camera: image size ${width}x${height} is not two positive integers`);
    if (!(fovx > 0 && fovx < Math.PI)) throw new Error(`camera: fovx ${fovx} is not in (0, pi) radians`);
    if (!(near > 0) || !Number.isFinite(near)) throw new Error(`camera: near plane ${near} is not a positive number`);
    const m = rowMajor16(spec.c2w, 'camera c2w');
    // Rotation columns are the camera axes in world space; OpenCV's Y and Z are OpenGL's negated.
    const axes = [0, 1, 2].map((c) => [0, 1, 2].map((r) => m[4 * r + c]! * (c === 0 ? 1 : -1)));
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b <= a; b++) {
        const d = axes[a]![0]! * axes[b]![0]! + axes[a]![1]! * axes[b]![1]! + axes[a]![2]! * axes[b]![2]!;
        if (Math.abs(d - (a === b ? 1 : 0)) > 1e-3) throw new Error('camera c2w: the rotation part is not orthonormal');
      }
    }
    if (Math.abs(m[12]!) + Math.abs(m[13]!) + Math.abs(m[14]!) + Math.abs(m[15]! - 1) > 1e-6) throw new Error('camera c2w: the last row must be (0, 0, 0, 1)');
    const position: Vec3 = [m[3]!, m[7]!, m[11]!];
    // view = [R^T | -R^T p] with R's columns the (OpenCV) camera axes.
    const view = new Float64Array(16);
    for (let r = 0; r < 3; r++) {
      const axis = axes[r]!;
      view[4 * r] = axis[0]!;
      view[4 * r + 1] = axis[1]!;
      view[4 * r + 2] = axis[2]!;
      view[4 * r + 3] = -(axis[0]! * position[0] + axis[1]! * position[1] + axis[2]! * position[2]);
    }
    view[15] = 1;
    const tanX = Math.tan(fovx / 2);
    const fx = width / (2 * tanX);
    const fy = fx;
    const tanY = height / (2 * fy);
    return new Camera(view, position, width, height, fx, fy, width / 2, height / 2, tanX, tanY, near);
  }

  get tilesX(): number {
    return Math.ceil(this.width / TILE_SIZE);
  }

  get tilesY(): number {
    return Math.ceil(this.height / TILE_SIZE);
  }

  /** Vertical field of view in radians. */
  get fovy(): number {
    return 2 * Math.atan(this.tanHalfFovY);
  }

  /** World point -> camera space (OpenCV axes). */
  toCamera(p: ArrayLike<number>): Vec3 {
    const v = this.view;
    const out = [0, 0, 0] as Vec3;
    for (let r = 0; r < 3; r++) out[r] = v[4 * r]! * p[0]! + v[4 * r + 1]! * p[1]! + v[4 * r + 2]! * p[2]! + v[4 * r + 3]!;
    return out;
  }

  /** The WGSL `Camera` struct (wgsl/splat_common.wgsl), given its layout as read from the shader (shaders.ts cameraLayout). */
  pack(layout: StructLayout): ArrayBuffer {
    // WGSL matrices are column-major: list column by column.
    const columns: number[] = [];
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) columns.push(this.view[4 * r + c]!);
    return packStruct(layout, {
      view: columns,
      position: this.position,
      near: this.near,
      focal: [this.fx, this.fy],
      principal: [this.cx, this.cy],
      tan_half_fov: [this.tanHalfFovX, this.tanHalfFovY],
      size: [this.width, this.height],
    });
  }
}

/**
 * Camera-to-world (OpenGL axes) of a camera at `eye` looking at `target`, with
 * `up` giving the image's upward direction.
 */
export function lookAtC2w(eye: Vec3, target: Vec3, up: Vec3 = [0, 1, 0]): number[][] {
  const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const norm = (a: Vec3): Vec3 => {
    const l = Math.hypot(...a);
    if (!(l > 0)) throw new Error('lookAtC2w: degenerate direction');
    return [a[0] / l, a[1] / l, a[2] / l];
  };
  const back = norm(sub(eye, target)); // OpenGL camera +Z points away from the target
  const right = norm(cross(up, back));
  const camUp = cross(back, right);
  return [
    [right[0], camUp[0], back[0], eye[0]],
    [right[1], camUp[1], back[1], eye[1]],
    [right[2], camUp[2], back[2], eye[2]],
    [0, 0, 0, 1],
  ];
}
