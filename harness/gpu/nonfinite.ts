// Host side of wgsl/nonfinite.wgsl: NaN / Inf detection during training.
//
// A stage registers its parameter and gradient buffers by name; every `every`
// iterations (and at the last) encode() records one `nonfinite` dispatch per
// buffer into that iteration's encoder and copies the flags into a mappable
// buffer, which afterSubmit() starts mapping without waiting. The next check
// (or finish()) awaits that mapping, which by then is long done, so the loop
// never stalls on the GPU, and a fault seen at check iteration i is reported by
// iteration i + every at the latest: the error names the stage, the first
// checked iteration that saw it (the fault arose in the window since the check
// before) and each parameter group and kind affected.
import source from '../../wgsl/nonfinite.wgsl';
import type { Gpu } from './device.ts';
import { packStruct, WgslLayouts } from './layout.ts';
import type { PipelineCache } from './pipelines.ts';
import type { GpuTimer } from './timer.ts';

const layouts = new WgslLayouts(source);
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const paramsLayout = layouts.struct('NonFiniteParams');
const SHADER = { label: 'nonfinite', code: source };
const NONE = 0xffffffff;
/** Workgroups per dispatch at most (each strides over the buffer). */
const MAX_GROUPS = 64;

/** Iterations between checks when a stage's config does not say (documented in docs/design-notes.md). */
export const NONFINITE_CHECK_EVERY = 10;

export type CheckedKind = 'parameters' | 'gradients';

export interface CheckedBuffer {
  /** Parameter group, e.g. `means` or `hexplane.planes`. */
  group: string;
  kind: CheckedKind;
  buffer: GPUBuffer;
}

/** Tests only: NaN written into the first float of a group's parameters or gradients at an iteration. */
export interface NonFiniteInjection {
  iteration: number;
  group: string;
  kind: CheckedKind;
}

/** Records the injection if it is due at `iter` and `kind`: float 0 of the entry's buffer becomes NaN. */
export function encodeInjection(encoder: GPUCommandEncoder, device: GPUDevice, entries: CheckedBuffer[], inject: NonFiniteInjection | undefined, iter: number, kind: CheckedKind): void {
  if (!inject || inject.iteration !== iter || inject.kind !== kind) return;
  const e = entries.find((x) => x.group === inject.group && x.kind === kind);
  if (!e) throw new Error(`injectNonFinite: no ${kind} of group '${inject.group}' (groups: ${[...new Set(entries.map((x) => x.group))].join(', ')})`);
  const staging = device.createBuffer({ label: 'nonfinite-inject', size: 4, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  new Float32Array(staging.getMappedRange()).fill(NaN);
  staging.unmap();
  encoder.copyBufferToBuffer(staging, 0, e.buffer, 0, 4);
}

/** Thrown by check() / finish(): a training stage produced NaN or Inf. */
export class NonFiniteError extends Error {
  constructor(
    readonly stage: string,
    readonly iteration: number,
    readonly every: number,
    readonly found: { group: string; kind: CheckedKind }[],
  ) {
    const what = found.map((f) => `${f.group} ${f.kind}`).join(', ');
    super(`${stage} stage: non-finite values in ${what} at iteration ${iteration} (checked every ${every})`);
    this.name = 'NonFiniteError';
  }
}

export class NonFiniteCheck {
  private readonly flags: GPUBuffer;
  private readonly read: GPUBuffer[];
  private ring = 0;
  private pending: { buffer: GPUBuffer; mapped: Promise<void> | null } | null = null;
  private uniforms: GPUBuffer[] = [];

  private constructor(
    private readonly gpu: Gpu,
    private readonly pipeline: GPUComputePipeline,
    readonly stage: string,
    readonly every: number,
    private readonly entries: CheckedBuffer[],
  ) {
    const { device } = gpu;
    const bytes = Math.max(4, entries.length * 4);
    this.flags = device.createBuffer({ label: `${stage}-nonfinite-flags`, size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint32Array(this.flags.getMappedRange()).fill(NONE);
    this.flags.unmap();
    this.read = [0, 1].map((i) => device.createBuffer({ label: `${stage}-nonfinite-read-${i}`, size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  }

  /** `every`: iterations between checks (a positive integer). */
  static async create(gpu: Gpu, cache: PipelineCache, stage: string, every: number, entries: CheckedBuffer[]): Promise<NonFiniteCheck> {
    if (!Number.isInteger(every) || every < 1) throw new Error(`${stage} stage: nonFiniteCheckEvery ${every} must be a positive integer`);
    return new NonFiniteCheck(gpu, await cache.pipeline(SHADER, 'nonfinite'), stage, every, entries);
  }

  /** Whether iteration `iter` (1-based) of `of` is checked. */
  due(iter: number, of: number): boolean {
    return iter % this.every === 0 || iter === of;
  }

  /**
   * Records the check of iteration `iter` (call when due()): the first `floats(entry)`
   * floats of every registered buffer (0 skips it). Label `nonfinite`.
   */
  encode(encoder: GPUCommandEncoder, iter: number, floats: (entry: CheckedBuffer) => number, timer?: GpuTimer): void {
    const { device } = this.gpu;
    const pass = timer ? timer.beginPass(encoder, 'nonfinite') : encoder.beginComputePass({ label: 'nonfinite' });
    pass.setPipeline(this.pipeline);
    this.entries.forEach((e, entry) => {
      const count = Math.min(floats(e), Math.floor(e.buffer.size / 4));
      if (count <= 0) return;
      // Per dispatch by value: several checks may sit in one submit.
      const uniform = device.createBuffer({ label: 'nonfinite-params', size: paramsLayout.size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint8Array(uniform.getMappedRange()).set(new Uint8Array(packStruct(paramsLayout, { count, entry, iteration: iter, pad: 0 })));
      uniform.unmap();
      this.uniforms.push(uniform);
      pass.setBindGroup(0, device.createBindGroup({
        label: 'nonfinite',
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform } },
          { binding: 1, resource: { buffer: e.buffer, size: count * 4 } },
          { binding: 2, resource: { buffer: this.flags } },
        ],
      }));
      pass.dispatchWorkgroups(Math.min(MAX_GROUPS, Math.ceil(count / WORKGROUP_SIZE)));
    });
    pass.end();
    const slot = this.read[this.ring++ % this.read.length]!;
    encoder.copyBufferToBuffer(this.flags, 0, slot, 0, this.flags.size);
    this.queued = slot;
  }

  private queued: GPUBuffer | null = null;

  /**
   * After submitting an encoder that holds a check: starts mapping its flags, and
   * throws NonFiniteError if the previous check found something (awaiting it first).
   */
  async afterSubmit(): Promise<void> {
    for (const u of this.uniforms) u.destroy();
    this.uniforms = [];
    if (!this.queued) return;
    const previous = this.pending;
    this.pending = { buffer: this.queued, mapped: this.queued.mapAsync(GPUMapMode.READ) };
    this.queued = null;
    if (previous) await this.inspect(previous);
  }

  /** Awaits the last check (call after the last iteration); throws NonFiniteError if it found something. */
  async finish(): Promise<void> {
    const last = this.pending;
    this.pending = null;
    if (last) await this.inspect(last);
  }

  destroy(): void {
    this.flags.destroy();
    for (const b of [...this.read, ...this.uniforms]) b.destroy();
  }

  private async inspect(p: { buffer: GPUBuffer; mapped: Promise<void> | null }): Promise<void> {
    await p.mapped;
    const flags = new Uint32Array(p.buffer.getMappedRange().slice(0));
    p.buffer.unmap();
    let first = NONE;
    for (const f of flags) first = Math.min(first, f);
    if (first === NONE) return;
    const found = this.entries.filter((_, i) => flags[i] === first).map(({ group, kind }) => ({ group, kind }));
    throw new NonFiniteError(this.stage, first, this.every, found);
  }
}
