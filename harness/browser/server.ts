// Static server for the page: 127.0.0.1 only, random port. Serves the page, its
// bundle and the dataset roots a run names (read-only), and accepts artifact
// uploads (PUT /upload/<path>) only into the current run directory.
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { REPO_ROOT, pageBundle } from './bundle.ts';

const INDEX_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>dg4d-bench</title></head>
<body><script type="module" src="/bundle.js"></script></body></html>`;

const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.png': 'image/png',
  '.obj': 'text/plain',
  '.ply': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/** onnxruntime-web's runtime files (learned metrics, harness/metrics/learned_metrics.ts), served at /vendor/onnxruntime-web/. */
export const ORT_DIST = join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const ORT_FILE = /^ort[\w.-]*\.(mjs|wasm)$/;

export const MAX_UPLOAD_BYTES = 2 ** 31;

export class PathRefused extends Error {}

/**
 * Splits a URL path tail into safe segments: each is percent-decoded and must not
 * be empty, '.', '..', or contain a slash, backslash or NUL. So '..', absolute
 * paths ('//x'), encoded slashes and the like are refused before touching disk.
 */
export function safeSegments(tail: string): string[] {
  if (tail === '') throw new PathRefused('empty path');
  return tail.split('/').map((raw) => {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new PathRefused(`bad percent-encoding in '${raw}'`);
    }
    if (seg === '' || seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) throw new PathRefused(`refused path segment '${seg}'`);
    return seg;
  });
}

/** Whether `path` (already resolved) lies inside `root` (already resolved). */
function isInside(root: string, path: string) {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The nearest existing ancestor's real path must stay inside the root: no symlink escapes. */
async function checkNoEscape(root: string, target: string): Promise<void> {
  const realRoot = await realpath(root);
  let probe = target;
  for (;;) {
    try {
      const real = await realpath(probe);
      if (!isInside(realRoot, real)) throw new PathRefused('path leaves its root through a symbolic link');
      return;
    } catch (err) {
      if (err instanceof PathRefused) throw err;
      const parent = dirname(probe);
      if (parent === probe) throw new PathRefused('no existing ancestor');
      probe = parent;
    }
  }
}

export interface StaticServerOptions {
  /** Dataset roots served read-only under /data/<name>/. */
  dataRoots?: Record<string, string>;
  /** Where uploads go; uploads are refused while unset. */
  runDir?: string;
}

export class StaticServer {
  private server: Server | null = null;
  private uploadSeq = 0;
  readonly dataRoots: Record<string, string>;
  runDir: string | undefined;

  constructor(options: StaticServerOptions = {}) {
    this.dataRoots = { ...(options.dataRoots ?? {}) };
    this.runDir = options.runDir;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        const status = err instanceof PathRefused ? 403 : 500;
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(`${status === 403 ? 'refused' : 'error'}: ${err.message}\n`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    this.server = server;
    return this.url;
  }

  get url(): string {
    if (!this.server) throw new Error('server not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    // Work on the raw path: URL() would already have collapsed '..' segments.
    const raw = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) return this.send(res, 200, 'text/html', INDEX_HTML);
    if (req.method === 'GET' && path === '/favicon.ico') return this.send(res, 204, 'text/plain', '');
    if (req.method === 'GET' && path === '/bundle.js') return this.send(res, 200, 'text/javascript', await pageBundle());
    if (req.method === 'GET' && raw.startsWith('/data/')) return this.serveData(raw.slice('/data/'.length), res);
    // The AssemblyScript builds (asm/build/<module>.wasm) for the page's mesh work.
    if (req.method === 'GET' && /^\/asm\/[a-z_]+\.wasm$/.test(raw)) return this.serveFile(join(REPO_ROOT, 'asm', 'build', raw.slice('/asm/'.length)), res);
    if (req.method === 'GET' && raw.startsWith('/vendor/onnxruntime-web/')) return this.serveOrt(raw.slice('/vendor/onnxruntime-web/'.length), res);
    if (req.method === 'PUT' && raw.startsWith('/upload/')) return this.receiveUpload(raw.slice('/upload/'.length), req, res);
    return this.send(res, 404, 'text/plain', 'not found\n');
  }

  private send(res: ServerResponse, status: number, type: string, body: string) {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  }

  private async serveFile(file: string, res: ServerResponse) {
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return this.send(res, 404, 'text/plain', 'not found\n');
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
    await pipeline(createReadStream(file), res);
  }

  private async serveData(tail: string, res: ServerResponse) {
    const [rootName, ...rest] = safeSegments(tail);
    const root = Object.hasOwn(this.dataRoots, rootName!) ? this.dataRoots[rootName!] : undefined;
    if (!root || rest.length === 0) return this.send(res, 404, 'text/plain', 'not found\n');
    const file = join(root, ...rest);
    await checkNoEscape(root, file);
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return this.send(res, 404, 'text/plain', 'not found\n');
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'content-length': st.size });
    await pipeline(createReadStream(file), res);
  }

  private async serveOrt(name: string, res: ServerResponse) {
    if (!ORT_FILE.test(name)) return this.send(res, 404, 'text/plain', 'not found\n');
    const file = join(ORT_DIST, name);
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return this.send(res, 404, 'text/plain', 'not found\n');
    res.writeHead(200, { 'content-type': MIME[extname(file)]!, 'content-length': st.size });
    await pipeline(createReadStream(file), res);
  }

  /** Writes to a temp file beside the target, then renames: never a half-written artifact. */
  private async receiveUpload(tail: string, req: IncomingMessage, res: ServerResponse) {
    if (!this.runDir) throw new PathRefused('no run directory is open for uploads');
    const segments = safeSegments(tail);
    const target = join(this.runDir, ...segments);
    await checkNoEscape(this.runDir, target);
    const existing = await lstat(target).catch(() => null);
    if (existing?.isSymbolicLink()) throw new PathRefused('target is a symbolic link');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_UPLOAD_BYTES) throw new PathRefused(`upload larger than ${MAX_UPLOAD_BYTES} bytes`);
    await mkdir(dirname(target), { recursive: true });
    await checkNoEscape(this.runDir, dirname(target));
    const tmp = `${target}.${process.pid}.${++this.uploadSeq}.tmp`;
    try {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_UPLOAD_BYTES) req.destroy(new PathRefused('upload too large'));
      });
      await pipeline(req, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    this.send(res, 201, 'text/plain', 'stored\n');
  }
}
