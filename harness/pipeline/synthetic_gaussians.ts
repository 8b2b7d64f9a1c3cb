// A built-in "known Gaussian set": a deterministic, colourful object inside the
// unit sphere, and the orbit cameras DG4D's static stage uses. Rendering this set
// from known poses gives targets whose 3-D truth is known exactly, so a fit can be
// scored on held-out views without any dataset on disk.
//
// The object: a flattened-ellipsoid body (a shell of surface-aligned Gaussians,
// hue by azimuth, light and dark bands by latitude), a tilted rainbow ring of
// elongated Gaussians, and three solid-coloured blobs (two ears and a nose, so
// the front view differs from the back). Scales, rotations and opacities vary.
//
// Camera convention (as DG4D's orbit_camera, with elevation's sign chosen so that
// positive means above): azimuth 0, elevation 0 looks from +Z at the origin;
// azimuth grows towards +X; positive elevation looks down from +Y.
// Pure TypeScript (no WebGPU), so Node code can build the same set.
import { type CameraSpec, lookAtC2w, type Vec3 } from '../splat/camera.ts';
import { emptyParams, type GaussianParams, SH_C0 } from '../splat/model.ts';
import { seededRandom } from './rng.ts';

/** DG4D's (Zero-1-to-3's) vertical field of view in degrees. */
export const DG4D_FOVY_DEG = 49.1;
/** Consistent4D's evaluation azimuths (elevation 0). */
export const EVAL_AZIMUTHS_DEG = [-75, 15, 105, 195];
export const DEFAULT_SYNTHETIC_SEED = 20231228;

const deg = Math.PI / 180;

type Mat3 = [Vec3, Vec3, Vec3]; // columns

function normalize(v: Vec3): Vec3 {
  const l = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / l, v[1] / l, v[2] / l];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** Unit quaternion (w, x, y, z) of a rotation given by its columns. */
export function quatFromColumns([c0, c1, c2]: Mat3): [number, number, number, number] {
  const [m00, m10, m20] = c0;
  const [m01, m11, m21] = c1;
  const [m02, m12, m22] = c2;
  const tr = m00 + m11 + m22;
  let q: [number, number, number, number];
  if (tr > 0) {
    const s = 2 * Math.sqrt(tr + 1);
    q = [s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    q = [(m21 - m12) / s, s / 4, (m01 + m10) / s, (m02 + m20) / s];
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    q = [(m02 - m20) / s, (m01 + m10) / s, s / 4, (m12 + m21) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    q = [(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4];
  }
  const l = Math.hypot(...q);
  return [q[0] / l, q[1] / l, q[2] / l, q[3] / l];
}

/** An orthonormal frame whose third column is `n`. */
function frameAround(n: Vec3, twist: number): Mat3 {
  const helper: Vec3 = Math.abs(n[1]) < 0.9 ? [0, 1, 0] : [1, 0, 0];
  const t0 = normalize(cross(helper, n));
  const b0 = cross(n, t0);
  const c = Math.cos(twist);
  const s = Math.sin(twist);
  const t: Vec3 = [c * t0[0] + s * b0[0], c * t0[1] + s * b0[1], c * t0[2] + s * b0[2]];
  return [t, cross(n, t), n];
}

/** HSV (h in turns) to RGB in [0, 1]. */
function hsv(h: number, s: number, v: number): Vec3 {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

export interface SyntheticObjectOptions {
  seed?: number;
  /** Gaussians in the body shell (the ring and blobs scale with it); default 640, about 1,100 in all. */
  bodyCount?: number;
}

/**
 * The known Gaussian set (SH degree 0). Deterministic for a seed; every mean lies
 * within radius 0.85 of the origin, so it fits the unit sphere with its extent.
 */
export function syntheticObject(options: SyntheticObjectOptions = {}): GaussianParams {
  const rnd = seededRandom(options.seed ?? DEFAULT_SYNTHETIC_SEED);
  const range = (lo: number, hi: number) => lo + (hi - lo) * rnd();
  const bodyCount = options.bodyCount ?? 640;
  const ringCount = Math.round(bodyCount * 0.45);
  const blobCount = Math.round(bodyCount * 0.1);
  const blobs: { centre: Vec3; radius: number; colour: Vec3 }[] = [
    { centre: [-0.2, 0.46, -0.02], radius: 0.1, colour: [0.95, 0.78, 0.1] },
    { centre: [0.2, 0.46, -0.02], radius: 0.1, colour: [0.15, 0.75, 0.3] },
    { centre: [0, 0.05, 0.4], radius: 0.08, colour: [0.85, 0.1, 0.15] },
  ];
  const total = bodyCount + ringCount + blobs.length * blobCount;
  const p = emptyParams(total, 0);
  let row = 0;
  const put = (mean: Vec3, scales: Vec3, frame: Mat3, opacity: number, colour: Vec3) => {
    p.means.set(mean, 3 * row);
    p.log_scales.set(scales.map(Math.log), 3 * row);
    p.quats.set(quatFromColumns(frame), 4 * row);
    p.opacity_logits[row] = Math.log(opacity / (1 - opacity));
    p.sh.set(colour.map((c) => (c - 0.5) / SH_C0), 3 * row);
    row++;
  };

  // Body: a Fibonacci lattice on an ellipsoid, each Gaussian a disc tangent to it.
  const axes: Vec3 = [0.36, 0.42, 0.34];
  const golden = Math.PI * (3 - Math.sqrt(5));
  const spacing = Math.sqrt((4 * Math.PI * 0.38 * 0.38) / bodyCount);
  for (let i = 0; i < bodyCount; i++) {
    const y = 1 - (2 * (i + 0.5)) / bodyCount;
    const r = Math.sqrt(1 - y * y);
    const phi = i * golden + range(-0.15, 0.15);
    const u: Vec3 = [r * Math.cos(phi), y, r * Math.sin(phi)];
    const mean: Vec3 = [axes[0] * u[0], axes[1] * u[1], axes[2] * u[2]];
    const normal = normalize([u[0] / axes[0], u[1] / axes[1], u[2] / axes[2]]);
    const azimuth = Math.atan2(u[0], u[2]) / (2 * Math.PI) + 0.5;
    const band = 0.5 + 0.5 * Math.cos(Math.asin(y) * 5);
    const colour = hsv(azimuth, 0.55 + 0.35 * band, 0.55 + 0.4 * band);
    const tangent = spacing * range(0.55, 0.8);
    put(mean, [tangent, tangent * range(0.6, 1), tangent * range(0.12, 0.25)], frameAround(normal, range(0, Math.PI)), range(0.8, 0.98), colour);
  }

  // Ring: tilted 20 degrees about X, Gaussians elongated along it, rainbow hue.
  const tilt = 20 * deg;
  const ringRadius = 0.64;
  for (let i = 0; i < ringCount; i++) {
    const a = (2 * Math.PI * (i + range(-0.3, 0.3))) / ringCount;
    const tube = range(0, 2 * Math.PI);
    const tr = 0.03 * Math.sqrt(rnd());
    const local: Vec3 = [(ringRadius + tr * Math.cos(tube)) * Math.cos(a), tr * Math.sin(tube), (ringRadius + tr * Math.cos(tube)) * Math.sin(a)];
    const rot = (v: Vec3): Vec3 => [v[0], v[1] * Math.cos(tilt) - v[2] * Math.sin(tilt), v[1] * Math.sin(tilt) + v[2] * Math.cos(tilt)];
    const along = rot([-Math.sin(a), 0, Math.cos(a)]);
    const up = rot([0, 1, 0]);
    const frame: Mat3 = [along, up, cross(along, up)];
    const len = (Math.PI * ringRadius * 2) / ringCount;
    put(rot(local), [len * range(0.9, 1.4), range(0.025, 0.035), range(0.025, 0.035)], frame, range(0.75, 0.95), hsv(i / ringCount, 0.85, 0.95));
  }

  // Blobs: isotropic-ish Gaussians filling small spheres, one colour each with slight shading.
  for (const blob of blobs) {
    for (let i = 0; i < blobCount; i++) {
      let v: Vec3;
      do v = [range(-1, 1), range(-1, 1), range(-1, 1)];
      while (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] > 1);
      const mean: Vec3 = [blob.centre[0] + blob.radius * v[0], blob.centre[1] + blob.radius * v[1], blob.centre[2] + blob.radius * v[2]];
      const shade = 0.8 + 0.2 * v[1];
      const s = blob.radius * range(0.25, 0.4);
      put(mean, [s, s * range(0.7, 1), s * range(0.7, 1)], frameAround(normalize([range(-1, 1), range(-1, 1), 1]), range(0, Math.PI)), 0.9, [blob.colour[0] * shade, blob.colour[1] * shade, blob.colour[2] * shade]);
    }
  }
  return p;
}

export interface OrbitCameraSpec {
  /** Distance from the origin. */
  radius: number;
  /** Vertical field of view, degrees. */
  fovyDeg: number;
  width: number;
  height: number;
}

/** A camera on a sphere around the origin looking at it (see the convention above). */
export function orbitCamera(elevationDeg: number, azimuthDeg: number, spec: OrbitCameraSpec): CameraSpec {
  const el = elevationDeg * deg;
  const az = azimuthDeg * deg;
  const eye: Vec3 = [spec.radius * Math.cos(el) * Math.sin(az), spec.radius * Math.sin(el), spec.radius * Math.cos(el) * Math.cos(az)];
  const tanY = Math.tan((spec.fovyDeg * deg) / 2);
  return { c2w: lookAtC2w(eye, [0, 0, 0]), fovx: 2 * Math.atan((tanY * spec.width) / spec.height), width: spec.width, height: spec.height };
}

export interface OrbitSampling {
  radius: number;
  /** Training cameras' distance is radius + U(-jitter, jitter). */
  radiusJitter: number;
  fovyDeg: number;
  /** Training cameras' elevation range, degrees. */
  elevationDeg: [number, number];
}

export interface PosedView {
  camera: CameraSpec;
  azimuthDeg: number;
  elevationDeg: number;
  radius: number;
}

export interface SyntheticViews {
  /** Azimuth 0, elevation 0: the input image. */
  reference: PosedView;
  /** The training split (the oracle prior samples these). */
  train: PosedView[];
  /** Held-out views: Consistent4D's eval azimuths at elevation 0, then seeded random poses. */
  test: PosedView[];
}

/**
 * Seeded cameras: `train` views with azimuths stratified over the full circle (one
 * per sector, so even 8 views see every side) and elevations uniform in the range;
 * `test` views at poses no training view has.
 */
export function syntheticViews(seed: number, counts: { train: number; test: number }, size: { width: number; height: number }, orbit: OrbitSampling): SyntheticViews {
  const rnd = seededRandom(seed);
  const [lo, hi] = orbit.elevationDeg;
  const spec = (radius: number): OrbitCameraSpec => ({ radius, fovyDeg: orbit.fovyDeg, ...size });
  const view = (elevationDeg: number, azimuthDeg: number, radius: number): PosedView => ({ camera: orbitCamera(elevationDeg, azimuthDeg, spec(radius)), azimuthDeg, elevationDeg, radius });
  const train: PosedView[] = [];
  for (let i = 0; i < counts.train; i++) {
    const azimuth = -180 + (360 * (i + rnd())) / counts.train;
    const elevation = lo + (hi - lo) * rnd();
    const radius = orbit.radius + orbit.radiusJitter * (2 * rnd() - 1);
    train.push(view(elevation, azimuth, radius));
  }
  const test: PosedView[] = [];
  for (let i = 0; i < counts.test; i++) {
    if (i < EVAL_AZIMUTHS_DEG.length) test.push(view(0, EVAL_AZIMUTHS_DEG[i]!, orbit.radius));
    else test.push(view(lo + (hi - lo) * rnd(), -180 + 360 * rnd(), orbit.radius));
  }
  return { reference: view(0, 0, orbit.radius), train, test };
}
