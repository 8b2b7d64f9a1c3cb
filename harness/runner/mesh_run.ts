// Node side of the mesh stage: for one method's Gaussians at each exported frame,
// page job `meshFrame` (density grid → marching cubes → cleanup → decimate → UV
// unwrap → bake, harness/mesh/mesh_stage.ts), then `meshRefine` over all frames,
// then the files: mesh/<method>/frame_NNN.{obj,mtl,png} (NNN = the frame's index in
// the input video, as the ground truth's meshes/frame_NNN.obj) and
// mesh/<method>/animated.glb; geometry metrics against the scene's ground-truth
// meshes when it has them. Entry point: runMeshExport.
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GpuSession } from '../browser/session_types.ts';
import type { TimingSamples } from '../gpu/timer.ts';
import type { GtCameraSpec } from '../gt/mesh.ts';
import { buildAnimatedGlb } from '../mesh/export_gltf.ts';
import { frameName, readObj, writeFrameObj } from '../mesh/export_obj.ts';
import { meshStageConfig, type MeshStageConfig } from '../mesh/mesh_config.ts';
import type { MeshFrameResult, MeshRefineResult } from '../mesh/mesh_stage.ts';
import { geometryMetrics } from '../metrics/geometry_metrics.ts';
import type { MeshFrameJobArgs, MeshRefineJobArgs } from '../page/mesh_job.ts';
import type { PresetName } from '../pipeline/presets.ts';
import { writeFileAtomic } from '../report/atomic.ts';
import type { GaussianParams } from '../splat/model.ts';
import { summarize } from '../util/stats.ts';
import type { RunInputs } from './inputs.ts';

export const GEOMETRY_COLUMNS = ['scene', 'task', 'method', 'frame', 'chamfer', 'chamfer_rel', 'fscore', 'faces', 'vertices'];

/** What every mesh output says about the refinement (DG4D uses Stable Video Diffusion there). */
export const NO_VIDEO_DIFFUSION = 'texture refinement without a video diffusion model: DG4D refines with Stable Video Diffusion (SVD), which is not used here; textures are fitted to the reference-view Gaussian renders with a temporal second-difference term';

/** Playback rate of animated.glb: frame NNN starts at NNN / GLB_FPS seconds. */
export const GLB_FPS = 8;

export interface MeshSource {
  /** Method label (the subfolder). */
  label: string;
  /** The Gaussians at each frame of the video, by frame index (what pipelineDynamic's paramsAt returns, in order). */
  frames: { index: number; time: number; params: GaussianParams }[];
  /** Static Gaussians (DG4D extracts those at iso 1). */
  isStatic: boolean;
}

export interface MeshRunOptions {
  preset: PresetName;
  prior: string;
  /** The run directory. */
  dir: string;
  config?: Partial<MeshStageConfig>;
  log?: (line: string) => void;
}

export type Row = Record<string, string | number>;

export interface MeshRunResult {
  label: string;
  /** Paths written, relative to the run directory. */
  files: string[];
  /** Rows for stages.csv (stages mesh, uv, bake, refine), kernels.csv and geometry.csv (run outputs' columns). */
  stages: Row[];
  kernels: Row[];
  geometry: Row[];
  summary: {
    frames: number;
    faces: number;
    /** Means over frames with ground truth; null without. */
    chamferRel: number | null;
    fscore: number | null;
    packingEfficiency: number;
    refineLoss: { before: number; after: number };
    videoDiffusion: 'none';
  };
}

/** Frame indices the preset exports from a video of n frames (every stride-th, and always the last). */
export function meshFrameIndices(n: number, stride: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) out.push(i);
  if (n > 0 && out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

/** The times at which runVariant must return Gaussians (paramsAt) for the mesh stage. */
export function meshFrameTimes(inputs: RunInputs, preset: PresetName, config: Partial<MeshStageConfig> = {}): { index: number; time: number }[] {
  const c = { ...meshStageConfig(preset), ...config };
  // D-NeRF runs have no video: spread the input's frame count over [0, 1].
  const times = inputs.video.length ? inputs.video.map((v) => v.time) : Array.from({ length: inputs.frames }, (_, i) => (inputs.frames > 1 ? i / (inputs.frames - 1) : 0));
  return meshFrameIndices(times.length, c.frameStride).map((index) => ({ index, time: times[index]! }));
}

/** The reference camera with its width rounded up to a multiple of 16 (texture copies move 256-byte rows). */
export function refineCamera(inputs: RunInputs): GtCameraSpec {
  const r = inputs.reference;
  const width = Math.ceil(r.width / 16) * 16;
  return { c2w: r.c2w, fovx: r.fovx, width, height: Math.max(1, Math.round((r.height * width) / r.width)) };
}

const exists = (p: string) => access(p).then(() => true, () => false);

function kernelRows(tag: Row, stage: string, method: string, timings: TimingSamples): Row[] {
  return Object.entries(timings.samples).map(([kernel, samples]) => {
    const st = summarize(samples);
    return { ...tag, stage, method, kernel, samples: st.count, median_ms: st.medianMs, p90_ms: st.p90Ms, total_ms: st.totalMs, timing: timings.method };
  });
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;

/** The mesh stage for one method (see the file comment). */
export async function runMeshExport(session: GpuSession, inputs: RunInputs, source: MeshSource, o: MeshRunOptions): Promise<MeshRunResult> {
  const config = { ...meshStageConfig(o.preset), ...(o.config ?? {}) };
  const camera = refineCamera(inputs);
  const rel = join('mesh', source.label);
  const outDir = join(o.dir, rel);
  await mkdir(outDir, { recursive: true });
  const frames: MeshFrameResult[] = [];
  for (const f of source.frames) {
    o.log?.(`${source.label}: mesh frame ${f.index} (t = ${f.time.toFixed(3)})`);
    const args: MeshFrameJobArgs = { params: f.params, config, refineCamera: camera, isStatic: source.isStatic };
    frames.push(await session.run<MeshFrameResult>('meshFrame', args as unknown as Record<string, unknown>, { timeoutMs: 600_000 }));
  }
  o.log?.(`${source.label}: refining ${frames.length} textures`);
  const refineArgs: MeshRefineJobArgs = { frames: frames.map((f) => ({ mesh: f.mesh, texture: f.texture, target: f.target })), camera, config };
  const refined = await session.run<MeshRefineResult>('meshRefine', refineArgs as unknown as Record<string, unknown>, { timeoutMs: 600_000 });

  const comments = [NO_VIDEO_DIFFUSION, `dg4d-bench mesh stage, preset ${o.preset}, prior: ${o.prior}, method ${source.label}`];
  const files: string[] = [];
  const tag = { scene: inputs.scene, task: inputs.kind };
  const geometry: Row[] = [];
  for (const [k, f] of source.frames.entries()) {
    const fr = frames[k]!;
    const written = await writeFrameObj(outDir, f.index, fr.mesh, refined.textures[k]!, config.textureSize, comments);
    files.push(...written.map((p) => join(rel, p.slice(outDir.length + 1))));
    const gtFile = inputs.source.data && inputs.video.length ? join(inputs.source.data, 'meshes', `${frameName(f.index)}.obj`) : null;
    if (gtFile && (await exists(gtFile))) {
      const gt = readObj(await readFile(gtFile, 'utf8'), gtFile);
      const g = geometryMetrics(fr.mesh, gt, { seed: f.index + 1 });
      geometry.push({ ...tag, method: source.label, frame: f.index, chamfer: g.chamfer, chamfer_rel: g.chamferRel, fscore: g.fscore, faces: fr.stats.faces, vertices: fr.stats.vertices });
    }
  }
  const last = source.frames[source.frames.length - 1]!;
  const stride = source.frames.length > 1 ? last.index - source.frames[source.frames.length - 2]!.index : 1;
  const glb = await buildAnimatedGlb(
    source.frames.map((f, k) => ({ mesh: frames[k]!.mesh, texture: refined.textures[k]!, textureSize: config.textureSize, time: f.index / GLB_FPS })),
    { duration: (last.index + stride) / GLB_FPS, extras: { generator: 'dg4d-bench', method: source.label, preset: o.preset, prior: o.prior, frames: source.frames.map((f) => f.index), videoDiffusion: 'none', note: NO_VIDEO_DIFFUSION } },
  );
  await writeFileAtomic(join(outDir, 'animated.glb'), glb);
  files.push(join(rel, 'animated.glb'));

  const n = frames.length;
  const gaussians = Math.round(mean(source.frames.map((f) => f.params.count)));
  const stage = (name: string, ms: number, iterations: number) => ({ ...tag, stage: name, method: source.label, prior: o.prior, preset: o.preset, iterations, wall_ms: ms, train_ms: ms, iters_per_s: iterations / (ms / 1000), samples_per_iter: '', gaussians, field_parameters: '' });
  const sum = (k: keyof MeshFrameResult['ms']) => frames.reduce((s, f) => s + f.ms[k], 0);
  const stages = [stage('mesh', sum('mesh'), n), stage('uv', sum('uv'), n), stage('bake', sum('bake'), n), stage('refine', refined.ms, config.refine.iterations)];
  const merge = (list: TimingSamples[]): TimingSamples => {
    const samples: Record<string, number[]> = {};
    for (const t of list) for (const [k, v] of Object.entries(t.samples)) (samples[k] ??= []).push(...v);
    return { method: list[0]?.method ?? 'wall', samples };
  };
  const wasm = (stageName: string, kernel: keyof MeshFrameResult['ms']) => kernelRows(tag, stageName, source.label, { method: 'wall', samples: { [kernel]: frames.map((f) => f.ms[kernel]) } });
  const kernels = [
    ...kernelRows(tag, 'mesh', source.label, merge(frames.map((f) => f.timings.mesh))),
    ...wasm('mesh', 'marching_cubes'),
    ...wasm('mesh', 'mesh_cleanup'),
    ...wasm('mesh', 'decimate'),
    ...wasm('uv', 'uv_unwrap'),
    ...kernelRows(tag, 'bake', source.label, merge(frames.map((f) => f.timings.bake))),
    ...kernelRows(tag, 'refine', source.label, refined.timings),
  ];
  const geo = geometry.length ? { chamferRel: mean(geometry.map((g) => g.chamfer_rel as number)), fscore: mean(geometry.map((g) => g.fscore as number)) } : { chamferRel: null, fscore: null };
  return {
    label: source.label,
    files,
    stages,
    kernels,
    geometry,
    summary: {
      frames: n,
      faces: Math.round(mean(frames.map((f) => f.stats.faces))),
      ...geo,
      packingEfficiency: mean(frames.map((f) => f.stats.uv.packingEfficiency)),
      refineLoss: { before: refined.lossBefore, after: refined.lossAfter },
      videoDiffusion: 'none',
    },
  };
}
