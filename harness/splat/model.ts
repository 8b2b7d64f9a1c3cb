// The Gaussian model: structure of arrays, one flat f32 buffer per parameter
// group, so each group gets its own Adam learning rate and schedule. Gradients
// mirror the parameters buffer for buffer (same shapes, same row order).
//
//   means           [N,3]    f32 world-space centre
//   log_scales      [N,3]    f32 log of the per-axis standard deviation
//   quats           [N,4]    f32 rotation quaternion (w,x,y,z), not necessarily normalised
//   opacity_logits  [N]      f32 opacity = sigmoid(logit)
//   sh              [N,K,3]  f32 SH coefficients, K = (degree+1)^2, k = 0 is the DC term
//
// Rows past `count` (up to `capacity`) are spare room for densification.
import { uploadBuffer, readF32 } from '../gpu/readback.ts';

export const PARAM_GROUPS = ['means', 'log_scales', 'quats', 'opacity_logits', 'sh'] as const;
export type ParamGroup = (typeof PARAM_GROUPS)[number];

export const MAX_SH_DEGREE = 3;
export const shCoeffCount = (degree: number) => (degree + 1) ** 2;
/** SH band-0 constant: colour = SH_C0 * dc + 0.5. */
export const SH_C0 = 0.28209479177387814;

/** Floats per row of each group. */
export function groupWidth(group: ParamGroup, shDegree: number): number {
  switch (group) {
    case 'means':
    case 'log_scales':
      return 3;
    case 'quats':
      return 4;
    case 'opacity_logits':
      return 1;
    case 'sh':
      return shCoeffCount(shDegree) * 3;
  }
}

/** CPU-side Gaussians (also what PLY import/export and the references use). */
export interface GaussianParams {
  count: number;
  shDegree: number;
  means: Float32Array;
  log_scales: Float32Array;
  quats: Float32Array;
  opacity_logits: Float32Array;
  sh: Float32Array;
}

export function emptyParams(count: number, shDegree: number): GaussianParams {
  if (!Number.isInteger(shDegree) || shDegree < 0 || shDegree > MAX_SH_DEGREE) throw new Error(`SH degree must be 0..${MAX_SH_DEGREE}, got ${shDegree}`);
  const p = { count, shDegree } as GaussianParams;
  for (const g of PARAM_GROUPS) p[g] = new Float32Array(count * groupWidth(g, shDegree));
  return p;
}

/** Throws naming the group, row and value of the first NaN/Inf, or a shape mismatch. */
export function validateParams(p: GaussianParams, source = 'Gaussian parameters'): void {
  for (const g of PARAM_GROUPS) {
    const width = groupWidth(g, p.shDegree);
    const arr = p[g];
    if (arr.length !== p.count * width) throw new Error(`${source}: '${g}' has ${arr.length} floats, expected ${p.count} x ${width}`);
    for (let i = 0; i < arr.length; i++) {
      if (!Number.isFinite(arr[i]!)) throw new Error(`${source}: '${g}' row ${Math.floor(i / width)} holds ${arr[i]} (not finite)`);
    }
  }
}

/** Parameters and gradients on the GPU. */
export class GaussianModel {
  private constructor(
    private readonly device: GPUDevice,
    public count: number,
    readonly capacity: number,
    readonly shDegree: number,
    readonly params: Record<ParamGroup, GPUBuffer>,
    readonly grads: Record<ParamGroup, GPUBuffer>,
    /** False for views over buffers owned elsewhere (see view()). */
    private readonly owns = true,
  ) {}

  /**
   * A model over buffers owned elsewhere: the dynamic stage renders deformed
   * means, scales and rotations with the canonical opacity and colour. The
   * buffers must hold `count` rows of each group; destroy() leaves them alone.
   */
  static view(device: GPUDevice, count: number, shDegree: number, params: Record<ParamGroup, GPUBuffer>, grads: Record<ParamGroup, GPUBuffer>): GaussianModel {
    for (const g of PARAM_GROUPS) {
      const bytes = count * groupWidth(g, shDegree) * 4;
      for (const [what, b] of [['params', params[g]], ['grads', grads[g]]] as const) {
        if (!b || b.size < bytes) throw new Error(`model view: ${what}.${g} holds ${b?.size ?? 0} bytes, ${count} rows need ${bytes}`);
      }
    }
    return new GaussianModel(device, count, count, shDegree, params, grads, false);
  }

  static create(device: GPUDevice, p: GaussianParams, capacity = p.count): GaussianModel {
    validateParams(p);
    if (capacity < p.count) throw new Error(`capacity ${capacity} < count ${p.count}`);
    // Read GPUBufferUsage only here, so Node code can import this module's values.
    const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const params = {} as Record<ParamGroup, GPUBuffer>;
    const grads = {} as Record<ParamGroup, GPUBuffer>;
    for (const g of PARAM_GROUPS) {
      const width = groupWidth(g, p.shDegree);
      const full = new Float32Array(Math.max(1, capacity) * width);
      full.set(p[g]);
      params[g] = uploadBuffer(device, full, STORAGE, `param-${g}`);
      grads[g] = device.createBuffer({ label: `grad-${g}`, size: full.byteLength, usage: STORAGE });
    }
    return new GaussianModel(device, p.count, capacity, p.shDegree, params, grads);
  }

  width(g: ParamGroup): number {
    return groupWidth(g, this.shDegree);
  }

  /** Zeroes every gradient buffer (encoded, not submitted). */
  clearGrads(encoder: GPUCommandEncoder): void {
    for (const g of PARAM_GROUPS) encoder.clearBuffer(this.grads[g]);
  }

  async download(): Promise<GaussianParams> {
    const out = { count: this.count, shDegree: this.shDegree } as GaussianParams;
    for (const g of PARAM_GROUPS) out[g] = await readF32(this.device, this.params[g], this.count * this.width(g));
    return out;
  }

  async downloadGrads(): Promise<Record<ParamGroup, Float32Array>> {
    const out = {} as Record<ParamGroup, Float32Array>;
    for (const g of PARAM_GROUPS) out[g] = await readF32(this.device, this.grads[g], this.count * this.width(g));
    return out;
  }

  destroy(): void {
    if (!this.owns) return;
    for (const g of PARAM_GROUPS) {
      this.params[g].destroy();
      this.grads[g].destroy();
    }
  }
}
