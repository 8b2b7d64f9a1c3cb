// Dataset validation that runs before any GPU work. Every failure is a DatasetError
// whose message names the file and the field:
//   transforms_train.json: frames[3].transform_matrix: row 2 is not finite
// The loaders in formats/ call these checks while they read; loadDataset()
// (datasets/dataset.ts) runs all of them over a scene folder.

export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
    this.name = 'DatasetError';
  }
}

/** Tolerance of the rigidity check: |R Rᵀ − I| and |det R − 1| elementwise. */
export const RIGID_TOL = 1e-3;

/** Parses JSON text; a syntax error names the file, the line, column and character position. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const pos = jsonErrorPosition(text);
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    throw new DatasetError(file, '', `bad JSON at line ${line} column ${col} (position ${pos}): ${(err as Error).message}`);
  }
}

/** Offset of the first syntax error in a JSON text (text.length when it ends too early). */
export function jsonErrorPosition(s: string): number {
  let i = 0;
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  };
  class Fail {}
  const fail = (): never => {
    throw new Fail();
  };
  const lit = (w: string) => (s.startsWith(w, i) ? (i += w.length) : fail());
  const str = () => {
    i++;
    for (;;) {
      if (i >= s.length) fail();
      const c = s[i]!;
      if (c === '"') return void i++;
      if (c < ' ') fail();
      if (c === '\\') {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return void ((i += 1), fail());
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return void ((i += 1), fail());
      } else i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') return void i++;
      for (;;) {
        ws();
        if (s[i] !== '"') fail();
        str();
        ws();
        if (s[i] !== ':') fail();
        i++;
        value();
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === '}') return void i++;
        else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === ']') return void i++;
        else fail();
      }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else num();
  };
  try {
    value();
    ws();
    if (i < s.length) fail();
    return s.length;
  } catch (e) {
    if (e instanceof Fail) return Math.min(i, s.length);
    throw e;
  }
}

/**
 * Checks a camera-to-world matrix (4 rows of 4, or 16 numbers row-major) and returns it
 * as 16 numbers row-major: finite, rotation orthonormal with det +1, last row [0,0,0,1].
 */
export function checkRigid(m: unknown, file: string, field: string, tol = RIGID_TOL): number[] {
  let rows: unknown[];
  if (Array.isArray(m) && m.length === 16 && m.every((v) => typeof v === 'number')) {
    rows = [0, 1, 2, 3].map((r) => m.slice(4 * r, 4 * r + 4));
  } else if (Array.isArray(m) && m.length === 4) rows = m;
  else throw new DatasetError(file, field, 'must be a 4x4 matrix (4 rows of 4 numbers)');
  const out: number[] = [];
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== 4) throw new DatasetError(file, field, `row ${r} is not 4 numbers`);
    if (!row.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new DatasetError(file, field, `row ${r} is not finite`);
    out.push(...(row as number[]));
  });
  const last = out.slice(12);
  if (Math.abs(last[0]!) > 1e-6 || Math.abs(last[1]!) > 1e-6 || Math.abs(last[2]!) > 1e-6 || Math.abs(last[3]! - 1) > 1e-6) {
    throw new DatasetError(file, field, `last row is [${last.join(', ')}], not [0, 0, 0, 1]`);
  }
  const R = (r: number, c: number) => out[4 * r + c]!;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const dot = R(a, 0) * R(b, 0) + R(a, 1) * R(b, 1) + R(a, 2) * R(b, 2);
      if (Math.abs(dot - (a === b ? 1 : 0)) > tol) {
        throw new DatasetError(file, field, `rotation is not orthonormal (rows ${a}·${b} = ${dot.toPrecision(6)}, tolerance ${tol})`);
      }
    }
  }
  const det =
    R(0, 0) * (R(1, 1) * R(2, 2) - R(1, 2) * R(2, 1)) -
    R(0, 1) * (R(1, 0) * R(2, 2) - R(1, 2) * R(2, 0)) +
    R(0, 2) * (R(1, 0) * R(2, 1) - R(1, 1) * R(2, 0));
  if (Math.abs(det - 1) > tol) throw new DatasetError(file, field, `rotation determinant is ${det.toPrecision(6)}, not +1 (a reflection)`);
  return out;
}

/** time must be a number in [0,1]. */
export function checkTime(t: unknown, file: string, field: string): number {
  if (t === undefined || t === null) throw new DatasetError(file, field, 'missing (every frame needs a time in [0,1])');
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 1) throw new DatasetError(file, field, `${JSON.stringify(t)} is outside [0,1]`);
  return t;
}

/** camera_angle_x must be a number in (0, π). */
export function checkFov(v: unknown, file: string, field = 'camera_angle_x'): number {
  if (v === undefined || v === null) throw new DatasetError(file, field, 'missing');
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= Math.PI) throw new DatasetError(file, field, `${JSON.stringify(v)} is not in (0, π) radians`);
  return v;
}

/** All images of one split share one size. */
export function checkSameSize(sizes: { file: string; width: number; height: number }[], jsonFile: string, field: (i: number) => string): { width: number; height: number } {
  const first = sizes[0];
  if (!first) throw new DatasetError(jsonFile, 'frames', 'is empty');
  sizes.forEach((s, i) => {
    if (s.width !== first.width || s.height !== first.height) {
      throw new DatasetError(jsonFile, field(i), `${s.file} is ${s.width}x${s.height}, but ${first.file} is ${first.width}x${first.height} (all images of a split must share one size)`);
    }
  });
  return { width: first.width, height: first.height };
}

/** Consistent4D: eval must hold frames at exactly the input times (one frame per time per eval view). */
export function checkInputEval(
  input: { jsonFile: string; frames: { time: number }[] },
  evals: { jsonFile: string; frames: { time: number }[] },
  eps = 1e-6,
): void {
  const times = [...new Set(input.frames.map((f) => f.time))].sort((a, b) => a - b);
  const evalTimes = evals.frames.map((f) => f.time);
  const near = (a: number, b: number) => Math.abs(a - b) <= eps;
  evalTimes.forEach((t, i) => {
    if (!times.some((u) => near(u, t))) throw new DatasetError(evals.jsonFile, `frames[${i}].time`, `${t} is not a time of ${input.jsonFile}`);
  });
  const counts = times.map((t) => evalTimes.filter((u) => near(u, t)).length);
  const views = counts[0] ?? 0;
  const bad = counts.findIndex((c) => c !== views || c === 0);
  if (evalTimes.length % times.length !== 0 || bad >= 0 || views === 0) {
    throw new DatasetError(
      evals.jsonFile,
      'frames',
      `${evals.frames.length} frames do not match the ${input.frames.length} input frames of ${input.jsonFile}` +
        (bad >= 0 ? ` (time ${times[bad]} has ${counts[bad]} eval frames, time ${times[0]} has ${views})` : ''),
    );
  }
}
