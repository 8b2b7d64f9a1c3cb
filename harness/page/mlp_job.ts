// Page jobs for the MLP deformation field and the batched linear layers
// (harness/deform/mlp.ts, harness/deform/linear.ts).
import type { Job } from './context.ts';

export const MLP_JOBS: Record<string, Job> = {};
