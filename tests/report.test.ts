// Tables and report.html from a real tiny run (shared with tests/compare.test.ts):
// `dg4d report` writes tables.md, tables/*.csv and report.html; the report opens
// in headless Chromium from file:// with no other request, and its figures
// rendered (tables with measured and reported rows, one bar per method, loss
// paths, decoded images, a non-blank screenshot). Suite and ablation layouts
// and the reported-figures loader are checked on directories built from it.
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { decodePng } from '../datasets/formats/png.ts';
import { BASE_FLAGS, findChrome } from '../harness/browser/chrome.ts';
import { UsageError } from '../harness/cli/args.ts';
import { reportCommand } from '../harness/cli/commands/report.ts';
import { summarizeRun } from '../harness/report/baseline.ts';
import { renderReportHtml, stageBars } from '../harness/report/html.ts';
import { loadReference, validateReference } from '../harness/report/reference.ts';
import { loadRunData, parseCsv } from '../harness/report/run_data.ts';
import { buildTables, MEASURED, REPORTED } from '../harness/report/tables.ts';
import { dg4d, sharedTinyRun } from './helpers/tiny_run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dg4d-report-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const csv = (file: string) => parseCsv(readFileSync(file, 'utf8'), file);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** A closed box of 8 vertices and 12 triangles, moved and squashed by frame. */
function boxObj(frame: number): string {
  const lines: string[] = [];
  const sx = 0.3 + 0.1 * frame;
  for (const z of [-0.3, 0.3]) for (const y of [-0.5, 0.5]) for (const x of [-sx, sx]) lines.push(`v ${x + 0.1 * frame} ${y} ${z}`);
  for (const f of [[1, 2, 4, 3], [5, 7, 8, 6], [1, 5, 6, 2], [3, 4, 8, 7], [1, 3, 7, 5], [2, 6, 8, 4]]) lines.push(`f ${f.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** `text` (CSV) with `delta` added to every numeric cell of column `col`. */
function shiftColumn(text: string, col: string, delta: number): string {
  const lines = text.split('\n');
  const k = lines[0]!.split(',').indexOf(col);
  if (k < 0) return text;
  return lines
    .map((line, i) => {
      if (i === 0 || !line) return line;
      const cells = line.split(',');
      if (cells[k] !== '' && Number.isFinite(Number(cells[k]))) cells[k] = String(Number(cells[k]) + delta);
      return cells.join(',');
    })
    .join('\n');
}

let copy = 0;
/** A private copy of the shared tiny run (the other test file reads the original). */
async function tinyCopy(): Promise<string> {
  const dir = join(tmp, `run-${copy++}`);
  cpSync(await sharedTinyRun(), dir, { recursive: true });
  return dir;
}

test('dg4d report writes the tables and a self-contained report.html that renders in Chromium', async (t) => {
  t.timeout(1_500_000);
  const dir = await tinyCopy();
  mkdirSync(join(dir, 'mesh'));
  for (let f = 0; f < 4; f++) writeFileSync(join(dir, 'mesh', `frame_${String(f).padStart(3, '0')}.obj`), boxObj(f));

  const r = await dg4d(['report', dir, '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { report: string; tables: { name: string }[] };
  t.deepEqual(out.tables.map((x) => x.name), ['speed', 'video_to_4d']);

  // tables/video_to_4d.csv: measured rows are the means of metrics.csv, reported rows the paper's.
  const metrics = csv(join(dir, 'metrics.csv')).rows;
  const v = csv(join(dir, 'tables', 'video_to_4d.csv'));
  t.is(v.columns[0], 'source');
  for (const method of ['dg4d-fast', 'static']) {
    const row = v.rows.find((x) => x.source === MEASURED && x.method === method)!;
    const expect = mean(metrics.filter((m) => m.method === method && m.set === 'eval').map((m) => Number(m.psnr)));
    t.true(Math.abs(Number(row.psnr) - expect) < 1e-3, `${method}: ${row.psnr} vs ${expect}`);
    t.regex(String(row.lpips), /^n\/a/); // no LPIPS model here: 'n/a', or 'n/a (no model)' where the column exists
  }
  t.deepEqual(v.rows.filter((x) => x.source === REPORTED).map((x) => x.method), ['D-NeRF', 'K-planes', 'Zero123', 'Consistent4D', 'DG4D-Fast', 'DG4D']);
  t.is(v.rows.find((x) => x.method === 'DG4D')!.fvd, '729.74');
  const md = readFileSync(join(dir, 'tables.md'), 'utf8');
  t.regex(md, /prior: oracle, preset tiny, adapter .+, \d{4}-\d\d-\d\d/);
  t.regex(md, /\| reported \(paper\) \| DG4D-Fast \|/);

  const html = readFileSync(out.report, 'utf8');
  t.notRegex(html, /<script|<link|@import|url\(http|src="http/i);

  const profile = join(tmp, 'chromium-profile');
  const browser = await puppeteer.launch({ executablePath: findChrome(), headless: true, args: [...BASE_FLAGS.filter((f) => !f.startsWith('--headless')), `--user-data-dir=${profile}`] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1150, height: 900 });
    const requests: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      requests.push(req.url());
      if (req.url().startsWith('file:') || req.url().startsWith('data:')) void req.continue();
      else void req.abort();
    });
    const url = `file://${out.report}`;
    await page.goto(url, { waitUntil: 'load' });
    // A string, not a function: tsx would wrap named arrows in a helper the page lacks.
    const facts = (await page.evaluate(`(() => {
      const q = (s) => Array.from(document.querySelectorAll(s));
      return {
        prior: document.querySelector('#prior')?.textContent ?? '',
        tables: q('table.results').map((tb) => ({ name: tb.getAttribute('data-table'), measured: tb.querySelectorAll('tr.measured').length, reported: tb.querySelectorAll('tr.reported').length })),
        bars: q('svg.stacked-bars g.bar').map((g) => ({ label: g.getAttribute('data-label'), segments: g.querySelectorAll('rect.segment').length })),
        paths: q('svg.line-chart path.series').map((p) => p.getAttribute('d') ?? ''),
        images: q('img').map((i) => ({ cls: i.className, ok: i.complete && i.naturalWidth > 0, src: i.src.slice(0, 22) })),
        env: document.querySelector('table.env')?.textContent ?? '',
      };
    })()`)) as {
      prior: string;
      tables: { name: string; measured: number; reported: number }[];
      bars: { label: string; segments: number }[];
      paths: string[];
      images: { cls: string; ok: boolean; src: string }[];
      env: string;
    };
    t.regex(facts.prior, /prior: oracle/);
    t.deepEqual(facts.tables, [
      { name: 'speed', measured: 2, reported: 9 },
      { name: 'video_to_4d', measured: 2, reported: 6 },
    ]);
    // One bar per method; dg4d-fast has static + dynamic + eval, static has static + eval.
    t.deepEqual(facts.bars, [
      { label: 'dg4d-fast', segments: 3 },
      { label: 'static', segments: 2 },
    ]);
    // Loss curves: the static stage and dg4d-fast's dynamic stage, each a path of many points.
    t.is(facts.paths.length, 2);
    for (const d of facts.paths) t.true((d.match(/[ML]/g) ?? []).length >= 10, d.slice(0, 80));
    // Two contact sheets (dg4d-fast, static) and four mesh frames, all decoded from data: URLs.
    t.is(facts.images.filter((i) => i.cls === 'sheet').length, 2);
    t.is(facts.images.filter((i) => i.cls === 'mesh-frame').length, 4);
    t.true(facts.images.every((i) => i.ok && i.src === 'data:image/png;base64,'), JSON.stringify(facts.images));
    t.regex(facts.env, /adapter/);
    t.regex(facts.env, /commit/);

    const shot = await page.screenshot({ fullPage: true });
    const img = decodePng(new Uint8Array(shot));
    const lum = new Float64Array(img.width * img.height);
    for (let p = 0; p < lum.length; p++) lum[p] = 0.299 * img.rgba[4 * p]! + 0.587 * img.rgba[4 * p + 1]! + 0.114 * img.rgba[4 * p + 2]!;
    const m = mean([...lum]);
    const variance = mean([...lum].map((x) => (x - m) ** 2));
    const inked = lum.filter((x) => x < 0.9).length / lum.length;
    t.log(`screenshot ${img.width}x${img.height}: luminance variance ${variance.toFixed(4)}, ${(100 * inked).toFixed(1)} % of pixels not near-white`);
    t.true(img.height > 1500, `page height ${img.height}`);
    t.true(variance > 0.01, `variance ${variance}`);
    t.true(inked > 0.02, `inked ${inked}`);
    t.deepEqual(
      requests.filter((u) => !u.startsWith('data:')),
      [url],
      'no request but the page itself',
    );
  } finally {
    await browser.close();
  }
});

test('dg4d report --screenshot writes a PNG of the report as Chromium renders it, asking for nothing outside it', async (t) => {
  t.timeout(1_500_000);
  const dir = await tinyCopy();
  const file = join(dir, 'shot.png');
  const r = await dg4d(['report', dir, '--screenshot', file, '--json']);
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stderr, /outside resource/);
  t.is(JSON.parse(r.stdout).screenshot, file);
  const img = decodePng(new Uint8Array(readFileSync(file)));
  t.is(img.width, 1200);
  t.true(img.height > 1000, `height ${img.height}`);
  // Not a blank page: a good share of the pixels carry ink (tables, bars, images).
  let inked = 0;
  for (let p = 0; p < img.width * img.height; p++) if (0.299 * img.rgba[4 * p]! + 0.587 * img.rgba[4 * p + 1]! + 0.114 * img.rgba[4 * p + 2]! < 0.9) inked++;
  t.true(inked / (img.width * img.height) > 0.02, `inked ${inked}`);
  // A bad path is an error that names it, and leaves no partial file behind.
  const bad = await dg4d(['report', dir, '--screenshot', join(dir, 'no-such-dir', 'shot.png')]);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /no-such-dir/);
});

test('suite and ablation layouts: scene runs are concatenated, ablation variants get their own table', async (t) => {
  t.timeout(1_500_000);
  const run = await sharedTinyRun();
  const suite = join(tmp, 'suite');
  mkdirSync(suite);
  const record = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
  writeFileSync(join(suite, 'run.json'), JSON.stringify({ ...record, command: 'bench', kind: undefined }));
  // Two scene runs without run.json of their own (the suite's is shared), one ablation run.
  // Jelly's PSNR is walker's + 3 dB in both metrics.csv and set_metrics.csv, so per-scene cells must differ.
  for (const [name, rename] of [
    ['walker-video-to-4d', (s: string) => s],
    ['jelly-video-to-4d', (s: string) => shiftColumn(s.replaceAll('walker,', 'jelly,'), 'psnr', 3)],
    ['walker-ablate', (s: string) => s.replaceAll(',dg4d-fast,', ',hexplane-8,').replaceAll(',static,', ',hexplane-16,')],
  ] as [string, (s: string) => string][]) {
    const d = join(suite, 'scenes', name);
    mkdirSync(join(d, 'renders'), { recursive: true });
    for (const f of ['stages.csv', 'kernels.csv', 'metrics.csv', 'set_metrics.csv', 'loss.csv']) writeFileSync(join(d, f), rename(readFileSync(join(run, f), 'utf8')));
    cpSync(join(run, 'renders'), join(d, 'renders'), { recursive: true });
  }
  const data = await loadRunData(suite);
  t.is(data.runs.length, 3);
  t.deepEqual([...new Set(data.metrics.rows.map((r) => r.scene))], ['jelly', 'walker']);
  const tables = await buildTables(suite, { data });
  t.deepEqual(tables.map((x) => x.name), ['speed', 'video_to_4d', 'video_to_4d_per_scene', 'ablations']);
  const v = tables.find((x) => x.name === 'video_to_4d')!;
  const fast = v.csvRows.find((r) => r.source === MEASURED && r.method === 'dg4d-fast')!;
  t.is(fast.scenes, 2);
  t.deepEqual(v.csvRows.filter((r) => r.source === MEASURED).map((r) => r.method), ['dg4d-fast', 'static']); // no ablation variant here
  // Per scene: each scene's own mean (this once showed the mean over all scenes on every row).
  const per = tables.find((x) => x.name === 'video_to_4d_per_scene')!.csvRows.filter((r) => r.source === MEASURED);
  for (const method of ['dg4d-fast', 'static']) {
    const at = (scene: string) => Number(per.find((r) => r.scene === scene && r.method === method)!.psnr);
    t.true(Math.abs(at('jelly') - at('walker') - 3) < 1e-3, `${method}: jelly ${at('jelly')}, walker ${at('walker')}`);
  }
  const abl = tables.find((x) => x.name === 'ablations')!;
  t.deepEqual(abl.csvRows.map((r) => [r.ablation, r.setting, r.variant]), [
    ['hexplane', '[8,8,8], scales 1', 'hexplane-8'],
    ['hexplane', '[16,16,16], scales 1', 'hexplane-16'],
  ]);
  // Bars: dg4d-fast and static on two scenes, two ablation variants.
  t.is(stageBars(data).length, 6);
  const html = await renderReportHtml(data, tables);
  t.is((html.match(/class="sheet"/g) ?? []).length, 6);
  t.regex(html, /no mesh stage in this run/);

  // `dg4d report` on what is not a run directory: usage error (exit 2), nothing written.
  await t.throwsAsync(reportCommand([join(tmp, 'nowhere'), '--quiet']), { instanceOf: UsageError, message: /no such directory/ });
  await t.throwsAsync(reportCommand([join(suite, 'scenes'), '--quiet']), { instanceOf: UsageError, message: /no run\.json/ });
});

test('whole-set metrics come from set_metrics.csv; learned metrics without models read n/a (no model)', async (t) => {
  const dir = join(tmp, 'sets');
  mkdirSync(dir);
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ runId: 'sets', command: 'run', status: 'complete', startedAt: '2026-01-02T00:00:00Z', preset: 'tiny', prior: 'oracle' }));
  const head = 'scene,task,method,prior,preset,set,view,time,psnr,ssim,lpips,clip\n';
  const views = (task: string, set: string, psnr: number[]) => psnr.map((p, i) => `walker,${task},dg4d,oracle,tiny,${set},v${i},0,${p},0.9,n/a (no model),n/a (no model)\n`).join('');
  writeFileSync(join(dir, 'metrics.csv'), head + views('video-to-4d', 'eval', [20, 22]) + views('image-to-4d', 'reference', [25, 27]));
  writeFileSync(
    join(dir, 'set_metrics.csv'),
    'scene,task,method,prior,preset,set,views,psnr,ssim,lpips,clip,clip_i,fvd\n' +
      'walker,video-to-4d,dg4d,oracle,tiny,eval,2,21,0.9,n/a (no model),n/a (no model),,812.5\n' +
      'walker,image-to-4d,dg4d,oracle,tiny,input,1,30,0.95,n/a (no model),n/a (no model),0.875,\n',
  );
  const data = await loadRunData(dir);
  const tables = await buildTables(dir, { data });
  const v = tables.find((x) => x.name === 'video_to_4d')!.csvRows.find((r) => r.source === MEASURED)!;
  t.like(v, { method: 'dg4d', psnr: 21, fvd: 812.5, lpips: 'n/a (no model)', clip: 'n/a (no model)' });
  const i = tables.find((x) => x.name === 'image_to_4d')!.csvRows.find((r) => r.source === MEASURED)!;
  t.like(i, { method: 'dg4d', clip_i: 0.875, psnr: 26 }); // reference-view PSNR: the video frames' mean
  const s = summarizeRun(data);
  t.is(s.metrics.find((m) => m.set === 'eval')!.means.fvd, 812.5);
  t.is(s.metrics.find((m) => m.set === 'eval')!.means.psnr, 21); // per-view mean, not the set row
  t.is(s.metrics.find((m) => m.set === 'input')!.means.clip_i, 0.875);
  t.is(s.metrics.find((m) => m.set === 'eval')!.means.lpips, null);
});

test('the reported figures load from reports/reference and bad ones are refused naming the field', async (t) => {
  const ref = await loadReference();
  t.is(ref.video_to_4d.rows.length, 6);
  t.is(ref.deformable_3dgs_dnerf.columns.join(), 'scene,psnr,ssim,lpips');
  const json = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'reports', 'reference', 'dg4d-tables.json'), 'utf8'));
  json.video_to_4d.rows[2].pop();
  t.throws(() => validateReference(json, 'x.json'), { message: 'x.json: video_to_4d.rows[2] has 4 cells, expected 5 (one per column)' });
  delete json.speed;
  t.throws(() => validateReference(json, 'x.json'), { message: /x\.json: speed is missing/ });
});
