// Node side of the learned metrics: finds the ONNX files of `--metric-models DIR`
// (names in learned_metrics.ts METRIC_MODEL_FILES), and checks each before any GPU
// work: readable, a well-formed ModelProto with a graph, inputs as the contract
// says (checkModelInputs). The page then fetches them from the session's static
// server (/data/metric-models/<file>) and loads them with onnxruntime-web.
//
// The check reads only what it needs: a small protobuf walker over the file
// (FileHandle reads at offsets) that skips the weights, so a 350 MB CLIP costs a
// few reads. Field numbers from onnx/onnx.proto: ModelProto.ir_version 1, graph 7;
// GraphProto.initializer 5, input 11; TensorProto.name 8; ValueInfoProto.name 1,
// type 2; TypeProto.tensor_type 1; Tensor.elem_type 1, shape 2; Shape.dim 1;
// Dimension.dim_value 1, dim_param 2.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { METRIC_MODEL_FILES, METRIC_MODEL_NAMES, MetricModelError, checkModelInputs, type LearnedMetricsConfig, type MetricModelName } from './learned_metrics.ts';

export { METRIC_MODEL_FILES, MetricModelError, type MetricModelName };

/** The static server's data root the models are served from. */
export const METRIC_MODELS_ROOT = 'metric-models';

export interface MetricModels {
  dir: string;
  /** File name per model present. */
  files: Partial<Record<MetricModelName, string>>;
  /** Per model present: its inputs (dims -1 where symbolic). */
  inputs: Partial<Record<MetricModelName, { name: string; dims: number[] }[]>>;
}

class Malformed extends Error {}

/** Random-access reads of a file, for walking protobuf fields without loading the weights. */
class Source {
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async read(pos: number, len: number): Promise<Uint8Array> {
    if (pos < 0 || len < 0 || pos + len > this.size) throw new Malformed(`a field runs past the end of the file (byte ${pos} + ${len} > ${this.size})`);
    const buf = new Uint8Array(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, pos);
    if (bytesRead !== len) throw new Malformed(`short read at byte ${pos}`);
    return buf;
  }
}

interface Field {
  field: number;
  wire: number;
  /** Varint / fixed value (wire 0, 1, 5). */
  value: bigint;
  /** Payload range (wire 2). */
  start: number;
  end: number;
}

function varintAt(b: Uint8Array, at: number): { value: bigint; next: number } {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= b.length) throw new Malformed('truncated varint');
    const x = b[at + i]!;
    v |= BigInt(x & 0x7f) << BigInt(7 * i);
    if (!(x & 0x80)) return { value: v, next: at + i + 1 };
  }
  throw new Malformed('varint longer than 10 bytes');
}

/** The fields of the message in [start, end), payloads not read. */
async function fields(src: Source, start: number, end: number): Promise<Field[]> {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    const head = await src.read(pos, Math.min(20, end - pos));
    const tag = varintAt(head, 0);
    const field = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (field === 0) throw new Malformed(`field number 0 at byte ${pos}`);
    let at = pos + tag.next;
    let value = 0n;
    let pStart = at;
    let pEnd = at;
    if (wire === 0) {
      const v = varintAt(head, tag.next);
      value = v.value;
      at = pos + v.next;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else if (wire === 2) {
      const v = varintAt(head, tag.next);
      pStart = pos + v.next;
      pEnd = pStart + Number(v.value);
      at = pEnd;
    } else throw new Malformed(`wire type ${wire} at byte ${pos}`);
    if (at > end) throw new Malformed(`field ${field} at byte ${pos} runs past its message (ends ${end})`);
    out.push({ field, wire, value, start: pStart, end: pEnd });
    pos = at;
  }
  return out;
}

async function text(src: Source, f: Field): Promise<string> {
  return new TextDecoder().decode(await src.read(f.start, f.end - f.start));
}

const ELEM_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'float64' };

/** A ValueInfoProto: name, element type and dims (-1 where symbolic or unknown). */
async function valueInfo(src: Source, f: Field): Promise<{ name: string; type: string; dims: number[] }> {
  let name = '';
  let type = 'not a tensor';
  let dims: number[] = [];
  for (const v of await fields(src, f.start, f.end)) {
    if (v.field === 1 && v.wire === 2) name = await text(src, v);
    if (v.field !== 2 || v.wire !== 2) continue;
    for (const tt of await fields(src, v.start, v.end)) {
      if (tt.field !== 1 || tt.wire !== 2) continue;
      for (const t of await fields(src, tt.start, tt.end)) {
        if (t.field === 1 && t.wire === 0) type = ELEM_TYPES[Number(t.value)] ?? `element type ${t.value}`;
        if (t.field === 2 && t.wire === 2) {
          dims = [];
          for (const d of await fields(src, t.start, t.end)) {
            if (d.field !== 1 || d.wire !== 2) continue;
            const dv = (await fields(src, d.start, d.end)).find((x) => x.field === 1 && x.wire === 0);
            dims.push(dv && dv.value > 0n ? Number(dv.value) : -1);
          }
        }
      }
    }
  }
  return { name, type, dims };
}

/** The graph inputs of an ONNX file that are not initializers (IR < 4 lists weights as inputs too). */
export async function onnxInputs(path: string): Promise<{ name: string; type: string; dims: number[] }[]> {
  const fh = await open(path, 'r');
  try {
    const src = new Source(fh, (await fh.stat()).size);
    const top = await fields(src, 0, src.size);
    if (!top.some((f) => f.field === 1 && f.wire === 0)) throw new Malformed('no ir_version (ModelProto field 1)');
    const graph = top.find((f) => f.field === 7 && f.wire === 2);
    if (!graph) throw new Malformed('no graph (ModelProto field 7)');
    const initializers = new Set<string>();
    const inputs: { name: string; type: string; dims: number[] }[] = [];
    for (const g of await fields(src, graph.start, graph.end)) {
      if (g.field === 5 && g.wire === 2) {
        const name = (await fields(src, g.start, g.end)).find((x) => x.field === 8 && x.wire === 2);
        if (name) initializers.add(await text(src, name));
      }
      if (g.field === 11 && g.wire === 2) inputs.push(await valueInfo(src, g));
    }
    return inputs.filter((i) => !initializers.has(i.name));
  } finally {
    await fh.close();
  }
}

/**
 * The models in `dir` (undefined: none asked for). A missing directory, or a file
 * that is not a model of the contract, is an error naming the file; a missing
 * file only leaves its metric at 'n/a (no model)'.
 */
export async function findMetricModels(dir: string | undefined): Promise<MetricModels | null> {
  if (dir === undefined) return null;
  const abs = resolve(dir);
  const st = await stat(abs).catch(() => null);
  if (!st?.isDirectory()) throw new MetricModelError(`--metric-models ${dir}: not a directory`);
  const out: MetricModels = { dir: abs, files: {}, inputs: {} };
  for (const name of METRIC_MODEL_NAMES) {
    const file = METRIC_MODEL_FILES[name];
    const path = join(abs, file);
    const fst = await stat(path).catch(() => null);
    if (!fst) continue;
    if (!fst.isFile()) throw new MetricModelError(`metric model ${path} (${name}): not a regular file`);
    let inputs;
    try {
      inputs = await onnxInputs(path);
    } catch (err) {
      if (err instanceof Malformed) throw new MetricModelError(`metric model ${path} (${name}): not a valid ONNX model: ${err.message}`);
      throw new MetricModelError(`metric model ${path} (${name}): could not be read: ${(err as Error).message}`);
    }
    const dims = checkModelInputs(name, path, inputs);
    out.files[name] = file;
    out.inputs[name] = inputs.map((i, k) => ({ name: i.name, dims: dims[k]! }));
  }
  return out;
}

/** What the page needs to load them (null: no learned metrics). */
export function learnedMetricsConfig(models: MetricModels | null, backend: 'wasm' | 'webgpu' = 'wasm'): LearnedMetricsConfig | null {
  if (!models || !Object.keys(models.files).length) return null;
  return { baseUrl: `/data/${METRIC_MODELS_ROOT}/`, files: { ...models.files }, backend };
}

/** The session's data roots that serve them (BrowserSession.open({ dataRoots })). */
export function metricModelsDataRoots(models: MetricModels | null): Record<string, string> {
  return models ? { [METRIC_MODELS_ROOT]: models.dir } : {};
}
