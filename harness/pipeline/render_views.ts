// One-off renders of a Gaussian set from several cameras, read back to the CPU:
// what the synthetic targets and the held-out evaluation need. Not for training
// loops (each view is a submit and a wait).
import type { Gpu } from '../gpu/device.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import { readF32 } from '../gpu/readback.ts';
import { Camera, type CameraSpec } from '../splat/camera.ts';
import { GaussianModel, type GaussianParams } from '../splat/model.ts';
import { Renderer } from '../splat/render.ts';

/**
 * [H,W,4] f32 RGBA per camera: rgb composited over `background` (black gives
 * premultiplied colour), alpha = 1 - final transmittance.
 */
export async function renderViews(ctx: { gpu: Gpu; cache: PipelineCache }, params: GaussianParams, cameras: CameraSpec[], background: ArrayLike<number> = [0, 0, 0]): Promise<Float32Array[]> {
  const { device } = ctx.gpu;
  const model = GaussianModel.create(device, params);
  const renderers = new Map<string, Renderer>();
  try {
    const out: Float32Array[] = [];
    for (const spec of cameras) {
      const camera = Camera.fromBlender(spec);
      const key = `${camera.width}x${camera.height}`;
      let r = renderers.get(key);
      if (!r) {
        r = await Renderer.create(ctx.gpu, ctx.cache, { width: camera.width, height: camera.height, gaussians: params.count, background });
        renderers.set(key, r);
      }
      const report = await r.render(model, camera);
      if (report.overflowed && report.attempts >= 2) throw new Error(`renderViews: view ${out.length} needs ${report.required} intersections, more than the renderer could grow to`);
      out.push(await readF32(device, r.target.image, camera.width * camera.height * 4));
    }
    return out;
  } finally {
    await device.queue.onSubmittedWorkDone();
    for (const r of renderers.values()) r.destroy();
    model.destroy();
  }
}
