// One row of `dg4d microbench` (microbench.json / .csv) without its suite name:
// the shape every suite's bench module returns.
export interface MicrobenchCaseRow {
  case: string;
  n: number;
  size: number | null;
  samples: number;
  /** Wall time per call (encode, submit, wait). */
  medianMs: number;
  p90Ms: number;
  /** GPU time from timestamp queries (or queue wall time, see timing). */
  gpuMedianMs: number;
  throughput: number | null;
  throughputUnit: string | null;
  timing: string;
  detail?: Record<string, number>;
}
