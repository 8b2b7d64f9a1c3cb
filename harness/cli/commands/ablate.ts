// `dg4d ablate`: the ablation switches (harness/runner/ablations.ts) on one
// video-to-4d scene, every variant from the same static Gaussians, one table.
import { openSession } from '../../browser/open_session.ts';
import { ensureTinyScene } from '../../../datasets/cache.ts';
import { sceneNames } from '../../../datasets/scenes/index.ts';
import { methodConfig } from '../../pipeline/methods.ts';
import type { PresetName } from '../../pipeline/presets.ts';
import { RunRecorder, presetForAdapter, type RunRecordBase } from '../../report/run_record.ts';
import { ABLATIONS, ablationGroups, resolveVariant } from '../../runner/ablations.ts';
import { loadRunInputs } from '../../runner/inputs.ts';
import { writeRunFiles } from '../../runner/outputs.ts';
import { runStaticFit, runVariant, type SetScore, type VariantOutcome } from '../../runner/pipeline_run.ts';
import { GPU_OPTIONS, GPU_OPTIONS_HELP, UsageError, adapterOption, parse, presetOption, runtimeOption, seedOption } from '../args.ts';
import { progressPrinter } from '../progress.ts';
import { priorOption, resultsTable } from './run.ts';

export const ABLATE_HELP = `usage: dg4d ablate (--data DIR | --scene NAME) [--only GROUP[,GROUP...]] [options]

Runs the ablations as video-to-4d runs on one scene folder, every variant from
the same static Gaussians, and writes one table (results.md / results.csv) plus
the files of dg4d run. Groups:
${ABLATIONS.map((g) => `  ${g.name.padEnd(10)} ${g.about}\n${' '.repeat(13)}variants: ${g.variants.map((v) => v.setting).join(' | ')}`).join('\n')}

  --data DIR                 a scene folder with the Consistent4D and training splits
  --scene NAME               a built-in scene instead (rendered at 64^2 on first use)
  --only GROUP[,GROUP...]    run only these groups
  --prior oracle|reference   (default oracle)
${GPU_OPTIONS_HELP}`;

interface AblateRecord extends RunRecordBase {
  command: 'ablate';
  groups: string[];
  source?: Record<string, string>;
  results?: { label: string; group: string; setting: string; summary: Record<string, SetScore> }[];
}

export async function ablateCommand(argv: string[]): Promise<number> {
  const opts = parse('ablate', argv, { ...GPU_OPTIONS, prior: { type: 'string' }, data: { type: 'string' }, scene: { type: 'string' }, only: { type: 'string' } });
  const adapter = adapterOption(opts.adapter);
  const runtime = runtimeOption(opts.runtime);
  const prior = priorOption(opts.prior);
  const requestedPreset = presetOption(opts.preset);
  const seed = seedOption(opts.seed);
  if ((opts.scene === undefined) === (opts.data === undefined)) throw new UsageError('give exactly one of --data DIR or --scene NAME');
  let groups;
  try {
    groups = ablationGroups(opts.only?.split(',').map((s) => s.trim()));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (opts.scene !== undefined && !sceneNames().includes(opts.scene)) throw new UsageError(`--scene must be one of ${sceneNames().join(', ')}, got '${opts.scene}'`);
  const log = (s: string) => opts.quiet || process.stderr.write(s + '\n');
  const data = opts.scene !== undefined ? await ensureTinyScene(opts.scene, { log, runtime }) : opts.data;
  const staticViews = methodConfig('static', requestedPreset ?? 'small').staticViews;
  const inputs = await loadRunInputs({ kind: 'video-to-4d', data }, { prior, staticViews });
  if (opts.scene !== undefined) inputs.scene = opts.scene;

  const run = await RunRecorder.create<AblateRecord>(opts.out, { command: 'ablate', groups: groups.map((g) => g.name), preset: requestedPreset ?? 'small', seed, prior, config: {}, source: inputs.source });
  log(`run directory: ${run.dir}`);
  const session = await openSession({ adapter, runtime, runDir: run.dir, quiet: opts.quiet, onMessage: progressPrinter(opts.quiet) });
  try {
    const info = await session.adapterInfo();
    const preset = presetForAdapter(requestedPreset, info, 'small', 'paper') as PresetName;
    run.record.preset = preset;
    run.record.config = { groups };
    run.setEnvironment(session, info);
    await run.save();
    const o = { preset, prior, seed, log };
    const staticFit = await runStaticFit(session, inputs, o);
    const outcomes: VariantOutcome[] = [];
    const meta = new Map<string, { group: string; setting: string }>();
    for (const g of groups) {
      for (const v of g.variants) {
        meta.set(v.label, { group: g.name, setting: v.setting });
        outcomes.push(await runVariant(session, inputs, staticFit.params, resolveVariant(v, preset), o));
      }
    }
    const extra = [
      { header: 'ablation', value: (x: VariantOutcome) => meta.get(x.label)!.group },
      { header: 'setting', value: (x: VariantOutcome) => meta.get(x.label)!.setting },
    ];
    const table = resultsTable(inputs, staticFit.wallMs, outcomes, extra);
    const title = `ablations, video-to-4d, preset ${preset}, prior: ${prior}, ${info.description}, ${new Date().toISOString().slice(0, 10)} (eval views; PSNR in dB, composited on white)`;
    await writeRunFiles({ dir: run.dir, prior, preset, staticFit, outcomes, inputs, table: { title, markdown: table.markdown, csv: table.csv } });
    run.record.results = outcomes.map((x) => ({ label: x.label, ...meta.get(x.label)!, summary: x.summary }));
    await run.complete();
    if (opts.json) process.stdout.write(JSON.stringify({ runDir: run.dir, ...run.record }, null, 2) + '\n');
    else process.stdout.write(`\n${title}\n${table.text}\n\nwrote ${run.dir}\n`);
    return 0;
  } catch (err) {
    await run.fail(err);
    throw err;
  } finally {
    await session.close();
  }
}
