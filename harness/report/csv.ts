// CSV files through csv-stringify, written atomically.
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from './atomic.ts';

export type CsvRow = Record<string, string | number | boolean | null | undefined>;

export function toCsv(rows: readonly CsvRow[], columns: readonly string[]): string {
  return stringify(rows.map((r) => columns.map((c) => formatCell(r[c]))), { header: true, columns: [...columns] });
}

function formatCell(v: CsvRow[string]): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    // Counts stay exact; measurements keep 6 significant digits.
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  }
  return String(v);
}

export function writeCsv(path: string, rows: readonly CsvRow[], columns: readonly string[]): Promise<void> {
  return writeFileAtomic(path, toCsv(rows, columns));
}
