// Ground-truth mesh renderer on the GPU (wgsl/gt_mesh.wgsl): a WebGPU render
// pipeline drawing indexed, textured, lit triangles with a depth test into a
// multisampled rgba16float target, resolved and copied out as straight-alpha
// RGBA [H,W,4] (transparent background). Shares the splatting camera's
// convention (Blender / OpenGL camera-to-world, horizontal fov) but none of its
// code; see mesh.ts for the camera math and mesh_ref.ts for the CPU reference.
// DOM-free: takes a GPUDevice.
import { WgslLayouts, packStruct } from '../gpu/layout.ts';
import gtMeshSource from '../../wgsl/gt_mesh.wgsl';
import { type GtCameraSpec, type GtRenderOptions, gtCamera, type MeshData, resolveOptions, type TextureData, validateMesh } from './mesh.ts';

const uniformsLayout = new WgslLayouts(gtMeshSource).struct('GtUniforms');

const COLOR_FORMAT: GPUTextureFormat = 'rgba16float';
const DEPTH_FORMAT: GPUTextureFormat = 'depth32float';

/** IEEE half -> number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export class MeshRenderer {
  private module: Promise<GPUShaderModule> | null = null;
  private readonly pipelines = new Map<number, Promise<GPURenderPipeline>>();

  constructor(readonly device: GPUDevice) {}

  private shader(): Promise<GPUShaderModule> {
    this.module ??= (async () => {
      const module = this.device.createShaderModule({ label: 'gt_mesh', code: gtMeshSource });
      const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
      if (errors.length) throw new Error(`WGSL compilation failed:\n${errors.map((m) => `wgsl/gt_mesh.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n')}`);
      return module;
    })();
    this.module.catch(() => (this.module = null));
    return this.module;
  }

  private pipeline(samples: number): Promise<GPURenderPipeline> {
    let p = this.pipelines.get(samples);
    if (!p) {
      p = this.shader().then((module) =>
        this.device.createRenderPipelineAsync({
          label: `gt_mesh:msaa${samples}`,
          layout: 'auto',
          vertex: {
            module,
            entryPoint: 'vs_main',
            buffers: [
              { arrayStride: 12, attributes: [{ shaderLocation: 0, offset: 0, format: 'float32x3' }] },
              { arrayStride: 12, attributes: [{ shaderLocation: 1, offset: 0, format: 'float32x3' }] },
              { arrayStride: 8, attributes: [{ shaderLocation: 2, offset: 0, format: 'float32x2' }] },
            ],
          },
          fragment: { module, entryPoint: 'fs_main', targets: [{ format: COLOR_FORMAT }] },
          primitive: { topology: 'triangle-list', cullMode: 'none' },
          depthStencil: { format: DEPTH_FORMAT, depthWriteEnabled: true, depthCompare: 'less' },
          multisample: { count: samples },
        }),
      );
      p.catch(() => this.pipelines.delete(samples));
      this.pipelines.set(samples, p);
    }
    return p;
  }

  /** Renders one view; returns straight-alpha RGBA [H,W,4] (alpha = covered fraction of the pixel's samples). */
  async render(mesh: MeshData, texture: TextureData, camera: GtCameraSpec, options: GtRenderOptions = {}): Promise<Float32Array> {
    const { device } = this;
    const { faces } = validateMesh(mesh, texture);
    const opts = resolveOptions(options);
    const cam = gtCamera(camera);
    const { width: W, height: H } = cam;
    const pipeline = await this.pipeline(opts.msaa);
    const owned: { destroy(): void }[] = [];
    const track = <T extends { destroy(): void }>(x: T): T => (owned.push(x), x);
    try {
      const vertexBuffer = (data: Float32Array | Uint32Array, usage: number, label: string) => {
        const buf = track(device.createBuffer({ label, size: Math.max(4, Math.ceil(data.byteLength / 4) * 4), usage: usage | GPUBufferUsage.COPY_DST, mappedAtCreation: true }));
        new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        buf.unmap();
        return buf;
      };
      const positions = vertexBuffer(mesh.positions, GPUBufferUsage.VERTEX, 'gt positions');
      const normals = vertexBuffer(mesh.normals, GPUBufferUsage.VERTEX, 'gt normals');
      const uvs = vertexBuffer(mesh.uvs, GPUBufferUsage.VERTEX, 'gt uvs');
      const indices = vertexBuffer(mesh.indices, GPUBufferUsage.INDEX, 'gt indices');
      // WGSL matrices are column-major.
      const columns: number[] = [];
      for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) columns.push(cam.viewProj[4 * r + c]!);
      const uniformData = packStruct(uniformsLayout, { view_proj: columns, light_dir: opts.light.dir, ambient: opts.light.ambient, diffuse: opts.light.diffuse });
      const uniforms = track(device.createBuffer({ label: 'gt uniforms', size: uniformData.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
      device.queue.writeBuffer(uniforms, 0, uniformData);
      const tex = track(device.createTexture({ label: 'gt albedo', size: [texture.width, texture.height], format: 'rgba8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST }));
      device.queue.writeTexture({ texture: tex }, new Uint8Array(texture.rgba), { bytesPerRow: 4 * texture.width, rowsPerImage: texture.height }, [texture.width, texture.height]);
      const sampler = device.createSampler({ label: 'gt albedo', magFilter: opts.filter, minFilter: opts.filter, addressModeU: 'repeat', addressModeV: 'repeat' });
      const bindGroup = device.createBindGroup({
        label: 'gt_mesh',
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniforms } },
          { binding: 1, resource: tex.createView() },
          { binding: 2, resource: sampler },
        ],
      });
      const resolved = track(device.createTexture({ label: 'gt resolved', size: [W, H], format: COLOR_FORMAT, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC }));
      const target = opts.msaa > 1 ? track(device.createTexture({ label: 'gt msaa', size: [W, H], format: COLOR_FORMAT, sampleCount: opts.msaa, usage: GPUTextureUsage.RENDER_ATTACHMENT })) : resolved;
      const depth = track(device.createTexture({ label: 'gt depth', size: [W, H], format: DEPTH_FORMAT, sampleCount: opts.msaa, usage: GPUTextureUsage.RENDER_ATTACHMENT }));
      const bytesPerRow = Math.ceil((W * 8) / 256) * 256;
      const staging = track(device.createBuffer({ label: 'gt readback', size: bytesPerRow * H, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
      const enc = device.createCommandEncoder({ label: 'gt_mesh' });
      const pass = enc.beginRenderPass({
        label: 'gt_mesh',
        colorAttachments: [
          {
            view: target.createView(),
            resolveTarget: opts.msaa > 1 ? resolved.createView() : undefined,
            clearValue: { r: 0, g: 0, b: 0, a: 0 },
            loadOp: 'clear',
            storeOp: opts.msaa > 1 ? 'discard' : 'store',
          },
        ],
        depthStencilAttachment: { view: depth.createView(), depthClearValue: 1, depthLoadOp: 'clear', depthStoreOp: 'discard' },
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.setVertexBuffer(0, positions);
      pass.setVertexBuffer(1, normals);
      pass.setVertexBuffer(2, uvs);
      pass.setIndexBuffer(indices, 'uint32');
      if (faces > 0) pass.drawIndexed(3 * faces);
      pass.end();
      enc.copyTextureToBuffer({ texture: resolved }, { buffer: staging, bytesPerRow, rowsPerImage: H }, [W, H]);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const raw = new Uint16Array(staging.getMappedRange().slice(0));
      const out = new Float32Array(W * H * 4);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const src = (y * bytesPerRow) / 2 + 4 * x;
          const dst = 4 * (y * W + x);
          const a = halfToFloat(raw[src + 3]!);
          out[dst + 3] = a;
          // The resolve averages premultiplied colours (background is 0): back to straight alpha.
          for (let c = 0; c < 3; c++) out[dst + c] = a > 0 ? halfToFloat(raw[src + c]!) / a : 0;
        }
      }
      return out;
    } finally {
      for (const x of owned) x.destroy();
    }
  }
}
