// `dg4d run image-to-4d | video-to-4d | dnerf`: one dataset, one or more methods,
// static -> dynamic -> eval, written to a run directory.
import { openSession } from '../../browser/open_session.ts';
import { ensureTinyScene } from '../../../datasets/cache.ts';
import { sceneNames } from '../../../datasets/scenes/index.ts';
import { METHODS, methodConfig, type MethodName } from '../../pipeline/methods.ts';
import { PRIORS, type PresetName, type PriorKind } from '../../pipeline/presets.ts';
import { MetricModelError, findMetricModels, metricModelsDataRoots, type MetricModels } from '../../metrics/metric_models.ts';
import { RunRecorder, presetForAdapter, type RunRecordBase } from '../../report/run_record.ts';
import { loadRunInputs, RUN_KINDS, type RunInputs, type RunKind } from '../../runner/inputs.ts';
import { writeRunFiles } from '../../runner/outputs.ts';
import { meshFrameTimes, runMeshExport, type MeshRunResult } from '../../runner/mesh_run.ts';
import { runStaticFit, runVariant, type SetScore, type Variant, type VariantOutcome } from '../../runner/pipeline_run.ts';
import { GPU_OPTIONS, GPU_OPTIONS_HELP, UsageError, adapterOption, parse, presetOption, runtimeOption, seedOption } from '../args.ts';
import { progressPrinter } from '../progress.ts';
import { formatTable } from '../table.ts';

export const RUN_HELP = `usage: dg4d run image-to-4d|video-to-4d|dnerf [options]

Runs the static stage, then each method's dynamic stage from the same static
Gaussians, then renders and scores the evaluation views:
  video-to-4d  --data DIR   Consistent4D split: fits the front video
                            (transforms_input.json), scores transforms_eval.json
  dnerf        --data DIR   D-NeRF split: fits transforms_train.json, scores
                            transforms_test.json
  image-to-4d  --data DIR | --image FILE --video DIR
                            one image plus a driving video; scores the video's
                            frames at the reference view (and the eval split of a
                            scene folder)
Writes run.json, stages.csv, kernels.csv, metrics.csv, loss.csv, results.md,
results.csv, static.ply and renders/<method>_<set>.png (ground truth above
render) to the run directory.

  --data DIR                 a scene folder (see datasets/README.md)
  --scene NAME               a built-in scene instead of --data (rendered at 64^2
                             into datasets/.cache on first use)
  --image FILE --video DIR   image-to-4d input without a scene folder (front
                             camera assumed; reference prior only)
  --method M[,M...]|all      ${METHODS.join(' | ')} (default dg4d)
  --no-mesh                  skip the mesh stage (otherwise each method's frames
                             become mesh/<method>/frame_NNN.obj/.mtl/.png and
                             mesh/<method>/animated.glb, with geometry.csv)
  --prior oracle|reference   what supervises other views (default oracle:
                             ground-truth training views; shown everywhere)
${GPU_OPTIONS_HELP}`;

interface RunCommandRecord extends RunRecordBase {
  command: 'run';
  kind: RunKind;
  methods: string[];
  source?: Record<string, string>;
  results?: { static: { iterations: number; wallMs: number; gaussians: number }; methods: { label: string; summary: Record<string, SetScore>; dynamicMs: number | null; evalMs: number }[]; mesh?: ({ label: string } & MeshRunResult['summary'])[] };
}

export function priorOption(value: string | undefined): PriorKind {
  const v = value ?? 'oracle';
  if (!(PRIORS as readonly string[]).includes(v)) throw new UsageError(`--prior must be one of ${PRIORS.join(', ')}, got '${v}'`);
  return v as PriorKind;
}

export function methodsOption(value: string | undefined): MethodName[] {
  if (value === undefined) return ['dg4d'];
  if (value === 'all') return [...METHODS];
  const list = value.split(',').map((s) => s.trim());
  for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new UsageError(`--method must be one of ${METHODS.join(', ')} or all, got '${m}'`);
  return [...new Set(list)] as MethodName[];
}

const fmt = (n: number | undefined, digits = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** The results table: one row per method, PSNR/SSIM per evaluation set, stage times. */
export function resultsTable(inputs: RunInputs, staticMs: number, outcomes: VariantOutcome[], extra: { header: string; value: (o: VariantOutcome) => string }[] = []) {
  const sets = Object.keys(inputs.eval);
  const header = ['method', ...extra.map((e) => e.header), ...sets.flatMap((s) => [`${s} PSNR`, `${s} SSIM`]), 'static s', 'dynamic s', 'eval s'];
  const rows = outcomes.map((o) => [
    o.label,
    ...extra.map((e) => e.value(o)),
    ...sets.flatMap((s) => [fmt(o.summary[s]?.psnr), fmt(o.summary[s]?.ssim, 4)]),
    fmt(staticMs / 1000, 1),
    o.result.dynamic ? fmt(o.result.dynamic.wallMs / 1000, 1) : '-',
    fmt(o.result.evalMs / 1000, 1),
  ]);
  const markdown = ['| ' + header.join(' | ') + ' |', '|' + header.map(() => '---').join('|') + '|', ...rows.map((r) => '| ' + r.join(' | ') + ' |')].join('\n');
  const csvRows = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!])));
  return { text: formatTable(header, rows), markdown, csv: { rows: csvRows, columns: header } };
}

/** --metric-models DIR, checked before any GPU work; a bad directory or model is a usage error (exit 2). */
export async function metricModelsOption(dir: string | undefined): Promise<MetricModels | null> {
  try {
    return await findMetricModels(dir);
  } catch (err) {
    if (err instanceof MetricModelError) throw new UsageError(err.message);
    throw err;
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (!kind || !(RUN_KINDS as readonly string[]).includes(kind)) throw new UsageError(`dg4d run: the first argument must be one of ${RUN_KINDS.join(', ')}${kind ? `, got '${kind}'` : ''}`);
  const opts = parse('run', rest, { ...GPU_OPTIONS, prior: { type: 'string' }, method: { type: 'string' }, data: { type: 'string' }, scene: { type: 'string' }, image: { type: 'string' }, video: { type: 'string' }, 'no-mesh': { type: 'boolean', default: false } });
  const adapter = adapterOption(opts.adapter);
  const runtime = runtimeOption(opts.runtime);
  const prior = priorOption(opts.prior);
  const methods = methodsOption(opts.method);
  const requestedPreset = presetOption(opts.preset);
  const seed = seedOption(opts.seed);
  if (opts.scene !== undefined && opts.data !== undefined) throw new UsageError('give --data DIR or --scene NAME, not both');
  if (opts.scene !== undefined && !sceneNames().includes(opts.scene)) throw new UsageError(`--scene must be one of ${sceneNames().join(', ')}, got '${opts.scene}'`);
  const log = (s: string) => opts.quiet || process.stderr.write(s + '\n');

  // Validate the input before any GPU work (a built-in scene is rendered first if missing).
  const data = opts.scene !== undefined ? await ensureTinyScene(opts.scene, { log, runtime }) : opts.data;
  const staticViews = methodConfig('static', requestedPreset ?? 'small').staticViews;
  const inputs = await loadRunInputs({ kind: kind as RunKind, data, image: opts.image, video: opts.video }, { prior, staticViews });
  if (opts.scene !== undefined) inputs.scene = opts.scene;
  const metricModels = await metricModelsOption(opts['metric-models']);

  const run = await RunRecorder.create<RunCommandRecord>(opts.out, { command: 'run', kind: kind as RunKind, methods, preset: requestedPreset ?? 'small', seed, prior, config: {}, source: inputs.source });
  log(`run directory: ${run.dir}`);
  // The tracker names the stage of any fault and records it (harness/report/fault.ts).
  run.stages.setContext({ scene: inputs.scene, task: kind });
  const session = run.stages.wrap(
    await openSession({ adapter, runtime, runDir: run.dir, quiet: opts.quiet, onMessage: run.stages.listen(progressPrinter(opts.quiet)), dataRoots: metricModelsDataRoots(metricModels) }).catch(async (err) => {
      await run.fail(err);
      throw err;
    }),
  );
  try {
    const info = await session.adapterInfo();
    const preset = presetForAdapter(requestedPreset, info, 'small', 'paper') as PresetName;
    run.record.preset = preset;
    run.record.config = Object.fromEntries(methods.map((m) => [m, methodConfig(m, preset)]));
    run.setEnvironment(session, info);
    await run.save();
    // The mesh stage needs each method's Gaussians at the exported frames.
    const meshFrames = opts['no-mesh'] ? [] : meshFrameTimes(inputs, preset);
    const o = { preset, prior, seed, log, metricModels, paramsAt: meshFrames.map((f) => f.time) };
    const staticFit = await runStaticFit(session, inputs, o);
    const outcomes: VariantOutcome[] = [];
    const meshes: MeshRunResult[] = [];
    for (const method of methods) {
      const v: Variant = { label: method, method };
      const outcome = await runVariant(session, inputs, staticFit.params, v, o);
      outcomes.push(outcome);
      if (meshFrames.length) {
        const frames = meshFrames.map((f, k) => ({ ...f, params: outcome.result.paramsAt[k]!.params }));
        meshes.push(await runMeshExport(session, inputs, { label: method, frames, isStatic: method === 'static' }, { preset, prior, dir: run.dir, log }));
        outcome.result.paramsAt = [];
      }
    }
    const table = resultsTable(inputs, staticFit.wallMs, outcomes);
    const title = `${kind}, preset ${preset}, prior: ${prior}, ${info.description}, ${new Date().toISOString().slice(0, 10)} (${Object.keys(inputs.eval).join(', ')} views; PSNR in dB, composited on white)`;
    await writeRunFiles({ dir: run.dir, prior, preset, staticFit, outcomes, inputs, table: { title, markdown: table.markdown, csv: table.csv }, mesh: meshes });
    run.record.results = {
      static: { iterations: staticFit.iterations, wallMs: staticFit.wallMs, gaussians: staticFit.gaussians },
      methods: outcomes.map((x) => ({ label: x.label, summary: x.summary, dynamicMs: x.result.dynamic?.wallMs ?? null, evalMs: x.result.evalMs })),
      mesh: meshes.map((m) => ({ label: m.label, ...m.summary })),
    };
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
