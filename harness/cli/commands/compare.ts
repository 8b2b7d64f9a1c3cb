// `dg4d compare A B`: quality metrics side by side with their tolerances and
// timing ratios; exit 1 on a regression beyond tolerance, 2 on bad input.
// `dg4d compare --write-baseline RUN_DIR FILE` writes a baseline file.
import { mkdir } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic, writeJsonAtomic } from '../../report/atomic.ts';
import { BaselineError, loadSummary, writeBaseline } from '../../report/baseline.ts';
import { compareSummaries, comparisonMarkdown, DEFAULT_TOLERANCES, parseTolerances, ToleranceSyntaxError } from '../../report/compare.ts';
import { UsageError } from '../args.ts';

const defaults = Object.entries(DEFAULT_TOLERANCES)
  .map(([k, t]) => `${k}=${t.value}${t.relative ? '%' : ''}`)
  .join(',');

export const COMPARE_HELP = `usage: dg4d compare A B [options]
       dg4d compare --write-baseline RUN_DIR FILE [--note TEXT]

Compares run B against A. A is a run directory (dg4d run, ablate or bench) or a
baseline file (reports/baselines/<preset>.json); B is a run directory (or a
baseline file). Per scene, task, method and evaluation set: the mean of every
metric column (PSNR, SSIM, LPIPS, CLIP, FVD, geometry, ...), which way is
better, B − A and the verdict; per stage and kernel: B/A time ratios (shown,
never gating). Writes compare.md and compare.json into --out DIR, or into B
when B is a run directory.

Exit status: 0 no regression; 1 a quality metric got worse by more than its
tolerance, or a value A has is missing in B; 2 bad input (no such directory, a
run not marked complete in run.json, different presets or priors, bad options).

  --tolerance M=V[,M=V...]   worsening allowed per metric, absolute in the
                             metric's units, or V% of A's value
                             (default ${defaults};
                             metrics without a tolerance are shown, not gated)
  --out DIR                  where compare.md / compare.json go
  --allow-preset-mismatch    compare runs of different presets
  --allow-prior-mismatch     compare runs with different priors
  --allow-missing            values in A but not in B do not fail the comparison
  --write-baseline RUN_DIR FILE
                             write RUN_DIR's summary (metric means, stage and
                             kernel times, environment) as a baseline file
  --note TEXT                free text stored in the baseline file
  --json                     print compare.json on stdout
  --quiet                    print only the verdict line
  -h, --help`;

/** Where the command prints (tests pass their own). */
export interface CommandOutput {
  out: (text: string) => void;
}
const STDOUT: CommandOutput = { out: (text) => void process.stdout.write(text) };

export async function compareCommand(argv: string[], io: CommandOutput = STDOUT): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        tolerance: { type: 'string' },
        out: { type: 'string' },
        'allow-preset-mismatch': { type: 'boolean', default: false },
        'allow-prior-mismatch': { type: 'boolean', default: false },
        'allow-missing': { type: 'boolean', default: false },
        'write-baseline': { type: 'boolean', default: false },
        note: { type: 'string' },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`dg4d compare: ${(err as Error).message}`);
  }
  const o = parsed.values;
  const [pa, pb, ...extra] = parsed.positionals;
  if (!pa || !pb || extra.length) throw new UsageError(o['write-baseline'] ? 'dg4d compare --write-baseline: give RUN_DIR and FILE' : 'dg4d compare: give two paths, A and B');
  try {
    if (o['write-baseline']) {
      const s = await writeBaseline(resolve(pa), resolve(pb), o.note);
      if (!o.quiet) io.out(`wrote ${resolve(pb)}: ${s.metrics.length} metric rows, ${s.stages.length} stages, ${s.kernels.length} kernels (run ${s.source.runId}, preset ${s.preset}, prior: ${s.prior})\n`);
      return 0;
    }
    const tolerances = parseTolerances(o.tolerance);
    const a = await loadSummary(resolve(pa));
    const b = await loadSummary(resolve(pb));
    if (a.preset !== b.preset && !o['allow-preset-mismatch']) throw new UsageError(`dg4d compare: A is preset '${a.preset}', B is '${b.preset}'; numbers of different presets are not comparable (--allow-preset-mismatch to compare anyway)`);
    if (a.prior !== b.prior && !o['allow-prior-mismatch']) throw new UsageError(`dg4d compare: A has prior '${a.prior}', B '${b.prior}' (--allow-prior-mismatch to compare anyway)`);
    const c = compareSummaries(a, b, { tolerances, labels: [pa, pb] });
    if (!c.metrics.some((m) => m.a !== null && m.b !== null)) throw new UsageError(`dg4d compare: A and B have no metric (scene, task, method, set) in common`);
    const bIsDir = statSync(resolve(pb)).isDirectory();
    const outDir = o.out ? resolve(o.out) : bIsDir ? resolve(pb) : null;
    const md = comparisonMarkdown(c);
    if (outDir) {
      await mkdir(outDir, { recursive: true });
      await writeFileAtomic(join(outDir, 'compare.md'), md);
      await writeJsonAtomic(join(outDir, 'compare.json'), c);
    }
    const failed = c.summary.regressions > 0 || (c.summary.missing > 0 && !o['allow-missing']);
    const verdict = failed ? `REGRESSION: ${c.summary.regressions} metric(s) worse than tolerance, ${c.summary.missing} value(s) missing in B` : 'OK: no quality regression beyond tolerance';
    if (o.json) io.out(JSON.stringify(c, null, 2) + '\n');
    else if (o.quiet) io.out(verdict + '\n');
    else io.out(`${md}\n${verdict}${outDir ? `\nwrote ${join(outDir, 'compare.md')}, compare.json` : '\n(no --out and B is a file: nothing written)'}\n`);
    return failed ? 1 : 0;
  } catch (err) {
    if (err instanceof BaselineError || err instanceof ToleranceSyntaxError) throw new UsageError(err.message);
    throw err;
  }
}
