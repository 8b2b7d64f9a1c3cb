// `dg4d <command>`: dispatch, usage, and the exit-code contract
// (0 success, 1 failed run or regression, 2 bad usage or input).
import { ablateCommand, ABLATE_HELP } from './commands/ablate.ts';
import { benchCommand, BENCH_HELP } from './commands/bench.ts';
import { buildCommand, BUILD_HELP } from './commands/build.ts';
import { bundleCommand, BUNDLE_HELP } from './commands/bundle.ts';
import { datasetsCommand, DATASETS_HELP } from './commands/datasets.ts';
import { infoCommand, INFO_HELP } from './commands/info.ts';
import { microbenchCommand, MICROBENCH_HELP } from './commands/microbench.ts';
import { runCommand, RUN_HELP } from './commands/run.ts';
import { reportCommand, REPORT_HELP } from './commands/report.ts';
import { compareCommand, COMPARE_HELP } from './commands/compare.ts';
import { DatasetError } from '../../datasets/validate.ts';
import { RunInputError } from '../runner/inputs.ts';
import { UsageError } from './args.ts';
import { OutputDirError } from '../report/run_dir.ts';
import { RunRecorder } from '../report/run_record.ts';
import { FaultConfigError } from '../report/fault.ts';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string; summary: string }> = {
  info: { run: infoCommand, help: INFO_HELP, summary: 'describe the WebGPU adapter, its limits and features, and the browser' },
  bench: { run: benchCommand, help: BENCH_HELP, summary: 'the main job: run the benchmark suite and write reports/<run-id>/' },
  microbench: { run: microbenchCommand, help: MICROBENCH_HELP, summary: 'kernel microbenchmarks: scan, sort, render forward/backward, one training iteration' },
  run: { run: runCommand, help: RUN_HELP, summary: 'a 4D pipeline on a dataset: image-to-4d | video-to-4d | dnerf, one or more methods' },
  ablate: { run: ablateCommand, help: ABLATE_HELP, summary: 'the ablation switches on one scene, one table' },
  report: { run: reportCommand, help: REPORT_HELP, summary: 'rebuild tables.md, tables/*.csv and report.html for a run, ablate or suite directory' },
  compare: { run: compareCommand, help: COMPARE_HELP, summary: 'compare run B against run A or a baseline file: metrics, tolerances, timing ratios' },
  datasets: { run: datasetsCommand, help: DATASETS_HELP, summary: 'render the procedural scenes into dataset folders (make) or a contact sheet (preview)' },
  build: { run: buildCommand, help: BUILD_HELP, summary: 'bundle the page core into dist/page.js' },
  bundle: { run: bundleCommand, help: BUNDLE_HELP, summary: 'pack a .tar.gz to run the bench with the dawn runtime on a server without a browser or registry' },
};

export const USAGE = `dg4d: DreamGaussian4D on WebGPU in headless Chromium (benchmark and evaluation harness)

usage: dg4d <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Run \`dg4d <command> --help\` for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write((topic && COMMANDS[topic] ? COMMANDS[topic].help : USAGE) + '\n');
    return command ? 0 : 2;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    process.stderr.write(`dg4d: unknown command '${command}'\n\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(entry.help + '\n');
    return 0;
  }
  const stopSignals = onStopSignals(command);
  try {
    return await entry.run(rest);
  } catch (err) {
    const e = err as Error;
    if (e instanceof UsageError || e instanceof OutputDirError || e instanceof DatasetError || e instanceof RunInputError || e instanceof FaultConfigError) {
      process.stderr.write(`${e.message}\n(see dg4d ${command} --help)\n`);
      return 2;
    }
    process.stderr.write(`dg4d ${command} failed: ${e.message}\n`);
    if (process.env.DG4D_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  } finally {
    stopSignals();
  }
}

/**
 * SIGINT / SIGTERM: every unfinished run directory is marked `interrupted`
 * (run.json, stages.csv), then the process exits 130 / 143; the browser's
 * process group is killed on exit (harness/browser/session.ts). Returns the
 * function that removes the handlers.
 */
function onStopSignals(command: string): () => void {
  const codes = { SIGINT: 130, SIGTERM: 143 } as const;
  const handlers = (Object.keys(codes) as (keyof typeof codes)[]).map((signal) => {
    const handler = () => {
      process.stderr.write(`\ndg4d ${command}: ${signal}: marking the run interrupted and stopping\n`);
      // Exits even if writing hangs; a second signal during the wait exits at once.
      setTimeout(() => process.exit(codes[signal]), 10_000).unref();
      process.once(signal, () => process.exit(codes[signal]));
      void RunRecorder.interruptAll(signal).finally(() => process.exit(codes[signal]));
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
}
