// Tiny ONNX models written by the tests, with known weights, so the learned-metric
// plumbing (loading, preprocessing, inference, the metric) can be checked against
// values computed on the CPU. An ONNX file is a protobuf ModelProto; this is a
// minimal protobuf writer for the handful of fields the models need (field numbers
// from onnx/onnx.proto): no generator library.

/** Protobuf wire encoding of one message. */
class Message {
  private readonly parts: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Message): this {
    return this.bytes(field, m.encode());
  }

  encode(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const; // AttributeProto.AttributeType

export type Dim = number | string;

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian f32). */
function tensor(name: string, dims: number[], data: Float32Array): Message {
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name}: ${data.length} values for dims [${dims}]`);
  const m = new Message();
  for (const d of dims) m.int(1, d);
  m.int(2, FLOAT).string(8, name);
  return m.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** ValueInfoProto: name (1), type (2) = TypeProto.tensor_type (1) { elem_type (1), shape (2) { dim (1) { dim_value (1) | dim_param (2) } } }. */
function valueInfo(name: string, dims: Dim[]): Message {
  const shape = new Message();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

type Attr = { name: string; ints: number[] } | { name: string; int: number } | { name: string; float: number };

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5) { name (1), f (2), i (3), ints (8), type (20) }. */
function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Message {
  const m = new Message();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, `${op}_${outputs[0]}`).string(4, op);
  for (const a of attrs) {
    const at = new Message().string(1, a.name);
    if ('ints' in a) {
      for (const v of a.ints) at.int(8, v);
      at.int(20, ATTR.INTS);
    } else if ('int' in a) at.int(3, a.int).int(20, ATTR.INT);
    else at.float(2, a.float).int(20, ATTR.FLOAT);
    m.message(5, at);
  }
  return m;
}

export interface GraphSpec {
  nodes: Message[];
  initializers: { name: string; dims: number[]; data: Float32Array }[];
  inputs: { name: string; dims: Dim[] }[];
  outputs: { name: string; dims: Dim[] }[];
}

/** ModelProto: ir_version (1), producer_name (2), graph (7) { node (1), name (2), initializer (5), input (11), output (12) }, opset_import (8) { domain (1), version (2) }. */
export function encodeModel(g: GraphSpec, opset = 13): Uint8Array {
  const graph = new Message();
  for (const n of g.nodes) graph.message(1, n);
  graph.string(2, 'tiny');
  for (const t of g.initializers) graph.message(5, tensor(t.name, t.dims, t.data));
  for (const i of g.inputs) graph.message(11, valueInfo(i.name, i.dims));
  for (const o of g.outputs) graph.message(12, valueInfo(o.name, o.dims));
  return new Message().int(1, 8).string(2, 'dg4d-bench tests').message(7, graph).message(8, new Message().string(1, '').int(2, opset)).encode();
}

/**
 * An LPIPS stand-in: a 1x1 convolution to two feature channels (weights w [2,3],
 * bias b [2]) of each input, then the mean over features and pixels of the squared
 * difference: [1,1,1,1]. `side` fixes H = W (the harness resizes to it), or null
 * for symbolic H, W (the harness feeds the render size).
 */
export function tinyLpips(w: number[], b: number[], side: number | null): Uint8Array {
  const H: Dim = side ?? 'height';
  const W: Dim = side ?? 'width';
  return encodeModel({
    nodes: [
      node('Conv', ['in0', 'conv_w', 'conv_b'], ['f0']),
      node('Conv', ['in1', 'conv_w', 'conv_b'], ['f1']),
      node('Sub', ['f0', 'f1'], ['d']),
      node('Mul', ['d', 'd'], ['sq']),
      node('ReduceMean', ['sq'], ['dist'], [{ name: 'axes', ints: [1, 2, 3] }, { name: 'keepdims', int: 1 }]),
    ],
    initializers: [
      { name: 'conv_w', dims: [2, 3, 1, 1], data: Float32Array.from(w) },
      { name: 'conv_b', dims: [2], data: Float32Array.from(b) },
    ],
    inputs: [
      { name: 'in0', dims: [1, 3, H, W] },
      { name: 'in1', dims: [1, 3, H, W] },
    ],
    outputs: [{ name: 'dist', dims: [1, 1, 1, 1] }],
  });
}

/** A CLIP stand-in: flatten [1, channels, side, side] and multiply by w [channels·side², D]: the "embedding" [1, D]. */
export function tinyClip(w: Float32Array, side: number, D: number, channels = 3): Uint8Array {
  return encodeModel({
    nodes: [node('Flatten', ['pixel_values'], ['flat'], [{ name: 'axis', int: 1 }]), node('MatMul', ['flat', 'proj'], ['image_embeds'])],
    initializers: [{ name: 'proj', dims: [channels * side * side, D], data: w }],
    inputs: [{ name: 'pixel_values', dims: [1, channels, side, side] }],
    outputs: [{ name: 'image_embeds', dims: [1, D] }],
  });
}

/** An I3D stand-in: spatial mean of [1,3,T,side,side] -> [1,3,T], flattened, times w [3T, D]: features [1, D]. */
export function tinyI3d(w: Float32Array, T: number, side: number, D: number): Uint8Array {
  return encodeModel({
    nodes: [
      node('ReduceMean', ['video'], ['pooled'], [{ name: 'axes', ints: [3, 4] }, { name: 'keepdims', int: 0 }]),
      node('Flatten', ['pooled'], ['flat'], [{ name: 'axis', int: 1 }]),
      node('MatMul', ['flat', 'proj'], ['features']),
    ],
    initializers: [{ name: 'proj', dims: [3 * T, D], data: w }],
    inputs: [{ name: 'video', dims: [1, 3, T, side, side] }],
    outputs: [{ name: 'features', dims: [1, D] }],
  });
}
