// The lifecycle of run.json: written first as `running`, then `complete`,
// `failed` (with the error and the failed stage) or `interrupted` (SIGINT/SIGTERM);
// every write atomic. A run killed outright stays `running`, which readers
// (dg4d compare, baselines) treat as incomplete. Shared by every command that
// writes a run directory.
import { join } from 'node:path';
import type { GpuSession } from '../browser/session_types.ts';
import type { AdapterReport } from '../protocol/messages.ts';
import { writeJsonAtomic } from './atomic.ts';
import { StageTracker, faultFromEnv, stageTimeouts, type FailureKind, type StageFailure } from './fault.ts';
import { describeEnvironment, type Environment } from './environment.ts';
import { createRunDir, newRunId } from './run_dir.ts';

export interface RunRecordBase {
  runId: string;
  command: string;
  status: 'running' | 'complete' | 'failed' | 'interrupted';
  startedAt: string;
  finishedAt?: string;
  error?: string;
  /** The stage a failed or interrupted run stopped in, and what happened there (harness/report/fault.ts). */
  failedStage?: string;
  failure?: StageFailure;
  preset: string;
  seed: number;
  /** What supervised any training in the run: 'none', 'reference' or 'oracle'. */
  prior: string;
  config: object;
  environment?: Environment;
  results?: object;
}

/** Runs of this process not yet finished: a signal marks them interrupted. */
const active = new Set<RunRecorder>();

export class RunRecorder<R extends RunRecordBase = RunRecordBase> {
  /** Follows the stages of the run's GPU work: wrap the session with it and give it the messages. */
  readonly stages: StageTracker;
  private finished = false;

  private constructor(
    readonly dir: string,
    readonly record: R,
  ) {
    this.stages = new StageTracker({ dir, prior: record.prior, preset: record.preset });
  }

  static async create<R extends RunRecordBase>(out: string | undefined, fields: Omit<R, 'runId' | 'status' | 'startedAt'>): Promise<RunRecorder<R>> {
    // The stage budgets and test faults from the environment are checked before the directory exists.
    stageTimeouts();
    faultFromEnv();
    const runId = newRunId();
    const record = { runId, status: 'running', startedAt: new Date().toISOString(), ...fields } as R;
    // Claims the directory with run.json (exclusively): two runs given one --out never share it.
    const dir = await createRunDir(out, runId, JSON.stringify(record, null, 2) + '\n');
    const recorder = new RunRecorder(dir, record);
    active.add(recorder as RunRecorder);
    return recorder;
  }

  /** Marks every unfinished run of this process `interrupted` (signal handlers, harness/cli/main.ts). */
  static async interruptAll(signal: string): Promise<void> {
    await Promise.all([...active].map((r) => r.finish('interrupted', new Error(`interrupted by ${signal}`)).catch(() => {})));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  setEnvironment(session: GpuSession, adapter: AdapterReport): Environment {
    this.record.environment = describeEnvironment(adapter, { version: session.browserVersion, adapterFlags: session.adapterFlags, launchArgs: session.launchArgs }, session.runtime);
    return this.record.environment;
  }

  save(): Promise<void> {
    return writeJsonAtomic(this.path('run.json'), this.record);
  }

  complete(): Promise<void> {
    if (this.finished) return Promise.resolve();
    this.finished = true;
    active.delete(this as RunRecorder);
    this.record.status = 'complete';
    this.record.finishedAt = new Date().toISOString();
    return this.save();
  }

  /** Marks the run failed: the error, the stage it failed in, stages.csv and what finished (fault.ts). */
  fail(err: unknown): Promise<void> {
    return this.finish('failed', err);
  }

  private async finish(status: 'failed' | 'interrupted', err: unknown): Promise<void> {
    // The first end wins: a run interrupted by a signal is not then marked failed by the errors that follow.
    if (this.finished) return;
    this.finished = true;
    active.delete(this as RunRecorder);
    this.record.status = status;
    this.record.error = err instanceof Error ? err.message : String(err);
    this.record.finishedAt = new Date().toISOString();
    try {
      const failure = await this.stages.recordFailure(this.dir, err, status === 'interrupted' ? ('interrupted' satisfies FailureKind) : undefined);
      if (failure) {
        this.record.failedStage = failure.stage;
        this.record.failure = failure;
      }
    } finally {
      await this.save();
    }
  }
}

/** Software adapters get the CPU-sized preset unless one was asked for. */
export function presetForAdapter<P extends string>(requested: P | undefined, adapter: AdapterReport, cpu: P, gpu: P): P {
  return requested ?? (adapter.isFallbackAdapter || adapter.architecture === 'swiftshader' ? cpu : gpu);
}
