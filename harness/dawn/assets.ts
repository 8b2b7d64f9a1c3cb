// The host files the page core loads at run time, read from disk for Dawn in Node:
// the same paths, roots and refusals as the static server that serves them to the
// page (harness/browser/server.ts), so a job finds the same bytes under either host.
import { readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../browser/bundle.ts';
import { safeSegments } from '../browser/server.ts';
import type { HostAssets } from '../page/context.ts';

const ORT_PREFIX = '/vendor/onnxruntime-web/';
const ORT_FILE = /^ort[\w.-]*\.(mjs|wasm)$/;

/** The file a served path names, or an error naming the path. */
export async function assetFile(path: string, dataRoots: Record<string, string>, root = REPO_ROOT): Promise<string> {
  const asm = /^\/asm\/([a-z_]+\.wasm)$/.exec(path);
  if (asm) return join(root, 'asm', 'build', asm[1]!);
  if (path.startsWith(ORT_PREFIX)) {
    const name = path.slice(ORT_PREFIX.length);
    if (!ORT_FILE.test(name)) throw new Error(`${path}: not an onnxruntime-web runtime file`);
    return join(root, 'node_modules', 'onnxruntime-web', 'dist', name);
  }
  if (path.startsWith('/data/')) {
    const [name, ...rest] = safeSegments(path.slice('/data/'.length));
    const base = Object.hasOwn(dataRoots, name!) ? dataRoots[name!] : undefined;
    if (!base || rest.length === 0) throw new Error(`${path}: no data root '${name}' is open in this session`);
    const file = join(base, ...rest);
    // Symbolic links must not lead out of the root (the server refuses them too).
    const [realBase, realFile] = await Promise.all([realpath(base), realpath(file).catch(() => file)]);
    if (realFile !== realBase && !realFile.startsWith(realBase + sep)) throw new Error(`${path}: leaves its data root through a symbolic link`);
    return file;
  }
  throw new Error(`${path}: not a host asset path (/asm/, /data/, ${ORT_PREFIX})`);
}

export function diskAssets(dataRoots: Record<string, string> = {}): HostAssets {
  return {
    async bytes(path) {
      const file = await assetFile(path, dataRoots);
      const buf = await readFile(file).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${path}: cannot read ${file} (${err.code ?? err.message})${path.startsWith('/asm/') ? ' (run: node asm/build.mjs)' : ''}`);
      });
      // A fresh ArrayBuffer of exactly the file (Node's pooled Buffers share theirs).
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    },
    url(path) {
      // Directories (onnxruntime-web's wasmPaths) keep their trailing slash.
      if (path.startsWith(ORT_PREFIX)) return pathToFileURL(join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist') + sep).href + path.slice(ORT_PREFIX.length);
      if (path.startsWith('/asm/')) return pathToFileURL(join(REPO_ROOT, 'asm', 'build') + sep).href + path.slice('/asm/'.length);
      throw new Error(`${path}: no URL for this host asset under Dawn`);
    },
  };
}
