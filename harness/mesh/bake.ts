// Texture bake on the GPU (wgsl/bake.wgsl, wgsl/bake_raster.wgsl; references in
// bake_ref.ts). For a UV-unwrapped mesh and the Gaussians of the same frame:
//   1. texel map: the mesh drawn in UV space gives each covered texel its surface
//      point and normal (render pipeline `bake_raster`: vs_texel / fs_texel)
//   2. per view (DG4D: 26): render the Gaussians (harness/splat/render.ts, black
//      background), draw the mesh from the same camera for its own depth
//      (vs_view / fs_view), and `bake` adds cos-weighted render colours to the
//      texels that view sees (depth test against the mesh, cosine > min_cos)
//   3. `bake_normalize`, then `bake_dilate` rings into empty texels (DG4D: 32)
// The gather is one thread per texel: no atomics, deterministic.
// Timer labels: bake_raster (wall only: render passes carry no timestamps here),
// the renderer's own labels, bake, bake_normalize, bake_dilate.
import bakeSource from '../../wgsl/bake.wgsl';
import rasterSource from '../../wgsl/bake_raster.wgsl';
import type { Gpu } from '../gpu/device.ts';
import { dispatchGrid, splitGrid } from '../gpu/dispatch.ts';
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import type { PipelineCache, ShaderSource } from '../gpu/pipelines.ts';
import type { GpuTimer } from '../gpu/timer.ts';
import { gtCamera, type GtCameraSpec, type MeshData } from '../gt/mesh.ts';
import { Camera } from '../splat/camera.ts';
import type { GaussianModel } from '../splat/model.ts';
import { Renderer } from '../splat/render.ts';
import { BAKE_MIN_ALPHA, BAKE_MIN_WEIGHT, bakeViewParams, type BakeOptions, type BakeViewParams } from './bake_ref.ts';

const bakeLayouts = new WgslLayouts(bakeSource);
const WORKGROUP_SIZE = bakeLayouts.constant('WORKGROUP_SIZE');
const viewLayout = bakeLayouts.struct('BakeView');
const texLayout = bakeLayouts.struct('BakeTexture');
const rasterLayout = new WgslLayouts(rasterSource).struct('ViewUniforms');
const SHADER: ShaderSource = { label: 'bake', code: bakeSource };
if (bakeLayouts.constant('MIN_WEIGHT') !== BAKE_MIN_WEIGHT || bakeLayouts.constant('MIN_ALPHA') !== BAKE_MIN_ALPHA) throw new Error('wgsl/bake.wgsl: MIN_WEIGHT / MIN_ALPHA differ from bake_ref.ts');

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const FLOAT_TARGET: GPUTextureFormat = 'rgba32float';

/** A mesh on the GPU as vertex and index buffers. */
export interface MeshBuffers {
  positions: GPUBuffer;
  normals: GPUBuffer;
  uvs: GPUBuffer;
  indices: GPUBuffer;
  faces: number;
  destroy(): void;
}

export function uploadMesh(device: GPUDevice, mesh: MeshData): MeshBuffers {
  const buf = (data: Float32Array | Uint32Array, usage: number, label: string) => {
    const b = device.createBuffer({ label, size: Math.max(16, Math.ceil(data.byteLength / 4) * 4), usage: usage | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
    new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    b.unmap();
    return b;
  };
  const out = {
    positions: buf(mesh.positions, GPUBufferUsage.VERTEX, 'mesh-positions'),
    normals: buf(mesh.normals, GPUBufferUsage.VERTEX, 'mesh-normals'),
    uvs: buf(mesh.uvs, GPUBufferUsage.VERTEX, 'mesh-uvs'),
    indices: buf(mesh.indices, GPUBufferUsage.INDEX, 'mesh-indices'),
    faces: mesh.indices.length / 3,
    destroy() {
      for (const b of [out.positions, out.normals, out.uvs, out.indices]) b.destroy();
    },
  };
  return out;
}

/** Rows of a texture copy must be multiples of 256 bytes: rgba32float needs widths in multiples of 16. */
export function checkTargetWidth(width: number, what: string): void {
  if (!Number.isInteger(width) || width < 16 || width % 16) throw new Error(`${what}: width ${width} must be a positive multiple of 16 (texture copies move whole 256-byte rows)`);
}

const VERTEX_BUFFERS: GPUVertexBufferLayout[] = [
  { arrayStride: 12, attributes: [{ shaderLocation: 0, offset: 0, format: 'float32x3' }] },
  { arrayStride: 12, attributes: [{ shaderLocation: 1, offset: 0, format: 'float32x3' }] },
  { arrayStride: 8, attributes: [{ shaderLocation: 2, offset: 0, format: 'float32x2' }] },
];

const rasters = new WeakMap<GPUDevice, Promise<MeshRaster>>();

/** The two mesh rasterisations of wgsl/bake_raster.wgsl, read back into storage buffers. */
export class MeshRaster {
  private constructor(
    private readonly device: GPUDevice,
    private readonly texelPipeline: GPURenderPipeline,
    private readonly viewPipeline: GPURenderPipeline,
  ) {}

  /** One per device: render pipelines are not in the compute PipelineCache, so they are kept here. */
  static create(device: GPUDevice): Promise<MeshRaster> {
    let p = rasters.get(device);
    if (!p) {
      p = MeshRaster.build(device);
      p.catch(() => rasters.delete(device));
      rasters.set(device, p);
    }
    return p;
  }

  private static async build(device: GPUDevice): Promise<MeshRaster> {
    const module = device.createShaderModule({ label: 'bake_raster', code: rasterSource });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
    if (errors.length) throw new Error(`WGSL compilation failed:\n${errors.map((m) => `wgsl/bake_raster.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n')}`);
    const [texel, view] = await Promise.all([
      device.createRenderPipelineAsync({
        label: 'bake_raster:texel',
        layout: 'auto',
        vertex: { module, entryPoint: 'vs_texel', buffers: VERTEX_BUFFERS },
        fragment: { module, entryPoint: 'fs_texel', targets: [{ format: FLOAT_TARGET }, { format: FLOAT_TARGET }] },
        primitive: { topology: 'triangle-list', cullMode: 'none' },
      }),
      device.createRenderPipelineAsync({
        label: 'bake_raster:view',
        layout: 'auto',
        vertex: { module, entryPoint: 'vs_view', buffers: VERTEX_BUFFERS },
        fragment: { module, entryPoint: 'fs_view', targets: [{ format: FLOAT_TARGET }] },
        primitive: { topology: 'triangle-list', cullMode: 'none' },
        depthStencil: { format: 'depth32float', depthWriteEnabled: true, depthCompare: 'less' },
      }),
    ]);
    return new MeshRaster(device, texel, view);
  }

  private draw(pass: GPURenderPassEncoder, mesh: MeshBuffers) {
    pass.setVertexBuffer(0, mesh.positions);
    pass.setVertexBuffer(1, mesh.normals);
    pass.setVertexBuffer(2, mesh.uvs);
    pass.setIndexBuffer(mesh.indices, 'uint32');
    if (mesh.faces > 0) pass.drawIndexed(3 * mesh.faces);
  }

  /** [T*T] (xyz, covered) and (normal, covered) per texel; both buffers belong to the caller. */
  encodeTexelMap(enc: GPUCommandEncoder, mesh: MeshBuffers, size: number): { pos: GPUBuffer; nrm: GPUBuffer; release: () => void } {
    checkTargetWidth(size, 'bake texture');
    const { device } = this;
    const tex = () => device.createTexture({ label: 'bake-texel-target', size: [size, size], format: FLOAT_TARGET, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
    const targets = [tex(), tex()];
    const pass = enc.beginRenderPass({
      label: 'bake_raster',
      colorAttachments: targets.map((t) => ({ view: t.createView(), clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear' as const, storeOp: 'store' as const })),
    });
    pass.setPipeline(this.texelPipeline);
    this.draw(pass, mesh);
    pass.end();
    const [pos, nrm] = targets.map((t, i) => {
      const b = device.createBuffer({ label: i ? 'bake-texel-normal' : 'bake-texel-position', size: size * size * 16, usage: STORAGE() });
      enc.copyTextureToBuffer({ texture: t }, { buffer: b, bytesPerRow: size * 16, rowsPerImage: size }, [size, size]);
      return b;
    }) as [GPUBuffer, GPUBuffer];
    return { pos, nrm, release: () => targets.forEach((t) => t.destroy()) };
  }

  /** [H,W] (u, v, camera depth, covered) of the mesh seen from `camera`, into `out`. Returns what to destroy after submit. */
  encodeView(enc: GPUCommandEncoder, mesh: MeshBuffers, camera: GtCameraSpec, out: GPUBuffer): () => void {
    const { device } = this;
    const cam = gtCamera(camera);
    checkTargetWidth(cam.width, 'mesh view');
    const columns: number[] = [];
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) columns.push(cam.viewProj[4 * r + c]!);
    const uniform = device.createBuffer({ label: 'bake-raster-view', size: rasterLayout.size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(uniform.getMappedRange()).set(new Uint8Array(packStruct(rasterLayout, { view_proj: columns })));
    uniform.unmap();
    const color = device.createTexture({ label: 'mesh-view', size: [cam.width, cam.height], format: FLOAT_TARGET, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
    const depth = device.createTexture({ label: 'mesh-view-depth', size: [cam.width, cam.height], format: 'depth32float', usage: GPUTextureUsage.RENDER_ATTACHMENT });
    const pass = enc.beginRenderPass({
      label: 'bake_raster',
      colorAttachments: [{ view: color.createView(), clearValue: { r: 0, g: 0, b: 0, a: 0 }, loadOp: 'clear', storeOp: 'store' }],
      depthStencilAttachment: { view: depth.createView(), depthClearValue: 1, depthLoadOp: 'clear', depthStoreOp: 'discard' },
    });
    pass.setPipeline(this.viewPipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: this.viewPipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uniform } }] }));
    this.draw(pass, mesh);
    pass.end();
    enc.copyTextureToBuffer({ texture: color }, { buffer: out, bytesPerRow: cam.width * 16, rowsPerImage: cam.height }, [cam.width, cam.height]);
    return () => {
      uniform.destroy();
      color.destroy();
      depth.destroy();
    };
  }
}

export interface BakeConfig extends BakeOptions {
  /** Texture size T (a multiple of 16). */
  textureSize: number;
  /** Dilation rings (DG4D: 32). */
  dilate: number;
}

/** The compute kernels of wgsl/bake.wgsl. */
export class BakeKernels {
  private constructor(
    private readonly device: GPUDevice,
    private readonly pipes: { bake: GPUComputePipeline; normalize: GPUComputePipeline; dilate: GPUComputePipeline },
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache): Promise<BakeKernels> {
    const [bake, normalize, dilate] = await Promise.all(['bake', 'bake_normalize', 'bake_dilate'].map((e) => cache.pipeline(SHADER, e)));
    return new BakeKernels(gpu.device, { bake: bake!, normalize: normalize!, dilate: dilate! });
  }

  private bind(p: GPUComputePipeline, entries: Record<number, GPUBuffer>) {
    return this.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: Object.entries(entries).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } })) });
  }

  private grid(texels: number) {
    return splitGrid(Math.ceil(texels / WORKGROUP_SIZE), this.device.limits.maxComputeWorkgroupsPerDimension);
  }

  /** accum += cos-weighted samples of `render` at the texels `view` sees. Returns what to destroy after submit. */
  encodeBake(enc: GPUCommandEncoder, texels: { pos: GPUBuffer; nrm: GPUBuffer; size: number }, view: BakeViewParams, render: GPUBuffer, meshView: GPUBuffer, accum: GPUBuffer, o: BakeOptions, timer?: GpuTimer): () => void {
    const v = view.view;
    const uniform = this.device.createBuffer({ label: 'bake-view', size: viewLayout.size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    const data = packStruct(viewLayout, {
      view_r0: v.slice(0, 4),
      view_r1: v.slice(4, 8),
      view_r2: v.slice(8, 12),
      eye: view.eye,
      focal: view.focal,
      width: view.width,
      height: view.height,
      texels: texels.size ** 2,
      min_cos: o.minCos,
      depth_tol_px: o.depthTolPx,
    });
    new Uint8Array(uniform.getMappedRange()).set(new Uint8Array(data));
    uniform.unmap();
    const pass = timer ? timer.beginPass(enc, 'bake') : enc.beginComputePass({ label: 'bake' });
    pass.setPipeline(this.pipes.bake);
    pass.setBindGroup(0, this.bind(this.pipes.bake, { 0: uniform, 1: texels.pos, 2: texels.nrm, 3: render, 4: meshView, 5: accum }));
    dispatchGrid(pass, this.grid(texels.size ** 2));
    pass.end();
    return () => uniform.destroy();
  }

  /** texture = normalize(accum), then `dilate` rings; returns the final texture buffer (the other is scratch). */
  encodeFinish(enc: GPUCommandEncoder, accum: GPUBuffer, size: number, dilate: number, a: GPUBuffer, b: GPUBuffer, timer?: GpuTimer): { texture: GPUBuffer; release: () => void } {
    const uniform = this.device.createBuffer({ label: 'bake-texture', size: texLayout.size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(uniform.getMappedRange()).set(new Uint8Array(packStruct(texLayout, { size, texels: size * size })));
    uniform.unmap();
    const grid = this.grid(size * size);
    const np = timer ? timer.beginPass(enc, 'bake_normalize') : enc.beginComputePass({ label: 'bake_normalize' });
    np.setPipeline(this.pipes.normalize);
    np.setBindGroup(0, this.bind(this.pipes.normalize, { 6: uniform, 7: accum, 8: a }));
    dispatchGrid(np, grid);
    np.end();
    let [src, dst] = [a, b];
    if (dilate > 0) {
      const binds = [this.bind(this.pipes.dilate, { 6: uniform, 9: a, 10: b }), this.bind(this.pipes.dilate, { 6: uniform, 9: b, 10: a })];
      const dp = timer ? timer.beginPass(enc, 'bake_dilate') : enc.beginComputePass({ label: 'bake_dilate' });
      dp.setPipeline(this.pipes.dilate);
      for (let i = 0; i < dilate; i++) {
        dp.setBindGroup(0, binds[i % 2]!);
        dispatchGrid(dp, grid);
        [src, dst] = [dst, src];
      }
      dp.end();
    }
    return { texture: src, release: () => uniform.destroy() };
  }
}

export interface BakeResult {
  /** [T,T,4] f32 (rgb, filled 0/1), row 0 at v = 0; owned by the caller. */
  texture: GPUBuffer;
}

/** Bakes the Gaussians' colours into the UV texture of `mesh` (see the file comment). */
export class Baker {
  private readonly renderers = new Map<string, Renderer>();

  private constructor(
    private readonly gpu: Gpu,
    private readonly cache: PipelineCache,
    readonly raster: MeshRaster,
    readonly kernels: BakeKernels,
  ) {}

  static async create(gpu: Gpu, cache: PipelineCache): Promise<Baker> {
    return new Baker(gpu, cache, await MeshRaster.create(gpu.device), await BakeKernels.create(gpu, cache));
  }

  /** A renderer for this size over black (renders are premultiplied), grown to the model's rows. */
  async renderer(width: number, height: number, gaussians: number): Promise<Renderer> {
    const key = `${width}x${height}`;
    let r = this.renderers.get(key);
    if (!r) {
      r = await Renderer.create(this.gpu, this.cache, { width, height, gaussians, background: [0, 0, 0] });
      this.renderers.set(key, r);
    }
    return r;
  }

  async bake(mesh: MeshBuffers, model: GaussianModel, views: GtCameraSpec[], config: BakeConfig, timer?: GpuTimer): Promise<BakeResult> {
    const { device } = this.gpu;
    const T = config.textureSize;
    const submit = async (enc: GPUCommandEncoder) => (timer ? timer.submit(enc) : device.queue.submit([enc.finish()]));
    const cleanup: (() => void)[] = [];
    const texBuf = (label: string) => {
      const b = device.createBuffer({ label, size: T * T * 16, usage: STORAGE() });
      return b;
    };
    const accum = texBuf('bake-accum');
    const a = texBuf('bake-texture-a');
    const b = texBuf('bake-texture-b');
    cleanup.push(() => accum.destroy());
    try {
      const enc = device.createCommandEncoder({ label: 'bake-texels' });
      const texels = this.raster.encodeTexelMap(enc, mesh, T);
      cleanup.push(() => (texels.pos.destroy(), texels.nrm.destroy()), texels.release);
      enc.clearBuffer(accum);
      await submit(enc);
      for (const spec of views) {
        const cam = Camera.fromBlender(spec as Parameters<typeof Camera.fromBlender>[0]);
        const r = await this.renderer(cam.width, cam.height, model.count);
        await r.reserve(model.count);
        await r.render(model, cam, r.target, timer);
        const meshView = device.createBuffer({ label: 'bake-mesh-view', size: cam.width * cam.height * 16, usage: STORAGE() });
        const e2 = device.createCommandEncoder({ label: 'bake-view' });
        const releaseView = this.raster.encodeView(e2, mesh, spec, meshView);
        const releaseBake = this.kernels.encodeBake(e2, { ...texels, size: T }, bakeViewParams(spec), r.target.image, meshView, accum, config, timer);
        await submit(e2);
        cleanup.push(releaseView, releaseBake, () => meshView.destroy());
      }
      const e3 = device.createCommandEncoder({ label: 'bake-finish' });
      const fin = this.kernels.encodeFinish(e3, accum, T, config.dilate, a, b, timer);
      cleanup.push(fin.release);
      await submit(e3);
      await device.queue.onSubmittedWorkDone();
      (fin.texture === a ? b : a).destroy();
      return { texture: fin.texture };
    } catch (err) {
      a.destroy();
      b.destroy();
      throw err;
    } finally {
      for (const f of cleanup) f();
    }
  }

  destroy(): void {
    for (const r of this.renderers.values()) r.destroy();
    this.renderers.clear();
  }
}
