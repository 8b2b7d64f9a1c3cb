// The standard 3DGS PLY (what gaussian-splatting's save_ply writes and the common
// splat viewers read): binary_little_endian 1.0, one `vertex` element, float
// properties in this order:
//
//   x y z                    mean
//   nx ny nz                 unused normals, written as 0
//   f_dc_0 f_dc_1 f_dc_2     SH DC term (k = 0) of r, g, b
//   f_rest_0 ...             the other K-1 coefficients, channel-major:
//                            f_rest_{c·(K−1) + (k−1)} = sh[n, k, c]
//   opacity                  logit
//   scale_0 scale_1 scale_2  log-scales
//   rot_0 .. rot_3           quaternion (w, x, y, z), unnormalised
//
// Import is lenient where real files differ (property order, extra properties
// and elements, `float`/`float32`/`double`) and strict where data would be wrong:
// any problem throws a PlyError naming the file and the header field or property.
// Node-side only (no GPU); files are written atomically.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../report/atomic.ts';
import type { GaussianParams, ParamGroup } from './model.ts';

const MAX_SH_DEGREE = 3;
const shCoeffCount = (degree: number) => (degree + 1) ** 2;

export class PlyError extends Error {
  constructor(
    readonly file: string,
    /** The header field or property at fault ('format', 'element vertex', 'rot_2', ...). */
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'PlyError';
  }
}

/** Where a PLY property lives in GaussianParams: group and float within the row; null: not stored (normals). */
interface Column {
  name: string;
  group: ParamGroup | null;
  index: number;
}

/** The properties of the standard 3DGS PLY for an SH degree, in the order 3DGS writes them. */
export function plyColumns(shDegree: number): Column[] {
  const k = shCoeffCount(shDegree);
  const cols: Column[] = [];
  ['x', 'y', 'z'].forEach((name, i) => cols.push({ name, group: 'means', index: i }));
  for (const name of ['nx', 'ny', 'nz']) cols.push({ name, group: null, index: 0 });
  // sh is [N, K, 3]: coefficient k of channel c is float 3k + c of the row.
  for (let c = 0; c < 3; c++) cols.push({ name: `f_dc_${c}`, group: 'sh', index: c });
  for (let c = 0; c < 3; c++) for (let j = 1; j < k; j++) cols.push({ name: `f_rest_${c * (k - 1) + (j - 1)}`, group: 'sh', index: 3 * j + c });
  cols.push({ name: 'opacity', group: 'opacity_logits', index: 0 });
  for (let i = 0; i < 3; i++) cols.push({ name: `scale_${i}`, group: 'log_scales', index: i });
  for (let i = 0; i < 4; i++) cols.push({ name: `rot_${i}`, group: 'quats', index: i });
  return cols;
}

/** The property names of the standard 3DGS PLY, in order. */
export function plyPropertyNames(shDegree: number): string[] {
  return plyColumns(shDegree).map((c) => c.name);
}

function groupWidths(shDegree: number): Record<ParamGroup, number> {
  const w = { means: 0, log_scales: 0, quats: 0, opacity_logits: 0, sh: 0 } satisfies Record<ParamGroup, number>;
  for (const c of plyColumns(shDegree)) if (c.group) w[c.group]++;
  return w;
}

/** f_rest properties per SH degree: 3 (K − 1). */
const F_REST_COUNTS = [0, 1, 2, 3].map((d) => 3 * (shCoeffCount(d) - 1));

function checkParams(p: GaussianParams): void {
  const where = 'writePly';
  if (!Number.isInteger(p.shDegree) || p.shDegree < 0 || p.shDegree > MAX_SH_DEGREE) throw new Error(`${where}: SH degree must be 0..${MAX_SH_DEGREE}, got ${p.shDegree}`);
  if (!Number.isInteger(p.count) || p.count < 0) throw new Error(`${where}: count must be a non-negative integer, got ${p.count}`);
  for (const [g, w] of Object.entries(groupWidths(p.shDegree)) as [ParamGroup, number][]) {
    const a = p[g];
    if (!(a instanceof Float32Array) || a.length !== p.count * w) throw new Error(`${where}: '${g}' must be a Float32Array of ${p.count} x ${w}`);
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) throw new Error(`${where}: '${g}' row ${Math.floor(i / w)} holds ${a[i]} (not finite)`);
    }
  }
}

/** The exact header 3DGS's save_ply (plyfile) writes. */
export function plyHeader(count: number, shDegree: number): string {
  const props = plyPropertyNames(shDegree).map((n) => `property float ${n}\n`);
  return `ply\nformat binary_little_endian 1.0\nelement vertex ${count}\n${props.join('')}end_header\n`;
}

export function writePly(params: GaussianParams): Uint8Array {
  checkParams(params);
  const cols = plyColumns(params.shDegree);
  const widths = groupWidths(params.shDegree);
  const header = new TextEncoder().encode(plyHeader(params.count, params.shDegree));
  const out = new Uint8Array(header.length + params.count * cols.length * 4);
  out.set(header);
  const view = new DataView(out.buffer, header.length);
  let at = 0;
  for (let n = 0; n < params.count; n++) {
    for (const c of cols) {
      view.setFloat32(at, c.group ? params[c.group][n * widths[c.group] + c.index]! : 0, true);
      at += 4;
    }
  }
  return out;
}

// --- import ------------------------------------------------------------------

const TYPE_SIZES: Record<string, number> = {
  char: 1, int8: 1, uchar: 1, uint8: 1,
  short: 2, int16: 2, ushort: 2, uint16: 2,
  int: 4, int32: 4, uint: 4, uint32: 4,
  float: 4, float32: 4,
  double: 8, float64: 8,
};
const FLOAT_TYPES = new Set(['float', 'float32', 'double', 'float64']);

interface PlyProperty {
  name: string;
  type: string;
  /** Byte offset within the element's row. */
  offset: number;
  list: boolean;
}

interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
  /** Bytes per row; NaN when a list property makes rows variable. */
  stride: number;
}

function findHeaderEnd(bytes: Uint8Array): number {
  const marker = 'end_header';
  // Latin-1 keeps byte offsets equal to string offsets; only the header is decoded.
  const limit = Math.min(bytes.length, 1 << 20);
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, limit));
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
    const lineStart = at === 0 || text[at - 1] === '\n';
    let end = at + marker.length;
    while (text[end] === ' ' || text[end] === '\t') end++;
    if (text[end] === '\r') end++;
    if (lineStart && text[end] === '\n') return end + 1;
  }
  return -1;
}

function parseHeader(bytes: Uint8Array, file: string): { elements: PlyElement[]; dataStart: number } {
  if (bytes.length < 4 || new TextDecoder('latin1').decode(bytes.subarray(0, 4)).replace('\r', '\n') !== 'ply\n') {
    throw new PlyError(file, 'ply', "not a PLY file: the first line is not 'ply'");
  }
  const dataStart = findHeaderEnd(bytes);
  if (dataStart < 0) throw new PlyError(file, 'end_header', "truncated or not a PLY file: no 'end_header' line");
  const lines = new TextDecoder('latin1').decode(bytes.subarray(0, dataStart)).split(/\r?\n/);
  const elements: PlyElement[] = [];
  let format: string | null = null;
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (!line || line === 'end_header') continue;
    const words = line.split(/\s+/);
    const keyword = words[0]!;
    if (keyword === 'comment' || keyword === 'obj_info') continue;
    if (keyword === 'format') {
      format = words.slice(1).join(' ');
      if (format !== 'binary_little_endian 1.0') throw new PlyError(file, 'format', `format '${format}' is not supported (expected 'binary_little_endian 1.0', as 3DGS writes)`);
    } else if (keyword === 'element') {
      const [name, countText] = [words[1], words[2]];
      const field = `element ${name ?? ''}`.trim();
      if (!name || countText === undefined || words.length !== 3) throw new PlyError(file, field, `malformed element line '${line}'`);
      const count = Number(countText);
      if (!/^\d+$/.test(countText) || !Number.isSafeInteger(count)) throw new PlyError(file, field, `element '${name}' count '${countText}' is not a non-negative integer`);
      elements.push({ name, count, properties: [], stride: 0 });
    } else if (keyword === 'property') {
      const el = elements[elements.length - 1];
      if (!el) throw new PlyError(file, words[words.length - 1] ?? 'property', `property line '${line}' comes before any element`);
      const list = words[1] === 'list';
      const name = words[list ? 4 : 2];
      const type = words[list ? 3 : 1];
      if (!name || !type || words.length !== (list ? 5 : 3)) throw new PlyError(file, name ?? 'property', `malformed property line '${line}'`);
      if (!(type in TYPE_SIZES) || (list && !(words[2]! in TYPE_SIZES))) throw new PlyError(file, name, `property '${name}' of element '${el.name}' has unknown type in '${line}'`);
      if (el.properties.some((p) => p.name === name)) throw new PlyError(file, name, `property '${name}' of element '${el.name}' is declared twice`);
      el.properties.push({ name, type, offset: el.stride, list });
      el.stride = list ? Number.NaN : el.stride + TYPE_SIZES[type]!;
    } else {
      throw new PlyError(file, keyword, `unknown header line '${line}'`);
    }
  }
  if (format === null) throw new PlyError(file, 'format', "the header has no 'format' line");
  return { elements, dataStart };
}

/**
 * Parses a 3DGS PLY. The SH degree follows from the number of f_rest properties
 * (0, 9, 24, 45); normals and unknown properties are ignored; doubles are rounded
 * to f32. Throws a PlyError naming `fileName` and the field on any bad input.
 */
export function readPly(bytes: Uint8Array, fileName: string): GaussianParams {
  const file = fileName;
  const { elements, dataStart } = parseHeader(bytes, file);
  const vi = elements.findIndex((e) => e.name === 'vertex');
  if (vi < 0) throw new PlyError(file, 'element vertex', "the header declares no 'vertex' element");
  const vertex = elements[vi]!;
  let start = dataStart;
  for (const e of elements.slice(0, vi)) {
    if (Number.isNaN(e.stride)) throw new PlyError(file, `element ${e.name}`, `element '${e.name}' before 'vertex' has list properties; cannot locate the vertex data`);
    start += e.count * e.stride;
  }
  const props = new Map(vertex.properties.map((p) => [p.name, p]));
  const listProp = vertex.properties.find((p) => p.list);
  if (listProp) throw new PlyError(file, listProp.name, `vertex property '${listProp.name}' is a list; 3DGS vertices hold scalars only`);

  const restNames = vertex.properties.map((p) => p.name).filter((n) => /^f_rest_\d+$/.test(n));
  const shDegree = F_REST_COUNTS.indexOf(restNames.length);
  if (shDegree < 0) {
    throw new PlyError(file, 'f_rest_*', `element 'vertex' has ${restNames.length} f_rest_* properties; expected ${F_REST_COUNTS.join(', ')} (SH degree 0 to ${MAX_SH_DEGREE})`);
  }
  const cols = plyColumns(shDegree).filter((c) => c.group !== null);
  const resolved = cols.map((c) => {
    const p = props.get(c.name);
    if (!p) throw new PlyError(file, c.name, `element 'vertex' has no property '${c.name}'`);
    if (!FLOAT_TYPES.has(p.type)) throw new PlyError(file, c.name, `property '${c.name}' has type '${p.type}'; expected float, float32 or double`);
    return { ...c, offset: p.offset, double: p.type === 'double' || p.type === 'float64' };
  });

  const n = vertex.count;
  const need = n * vertex.stride;
  const available = bytes.length - start;
  if (available < need) {
    throw new PlyError(file, 'element vertex', `truncated: element 'vertex' declares ${n} vertices of ${vertex.stride} bytes (${need} bytes) but only ${Math.max(0, available)} bytes of vertex data follow the header`);
  }
  // Only when the rest of the file has a known size can leftover bytes be told apart.
  const after = elements.slice(vi + 1);
  if (after.every((e) => !Number.isNaN(e.stride))) {
    const expected = need + after.reduce((s, e) => s + e.count * e.stride, 0);
    if (available !== expected) {
      throw new PlyError(file, 'element vertex', `vertex count mismatch: the header declares ${n} vertices (${expected} bytes of data) but ${available} bytes follow the header`);
    }
  }

  const widths = groupWidths(shDegree);
  const out = { count: n, shDegree } as GaussianParams;
  for (const g of Object.keys(widths) as ParamGroup[]) out[g] = new Float32Array(n * widths[g]);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, need);
  for (let v = 0; v < n; v++) {
    const row = v * vertex.stride;
    for (const c of resolved) {
      const x = c.double ? Math.fround(view.getFloat64(row + c.offset, true)) : view.getFloat32(row + c.offset, true);
      if (!Number.isFinite(x)) throw new PlyError(file, c.name, `property '${c.name}' of vertex ${v} is ${x} (not finite)`);
      out[c.group!][v * widths[c.group!] + c.index] = x;
    }
  }
  return out;
}

/** Writes `params` as a 3DGS PLY, atomically (a reader sees the old file or the new one). */
export async function writePlyFile(path: string, params: GaussianParams): Promise<void> {
  await writeFileAtomic(path, writePly(params));
}

export async function readPlyFile(path: string): Promise<GaussianParams> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new PlyError(path, 'file', `cannot read the file (${(err as Error).message})`);
  }
  return readPly(bytes, path);
}
