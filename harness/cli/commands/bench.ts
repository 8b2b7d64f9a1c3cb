// `dg4d bench`: the main job. Grows with each pipeline stage; today it describes
// the adapter, times the prefix scan at 2^16, 2^20 and 2^24 keys, and runs the
// static stage on the built-in synthetic Gaussian scene.
import { BrowserSession } from '../../browser/session.ts';
import type { ScanBenchRow } from '../../page/scan_job.ts';
import type { StaticJobResult } from '../../page/static_job.ts';
import { PRIORS, type PriorKind } from '../../pipeline/presets.ts';
import { writePlyFile } from '../../splat/ply.ts';
import { summarize } from '../../util/stats.ts';
import { writeCsv } from '../../report/csv.ts';
import { RunRecorder, presetForAdapter, type RunRecordBase } from '../../report/run_record.ts';
import { GPU_OPTIONS, GPU_OPTIONS_HELP, UsageError, adapterOption, parse, presetOption, seedOption, type Preset } from '../args.ts';
import { progressPrinter } from '../progress.ts';
import { formatTable } from '../table.ts';
import { formatInfo } from './info.ts';

export const BENCH_HELP = `usage: dg4d bench [options]

The main job: starts headless Chromium, describes the WebGPU adapter, runs the
benchmark suite and writes reports/<run-id>/: run.json, bench.csv, stages.csv,
kernels.csv, static_loss.csv and static.ply. Today's suite:
  - the u32 exclusive prefix scan at 2^16, 2^20 and 2^24 keys, each variant,
    timed with tinybench (wall time per encode+submit+wait) and GPU timestamps;
  - the static stage (DG4D's DreamGaussianHD fit) on the built-in synthetic
    Gaussian scene, with the preset's schedule; PSNR on held-out views.

  --prior oracle|reference   what supervises training views other than the
                             reference view (default oracle: ground-truth posed
                             training views, shown as "prior: oracle" everywhere)
${GPU_OPTIONS_HELP}`;

/** Scan sizes and timing budget per preset; tiny keeps CI short. */
const SCAN_PRESETS: Record<Preset, { sizes: number[]; timeMs: number; minIterations: number }> = {
  tiny: { sizes: [2 ** 16, 2 ** 20], timeMs: 200, minIterations: 3 },
  small: { sizes: [2 ** 16, 2 ** 20, 2 ** 24], timeMs: 1000, minIterations: 5 },
  paper: { sizes: [2 ** 16, 2 ** 20, 2 ** 24], timeMs: 2000, minIterations: 20 },
};

export const BENCH_CSV_COLUMNS = ['benchmark', 'variant', 'n', 'samples', 'median_ms', 'p90_ms', 'keys_per_s', 'gpu_median_ms', 'gpu_p90_ms', 'gpu_keys_per_s', 'gpu_timing'];
export const KERNEL_CSV_COLUMNS = ['stage', 'kernel', 'variant', 'n', 'samples', 'median_ms', 'p90_ms', 'total_ms', 'timing'];
export const STAGE_CSV_COLUMNS = ['stage', 'prior', 'preset', 'iterations', 'wall_ms', 'train_ms', 'iters_per_s', 'gaussians', 'psnr_train', 'psnr_test'];

type StaticSummary = Omit<StaticJobResult, 'params' | 'timings' | 'testImages'>;

interface BenchRecord extends RunRecordBase {
  command: 'bench';
  config: { scan: (typeof SCAN_PRESETS)[Preset]; static: { prior: PriorKind } };
  results?: { scan: ScanBenchRow[]; static?: StaticSummary };
}

function priorOption(value: string | undefined): PriorKind {
  const v = value ?? 'oracle';
  if (!(PRIORS as readonly string[]).includes(v)) throw new UsageError(`--prior must be one of ${PRIORS.join(', ')}, got '${v}'`);
  return v as PriorKind;
}

export function formatStaticTable(r: StaticSummary): string {
  return formatTable(
    ['stage', 'prior', 'iterations', 'time s', 'it/s', 'Gaussians', 'PSNR train', 'PSNR held-out'],
    [['static', r.prior, String(r.iterations), fmt(r.wallMs / 1000, 1), fmt(r.itersPerSecond, 1), String(r.gaussians), fmt(r.psnrTrain), fmt(r.psnrTest)]],
  );
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function formatScanTable(rows: ScanBenchRow[]): string {
  return formatTable(
    ['variant', 'keys', 'median ms', 'p90 ms', 'Mkeys/s', 'GPU median ms', 'GPU Mkeys/s'],
    rows.map((r) => [r.variant, `2^${Math.log2(r.n)}`, fmt(r.medianMs), fmt(r.p90Ms), fmt(r.keysPerSecond / 1e6, 1), fmt(r.gpuMedianMs), fmt(r.gpuKeysPerSecond / 1e6, 1)]),
  );
}

export async function benchCommand(argv: string[]): Promise<number> {
  const opts = parse('bench', argv, { ...GPU_OPTIONS, prior: { type: 'string' } });
  const adapter = adapterOption(opts.adapter);
  const prior = priorOption(opts.prior);
  const requestedPreset = presetOption(opts.preset);
  const seed = seedOption(opts.seed);
  const run = await RunRecorder.create<BenchRecord>(opts.out, {
    command: 'bench',
    preset: requestedPreset ?? 'small',
    seed,
    prior,
    config: { scan: SCAN_PRESETS[requestedPreset ?? 'small'], static: { prior } },
  });
  const log = (s: string) => opts.quiet || process.stderr.write(s + '\n');
  log(`run directory: ${run.dir}`);

  const session = await BrowserSession.open({ adapter, runDir: run.dir, quiet: opts.quiet, onMessage: progressPrinter(opts.quiet) });
  try {
    const info = await session.adapterInfo();
    const record = run.record;
    record.preset = presetForAdapter(requestedPreset, info, 'small', 'paper');
    record.config = { scan: SCAN_PRESETS[record.preset as Preset], static: { prior } };
    run.setEnvironment(session, info);
    await run.save();
    log(formatInfo({ browser: { version: session.browserVersion, adapterFlags: session.adapterFlags }, adapter: info }));
    log(`\npreset ${record.preset}: timing the prefix scan at ${record.config.scan.sizes.map((n) => `2^${Math.log2(n)}`).join(', ')} keys`);

    const rows = await session.run<ScanBenchRow[]>('scanBench', { ...record.config.scan });
    await writeCsv(
      run.path('bench.csv'),
      rows.map((r) => ({
        benchmark: 'scan',
        variant: r.variant,
        n: r.n,
        samples: r.samples,
        median_ms: r.medianMs,
        p90_ms: r.p90Ms,
        keys_per_s: r.keysPerSecond,
        gpu_median_ms: r.gpuMedianMs,
        gpu_p90_ms: r.gpuP90Ms,
        gpu_keys_per_s: r.gpuKeysPerSecond,
        gpu_timing: r.timing,
      })),
      BENCH_CSV_COLUMNS,
    );
    log(`\nstatic stage: preset ${record.preset}, prior: ${prior}, built-in synthetic Gaussian scene`);
    const { params, timings, ...staticSummary } = await session.run<StaticJobResult>('staticStage', { preset: record.preset, prior, seed });
    await writePlyFile(run.path('static.ply'), params);
    await writeCsv(
      run.path('stages.csv'),
      [
        {
          stage: 'static',
          prior,
          preset: record.preset,
          iterations: staticSummary.iterations,
          wall_ms: staticSummary.wallMs,
          train_ms: staticSummary.trainMs,
          iters_per_s: staticSummary.itersPerSecond,
          gaussians: staticSummary.gaussians,
          psnr_train: staticSummary.psnrTrain,
          psnr_test: staticSummary.psnrTest,
        },
      ],
      STAGE_CSV_COLUMNS,
    );
    await writeCsv(run.path('static_loss.csv'), staticSummary.lossCurve.map((p) => ({ ...p })), Object.keys(staticSummary.lossCurve[0] ?? { iter: 0, loss: 0 }));
    const staticKernels = Object.entries(timings?.samples ?? {}).map(([label, samples]) => {
      const st = summarize(samples);
      return { stage: 'static', kernel: label, variant: '', n: staticSummary.gaussians, samples: st.count, median_ms: st.medianMs, p90_ms: st.p90Ms, total_ms: st.totalMs, timing: timings?.method ?? '' };
    });
    await writeCsv(
      run.path('kernels.csv'),
      [
        ...rows.map((r) => ({ stage: 'bench', kernel: 'scan', variant: r.variant, n: r.n, samples: r.samples, median_ms: r.gpuMedianMs, p90_ms: r.gpuP90Ms, total_ms: r.gpuMedianMs * r.samples, timing: r.timing })),
        ...staticKernels,
      ],
      KERNEL_CSV_COLUMNS,
    );
    record.results = { scan: rows, static: staticSummary };
    await run.complete();
    if (opts.json) process.stdout.write(JSON.stringify({ runDir: run.dir, ...record }, null, 2) + '\n');
    else {
      process.stdout.write(`\nprefix scan, ${info.description} (wall = encode+submit+wait; GPU = timestamp queries)\n${formatScanTable(rows)}\n`);
      process.stdout.write(`\nstatic stage, preset ${record.preset}, prior: ${prior}, ${info.description}, built-in synthetic scene (PSNR in dB on held-out views)\n${formatStaticTable(staticSummary)}\n`);
      process.stdout.write(`\nwrote ${run.dir}\n`);
    }
    return 0;
  } catch (err) {
    await run.fail(err);
    throw err;
  } finally {
    await session.close();
  }
}
