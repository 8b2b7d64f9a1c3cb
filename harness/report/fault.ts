// Faults during a run (issue 8): which stage failed, and what is left behind.
//
// A StageTracker sits between a command and its GpuSession. It knows the stage
// in flight from the job being run (pipelineStatic -> static, ...) and from the
// page's {type:'stage'} / {type:'step'} messages (harness/page/stage_scope.ts),
// enforces a time budget per stage, turns any failure (device loss, GPU
// validation/out-of-memory error, timeout, a dead browser) into a
// StageFailedError naming the stage, and on failure writes what the run had
// reached: stages.csv (completed stages, then the failed one with
// status=failed) and static.ply once the static stage has finished. Nothing
// already written is removed.
//
// Test hooks, never active unless set: DG4D_FAULT=<stage>:<kind>@<iteration>
// (kind: lose-device | over-limit) injects a fault in the page.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GpuSession } from '../browser/session_types.ts';
import { CallTimeoutError, DeviceLostError, BrowserError } from '../browser/session_types.ts';
import type { PipelineDynamicResult, PipelineStaticResult } from '../page/dynamic_job.ts';
import { FAULT_KINDS, type FaultKind, type FaultSpec } from '../page/stage_scope.ts';
import type { PageMessage } from '../protocol/messages.ts';
import { writePlyFile } from '../splat/ply.ts';
import { writeCsv } from './csv.ts';

/** What kind of fault ended a stage. */
export type FailureKind = 'device-lost' | 'gpu-error' | 'numerical' | 'timeout' | 'browser' | 'interrupted' | 'error';

export interface StageFailure {
  stage: string;
  /** The page job in flight, if any. */
  job: string | null;
  method: string | null;
  scene: string | null;
  task: string | null;
  /** The last progress step of the stage seen before the fault. */
  iteration: number | null;
  of: number | null;
  kind: FailureKind;
  error: string;
}

export class StageFailedError extends Error {
  override name = 'StageFailedError';
  constructor(
    readonly failure: StageFailure,
    options?: { cause?: unknown },
  ) {
    super(describeFailure(failure), options);
  }
}

/** DG4D_STAGE_TIMEOUT or DG4D_FAULT is malformed (bad usage: exit 2). */
export class FaultConfigError extends Error {
  override name = 'FaultConfigError';
}

export class StageTimeoutError extends Error {
  override name = 'StageTimeoutError';
}

export function describeFailure(f: StageFailure): string {
  const where = [f.method && `method ${f.method}`, f.scene && f.task && `${f.scene} ${f.task}`].filter(Boolean).join(', ');
  const at = f.iteration !== null ? ` at iteration ${f.iteration}${f.of !== null ? `/${f.of}` : ''}` : '';
  return `stage '${f.stage}'${where ? ` (${where})` : ''} failed${at}: ${f.error}`;
}

/** The stage each page job runs first; jobs not listed are their own stage. */
export const JOB_STAGES: Record<string, string> = {
  pipelineStatic: 'static',
  pipelineDynamic: 'dynamic',
  gtRender: 'datasets',
  meshFrame: 'mesh',
  meshRefine: 'mesh',
  densityGrid: 'mesh',
  bake: 'mesh',
  refine: 'mesh',
};

/** Generous: a paper-preset stage on a slow GPU takes minutes, not an hour. */
export const DEFAULT_STAGE_TIMEOUT_MS = 60 * 60_000;

/**
 * Per-stage time budgets from DG4D_STAGE_TIMEOUT: seconds for every stage
 * ("900"), or per stage ("static=600,dynamic=1800"; others keep the default).
 */
export function stageTimeouts(spec: string | undefined = process.env.DG4D_STAGE_TIMEOUT): { byStage: Record<string, number>; defaultMs: number } {
  const out = { byStage: {} as Record<string, number>, defaultMs: DEFAULT_STAGE_TIMEOUT_MS };
  if (!spec?.trim()) return out;
  const seconds = (v: string, what: string) => {
    const s = Number(v);
    if (!(s > 0) || !Number.isFinite(s)) throw new FaultConfigError(`DG4D_STAGE_TIMEOUT: ${what} must be a positive number of seconds, got '${v}'`);
    return s * 1000;
  };
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) out.defaultMs = seconds(part, 'the budget');
    else out.byStage[part.slice(0, eq).trim()] = seconds(part.slice(eq + 1).trim(), `the budget of '${part.slice(0, eq).trim()}'`);
  }
  return out;
}

/** The test-only fault of DG4D_FAULT ("dynamic:lose-device@20"), or null. */
export function faultFromEnv(spec: string | undefined = process.env.DG4D_FAULT): FaultSpec | null {
  if (!spec?.trim()) return null;
  const m = /^([a-z-]+):([a-z-]+)@(\d+)$/.exec(spec.trim());
  if (!m || !(FAULT_KINDS as readonly string[]).includes(m[2]!)) throw new FaultConfigError(`DG4D_FAULT must be <stage>:<${FAULT_KINDS.join('|')}>@<iteration>, got '${spec}'`);
  return { stage: m[1]!, kind: m[2] as FaultKind, iter: Number(m[3]) };
}

export function failureKind(err: unknown): FailureKind {
  if (err instanceof StageTimeoutError || err instanceof CallTimeoutError) return 'timeout';
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof DeviceLostError || /GPU device lost/.test(msg)) return 'device-lost';
  if (/^GPU (validation|out of memory|internal)|GPU error during the job/m.test(msg.replace(/^page job '\w+' failed: /, ''))) return 'gpu-error';
  if (err instanceof BrowserError) return 'browser';
  // NaN/Inf detection in the stages (parts 4 and 5 of issue 8).
  if (/non-finite values/.test(msg)) return 'numerical';
  return 'error';
}

/** Columns of stages.csv as a failed run leaves it: the usual ones (outputs.ts STAGE_COLUMNS) that it knows, then status and error. */
export const FAILED_STAGE_COLUMNS = ['scene', 'task', 'stage', 'method', 'prior', 'preset', 'iterations', 'wall_ms', 'train_ms', 'gaussians', 'status', 'error'];

type Row = Record<string, string | number>;

export interface TrackerContext {
  /** Where this part of the run writes (the run directory, or a suite entry's). */
  dir: string;
  scene?: string;
  task?: string;
  prior?: string;
  preset?: string;
}

export class StageTracker {
  private ctx: TrackerContext;
  private job: string | null = null;
  private stage: string | null = null;
  private stageOpen = false;
  private method: string | null = null;
  private step: { iter: number; of: number } | null = null;
  private readonly rows: Row[] = [];
  private staticFit: { params: PipelineStaticResult['params']; dir: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private abort: ((e: Error) => void) | null = null;
  private readonly budgets = stageTimeouts();
  private readonly fault = faultFromEnv();
  private failed: StageFailure | null = null;
  /** Whether a session was wrapped: commands that do not track stages get no stage in their failure records. */
  private used = false;

  constructor(ctx: TrackerContext) {
    this.ctx = { ...ctx };
  }

  /** Scene, task, directory of what follows (a suite sets it per entry). */
  setContext(ctx: Partial<TrackerContext>) {
    Object.assign(this.ctx, ctx);
  }

  /** A message listener that follows the stages and then calls `next`. */
  listen(next?: (msg: PageMessage) => void): (msg: PageMessage) => void {
    return (msg) => {
      if (msg.type === 'stage') {
        this.stage = msg.stage;
        this.stageOpen = msg.event === 'begin';
        if (msg.event === 'begin') {
          this.step = null;
          this.arm(msg.stage);
        }
      } else if (msg.type === 'step') {
        if (msg.stage !== this.stage) {
          this.stage = msg.stage;
          this.stageOpen = true;
        }
        this.step = { iter: msg.iter, of: msg.of };
      }
      next?.(msg);
    };
  }

  /** The session with every job tracked: stage budgets, failures named by stage, completed stages remembered. */
  wrap(session: GpuSession): GpuSession {
    this.used = true;
    const run = <T>(job: string, args: Record<string, unknown> = {}, opts: { timeoutMs?: number } = {}) => this.runJob<T>(session, job, args, opts);
    return Object.assign(Object.create(session) as GpuSession, { run, adapterInfo: () => session.adapterInfo(), close: () => session.close() });
  }

  private arm(stage: string) {
    if (this.timer) clearTimeout(this.timer);
    const ms = this.budgets.byStage[stage] ?? this.budgets.defaultMs;
    this.timer = setTimeout(() => this.abort?.(new StageTimeoutError(`stage '${stage}' did not finish within its budget of ${ms / 1000} s (set DG4D_STAGE_TIMEOUT to change it)`)), ms);
    this.timer.unref();
  }

  private async runJob<T>(session: GpuSession, job: string, args: Record<string, unknown>, opts: { timeoutMs?: number }): Promise<T> {
    this.job = job;
    this.stage = JOB_STAGES[job] ?? job;
    this.stageOpen = true;
    this.step = null;
    this.method = typeof args.method === 'string' ? args.method : null;
    this.arm(this.stage);
    const aborted = new Promise<never>((_, reject) => (this.abort = reject));
    // The stage budgets govern; the session's own per-call timeout only backs them up.
    const work = session.run<T>(job, this.fault ? { ...args, fault: this.fault } : args, { timeoutMs: opts.timeoutMs ?? 7 * 24 * 3600_000 });
    work.catch(() => {});
    try {
      const value = await Promise.race([work, aborted]);
      this.remember(job, args, value);
      return value;
    } catch (err) {
      if (err instanceof StageFailedError) throw err;
      throw new StageFailedError(this.failure(err), { cause: err });
    } finally {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.abort = null;
      this.job = null;
    }
  }

  /** Rows of completed stages (for stages.csv on failure), and the static fit (for static.ply). */
  private remember(job: string, args: Record<string, unknown>, value: unknown) {
    const tag = { scene: this.ctx.scene ?? '', task: this.ctx.task ?? '', prior: this.ctx.prior ?? String(args.prior ?? ''), preset: this.ctx.preset ?? String(args.preset ?? '') };
    if (job === 'pipelineStatic') {
      const s = value as PipelineStaticResult;
      this.rows.push({ ...tag, stage: 'static', method: 'all', iterations: s.iterations, wall_ms: s.wallMs, train_ms: s.trainMs, gaussians: s.gaussians, status: 'complete', error: '' });
      this.staticFit = { params: s.params, dir: this.ctx.dir };
    } else if (job === 'pipelineDynamic') {
      const r = value as PipelineDynamicResult;
      const d = r.dynamic;
      if (d) this.rows.push({ ...tag, stage: 'dynamic', method: r.method, iterations: d.iterations, wall_ms: d.wallMs, train_ms: d.trainMs, gaussians: '', status: 'complete', error: '' });
      this.rows.push({ ...tag, stage: 'eval', method: r.method, iterations: 0, wall_ms: r.evalMs, train_ms: 0, gaussians: '', status: 'complete', error: '' });
    }
  }

  /** What failed, as far as the tracker knows. */
  failure(err: unknown, kind: FailureKind = failureKind(err)): StageFailure {
    const inner = err instanceof StageFailedError ? err.failure : null;
    if (inner) return inner;
    const message = err instanceof Error ? err.message : String(err);
    return {
      stage: this.stage ?? 'setup',
      job: this.job,
      method: this.method,
      scene: this.ctx.scene ?? null,
      task: this.ctx.task ?? null,
      iteration: this.stageOpen && this.step ? this.step.iter : null,
      of: this.stageOpen && this.step ? this.step.of : null,
      kind,
      error: message,
    };
  }

  /**
   * Writes what a failed (or interrupted) run reached: stages.csv in the run
   * directory (completed stages, then the failed one) and static.ply where the
   * static stage finished but the run never wrote it. Returns the failure, or
   * null (and writes nothing) when no session was wrapped.
   */
  async recordFailure(runDir: string, err: unknown, kind?: FailureKind): Promise<StageFailure | null> {
    if (!this.used) return null;
    const f = err instanceof StageFailedError && !kind ? err.failure : { ...this.failure(err, kind), ...(kind ? { kind } : {}) };
    if (this.failed) return this.failed;
    this.failed = f;
    const tag = { scene: f.scene ?? '', task: f.task ?? '', prior: this.ctx.prior ?? '', preset: this.ctx.preset ?? '' };
    const failedRow: Row = { ...tag, stage: f.stage, method: f.method ?? (f.stage === 'static' ? 'all' : ''), iterations: f.iteration ?? '', wall_ms: '', train_ms: '', gaussians: '', status: kind === 'interrupted' ? 'interrupted' : 'failed', error: f.error };
    await writeCsv(join(runDir, 'stages.csv'), [...this.rows, failedRow], FAILED_STAGE_COLUMNS);
    if (this.staticFit && !existsSync(join(this.staticFit.dir, 'static.ply'))) {
      await mkdir(this.staticFit.dir, { recursive: true });
      await writePlyFile(join(this.staticFit.dir, 'static.ply'), this.staticFit.params);
    }
    return f;
  }
}
