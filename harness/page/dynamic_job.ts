// Page jobs for the dynamic stage (harness/pipeline/dynamic_stage.ts).
import type { Job } from './context.ts';

export const DYNAMIC_JOBS: Record<string, Job> = {};
