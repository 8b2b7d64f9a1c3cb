// `animated.glb` of the mesh stage (Node side), built with glTF-Transform: one
// node per frame, each with its own mesh, material and texture, and one
// animation that shows exactly one frame at a time by scaling the other nodes to
// 0 (STEP interpolation on `scale`). Per-frame meshes keep topology changes
// possible (marching cubes gives every frame its own vertex count and UV atlas),
// which morph targets (one topology for all frames) would not. glTF's texture
// coordinates run v down from the image's top, so vt (v up) becomes (u, 1 − v).
import { Document, NodeIO, type Node } from '@gltf-transform/core';
import { encodePng } from '../../datasets/formats/png.ts';
import { textureImage, type ExportMesh } from './export_obj.ts';

export interface GlbFrame {
  mesh: ExportMesh;
  /** [T*T,4] f32 texture, row 0 at v = 0. */
  texture: ArrayLike<number>;
  textureSize: number;
  /** Start of the frame in seconds. */
  time: number;
}

export interface GlbOptions {
  /** Where the frame sequence ends (the last frame shows until then), seconds. */
  duration: number;
  /** Written into the asset's extras (e.g. what refined the textures). */
  extras?: Record<string, unknown>;
}

/** The animated GLB bytes (see the file comment). */
export async function buildAnimatedGlb(frames: GlbFrame[], o: GlbOptions): Promise<Uint8Array> {
  if (!frames.length) throw new Error('animated.glb: no frames');
  for (let i = 1; i < frames.length; i++) if (!(frames[i]!.time > frames[i - 1]!.time)) throw new Error(`animated.glb: frame ${i} starts at ${frames[i]!.time}, not after frame ${i - 1} (${frames[i - 1]!.time})`);
  if (!(o.duration > frames[frames.length - 1]!.time)) throw new Error(`animated.glb: duration ${o.duration} must exceed the last frame's start`);
  const doc = new Document();
  doc.getRoot().getAsset().generator = 'dg4d-bench mesh stage';
  if (o.extras) doc.getRoot().setExtras(o.extras);
  const buffer = doc.createBuffer();
  const scene = doc.createScene('frames');
  const root = doc.createNode('animated');
  scene.addChild(root);
  const anim = doc.createAnimation('frames');
  const nodes: Node[] = [];
  frames.forEach((fr, f) => {
    const m = fr.mesh;
    const V = m.positions.length / 3;
    const uv = new Float32Array(V * 2);
    for (let i = 0; i < V; i++) {
      uv[2 * i] = m.uvs[2 * i]!;
      uv[2 * i + 1] = 1 - m.uvs[2 * i + 1]!;
    }
    const acc = (type: 'VEC3' | 'VEC2' | 'SCALAR', array: Float32Array | Uint32Array, name: string) => doc.createAccessor(`${name}_${f}`).setType(type).setArray(array).setBuffer(buffer);
    const png = encodePng(textureImage(fr.texture, fr.textureSize), { bitDepth: 8, channels: 'rgb' });
    const texture = doc.createTexture(`albedo_${f}`).setImage(new Uint8Array(png)).setMimeType('image/png');
    const material = doc.createMaterial(`albedo_${f}`).setBaseColorTexture(texture).setMetallicFactor(0).setRoughnessFactor(1);
    const prim = doc
      .createPrimitive()
      .setAttribute('POSITION', acc('VEC3', m.positions, 'position'))
      .setAttribute('NORMAL', acc('VEC3', normalised(m.normals), 'normal'))
      .setAttribute('TEXCOORD_0', acc('VEC2', uv, 'uv'))
      .setIndices(acc('SCALAR', m.indices, 'indices'))
      .setMaterial(material);
    const node = doc.createNode(`frame_${String(f).padStart(3, '0')}`).setMesh(doc.createMesh(`frame_${f}`).addPrimitive(prim));
    node.setScale(f === 0 ? [1, 1, 1] : [0, 0, 0]);
    root.addChild(node);
    nodes.push(node);
  });
  // Keys at every frame boundary; each node is 1 only on its own interval.
  const starts = frames.map((fr) => fr.time);
  const times = Float32Array.from([...starts, o.duration]);
  nodes.forEach((node, f) => {
    const values = new Float32Array(times.length * 3);
    for (let k = 0; k < times.length; k++) values.fill(k === f ? 1 : 0, 3 * k, 3 * k + 3);
    // The end key repeats the last frame's state.
    if (f === frames.length - 1) values.fill(1, 3 * (times.length - 1));
    const sampler = doc
      .createAnimationSampler()
      .setInput(doc.createAccessor(`time_${f}`).setType('SCALAR').setArray(times).setBuffer(buffer))
      .setOutput(doc.createAccessor(`scale_${f}`).setType('VEC3').setArray(values).setBuffer(buffer))
      .setInterpolation('STEP');
    anim.addSampler(sampler).addChannel(doc.createAnimationChannel().setTargetNode(node).setTargetPath('scale').setSampler(sampler));
  });
  return new NodeIO().writeBinary(doc);
}

/** glTF wants unit normals: renormalise, and give zero normals some unit vector. */
function normalised(n: Float32Array): Float32Array {
  const out = new Float32Array(n.length);
  for (let i = 0; i < n.length; i += 3) {
    const l = Math.hypot(n[i]!, n[i + 1]!, n[i + 2]!);
    if (l > 0) for (let c = 0; c < 3; c++) out[i + c] = n[i + c]! / l;
    else out[i + 2] = 1;
  }
  return out;
}
