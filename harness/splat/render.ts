// The differentiable Gaussian-splatting renderer: a Renderer records the forward
// and backward passes of one view into a command encoder, without reading
// anything back, so a training loop never waits on the GPU per iteration.
//
// Forward (timer labels): project -> scan (tiles per Gaussian -> offsets) ->
// map_intersects -> sort_* (RadixSortPlan, by tile then depth) -> tile_ranges ->
// rasterize. Backward: rasterize_bwd -> rasterize_bwd_reduce -> project_bwd,
// which adds to model.grads. The default ('ordered') backward sums in a fixed
// order with no float atomics, so a training run repeats bit for bit; its tile
// sums take GRAD_STRIDE f32 per intersection of capacity (wgsl/rasterize_bwd_ordered.wgsl).
// reduce: 'subgroups' | 'workgroup' picks the compare-exchange kernels instead.
//
// Intersection capacity. The number of (Gaussian, tile) pairs is only known on
// the GPU (the scan total). The keys/values buffers have a capacity; past it
// map_intersects drops pairs (the frame then lacks some splats in the last
// tiles, but nothing is out of bounds) and records the true total in the
// IntersectStatus buffer. Each encodeForward also copies that status into a small
// ring of mappable buffers; after submitting, call afterSubmit() to start mapping
// them (no waiting). When one shows an overflow, `needsGrowth` turns true; the
// caller then awaits sync(), which grows the buffers (and the sort plan) to fit,
// and may render that frame again. render() does all of this for one-off frames.
//
// Invalid parameters: NaN / Inf are refused on upload (GaussianModel.create runs
// validateParams, which names the group and row), before any GPU work. On the
// GPU, a splat whose projection is not finite (say an optimiser diverged) is
// culled, so it vanishes instead of poisoning the frame and the gradients.
//
// Uniforms: each encodeForward copies its camera and parameters into the
// uniform buffers inside the encoder (from a fresh staging buffer), so several
// views encoded before one submit each see their own. The backward pass uses
// the state of the latest encodeForward: encode forward and backward of one
// view before the next view's forward, or use one Renderer per view in flight.
import type { Gpu } from '../gpu/device.ts';
import { packStruct } from '../gpu/layout.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import { ScanPlan } from '../gpu/scan.ts';
import { RadixSortPlan } from '../gpu/sort.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import type { Camera } from './camera.ts';
import type { IntersectBuffers, RenderTarget, SplatBuffers } from './frame.ts';
import { createIntersectPipelines, dispatchMapIntersects, dispatchTileRanges, type IntersectPipelines, STATUS_COUNT_OFFSET } from './map_intersects.ts';
import { shCoeffCount, type GaussianModel } from './model.ts';
import { createProjectPipelines, dispatchProject, dispatchProjectBwd, type ProjectPipelines } from './project.ts';
import { createRasterizePipelines, dispatchRasterize, dispatchRasterizeBwd, dispatchRasterizeBwdReduce, type OrderedBwdBuffers, type RasterizePipelines, type ReduceChoice } from './rasterize.ts';
import { cameraLayout, GRAD_LAYOUT, intersectStatusLayout, type ReduceVariant, renderParamsLayout, TILE_SIZE } from './shaders.ts';

export type { RenderTarget } from './frame.ts';

export interface RendererOptions {
  width: number;
  height: number;
  /** Gaussian rows the renderer can take (a GaussianModel's capacity); reserve() grows it. */
  gaussians: number;
  /** Initial room for (Gaussian, tile) pairs; grown on overflow. Default max(65536, 16 x gaussians). */
  intersectCapacity?: number;
  /** RGB behind the splats; default black. */
  background?: ArrayLike<number>;
  /**
   * Depth bits of the sort key (default 32 - tile bits: all that fit). The key
   * keeps the top bits of the f32 depth without its sign: 8 exponent bits and
   * depthBits - 8 mantissa bits, i.e. depths within a relative 2^-(depthBits - 8)
   * tie and keep index order (2^-18 at 64 tiles, 2^-14 for 1024 tiles). Fewer
   * bits sort faster.
   */
  depthBits?: number;
  /** rasterize_bwd's reduction; default ('auto'): 'ordered' (deterministic); 'cas': compare-exchange adds. */
  reduce?: ReduceChoice;
}

/** What the GPU reported about intersections since the last sync(). */
export interface IntersectReport {
  /** The largest number of intersections a frame needed. */
  required: number;
  /** Capacity those frames were rendered with. */
  capacity: number;
  /** Some frame needed more than the capacity (and lacked some splats). */
  overflowed: boolean;
  /** Capacity after sync() (grown if there was an overflow). */
  grownTo: number;
  /** Frames whose status was read. */
  frames: number;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const STATUS_RING = 4;
/** Offset of RenderParams in the per-frame uniform staging buffer (uniform offset alignment). */
const PARAMS_STAGING_OFFSET = 256;

export function tileBitsFor(tiles: number): number {
  return tiles <= 1 ? 0 : Math.ceil(Math.log2(tiles));
}

interface StatusSlot {
  buffer: GPUBuffer;
  state: 'free' | 'copied' | 'mapping';
  mapped: Promise<void> | null;
}

interface LastForward {
  model: GaussianModel;
  camera: Camera;
  target: RenderTarget;
}

export class Renderer {
  readonly tilesX: number;
  readonly tilesY: number;
  readonly depthBits: number;
  readonly keyBits: number;
  /** The default target of encodeForward. */
  readonly target: RenderTarget;
  private gaussianCapacity = 0;
  private splat!: SplatBuffers;
  private scan!: ScanPlan;
  private intersect!: IntersectBuffers;
  /** The ordered reduction's per-intersection scratch (null for the CAS variants). */
  private ordered: OrderedBwdBuffers | null = null;
  private sort!: RadixSortPlan;
  private readonly dPixels: GPUBuffer;
  private readonly status: StatusSlot[] = [];
  private last: LastForward | null = null;
  private seen = { required: 0, overflowed: false, frames: 0, capacity: 0 };
  /** Uniform staging buffers of encoded frames, destroyed once the caller says they were submitted. */
  private staging: GPUBuffer[] = [];
  private readonly background: [number, number, number];

  private constructor(
    private readonly gpu: Gpu,
    private readonly cache: PipelineCache,
    readonly width: number,
    readonly height: number,
    options: RendererOptions,
    private readonly pipes: { project: ProjectPipelines; intersect: IntersectPipelines; rasterize: RasterizePipelines },
  ) {
    this.tilesX = Math.ceil(width / TILE_SIZE);
    this.tilesY = Math.ceil(height / TILE_SIZE);
    const tileBits = tileBitsFor(this.tilesX * this.tilesY);
    if (tileBits > 24) throw new Error(`renderer: ${this.tilesX * this.tilesY} tiles need ${tileBits} key bits; at most 24 leave room for depth`);
    this.depthBits = options.depthBits ?? 32 - tileBits;
    if (!Number.isInteger(this.depthBits) || this.depthBits < 0 || this.depthBits + tileBits > 32) {
      throw new Error(`renderer: depthBits ${this.depthBits} must be an integer in [0, ${32 - tileBits}] (${tileBits} bits number the tiles)`);
    }
    this.keyBits = tileBits + this.depthBits;
    const bg = options.background ?? [0, 0, 0];
    this.background = [Number(bg[0] ?? 0), Number(bg[1] ?? 0), Number(bg[2] ?? 0)];
    if (!this.background.every(Number.isFinite)) throw new Error(`renderer: background ${this.background.join(', ')} is not finite`);
    this.target = this.createTarget();
    this.dPixels = this.buffer('render-d-pixels', width * height * 5 * 4);
    for (let i = 0; i < STATUS_RING; i++) {
      this.status.push({
        buffer: gpu.device.createBuffer({ label: `render-status-read-${i}`, size: intersectStatusLayout.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
        state: 'free',
        mapped: null,
      });
    }
  }

  static async create(gpu: Gpu, cache: PipelineCache, options: RendererOptions): Promise<Renderer> {
    const { width, height, gaussians } = options;
    if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) throw new Error(`renderer: size ${width}x${height} is not two positive integers`);
    if (!Number.isInteger(gaussians) || gaussians < 0) throw new Error(`renderer: gaussians ${gaussians} is not a non-negative integer`);
    const [project, intersect, rasterize] = await Promise.all([
      createProjectPipelines(cache),
      createIntersectPipelines(cache),
      createRasterizePipelines(gpu, cache, options.reduce ?? 'auto'),
    ]);
    const r = new Renderer(gpu, cache, width, height, options, { project, intersect, rasterize });
    await r.reserve(gaussians);
    await r.allocateIntersections(options.intersectCapacity ?? Math.max(65536, 16 * gaussians), 1);
    return r;
  }

  /** Which rasterize_bwd reduction this renderer uses. */
  get reduceVariant(): ReduceVariant {
    return this.pipes.rasterize.variant;
  }

  get intersectCapacity(): number {
    return this.intersect.capacity;
  }

  get gaussians(): number {
    return this.gaussianCapacity;
  }

  /** Densification statistics accumulated by every encodeBackward: [N] f32 and [N] u32. */
  get densifyStats(): { xyGradNorm: GPUBuffer; visCount: GPUBuffer } {
    return { xyGradNorm: this.splat.xyGradNorm, visCount: this.splat.visCount };
  }

  /** Per-splat buffers of the latest forward (tests, debugging): see SplatBuffers. */
  get splatBuffers(): Readonly<SplatBuffers> {
    return this.splat;
  }

  get intersectBuffers(): Readonly<IntersectBuffers> {
    return this.intersect;
  }

  createTarget(): RenderTarget {
    const n = this.width * this.height;
    return {
      width: this.width,
      height: this.height,
      image: this.buffer('render-image', n * 16),
      depth: this.buffer('render-depth', n * 4),
      pixelState: this.buffer('render-pixel-state', n * 8),
    };
  }

  /**
   * Makes room for models of up to `gaussians` rows, keeping the densification
   * statistics. Call between frames, after submitting what was encoded.
   */
  async reserve(gaussians: number): Promise<void> {
    const rows = Math.max(1, gaussians);
    if (rows <= this.gaussianCapacity) return;
    const scan = await ScanPlan.create(this.gpu, this.cache, rows);
    const old = this.splat as SplatBuffers | undefined;
    const { device } = this.gpu;
    const uniform = (label: string, size: number) => device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.splat = {
      camera: old?.camera ?? uniform('render-camera', cameraLayout.size),
      params: old?.params ?? uniform('render-params', renderParamsLayout.size),
      xyDepth: this.buffer('render-xy-depth', rows * 16),
      conicOpacity: this.buffer('render-conic-opacity', rows * 16),
      rgb: this.buffer('render-rgb', rows * 16),
      tilesTouched: this.buffer('render-tiles-touched', rows * 4),
      tileRect: this.buffer('render-tile-rect', rows * 16),
      offsets: this.buffer('render-offsets', rows * 4),
      gradSplat: this.buffer('render-grad-splat', rows * GRAD_LAYOUT.stride * 4),
      xyGradNorm: this.buffer('render-xy-grad-norm', rows * 4),
      visCount: this.buffer('render-vis-count', rows * 4),
    };
    if (old) {
      const enc = device.createCommandEncoder({ label: 'render-reserve' });
      enc.copyBufferToBuffer(old.xyGradNorm, 0, this.splat.xyGradNorm, 0, old.xyGradNorm.size);
      enc.copyBufferToBuffer(old.visCount, 0, this.splat.visCount, 0, old.visCount.size);
      device.queue.submit([enc.finish()]);
      // Destroying after the submit is fine: WebGPU keeps them until that work is done.
      const { camera: _c, params: _p, ...rest } = old;
      for (const buf of Object.values(rest)) buf.destroy();
      this.scan.destroy();
    }
    this.scan = scan;
    this.gaussianCapacity = rows;
    this.last = null;
  }

  /** Zeroes the densification statistics (encoded). */
  clearDensifyStats(encoder: GPUCommandEncoder): void {
    encoder.clearBuffer(this.splat.xyGradNorm);
    encoder.clearBuffer(this.splat.visCount);
  }

  /**
   * Records the forward pass of `model` seen by `camera` into `target`. No
   * readback; may be called several times before one submit.
   */
  encodeForward(encoder: GPUCommandEncoder, model: GaussianModel, camera: Camera, target: RenderTarget = this.target, timer?: GpuTimer): void {
    this.encodePrepare(encoder, model, camera, timer);
    this.encodeSort(encoder, timer);
    this.encodeRasterize(encoder, model, camera, target, timer);
  }

  /**
   * Records the backward pass of the latest encodeForward (same model and camera):
   * `dImage` [H,W,4] f32 is d loss / d (r, g, b, alpha), `dDepth` [H,W] f32 the
   * optional d loss / d depth; both need COPY_SRC usage (they are copied into one
   * buffer: rasterize_bwd is at WebGPU's default 8 storage buffers). Adds to model.grads (clear them per step with
   * model.clearGrads) and to the densification statistics.
   */
  encodeBackward(encoder: GPUCommandEncoder, model: GaussianModel, camera: Camera, dImage: GPUBuffer, timer?: GpuTimer, options: { dDepth?: GPUBuffer } = {}): void {
    const last = this.last;
    if (!last) throw new Error('encodeBackward: no forward pass recorded (or the renderer was resized since)');
    if (last.model !== model || last.camera !== camera) throw new Error('encodeBackward: model and camera must be those of the latest encodeForward');
    const n = this.width * this.height;
    for (const [name, buf] of [['dImage', dImage], ['dDepth', options.dDepth]] as const) {
      if (buf && !(buf.usage & GPUBufferUsage.COPY_SRC)) throw new Error(`encodeBackward: ${name} '${buf.label}' needs COPY_SRC usage (it is copied beside the other per-pixel inputs)`);
    }
    if (dImage.size < n * 16) throw new Error(`encodeBackward: dImage '${dImage.label}' holds ${dImage.size} bytes, [${this.height},${this.width},4] f32 needs ${n * 16}`);
    encoder.copyBufferToBuffer(dImage, 0, this.dPixels, 0, n * 16);
    if (options.dDepth) {
      if (options.dDepth.size < n * 4) throw new Error(`encodeBackward: dDepth '${options.dDepth.label}' holds ${options.dDepth.size} bytes, [${this.height},${this.width}] f32 needs ${n * 4}`);
      encoder.copyBufferToBuffer(options.dDepth, 0, this.dPixels, n * 16, n * 4);
    } else {
      encoder.clearBuffer(this.dPixels, n * 16, n * 4);
    }
    if (this.ordered) {
      dispatchRasterizeBwd(encoder, this.gpu, this.pipes.rasterize, this.splat, this.intersect, last.target, this.dPixels, this.ordered, timer);
      dispatchRasterizeBwdReduce(encoder, this.gpu, this.pipes.rasterize, this.splat, this.intersect, this.ordered, model.count, timer);
    } else {
      encoder.clearBuffer(this.splat.gradSplat);
      dispatchRasterizeBwd(encoder, this.gpu, this.pipes.rasterize, this.splat, this.intersect, last.target, this.dPixels, null, timer);
    }
    dispatchProjectBwd(encoder, this.gpu, this.pipes.project, this.splat, model, timer);
  }

  /** Uniforms, project, scan of the tile counts, map_intersects. */
  encodePrepare(encoder: GPUCommandEncoder, model: GaussianModel, camera: Camera, timer?: GpuTimer): void {
    if (camera.width !== this.width || camera.height !== this.height) {
      throw new Error(`renderer: camera is ${camera.width}x${camera.height}, this renderer draws ${this.width}x${this.height}`);
    }
    if (model.count > this.gaussianCapacity) {
      throw new Error(`renderer: model has ${model.count} Gaussians, the renderer room for ${this.gaussianCapacity} (await renderer.reserve(n) first)`);
    }
    this.writeUniforms(encoder, model, camera);
    const b = this.splat;
    dispatchProject(encoder, this.gpu, this.pipes.project, b, model, timer);
    // The scan covers every row: rows past the count must add nothing.
    const rows = this.gaussianCapacity;
    if (model.count > 0) encoder.copyBufferToBuffer(b.tilesTouched, 0, b.offsets, 0, model.count * 4);
    if (rows > model.count) encoder.clearBuffer(b.offsets, model.count * 4, (rows - model.count) * 4);
    this.scan.encode(encoder, b.offsets, timer);
    dispatchMapIntersects(encoder, this.gpu, this.pipes.intersect, b, this.intersect, this.scan.total, model.count, timer);
    this.recordStatus(encoder);
  }

  /** Sorts the intersections by (tile, depth) on the GPU. */
  encodeSort(encoder: GPUCommandEncoder, timer?: GpuTimer): void {
    const x = this.intersect;
    this.sort.encode(encoder, x.keys, x.values, x.status, STATUS_COUNT_OFFSET, timer);
  }

  /** tile_ranges and rasterize, from sorted intersections; completes the forward of (model, camera). */
  encodeRasterize(encoder: GPUCommandEncoder, model: GaussianModel, camera: Camera, target: RenderTarget = this.target, timer?: GpuTimer): void {
    if (target.width !== this.width || target.height !== this.height) throw new Error(`renderer: target is ${target.width}x${target.height}, not ${this.width}x${this.height}`);
    dispatchTileRanges(encoder, this.gpu, this.pipes.intersect, this.splat, this.intersect, timer);
    dispatchRasterize(encoder, this.gpu, this.pipes.rasterize, this.splat, this.intersect, target, timer);
    this.last = { model, camera, target };
  }

  /** Starts mapping the status copies of forwards submitted since the last call; never waits. */
  afterSubmit(): void {
    for (const b of this.staging) b.destroy();
    this.staging = [];
    for (const slot of this.status) {
      if (slot.state !== 'copied') continue;
      slot.state = 'mapping';
      slot.mapped = slot.buffer.mapAsync(GPUMapMode.READ).then(
        () => {
          const v = new Uint32Array(slot.buffer.getMappedRange(), 0, intersectStatusLayout.size / 4);
          const required = v[intersectStatusLayout.field('required').offset / 4]!;
          const overflow = v[intersectStatusLayout.field('overflow').offset / 4]!;
          this.seen.required = Math.max(this.seen.required, required);
          this.seen.overflowed ||= overflow !== 0;
          this.seen.frames++;
          slot.buffer.unmap();
          slot.state = 'free';
        },
        () => {
          slot.state = 'free'; // device lost or buffer destroyed: nothing to learn
        },
      );
    }
  }

  /** An overflow has been seen: await sync() to grow before the next frame. */
  get needsGrowth(): boolean {
    return this.seen.overflowed;
  }

  /**
   * Reads every outstanding status (all encoded forwards must have been
   * submitted), grows the intersection buffers if a frame overflowed, and reports.
   */
  async sync(): Promise<IntersectReport> {
    this.afterSubmit();
    await Promise.all(this.status.map((s) => s.mapped));
    const seen = this.seen;
    const capacity = this.intersect.capacity;
    if (seen.required > capacity) await this.allocateIntersections(seen.required);
    this.seen = { required: 0, overflowed: false, frames: 0, capacity: this.intersect.capacity };
    return { required: seen.required, capacity, overflowed: seen.overflowed, grownTo: this.intersect.capacity, frames: seen.frames };
  }

  /**
   * Renders one frame and waits for it: submits, reads the status, and renders
   * again with grown buffers if it overflowed. Returns the final report.
   */
  async render(model: GaussianModel, camera: Camera, target: RenderTarget = this.target, timer?: GpuTimer): Promise<IntersectReport & { attempts: number }> {
    const { device } = this.gpu;
    for (let attempt = 1; ; attempt++) {
      const enc = device.createCommandEncoder({ label: 'render' });
      this.encodeForward(enc, model, camera, target, timer);
      if (timer) await timer.submit(enc);
      else device.queue.submit([enc.finish()]);
      const report = await this.sync();
      if (!report.overflowed || attempt >= 2) return { ...report, attempts: attempt };
    }
  }

  destroy(): void {
    for (const b of this.staging) b.destroy();
    const { camera, params, ...rest } = this.splat;
    for (const buf of [camera, params, ...Object.values(rest), this.dPixels, this.target.image, this.target.depth, this.target.pixelState]) buf.destroy();
    for (const buf of [this.intersect.keys, this.intersect.values, this.intersect.status, this.intersect.ranges]) buf.destroy();
    this.ordered?.partials.destroy();
    this.ordered?.order.destroy();
    for (const s of this.status) s.buffer.destroy();
    this.scan.destroy();
    this.sort.destroy();
  }

  private buffer(label: string, bytes: number, extra = 0): GPUBuffer {
    return this.gpu.device.createBuffer({ label, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: STORAGE | extra });
  }

  /**
   * Intersection buffers and sort plan for at least `required` pairs (a power of
   * two with `headroom`). Called from sync(), after the caller submitted its frames.
   */
  private async allocateIntersections(required: number, headroom = 1.25): Promise<void> {
    const ordered = this.pipes.rasterize.order !== null;
    // The ordered backward keeps GRAD_STRIDE f32 per intersection in one binding.
    const maxPairs = Math.floor(this.gpu.device.limits.maxStorageBufferBindingSize / (ordered ? GRAD_LAYOUT.stride * 4 : 4));
    const want = Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, required * headroom))));
    const capacity = Math.min(want, maxPairs);
    if (capacity < required) throw new Error(`renderer: a frame needs ${required} intersections, more than one binding can hold (${maxPairs})`);
    const sort = await RadixSortPlan.create(this.gpu, this.cache, capacity, { keyBits: this.keyBits });
    const old = this.intersect as IntersectBuffers | undefined;
    this.intersect = {
      capacity,
      keys: this.buffer('render-keys', capacity * 4),
      values: this.buffer('render-values', capacity * 4),
      status: old?.status ?? this.buffer('render-status', intersectStatusLayout.size, GPUBufferUsage.INDIRECT),
      ranges: old?.ranges ?? this.buffer('render-tile-ranges', this.tilesX * this.tilesY * 8),
    };
    if (old) {
      old.keys.destroy();
      old.values.destroy();
      this.sort.destroy();
    }
    this.ordered?.partials.destroy();
    this.ordered?.order.destroy();
    this.ordered = ordered ? { partials: this.buffer('render-bwd-partials', capacity * GRAD_LAYOUT.stride * 4), order: this.buffer('render-bwd-order', capacity * 4) } : null;
    this.sort = sort;
    this.last = null;
  }

  private writeUniforms(encoder: GPUCommandEncoder, model: GaussianModel, camera: Camera) {
    const { device } = this.gpu;
    const params = packStruct(renderParamsLayout, {
      count: model.count,
      sh_coeffs: shCoeffCount(model.shDegree),
      tiles_x: this.tilesX,
      tiles_y: this.tilesY,
      depth_bits: this.depthBits,
      intersect_capacity: this.intersect.capacity,
      max_workgroups_per_dim: device.limits.maxComputeWorkgroupsPerDimension,
      pad: 0,
      background: [...this.background, 0],
    });
    const cam = camera.pack(cameraLayout);
    // A fresh staging buffer per frame, copied inside the encoder: queue.writeBuffer
    // would land before the submit, so all views of one submit would see the last.
    const staging = device.createBuffer({ label: 'render-uniform-staging', size: PARAMS_STAGING_OFFSET + params.byteLength, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    const bytes = new Uint8Array(staging.getMappedRange());
    bytes.set(new Uint8Array(cam), 0);
    bytes.set(new Uint8Array(params), PARAMS_STAGING_OFFSET);
    staging.unmap();
    this.staging.push(staging);
    encoder.copyBufferToBuffer(staging, 0, this.splat.camera, 0, cam.byteLength);
    encoder.copyBufferToBuffer(staging, PARAMS_STAGING_OFFSET, this.splat.params, 0, params.byteLength);
  }

  private recordStatus(encoder: GPUCommandEncoder) {
    const slot = this.status.find((s) => s.state === 'free');
    // All busy (afterSubmit not called for a while): this frame goes unreported.
    if (!slot) return;
    encoder.copyBufferToBuffer(this.intersect.status, 0, slot.buffer, 0, intersectStatusLayout.size);
    slot.state = 'copied';
  }
}
