// `dg4d microbench` (`npm run microbench`): kernel-level timings, written as
// microbench.json (rows + environment) and microbench.csv in a run directory.
import { gaussianCloud, benchCamera } from '../../bench/gaussian_cloud.ts';
import { openSession } from '../../browser/open_session.ts';
import type { GpuSession } from '../../browser/session_types.ts';
import type { ScanBenchRow } from '../../page/scan_job.ts';
import type { SortBenchRow } from '../../page/sort_job.ts';
import { uvBenchRows } from '../../mesh/uv_unwrap_bench.ts';
import { meshBenchRows } from '../../mesh/mesh_bench.ts';
import { writeJsonAtomic } from '../../report/atomic.ts';
import { writeCsv, type CsvRow } from '../../report/csv.ts';
import { RunRecorder, presetForAdapter, type RunRecordBase } from '../../report/run_record.ts';
import { GPU_OPTIONS, GPU_OPTIONS_HELP, UsageError, adapterOption, parse, presetOption, runtimeOption, seedOption, type Preset } from '../args.ts';
import { progressPrinter } from '../progress.ts';
import { formatTable } from '../table.ts';
import type { MicrobenchCaseRow } from '../../bench/microbench_row.ts';

const SUITES = ['scan', 'sort', 'render', 'train', 'uv', 'mesh'] as const;
type Suite = (typeof SUITES)[number];

export const MICROBENCH_HELP = `usage: dg4d microbench [--only scan,sort,render,train,uv,mesh] [options]

Times the GPU kernels on their own and writes reports/<run-id>/ with
microbench.json (rows and the environment block) and microbench.csv:
  scan    u32 exclusive prefix scan, 2^16 and 2^20 keys (keys/s)
  sort    stable radix sort of (u32 key, u32 value), 2^16 and 2^20 pairs (keys/s)
  render  forward and backward of random Gaussian clouds, 10k and 100k Gaussians
          at 128^2 and 512^2 (GPU ms per pass from timestamp queries); the
          backward is the deterministic default, 'backward (cas)' the
          compare-exchange one (--reduce cas in training) beside it
  train   one full training iteration: 5k Gaussians at 128^2, forward + loss +
          backward + Adam, submitted and waited
  uv      UV unwrap of a 20k-face mesh (asm/uv_unwrap WASM beside the plain
          TypeScript refUvUnwrap, same run; CPU, Node)
  mesh    marching cubes on 64^3, 128^3, 256^3 grids (tiny: 64^3, 128^3) and
          quadric decimation of ~200k faces to a tenth (tiny: ~50k), asm/ WASM
          beside the plain TypeScript references, same run (CPU, Node)

  --only LIST                comma-separated suites (default: all)
${GPU_OPTIONS_HELP}`;

interface MicrobenchConfig {
  timeMs: number;
  minIterations: number;
  renderIterations: number;
  renderCases: { gaussians: number; size: number }[];
  /** Mesh suite: marching-cubes grid sizes and the decimation input (faces). */
  meshGrids?: number[];
  meshDecimateFaces?: number;
}

/** The grid: 10k and 100k Gaussians at 128² and 512². */
const RENDER_CASES = [10_000, 100_000].flatMap((gaussians) => [128, 512].map((size) => ({ gaussians, size })));

const CONFIGS: Record<Preset, MicrobenchConfig> = {
  tiny: { timeMs: 100, minIterations: 2, renderIterations: 1, renderCases: [{ gaussians: 10_000, size: 128 }], meshGrids: [64, 128], meshDecimateFaces: 50_000 },
  small: {
    timeMs: 1000,
    minIterations: 5,
    renderIterations: 3,
    renderCases: RENDER_CASES,
  },
  paper: {
    timeMs: 2000,
    minIterations: 20,
    renderIterations: 20,
    renderCases: RENDER_CASES,
  },
};

export interface MicrobenchRow extends MicrobenchCaseRow {
  suite: Suite;
}

interface RenderBenchResult {
  method: string;
  perLabelMs: Record<string, number>;
  forwardMs: number;
  backwardMs: number;
  wall: { count: number; medianMs: number; p90Ms: number };
  intersections: number;
}

interface TrainStepResult {
  medianMs: number;
  p90Ms: number;
  samples: number;
  gpuMedianMs: number;
  perLabelMedianMs: Record<string, number>;
  timing?: string;
}

interface MicrobenchRecord extends RunRecordBase {
  command: 'microbench';
  config: MicrobenchConfig & { suites: Suite[] };
  results?: { rows: MicrobenchRow[] };
}

export const MICROBENCH_CSV_COLUMNS = ['suite', 'case', 'n', 'size', 'samples', 'median_ms', 'p90_ms', 'gpu_median_ms', 'throughput', 'throughput_unit', 'timing'];

function parseSuites(value: string | undefined): Suite[] {
  if (!value) return [...SUITES];
  const list = value.split(',').map((s) => s.trim());
  for (const s of list) if (!(SUITES as readonly string[]).includes(s)) throw new UsageError(`--only: unknown suite '${s}' (known: ${SUITES.join(', ')})`);
  return list as Suite[];
}

const keysRow = (suite: Suite, r: ScanBenchRow | SortBenchRow, name: string): MicrobenchRow => ({
  suite,
  case: name,
  n: r.n,
  size: null,
  samples: r.samples,
  medianMs: r.medianMs,
  p90Ms: r.p90Ms,
  gpuMedianMs: r.gpuMedianMs,
  throughput: r.gpuKeysPerSecond,
  throughputUnit: 'keys/s (GPU)',
  timing: 'timing' in r ? r.timing : 'timestamp',
});

async function runSuite(session: GpuSession, suite: Suite, cfg: MicrobenchConfig, seed: number, log: (s: string) => void): Promise<MicrobenchRow[]> {
  const sizes = [2 ** 16, 2 ** 20];
  switch (suite) {
    case 'scan': {
      const rows = await session.run<ScanBenchRow[]>('scanBench', { sizes, timeMs: cfg.timeMs, minIterations: cfg.minIterations });
      return rows.map((r) => keysRow('scan', r, `scan_${r.variant}`));
    }
    case 'sort': {
      const rows = await session.run<SortBenchRow[]>('sortBench', { sizes, timeMs: cfg.timeMs, minIterations: cfg.minIterations });
      return rows.map((r) => keysRow('sort', r, `sort_${r.keyBits}bit`));
    }
    case 'render': {
      const out: MicrobenchRow[] = [];
      for (const c of cfg.renderCases) {
        log(`[microbench] render: ${c.gaussians} Gaussians at ${c.size}^2`);
        const r = await session.run<RenderBenchResult>('renderBench', { params: gaussianCloud(c.gaussians, seed), camera: benchCamera(c.size), iterations: cfg.renderIterations });
        const base = { n: c.gaussians, size: c.size, samples: cfg.renderIterations, timing: r.method, throughput: null, throughputUnit: null };
        // Wall time covers forward and backward together; the GPU split comes from timestamps.
        out.push({ suite: 'render', case: 'forward', ...base, medianMs: NaN, p90Ms: NaN, gpuMedianMs: r.forwardMs, detail: { intersections: r.intersections } });
        out.push({ suite: 'render', case: 'backward', ...base, medianMs: NaN, p90Ms: NaN, gpuMedianMs: r.backwardMs });
        out.push({ suite: 'render', case: 'forward+backward', ...base, medianMs: r.wall.medianMs, p90Ms: r.wall.p90Ms, gpuMedianMs: r.forwardMs + r.backwardMs, detail: r.perLabelMs });
        // The default backward is deterministic ('ordered'); the compare-exchange one beside it shows what that costs.
        const cas = await session.run<RenderBenchResult>('renderBench', { params: gaussianCloud(c.gaussians, seed), camera: benchCamera(c.size), iterations: cfg.renderIterations, reduce: 'cas' });
        out.push({ suite: 'render', case: 'backward (cas)', ...base, timing: cas.method, medianMs: NaN, p90Ms: NaN, gpuMedianMs: cas.backwardMs, detail: cas.perLabelMs });
      }
      return out;
    }
    case 'train': {
      const r = await session.run<TrainStepResult>('trainStepBench', { gaussians: 5000, size: 128, timeMs: cfg.timeMs, minIterations: cfg.minIterations, seed });
      return [
        {
          suite: 'train',
          case: 'iteration',
          n: 5000,
          size: 128,
          samples: r.samples,
          medianMs: r.medianMs,
          p90Ms: r.p90Ms,
          gpuMedianMs: r.gpuMedianMs,
          throughput: 1000 / r.medianMs,
          throughputUnit: 'iterations/s',
          timing: r.timing ?? 'timestamp',
          detail: r.perLabelMedianMs,
        },
      ];
    }
    case 'uv':
      return (await uvBenchRows({ timeMs: cfg.timeMs, minIterations: cfg.minIterations, seed })).map((r) => ({ suite: 'uv', ...r }));
    case 'mesh': {
      // The TypeScript references take seconds at 256^3 and 200k faces: at most 3 samples each.
      const mesh = { grids: cfg.meshGrids ?? [64, 128, 256], decimateFaces: cfg.meshDecimateFaces ?? 200_000, timeMs: cfg.timeMs, minIterations: Math.min(cfg.minIterations, 3) };
      return (await meshBenchRows(mesh, log)).map((r) => ({ suite: 'mesh', ...r }));
    }
  }
}

const fmt = (n: number | null, digits = 2) => (n !== null && Number.isFinite(n) ? n.toFixed(digits) : '-');

export function formatMicrobenchTable(rows: MicrobenchRow[]): string {
  return formatTable(
    ['suite', 'case', 'n', 'size', 'median ms', 'p90 ms', 'GPU ms', 'throughput'],
    rows.map((r) => [
      r.suite,
      r.case,
      String(r.n),
      r.size === null ? '-' : `${r.size}^2`,
      fmt(r.medianMs),
      fmt(r.p90Ms),
      fmt(r.gpuMedianMs),
      r.throughput === null ? '-' : `${(r.throughput >= 1e6 ? r.throughput / 1e6 : r.throughput).toFixed(1)}${r.throughput >= 1e6 ? 'M' : ''} ${r.throughputUnit}`,
    ]),
  );
}

export async function microbenchCommand(argv: string[]): Promise<number> {
  const opts = parse('microbench', argv, { ...GPU_OPTIONS, only: { type: 'string' } });
  const adapter = adapterOption(opts.adapter);
  const requestedPreset = presetOption(opts.preset);
  const seed = seedOption(opts.seed);
  const suites = parseSuites(opts.only);
  const run = await RunRecorder.create<MicrobenchRecord>(opts.out, {
    command: 'microbench',
    preset: requestedPreset ?? 'small',
    seed,
    prior: 'none',
    config: { ...CONFIGS[requestedPreset ?? 'small'], suites },
  });
  const log = (s: string) => opts.quiet || process.stderr.write(s + '\n');
  log(`run directory: ${run.dir}`);
  const session = await openSession({ adapter, runtime: runtimeOption(opts.runtime), runDir: run.dir, quiet: opts.quiet, onMessage: progressPrinter(opts.quiet) });
  try {
    const info = await session.adapterInfo();
    const preset = presetForAdapter(requestedPreset, info, 'small', 'paper');
    run.record.preset = preset;
    run.record.config = { ...CONFIGS[preset], suites };
    const environment = run.setEnvironment(session, info);
    await run.save();
    log(`adapter: ${info.description} (${session.adapterFlags}); preset ${preset}`);
    const rows: MicrobenchRow[] = [];
    for (const suite of suites) {
      log(`[microbench] ${suite}`);
      rows.push(...(await runSuite(session, suite, run.record.config, seed, log)));
    }
    run.record.results = { rows };
    await writeJsonAtomic(run.path('microbench.json'), { environment, preset, seed, rows });
    await writeCsv(
      run.path('microbench.csv'),
      rows.map((r): CsvRow => ({
        suite: r.suite,
        case: r.case,
        n: r.n,
        size: r.size,
        samples: r.samples,
        median_ms: r.medianMs,
        p90_ms: r.p90Ms,
        gpu_median_ms: r.gpuMedianMs,
        throughput: r.throughput,
        throughput_unit: r.throughputUnit,
        timing: r.timing,
      })),
      MICROBENCH_CSV_COLUMNS,
    );
    await run.complete();
    if (opts.json) process.stdout.write(JSON.stringify({ runDir: run.dir, ...run.record }, null, 2) + '\n');
    else process.stdout.write(`\nmicrobenchmarks, ${info.description} (${preset})\n${formatMicrobenchTable(rows)}\n\nwrote ${run.dir}\n`);
    return 0;
  } catch (err) {
    await run.fail(err);
    throw err;
  } finally {
    await session.close();
  }
}
