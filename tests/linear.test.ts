// Batched linear layers (wgsl/linear.wgsl, wgsl/linear_bwd.wgsl) in real headless
// Chromium against refLinear / refLinearBwd (float64): odd sizes that fill no
// tile, strided and offset views, accumulation, ReLU masks, gradients summed over
// two backward calls, determinism; and the references against finite differences.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { initLinearParams, refLinear, refLinearBwd, type Activation, type RefLinearParams } from '../harness/deform/linear_ref.ts';
import type { JobMatrix, LinearJobArgs, LinearJobResult } from '../harness/page/mlp_job.ts';
import { mulberry32 } from './helpers/random.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

const linear = (args: LinearJobArgs) => session.run<LinearJobResult>('linear', args as unknown as Record<string, unknown>);

function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (next() / 2 ** 32 - 0.5) * 2 * scale);
}

/** A [rows, stride] buffer of noise (columns outside the view must be left alone). */
function matrix(rows: number, stride: number, offset: number, seed: number): JobMatrix {
  return { data: randomF32(rows * stride, seed), stride, offset };
}

/** The view's columns as a dense [rows, width] array. */
function slice(m: { data: ArrayLike<number>; stride: number; offset: number }, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out[r * width + c] = m.data[r * m.stride + m.offset + c]!;
  return out;
}

const abs = (a: ArrayLike<number>) => Float64Array.from(a as ArrayLike<number>, Math.abs);

/** |got − want| ≤ atol + rtol·mag elementwise, mag the sum of the absolute terms. */
function assertClose(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, mag: ArrayLike<number>, what: string, rtol = 1e-5, atol = 1e-6) {
  t.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= atol + rtol * mag[i]!)) return t.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (|terms| ${mag[i]})`);
  }
  t.pass();
}

/** Columns outside [offset, offset + width) of every row, and rows past `rows`, are unchanged. */
function assertOutsideUntouched(t: ExecutionContext, got: Float32Array, before: JobMatrix, rows: number, width: number, what: string) {
  for (let k = 0; k < got.length; k++) {
    const r = Math.floor(k / before.stride);
    const c = k % before.stride;
    const inside = r < rows && c >= before.offset && c < before.offset + width;
    if (!inside && got[k] !== before.data[k]) return t.fail(`${what}: element ${k} (row ${r}, column ${c}) outside the view changed`);
  }
  t.pass();
}

interface Case {
  rows: number;
  inputs: number;
  outputs: number;
  activation: Activation;
  xPad?: [number, number];
  yPad?: [number, number];
  accumulate?: boolean;
  backward?: { dyPad?: [number, number]; dx?: { pad: [number, number]; accumulate: boolean } | null }[];
  seed: number;
}

/** Runs a case on the GPU and checks y, every dx, dW and dB against the references. */
async function check(t: ExecutionContext, c: Case): Promise<LinearJobResult> {
  const { rows, inputs, outputs, activation, seed } = c;
  const [xl, xr] = c.xPad ?? [0, 0];
  const [yl, yr] = c.yPad ?? [0, 0];
  const init = initLinearParams(inputs, outputs, 'torch', seed);
  // Shift the biases so some ReLU inputs are positive, some negative.
  const bias = init.bias.map((b, o) => b + (o % 3) * 0.1 - 0.1);
  const p: RefLinearParams = { inputs, outputs, activation, weight: init.weight, bias };
  const x = matrix(rows, xl + inputs + xr, xl, seed + 1);
  const y = matrix(rows, yl + outputs + yr, yl, seed + 2);
  const backward = (c.backward ?? []).map((b, k) => {
    const [dl, dr] = b.dyPad ?? [0, 0];
    const dy = matrix(rows, dl + outputs + dr, dl, seed + 10 + k);
    const dx = b.dx ? { ...matrix(rows, b.dx.pad[0] + inputs + b.dx.pad[1], b.dx.pad[0], seed + 20 + k), accumulate: b.dx.accumulate } : undefined;
    return { dy, dx };
  });
  const got = await linear({ inputs, outputs, activation, rows, weight: init.weight, bias, x, y, accumulate: c.accumulate, backward });
  const name = `${rows}x${inputs}->${outputs} ${activation}`;

  const xd = slice(x, rows, inputs);
  const yWant = refLinear(p, xd, rows);
  const yMag = refLinear({ ...p, activation: 'none', weight: abs(p.weight), bias: abs(p.bias) }, abs(xd), rows);
  const y0 = slice(y, rows, outputs);
  if (c.accumulate) for (let k = 0; k < yWant.length; k++) (yWant[k]! += y0[k]!), (yMag[k]! += Math.abs(y0[k]!));
  const yGot = slice({ ...y, data: got.y }, rows, outputs);
  assertClose(t, yGot, yWant, yMag, `${name} y`);
  assertOutsideUntouched(t, got.y, y, rows, outputs, `${name} y`);

  // The backward masks with the GPU's own output (a value within rounding of 0 may fall either side).
  const dW = new Float64Array(outputs * inputs);
  const dB = new Float64Array(outputs);
  const dWMag = new Float64Array(outputs * inputs);
  const dBMag = new Float64Array(outputs);
  let dxIndex = 0;
  backward.forEach((b, k) => {
    const dyd = slice(b.dy, rows, outputs);
    const g = refLinearBwd(p, xd, yGot, dyd, rows);
    const mag = refLinearBwd({ ...p, weight: abs(p.weight) }, abs(xd), yGot, abs(dyd), rows);
    for (let i = 0; i < dW.length; i++) (dW[i]! += g.dWeight[i]!), (dWMag[i]! += mag.dWeight[i]!);
    for (let o = 0; o < outputs; o++) (dB[o]! += g.dBias[o]!), (dBMag[o]! += mag.dBias[o]!);
    if (b.dx) {
      const got1 = got.dx[dxIndex++]!;
      const want = g.dx;
      const wantMag = mag.dx;
      if (b.dx.accumulate) {
        const before = slice(b.dx, rows, inputs);
        for (let i = 0; i < want.length; i++) (want[i]! += before[i]!), (wantMag[i]! += Math.abs(before[i]!));
      }
      assertClose(t, slice({ ...b.dx, data: got1 }, rows, inputs), want, wantMag, `${name} dx of call ${k}`);
      assertOutsideUntouched(t, got1, b.dx, rows, inputs, `${name} dx of call ${k}`);
    }
  });
  t.is(got.dx.length, dxIndex);
  assertClose(t, got.dWeight, dW, dWMag, `${name} dW`);
  assertClose(t, got.dBias, dB, dBMag, `${name} dB`);
  return got;
}

test('forward: odd sizes, ReLU and none, strided and offset views', async (t) => {
  const shapes: [number, number, number][] = [
    [1, 3, 13],
    [37, 13, 3],
    [1000, 64, 64],
    [5003, 76, 13],
    [37, 256, 76],
  ];
  for (const [k, [rows, inputs, outputs]] of shapes.entries()) {
    await check(t, { rows, inputs, outputs, activation: k % 2 ? 'none' : 'relu', xPad: [k % 3, 2], yPad: [1, k], seed: 100 * k });
  }
});

test('forward: accumulate adds into the existing output slice', async (t) => {
  await check(t, { rows: 37, inputs: 13, outputs: 64, activation: 'none', accumulate: true, yPad: [5, 3], seed: 7 });
  await check(t, { rows: 1000, inputs: 3, outputs: 4, activation: 'none', accumulate: true, yPad: [3, 0], seed: 8 });
});

test('backward: dW, dB and dX (written, added) through the ReLU mask, odd sizes and views', async (t) => {
  const got = await check(t, {
    rows: 1000,
    inputs: 13,
    outputs: 76,
    activation: 'relu',
    xPad: [2, 1],
    yPad: [0, 3],
    backward: [{ dyPad: [3, 1], dx: { pad: [1, 2], accumulate: false } }],
    seed: 30,
  });
  t.true(got.y.some((v) => v === 0), 'some ReLU outputs clamp (the mask matters)');
  await check(t, { rows: 5003, inputs: 64, outputs: 3, activation: 'none', backward: [{ dx: { pad: [0, 3], accumulate: true } }], seed: 31 });
  await check(t, { rows: 1, inputs: 256, outputs: 13, activation: 'relu', backward: [{ dx: { pad: [0, 0], accumulate: false } }], seed: 32 });
  await check(t, { rows: 37, inputs: 3, outputs: 256, activation: 'relu', backward: [{ dyPad: [0, 5] }], seed: 33 });
});

test('backward: gradients accumulate over two calls in one encoder (dX of the second added)', async (t) => {
  await check(t, {
    rows: 2049,
    inputs: 76,
    outputs: 64,
    activation: 'relu',
    backward: [
      { dx: { pad: [0, 0], accumulate: false } },
      { dyPad: [1, 1], dx: { pad: [4, 0], accumulate: true } },
    ],
    seed: 40,
  });
});

test('backward: 256 -> 256 at 2000 rows (the paper width)', async (t) => {
  await check(t, { rows: 2000, inputs: 256, outputs: 256, activation: 'relu', backward: [{ dx: { pad: [0, 0], accumulate: false } }], seed: 50 });
});

test('same inputs give bit-identical outputs and gradients', async (t) => {
  const c = { rows: 3001, inputs: 64, outputs: 13, activation: 'relu' as const, seed: 60 };
  const init = initLinearParams(c.inputs, c.outputs, 'torch', 60);
  const args: LinearJobArgs = {
    ...c,
    weight: init.weight,
    bias: init.bias,
    x: matrix(c.rows, c.inputs, 0, 61),
    y: matrix(c.rows, c.outputs, 0, 62),
    backward: [{ dy: matrix(c.rows, c.outputs, 0, 63), dx: { ...matrix(c.rows, c.inputs, 0, 64), accumulate: false } }],
  };
  const a = await linear(args);
  const b = await linear(args);
  t.deepEqual(b.y, a.y);
  t.deepEqual(b.dWeight, a.dWeight);
  t.deepEqual(b.dBias, a.dBias);
  t.deepEqual(b.dx, a.dx);
});

test('bad calls are PageJobErrors naming the layer', async (t) => {
  const init = initLinearParams(4, 3, 'torch', 1);
  const base: LinearJobArgs = { inputs: 4, outputs: 3, activation: 'relu', rows: 5, ...init, x: matrix(5, 4, 0, 1), y: matrix(5, 3, 0, 2) };
  await t.throwsAsync(linear({ ...base, accumulate: true }), { instanceOf: PageJobError, message: /linear 'job': accumulate is only for layers without ReLU/ });
  await t.throwsAsync(linear({ ...base, x: matrix(5, 4, 1, 1) }), { instanceOf: PageJobError, message: /linear 'job': x: columns \[1, 5\) do not fit a row stride of 4/ });
  await t.throwsAsync(linear({ ...base, rows: 6 }), { instanceOf: PageJobError, message: /linear 'job': x: buffer .* holds 80 bytes, 6 rows of stride 4 need 96/ });
  await t.throwsAsync(linear({ ...base, weight: new Float32Array(5) }), { instanceOf: PageJobError, message: /initial weight has 5 floats/ });
});

// --- references on the CPU ----------------------------------------------------

test('refLinearBwd matches central finite differences of refLinear', (t) => {
  const rows = 5;
  const inputs = 4;
  const outputs = 3;
  for (const activation of ['relu', 'none'] as const) {
    const init = initLinearParams(inputs, outputs, 'torch', 9);
    const p = { inputs, outputs, activation, weight: Float64Array.from(init.weight), bias: Float64Array.from(init.bias, (b, o) => b + 0.2 * (o - 1)) };
    const x = Float64Array.from(randomF32(rows * inputs, 10));
    const dy = Float64Array.from(randomF32(rows * outputs, 11));
    // L = Σ dy · Y, so dL/dθ is the backward of dy.
    const loss = (q: typeof p, xx: Float64Array) => refLinear(q, xx, rows).reduce((s, v, k) => s + v * dy[k]!, 0);
    const g = refLinearBwd(p, x, refLinear(p, x, rows), dy, rows);
    const h = 1e-6;
    const fd = (f: (e: number) => number) => (f(h) - f(-h)) / (2 * h);
    const near = (a: number, b: number, what: string) => t.true(Math.abs(a - b) <= 1e-6 * (1 + Math.abs(b)), `${activation} ${what}: ${a} vs ${b}`);
    for (let k = 0; k < x.length; k++) near(g.dx[k]!, fd((e) => loss(p, x.map((v, j) => (j === k ? v + e : v)))), `dx[${k}]`);
    for (let k = 0; k < p.weight.length; k++) near(g.dWeight[k]!, fd((e) => loss({ ...p, weight: p.weight.map((v, j) => (j === k ? v + e : v)) }, x)), `dW[${k}]`);
    for (let k = 0; k < outputs; k++) near(g.dBias[k]!, fd((e) => loss({ ...p, bias: p.bias.map((v, j) => (j === k ? v + e : v)) }, x)), `dB[${k}]`);
  }
});

test('initLinearParams: torch bounds ±1/√inputs, seeded, zero init', (t) => {
  const a = initLinearParams(64, 13, 'torch', 5);
  const bound = 1 / 8;
  t.true([...a.weight, ...a.bias].every((v) => Math.abs(v) <= bound));
  t.true(Math.max(...a.weight.map(Math.abs)) > 0.9 * bound, 'fills the range');
  t.deepEqual(initLinearParams(64, 13, 'torch', 5), a);
  t.notDeepEqual(initLinearParams(64, 13, 'torch', 6).weight, a.weight);
  const z = initLinearParams(3, 2, 'zero', 5);
  t.true([...z.weight, ...z.bias].every((v) => v === 0));
});
