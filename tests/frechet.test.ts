// Fréchet distance in float64 (harness/metrics/frechet.ts): the Jacobi eigensolver
// and the PSD square root on known matrices, the distance on analytic cases
// (diagonal and commuting covariances, the 2x2 closed form for non-commuting
// ones), and the sample-space route for FVD against the covariance route.
import test from 'ava';
import { frechetDistance, frechetFromFeatures, jacobiEigen, meanAndCovariance, sqrtPsd } from '../harness/metrics/frechet.ts';
import { mulberry32 } from './helpers/random.ts';

function uniform(seed: number) {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}

/** A random symmetric PSD n×n matrix B Bᵀ (rank r). */
function randomPsd(n: number, seed: number, r = n): Float64Array {
  const u = uniform(seed);
  const B = Array.from({ length: n * r }, () => u() - 0.5);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) out[i * n + j]! += B[i * r + k]! * B[j * r + k]!;
  return out;
}

function rotation2(angle: number) {
  return [Math.cos(angle), -Math.sin(angle), Math.sin(angle), Math.cos(angle)];
}

/** R diag(d) Rᵀ for a 2x2 rotation R. */
function rotated2(d: [number, number], angle: number): number[] {
  const [c, ms, s] = rotation2(angle);
  const R = [c!, ms!, s!, c!];
  const out = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) out[i * 2 + j] = R[i * 2]! * d[0] * R[j * 2]! + R[i * 2 + 1]! * d[1] * R[j * 2 + 1]!;
  return out;
}

test('jacobiEigen: diagonal, 2x2 closed form, and A V = V diag(λ) with V orthonormal on a random 12x12', (t) => {
  const diag = jacobiEigen([3, 0, 0, 0, -1, 0, 0, 0, 2], 3);
  t.deepEqual([...diag.values].sort((a, b) => a - b), [-1, 2, 3]);
  const [a, b, c] = [2, 0.7, -1.3];
  const e = [...jacobiEigen([a, b, b, c], 2).values].sort((x, y) => x - y);
  const mid = (a + c) / 2;
  const rad = Math.hypot((a - c) / 2, b);
  t.true(Math.abs(e[0]! - (mid - rad)) < 1e-14 && Math.abs(e[1]! - (mid + rad)) < 1e-14, `${e}`);
  const n = 12;
  const A = randomPsd(n, 1);
  A[5] = A[5]! - 0.3; // keep it symmetric but indefinite-ish
  A[5 * n] = A[5]!;
  const { values, vectors: V } = jacobiEigen(A, n);
  let worst = 0;
  let orth = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      let av = 0;
      let vv = 0;
      for (let j = 0; j < n; j++) {
        av += A[i * n + j]! * V[j * n + k]!;
        vv += V[j * n + i]! * V[j * n + k]!;
      }
      worst = Math.max(worst, Math.abs(av - values[k]! * V[i * n + k]!));
      orth = Math.max(orth, Math.abs(vv - (i === k ? 1 : 0)));
    }
  }
  t.true(worst < 1e-12, `residual ${worst}`);
  t.true(orth < 1e-12, `orthonormality ${orth}`);
});

test('sqrtPsd: S S = A for a random PSD matrix, including a rank-deficient one', (t) => {
  for (const [n, r] of [[9, 9], [9, 3]] as const) {
    const A = randomPsd(n, 2 + r, r);
    const S = sqrtPsd(A, n);
    let worst = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += S[i * n + k]! * S[k * n + j]!;
      worst = Math.max(worst, Math.abs(s - A[i * n + j]!), Math.abs(S[i * n + j]! - S[j * n + i]!));
    }
    t.true(worst < 1e-10, `rank ${r}: ${worst}`);
  }
});

test('frechetDistance: diagonal and commuting covariances give |Δμ|² + Σ(√a − √b)²', (t) => {
  const a = [4, 1, 0.25, 9];
  const b = [1, 1, 4, 0];
  const mu1 = [0, 1, 2, 3];
  const mu2 = [1, 1, 0, 3];
  const diag = (d: number[]) => Float64Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? d[k / 5]! : 0));
  const want = 1 + 4 + a.reduce((s, x, i) => s + (Math.sqrt(x) - Math.sqrt(b[i]!)) ** 2, 0);
  t.true(Math.abs(frechetDistance(mu1, diag(a), mu2, diag(b)) - want) < 1e-12);
  // Commuting: both diagonal in the same rotated basis (2x2 rotation by 0.6).
  const s1 = rotated2([4, 0.5], 0.6);
  const s2 = rotated2([1, 2], 0.6);
  const want2 = (2 - 1) ** 2 + (Math.sqrt(0.5) - Math.sqrt(2)) ** 2;
  t.true(Math.abs(frechetDistance([0, 0], s1, [0, 0], s2) - want2) < 1e-12);
  t.true(Math.abs(frechetDistance([1, 2], s1, [1, 2], s1)) < 1e-12, 'identical Gaussians: 0');
});

test('frechetDistance: non-commuting 2x2 covariances against the closed form tr √M = √(tr Σ1Σ2 + 2 √(det Σ1 det Σ2))', (t) => {
  const s1 = rotated2([3, 0.2], 0.3);
  const s2 = rotated2([0.5, 2], 1.1);
  const tr12 = s1[0]! * s2[0]! + s1[1]! * s2[2]! + s1[2]! * s2[1]! + s1[3]! * s2[3]!;
  const det = (m: number[]) => m[0]! * m[3]! - m[1]! * m[2]!;
  const trSqrt = Math.sqrt(tr12 + 2 * Math.sqrt(det(s1) * det(s2)));
  const want = 0.5 ** 2 + (s1[0]! + s1[3]! + s2[0]! + s2[3]!) - 2 * trSqrt;
  const got = frechetDistance([0.5, 0], s1, [0, 0], s2);
  t.true(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  t.true(got > 0.5);
});

test('frechetFromFeatures: the sample-space route (n < d) equals the covariance route; identical sets give 0', (t) => {
  const u = uniform(7);
  const d = 10;
  const set = (n: number, shift: number) => Array.from({ length: n }, () => Float64Array.from({ length: d }, (_, i) => u() + shift * (i % 3)));
  for (const [n1, n2] of [[4, 4], [3, 6], [1, 5]] as const) {
    const a = set(n1, 0);
    const b = set(n2, 0.4);
    const x = meanAndCovariance(a);
    const y = meanAndCovariance(b);
    const viaCov = frechetDistance(x.mean, x.cov, y.mean, y.cov);
    const viaSamples = frechetFromFeatures(a, b);
    t.true(Math.abs(viaCov - viaSamples) < 1e-9 * Math.max(1, viaCov), `${n1} vs ${n2}: ${viaCov} vs ${viaSamples}`);
  }
  const many = set(14, 0);
  t.true(Math.abs(frechetFromFeatures(many, many)) < 1e-9, 'n > d, identical');
  const few = set(4, 0);
  t.true(Math.abs(frechetFromFeatures(few, few)) < 1e-9, 'n < d, identical');
  t.throws(() => frechetFromFeatures(few, [new Float64Array(3)]), { message: /feature lengths 10 and 3/ });
});
