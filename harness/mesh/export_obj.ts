// Per-frame Wavefront export of the mesh stage (Node side): `frame_NNN.obj` +
// `frame_NNN.mtl` + `frame_NNN.png` (albedo), every file written atomically; and
// `readObj`, a reader for what this writes and for the scenes' ground-truth
// meshes (v / vt / vn, triangles or polygons fanned, 1-based or negative indices).
// Texture convention of the mesh stage: [T,T,4] f32, row 0 at v = 0 (bottom);
// OBJ's vt is v-up and PNG rows run top-down, so the PNG is the texture flipped.
import { join } from 'node:path';
import { encodePng } from '../../datasets/formats/png.ts';
import { writeFileAtomic } from '../report/atomic.ts';

export interface ExportMesh {
  /** [V,3] positions, [V,3] normals, [V,2] uvs (v up), [F,3] indices. */
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array;
}

export interface ObjMesh {
  positions: Float32Array;
  /** Empty when the file has no vt / vn. */
  uvs: Float32Array;
  normals: Float32Array;
  indices: Uint32Array;
}

const pad3 = (i: number) => String(i).padStart(3, '0');
export const frameName = (i: number) => `frame_${pad3(i)}`;

/** The mesh stage's texture ([T*T,4] f32, row 0 at v = 0) as a top-down RGB image, clamped to [0,1]. */
export function textureImage(texture: ArrayLike<number>, size: number): { width: number; height: number; rgba: Float32Array } {
  const rgba = new Float32Array(size * size * 4);
  for (let j = 0; j < size; j++) {
    const dst = size - 1 - j;
    for (let i = 0; i < size; i++) {
      for (let c = 0; c < 3; c++) rgba[4 * (dst * size + i) + c] = Math.min(1, Math.max(0, texture[4 * (j * size + i) + c]!));
      rgba[4 * (dst * size + i) + 3] = 1;
    }
  }
  return { width: size, height: size, rgba };
}

const num = (v: number) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(6).replace(/\.?0+$/, ''));

export function meshObjText(mesh: ExportMesh, mtl: string, comments: string[] = []): string {
  const lines = [...comments.map((c) => `# ${c}`), `mtllib ${mtl}`, 'o mesh'];
  const { positions: P, normals: N, uvs: T, indices: I } = mesh;
  for (let i = 0; i < P.length; i += 3) lines.push(`v ${num(P[i]!)} ${num(P[i + 1]!)} ${num(P[i + 2]!)}`);
  for (let i = 0; i < T.length; i += 2) lines.push(`vt ${num(T[i]!)} ${num(T[i + 1]!)}`);
  for (let i = 0; i < N.length; i += 3) lines.push(`vn ${num(N[i]!)} ${num(N[i + 1]!)} ${num(N[i + 2]!)}`);
  lines.push('usemtl albedo', 's 1');
  for (let i = 0; i < I.length; i += 3) {
    const [a, b, c] = [I[i]! + 1, I[i + 1]! + 1, I[i + 2]! + 1];
    lines.push(`f ${a}/${a}/${a} ${b}/${b}/${b} ${c}/${c}/${c}`);
  }
  return lines.join('\n') + '\n';
}

export function mtlText(png: string, comments: string[] = []): string {
  return [...comments.map((c) => `# ${c}`), 'newmtl albedo', 'Ka 1 1 1', 'Kd 1 1 1', 'Ks 0 0 0', 'd 1', 'illum 1', `map_Kd ${png}`].join('\n') + '\n';
}

/** Writes `<dir>/frame_NNN.{obj,mtl,png}`; returns the three paths. */
export async function writeFrameObj(dir: string, frame: number, mesh: ExportMesh, texture: ArrayLike<number>, textureSize: number, comments: string[] = []): Promise<string[]> {
  const name = frameName(frame);
  const files = [join(dir, `${name}.obj`), join(dir, `${name}.mtl`), join(dir, `${name}.png`)];
  await writeFileAtomic(files[2]!, encodePng(textureImage(texture, textureSize), { bitDepth: 8, channels: 'rgb' }));
  await writeFileAtomic(files[1]!, mtlText(`${name}.png`, comments));
  await writeFileAtomic(files[0]!, meshObjText(mesh, `${name}.mtl`, comments));
  return files;
}

/**
 * Parses an OBJ into an indexed triangle mesh: one output vertex per distinct
 * (v, vt, vn) triple in order of first use by a face, polygons fanned. Errors name the file (`source`) and line.
 */
export function readObj(text: string, source = 'OBJ'): ObjMesh {
  const v: number[] = [];
  const vt: number[] = [];
  const vn: number[] = [];
  const outP: number[] = [];
  const outT: number[] = [];
  const outN: number[] = [];
  const idx: number[] = [];
  const seen = new Map<string, number>();
  let anyT = false;
  let anyN = false;
  const lines = text.split('\n');
  lines.forEach((raw, lineNo) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    const fail = (why: string): never => {
      throw new Error(`${source}:${lineNo + 1}: ${why}`);
    };
    const nums = (n: number) => {
      const out = parts.slice(1, 1 + n).map(Number);
      if (out.length < n || out.some((x) => !Number.isFinite(x))) fail(`'${parts[0]}' needs ${n} numbers`);
      return out;
    };
    switch (parts[0]) {
      case 'v':
        v.push(...nums(3));
        break;
      case 'vt':
        vt.push(...nums(2));
        break;
      case 'vn':
        vn.push(...nums(3));
        break;
      case 'f': {
        const corners = parts.slice(1).map((c) => {
          const [a, b, n] = c.split('/');
          const resolve = (s: string | undefined, count: number, what: string) => {
            if (s === undefined || s === '') return -1;
            const k = Number(s);
            if (!Number.isInteger(k) || k === 0) fail(`bad ${what} index '${s}'`);
            const i = k < 0 ? count + k : k - 1;
            if (i < 0 || i >= count) fail(`${what} index ${k} out of range (${count})`);
            return i;
          };
          const pi = resolve(a, v.length / 3, 'vertex');
          if (pi < 0) fail('face corner without a vertex index');
          const ti = resolve(b, vt.length / 2, 'texture');
          const ni = resolve(n, vn.length / 3, 'normal');
          const id = `${pi}/${ti}/${ni}`;
          let key = seen.get(id);
          if (key === undefined) {
            outP.push(v[3 * pi]!, v[3 * pi + 1]!, v[3 * pi + 2]!);
            if (ti >= 0) anyT = true;
            if (ni >= 0) anyN = true;
            outT.push(ti >= 0 ? vt[2 * ti]! : 0, ti >= 0 ? vt[2 * ti + 1]! : 0);
            outN.push(ni >= 0 ? vn[3 * ni]! : 0, ni >= 0 ? vn[3 * ni + 1]! : 0, ni >= 0 ? vn[3 * ni + 2]! : 0);
            key = outP.length / 3 - 1;
            seen.set(id, key);
          }
          return key;
        });
        if (corners.length < 3) fail('a face needs 3 corners');
        for (let k = 1; k + 1 < corners.length; k++) idx.push(corners[0]!, corners[k]!, corners[k + 1]!);
        break;
      }
      default:
        break; // o, g, s, usemtl, mtllib: no geometry
    }
  });
  return {
    positions: Float32Array.from(outP),
    uvs: anyT ? Float32Array.from(outT) : new Float32Array(0),
    normals: anyN ? Float32Array.from(outN) : new Float32Array(0),
    indices: Uint32Array.from(idx),
  };
}
