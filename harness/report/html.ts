// report.html: one self-contained page per run directory (inline CSS, inline
// SVG charts, PNGs as data: URLs; no scripts, fonts or network). Sections: the
// prior, the environment, the tables, stage times, loss curves, ground truth vs
// render, the mesh over time, kernel times.
import { readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { encodePng } from '../../datasets/formats/png.ts';
import { writeFileAtomic } from './atomic.ts';
import { meshPreviews, parseObjMesh } from './mesh_preview.ts';
import { loadReference, type ReferenceTables } from './reference.ts';
import { groupBy, loadRunData, num, stageTimes, type RunData, type SubRun } from './run_data.ts';
import { escapeXml as esc, lineChart, stackedBarChart } from './svg.ts';
import { buildTables, formatSeconds, MEASURED, type ReportTable } from './tables.ts';

/** Stage order of the bars (DESIGN.md "The pipeline"). */
export const STAGE_ORDER = ['static', 'dynamic', 'mesh', 'uv', 'bake', 'refine', 'eval'];
const MESH_STRIP_FRAMES = 8;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.prior-banner{font-weight:700;font-size:16px;padding:8px 12px;border-radius:4px;margin:10px 0;background:#fff4d6;border:2px solid #e0a800}
.prior-banner small{font-weight:400;font-size:13px;display:block}
.status-banner{padding:8px 12px;border:2px solid #c0392b;background:#fdecea;border-radius:4px;font-weight:700}
table{border-collapse:collapse;margin:6px 0 4px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child,td.text{text-align:left}
tr.reported td{color:#666;font-style:italic;background:#fafafa}
.caption{color:#555;font-size:12.5px;max-width:1000px}
table.env td{text-align:left}table.env td:first-child{font-weight:600;white-space:nowrap}
.chart text{font:11px system-ui,sans-serif;fill:#333}.chart .chart-title{font-weight:600;font-size:12px}
.chart .grid{stroke:#e5e5e5}.chart .plot{fill:none;stroke:#ccc}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:8px 0 16px}figcaption{font-size:12.5px;color:#444}
img.sheet{image-rendering:pixelated;display:block;border:1px solid #ccc}
.sheet-labels{display:grid;font-size:11px;color:#555;text-align:center}
.strip{display:flex;gap:6px;flex-wrap:wrap}.strip figure{margin:0}.strip img{border:1px solid #ddd;display:block}
.note{color:#777;font-style:italic}
`;

const dataUrl = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

function envRows(data: RunData): [string, string][] {
  const r = data.record;
  const env = r.environment ?? data.runs.find((x) => x.record.environment)?.record.environment;
  const a = env?.adapter;
  const rows: [string, string][] = [
    ['command', [r.command, r.kind].filter(Boolean).join(' ')],
    ['run id', r.runId],
    ['status', r.status],
    ['started', r.startedAt],
    ['finished', r.finishedAt ?? '–'],
    ['preset', r.preset],
    ['prior', r.prior],
    ['seed', r.seed === undefined ? '–' : String(r.seed)],
    ['adapter', a ? `${a.description || '(no description)'} — ${[a.vendor, a.architecture].filter(Boolean).join(' / ')}${a.isFallbackAdapter ? ' [fallback/software adapter]' : ''}` : 'unknown'],
    ['runtime', env?.runtime ?? 'chromium'],
    ['browser', env?.browser ? `${env.browser.version ?? '?'} (adapter flags: ${env.browser.adapterFlags ?? '?'})` : 'unknown'],
    ['commit', env?.tool?.commit ?? 'unknown'],
    ['tool', env?.tool?.version ? `dg4d-bench ${env.tool.version}` : 'unknown'],
    ['node', env?.node ?? 'unknown'],
    ['machine', env?.os ? `${env.os.platform ?? ''} · ${env.os.cpuModel ?? ''} × ${env.os.cpuCount ?? '?'}` : 'unknown'],
  ];
  return rows;
}

function tableHtml(t: ReportTable): string {
  const src = t.headers.indexOf('source');
  const head = `<tr>${t.headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = t.display
    .map((row) => {
      const cls = row[src] === MEASURED ? 'measured' : 'reported';
      return `<tr class="${cls}">${row.map((c) => `<td${/^-?[\d.]+( |$)/.test(c) || c === '–' ? '' : ' class="text"'}>${esc(c)}</td>`).join('')}</tr>`;
    })
    .join('');
  return `<h3 id="table-${esc(t.name)}">${esc(t.title)}</h3><table class="results" data-table="${esc(t.name)}">${head}${body}</table><p class="caption">${esc(t.caption)}</p>`;
}

/** The bars of the stage chart: one per scene, task and method; `static` is shared by a scene's methods and shown in each. */
export function stageBars(data: RunData): { label: string; values: Record<string, number> }[] {
  const rows = data.stages.rows;
  const multiScene = new Set(rows.map((r) => `${r.scene}|${r.task}`)).size > 1;
  const bars = [];
  for (const key of new Set(rows.filter((r) => r.method !== 'all').map((r) => `${r.scene}|${r.task}|${r.method}`))) {
    const [scene, task, method] = key.split('|') as [string, string, string];
    const values = Object.fromEntries([...stageTimes(rows, scene, task, method)].map(([stage, v]) => [stage, v.seconds]));
    bars.push({ label: multiScene ? `${scene} · ${task} · ${method}` : method, values });
  }
  return bars;
}

function stageSection(data: RunData): string {
  const bars = stageBars(data);
  if (!bars.length) return '<p class="note">no stages.csv in this run</p>';
  const series = [...STAGE_ORDER, ...new Set(bars.flatMap((b) => Object.keys(b.values)).filter((s) => !STAGE_ORDER.includes(s)))].filter((s) => bars.some((b) => b.values[s]));
  return stackedBarChart({ bars, series, unit: 's', title: 'Wall-clock time per stage (s); static is shared by the methods of a scene', format: formatSeconds });
}

function lossSection(data: RunData): string {
  const rows = data.loss.rows;
  if (!rows.length) return '<p class="note">no loss.csv in this run</p>';
  const charts: string[] = [];
  for (const [key, g] of groupBy(rows, (r) => `${r.scene}|${r.task}|${r.stage}`)) {
    const [scene, task, stage] = key.split('|');
    const series = [...groupBy(g, (r) => r.method ?? '')].map(([method, pts]) => ({
      name: method === 'all' ? stage! : method,
      points: pts.map((r) => [num(r.iter) ?? NaN, num(r.loss) ?? NaN] as [number, number]),
    }));
    charts.push(lineChart({ series, title: `${scene} · ${task} · ${stage}`, xLabel: 'iteration', yLabel: 'loss', logY: true }));
  }
  return `<div class="charts">${charts.join('')}</div>`;
}

/** Labels for the columns of a contact sheet: the views the sheet took (same spread as runner/outputs.ts contactSheet). */
function sheetLabels(data: RunData, run: SubRun, method: string, set: string, columns: number): string[] | null {
  const views = data.metrics.rows.filter((r) => r.scene === run.scene && r.task === run.task && r.method === method && r.set === set);
  if (!views.length || columns > views.length) return null;
  return Array.from({ length: columns }, (_, i) => {
    const v = views[Math.floor((i * views.length) / columns)]!;
    const t = num(v.time);
    const p = num(v.psnr);
    return `${t === undefined ? v.view : `t=${t.toFixed(2)}`}${p === undefined ? '' : ` · ${p.toFixed(1)} dB`}`;
  });
}

function pngSize(png: Uint8Array): { width: number; height: number } {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

async function rendersSection(data: RunData): Promise<string> {
  const figs: string[] = [];
  for (const run of data.runs) {
    for (const file of run.renders) {
      const name = basename(file, '.png');
      const cut = name.lastIndexOf('_');
      const [method, set] = cut > 0 ? [name.slice(0, cut), name.slice(cut + 1)] : [name, ''];
      const png = await readFile(file);
      const { width, height } = pngSize(png);
      const tile = height / 2; // ground truth row above render row, square tiles
      const columns = Number.isInteger(width / tile) ? width / tile : 0;
      const scale = Math.max(1, Math.floor(128 / Math.max(1, tile)));
      const labels = columns ? sheetLabels(data, run, method, set, columns) : null;
      const labelRow = labels ? `<div class="sheet-labels" style="grid-template-columns:repeat(${columns},${tile * scale}px)">${labels.map((l) => `<span>${esc(l)}</span>`).join('')}</div>` : '';
      figs.push(
        `<figure class="render-sheet"><img class="sheet" alt="${esc(`${run.scene} ${method} ${set}`)}" width="${width * scale}" height="${height * scale}" src="${dataUrl(png)}">${labelRow}<figcaption>${esc([run.scene, run.task, method, set].filter(Boolean).join(' · '))} — top: ground truth (composited on white), bottom: render; ${columns || '?'} views spread over the set${run.rel ? ` (${esc(run.rel)})` : ''}</figcaption></figure>`,
      );
    }
  }
  return figs.length ? figs.join('') : '<p class="note">no renders in this run</p>';
}

async function meshSection(data: RunData): Promise<string> {
  const parts: string[] = [];
  for (const run of data.runs) {
    for (const m of run.meshes) {
      const n = Math.min(MESH_STRIP_FRAMES, m.frames.length);
      const pick = Array.from({ length: n }, (_, i) => m.frames[Math.round((i * (m.frames.length - 1)) / Math.max(1, n - 1))]!);
      const meshes = await Promise.all(pick.map(async (f) => parseObjMesh(await readFile(f, 'utf8'), f)));
      const images = meshPreviews(meshes, 128);
      const figs = images.map((img, i) => `<figure><img class="mesh-frame" width="128" height="128" alt="${esc(basename(pick[i]!))}" src="${dataUrl(encodePng(img))}"><figcaption>${esc(basename(pick[i]!, '.obj'))} · ${meshes[i]!.triangles.length / 3} faces</figcaption></figure>`);
      parts.push(`<h3>${esc([run.scene, run.task, relative(run.dir, m.dir)].filter(Boolean).join(' · '))}</h3><div class="strip">${figs.join('')}</div>`);
    }
  }
  return parts.length ? parts.join('') : '<p class="note" id="no-mesh">no mesh stage in this run</p>';
}

function kernelSection(data: RunData): string {
  const rows = data.kernels.rows;
  if (!rows.length) return '<p class="note">no kernels.csv in this run</p>';
  const totals = [...groupBy(rows, (r) => `${r.stage}|${r.kernel}`)].map(([key, g]) => {
    const [stage, kernel] = key.split('|');
    return { stage, kernel, samples: g.reduce((s, r) => s + (num(r.samples) ?? 0), 0), total: g.reduce((s, r) => s + (num(r.total_ms) ?? 0), 0), median: Math.max(...g.map((r) => num(r.median_ms) ?? 0)), timing: g[0]!.timing ?? '' };
  });
  totals.sort((a, b) => b.total - a.total);
  const body = totals
    .slice(0, 15)
    .map((k) => `<tr><td>${esc(k.stage ?? '')}</td><td class="text">${esc(k.kernel ?? '')}</td><td>${k.samples}</td><td>${k.median.toFixed(3)}</td><td>${(k.total / 1000).toFixed(2)}</td><td class="text">${esc(k.timing)}</td></tr>`)
    .join('');
  return `<table class="kernels"><tr><th>stage</th><th>kernel</th><th>dispatches</th><th>median ms (max over runs)</th><th>total s</th><th>timing</th></tr>${body}</table><p class="caption">The 15 kernels with the most GPU time over the whole run (kernels.csv; summed over scenes and methods).</p>`;
}

export function priorBanner(prior: string): string {
  if (prior.includes('oracle')) {
    return `<div class="prior-banner" id="prior">prior: ${esc(prior)}<small>Ground-truth training views stand in for the diffusion models (Zero-1-to-3, Stable Video Diffusion). Measured numbers are not reproductions of the papers' figures.</small></div>`;
  }
  return `<div class="prior-banner" id="prior">prior: ${esc(prior)}</div>`;
}

export async function renderReportHtml(data: RunData, tables: ReportTable[]): Promise<string> {
  const r = data.record;
  const priors = new Set([...data.stages.rows, ...data.metrics.rows].map((x) => x.prior).filter((p): p is string => Boolean(p)));
  const prior = priors.size ? [...priors].join(', ') : r.prior;
  const status = r.status === 'complete' ? '' : `<p class="status-banner">run status: ${esc(r.status)}${typeof r.error === 'string' ? ` — ${esc(r.error)}` : ''}: the numbers below may be partial.</p>`;
  const env = envRows(data)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dg4d-bench report ${esc(r.runId)}</title><style>${CSS}</style></head>
<body>
<h1>dg4d-bench report — ${esc([r.command, r.kind].filter(Boolean).join(' '))}, preset ${esc(r.preset)}</h1>
${priorBanner(prior)}
${status}
<h2 id="environment">Environment</h2><table class="env">${env}</table>
<h2 id="tables">Tables</h2>${tables.length ? tables.map(tableHtml).join('') : '<p class="note">no metrics or stage times to tabulate</p>'}
<h2 id="stages">Stage times</h2>${stageSection(data)}
<h2 id="loss">Loss curves</h2>${lossSection(data)}
<h2 id="renders">Ground truth vs render</h2>${await rendersSection(data)}
<h2 id="mesh">Mesh over time</h2>${await meshSection(data)}
<h2 id="kernels">Kernels</h2>${kernelSection(data)}
<p class="caption">Written by dg4d report from ${esc(data.root)} on ${esc(new Date().toISOString())}.</p>
</body></html>
`;
}

/** Writes report.html into the run directory (atomically) and returns its path. */
export async function writeReport(runDir: string, opts: { data?: RunData; tables?: ReportTable[]; reference?: ReferenceTables } = {}): Promise<string> {
  const data = opts.data ?? (await loadRunData(runDir));
  const tables = opts.tables ?? (await buildTables(runDir, { data, reference: opts.reference ?? (await loadReference()) }));
  const path = join(runDir, 'report.html');
  await writeFileAtomic(path, await renderReportHtml(data, tables));
  return path;
}
