import type { Job } from './context.ts';

export const infoJob: Job = async (ctx) => ({ ...ctx.gpu.report, userAgent: globalThis.navigator?.userAgent ?? null });
