// Reading a finished run directory back: run.json and the CSVs by column name
// (columns may grow: metric columns are appended as they land), for the tables,
// the HTML report and `dg4d compare`. Three layouts are understood:
//   a `dg4d run` or `dg4d ablate` directory   run.json, stages.csv, metrics.csv, ...
//   a suite directory                         run.json, the concatenated CSVs (optional)
//                                             and scenes/<scene>/[...]/ run directories
// When the root has no CSVs of its own, those of the run directories below it are
// concatenated (every CSV leads with `scene` and `task`, so rows stay apart).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { METHODS } from '../pipeline/methods.ts';
import { ABLATIONS } from '../runner/ablations.ts';

export class RunDataError extends Error {
  override name = 'RunDataError';
}

export type Row = Record<string, string>;

export interface CsvTable {
  columns: string[];
  rows: Row[];
}

/** The fields of run.json the reports read (every writer has these; extra fields are kept). */
export interface RunJson {
  runId: string;
  command: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  preset: string;
  seed?: number;
  prior: string;
  kind?: string;
  environment?: {
    /** 'chromium' (headless Chromium) or 'dawn' (Dawn in Node); absent in runs before --runtime. */
    runtime?: string;
    tool?: { version?: string; commit?: string | null };
    node?: string;
    os?: { platform?: string; cpuModel?: string; cpuCount?: number };
    browser?: { version?: string; adapterFlags?: string };
    adapter?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  };
  [k: string]: unknown;
}

/** One run directory with CSVs of its own (the root of a single run, or a suite's scene run). */
export interface SubRun {
  dir: string;
  /** Path relative to the root ('' for the root itself). */
  rel: string;
  record: RunJson;
  scene: string;
  task: string;
  /** renders/*.png: contact sheets named <method>_<set>.png (ground truth above render). */
  renders: string[];
  /** Folders holding mesh/.../frame_NNN.obj, each with its frames in order. */
  meshes: { dir: string; frames: string[] }[];
}

export interface RunData {
  root: string;
  record: RunJson;
  runs: SubRun[];
  stages: CsvTable;
  kernels: CsvTable;
  metrics: CsvTable;
  /** set_metrics.csv: one row per scene/task/method/set (means, and whole-set metrics: FVD, CLIP-I, temporal). */
  setMetrics: CsvTable;
  loss: CsvTable;
  geometry: CsvTable;
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF); the first line is the header. */
export function parseCsv(text: string, file: string): CsvTable {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new RunDataError(`${file}: unterminated quoted field`);
  if (field !== '' || record.length) {
    record.push(field);
    records.push(record);
  }
  const [header, ...body] = records.filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return { columns: [], rows: [] };
  body.forEach((r, i) => {
    if (r.length !== header.length) throw new RunDataError(`${file}: line ${i + 2} has ${r.length} fields, the header ${header.length}`);
  });
  return { columns: header, rows: body.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j]!]))) };
}

export async function readCsvFile(path: string): Promise<CsvTable | null> {
  if (!existsSync(path)) return null;
  return parseCsv(await readFile(path, 'utf8'), path);
}

/** Concatenates tables, the columns being the union in first-seen order (absent cells ''). */
export function concatTables(tables: CsvTable[]): CsvTable {
  const columns: string[] = [];
  for (const t of tables) for (const c of t.columns) if (!columns.includes(c)) columns.push(c);
  return { columns, rows: tables.flatMap((t) => t.rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? ''])))) };
}

export async function readRunJson(dir: string): Promise<RunJson> {
  const path = join(dir, 'run.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunDataError(code === 'ENOENT' ? `${dir}: not a run directory (no run.json)` : `${path}: cannot read (${code ?? (err as Error).message})`);
  }
  let json: RunJson;
  try {
    json = JSON.parse(text) as RunJson;
  } catch (err) {
    throw new RunDataError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  for (const f of ['runId', 'command', 'status', 'preset', 'prior'] as const) {
    if (typeof json[f] !== 'string') throw new RunDataError(`${path}: field '${f}' is missing or not a string`);
  }
  return json;
}

const CSV_FILES = ['stages', 'kernels', 'metrics', 'set_metrics', 'loss', 'geometry'] as const;
const SKIP_DIRS = new Set(['renders', 'mesh', 'tables', 'node_modules']);

const isRunDir = (d: string) => ['run.json', 'stages.csv', 'metrics.csv'].some((f) => existsSync(join(d, f)));

/** Directories below `root` (depth <= 4) that hold a run (run.json or its CSVs), in sorted order. */
async function findRunDirs(root: string, depth = 0): Promise<string[]> {
  if (depth > 4) return [];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory() && !SKIP_DIRS.has(x.name)).sort((a, b) => a.name.localeCompare(b.name))) {
    const d = join(root, e.name);
    if (isRunDir(d)) out.push(d);
    out.push(...(await findRunDirs(d, depth + 1)));
  }
  return out;
}

async function listFiles(dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries.filter((f) => pattern.test(f)).sort().map((f) => join(dir, f));
}

/** mesh/frame_NNN.obj, or one level deeper (mesh/<method>/frame_NNN.obj). */
async function findMeshes(dir: string): Promise<SubRun['meshes']> {
  const base = join(dir, 'mesh');
  if (!existsSync(base)) return [];
  const out: SubRun['meshes'] = [];
  const here = await listFiles(base, /^frame_\d+\.obj$/);
  if (here.length) out.push({ dir: base, frames: here });
  for (const e of (await readdir(base, { withFileTypes: true })).filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const frames = await listFiles(join(base, e.name), /^frame_\d+\.obj$/);
    if (frames.length) out.push({ dir: join(base, e.name), frames });
  }
  return out;
}

async function describeSubRun(root: string, dir: string, record: RunJson): Promise<SubRun & { tables: Partial<Record<(typeof CSV_FILES)[number], CsvTable>> }> {
  const tables: Partial<Record<(typeof CSV_FILES)[number], CsvTable>> = {};
  for (const name of CSV_FILES) {
    const t = await readCsvFile(join(dir, `${name}.csv`));
    if (t) tables[name] = t;
  }
  const first = tables.stages?.rows[0] ?? tables.metrics?.rows[0];
  return {
    dir,
    rel: relative(root, dir),
    record,
    scene: first?.scene ?? '',
    task: first?.task ?? record.kind ?? '',
    renders: await listFiles(join(dir, 'renders'), /\.png$/),
    meshes: await findMeshes(dir),
    tables,
  };
}

const EMPTY: CsvTable = { columns: [], rows: [] };

/** Reads a run, ablation or suite directory (see the comment at the top). */
export async function loadRunData(root: string): Promise<RunData> {
  if (!existsSync(root)) throw new RunDataError(`${root}: no such directory`);
  const record = await readRunJson(root);
  const top = await describeSubRun(root, root, record);
  // A suite's scene runs may carry their own run.json or share the root's.
  const below = await Promise.all((await findRunDirs(root)).map(async (d) => describeSubRun(root, d, existsSync(join(d, 'run.json')) ? await readRunJson(d) : record)));
  const withData = (r: typeof top) => Object.keys(r.tables).length > 0 || r.renders.length > 0;
  const runs = [top, ...below].filter(withData);
  // The root's own CSVs when it has them (a single run, or a suite's concatenation).
  const pick = (name: (typeof CSV_FILES)[number]) => top.tables[name] ?? (below.some((r) => r.tables[name]) ? concatTables(below.flatMap((r) => (r.tables[name] ? [r.tables[name]] : []))) : EMPTY);
  return {
    root,
    record,
    runs: runs.map(({ tables: _t, ...r }) => r),
    stages: pick('stages'),
    kernels: pick('kernels'),
    metrics: pick('metrics'),
    setMetrics: pick('set_metrics'),
    loss: pick('loss'),
    geometry: pick('geometry'),
  };
}

/** A cell as a number, or undefined when empty or not numeric ("n/a (no model)"). */
export function num(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const x = Number(v);
  return Number.isFinite(x) ? x : undefined;
}

/** Identifier columns of metrics.csv; every other column is a metric. */
export const METRIC_KEY_COLUMNS = ['scene', 'task', 'method', 'prior', 'preset', 'set', 'view', 'time', 'frame'];
/** Identifier and count columns of set_metrics.csv. */
export const SET_METRIC_KEY_COLUMNS = ['scene', 'task', 'method', 'prior', 'preset', 'set', 'views', 'tc_pairs'];
export const GEOMETRY_KEY_COLUMNS = ['scene', 'task', 'method', 'prior', 'preset', 'frame', 'set'];

export function metricColumns(t: CsvTable, keys = METRIC_KEY_COLUMNS): string[] {
  return t.columns.filter((c) => !keys.includes(c));
}

const METHOD_SET = new Set<string>(METHODS);
const ABLATION_OF = new Map(ABLATIONS.flatMap((g) => g.variants.map((v) => [v.label, { group: g.name, setting: v.setting, method: v.method }] as const)));

/** The ablation a method label belongs to (`hexplane-8` -> hexplane), if it is one. */
export function ablationOf(label: string): { group: string; setting: string; method: string } | undefined {
  return METHOD_SET.has(label) ? undefined : ABLATION_OF.get(label);
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/** Groups rows by a key, keeping first-seen order. */
export function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const g = m.get(k);
    if (g) g.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/**
 * Seconds and iterations per stage of one method's pipeline on one scene and
 * task: its own stages plus the shared ones (method `all`: the static stage).
 * Duplicate rows (a suite that ran the same scene twice, e.g. a run and an
 * ablation, each with its own static stage) are averaged, not added.
 */
export function stageTimes(stages: Row[], scene: string, task: string, method: string, include: (stage: string) => boolean = () => true): Map<string, { seconds: number; iterations: number }> {
  const out = new Map<string, { seconds: number; iterations: number }>();
  const rows = stages.filter((r) => r.scene === scene && r.task === task && (r.method === method || r.method === 'all') && include(r.stage ?? ''));
  for (const [stage, g] of groupBy(rows, (r) => r.stage ?? '')) {
    const perMethod = [...groupBy(g, (r) => r.method ?? '').values()];
    out.set(stage, {
      seconds: perMethod.reduce((s, m) => s + mean(m.map((r) => (num(r.wall_ms) ?? 0) / 1000)), 0),
      iterations: perMethod.reduce((s, m) => s + mean(m.map((r) => num(r.iterations) ?? 0)), 0),
    });
  }
  return out;
}
