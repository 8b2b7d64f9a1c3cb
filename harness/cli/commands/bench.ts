// `dg4d bench` (`npm run bench`): the main job. Runs the suite of
// harness/runner/suite.ts on the built-in scenes with the preset that fits the
// adapter, one run directory per (scene, task) under scenes/, their CSVs
// concatenated at the top, and prints a summary table per task.
import { join } from 'node:path';
import { sceneNames } from '../../../datasets/scenes/index.ts';
import { openSession } from '../../browser/open_session.ts';
import { PRIORS, type PresetName, type PriorKind } from '../../pipeline/presets.ts';
import { writeReport } from '../../report/html.ts';
import { screenshotReport } from '../../report/screenshot.ts';
import { loadReference } from '../../report/reference.ts';
import { loadRunData } from '../../report/run_data.ts';
import { RunRecorder, presetForAdapter, type RunRecordBase } from '../../report/run_record.ts';
import { tablesMarkdown, writeTables } from '../../report/tables.ts';
import { entryDirName, loadSuiteInputs, runSuiteEntry, suitePlan, writeSuiteCsvs, type StaticFitCache, type SuiteEntry, type SuiteEntryResult } from '../../runner/suite.ts';
import { GPU_OPTIONS, GPU_OPTIONS_HELP, UsageError, adapterOption, parse, presetOption, runtimeOption, seedOption } from '../args.ts';
import { progressPrinter } from '../progress.ts';
import { formatTable } from '../table.ts';
import { formatInfo } from './info.ts';

export const BENCH_HELP = `usage: dg4d bench [options]

The main job: starts headless Chromium, describes the WebGPU adapter and runs
the suite on the built-in synthetic scenes, writing reports/<run-id>/:
run.json (environment, preset, plan, per-run summaries), stages.csv,
kernels.csv, metrics.csv and loss.csv (every run's rows, led by scene and
task), tables.md and tables/*.csv (measured rows beside the papers' reported
rows), report.html (self-contained) and report.png (how headless Chromium
renders it), and scenes/<scene>-<task>/ with each
run's own files (as dg4d run writes them: static.ply, renders/, results.md ...).

The suite per preset:
  tiny   video-to-4d on walker: dg4d-fast and static, meshes of dg4d-fast
         (CI smoke run)
  small  (default on a software adapter; under 15 minutes on 2 CPU cores)
         video-to-4d on every built-in scene with dg4d and static, plus
         dg4d-fast on walker; image-to-4d on walker (dg4d; its static fit is
         video-to-4d's: the same image and views); dnerf on balls
         (deformable-3dgs); 128^2 renders, short schedules (methods.ts)
  paper  (default on a GPU) every method on every scene and task

  --scenes LIST              comma-separated subset of the built-in scenes
  --no-mesh                  skip the mesh, uv, bake and refine stages (by default
                             tiny meshes dg4d-fast, small dg4d on every video-to-4d
                             scene (every 8th frame), paper dg4d and dg4d-fast:
                             scenes/<run>/mesh/<method>/frame_NNN.obj/.mtl/.png,
                             animated.glb, geometry.csv)
  --prior oracle|reference   what supervises views other than the reference view
                             (default oracle: ground-truth posed training views,
                             shown as "prior: oracle" everywhere; dnerf always
                             trains on its training split, i.e. oracle)
${GPU_OPTIONS_HELP}`;

interface BenchRecord extends RunRecordBase {
  command: 'bench';
  plan: SuiteEntry[];
  results?: {
    runs: {
      scene: string;
      task: string;
      dir: string;
      prior: string;
      staticMs: number;
      staticSharedWith: string | null;
      methods: { label: string; summary: SuiteEntryResult['outcomes'][number]['summary']; dynamicMs: number | null; evalMs: number }[];
      mesh: ({ label: string } & SuiteEntryResult['mesh'][number]['summary'])[];
    }[];
    wallMs: number;
  };
}

function priorOption(value: string | undefined): PriorKind {
  const v = value ?? 'oracle';
  if (!(PRIORS as readonly string[]).includes(v)) throw new UsageError(`--prior must be one of ${PRIORS.join(', ')}, got '${v}'`);
  return v as PriorKind;
}

function scenesOption(value: string | undefined): string[] {
  const known = sceneNames();
  if (value === undefined) return known;
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!known.includes(s)) throw new UsageError(`--scenes: unknown scene '${s}' (known: ${known.join(', ')})`);
  if (!list.length) throw new UsageError('--scenes: give at least one scene');
  return [...new Set(list)];
}

const fmt = (n: number | undefined, digits = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** One table per task: a row per (scene, method) with each evaluation set's PSNR/SSIM and the stage times. */
export function formatSuiteTables(results: SuiteEntryResult[]): string {
  const out: string[] = [];
  for (const task of [...new Set(results.map((r) => r.entry.task))]) {
    const of = results.filter((r) => r.entry.task === task);
    const sets = [...new Set(of.flatMap((r) => Object.keys(r.inputs.eval)))];
    const header = ['scene', 'method', ...sets.flatMap((s) => [`${s} PSNR`, `${s} SSIM`]), 'static s', 'dynamic s', 'eval s'];
    const rows = of.flatMap((r) =>
      r.outcomes.map((o) => [
        r.entry.scene,
        o.label,
        ...sets.flatMap((s) => [fmt(o.summary[s]?.psnr), fmt(o.summary[s]?.ssim, 4)]),
        fmt(r.staticMs / 1000, 1) + (r.staticSharedWith ? ` (shared with ${r.staticSharedWith})` : ''),
        o.result.dynamic ? fmt(o.result.dynamic.wallMs / 1000, 1) : '-',
        fmt(o.result.evalMs / 1000, 1),
      ]),
    );
    out.push(`${task}, prior: ${[...new Set(of.map((r) => r.prior))].join(', ')}\n${formatTable(header, rows)}`);
  }
  const meshRows = results.flatMap((r) =>
    r.mesh.map((m) => [r.entry.scene, r.entry.task, m.label, String(m.summary.frames), String(m.summary.faces), m.summary.chamferRel === null ? 'n/a' : fmt(100 * m.summary.chamferRel, 2), m.summary.fscore === null ? 'n/a' : fmt(m.summary.fscore, 3), fmt(m.summary.packingEfficiency, 2)]),
  );
  if (meshRows.length) out.push(`meshes (Chamfer as % of the ground truth's bounding-box diagonal, F-score at 1 %)\n${formatTable(['scene', 'task', 'method', 'frames', 'faces', 'Chamfer %', 'F-score', 'UV packing'], meshRows)}`);
  return out.join('\n\n');
}

export async function benchCommand(argv: string[]): Promise<number> {
  const opts = parse('bench', argv, { ...GPU_OPTIONS, prior: { type: 'string' }, scenes: { type: 'string' }, 'no-mesh': { type: 'boolean', default: false } });
  const adapter = adapterOption(opts.adapter);
  const prior = priorOption(opts.prior);
  const requestedPreset = presetOption(opts.preset);
  const seed = seedOption(opts.seed);
  const scenes = scenesOption(opts.scenes);
  const run = await RunRecorder.create<BenchRecord>(opts.out, { command: 'bench', preset: requestedPreset ?? 'small', seed, prior, config: {}, plan: [] });
  const log = (s: string) => opts.quiet || process.stderr.write(s + '\n');
  log(`run directory: ${run.dir}`);
  const t0 = performance.now();

  // The tracker names the stage of any fault and records it (harness/report/fault.ts).
  const session = run.stages.wrap(
    await openSession({ adapter, runtime: runtimeOption(opts.runtime), runDir: run.dir, quiet: opts.quiet, onMessage: run.stages.listen(progressPrinter(opts.quiet)) }).catch(async (err) => {
      await run.fail(err);
      throw err;
    }),
  );
  try {
    const info = await session.adapterInfo();
    const preset = presetForAdapter(requestedPreset, info, 'small', 'paper') as PresetName;
    const plan = suitePlan(preset, scenes);
    run.record.preset = preset;
    run.record.plan = plan;
    run.setEnvironment(session, info);
    await run.save();
    log(formatInfo({ runtime: session.runtime, browser: { version: session.browserVersion, adapterFlags: session.adapterFlags }, adapter: info }));
    log(`\npreset ${preset}, prior: ${prior}: ${plan.length} runs (${plan.map(entryDirName).join(', ')})`);

    const o = { preset, prior, seed, log, noMesh: opts['no-mesh'] };
    // Every input is generated (built-in scenes) and validated before any training.
    const inputs = await loadSuiteInputs(session, plan, o);
    const results: SuiteEntryResult[] = [];
    const staticFits: StaticFitCache = new Map();
    for (const [i, entry] of plan.entries()) {
      log(`\n[${i + 1}/${plan.length}] ${entry.task} ${entry.scene}: ${entry.methods.join(', ')}  (${((performance.now() - t0) / 1000).toFixed(0)} s so far)`);
      run.stages.setContext({ scene: entry.scene, task: entry.task, dir: run.path(`scenes/${entryDirName(entry)}`) });
      results.push(await runSuiteEntry(session, entry, inputs[i]!, run.path(`scenes/${entryDirName(entry)}`), o, staticFits));
    }
    await writeSuiteCsvs(run.dir, results);
    const wallMs = performance.now() - t0;
    run.record.results = {
      wallMs,
      runs: results.map((r) => ({
        scene: r.entry.scene,
        task: r.entry.task,
        dir: `scenes/${entryDirName(r.entry)}`,
        prior: r.prior,
        staticMs: r.staticMs,
        staticSharedWith: r.staticSharedWith,
        methods: r.outcomes.map((x) => ({ label: x.label, summary: x.summary, dynamicMs: x.result.dynamic?.wallMs ?? null, evalMs: x.result.evalMs })),
        mesh: r.mesh.map((m) => ({ label: m.label, ...m.summary })),
      })),
    };
    await run.complete();
    // The tables beside the papers' reported figures, and report.html, from the files just written.
    const data = await loadRunData(run.dir);
    const reference = await loadReference();
    const tables = await writeTables(run.dir, { data, reference });
    const report = await writeReport(run.dir, { data, tables, reference });
    // The picture is a convenience beside the report: without it the run still stands.
    let screenshot: string | null = null;
    try {
      screenshot = (await screenshotReport(report, join(run.dir, 'report.png'))).path;
    } catch (err) {
      process.stderr.write(`dg4d bench: report.png not written: ${(err as Error).message}\n`);
    }
    if (opts.json) process.stdout.write(JSON.stringify({ runDir: run.dir, report, screenshot, ...run.record }, null, 2) + '\n');
    else {
      process.stdout.write(`\nsuite, preset ${preset}, prior: ${prior}, ${info.description}, ${new Date().toISOString().slice(0, 10)} (PSNR in dB, composited on white; ${(wallMs / 1000).toFixed(0)} s)\n`);
      process.stdout.write(formatSuiteTables(results) + '\n\n');
      process.stdout.write(tablesMarkdown(tables) + '\n');
      process.stdout.write(`\nwrote ${run.dir}\nreport: ${report}\n${screenshot ? `screenshot: ${screenshot}\n` : ''}`);
    }
    return 0;
  } catch (err) {
    await run.fail(err);
    throw err;
  } finally {
    await session.close();
  }
}
