// The lifecycle of run.json: written first as `running`, then `complete` or
// `failed` (with the error), every write atomic. Shared by every command that
// writes a run directory.
import { join } from 'node:path';
import type { GpuSession } from '../browser/session_types.ts';
import type { AdapterReport } from '../protocol/messages.ts';
import { writeJsonAtomic } from './atomic.ts';
import { describeEnvironment, type Environment } from './environment.ts';
import { createRunDir, newRunId } from './run_dir.ts';

export interface RunRecordBase {
  runId: string;
  command: string;
  status: 'running' | 'complete' | 'failed';
  startedAt: string;
  finishedAt?: string;
  error?: string;
  preset: string;
  seed: number;
  /** What supervised any training in the run: 'none', 'reference' or 'oracle'. */
  prior: string;
  config: object;
  environment?: Environment;
  results?: object;
}

export class RunRecorder<R extends RunRecordBase = RunRecordBase> {
  private constructor(
    readonly dir: string,
    readonly record: R,
  ) {}

  static async create<R extends RunRecordBase>(out: string | undefined, fields: Omit<R, 'runId' | 'status' | 'startedAt'>): Promise<RunRecorder<R>> {
    const runId = newRunId();
    const dir = await createRunDir(out, runId);
    const record = { runId, status: 'running', startedAt: new Date().toISOString(), ...fields } as R;
    const recorder = new RunRecorder(dir, record);
    await recorder.save();
    return recorder;
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
    this.record.status = 'complete';
    this.record.finishedAt = new Date().toISOString();
    return this.save();
  }

  fail(err: unknown): Promise<void> {
    this.record.status = 'failed';
    this.record.error = err instanceof Error ? err.message : String(err);
    this.record.finishedAt = new Date().toISOString();
    return this.save();
  }
}

/** Software adapters get the CPU-sized preset unless one was asked for. */
export function presetForAdapter<P extends string>(requested: P | undefined, adapter: AdapterReport, cpu: P, gpu: P): P {
  return requested ?? (adapter.isFallbackAdapter || adapter.architecture === 'swiftshader' ? cpu : gpu);
}
