// The papers' reported figures (reports/reference/dg4d-tables.json), loaded and
// checked before any table is built. They are always shown as "reported (paper)"
// and never mixed into measured averages.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../browser/bundle.ts';

export const REFERENCE_PATH = join(REPO_ROOT, 'reports', 'reference', 'dg4d-tables.json');

export type ReferenceCell = string | number | null;

/** A table as the JSON holds it: column names and rows of cells in that order. */
export interface ReferenceTable {
  columns: string[];
  rows: ReferenceCell[][];
  /** What the figures measure and on what data (the JSON's `metric` or `benchmark`). */
  about?: string;
}

export interface ReferenceTables {
  source: string;
  speed: ReferenceTable;
  image_to_4d: ReferenceTable;
  video_to_4d: ReferenceTable;
  /** Per-object Consistent4D figures, one table per metric (rows: method, objects..., mean). */
  video_to_4d_per_object: { columns: string[]; lpips: ReferenceCell[][]; clip: ReferenceCell[][] };
  user_study: ReferenceTable;
  /** DG4D's stage times on one A100 (static, dynamic, refine). */
  stage_times_a100: Record<string, string>;
  deformable_3dgs_dnerf: ReferenceTable;
}

export class ReferenceDataError extends Error {
  override name = 'ReferenceDataError';
}

const TABLES = ['speed', 'image_to_4d', 'video_to_4d', 'user_study', 'deformable_3dgs_dnerf'] as const;

function isCell(v: unknown): v is ReferenceCell {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** Validates the parsed JSON; every complaint names the file and the field. */
export function validateReference(json: unknown, file: string): ReferenceTables {
  const fail = (field: string, why: string): never => {
    throw new ReferenceDataError(`${file}: ${field} ${why}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('(top level)', 'must be an object');
  const o = json as Record<string, unknown>;
  if (typeof o.source !== 'string' || !o.source) fail('source', 'must be a non-empty string');
  const columns = (v: unknown, field: string): string[] => {
    if (!Array.isArray(v) || v.length < 2 || !v.every((c) => typeof c === 'string' && c)) fail(field, 'must be a list of at least two column names');
    return v as string[];
  };
  const rows = (v: unknown, field: string, width: number): ReferenceCell[][] => {
    if (!Array.isArray(v) || !v.length) fail(field, 'must be a non-empty list of rows');
    (v as unknown[]).forEach((row, i) => {
      if (!Array.isArray(row)) fail(`${field}[${i}]`, 'must be a list of cells');
      const r = row as unknown[];
      if (r.length !== width) fail(`${field}[${i}]`, `has ${r.length} cells, expected ${width} (one per column)`);
      if (typeof r[0] !== 'string' || !r[0]) fail(`${field}[${i}][0]`, 'must be a name (non-empty string)');
      r.forEach((c, j) => isCell(c) || fail(`${field}[${i}][${j}]`, `must be a string, a finite number or null, got ${JSON.stringify(c)}`));
    });
    return v as ReferenceCell[][];
  };
  const out: Partial<ReferenceTables> = { source: o.source as string };
  for (const name of TABLES) {
    const t = o[name];
    if (typeof t !== 'object' || t === null) fail(name, 'is missing');
    const tt = t as Record<string, unknown>;
    const cols = columns(tt.columns, `${name}.columns`);
    const about = [tt.metric, tt.benchmark].find((x) => typeof x === 'string') as string | undefined;
    out[name] = { columns: cols, rows: rows(tt.rows, `${name}.rows`, cols.length), about };
  }
  const per = o.video_to_4d_per_object as Record<string, unknown> | undefined;
  if (typeof per !== 'object' || per === null) fail('video_to_4d_per_object', 'is missing');
  const perCols = columns(per!.columns, 'video_to_4d_per_object.columns');
  out.video_to_4d_per_object = {
    columns: perCols,
    lpips: rows(per!.lpips, 'video_to_4d_per_object.lpips', perCols.length),
    clip: rows(per!.clip, 'video_to_4d_per_object.clip', perCols.length),
  };
  const st = o.stage_times_a100;
  if (typeof st !== 'object' || st === null || Array.isArray(st)) fail('stage_times_a100', 'must be an object of stage -> time');
  for (const [k, v] of Object.entries(st as object)) if (typeof v !== 'string') fail(`stage_times_a100.${k}`, 'must be a string such as "2 min"');
  out.stage_times_a100 = st as Record<string, string>;
  return out as ReferenceTables;
}

export async function loadReference(path = REFERENCE_PATH): Promise<ReferenceTables> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ReferenceDataError(`${path}: cannot read the reported figures (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ReferenceDataError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return validateReference(json, path);
}

/** A reference table's rows as objects keyed by column name. */
export function referenceRecords(t: { columns: string[]; rows: ReferenceCell[][] }): Record<string, ReferenceCell>[] {
  return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null])));
}
