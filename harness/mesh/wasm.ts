// Host-agnostic loader for the AssemblyScript modules in asm/ (built to
// asm/build/<name>.wasm by asm/build.mjs). Works in Node and in the page: the
// caller supplies the bytes (Node: wasm_file.ts reads them; the page fetches them).
//
// Memory protocol (plain, no generated bindings; modules use the `stub` runtime,
// a bump allocator that never frees):
//   alloc(bytes) -> ptr    reserve bytes in linear memory (8-byte aligned)
//   reset()                drop every allocation (all pointers become invalid)
// A call is: reset(); copy inputs in (alloc + set); call the helper, which
// allocates its outputs itself and leaves pointers and counts behind exported
// getters; copy outputs out (slice). Views of `memory.buffer` go stale whenever
// the module grows its memory, so nothing here keeps one across a call.

export interface AsmExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
}

/** One instantiated module with typed copy-in / copy-out helpers. */
export class AsmModule<E extends AsmExports = AsmExports> {
  constructor(
    readonly name: string,
    readonly exports: E,
  ) {}

  /** Starts a call: frees everything the previous call allocated. */
  reset(): void {
    this.exports.reset();
  }

  /** Copies a typed array into fresh module memory; returns its pointer. */
  copyIn(data: Float32Array | Uint32Array | Int32Array | Float64Array | Uint8Array): number {
    const ptr = this.exports.alloc(Math.max(data.byteLength, 8));
    new Uint8Array(this.exports.memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return ptr;
  }

  f32(ptr: number, count: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, ptr, count).slice();
  }

  u32(ptr: number, count: number): Uint32Array {
    return new Uint32Array(this.exports.memory.buffer, ptr, count).slice();
  }

  f64(ptr: number, count: number): Float64Array {
    return new Float64Array(this.exports.memory.buffer, ptr, count).slice();
  }

  /** Bytes of linear memory now (for reports). */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }
}

/** Reads AssemblyScript's length-prefixed UTF-16 string at ptr. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

/**
 * Compiles (if given bytes) and instantiates an asm/ module. `name` is used in
 * error messages ("asm/<name>: ..."). Async, so it is allowed on the page's main thread.
 */
export async function loadAsm<E extends AsmExports = AsmExports>(name: string, source: BufferSource | WebAssembly.Module): Promise<AsmModule<E>> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  let memory: WebAssembly.Memory | null = null;
  const imports = {
    env: {
      abort(msg: number, file: number, line: number, col: number): never {
        const text = memory ? `${readAsString(memory, msg)} at ${readAsString(memory, file)}:${line}:${col}` : 'abort';
        throw new Error(`asm/${name}: ${text}`);
      },
    },
  };
  const instance = await WebAssembly.instantiate(module, imports);
  const exports = instance.exports as unknown as E;
  for (const fn of ['memory', 'alloc', 'reset'] as const) {
    if (!(fn in exports)) throw new Error(`asm/${name}: module does not export '${fn}' (not built from asm/${name}/index.ts?)`);
  }
  memory = exports.memory;
  return new AsmModule(name, exports);
}
