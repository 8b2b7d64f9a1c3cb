// Page jobs of the mesh stage (harness/mesh/): the kernels one by one for the
// tests (`densityGrid`, ...) and the per-frame and refinement jobs the runner
// (harness/runner/mesh_run.ts) calls.
import { BakeKernels, Baker, MeshRaster, uploadMesh, type BakeConfig } from '../mesh/bake.ts';
import { bakeViewParams, type BakeOptions } from '../mesh/bake_ref.ts';
import { DensityGrid } from '../mesh/density_grid.ts';
import { meshFrame, meshRefine, type MeshFrameResult, type MeshModules, type MeshRefineResult, type MeshStageConfig } from '../mesh/mesh_stage.ts';
import { RefineKernels, refineTextures, type RefineConfig } from '../mesh/refine.ts';
import type { ExportMesh } from '../mesh/export_obj.ts';
import { loadAsm } from '../mesh/wasm.ts';
import type { MarchingCubesExports, MeshExports } from '../mesh/surface.ts';
import type { UvUnwrapExports } from '../mesh/uv_unwrap.ts';
import type { GtCameraSpec, MeshData } from '../gt/mesh.ts';
import { densityGridSpec, type GridSpec } from '../mesh/density_grid_ref.ts';
import { readF32, uploadBuffer } from '../gpu/readback.ts';
import { GaussianModel, type GaussianParams } from '../splat/model.ts';
import type { HostAssets, Job } from './context.ts';

export interface DensityGridJobArgs {
  params: GaussianParams;
  /** The grid; default densityGridSpec(params, n). */
  grid?: GridSpec;
  n?: number;
  minOpacity?: number;
  /** Sampling filter σ in world units (density_grid_ref.ts); default 0. */
  filterSigma?: number;
}

export interface DensityGridJobResult {
  density: Float32Array;
  grid: GridSpec;
  pairs: number;
}

export const densityGridJob: Job = async (ctx, raw) => {
  const args = raw as unknown as DensityGridJobArgs;
  const grid = args.grid ?? densityGridSpec(args.params, args.n ?? 32, { minOpacity: args.minOpacity });
  const model = GaussianModel.create(ctx.gpu.device, args.params);
  const dg = await DensityGrid.create(ctx.gpu, ctx.cache);
  try {
    const r = await dg.compute(model, grid, { minOpacity: args.minOpacity, filterSigma: args.filterSigma });
    const density = await readF32(ctx.gpu.device, r.density, grid.n ** 3);
    r.density.destroy();
    return { density, grid, pairs: r.pairs } satisfies DensityGridJobResult;
  } finally {
    dg.destroy();
    model.destroy();
  }
};

export interface BakeKernelsJobArgs {
  size: number;
  /** [T*T,4] texel map (as the texel raster writes it). */
  texelPos: Float32Array;
  texelNrm: Float32Array;
  views: { camera: GtCameraSpec; render: Float32Array; meshView: Float32Array }[];
  options: BakeOptions;
  dilate: number;
}

export interface BakeKernelsJobResult {
  accum: Float32Array;
  /** After bake_normalize only, and after `dilate` rings. */
  normalized: Float32Array;
  dilated: Float32Array;
}

/** The compute kernels of the bake on given inputs (tests against bake_ref.ts). */
export const bakeKernelsJob: Job = async (ctx, raw) => {
  const args = raw as unknown as BakeKernelsJobArgs;
  const { device } = ctx.gpu;
  const T = args.size;
  const k = await BakeKernels.create(ctx.gpu, ctx.cache);
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const owned: GPUBuffer[] = [];
  const up = (a: Float32Array) => (owned.push(uploadBuffer(device, a, S)), owned[owned.length - 1]!);
  const fresh = () => (owned.push(device.createBuffer({ size: T * T * 16, usage: S | GPUBufferUsage.COPY_DST })), owned[owned.length - 1]!);
  const release: (() => void)[] = [];
  try {
    const texels = { pos: up(args.texelPos), nrm: up(args.texelNrm), size: T };
    const accum = fresh();
    const enc = device.createCommandEncoder();
    for (const v of args.views) release.push(k.encodeBake(enc, texels, bakeViewParams(v.camera), up(v.render), up(v.meshView), accum, args.options));
    const once = k.encodeFinish(enc, accum, T, 0, fresh(), fresh());
    const rings = k.encodeFinish(enc, accum, T, args.dilate, fresh(), fresh());
    release.push(once.release, rings.release);
    device.queue.submit([enc.finish()]);
    const n = T * T * 4;
    return { accum: await readF32(device, accum, n), normalized: await readF32(device, once.texture, n), dilated: await readF32(device, rings.texture, n) } satisfies BakeKernelsJobResult;
  } finally {
    for (const f of release) f();
    for (const b of owned) b.destroy();
  }
};

export interface BakeJobArgs {
  params: GaussianParams;
  mesh: MeshData;
  views: GtCameraSpec[];
  config: BakeConfig;
  /** Also return the texel map and the mesh seen from views[0]. */
  debug?: boolean;
}

export interface BakeJobResult {
  /** [T*T,4] (rgb, filled), row 0 at v = 0. */
  texture: Float32Array;
  texelPos?: Float32Array;
  meshView?: Float32Array;
}

/** The whole bake of one mesh from the Gaussians (harness/mesh/bake.ts). */
export const bakeJob: Job = async (ctx, raw) => {
  const args = raw as unknown as BakeJobArgs;
  const { device } = ctx.gpu;
  const model = GaussianModel.create(device, args.params);
  const mesh = uploadMesh(device, args.mesh);
  const baker = await Baker.create(ctx.gpu, ctx.cache);
  try {
    const T = args.config.textureSize;
    const r = await baker.bake(mesh, model, args.views, args.config);
    const out: BakeJobResult = { texture: await readF32(device, r.texture, T * T * 4) };
    r.texture.destroy();
    if (args.debug) {
      const enc = device.createCommandEncoder();
      const texels = baker.raster.encodeTexelMap(enc, mesh, T);
      const cam = args.views[0]!;
      const mv = device.createBuffer({ size: cam.width * cam.height * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      const rel = baker.raster.encodeView(enc, mesh, cam, mv);
      device.queue.submit([enc.finish()]);
      out.texelPos = await readF32(device, texels.pos, T * T * 4);
      out.meshView = await readF32(device, mv, cam.width * cam.height * 4);
      for (const b of [texels.pos, texels.nrm, mv]) b.destroy();
      texels.release();
      rel();
    }
    return out;
  } finally {
    baker.destroy();
    mesh.destroy();
    model.destroy();
  }
};

export interface RefineJobArgs {
  size: number;
  /** Per frame: [T*T,4] texture, [P,4] uv map, [P,4] target. */
  textures: Float32Array[];
  uvMaps: Float32Array[];
  targets: Float32Array[];
  weights: { data: number; temporal: number };
  /** With a config: train (refineTextures); without: one forward + backward (refineStep). */
  config?: RefineConfig;
}

export interface RefineJobResult {
  colours: Float32Array[];
  grads: Float32Array[];
  /** Per frame, per pixel loss shares. */
  loss: Float32Array[];
  textures: Float32Array[];
  lossBefore?: number;
  lossAfter?: number;
}

/** refine / refine_bwd on given inputs (tests against refine_ref.ts), or a whole refinement. */
export const refineJob: Job = async (ctx, raw) => {
  const args = raw as unknown as RefineJobArgs;
  const { device } = ctx.gpu;
  const T = args.size;
  const F = args.textures.length;
  const P = args.uvMaps[0]!.length / 4;
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const owned: GPUBuffer[] = [];
  const up = (a: Float32Array) => (owned.push(uploadBuffer(device, a, S)), owned[owned.length - 1]!);
  const fresh = (bytes: number) => (owned.push(device.createBuffer({ size: bytes, usage: S })), owned[owned.length - 1]!);
  try {
    const frames = args.textures.map((t, f) => ({ texture: up(t), uvMap: up(args.uvMaps[f]!), target: up(args.targets[f]!) }));
    const out: RefineJobResult = { colours: [], grads: [], loss: [], textures: [] };
    if (args.config) {
      const r = await refineTextures(ctx.gpu, ctx.cache, frames, T, P, { ...args.config, dataWeight: args.weights.data, temporalWeight: args.weights.temporal });
      out.lossBefore = r.lossBefore;
      out.lossAfter = r.lossAfter;
    } else {
      const k = await RefineKernels.create(ctx.gpu, ctx.cache);
      const uniforms = k.uniforms(T, P, F, args.weights);
      owned.push(...uniforms);
      const colours = fresh(F * P * 16);
      const grads = frames.map(() => fresh(T * T * 16));
      const loss = frames.map(() => fresh(P * 4));
      const enc = device.createCommandEncoder();
      k.encode(enc, frames, uniforms, P, colours, grads, loss);
      device.queue.submit([enc.finish()]);
      for (let f = 0; f < F; f++) {
        out.colours.push(await readF32(device, colours, P * 4, f * P * 4));
        out.grads.push(await readF32(device, grads[f]!, T * T * 4));
        out.loss.push(await readF32(device, loss[f]!, P));
      }
    }
    for (const fr of frames) out.textures.push(await readF32(device, fr.texture, T * T * 4));
    return out;
  } finally {
    for (const b of owned) b.destroy();
  }
};

let modules: Promise<MeshModules> | null = null;

/** The asm/ builds, loaded once per page through the host's assets (page: the static server's /asm/<name>.wasm; Dawn: asm/build/ on disk). */
function meshModules(assets: HostAssets): Promise<MeshModules> {
  const bytes = (name: string) => assets.bytes(`/asm/${name}.wasm`).catch((err: Error) => {
    throw new Error(`asm/build/${name}.wasm: ${err.message} (run: node asm/build.mjs)`);
  });
  const p: Promise<MeshModules> =
    modules ??
    (async () => ({
      marchingCubes: await loadAsm<MarchingCubesExports>('marching_cubes', await bytes('marching_cubes')),
      mesh: await loadAsm<MeshExports>('mesh', await bytes('mesh')),
      uvUnwrap: await loadAsm<UvUnwrapExports>('uv_unwrap', await bytes('uv_unwrap')),
    }))();
  modules = p;
  p.catch(() => (modules = null));
  return p;
}

export interface MeshFrameJobArgs {
  params: GaussianParams;
  config: MeshStageConfig;
  refineCamera: GtCameraSpec;
  isStatic?: boolean;
}

/** One frame of the mesh stage (harness/mesh/mesh_stage.ts meshFrame). */
export const meshFrameJob: Job = async (ctx, raw) => {
  const args = raw as unknown as MeshFrameJobArgs;
  return meshFrame(ctx, await meshModules(ctx.assets), args.params, args.config, args.refineCamera, { isStatic: args.isStatic }) satisfies Promise<MeshFrameResult>;
};

export interface MeshRefineJobArgs {
  frames: { mesh: ExportMesh; texture: Float32Array; target: Float32Array }[];
  camera: GtCameraSpec;
  config: MeshStageConfig;
}

/** The refinement over all frames (meshRefine). */
export const meshRefineJob: Job = async (ctx, raw) => {
  const args = raw as unknown as MeshRefineJobArgs;
  return meshRefine(ctx, args.frames, args.camera, args.config) satisfies Promise<MeshRefineResult>;
};

export const MESH_JOBS: Record<string, Job> = { densityGrid: densityGridJob, bakeKernels: bakeKernelsJob, bake: bakeJob, refine: refineJob, meshFrame: meshFrameJob, meshRefine: meshRefineJob };
