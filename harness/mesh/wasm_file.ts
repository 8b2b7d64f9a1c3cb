// Node side of the asm/ loader: reads asm/build/<name>.wasm (built by
// asm/build.mjs, which ensure-setup runs before tests and benches).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../browser/bundle.ts';
import { loadAsm, type AsmExports, type AsmModule } from './wasm.ts';

export const asmWasmPath = (name: string): string => join(REPO_ROOT, 'asm', 'build', `${name}.wasm`);

export async function loadAsmFile<E extends AsmExports = AsmExports>(name: string): Promise<AsmModule<E>> {
  const path = asmWasmPath(name);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the WASM build of asm/${name} (run: node asm/build.mjs) — ${(err as Error).message}`);
  }
  return loadAsm<E>(name, bytes);
}
