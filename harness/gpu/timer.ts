// Per-label GPU timing. With `timestamp-query`, every labelled compute pass gets a
// begin/end timestamp pair and nothing waits: results are resolved in bulk. Without
// it, each submit waits for the queue and its wall time is charged to the labels of
// the passes it carried. `method` says which one produced the numbers.
import type { Gpu } from './device.ts';

export type TimingMethod = 'timestamp' | 'wall';

export interface TimingSamples {
  method: TimingMethod;
  /** label -> durations in milliseconds, in submission order. */
  samples: Record<string, number[]>;
}

interface PendingResolve {
  labels: string[];
  staging: GPUBuffer;
  /** Started only after the copy is submitted (mapping earlier is a validation error). */
  mapped: Promise<void> | null;
}

export class GpuTimer {
  readonly method: TimingMethod;
  private readonly querySet: GPUQuerySet | null = null;
  private readonly resolveBuffer: GPUBuffer | null = null;
  private readonly capacity: number;
  private labels: string[] = [];
  private pending: PendingResolve[] = [];
  private readonly wallLabels = new WeakMap<GPUCommandEncoder, string[]>();
  private readonly samples: Record<string, number[]> = {};

  constructor(
    private readonly gpu: Gpu,
    options: { method?: 'auto' | TimingMethod; capacity?: number } = {},
  ) {
    const want = options.method ?? 'auto';
    if (want === 'timestamp' && !gpu.has('timestamp-query')) throw new Error('GpuTimer: timestamp-query is not enabled on this device');
    this.method = want === 'wall' || !gpu.has('timestamp-query') ? 'wall' : 'timestamp';
    this.capacity = options.capacity ?? 1024;
    if (this.method === 'timestamp') {
      this.querySet = gpu.device.createQuerySet({ label: 'timer', type: 'timestamp', count: this.capacity * 2 });
      this.resolveBuffer = gpu.device.createBuffer({
        label: 'timer-resolve',
        size: this.capacity * 16,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
    }
  }

  /**
   * Begins a compute pass whose duration is recorded under `label`. The encoder
   * must then be submitted through `submit()`, which knows about the queries.
   */
  beginPass(encoder: GPUCommandEncoder, label: string): GPUComputePassEncoder {
    if (this.method === 'timestamp') {
      if (this.labels.length >= this.capacity) this.flush(encoder);
      const i = this.labels.length;
      this.labels.push(label);
      return encoder.beginComputePass({
        label,
        timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
    }
    const list = this.wallLabels.get(encoder) ?? [];
    list.push(label);
    this.wallLabels.set(encoder, list);
    return encoder.beginComputePass({ label });
  }

  /**
   * Submits the encoder. Timestamp mode returns at once; wall mode waits for the
   * queue and charges the elapsed time to the passes the encoder carried.
   */
  async submit(encoder: GPUCommandEncoder): Promise<void> {
    const { queue } = this.gpu.device;
    if (this.method === 'timestamp') {
      if (this.labels.length > this.capacity / 2) this.flush(encoder);
      queue.submit([encoder.finish()]);
      this.startMaps();
      return;
    }
    const labels = this.wallLabels.get(encoder) ?? [];
    const t0 = performance.now();
    queue.submit([encoder.finish()]);
    await queue.onSubmittedWorkDone();
    if (labels.length) this.record(labels.join('+'), performance.now() - t0);
  }

  /** Reads every outstanding timestamp and returns all samples recorded so far. */
  async collect(): Promise<TimingSamples> {
    if (this.method === 'timestamp' && this.labels.length) {
      const enc = this.gpu.device.createCommandEncoder({ label: 'timer-collect' });
      this.flush(enc);
      this.gpu.device.queue.submit([enc.finish()]);
    }
    this.startMaps();
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      await p.mapped;
      const ticks = new BigUint64Array(p.staging.getMappedRange());
      p.labels.forEach((label, i) => {
        const begin = ticks[2 * i]!;
        const end = ticks[2 * i + 1]!;
        // Some drivers report end < begin for empty passes; count those as zero.
        this.record(label, end > begin ? Number(end - begin) / 1e6 : 0);
      });
      p.staging.destroy();
    }
    return { method: this.method, samples: Object.fromEntries(Object.entries(this.samples).map(([k, v]) => [k, [...v]])) };
  }

  /** Forgets recorded samples (e.g. after warm-up). Outstanding passes are still resolved first. */
  async reset(): Promise<void> {
    await this.collect();
    for (const k of Object.keys(this.samples)) delete this.samples[k];
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }

  private record(label: string, ms: number) {
    (this.samples[label] ??= []).push(ms);
  }

  /** Encodes resolve + copy of the used query pairs and starts mapping the copy. */
  private flush(encoder: GPUCommandEncoder) {
    const n = this.labels.length;
    if (!n) return;
    const staging = this.gpu.device.createBuffer({ label: 'timer-staging', size: n * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet!, 0, 2 * n, this.resolveBuffer!, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer!, 0, staging, 0, n * 16);
    this.pending.push({ labels: this.labels, staging, mapped: null });
    this.labels = [];
  }

  private startMaps() {
    for (const p of this.pending) p.mapped ??= p.staging.mapAsync(GPUMapMode.READ);
  }
}
