// What the dynamic stage needs of a deformation field (HexPlane: hexplane.ts,
// MLP: mlp.ts). A field maps canonical Gaussians and a time t in [0, 1] to
// deformed ones:
//
//   means'      = means      + Δposition(means, t)
//   log_scales' = log_scales + Δscale(means, t)
//   quats'      = quats      + Δrotation(means, t)     (raw quaternion, renormalised by the renderer)
//
// The field's input position is the canonical mean, detached: no gradient flows
// into the canonical means through the field's input (Deformable 3DGS detaches it;
// we do the same for HexPlane, see docs/design-notes.md). Gradients reach the
// canonical parameters only through the identity path above.
//
// Several forward/backward pairs at different times may be recorded into one
// command encoder (one per frame of a batch): per-call values such as the time
// are written in-encoder (copied from a fresh staging buffer), never with
// queue.writeBuffer, which would make every call in the encoder see the last value.
import type { AdamGroupSpec } from '../splat/adam.ts';
import type { GpuTimer } from '../gpu/timer.ts';

export const FIELD_KINDS = ['hexplane', 'mlp'] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

/** The deformable part of a Gaussian set: [N,3] means, [N,3] log-scales, [N,4] quaternions (w,x,y,z), f32. */
export interface DeformBuffers {
  means: GPUBuffer;
  log_scales: GPUBuffer;
  quats: GPUBuffer;
}

export interface DeformationField {
  readonly kind: FieldKind;
  /** Rows (Gaussians) the field's scratch buffers hold; reserve() grows them. */
  readonly rows: number;
  reserve(rows: number): Promise<void>;
  /**
   * Records out = canonical + field(canonical.means, time) for rows [0, count).
   * Keeps whatever the backward of this call needs (activations) until the next
   * encodeForward.
   */
  encodeForward(encoder: GPUCommandEncoder, canonical: DeformBuffers, count: number, time: number, out: DeformBuffers, timer?: GpuTimer): void;
  /**
   * Records the backward of the latest encodeForward: given dOut (dL/d deformed
   * rows), ADDS the field's parameter gradients to its gradient buffers, and when
   * dCanonical is given ADDS dOut to it (the identity path).
   */
  encodeBackward(encoder: GPUCommandEncoder, dOut: DeformBuffers, dCanonical: DeformBuffers | null, timer?: GpuTimer): void;
  /** Zeroes the parameter gradients (encoded). */
  clearGrads(encoder: GPUCommandEncoder): void;
  /** The parameter groups with their learning-rate schedules, for Adam.create. */
  adamGroups(): AdamGroupSpec[];
  /** Parameters by group name (tests, export). */
  download(): Promise<Record<string, Float32Array>>;
  /** Total number of trainable floats. */
  readonly parameterCount: number;
  destroy(): void;
}
