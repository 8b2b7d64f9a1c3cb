// Order statistics for timing samples (pure; used by page and host alike).

/** Linear-interpolated quantile, q in [0, 1]; NaN for no samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export interface Summary {
  count: number;
  medianMs: number;
  p90Ms: number;
  meanMs: number;
  minMs: number;
  totalMs: number;
}

export function summarize(samplesMs: readonly number[]): Summary {
  const total = samplesMs.reduce((a, b) => a + b, 0);
  return {
    count: samplesMs.length,
    medianMs: quantile(samplesMs, 0.5),
    p90Ms: quantile(samplesMs, 0.9),
    meanMs: samplesMs.length ? total / samplesMs.length : NaN,
    minMs: samplesMs.length ? Math.min(...samplesMs) : NaN,
    totalMs: total,
  };
}
