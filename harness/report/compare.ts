// `dg4d compare A B`: B against A (a run directory or a baseline file), metric
// by metric and timing by timing. A quality metric regresses when it moves in
// its worse direction by more than its tolerance (absolute, in the metric's
// units, or a percentage of A's value); timings are reported as B/A ratios and
// never gate (machines differ, and the machine running CI is shared).
import type { KernelTime, MetricMeans, RunSummary, StageTime } from './baseline.ts';

export type Direction = 'higher' | 'lower';

/** Which way is better, for the metric columns we know. Others are shown, never gated. */
export const METRIC_DIRECTION: Record<string, Direction> = {
  psnr: 'higher',
  ssim: 'higher',
  psnr_masked: 'higher',
  ssim_masked: 'higher',
  clip: 'higher',
  clip_i: 'higher',
  fscore: 'higher',
  lpips: 'lower',
  fvd: 'lower',
  chamfer: 'lower',
  chamfer_rel: 'lower',
  // Mean frame-to-frame change of the renders that the ground truth does not have.
  tc_error: 'lower',
};

export interface Tolerance {
  value: number;
  /** `value` is a percentage of A's value rather than an absolute difference. */
  relative: boolean;
}

/**
 * Default tolerances (README "Comparing runs"): half a dB of PSNR, 0.01 of SSIM,
 * LPIPS, CLIP and CLIP-I, 5 % of FVD, 0.02 of F-score. A metric with a known
 * direction but no tolerance (chamfer: its units are the scene's) is shown, not gated.
 */
export const DEFAULT_TOLERANCES: Record<string, Tolerance> = {
  psnr: { value: 0.5, relative: false },
  ssim: { value: 0.01, relative: false },
  psnr_masked: { value: 0.5, relative: false },
  ssim_masked: { value: 0.01, relative: false },
  lpips: { value: 0.01, relative: false },
  clip: { value: 0.01, relative: false },
  clip_i: { value: 0.01, relative: false },
  fvd: { value: 5, relative: true },
  fscore: { value: 0.02, relative: false },
  chamfer_rel: { value: 10, relative: true },
};

export class ToleranceSyntaxError extends Error {
  override name = 'ToleranceSyntaxError';
}

/** `psnr=0.5,ssim=0.01,fvd=5%` over the defaults. */
export function parseTolerances(spec: string | undefined, base: Record<string, Tolerance> = DEFAULT_TOLERANCES): Record<string, Tolerance> {
  const out = { ...base };
  if (spec === undefined) return out;
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9_]*)=(\d+(?:\.\d*)?|\.\d+)(%?)$/i.exec(part);
    if (!m) throw new ToleranceSyntaxError(`--tolerance: '${part}' is not METRIC=VALUE or METRIC=PERCENT% (e.g. psnr=0.5,ssim=0.01,fvd=5%)`);
    out[m[1]!.toLowerCase()] = { value: Number(m[2]), relative: m[3] === '%' };
  }
  return out;
}

export type MetricStatus = 'ok' | 'improved' | 'regressed' | 'not gated' | 'missing in B' | 'new in B' | 'no value';

export interface MetricComparison {
  scene: string;
  task: string;
  method: string;
  set: string;
  metric: string;
  direction: Direction | null;
  a: number | null;
  b: number | null;
  /** b − a. */
  delta: number | null;
  /** Allowed worsening in the metric's units (relative tolerances resolved against a). */
  tolerance: number | null;
  status: MetricStatus;
}

export interface TimingComparison {
  scene: string;
  task: string;
  stage: string;
  method: string;
  kernel?: string;
  a_ms: number | null;
  b_ms: number | null;
  /** b / a (above 1: B slower). */
  ratio: number | null;
}

export interface Comparison {
  a: { label: string; runId: string; preset: string; prior: string; adapter: string; commit: string | null };
  b: { label: string; runId: string; preset: string; prior: string; adapter: string; commit: string | null };
  tolerances: Record<string, Tolerance>;
  metrics: MetricComparison[];
  stages: TimingComparison[];
  kernels: TimingComparison[];
  /** Geometric means of the stage and kernel ratios over the keys both have. */
  summary: { regressions: number; missing: number; stageRatio: number | null; kernelRatio: number | null };
}

const metricKey = (m: MetricMeans) => `${m.scene}|${m.task}|${m.method}|${m.set}`;
const stageKey = (s: StageTime) => `${s.scene}|${s.task}|${s.stage}|${s.method}`;
const kernelKey = (k: KernelTime) => `${k.scene}|${k.task}|${k.stage}|${k.method}|${k.kernel}`;

function geoMean(xs: number[]): number | null {
  const ok = xs.filter((x) => Number.isFinite(x) && x > 0);
  return ok.length ? Math.exp(ok.reduce((s, x) => s + Math.log(x), 0) / ok.length) : null;
}

/** Judges one metric value pair. */
export function judge(metric: string, a: number | null, b: number | null, tolerances: Record<string, Tolerance>): Pick<MetricComparison, 'direction' | 'delta' | 'tolerance' | 'status'> {
  const direction = METRIC_DIRECTION[metric] ?? null;
  if (a === null || b === null) return { direction, delta: null, tolerance: null, status: a === null && b === null ? 'no value' : a === null ? 'new in B' : 'missing in B' };
  const delta = b - a;
  const t = tolerances[metric];
  if (!direction || !t) return { direction, delta, tolerance: null, status: 'not gated' };
  const tolerance = t.relative ? (Math.abs(a) * t.value) / 100 : t.value;
  const worse = direction === 'higher' ? -delta : delta;
  return { direction, delta, tolerance, status: worse > tolerance ? 'regressed' : worse < -tolerance ? 'improved' : 'ok' };
}

function side(label: string, s: RunSummary): Comparison['a'] {
  const runtime = s.environment.runtime && s.environment.runtime !== 'chromium' ? ` on ${s.environment.runtime}` : '';
  return { label, runId: s.source.runId, preset: s.preset, prior: s.prior, adapter: s.environment.adapter + runtime, commit: s.environment.commit };
}

function timings<T extends StageTime | KernelTime>(a: T[], b: T[], key: (x: T) => string, ms: (x: T) => number, extra: (x: T) => Partial<TimingComparison>): TimingComparison[] {
  const bm = new Map(b.map((x) => [key(x), x]));
  const am = new Map(a.map((x) => [key(x), x]));
  const out: TimingComparison[] = [];
  for (const x of a) {
    const y = bm.get(key(x));
    const am_ = ms(x);
    const bm_ = y ? ms(y) : null;
    out.push({ scene: x.scene, task: x.task, stage: x.stage, method: x.method, ...extra(x), a_ms: am_, b_ms: bm_, ratio: bm_ !== null && am_ > 0 ? bm_ / am_ : null });
  }
  for (const y of b) if (!am.has(key(y))) out.push({ scene: y.scene, task: y.task, stage: y.stage, method: y.method, ...extra(y), a_ms: null, b_ms: ms(y), ratio: null });
  return out;
}

/** Compares B against A. Rows of A missing from B count as missing (a regression unless allowed). */
export function compareSummaries(a: RunSummary, b: RunSummary, o: { tolerances?: Record<string, Tolerance>; labels?: [string, string] } = {}): Comparison {
  const tolerances = o.tolerances ?? DEFAULT_TOLERANCES;
  const bm = new Map(b.metrics.map((m) => [metricKey(m), m]));
  const am = new Map(a.metrics.map((m) => [metricKey(m), m]));
  const metrics: MetricComparison[] = [];
  const row = (m: MetricMeans, metric: string, av: number | null, bv: number | null) => metrics.push({ scene: m.scene, task: m.task, method: m.method, set: m.set, metric, a: av, b: bv, ...judge(metric, av, bv, tolerances) });
  for (const ma of a.metrics) {
    const mb = bm.get(metricKey(ma));
    for (const metric of new Set([...Object.keys(ma.means), ...Object.keys(mb?.means ?? {})])) row(ma, metric, ma.means[metric] ?? null, mb?.means[metric] ?? null);
  }
  for (const mb of b.metrics) if (!am.has(metricKey(mb))) for (const metric of Object.keys(mb.means)) row(mb, metric, null, mb.means[metric] ?? null);
  const stages = timings(a.stages, b.stages, stageKey, (s) => s.wall_ms, () => ({}));
  const kernels = timings(a.kernels, b.kernels, kernelKey, (k) => k.median_ms, (k) => ({ kernel: k.kernel }));
  return {
    a: side(o.labels?.[0] ?? a.source.dir, a),
    b: side(o.labels?.[1] ?? b.source.dir, b),
    tolerances,
    metrics,
    stages,
    kernels,
    summary: {
      regressions: metrics.filter((m) => m.status === 'regressed').length,
      // Missing values only count where A had a number to keep.
      missing: metrics.filter((m) => m.status === 'missing in B' && m.a !== null).length,
      stageRatio: geoMean(stages.map((s) => s.ratio ?? NaN)),
      kernelRatio: geoMean(kernels.map((k) => k.ratio ?? NaN)),
    },
  };
}

const f = (v: number | null, d = 4) => (v === null ? '–' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(d));
const sign = (v: number | null, d = 4) => (v === null ? '–' : `${v >= 0 ? '+' : ''}${f(v, d)}`);
const ratio = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}x`);

function mdTable(head: string[], rows: string[][]): string {
  return ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|', ...rows.map((r) => '| ' + r.map((c) => c.replace(/\|/g, '\\|')).join(' | ') + ' |')].join('\n');
}

/** The comparison as Markdown (compare.md; the terminal shows the same tables). */
export function comparisonMarkdown(c: Comparison, o: { kernels?: number } = {}): string {
  const tol = Object.entries(c.tolerances)
    .map(([k, t]) => `${k} ${t.relative ? `${t.value} %` : t.value}`)
    .join(', ');
  const metricRows = c.metrics
    .filter((m) => m.status !== 'no value')
    .map((m) => [m.scene, m.task, m.method, m.set, m.metric, m.direction ?? '?', f(m.a), f(m.b), sign(m.delta), m.tolerance === null ? '–' : f(m.tolerance), m.status]);
  const stageRows = c.stages.map((s) => [s.scene, s.task, s.stage, s.method, f(s.a_ms === null ? null : s.a_ms / 1000, 2), f(s.b_ms === null ? null : s.b_ms / 1000, 2), ratio(s.ratio)]);
  const ks = [...c.kernels].sort((x, y) => (y.a_ms ?? 0) - (x.a_ms ?? 0)).slice(0, o.kernels ?? 20);
  const kernelRows = ks.map((k) => [k.scene, k.task, k.stage, k.method, k.kernel ?? '', f(k.a_ms, 3), f(k.b_ms, 3), ratio(k.ratio)]);
  const verdict = c.summary.regressions || c.summary.missing ? `**${c.summary.regressions} regression(s), ${c.summary.missing} value(s) missing in B**` : 'no regression beyond tolerance';
  return [
    `# dg4d compare`,
    '',
    `A: ${c.a.label} (run ${c.a.runId}, preset ${c.a.preset}, prior: ${c.a.prior}, ${c.a.adapter}, commit ${c.a.commit ?? 'unknown'})`,
    `B: ${c.b.label} (run ${c.b.runId}, preset ${c.b.preset}, prior: ${c.b.prior}, ${c.b.adapter}, commit ${c.b.commit ?? 'unknown'})`,
    '',
    `Verdict: ${verdict}. Tolerances (worsening allowed): ${tol}.`,
    '',
    '## Metrics (means over views and frames; delta = B − A)',
    '',
    mdTable(['scene', 'task', 'method', 'set', 'metric', 'better', 'A', 'B', 'delta', 'tolerance', 'status'], metricRows),
    '',
    `## Stage wall times (s; ratio B/A, geometric mean ${ratio(c.summary.stageRatio)})`,
    '',
    mdTable(['scene', 'task', 'stage', 'method', 'A s', 'B s', 'B/A'], stageRows),
    '',
    `## Kernel medians (ms per dispatch; the ${ks.length} with most time in A of ${c.kernels.length}; geometric mean of all ratios ${ratio(c.summary.kernelRatio)})`,
    '',
    mdTable(['scene', 'task', 'stage', 'method', 'kernel', 'A ms', 'B ms', 'B/A'], kernelRows),
    '',
  ].join('\n');
}
