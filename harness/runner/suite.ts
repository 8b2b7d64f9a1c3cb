// The suite that `dg4d bench` (`npm run bench`) runs: a list of (task, scene,
// methods) entries per preset, each run as `dg4d run` would run it into
// scenes/<scene>-<task>/ of the suite's directory, then every run's CSV rows
// concatenated at the top (each row leads with scene and task).
//
// The CPU preset (`small`) is sized to finish in under 15 minutes on 2 cores:
// video-to-4D with DG4D on every built-in scene, the other methods and tasks on
// one scene each. `paper` (a real GPU) runs every method on every scene and
// task. `tiny` is the CI smoke run.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTinyScene } from '../../datasets/cache.ts';
import { sceneNames } from '../../datasets/scenes/index.ts';
import type { GpuSession } from '../browser/session_types.ts';
import { METHODS, methodConfig, type MethodName } from '../pipeline/methods.ts';
import type { PresetName, PriorKind } from '../pipeline/presets.ts';
import { writeCsv } from '../report/csv.ts';
import { loadRunInputs, type RunInputs, type RunKind } from './inputs.ts';
import { meshFrameTimes, runMeshExport, type MeshRunResult } from './mesh_run.ts';
import type { MeshStageConfig } from '../mesh/mesh_config.ts';
import { writeRunFiles, type RunCsvRows } from './outputs.ts';
import { runStaticFit, runVariant, type PipelineRunOptions, type VariantOutcome } from './pipeline_run.ts';
import type { PipelineStaticResult } from '../page/dynamic_job.ts';

export interface SuiteEntry {
  task: RunKind;
  scene: string;
  methods: MethodName[];
  /** Methods whose Gaussians become per-frame meshes and animated.glb (the mesh, uv, bake and refine stages). */
  mesh: MethodName[];
}

/**
 * The mesh stage's settings per preset in the suite: meshStageConfig's, but
 * small exports every 8th frame (0, 8, 16, 24 and the last) to stay within the
 * 15-minute budget.
 */
export const SUITE_MESH_CONFIG: Record<PresetName, Partial<MeshStageConfig>> = { tiny: {}, small: { frameStride: 8 }, paper: {} };

/** Square render size of each preset's 4D stages; built-in scenes are rendered at it. */
export const SUITE_RESOLUTION: Record<PresetName, number> = { tiny: 64, small: 128, paper: 512 };

export function suitePlan(preset: PresetName, scenes: string[] = sceneNames()): SuiteEntry[] {
  // The scene that gets every method (walker unless left out), and the D-NeRF one (balls, the D-NeRF-like scene).
  const main = scenes.includes('walker') ? 'walker' : scenes[0]!;
  const dnerf = scenes.includes('balls') ? 'balls' : main;
  if (preset === 'tiny') return [{ task: 'video-to-4d', scene: main, methods: ['dg4d-fast', 'static'], mesh: ['dg4d-fast'] }];
  if (preset === 'small') {
    // deformable-3dgs costs twice dg4d per iteration on a CPU: small runs it on the D-NeRF task only.
    return [
      ...scenes.map((scene): SuiteEntry => ({ task: 'video-to-4d', scene, methods: scene === main ? ['dg4d', 'dg4d-fast', 'static'] : ['dg4d', 'static'], mesh: ['dg4d'] })),
      { task: 'image-to-4d', scene: main, methods: ['dg4d', 'static'], mesh: [] },
      { task: 'dnerf', scene: dnerf, methods: ['deformable-3dgs', 'static'], mesh: [] },
    ];
  }
  return (['video-to-4d', 'image-to-4d', 'dnerf'] as RunKind[]).flatMap((task) =>
    scenes.map((scene): SuiteEntry => ({ task, scene, methods: task === 'dnerf' ? ['deformable-3dgs', 'static'] : [...METHODS], mesh: task === 'video-to-4d' ? ['dg4d', 'dg4d-fast'] : [] })),
  );
}

export const entryDirName = (e: SuiteEntry) => `${e.scene}-${e.task}`;

export interface SuiteEntryResult {
  entry: SuiteEntry;
  dir: string;
  prior: PriorKind;
  inputs: RunInputs;
  staticMs: number;
  /** The run whose static fit this one reused (identical static-stage inputs), if any. */
  staticSharedWith: string | null;
  outcomes: VariantOutcome[];
  mesh: MeshRunResult[];
  csv: RunCsvRows;
}

export interface SuiteOptions {
  preset: PresetName;
  prior: PriorKind;
  seed: number;
  log: (line: string) => void;
  /** Skip the mesh stages. */
  noMesh?: boolean;
}

/** Loads (generating if needed) and validates every entry's inputs before any training. */
export async function loadSuiteInputs(session: GpuSession, plan: SuiteEntry[], o: SuiteOptions): Promise<RunInputs[]> {
  const res = SUITE_RESOLUTION[o.preset];
  const staticViews = methodConfig('static', o.preset).staticViews;
  const out: RunInputs[] = [];
  for (const e of plan) {
    const data = await ensureTinyScene(e.scene, { res, session, log: o.log });
    // D-NeRF reconstruction trains on the training split: it always takes the oracle.
    const prior = e.task === 'dnerf' ? 'oracle' : o.prior;
    const inputs = await loadRunInputs({ kind: e.task, data }, { prior, staticViews });
    inputs.scene = e.scene;
    out.push(inputs);
  }
  return out;
}

/**
 * Identifies a static fit by everything it depends on. On the built-in scenes
 * image-to-4d's input image is the video's first frame, so its static stage
 * equals video-to-4d's and the suite fits it once.
 */
export function staticFitKey(inputs: RunInputs, o: Pick<PipelineRunOptions, 'preset' | 'prior' | 'seed'>): string {
  const h = createHash('sha256').update(JSON.stringify({ preset: o.preset, prior: o.prior, seed: o.seed }));
  for (const v of [inputs.reference, ...inputs.staticTrain]) {
    h.update(JSON.stringify({ c2w: v.c2w, fovx: v.fovx, width: v.width, height: v.height }));
    h.update(new Uint8Array(v.rgba.buffer, v.rgba.byteOffset, v.rgba.byteLength));
  }
  return h.digest('hex');
}

export type StaticFitCache = Map<string, { fit: PipelineStaticResult; run: string }>;

export async function runSuiteEntry(session: GpuSession, entry: SuiteEntry, inputs: RunInputs, dir: string, o: SuiteOptions, cache: StaticFitCache = new Map()): Promise<SuiteEntryResult> {
  const prior: PriorKind = entry.task === 'dnerf' ? 'oracle' : o.prior;
  const ro = { preset: o.preset, prior, seed: o.seed, log: o.log };
  const key = staticFitKey(inputs, ro);
  const shared = cache.get(key);
  if (shared) o.log(`static stage: the same inputs as ${shared.run}: reusing its fit`);
  const staticFit = shared?.fit ?? (await runStaticFit(session, inputs, ro));
  if (!shared) cache.set(key, { fit: staticFit, run: entryDirName(entry) });
  const outcomes: VariantOutcome[] = [];
  const meshes: MeshRunResult[] = [];
  const meshConfig = SUITE_MESH_CONFIG[o.preset];
  const meshFrames = o.noMesh ? [] : meshFrameTimes(inputs, o.preset, meshConfig);
  await mkdir(dir, { recursive: true });
  for (const method of entry.methods) {
    const exportMesh = meshFrames.length > 0 && entry.mesh.includes(method);
    const outcome = await runVariant(session, inputs, staticFit.params, { label: method, method }, { ...ro, paramsAt: exportMesh ? meshFrames.map((f) => f.time) : undefined });
    outcomes.push(outcome);
    if (exportMesh) {
      const frames = meshFrames.map((f, k) => ({ ...f, params: outcome.result.paramsAt[k]!.params }));
      meshes.push(await runMeshExport(session, inputs, { label: method, frames, isStatic: method === 'static' }, { preset: o.preset, prior, dir, config: meshConfig, log: o.log }));
      outcome.result.paramsAt = [];
    }
  }
  const title = `${entry.task} ${entry.scene}, preset ${o.preset}, prior: ${prior}${shared ? ` (static stage shared with ${shared.run}: identical inputs)` : ''}`;
  const markdown = outcomes.map((x) => `- ${x.label}: ${Object.entries(x.summary).map(([s, v]) => `${s} PSNR ${v.psnr.toFixed(2)} dB, SSIM ${v.ssim.toFixed(4)}`).join('; ')}`).join('\n');
  const csv = await writeRunFiles({
    dir,
    prior,
    preset: o.preset,
    staticFit,
    outcomes,
    inputs,
    mesh: meshes,
    table: {
      title,
      markdown,
      csv: { columns: ['method', 'set', 'psnr', 'ssim'], rows: outcomes.flatMap((x) => Object.entries(x.summary).map(([set, v]) => ({ method: x.label, set, psnr: v.psnr, ssim: v.ssim }))) },
    },
  });
  return { entry, dir, prior, inputs, staticMs: staticFit.wallMs, staticSharedWith: shared?.run ?? null, outcomes, mesh: meshes, csv };
}

/** Concatenates each run's CSVs into the suite directory (columns: the union, in first-seen order). */
export async function writeSuiteCsvs(dir: string, results: SuiteEntryResult[]): Promise<string[]> {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.csv)))];
  for (const name of names) {
    const columns: string[] = [];
    for (const r of results) for (const c of r.csv[name]?.columns ?? []) if (!columns.includes(c)) columns.push(c);
    await writeCsv(join(dir, name), results.flatMap((r) => r.csv[name]?.rows ?? []), columns);
  }
  return names;
}
