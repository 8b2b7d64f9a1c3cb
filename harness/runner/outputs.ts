// Files of a 4D run directory (DESIGN.md "Outputs of a run"), shared by
// `dg4d run` and `dg4d ablate`. Every file is written atomically.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { composite, writePng } from '../../datasets/formats/png.ts';
import type { PipelineStaticResult } from '../page/dynamic_job.ts';
import type { TimingSamples } from '../gpu/timer.ts';
import { writeCsv } from '../report/csv.ts';
import { writeFileAtomic } from '../report/atomic.ts';
import { writePlyFile } from '../splat/ply.ts';
import { summarize } from '../util/stats.ts';
import type { EvalSet, RunInputs } from './inputs.ts';
import { GEOMETRY_COLUMNS, type MeshRunResult } from './mesh_run.ts';
import { NO_MODEL } from '../metrics/learned_metrics.ts';
import { INPUT_SET, type SetScore, type VariantOutcome } from './pipeline_run.ts';

// `scene` and `task` lead every table so that a suite can concatenate runs.
export const STAGE_COLUMNS = ['scene', 'task', 'stage', 'method', 'prior', 'preset', 'iterations', 'wall_ms', 'train_ms', 'iters_per_s', 'samples_per_iter', 'gaussians', 'field_parameters'];
export const KERNEL_COLUMNS = ['scene', 'task', 'stage', 'method', 'kernel', 'samples', 'median_ms', 'p90_ms', 'total_ms', 'timing'];
// The first ten columns are fixed; the rest (harness/metrics/, README "Metrics") follow them.
export const METRIC_COLUMNS = ['scene', 'task', 'method', 'prior', 'preset', 'set', 'view', 'time', 'psnr', 'ssim', 'psnr_masked', 'ssim_masked', 'lpips', 'clip', 'tc_render', 'tc_gt'];
/** One row per evaluation set (and the `input` view): means, and the metrics of whole sets. */
export const SET_METRIC_COLUMNS = ['scene', 'task', 'method', 'prior', 'preset', 'set', 'views', 'psnr', 'ssim', 'psnr_masked', 'ssim_masked', 'lpips', 'clip', 'clip_i', 'fvd', 'tc_pairs', 'tc_render', 'tc_gt', 'tc_ratio', 'tc_diff', 'tc_error'];

/** A metric cell: 'inf' for +Infinity (PSNR of identical images), NO_MODEL where the model was absent, '' for undefined/NaN. */
export function metricCell(v: number | null | undefined, hasModel = true): string | number {
  if (v === null || v === undefined) return hasModel ? '' : NO_MODEL;
  if (v === Infinity) return 'inf';
  return Number.isFinite(v) ? v : '';
}
export const LOSS_COLUMNS = ['scene', 'task', 'stage', 'method', 'iter', 'loss', 'alphaMse', 'objective', 'views'];

function kernelRows(tag: { scene: string; task: string }, stage: string, method: string, timings: TimingSamples | null) {
  return Object.entries(timings?.samples ?? {}).map(([kernel, samples]) => {
    const st = summarize(samples);
    return { ...tag, stage, method, kernel, samples: st.count, median_ms: st.medianMs, p90_ms: st.p90Ms, total_ms: st.totalMs, timing: timings?.method ?? '' };
  });
}

export interface RunFilesInput {
  dir: string;
  prior: string;
  preset: string;
  staticFit: PipelineStaticResult;
  outcomes: VariantOutcome[];
  inputs: RunInputs;
  /** The mesh stage's rows per method (harness/runner/mesh_run.ts); its files are already written. */
  mesh?: MeshRunResult[];
  /** Columns of the summary table beyond the metrics (ablations: the switch). */
  table: { title: string; markdown: string; csv: { rows: Record<string, string | number>[]; columns: string[] } };
}

/** stages.csv, kernels.csv, metrics.csv, loss.csv, results.md/.csv, static.ply and a contact sheet per variant. */
/** The rows of each run-level CSV, by file name: a suite concatenates them across runs. */
export type RunCsvRows = Record<string, { columns: string[]; rows: Record<string, string | number>[] }>;

export async function writeRunFiles(r: RunFilesInput): Promise<RunCsvRows> {
  const { dir, prior, preset, staticFit } = r;
  const s = staticFit;
  const tag = { scene: r.inputs.scene, task: r.inputs.kind };
  await writePlyFile(join(dir, 'static.ply'), s.params);
  const stages: Record<string, string | number>[] = [
    { ...tag, stage: 'static', method: 'all', prior, preset, iterations: s.iterations, wall_ms: s.wallMs, train_ms: s.trainMs, iters_per_s: s.iterations / (s.trainMs / 1000), samples_per_iter: '', gaussians: s.gaussians, field_parameters: '' },
  ];
  for (const o of r.outcomes) {
    const d = o.result.dynamic;
    if (d) stages.push({ ...tag, stage: 'dynamic', method: o.label, prior, preset, iterations: d.iterations, wall_ms: d.wallMs, train_ms: d.trainMs, iters_per_s: d.iterations / (d.trainMs / 1000), samples_per_iter: d.samplesPerIteration, gaussians: s.gaussians, field_parameters: d.fieldParameters });
    stages.push({ ...tag, stage: 'eval', method: o.label, prior, preset, iterations: 0, wall_ms: o.result.evalMs, train_ms: 0, iters_per_s: 0, samples_per_iter: '', gaussians: s.gaussians, field_parameters: '' });
  }
  for (const m of r.mesh ?? []) stages.push(...m.stages);
  const tables: RunCsvRows = {
    'stages.csv': { columns: STAGE_COLUMNS, rows: stages },
    'kernels.csv': { columns: KERNEL_COLUMNS, rows: [...kernelRows(tag, 'static', 'all', s.timings), ...r.outcomes.flatMap((o) => kernelRows(tag, 'dynamic', o.label, o.result.dynamic?.timings ?? null)), ...(r.mesh ?? []).flatMap((m) => m.kernels)] },
    'metrics.csv': {
      columns: METRIC_COLUMNS,
      rows: r.outcomes.flatMap((o) =>
        o.scores.map((sc) => ({
          ...tag,
          method: o.label,
          prior,
          preset,
          set: sc.set,
          view: sc.view,
          time: sc.time,
          psnr: metricCell(sc.psnr),
          ssim: metricCell(sc.ssim),
          psnr_masked: metricCell(sc.psnrMasked),
          ssim_masked: metricCell(sc.ssimMasked),
          lpips: metricCell(sc.lpips, o.learned.lpips),
          clip: metricCell(sc.clip, o.learned.clip),
          tc_render: metricCell(sc.tcRender),
          tc_gt: metricCell(sc.tcGt),
        })),
      ),
    },
    'set_metrics.csv': {
      columns: SET_METRIC_COLUMNS,
      rows: r.outcomes.flatMap((o) => [...Object.entries(o.summary), ...(o.input ? [[INPUT_SET, o.input] as const] : [])].map(([set, v]) => setRow({ ...tag, method: o.label, prior, preset, set }, v, o))),
    },
    'loss.csv': {
      columns: LOSS_COLUMNS,
      rows: [
        ...s.lossCurve.map((p) => ({ ...tag, stage: 'static', method: 'all', ...p })),
        ...r.outcomes.flatMap((o) => (o.result.dynamic?.lossCurve ?? []).map((p) => ({ ...tag, stage: 'dynamic', method: o.label, ...p }))),
      ],
    },
  };
  if (r.mesh?.length) tables['geometry.csv'] = { columns: GEOMETRY_COLUMNS, rows: r.mesh.flatMap((m) => m.geometry) };
  for (const [name, t] of Object.entries(tables)) await writeCsv(join(dir, name), t.rows, t.columns);
  await writeFileAtomic(join(dir, 'results.md'), `${r.table.title}\n\n${r.table.markdown}\n`);
  await writeCsv(join(dir, 'results.csv'), r.table.csv.rows, r.table.csv.columns);
  await mkdir(join(dir, 'renders'), { recursive: true });
  for (const o of r.outcomes) {
    for (const [name, set] of Object.entries(r.inputs.eval)) {
      const renders = o.renders[name];
      if (renders?.length) await writePng(join(dir, 'renders', `${o.label}_${name}.png`), contactSheet(set, renders));
    }
  }
  return tables;
}

function setRow(head: Record<string, string>, v: SetScore, o: VariantOutcome): Record<string, string | number> {
  const tc = v.temporal;
  const isInput = head.set === INPUT_SET;
  return {
    ...head,
    views: v.views,
    psnr: metricCell(v.psnr),
    ssim: metricCell(v.ssim),
    psnr_masked: metricCell(v.psnrMasked),
    ssim_masked: metricCell(v.ssimMasked),
    lpips: metricCell(v.lpips, o.learned.lpips),
    clip: metricCell(v.clip, o.learned.clip),
    clip_i: isInput ? metricCell(v.clip, o.learned.clip) : '',
    fvd: isInput ? '' : metricCell(v.fvd, o.learned.i3d),
    tc_pairs: tc?.pairs ?? 0,
    tc_render: metricCell(tc?.render),
    tc_gt: metricCell(tc?.gt),
    tc_ratio: metricCell(tc?.ratio),
    tc_diff: metricCell(tc?.diff),
    tc_error: metricCell(tc?.error),
  };
}

/** The views a contact sheet shows: up to 8 spread over the set (the page returns only these renders). */
export function contactSheetPicks(count: number): number[] {
  const n = Math.min(8, count);
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n));
}

/**
 * Ground truth above render for up to 8 views spread over the set: the first
 * row composited on white, the second the render (already over white).
 */
export function contactSheet(set: EvalSet, renders: Float32Array[]): { width: number; height: number; rgba: Float32Array } {
  const pick = contactSheetPicks(renders.length);
  const n = pick.length;
  const w = set.targets[0]!.width;
  const h = set.targets[0]!.height;
  const W = w * n;
  const H = h * 2;
  const rgba = new Float32Array(W * H * 4);
  pick.forEach((k, col) => {
    const rows = [composite(set.targets[k]!.rgba, 'white'), renders[k]!];
    rows.forEach((img, row) => {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const src = 4 * (y * w + x);
          const dst = 4 * ((row * h + y) * W + col * w + x);
          for (let c = 0; c < 3; c++) rgba[dst + c] = Math.min(1, Math.max(0, img[src + c]!));
          rgba[dst + 3] = 1;
        }
      }
    });
  });
  return { width: W, height: H, rgba };
}
