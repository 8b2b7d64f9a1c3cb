// Mesh exports (harness/mesh/export_obj.ts, export_gltf.ts): per-frame OBJ + MTL +
// PNG read back into the same mesh and texture; animated.glb accepted by the
// Khronos glTF validator with no errors and read back by glTF-Transform (one node
// per frame, a STEP scale animation, the extras); readObj on fans, negative
// indices and bad input.
import { NodeIO } from '@gltf-transform/core';
import test from 'ava';
import { validateBytes } from 'gltf-validator';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../datasets/formats/png.ts';
import { buildAnimatedGlb } from '../harness/mesh/export_gltf.ts';
import { readObj, writeFrameObj, type ExportMesh } from '../harness/mesh/export_obj.ts';
import { uniform } from './helpers/splat_scenes.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dg4d-mesh-export-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** A pyramid over an n-gon base (n + 1 faces... topology varies with n), with UVs and normals. */
function pyramid(n: number, seed: number): ExportMesh {
  const rnd = uniform(seed);
  const pos: number[] = [0, 1, 0];
  for (let k = 0; k < n; k++) pos.push(Math.cos((2 * Math.PI * k) / n), 0, Math.sin((2 * Math.PI * k) / n));
  const idx: number[] = [];
  for (let k = 0; k < n; k++) idx.push(0, 1 + ((k + 1) % n), 1 + k);
  for (let k = 1; k + 1 < n; k++) idx.push(1, 1 + k, 2 + k);
  const V = n + 1;
  const normals = Float32Array.from({ length: 3 * V }, (_, i) => (i % 3 === 1 ? 1 : 0.1 * rnd()));
  return { positions: Float32Array.from(pos), normals, uvs: Float32Array.from({ length: 2 * V }, () => rnd()), indices: Uint32Array.from(idx) };
}

function texture(size: number, seed: number): Float32Array {
  const rnd = uniform(seed);
  return Float32Array.from({ length: size * size * 4 }, (_, i) => (i % 4 === 3 ? 1 : rnd()));
}

test('OBJ + MTL + PNG per frame read back into the same mesh and (flipped, 8-bit) texture', async (t) => {
  const mesh = pyramid(7, 1);
  const tex = texture(16, 2);
  const files = await writeFrameObj(tmp, 4, mesh, tex, 16, ['no video diffusion model: textures refined without SVD']);
  t.deepEqual(files.map((f) => f.slice(tmp.length + 1)), ['frame_004.obj', 'frame_004.mtl', 'frame_004.png']);
  const text = readFileSync(files[0]!, 'utf8');
  t.regex(text, /^# no video diffusion model/);
  t.regex(text, /mtllib frame_004\.mtl/);
  t.regex(readFileSync(files[1]!, 'utf8'), /map_Kd frame_004\.png/);
  const back = readObj(text, files[0]);
  // Same faces with the same corner attributes (the reader numbers vertices by first use).
  t.is(back.indices.length, mesh.indices.length);
  t.is(back.positions.length, mesh.positions.length);
  for (const [k, w] of [['positions', 3], ['normals', 3], ['uvs', 2]] as const) {
    let worst = 0;
    for (let c = 0; c < mesh.indices.length; c++) for (let a = 0; a < w; a++) worst = Math.max(worst, Math.abs(back[k][w * back.indices[c]! + a]! - mesh[k][w * mesh.indices[c]! + a]!));
    t.true(worst < 1e-6, `${k}: ${worst}`);
  }
  const png = decodePng(readFileSync(files[2]!));
  t.is(png.width, 16);
  // PNG row 0 is the top (v = 1): the texture's last row.
  for (let j = 0; j < 16; j++) for (let i = 0; i < 16; i++) for (let c = 0; c < 3; c++) {
    const want = Math.round(tex[4 * ((15 - j) * 16 + i) + c]! * 255) / 255;
    t.true(Math.abs(png.rgba[4 * (j * 16 + i) + c]! - want) < 1e-6);
  }
});

test('animated.glb: frames of different topology, no validator errors, one STEP scale channel per frame', async (t) => {
  const frames = [5, 9, 6].map((n, f) => ({ mesh: pyramid(n, 10 + f), texture: texture(16, 20 + f), textureSize: 16, time: f / 3 }));
  const glb = await buildAnimatedGlb(frames, { duration: 1, extras: { videoDiffusion: 'none' } });
  const report = await validateBytes(glb);
  const errors = report.issues.messages.filter((m) => m.severity === 0);
  t.is(report.issues.numErrors, 0, JSON.stringify(errors.slice(0, 5)));
  const doc = await new NodeIO().readBinary(glb);
  const root = doc.getRoot();
  t.is(root.listMeshes().length, 3);
  t.is(root.listTextures().length, 3);
  t.deepEqual(root.getExtras(), { videoDiffusion: 'none' });
  const anim = root.listAnimations()[0]!;
  t.is(anim.listChannels().length, 3);
  for (const ch of anim.listChannels()) {
    t.is(ch.getTargetPath(), 'scale');
    t.is(ch.getSampler()!.getInterpolation(), 'STEP');
  }
  // Frame 1's node is visible only on [1/3, 2/3).
  const s1 = anim.listChannels()[1]!.getSampler()!;
  t.deepEqual(Array.from(s1.getInput()!.getArray()!, (x) => +Number(x).toFixed(4)), [0, 0.3333, 0.6667, 1]);
  t.deepEqual(Array.from(s1.getOutput()!.getArray()!, Number).filter((_, i) => i % 3 === 0), [0, 1, 0, 0]);
  // TEXCOORD_0 is v-down.
  const uv = root.listMeshes()[0]!.listPrimitives()[0]!.getAttribute('TEXCOORD_0')!.getArray()!;
  t.true(Math.abs(uv[1]! - (1 - frames[0]!.mesh.uvs[1]!)) < 1e-7);
  await t.throwsAsync(buildAnimatedGlb(frames, { duration: 0.5 }), { message: /duration/ });
});

test('readObj: polygon fans, negative indices, positions-only faces, errors with file and line', (t) => {
  const m = readObj('v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\nf -4 -2 -1\n', 'quad.obj');
  t.deepEqual(Array.from(m.indices), [0, 1, 2, 0, 2, 3, 0, 2, 3]);
  t.is(m.uvs.length, 0);
  t.throws(() => readObj('v 0 0 0\nf 1 2 3\n', 'bad.obj'), { message: /bad\.obj:2: vertex index 2 out of range/ });
  t.throws(() => readObj('v 0 0\n', 'short.obj'), { message: /short\.obj:1: 'v' needs 3 numbers/ });
});
