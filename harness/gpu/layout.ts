// Host-side struct layouts read from the WGSL source itself, so a struct is written
// once (in WGSL) and never hand-counted in TypeScript. Follows the WGSL spec's
// alignment and size rules (section "Memory Layout"); the uniform address space's
// extra 16-byte array-stride rule is checked by the shader compiler, not here.

export type ScalarKind = 'f32' | 'u32' | 'i32' | 'f16';

export interface TypeLayout {
  align: number;
  size: number;
  /** Scalar kind of the leaf elements (for writing); null for structs. */
  scalar: ScalarKind | null;
  /** Number of scalars in a vector/matrix/array leaf run; 1 for a scalar. */
  components: number;
  /** For arrays and matrices: the byte stride between elements (columns). */
  stride?: number;
  /** For arrays and matrices: the element (column vector) layout. */
  element?: TypeLayout;
  /** For structs: their member layouts. */
  struct?: StructLayout;
}

export interface FieldLayout {
  name: string;
  type: string;
  offset: number;
  layout: TypeLayout;
}

export interface StructLayout {
  name: string;
  size: number;
  align: number;
  fields: FieldLayout[];
  field(name: string): FieldLayout;
}

const roundUp = (align: number, n: number) => Math.ceil(n / align) * align;

const SCALARS: Record<string, ScalarKind> = { f32: 'f32', u32: 'u32', i32: 'i32', f16: 'f16', 'atomic<u32>': 'u32', 'atomic<i32>': 'i32' };
const SHORT_SUFFIX: Record<string, ScalarKind> = { f: 'f32', u: 'u32', i: 'i32', h: 'f16' };

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

/** Splits on commas that are not inside <...>. */
function splitTopLevel(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (ch === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

function scalarSize(k: ScalarKind) {
  return k === 'f16' ? 2 : 4;
}

export class WgslLayouts {
  private readonly structSources = new Map<string, string>();
  private readonly cache = new Map<string, StructLayout>();
  private readonly consts = new Map<string, number>();

  constructor(source: string) {
    const src = stripComments(source);
    for (const m of src.matchAll(/struct\s+(\w+)\s*\{([^}]*)\}/g)) this.structSources.set(m[1]!, m[2]!);
    for (const m of src.matchAll(/\bconst\s+(\w+)\s*(?::\s*\w+\s*)?=\s*(-?0[xX][0-9a-fA-F]+|[-+0-9.eE]+)[uif]?\s*;/g)) {
      this.consts.set(m[1]!, Number(m[2]));
    }
  }

  /** A numeric `const NAME = value;` declared at module scope in the WGSL source. */
  constant(name: string): number {
    const v = this.consts.get(name);
    if (v === undefined) throw new Error(`WGSL source declares no numeric const '${name}'`);
    return v;
  }

  struct(name: string): StructLayout {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const body = this.structSources.get(name);
    if (body === undefined) throw new Error(`WGSL source declares no struct '${name}'`);
    const fields: FieldLayout[] = [];
    let offset = 0;
    let align = 1;
    for (const member of splitTopLevel(body, ',')) {
      const m = /^((?:@\w+\s*(?:\([^)]*\))?\s*)*)(\w+)\s*:\s*(.+)$/.exec(member);
      if (!m) throw new Error(`cannot parse member '${member}' of struct ${name}`);
      const attrs = m[1]!;
      const type = m[3]!.replace(/\s+/g, '');
      const layout = this.typeLayout(type);
      const alignAttr = /@align\((\d+)\)/.exec(attrs);
      const sizeAttr = /@size\((\d+)\)/.exec(attrs);
      const fa = alignAttr ? Number(alignAttr[1]) : layout.align;
      const fs = sizeAttr ? Number(sizeAttr[1]) : layout.size;
      offset = roundUp(fa, offset);
      fields.push({ name: m[2]!, type, offset, layout });
      offset += fs;
      align = Math.max(align, fa);
    }
    const size = roundUp(align, offset);
    const layout: StructLayout = {
      name,
      size,
      align,
      fields,
      field(fname) {
        const f = fields.find((x) => x.name === fname);
        if (!f) throw new Error(`struct ${name} has no field '${fname}'`);
        return f;
      },
    };
    this.cache.set(name, layout);
    return layout;
  }

  typeLayout(type: string): TypeLayout {
    const t = type.replace(/\s+/g, '');
    if (t in SCALARS) {
      const k = SCALARS[t]!;
      return { align: scalarSize(k), size: scalarSize(k), scalar: k, components: 1 };
    }
    let m = /^vec([234])<(\w+)>$/.exec(t) ?? /^vec([234])([fuih])$/.exec(t);
    if (m) {
      const n = Number(m[1]);
      const k = (SCALARS[m[2]!] ?? SHORT_SUFFIX[m[2]!]) as ScalarKind | undefined;
      if (!k) throw new Error(`unknown vector element type in '${type}'`);
      const s = scalarSize(k);
      return { align: (n === 3 ? 4 : n) * s, size: n * s, scalar: k, components: n };
    }
    m = /^mat([234])x([234])<(\w+)>$/.exec(t) ?? /^mat([234])x([234])([fh])$/.exec(t);
    if (m) {
      const cols = Number(m[1]);
      const col = this.typeLayout(`vec${m[2]}<${SCALARS[m[3]!] ?? SHORT_SUFFIX[m[3]!]}>`);
      const stride = roundUp(col.align, col.size);
      return { align: col.align, size: cols * stride, scalar: col.scalar, components: cols * col.components, stride, element: col };
    }
    m = /^array<(.+),(\d+)u?>$/.exec(t);
    if (m) {
      const el = this.typeLayout(m[1]!);
      const n = Number(m[2]);
      const stride = roundUp(el.align, el.size);
      return { align: el.align, size: n * stride, scalar: el.scalar, components: n * el.components, stride, struct: el.struct, element: el };
    }
    if (/^array<.+>$/.test(t)) throw new Error(`runtime-sized array '${type}' has no fixed host layout`);
    if (this.structSources.has(t)) {
      const s = this.struct(t);
      return { align: s.align, size: s.size, scalar: null, components: 0, struct: s };
    }
    throw new Error(`unknown WGSL type '${type}'`);
  }
}

/** Byte offsets of every scalar of a scalar/vector/matrix/array type, in WGSL index order. */
export function scalarOffsets(t: TypeLayout): number[] {
  if (t.element && t.stride) {
    const inner = scalarOffsets(t.element);
    const count = t.size / t.stride;
    const out: number[] = [];
    for (let e = 0; e < count; e++) for (const o of inner) out.push(e * t.stride + o);
    return out;
  }
  const s = t.scalar ? scalarSize(t.scalar) : 0;
  return Array.from({ length: t.components }, (_, i) => i * s);
}

export type StructValues = Record<string, number | boolean | readonly number[]>;

/**
 * Writes scalar, vector, matrix and scalar-array fields into a new buffer laid
 * out like the WGSL struct. Every field must be given: a forgotten field is a bug.
 */
export function packStruct(layout: StructLayout, values: StructValues): ArrayBuffer {
  const buf = new ArrayBuffer(layout.size);
  const view = new DataView(buf);
  for (const f of layout.fields) {
    if (!(f.name in values)) throw new Error(`packStruct(${layout.name}): missing field '${f.name}'`);
    const raw = values[f.name]!;
    const list = typeof raw === 'number' || typeof raw === 'boolean' ? [Number(raw)] : raw;
    const kind = f.layout.scalar;
    if (!kind) throw new Error(`packStruct(${layout.name}): nested struct field '${f.name}' is not supported`);
    if (list.length !== f.layout.components) {
      throw new Error(`packStruct(${layout.name}): field '${f.name}' needs ${f.layout.components} values, got ${list.length}`);
    }
    const offsets = scalarOffsets(f.layout);
    list.forEach((v, i) => {
      const at = f.offset + offsets[i]!;
      if (kind === 'u32') {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`packStruct(${layout.name}): '${f.name}' = ${v} is not a u32`);
        view.setUint32(at, v, true);
      } else if (kind === 'i32') {
        if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Error(`packStruct(${layout.name}): '${f.name}' = ${v} is not an i32`);
        view.setInt32(at, v, true);
      }
      else if (kind === 'f32') view.setFloat32(at, v, true);
      else throw new Error(`packStruct(${layout.name}): f16 fields are not supported`);
    });
  }
  return buf;
}
