// Values crossing the Node <-> page boundary go through JSON (puppeteer's evaluate).
// Typed arrays would otherwise arrive as index-keyed objects, so they travel as
// base64 with their constructor name. Used identically on both sides.

const TYPED = {
  Uint8Array,
  Uint8ClampedArray,
  Uint16Array,
  Uint32Array,
  Int8Array,
  Int16Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;
export type TypedArray = InstanceType<(typeof TYPED)[TypedName]>;

interface EncodedTyped {
  __typed: TypedName;
  b64: string;
}

function toBase64(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') {
    const buf = Buffer.from(b64, 'base64');
    // Copy into a fresh, aligned ArrayBuffer so any typed view can be made on it.
    const out = new Uint8Array(buf.length);
    out.set(buf);
    return out;
  }
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function typedName(v: unknown): TypedName | null {
  for (const name of Object.keys(TYPED) as TypedName[]) if (v instanceof TYPED[name]) return name;
  return null;
}

export function encodeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const name = typedName(v);
  if (name) {
    const t = v as TypedArray;
    return { __typed: name, b64: toBase64(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)) } satisfies EncodedTyped;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    throw new Error(`codec: ${v.constructor.name} cannot cross the page boundary; use a typed array`);
  }
  if (Array.isArray(v)) return v.map(encodeValue);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = encodeValue(x);
  return out;
}

export function decodeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decodeValue);
  const rec = v as Record<string, unknown>;
  if (typeof rec.__typed === 'string' && typeof rec.b64 === 'string' && rec.__typed in TYPED) {
    const bytes = fromBase64(rec.b64);
    const Ctor = TYPED[rec.__typed as TypedName];
    return new Ctor(bytes.buffer as ArrayBuffer, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(rec)) out[k] = decodeValue(x);
  return out;
}
