// Runs one file reader per message in a worker thread, so that the test can
// terminate it when a read hangs (even in a synchronous loop). Used by
// tests/fuzz_readers.test.ts; replies { id, ok, error?: { name, message } }.
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { readPng } from '../../datasets/formats/png.ts';
import { loadImages, readTransforms } from '../../datasets/formats/transforms.ts';
import { readObj } from '../../harness/mesh/export_obj.ts';
import { loadSummary } from '../../harness/report/baseline.ts';
import { readPlyFile } from '../../harness/splat/ply.ts';

export type FuzzReader = 'ply' | 'png' | 'obj' | 'transforms' | 'summary';

const READERS: Record<FuzzReader, (path: string) => Promise<unknown>> = {
  ply: (p) => readPlyFile(p),
  png: (p) => readPng(p),
  obj: async (p) => readObj(await readFile(p, 'utf8'), p),
  // Reads the JSON and checks the images' headers, then decodes them (as a run does).
  transforms: async (p) => loadImages(await readTransforms(p, 'train')),
  // A baseline file or a run directory (run.json and its CSVs), as `dg4d compare` reads them.
  summary: (p) => loadSummary(p),
};

parentPort!.on('message', async (m: { id: number; reader: FuzzReader; path: string }) => {
  try {
    await READERS[m.reader](m.path);
    parentPort!.postMessage({ id: m.id, ok: true });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ id: m.id, ok: false, error: { name: e.name, message: e.message } });
  }
});
