// Fréchet distance between two Gaussian fits of feature sets, in float64 on the
// CPU: FVD on I3D features (harness/metrics/learned_metrics.ts), as in Unterthiner
// et al. 2018 and the Consistent4D evaluation:
//   d² = |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}
// Σ1^{1/2} Σ2 Σ1^{1/2} is symmetric PSD with the eigenvalues of Σ1 Σ2, so the
// matrix square roots come from a symmetric eigensolver (cyclic Jacobi), with
// eigenvalues below zero from rounding clamped to 0. Covariances are unbiased
// (n − 1); one sample gives a zero covariance.
//
// With fewer samples than dimensions (4 eval videos against 400 I3D logits) the
// covariances have rank < n, and the trace term equals the sum of the singular
// values of X1 X2ᵀ / sqrt((n1 − 1)(n2 − 1)) (X centred samples as rows), an
// n1 × n1 problem: frechetFromFeatures() takes that route; tests check both agree.

/** Symmetric eigen-decomposition of the n×n row-major `a` by cyclic Jacobi rotations. Columns of `vectors` are the eigenvectors. */
export function jacobiEigen(a: ArrayLike<number>, n: number, opts: { tolerance?: number; maxSweeps?: number } = {}): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`jacobiEigen: ${a.length} entries for a ${n}x${n} matrix`);
  const A = Float64Array.from(a);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const s = 0.5 * (A[i * n + j]! + A[j * n + i]!);
    A[i * n + j] = s;
    A[j * n + i] = s;
  }
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  const tol = opts.tolerance ?? 1e-15;
  const maxSweeps = opts.maxSweeps ?? 100;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += A[i]! * A[i]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    if (off <= tol * tol * scale || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        // The rotation angle that zeroes A[p][q] (Golub & Van Loan, sym.schur2).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i]!;
  return { values, vectors: V };
}

/** Square root of a symmetric PSD matrix (negative eigenvalues from rounding clamped to 0). */
export function sqrtPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors: V } = jacobiEigen(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]!));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = V[i * n + k]! * s;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * V[j * n + k]!;
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const aik = a[i * n + k]!;
    if (aik === 0) continue;
    for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
  }
  return out;
}

/**
 * Σ √λ over the eigenvalues of a symmetric PSD matrix, those below 64·ε·λmax taken
 * as 0: a rank-deficient matrix (centred samples: rank n − 1) has eigenvalues of
 * rounding size, ~1e-16·λmax, whose square roots would add ~1e-8 each.
 */
function sumSqrtEigen(values: Float64Array): number {
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const floor = 64 * Number.EPSILON * max;
  return values.reduce((s, v) => s + (v > floor ? Math.sqrt(v) : 0), 0);
}

/** tr (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}. */
export function traceSqrtProduct(s1: ArrayLike<number>, s2: ArrayLike<number>, n: number): number {
  const r = sqrtPsd(s1, n);
  const m = matmul(matmul(r, Float64Array.from(s2), n), r, n);
  return sumSqrtEigen(jacobiEigen(m, n).values);
}

/** Fréchet distance (squared, as FID/FVD report it) between N(μ1, Σ1) and N(μ2, Σ2), Σ row-major n×n. */
export function frechetDistance(mu1: ArrayLike<number>, s1: ArrayLike<number>, mu2: ArrayLike<number>, s2: ArrayLike<number>): number {
  const n = mu1.length;
  if (mu2.length !== n || s1.length !== n * n || s2.length !== n * n) throw new Error(`frechetDistance: sizes ${mu1.length}, ${mu2.length}, ${s1.length}, ${s2.length} do not describe two ${n}-d Gaussians`);
  let d = 0;
  for (let i = 0; i < n; i++) d += (mu1[i]! - mu2[i]!) ** 2;
  let tr = 0;
  for (let i = 0; i < n; i++) tr += s1[i * n + i]! + s2[i * n + i]!;
  return d + tr - 2 * traceSqrtProduct(s1, s2, n);
}

/** Mean and unbiased covariance (n − 1; zero for one sample) of feature rows. */
export function meanAndCovariance(rows: ArrayLike<number>[]): { mean: Float64Array; cov: Float64Array } {
  if (!rows.length) throw new Error('meanAndCovariance: no samples');
  const d = rows[0]!.length;
  for (const r of rows) if (r.length !== d) throw new Error(`meanAndCovariance: feature lengths ${d} and ${r.length} differ`);
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i]! += r[i]! / rows.length;
  const cov = new Float64Array(d * d);
  if (rows.length > 1) {
    for (const r of rows) {
      for (let i = 0; i < d; i++) {
        const ci = (r[i]! - mean[i]!) / (rows.length - 1);
        if (ci === 0) continue;
        for (let j = 0; j < d; j++) cov[i * d + j]! += ci * (r[j]! - mean[j]!);
      }
    }
  }
  return { mean, cov };
}

function centred(rows: ArrayLike<number>[], mean: Float64Array): Float64Array[] {
  return rows.map((r) => Float64Array.from(mean, (m, i) => r[i]! - m));
}

/** Fréchet distance between two sets of feature vectors (e.g. I3D features of rendered and ground-truth videos): FVD. */
export function frechetFromFeatures(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  const { mean: m1 } = meanAndCovariance(a.slice(0, 1));
  const d = m1.length;
  if (!b.length || b[0]!.length !== d) throw new Error(`frechetFromFeatures: feature lengths ${d} and ${b[0]?.length ?? 'none'}`);
  if (a.length >= d && b.length >= d) {
    const x = meanAndCovariance(a);
    const y = meanAndCovariance(b);
    return frechetDistance(x.mean, x.cov, y.mean, y.cov);
  }
  // Sample space: Gram matrices instead of d×d covariances.
  const mu1 = meanAndCovariance(a).mean;
  const mu2 = meanAndCovariance(b).mean;
  const x = centred(a, mu1);
  const y = centred(b, mu2);
  const k1 = Math.max(1, a.length - 1);
  const k2 = Math.max(1, b.length - 1);
  const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, ui, i) => s + ui * v[i]!, 0);
  let dist = 0;
  for (let i = 0; i < d; i++) dist += (mu1[i]! - mu2[i]!) ** 2;
  const tr1 = x.reduce((s, r) => s + dot(r, r), 0) / k1;
  const tr2 = y.reduce((s, r) => s + dot(r, r), 0) / k2;
  // M = X Yᵀ / sqrt(k1 k2); tr sqrt(Σ1 Σ2) = Σ singular values of M = Σ sqrt(eig(M Mᵀ)).
  const n1 = x.length;
  const M = x.map((r) => Float64Array.from(y, (c) => dot(r, c) / Math.sqrt(k1 * k2)));
  const mmt = new Float64Array(n1 * n1);
  for (let i = 0; i < n1; i++) for (let j = 0; j < n1; j++) mmt[i * n1 + j] = dot(M[i]!, M[j]!);
  const trSqrt = sumSqrtEigen(jacobiEigen(mmt, n1).values);
  return dist + tr1 + tr2 - 2 * trSqrt;
}
