// Run summaries: what `dg4d compare` compares, from a run directory or from a
// baseline file (reports/baselines/<preset>.json, a compact summary committed
// for regression checks). A summary holds, per scene/task/method/set, the mean
// of every metric column (metrics.csv, set_metrics.csv; geometry.csv under set
// `geometry`), the stage wall times and the kernel medians, plus the environment
// that produced them.
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { writeJsonAtomic } from './atomic.ts';
import { GEOMETRY_KEY_COLUMNS, groupBy, loadRunData, mean, metricColumns, num, RunDataError, SET_METRIC_KEY_COLUMNS, type RunData } from './run_data.ts';

export const BASELINE_FORMAT = 'dg4d-baseline/1';

export interface MetricMeans {
  scene: string;
  task: string;
  method: string;
  set: string;
  /** Rows averaged (views x frames, or frames for geometry). */
  n: number;
  /** Mean of the numeric cells of each metric column; null when none is numeric (e.g. "n/a (no model)"). */
  means: Record<string, number | null>;
}

export interface StageTime {
  scene: string;
  task: string;
  stage: string;
  method: string;
  wall_ms: number;
  iterations: number | null;
}

export interface KernelTime {
  scene: string;
  task: string;
  stage: string;
  method: string;
  kernel: string;
  median_ms: number;
  samples: number | null;
}

export interface RunSummary {
  format: typeof BASELINE_FORMAT;
  /** Where the numbers come from. */
  source: { runId: string; command: string; kind?: string; dir: string; startedAt: string };
  status: string;
  preset: string;
  prior: string;
  seed: number | null;
  environment: { adapter: string; fallbackAdapter: boolean | null; runtime?: string; browser: string; commit: string | null; tool: string; node: string; cpu: string };
  metrics: MetricMeans[];
  stages: StageTime[];
  kernels: KernelTime[];
  /** Free text kept with a baseline file (how it was made, what tolerances suit it). */
  note?: string;
}

export class BaselineError extends Error {
  override name = 'BaselineError';
}

function means(rows: Record<string, string>[], cols: string[]): Record<string, number | null> {
  return Object.fromEntries(
    cols.map((c) => {
      const xs = rows.map((r) => num(r[c])).filter((x): x is number => x !== undefined);
      return [c, xs.length ? mean(xs) : null];
    }),
  );
}

export function summarizeRun(data: RunData): RunSummary {
  const r = data.record;
  const env = r.environment ?? data.runs.find((x) => x.record.environment)?.record.environment;
  const a = env?.adapter;
  const metricCols = metricColumns(data.metrics);
  const metrics: MetricMeans[] = [...groupBy(data.metrics.rows, (x) => `${x.scene}|${x.task}|${x.method}|${x.set}`).values()].map((g) => ({
    scene: g[0]!.scene ?? '',
    task: g[0]!.task ?? '',
    method: g[0]!.method ?? '',
    set: g[0]!.set ?? '',
    n: g.length,
    means: means(g, metricCols),
  }));
  // Whole-set metrics (FVD, CLIP-I, temporal consistency) and sets scored only as a whole
  // (the input view) come from set_metrics.csv; per-view means stay those of metrics.csv.
  const setCols = metricColumns(data.setMetrics, SET_METRIC_KEY_COLUMNS);
  for (const row of data.setMetrics.rows) {
    const key = (m: MetricMeans) => m.scene === row.scene && m.task === row.task && m.method === row.method && m.set === row.set;
    let entry = metrics.find(key);
    if (!entry) metrics.push((entry = { scene: row.scene ?? '', task: row.task ?? '', method: row.method ?? '', set: row.set ?? '', n: num(row.views) ?? 1, means: {} }));
    for (const c of setCols) if (entry.means[c] === undefined || entry.means[c] === null) entry.means[c] = num(row[c]) ?? null;
  }
  const geoCols = metricColumns(data.geometry, GEOMETRY_KEY_COLUMNS);
  for (const g of groupBy(data.geometry.rows, (x) => `${x.scene}|${x.task}|${x.method}`).values()) {
    metrics.push({ scene: g[0]!.scene ?? '', task: g[0]!.task ?? '', method: g[0]!.method ?? '', set: 'geometry', n: g.length, means: means(g, geoCols) });
  }
  const stages = [...groupBy(data.stages.rows, (x) => `${x.scene}|${x.task}|${x.stage}|${x.method}`).values()].map((g) => ({
    scene: g[0]!.scene ?? '',
    task: g[0]!.task ?? '',
    stage: g[0]!.stage ?? '',
    method: g[0]!.method ?? '',
    wall_ms: g.reduce((s, x) => s + (num(x.wall_ms) ?? 0), 0),
    iterations: g.some((x) => num(x.iterations) !== undefined) ? g.reduce((s, x) => s + (num(x.iterations) ?? 0), 0) : null,
  }));
  const kernels = data.kernels.rows
    .filter((x) => num(x.median_ms) !== undefined)
    .map((x) => ({ scene: x.scene ?? '', task: x.task ?? '', stage: x.stage ?? '', method: x.method ?? '', kernel: x.kernel ?? '', median_ms: num(x.median_ms)!, samples: num(x.samples) ?? null }));
  return {
    format: BASELINE_FORMAT,
    source: { runId: r.runId, command: r.command, kind: r.kind, dir: data.root, startedAt: r.startedAt },
    status: r.status,
    preset: r.preset,
    prior: r.prior,
    seed: typeof r.seed === 'number' ? r.seed : null,
    environment: {
      adapter: a ? `${a.description || ''} (${[a.vendor, a.architecture].filter(Boolean).join(' / ')})` : 'unknown',
      fallbackAdapter: a?.isFallbackAdapter ?? null,
      runtime: env?.runtime ?? 'chromium',
      browser: env?.browser?.version ?? 'unknown',
      commit: env?.tool?.commit ?? null,
      tool: env?.tool?.version ?? 'unknown',
      node: env?.node ?? 'unknown',
      cpu: env?.os ? `${env.os.cpuModel ?? '?'} x ${env.os.cpuCount ?? '?'}` : 'unknown',
    },
    metrics,
    stages,
    kernels,
  };
}

const str = (v: unknown) => typeof v === 'string';

/** Checks a parsed baseline file; every complaint names the file and the field. */
export function validateBaseline(json: unknown, file: string): RunSummary {
  const fail = (field: string, why: string): never => {
    throw new BaselineError(`${file}: ${field} ${why}`);
  };
  if (typeof json !== 'object' || json === null) fail('(top level)', 'must be an object');
  const o = json as Record<string, unknown>;
  if (o.format !== BASELINE_FORMAT) fail('format', `must be "${BASELINE_FORMAT}", got ${JSON.stringify(o.format)}`);
  for (const f of ['status', 'preset', 'prior'] as const) if (!str(o[f])) fail(f, 'must be a string');
  if (typeof o.source !== 'object' || o.source === null) fail('source', 'must be an object');
  if (typeof o.environment !== 'object' || o.environment === null) fail('environment', 'must be an object');
  const list = (name: string, keys: string[], numbers: string[]) => {
    const v = o[name];
    if (!Array.isArray(v)) fail(name, 'must be a list');
    (v as unknown[]).forEach((e, i) => {
      if (typeof e !== 'object' || e === null) fail(`${name}[${i}]`, 'must be an object');
      const x = e as Record<string, unknown>;
      for (const k of keys) if (!str(x[k])) fail(`${name}[${i}].${k}`, 'must be a string');
      for (const k of numbers) if (typeof x[k] !== 'number' || !Number.isFinite(x[k])) fail(`${name}[${i}].${k}`, 'must be a finite number');
    });
  };
  list('metrics', ['scene', 'task', 'method', 'set'], ['n']);
  (o.metrics as Record<string, unknown>[]).forEach((m, i) => {
    if (typeof m.means !== 'object' || m.means === null) fail(`metrics[${i}].means`, 'must be an object');
    for (const [k, v] of Object.entries(m.means as object)) if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) fail(`metrics[${i}].means.${k}`, 'must be a finite number or null');
  });
  list('stages', ['scene', 'task', 'stage', 'method'], ['wall_ms']);
  list('kernels', ['scene', 'task', 'stage', 'method', 'kernel'], ['median_ms']);
  return o as unknown as RunSummary;
}

export async function readBaseline(path: string): Promise<RunSummary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BaselineError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BaselineError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return validateBaseline(json, path);
}

/**
 * A run directory or a baseline file, as a summary. A run not marked `complete`
 * in run.json is refused: a failed or unfinished run is never a baseline nor a candidate.
 */
export async function loadSummary(path: string): Promise<RunSummary> {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new BaselineError(`${path}: no such run directory or baseline file`);
  }
  let s: RunSummary;
  if (isFile) s = await readBaseline(path);
  else {
    try {
      s = summarizeRun(await loadRunData(path));
    } catch (err) {
      if (err instanceof RunDataError) throw new BaselineError(err.message);
      throw err;
    }
  }
  if (s.status !== 'complete') throw new BaselineError(`${path}: the run is marked '${s.status}' in run.json, not 'complete'; an unfinished or failed run is never compared`);
  return s;
}

/** Writes the summary of a complete run directory as a baseline file; returns it. */
export async function writeBaseline(runDir: string, file: string, note?: string): Promise<RunSummary> {
  if (!statSync(runDir, { throwIfNoEntry: false })?.isDirectory()) throw new BaselineError(`${runDir}: not a run directory`);
  const s = await loadSummary(runDir);
  const out: RunSummary = { ...s, ...(note ? { note } : {}) };
  await writeJsonAtomic(file, out);
  return out;
}
