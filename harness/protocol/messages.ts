// The one typed message stream from the page core to the host (CLI, report, tests).

export type PageMessage =
  | { type: 'step'; stage: string; iter: number; of: number; [extra: string]: unknown }
  | { type: 'log'; level: 'info' | 'warn'; text: string }
  /** A pipeline stage begins or ends inside a page job (harness/page/stage_scope.ts): the host blames faults on it. */
  | { type: 'stage'; stage: string; event: 'begin' | 'end' }
  | { type: 'device-lost'; reason: string; message: string }
  | { type: 'gpu-error'; kind: 'validation' | 'out-of-memory' | 'internal'; message: string };

/** What a page job returns: an envelope, so errors keep their message and stack. */
export type JobResult = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; stack?: string } };

/** Adapter description reported by `dg4d info` and stored in run.json. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  subgroupMinSize: number | null;
  subgroupMaxSize: number | null;
  features: string[];
  limits: Record<string, number>;
  /** Optional features the device was created with. */
  enabledFeatures: string[];
}
