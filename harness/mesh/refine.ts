// Texture refinement on the GPU (wgsl/refine.wgsl forward, wgsl/refine_bwd.wgsl
// loss and backward; references in refine_ref.ts). DG4D refines each frame's
// texture with Adam against the reference-view render (masked MSE) and an
// SVD-refined video; no video diffusion model is used here: the temporal term is
// a second difference over neighbouring frames' renders (see refine_bwd.wgsl).
// Per iteration, one encoder: clear gradients → `refine` for every frame →
// `refine_bwd` for every frame → Adam (harness/splat/adam.ts, one group per frame
// texture; the alpha column gets zero gradient, so it never moves). The uv maps
// and targets are fixed: drawn once (wgsl/bake_raster.wgsl) and rendered once.
// Timer labels: refine, refine_bwd, adam.
import refineSource from '../../wgsl/refine.wgsl';
import refineBwdSource from '../../wgsl/refine_bwd.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import { readF32 } from '../gpu/readback.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { Adam } from '../splat/adam.ts';

const layouts = new WgslLayouts(refineSource);
const WORKGROUP_SIZE = layouts.constant('WORKGROUP_SIZE');
const paramsLayout = layouts.struct('RefineParams');
const FWD: ShaderSource = { label: 'refine', code: refineSource };
const BWD: ShaderSource = { label: 'refine_bwd', code: `${refineSource}\n${refineBwdSource}` };

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export interface RefineConfig {
  iterations: number;
  /** Adam learning rate on the albedo (DG4D: 0.2). */
  lr: number;
  dataWeight: number;
  temporalWeight: number;
}

/** One frame's fixed inputs and its texture (trained in place). */
export interface RefineFrameBuffers {
  /** [T*T,4] f32 (rgb, filled), row 0 at v = 0. */
  texture: GPUBuffer;
  /** [P,4] (u, v, depth, covered) of the frame's mesh at the reference view. */
  uvMap: GPUBuffer;
  /** [P,4] the Gaussians' render at the reference view over black. */
  target: GPUBuffer;
}

export class RefineKernels {
  private constructor(
    private readonly device: GPUDevice,
    private readonly fwd: GPUComputePipeline,
    private readonly bwd: GPUComputePipeline,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache): Promise<RefineKernels> {
    const [fwd, bwd] = await Promise.all([cache.pipeline(FWD, 'refine'), cache.pipeline(BWD, 'refine_bwd')]);
    return new RefineKernels(gpu.device, fwd, bwd);
  }

  private bind(p: GPUComputePipeline, entries: Record<number, GPUBuffer>) {
    return this.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: Object.entries(entries).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } })) });
  }

  /** One uniform per frame (they differ only in the frame index). */
  uniforms(T: number, pixels: number, frames: number, w: { data: number; temporal: number }): GPUBuffer[] {
    return Array.from({ length: frames }, (_, frame) => {
      const b = this.device.createBuffer({ label: `refine-params-${frame}`, size: paramsLayout.size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint8Array(b.getMappedRange()).set(new Uint8Array(packStruct(paramsLayout, { tex_size: T, pixels, frame, frames, data_weight: w.data, temporal_weight: w.temporal })));
      b.unmap();
      return b;
    });
  }

  private grid(pixels: number) {
    return splitGrid(Math.ceil(pixels / WORKGROUP_SIZE), this.device.limits.maxComputeWorkgroupsPerDimension);
  }

  /**
   * Forward of every frame, then loss and backward of every frame into `grads`
   * (added; clear them first). `loss` is [F,P] per-pixel shares.
   */
  encode(enc: GPUCommandEncoder, frames: RefineFrameBuffers[], uniforms: GPUBuffer[], pixels: number, colours: GPUBuffer, grads: GPUBuffer[], loss: GPUBuffer[], timer?: GpuTimer): void {
    const grid = this.grid(pixels);
    const fp = timer ? timer.beginPass(enc, 'refine') : enc.beginComputePass({ label: 'refine' });
    fp.setPipeline(this.fwd);
    frames.forEach((fr, f) => {
      fp.setBindGroup(0, this.bind(this.fwd, { 0: uniforms[f]!, 1: fr.texture, 2: fr.uvMap, 3: colours }));
      dispatchGrid(fp, grid);
    });
    fp.end();
    const bp = timer ? timer.beginPass(enc, 'refine_bwd') : enc.beginComputePass({ label: 'refine_bwd' });
    bp.setPipeline(this.bwd);
    frames.forEach((fr, f) => {
      bp.setBindGroup(0, this.bind(this.bwd, { 0: uniforms[f]!, 4: colours, 5: fr.target, 6: fr.uvMap, 7: grads[f]!, 8: loss[f]! }));
      dispatchGrid(bp, grid);
    });
    bp.end();
  }
}

export interface RefineResult {
  /** Loss (data + temporal, summed over frames) before the first step and after the last. */
  lossBefore: number;
  lossAfter: number;
  iterations: number;
}

/** Trains every frame's texture in place (see the file comment). */
export async function refineTextures(gpu: Gpu, cache: PipelineCache, frames: RefineFrameBuffers[], T: number, pixels: number, config: RefineConfig, timer?: GpuTimer): Promise<RefineResult> {
  const { device } = gpu;
  const F = frames.length;
  const kernels = await RefineKernels.create(gpu, cache);
  const uniforms = kernels.uniforms(T, pixels, F, { data: config.dataWeight, temporal: config.temporalWeight });
  const colours = device.createBuffer({ label: 'refine-colours', size: Math.max(1, F) * pixels * 16, usage: STORAGE() });
  const grads = frames.map((_, f) => device.createBuffer({ label: `refine-grad-${f}`, size: T * T * 16, usage: STORAGE() }));
  const loss = frames.map((_, f) => device.createBuffer({ label: `refine-loss-${f}`, size: pixels * 4, usage: STORAGE() }));
  const submit = async (enc: GPUCommandEncoder) => (timer ? timer.submit(enc) : device.queue.submit([enc.finish()]));
  const readLoss = async () => {
    let s = 0;
    for (const b of loss) for (const v of await readF32(device, b, pixels)) s += v;
    return s;
  };
  const adam = await Adam.create(
    gpu,
    cache,
    frames.map((fr, f) => ({ name: `texture_${f}`, params: fr.texture, grads: grads[f]!, width: 4, capacity: T * T, lr: { kind: 'constant', lr: config.lr } })),
  );
  try {
    let lossBefore = Number.NaN;
    for (let it = 0; it < config.iterations; it++) {
      const enc = device.createCommandEncoder({ label: 'refine' });
      for (const g of grads) enc.clearBuffer(g);
      kernels.encode(enc, frames, uniforms, pixels, colours, grads, loss, timer);
      adam.step(enc, undefined, timer);
      await submit(enc);
      if (it === 0) lossBefore = await readLoss();
    }
    // The loss after the last step: one more forward, no step.
    const enc = device.createCommandEncoder({ label: 'refine-final' });
    for (const g of grads) enc.clearBuffer(g);
    kernels.encode(enc, frames, uniforms, pixels, colours, grads, loss);
    device.queue.submit([enc.finish()]);
    const lossAfter = await readLoss();
    return { lossBefore: config.iterations ? lossBefore : lossAfter, lossAfter, iterations: config.iterations };
  } finally {
    adam.destroy();
    for (const b of [...uniforms, colours, ...grads, ...loss]) b.destroy();
  }
}
