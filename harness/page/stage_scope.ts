// A pipeline stage inside a page job: announced on the message stream
// ({type:'stage', event:'begin'|'end'}) so the host knows which stage a fault hit,
// and wrapped in its own GPU error scopes so that a validation or out-of-memory
// error fails the stage it happened in (WebGPU only logs them otherwise, and the
// job-wide scopes of GpuHost would report them after later stages ran).
//
// Fault injection for tests (issue 8): `fault` (carried in the job's args, set
// only when a test asks through DG4D_FAULT; harness/report/fault.ts) destroys the
// device or allocates past the device's limits at an iteration of a stage.
import type { PageMessage } from '../protocol/messages.ts';
import type { JobContext } from './context.ts';

export const FAULT_KINDS = ['lose-device', 'over-limit'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A fault to inject: at the first progress step of `stage` with iteration >= `iter` (0: when the stage begins). */
export interface FaultSpec {
  stage: string;
  iter: number;
  kind: FaultKind;
}

const SCOPES: GPUErrorFilter[] = ['internal', 'out-of-memory', 'validation'];

/**
 * Runs `fn` as stage `stage`; GPU errors it caused fail it, naming the stage.
 * The scopes are also checked at each progress step of the stage (without
 * waiting), so an error early in a long stage fails it within `stepEvery`
 * iterations instead of at its end; the stage's promise is then abandoned.
 */
export async function inStage<T>(ctx: JobContext, stage: string, fault: FaultSpec | null | undefined, fn: (ctx: JobContext) => Promise<T>): Promise<T> {
  const { device } = ctx.gpu;
  ctx.emit({ type: 'stage', stage, event: 'begin' });
  for (const filter of SCOPES) device.pushErrorScope(filter);
  const errors: string[] = [];
  let detected!: (e: Error) => void;
  const gpuFailed = new Promise<never>((_, reject) => (detected = reject));
  gpuFailed.catch(() => {});
  const collect = (pops: Promise<GPUError | null>[], at: string) =>
    Promise.all(pops.map((p) => p.catch(() => null))).then((found) => {
      const here = found.flatMap((error, k) => (error ? [`${describe([...SCOPES].reverse()[k]!)}: ${error.message.trim()}`] : []));
      errors.push(...here);
      if (here.length) detected(new Error(`GPU ${here.join('; ')} (in stage '${stage}', ${at})`));
    });
  let injected = !fault || fault.stage !== stage;
  const emit = (msg: PageMessage) => {
    ctx.emit(msg);
    if (msg.type !== 'step' || msg.stage !== stage) return;
    if (!injected && msg.iter >= fault!.iter) {
      injected = true;
      inject(ctx, fault!);
    }
    // Swap the scopes: the popped ones hold what happened up to this step.
    const pops = SCOPES.map(() => device.popErrorScope());
    for (const filter of SCOPES) device.pushErrorScope(filter);
    void collect(pops, `detected after iteration ${msg.iter}`);
  };
  if (!injected && fault!.iter <= 0) {
    injected = true;
    inject(ctx, fault!);
  }
  let value: T | undefined;
  let failure: unknown = null;
  try {
    value = await Promise.race([fn({ ...ctx, emit }), gpuFailed]);
  } catch (err) {
    failure = err;
  }
  await collect(
    SCOPES.map(() => device.popErrorScope()),
    'detected at its end',
  );
  if (failure) throw failure;
  if (errors.length) throw new Error(`GPU ${errors.join('; ')} (in stage '${stage}', detected at its end)`);
  ctx.emit({ type: 'stage', stage, event: 'end' });
  return value as T;
}

const describe = (filter: GPUErrorFilter) => (filter === 'out-of-memory' ? 'out of memory' : `${filter} error`);

function inject(ctx: JobContext, fault: FaultSpec) {
  const { device } = ctx.gpu;
  ctx.emit({ type: 'log', level: 'warn', text: `test fault: ${fault.kind} in stage '${fault.stage}' at iteration ${fault.iter}` });
  if (fault.kind === 'lose-device') device.destroy();
  // Past maxBufferSize: a validation error on the device, as an oversized model or render target gives.
  else device.createBuffer({ label: 'test-fault-over-limit', size: device.limits.maxBufferSize + 256, usage: 0x80 /* GPUBufferUsage.STORAGE */ });
}
