// The registry of work the host can ask the page to do, by name.
import type { Job } from './context.ts';
import { adamJob } from './adam_job.ts';
import { densifyJob } from './densify_job.ts';
import { DYNAMIC_CHAIN_JOBS } from './dynamic_chain_job.ts';
import { DYNAMIC_JOBS } from './dynamic_job.ts';
import { gtRenderJob } from './gt_job.ts';
import { HEXPLANE_JOBS } from './hexplane_job.ts';
import { infoJob } from './info_job.ts';
import { lossBenchJob, lossJob } from './loss_job.ts';
import { MESH_JOBS } from './mesh_job.ts';
import { METRICS_JOBS } from './metrics_job.ts';
import { MLP_JOBS } from './mlp_job.ts';
import { renderBenchJob, renderJob } from './render_job.ts';
import { scanJob, scanBenchJob } from './scan_job.ts';
import { sortJob, sortBenchJob } from './sort_job.ts';
import { staticStageJob, trainStepBenchJob } from './static_job.ts';
import { timerCheckJob } from './timer_job.ts';

export const JOBS: Record<string, Job> = {
  info: infoJob,
  scan: scanJob,
  scanBench: scanBenchJob,
  sort: sortJob,
  sortBench: sortBenchJob,
  timerCheck: timerCheckJob,
  loss: lossJob,
  lossBench: lossBenchJob,
  adam: adamJob,
  densify: densifyJob,
  render: renderJob,
  renderBench: renderBenchJob,
  staticStage: staticStageJob,
  gtRender: gtRenderJob,
  trainStepBench: trainStepBenchJob,
  ...HEXPLANE_JOBS,
  ...MLP_JOBS,
  ...DYNAMIC_JOBS,
  ...DYNAMIC_CHAIN_JOBS,
  ...METRICS_JOBS,
  ...MESH_JOBS,
  /** Destroys the device: lets tests check that device loss becomes an error. */
  destroyDevice: async (ctx) => {
    ctx.gpu.device.destroy();
    await ctx.gpu.device.lost;
    return null;
  },
};
