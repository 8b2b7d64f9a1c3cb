// Numerical faults (issue 8, part 4): NaN written into a parameter group or its
// gradients during training (the stages' test-only injectNonFinite) stops the
// stage within the check interval, with an error naming the stage, the checked
// iteration, the interval and the group; a clean run passes its checks.
import test from 'ava';
import { ensureTinyScene } from '../datasets/cache.ts';
import { BrowserSession, PageJobError } from '../harness/browser/session.ts';
import { methodConfig } from '../harness/pipeline/methods.ts';
import { loadRunInputs, type RunInputs } from '../harness/runner/inputs.ts';
import { runStaticFit, runVariant, type PipelineRunOptions } from '../harness/runner/pipeline_run.ts';

let session: BrowserSession;
let inputs: RunInputs;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 600_000 });
  const data = await ensureTinyScene('walker');
  inputs = await loadRunInputs({ kind: 'video-to-4d', data }, { prior: 'oracle', staticViews: methodConfig('static', 'tiny').staticViews });
});

test.after.always(async () => {
  await session?.close();
});

const options = (staticOverrides: PipelineRunOptions['staticOverrides']): PipelineRunOptions => ({ preset: 'tiny', prior: 'oracle', seed: 3, staticOverrides });

test('static stage: NaN in the means at iteration 6 is reported at the check of iteration 8 (every 4), naming group and kind', async (t) => {
  const err = await t.throwsAsync(runStaticFit(session, inputs, options({ iterations: 12, densify: null, nonFiniteCheckEvery: 4, injectNonFinite: { iteration: 6, group: 'means', kind: 'parameters' } })), {
    instanceOf: PageJobError,
  });
  t.log(err!.message);
  t.regex(err!.message, /static stage: non-finite values in means parameters at iteration 8 \(checked every 4\)/);
  // A NaN gradient reaches the parameters through Adam in the same iteration.
  const g = await t.throwsAsync(runStaticFit(session, inputs, options({ iterations: 12, densify: null, nonFiniteCheckEvery: 4, injectNonFinite: { iteration: 5, group: 'opacity_logits', kind: 'gradients' } })));
  // (The NaN opacity then reaches the image and other groups' gradients: they may be listed too.)
  t.regex(g!.message, /static stage: non-finite values in (.*, )?opacity_logits parameters(, .*)? at iteration 8 \(checked every 4\)/);
  const bad = await t.throwsAsync(runStaticFit(session, inputs, options({ iterations: 4, nonFiniteCheckEvery: 0 })));
  t.regex(bad!.message, /static stage: nonFiniteCheckEvery 0 must be a positive integer/);
});

test('dynamic stage (dg4d-fast): a NaN gradient of hexplane.planes at a checked iteration is reported there; a clean run passes', async (t) => {
  const s = await runStaticFit(session, inputs, options({ iterations: 4, densify: null }));
  const o = options(undefined);
  const dynamic = (extra: Record<string, unknown>) => runVariant(session, inputs, s.params, { label: 'dg4d-fast', method: 'dg4d-fast', overrides: { dynamic: { iterations: 5, nonFiniteCheckEvery: 2, ...extra } } }, o);
  const err = await t.throwsAsync(dynamic({ injectNonFinite: { iteration: 4, group: 'hexplane.planes', kind: 'gradients' } }), { instanceOf: PageJobError });
  t.log(err!.message);
  t.regex(err!.message, /dynamic stage: non-finite values in (.*, )?hexplane\.planes parameters, hexplane\.planes gradients(, .*)? at iteration 4 \(checked every 2\)/);
  const canon = await t.throwsAsync(dynamic({ injectNonFinite: { iteration: 1, group: 'canonical.sh', kind: 'parameters' } }));
  t.regex(canon!.message, /dynamic stage: non-finite values in (.*, )?canonical\.sh parameters(, .*)? at iteration 2 \(checked every 2\)/);
  const clean = await dynamic({});
  t.true(clean.result.dynamic!.lossCurve.every((p) => Number.isFinite(p.loss)), 'the clean run trains');
});
