// The papers' tables rebuilt from a run directory, measured rows beside the
// reported ones (reports/reference/dg4d-tables.json), in Markdown and CSV.
// Measured values are means over the views and frames of each scene's
// evaluation set, then over scenes (the Consistent4D protocol); a `source`
// column says `measured` or `reported (paper)` and the two are never averaged
// together. Tables without a measured row are left out.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.ts';
import { writeCsv } from './csv.ts';
import { loadReference, referenceRecords, type ReferenceTables } from './reference.ts';
import { ablationOf, groupBy, loadRunData, mean, num, stageTimes, type Row, type RunData } from './run_data.ts';

/** A table cell; null or undefined: not reported / blank. */
export type Cell = string | number | null | undefined;

export interface TableColumn {
  key: string;
  header: string;
  /** How a number shows in Markdown (and in the CSV when `csvText`). */
  format?: (v: number) => string;
  /** Write the formatted text to the CSV too (durations: "12.3 s" beside "6.5 hr"). */
  csvText?: boolean;
  /** CSV only (a numeric twin of a text column). */
  csvOnly?: boolean;
}

export interface ReportTable {
  name: string;
  title: string;
  /** Prior, preset, adapter, date, and where the reported rows come from. */
  caption: string;
  markdown: string;
  /** CSV column names, in order (`source` first). */
  columns: string[];
  csvRows: Record<string, Cell>[];
  /** Display headers and cells as shown (HTML). */
  headers: string[];
  display: string[][];
}

export const MEASURED = 'measured';
export const REPORTED = 'reported (paper)';

/** Evaluation set each task is scored on (harness/runner/inputs.ts). */
const TASK_SET: Record<string, string> = { 'video-to-4d': 'eval', dnerf: 'test', 'image-to-4d': 'reference' };
const PIPELINE_STAGES = ['static', 'dynamic', 'mesh', 'uv', 'bake', 'refine'];

const fixed = (d: number) => (v: number) => v.toFixed(d);
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} hr`;
}

const COL = {
  source: { key: 'source', header: 'source' },
  method: { key: 'method', header: 'method' },
  scene: { key: 'scene', header: 'scene' },
  task: { key: 'task', header: 'task' },
  scenes: { key: 'scenes', header: 'scenes' },
  psnr: { key: 'psnr', header: 'PSNR (dB)', format: fixed(2) },
  ssim: { key: 'ssim', header: 'SSIM', format: fixed(4) },
  lpips: { key: 'lpips', header: 'LPIPS', format: fixed(3) },
  clip: { key: 'clip', header: 'CLIP', format: fixed(3) },
  clip_i: { key: 'clip_i', header: 'CLIP-I', format: fixed(4) },
  fvd: { key: 'fvd', header: 'FVD', format: fixed(1) },
  time: { key: 'time', header: 'time', format: formatSeconds, csvText: true },
  time_s: { key: 'time_s', header: 'time (s)', csvOnly: true },
} satisfies Record<string, TableColumn>;

function renderCell(c: TableColumn, v: Cell, forCsv: boolean, reported: boolean): Cell {
  if (v === null || v === undefined) return forCsv ? null : '–';
  // Reported figures keep the papers' own digits.
  if (typeof v === 'number' && !reported) {
    if (!Number.isFinite(v)) return 'n/a';
    if (c.format && (!forCsv || c.csvText)) return c.format(v);
  }
  return v;
}

const escapeMd = (s: string) => s.replace(/\|/g, '\\|');

export function makeTable(name: string, title: string, caption: string, columns: TableColumn[], rows: Record<string, Cell>[]): ReportTable {
  const shown = columns.filter((c) => !c.csvOnly);
  const display = rows.map((r) => shown.map((c) => String(renderCell(c, r[c.key], false, r.source === REPORTED))));
  const headers = shown.map((c) => c.header);
  const markdown = ['| ' + headers.join(' | ') + ' |', '|' + headers.map(() => '---').join('|') + '|', ...display.map((d) => '| ' + d.map(escapeMd).join(' | ') + ' |')].join('\n');
  const csvRows = rows.map((r) => Object.fromEntries(columns.map((c) => [c.key, renderCell(c, r[c.key], true, r.source === REPORTED)])));
  return { name, title, caption, markdown, columns: columns.map((c) => c.key), csvRows, headers, display };
}

/** What every caption says about the measured rows. */
export interface MeasuredContext {
  prior: string;
  preset: string;
  adapter: string;
  date: string;
  scenes: string[];
}

export function measuredContext(data: RunData): MeasuredContext {
  const priors = new Set([...data.metrics.rows, ...data.stages.rows].map((r) => r.prior).filter((p): p is string => Boolean(p)));
  const env = data.record.environment ?? data.runs.find((r) => r.record.environment)?.record.environment;
  const a = env?.adapter;
  const adapter = a ? a.description || [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter' : 'unknown adapter';
  const scenes = [...new Set([...data.stages.rows, ...data.metrics.rows].map((r) => r.scene).filter((s): s is string => Boolean(s)))];
  return { prior: priors.size ? [...priors].join(', ') : data.record.prior, preset: data.record.preset, adapter, date: (data.record.startedAt ?? '').slice(0, 10), scenes };
}

function caption(ctx: MeasuredContext, reported: string | null): string {
  const measured = `Measured: prior: ${ctx.prior}, preset ${ctx.preset}, adapter ${ctx.adapter}, ${ctx.date}${ctx.scenes.length ? `, scenes ${ctx.scenes.join(', ')}` : ''}.`;
  const oracle = ctx.prior.includes('oracle') ? ' With the oracle prior, ground-truth training views stand in for the diffusion models: measured rows are not reproductions of the reported figures.' : '';
  return reported ? `${measured}${oracle} Reported: ${reported}; other data and hardware, not measured here.` : `${measured}${oracle}`;
}

/**
 * Mean of a metric over each scene, then over scenes. Per scene: the mean of the
 * per-view cells of metrics.csv, or else the scene's row of set_metrics.csv
 * (whole-set metrics such as FVD and CLIP-I live only there). Text such as
 * "n/a (no model)" when no cell is numeric; "n/a" when neither file has the column.
 * `where.scene` limits the whole-set rows to that scene (per-scene tables).
 */
export function sceneMean(data: RunData, rows: Row[], col: string, where: { task: string; method: string; set?: string; scene?: string }): Cell {
  const inViews = data.metrics.columns.includes(col);
  const inSets = data.setMetrics.columns.includes(col);
  if (!inViews && !inSets) return 'n/a';
  // A per-scene cell must not fall back on other scenes' whole-set rows.
  const setRows = data.setMetrics.rows.filter((r) => r.task === where.task && r.method === where.method && (where.set === undefined || r.set === where.set) && (where.scene === undefined || r.scene === where.scene));
  const scenes = [...new Set([...rows.map((r) => r.scene ?? ''), ...setRows.map((r) => r.scene ?? '')])];
  const texts: string[] = [];
  const perScene = scenes.map((scene) => {
    const cells = inViews ? rows.filter((r) => r.scene === scene).map((r) => r[col]) : [];
    let xs = cells.map(num).filter((x): x is number => x !== undefined);
    if (!xs.length && inSets) {
      const sc = setRows.filter((r) => r.scene === scene).map((r) => r[col]);
      cells.push(...sc);
      xs = sc.map(num).filter((x): x is number => x !== undefined);
    }
    texts.push(...cells.map((c) => c?.trim() ?? '').filter((c) => c && num(c) === undefined));
    return mean(xs);
  });
  const ok = perScene.filter((x) => Number.isFinite(x));
  if (ok.length) return mean(ok);
  return texts[0] ?? 'n/a';
}

/** Per scene and method: seconds and iterations of the pipeline stages (static shared by every method). */
export function pipelineTimes(data: RunData, task: string, method: string): { scene: string; seconds: number; iterations: number; stage: Record<string, number> }[] {
  const rows = data.stages.rows.filter((r) => r.task === task);
  const scenes = [...new Set(rows.filter((r) => r.method === method).map((r) => r.scene ?? ''))];
  return scenes.map((scene) => {
    const times = stageTimes(rows, scene, task, method, (s) => PIPELINE_STAGES.includes(s));
    const stage = Object.fromEntries([...times].map(([k, v]) => [k, v.seconds]));
    return { scene, seconds: Object.values(stage).reduce((s, x) => s + x, 0), iterations: [...times.values()].reduce((s, v) => s + v.iterations, 0), stage };
  });
}

/** Methods (not ablation variants) of a task, in the order they first appear. */
function methodsOf(data: RunData, task: string): string[] {
  const fromMetrics = data.metrics.rows.filter((r) => r.task === task).map((r) => r.method ?? '');
  const fromStages = data.stages.rows.filter((r) => r.task === task && r.method !== 'all').map((r) => r.method ?? '');
  return [...new Set([...fromMetrics, ...fromStages])].filter((m) => m && !ablationOf(m));
}

function tasksOf(data: RunData): string[] {
  return [...new Set([...data.stages.rows, ...data.metrics.rows].map((r) => r.task ?? ''))].filter(Boolean);
}

const meanTime = (t: ReturnType<typeof pipelineTimes>) => (t.length ? mean(t.map((x) => x.seconds)) : NaN);

function speedTable(data: RunData, ref: ReferenceTables, ctx: MeasuredContext): ReportTable | null {
  const stageCols: TableColumn[] = [
    { key: 'static', header: 'static', format: formatSeconds, csvText: true },
    { key: 'dynamic', header: 'dynamic', format: formatSeconds, csvText: true },
    { key: 'mesh', header: 'mesh + uv + bake', format: formatSeconds, csvText: true },
    { key: 'refine', header: 'refine', format: formatSeconds, csvText: true },
  ];
  const columns: TableColumn[] = [COL.source, COL.method, COL.task, COL.time, COL.time_s, { key: 'iterations', header: 'iterations' }, ...stageCols];
  const rows: Record<string, Cell>[] = [];
  for (const task of tasksOf(data)) {
    for (const method of methodsOf(data, task)) {
      const t = pipelineTimes(data, task, method);
      if (!t.length) continue;
      const st = (names: string[]) => {
        const xs = t.filter((x) => names.some((n) => n in x.stage)).map((x) => names.reduce((s, n) => s + (x.stage[n] ?? 0), 0));
        return xs.length ? mean(xs) : null;
      };
      rows.push({ source: MEASURED, method, task, time: meanTime(t), time_s: meanTime(t), iterations: Math.round(mean(t.map((x) => x.iterations))), static: st(['static']), dynamic: st(['dynamic']), mesh: st(['mesh', 'uv', 'bake']), refine: st(['refine']) });
    }
  }
  if (!rows.length) return null;
  for (const r of referenceRecords(ref.speed)) rows.push({ source: REPORTED, method: r.method, task: null, time: r.time, iterations: r.iterations });
  const a100 = ref.stage_times_a100;
  rows.push({ source: REPORTED, method: 'DG4D stage times (one A100)', static: a100.static ?? null, dynamic: a100.dynamic ?? null, refine: a100.refine ?? null });
  return makeTable('speed', 'Speed: time to a 4D result', caption(ctx, `${ref.source.split(';')[0]} (speed table; stage times on one A100)`) + ' Measured time: the pipeline stages (static, shared by every method, plus the method\'s own), without evaluation; mean over scenes.', columns, rows);
}

/** Per method of a task: the metrics (each from its own evaluation set), time, scene count. */
function qualityRows(data: RunData, task: string, cols: { col: string; set: string; as?: string }[]): Record<string, Cell>[] {
  const inTask = data.metrics.rows.filter((r) => r.task === task);
  return methodsOf(data, task)
    .filter((m) => inTask.some((r) => r.method === m) || data.setMetrics.rows.some((r) => r.task === task && r.method === m))
    .map((method) => {
      const t = pipelineTimes(data, task, method);
      const scenes = new Set(inTask.filter((r) => r.method === method).map((r) => r.scene)).size;
      const cells = cols.map(({ col, set, as }) => [as ?? col, sceneMean(data, inTask.filter((r) => r.method === method && r.set === set), col, { task, method, set })]);
      return { source: MEASURED, method, scenes, ...Object.fromEntries(cells), time: meanTime(t), time_s: meanTime(t) };
    });
}

function videoTo4dTable(data: RunData, ref: ReferenceTables, ctx: MeasuredContext): ReportTable | null {
  const rows = qualityRows(data, 'video-to-4d', ['lpips', 'clip', 'fvd', 'psnr', 'ssim'].map((col) => ({ col, set: 'eval' })));
  if (!rows.length) return null;
  for (const r of referenceRecords(ref.video_to_4d)) rows.push({ source: REPORTED, method: r.method, lpips: r.lpips, clip: r.clip, fvd: r.fvd, time: r.time });
  return makeTable(
    'video_to_4d',
    'Video-to-4D (Consistent4D protocol)',
    caption(ctx, `${ref.video_to_4d.about ?? 'Consistent4D'}`) + ' Eval views composited on white; mean over views and frames per scene, then over scenes.',
    [COL.source, COL.method, COL.scenes, COL.lpips, COL.clip, COL.fvd, COL.psnr, COL.ssim, COL.time, COL.time_s],
    rows,
  );
}

function videoTo4dPerSceneTable(data: RunData, ref: ReferenceTables, ctx: MeasuredContext): ReportTable | null {
  const of = data.metrics.rows.filter((r) => r.task === 'video-to-4d' && r.set === 'eval' && !ablationOf(r.method ?? ''));
  const scenes = [...new Set(of.map((r) => r.scene ?? ''))];
  if (scenes.length < 2) return null; // one scene: the video-to-4d table already is per scene
  const rows: Record<string, Cell>[] = [];
  for (const scene of scenes) {
    for (const method of methodsOf(data, 'video-to-4d')) {
      const g = of.filter((r) => r.scene === scene && r.method === method);
      if (g.length) rows.push({ source: MEASURED, scene, method, ...Object.fromEntries(['lpips', 'clip', 'psnr', 'ssim'].map((c) => [c, sceneMean(data, g, c, { task: 'video-to-4d', method, set: 'eval', scene })])) });
    }
  }
  const per = ref.video_to_4d_per_object;
  const objects = per.columns.slice(1);
  for (const [i, lp] of per.lpips.entries()) {
    const cl = per.clip.find((r) => r[0] === lp[0]) ?? per.clip[i];
    objects.forEach((obj, j) => rows.push({ source: REPORTED, scene: obj, method: lp[0]!, lpips: lp[j + 1] ?? null, clip: cl?.[j + 1] ?? null }));
  }
  return makeTable('video_to_4d_per_scene', 'Video-to-4D per scene', caption(ctx, 'Consistent4D per-object LPIPS and CLIP (our scenes are procedural, not the Consistent4D objects)'), [COL.source, COL.scene, COL.method, COL.lpips, COL.clip, COL.psnr, COL.ssim], rows);
}

function imageTo4dTable(data: RunData, ref: ReferenceTables, ctx: MeasuredContext): ReportTable | null {
  // CLIP-I: the render at the input view against the input image (set `input`);
  // reference-view PSNR/SSIM over the driving video's frames (set `reference`), else the input view.
  const hasReference = data.metrics.rows.some((r) => r.task === 'image-to-4d' && r.set === 'reference');
  const refSet = hasReference ? 'reference' : 'input';
  const rows = qualityRows(data, 'image-to-4d', [{ col: 'clip_i', set: 'input' }, { col: 'psnr', set: refSet }, { col: 'ssim', set: refSet }]);
  if (!rows.length) return null;
  for (const r of referenceRecords(ref.image_to_4d)) rows.push({ source: REPORTED, method: r.method, clip_i: r.clip_i });
  return makeTable(
    'image_to_4d',
    'Image-to-4D',
    caption(ctx, ref.image_to_4d.about ?? 'CLIP-I') + ' CLIP-I, PSNR and SSIM at the reference view against the driving video\'s frames.',
    [COL.source, COL.method, COL.scenes, COL.clip_i, { ...COL.psnr, header: 'ref-view PSNR (dB)' }, { ...COL.ssim, header: 'ref-view SSIM' }, COL.time, COL.time_s],
    rows,
  );
}

function dnerfTable(data: RunData, ref: ReferenceTables, ctx: MeasuredContext): ReportTable | null {
  const of = data.metrics.rows.filter((r) => r.task === 'dnerf' && r.set === 'test' && !ablationOf(r.method ?? ''));
  if (!of.length) return null;
  const rows: Record<string, Cell>[] = [];
  const scenes = [...new Set(of.map((r) => r.scene ?? ''))];
  const methods = methodsOf(data, 'dnerf');
  for (const scene of scenes) {
    for (const method of methods) {
      const g = of.filter((r) => r.scene === scene && r.method === method);
      if (g.length) rows.push({ source: MEASURED, scene, method, ...Object.fromEntries(['psnr', 'ssim', 'lpips'].map((c) => [c, sceneMean(data, g, c, { task: 'dnerf', method, set: 'test', scene })])) });
    }
  }
  if (scenes.length > 1) {
    for (const method of methods) {
      const g = of.filter((r) => r.method === method);
      rows.push({ source: MEASURED, scene: 'mean', method, ...Object.fromEntries(['psnr', 'ssim', 'lpips'].map((c) => [c, sceneMean(data, g, c, { task: 'dnerf', method, set: 'test' })])) });
    }
  }
  for (const r of referenceRecords(ref.deformable_3dgs_dnerf)) rows.push({ source: REPORTED, scene: r.scene, method: 'Deformable 3DGS', psnr: r.psnr, ssim: r.ssim, lpips: r.lpips });
  return makeTable('dnerf', 'D-NeRF reconstruction per scene', caption(ctx, `Deformable 3D Gaussians, ${ref.deformable_3dgs_dnerf.about ?? ''} (the D-NeRF scenes; ours are procedural)`) + ' Test views composited on white; mean over views.', [COL.source, COL.scene, COL.method, COL.psnr, COL.ssim, COL.lpips], rows);
}

function ablationTable(data: RunData, ctx: MeasuredContext): ReportTable | null {
  const of = data.metrics.rows.filter((r) => ablationOf(r.method ?? '') && (!TASK_SET[r.task ?? ''] || r.set === TASK_SET[r.task ?? '']));
  if (!of.length) return null;
  const rows: Record<string, Cell>[] = [];
  for (const [label, g] of groupBy(of, (r) => r.method!)) {
    const a = ablationOf(label)!;
    const dyn = data.stages.rows.filter((r) => r.method === label && r.stage === 'dynamic').map((r) => (num(r.wall_ms) ?? NaN) / 1000);
    rows.push({ source: MEASURED, ablation: a.group, setting: a.setting, variant: label, scenes: new Set(g.map((r) => r.scene)).size, ...Object.fromEntries(['psnr', 'ssim', 'lpips', 'clip', 'fvd'].map((c) => [c, sceneMean(data, g, c, { task: g[0]!.task ?? '', method: label, set: g[0]!.set })])), dynamic: dyn.length ? mean(dyn) : null });
  }
  rows.sort((x, y) => String(x.ablation).localeCompare(String(y.ablation)));
  return makeTable(
    'ablations',
    'Ablations',
    caption(ctx, null) + ' Every variant of a run trained from the same static Gaussians; eval views; mean over views and frames, then scenes.',
    [COL.source, { key: 'ablation', header: 'ablation' }, { key: 'setting', header: 'setting' }, { key: 'variant', header: 'variant' }, COL.scenes, COL.psnr, COL.ssim, COL.lpips, COL.clip, COL.fvd, { key: 'dynamic', header: 'dynamic stage', format: formatSeconds, csvText: true }],
    rows,
  );
}

/** Every table the run directory has measured rows for, in the papers' order. */
export async function buildTables(runDir: string, opts: { data?: RunData; reference?: ReferenceTables } = {}): Promise<ReportTable[]> {
  const data = opts.data ?? (await loadRunData(runDir));
  const ref = opts.reference ?? (await loadReference());
  const ctx = measuredContext(data);
  return [speedTable(data, ref, ctx), imageTo4dTable(data, ref, ctx), videoTo4dTable(data, ref, ctx), videoTo4dPerSceneTable(data, ref, ctx), dnerfTable(data, ref, ctx), ablationTable(data, ctx)].filter((t): t is ReportTable => t !== null);
}

export function tablesMarkdown(tables: ReportTable[]): string {
  return tables.map((t) => `## ${t.title}\n\n${t.caption}\n\n${t.markdown}\n`).join('\n');
}

/** Writes tables.md and tables/<name>.csv into the run directory (atomically); returns the tables. */
export async function writeTables(runDir: string, opts: { data?: RunData; reference?: ReferenceTables } = {}): Promise<ReportTable[]> {
  const tables = await buildTables(runDir, opts);
  await mkdir(join(runDir, 'tables'), { recursive: true });
  for (const t of tables) await writeCsv(join(runDir, 'tables', `${t.name}.csv`), t.csvRows, t.columns);
  await writeFileAtomic(join(runDir, 'tables.md'), `# Tables\n\n${tablesMarkdown(tables)}`);
  return tables;
}
