// `dg4d report RUN_DIR`: (re)builds tables.md, tables/<name>.csv and report.html
// for a `dg4d run`, `dg4d ablate` or suite directory from the files in it.
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeReport } from '../../report/html.ts';
import { screenshotReport } from '../../report/screenshot.ts';
import { loadReference, ReferenceDataError } from '../../report/reference.ts';
import { loadRunData, RunDataError } from '../../report/run_data.ts';
import { tablesMarkdown, writeTables } from '../../report/tables.ts';
import { UsageError } from '../args.ts';

export const REPORT_HELP = `usage: dg4d report RUN_DIR [--screenshot FILE] [--json] [--quiet]

Rebuilds the tables (tables.md, tables/<name>.csv: measured rows beside the
papers' reported rows from reports/reference/dg4d-tables.json) and report.html
(self-contained: tables, stage bars, loss curves, ground truth vs render, the
mesh over time, kernel times, the environment) inside RUN_DIR. RUN_DIR is a
directory written by dg4d run, dg4d ablate or dg4d bench (a suite with
scenes/<scene>/ run directories).

  --screenshot FILE  also write a PNG of report.html as headless Chromium
                     renders it (1200 px wide, the whole page up to 16000 px)
  --json             print {"report": PATH, "screenshot": PATH|null, "tables": [...]}
  --quiet            print nothing but errors
  -h, --help`;

export async function reportCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { screenshot: { type: 'string' }, json: { type: 'boolean', default: false }, quiet: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`dg4d report: ${(err as Error).message}`);
  }
  if (parsed.positionals.length !== 1) throw new UsageError('dg4d report: give exactly one RUN_DIR');
  const dir = resolve(parsed.positionals[0]!);
  const shotPath = parsed.values.screenshot === undefined ? null : resolve(parsed.values.screenshot);
  if (shotPath !== null && !(existsSync(dirname(shotPath)) && statSync(dirname(shotPath)).isDirectory())) {
    throw new UsageError(`dg4d report: --screenshot ${shotPath}: its directory ${dirname(shotPath)} does not exist`);
  }
  let tables, path;
  try {
    const data = await loadRunData(dir);
    const reference = await loadReference();
    tables = await writeTables(dir, { data, reference });
    path = await writeReport(dir, { data, tables, reference });
  } catch (err) {
    if (err instanceof RunDataError || err instanceof ReferenceDataError) throw new UsageError(err.message);
    throw err;
  }
  const shot = shotPath === null ? null : await screenshotReport(path, shotPath);
  if (shot && shot.refused.length > 0) process.stderr.write(`dg4d report: the report asked for ${shot.refused.length} outside resource(s), refused: ${shot.refused.slice(0, 3).join(', ')}\n`);
  if (parsed.values.json) process.stdout.write(JSON.stringify({ report: path, screenshot: shot?.path ?? null, tables: tables.map((t) => ({ name: t.name, title: t.title, caption: t.caption, columns: t.columns, rows: t.csvRows })) }, null, 2) + '\n');
  else if (!parsed.values.quiet) process.stdout.write(`${tablesMarkdown(tables)}\nwrote ${dir}/tables.md, tables/*.csv\nreport: ${path}\n${shot ? `screenshot: ${shot.path} (${shot.width}x${shot.height})\n` : ''}`);
  return 0;
}
