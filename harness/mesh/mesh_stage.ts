// The mesh stage of DG4D (paper-settings.md "DG4D mesh export and refinement"),
// page core (DOM-free: takes a Gpu, plain arrays and the instantiated WASM
// modules). Per frame (`meshFrame`):
//   mesh   density_grid (GPU) → marching cubes → cleanup → decimate (WASM)
//   uv     UV unwrap (WASM)
//   bake   26 Gaussian renders back-projected into the texture (GPU), plus the
//          frame's reference-view render (the refinement's target)
// then over all frames (`meshRefine`): refine the textures (GPU). The WASM runs
// in the page, next to the GPU work, so a density grid never leaves the page
// (docs/design-notes.md, "Mesh stage"). Settings per preset: mesh_config.ts.
export { meshStageConfig, type MeshStageConfig } from './mesh_config.ts';
import type { Gpu } from '../gpu/device.ts';
import type { PipelineCache } from '../gpu/pipelines.ts';
import { readF32 } from '../gpu/readback.ts';
import { GpuTimer, type TimingSamples } from '../gpu/timer.ts';
import type { GtCameraSpec } from '../gt/mesh.ts';
import { Camera } from '../splat/camera.ts';
import { GaussianModel, type GaussianParams } from '../splat/model.ts';
import { Baker, MeshRaster, uploadMesh } from './bake.ts';
import { bakeCameras } from './bake_ref.ts';
import { DensityGrid } from './density_grid.ts';
import { densityGridSpec, keptGaussians } from './density_grid_ref.ts';
import type { ExportMesh } from './export_obj.ts';
import type { MeshStageConfig } from './mesh_config.ts';
import { refineTextures } from './refine.ts';
import { decimate, marchingCubes, meshCleanup, vertexNormals, type MarchingCubesExports, type MeshExports } from './surface.ts';
import { remapVertexAttribute, uvQuality, uvUnwrap, type UvQuality, type UvUnwrapExports } from './uv_unwrap.ts';
import type { AsmModule } from './wasm.ts';

export interface MeshModules {
  marchingCubes: AsmModule<MarchingCubesExports>;
  mesh: AsmModule<MeshExports>;
  uvUnwrap: AsmModule<UvUnwrapExports>;
}

export interface MeshFrameResult {
  mesh: ExportMesh;
  /** [T*T,4] baked texture (rgb, filled), row 0 at v = 0. */
  texture: Float32Array;
  /** [P,4] the Gaussians' render at the refinement camera over black. */
  target: Float32Array;
  stats: { rawFaces: number; cleanFaces: number; faces: number; vertices: number; gaussiansKept: number; pairs: number; uv: UvQuality };
  /** Wall time per stage (ms) and of each WASM helper. */
  ms: { mesh: number; uv: number; bake: number; marching_cubes: number; mesh_cleanup: number; decimate: number; uv_unwrap: number };
  timings: { mesh: TimingSamples; bake: TimingSamples };
}

const now = () => performance.now();

/** One frame: Gaussians at a time → textured mesh (see the file comment). */
export async function meshFrame(
  ctx: { gpu: Gpu; cache: PipelineCache },
  wasm: MeshModules,
  params: GaussianParams,
  config: MeshStageConfig,
  refineCamera: GtCameraSpec,
  opts: { isStatic?: boolean } = {},
): Promise<MeshFrameResult> {
  const { gpu, cache } = ctx;
  const { device } = gpu;
  const meshTimer = new GpuTimer(gpu);
  const bakeTimer = new GpuTimer(gpu);
  const model = GaussianModel.create(device, params);
  const dg = await DensityGrid.create(gpu, cache);
  const baker = await Baker.create(gpu, cache);
  try {
    // mesh
    const t0 = now();
    const grid = densityGridSpec(params, config.grid);
    const d = await dg.compute(model, grid, { timer: meshTimer, filterSigma: config.filterSpacings * grid.spacing });
    const values = await readF32(device, d.density, grid.n ** 3);
    d.density.destroy();
    const t1 = now();
    const raw = marchingCubes(wasm.marchingCubes, { values, dims: [grid.n, grid.n, grid.n], origin: grid.origin, spacing: [grid.spacing, grid.spacing, grid.spacing] }, opts.isStatic ? config.staticIso : config.iso);
    if (!raw.indices.length) throw new Error(`mesh stage: the density never reaches iso ${opts.isStatic ? config.staticIso : config.iso} (max ${Math.max(...values).toFixed(3)}): no surface`);
    const t2 = now();
    const clean = meshCleanup(wasm.mesh, raw, { minComponentAreaFraction: config.minComponentAreaFraction });
    const t3 = now();
    const dec = clean.indices.length / 3 > config.targetFaces ? decimate(wasm.mesh, clean, { targetFaces: config.targetFaces }) : clean;
    const t4 = now();
    // uv
    const uv = uvUnwrap(wasm.uvUnwrap, { positions: dec.positions, indices: dec.indices }, { textureSize: config.textureSize, padding: config.padding });
    const normals = remapVertexAttribute(vertexNormals(dec.positions, dec.indices), uv.vertexMap, 3);
    const mesh: ExportMesh = { positions: uv.positions, normals, uvs: uv.uvs, indices: uv.indices };
    const quality = uvQuality({ positions: uv.positions, indices: uv.indices, uvs: uv.uvs, faceChart: uv.faceChart });
    const t5 = now();
    // bake: the views frame the mesh's bounding sphere
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < mesh.positions.length; i++) {
      lo[i % 3] = Math.min(lo[i % 3]!, mesh.positions[i]!);
      hi[i % 3] = Math.max(hi[i % 3]!, mesh.positions[i]!);
    }
    const centre: [number, number, number] = [0, 1, 2].map((a) => (lo[a]! + hi[a]!) / 2) as [number, number, number];
    const radius = Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 2;
    const buffers = uploadMesh(device, mesh);
    let texture: Float32Array;
    let target: Float32Array;
    try {
      const views = bakeCameras(centre, radius, config.bakeSize, config.bakeViews);
      const b = await baker.bake(buffers, model, views, config, bakeTimer);
      texture = await readF32(device, b.texture, config.textureSize ** 2 * 4);
      b.texture.destroy();
      const cam = Camera.fromBlender(refineCamera as Parameters<typeof Camera.fromBlender>[0]);
      const r = await baker.renderer(cam.width, cam.height, model.count);
      await r.reserve(model.count);
      await r.render(model, cam, r.target, bakeTimer);
      target = await readF32(device, r.target.image, cam.width * cam.height * 4);
    } finally {
      buffers.destroy();
    }
    const t6 = now();
    return {
      mesh,
      texture,
      target,
      stats: { rawFaces: raw.indices.length / 3, cleanFaces: clean.indices.length / 3, faces: mesh.indices.length / 3, vertices: mesh.positions.length / 3, gaussiansKept: keptGaussians(params).length, pairs: d.pairs, uv: quality },
      ms: { mesh: t4 - t0, uv: t5 - t4, bake: t6 - t5, marching_cubes: t2 - t1, mesh_cleanup: t3 - t2, decimate: t4 - t3, uv_unwrap: t5 - t4 },
      timings: { mesh: await meshTimer.collect(), bake: await bakeTimer.collect() },
    };
  } finally {
    baker.destroy();
    dg.destroy();
    model.destroy();
    meshTimer.destroy();
    bakeTimer.destroy();
  }
}

export interface MeshRefineResult {
  /** Per frame [T*T,4], trained. */
  textures: Float32Array[];
  lossBefore: number;
  lossAfter: number;
  ms: number;
  timings: TimingSamples;
}

/** Refines every frame's texture against its reference-view target (harness/mesh/refine.ts). */
export async function meshRefine(
  ctx: { gpu: Gpu; cache: PipelineCache },
  frames: { mesh: ExportMesh; texture: Float32Array; target: Float32Array }[],
  camera: GtCameraSpec,
  config: MeshStageConfig,
): Promise<MeshRefineResult> {
  const { gpu, cache } = ctx;
  const { device } = gpu;
  const t0 = now();
  const timer = new GpuTimer(gpu);
  const raster = await MeshRaster.create(device);
  const T = config.textureSize;
  const P = camera.width * camera.height;
  const owned: { destroy(): void }[] = [];
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffer = (data: Float32Array | null, bytes: number, label: string) => {
    const b = device.createBuffer({ label, size: bytes, usage: S, mappedAtCreation: Boolean(data) });
    if (data) {
      new Float32Array(b.getMappedRange()).set(data);
      b.unmap();
    }
    owned.push(b);
    return b;
  };
  try {
    const enc = device.createCommandEncoder({ label: 'refine-uv-maps' });
    const release: (() => void)[] = [];
    const bufs = frames.map((fr, f) => {
      const mesh = uploadMesh(device, fr.mesh);
      owned.push(mesh);
      const uvMap = buffer(null, P * 16, `refine-uv-${f}`);
      release.push(raster.encodeView(enc, mesh, camera, uvMap));
      return { texture: buffer(fr.texture, T * T * 16, `refine-texture-${f}`), uvMap, target: buffer(fr.target, P * 16, `refine-target-${f}`) };
    });
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    for (const r of release) r();
    const r = await refineTextures(gpu, cache, bufs, T, P, config.refine, timer);
    const textures: Float32Array[] = [];
    for (const b of bufs) textures.push(await readF32(device, b.texture, T * T * 4));
    return { textures, lossBefore: r.lossBefore, lossAfter: r.lossAfter, ms: now() - t0, timings: await timer.collect() };
  } finally {
    for (const o of owned) o.destroy();
    timer.destroy();
  }
}
