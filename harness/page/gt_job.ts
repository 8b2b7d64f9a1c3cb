// Page job for the ground-truth mesh renderer (harness/gt/mesh_renderer.ts):
// `gtRender` renders one mesh from one camera and returns the RGBA image.
import type { GtCameraSpec, GtRenderOptions, MeshData, TextureData } from '../gt/mesh.ts';
import { MeshRenderer } from '../gt/mesh_renderer.ts';
import type { Job } from './context.ts';

export interface GtRenderJobArgs {
  mesh: MeshData;
  texture: TextureData;
  camera: GtCameraSpec;
  options?: GtRenderOptions;
}

export interface GtRenderJobResult {
  /** [H,W,4] straight-alpha RGBA. */
  image: Float32Array;
  width: number;
  height: number;
}

const renderers = new WeakMap<GPUDevice, MeshRenderer>();

export const gtRenderJob: Job = async (ctx, raw) => {
  const args = raw as unknown as GtRenderJobArgs;
  if (!args.mesh || !args.texture || !args.camera) throw new Error('gtRender: args need {mesh, texture, camera, options?}');
  const { device } = ctx.gpu;
  let r = renderers.get(device);
  if (!r) renderers.set(device, (r = new MeshRenderer(device)));
  const image = await r.render(args.mesh, args.texture, args.camera, args.options ?? {});
  return { image, width: args.camera.width, height: args.camera.height } satisfies GtRenderJobResult;
};
