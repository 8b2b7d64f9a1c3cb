// Page job checking the chain deform -> render -> loss -> backward (tests/dynamic_chain.test.ts).
import type { Job } from './context.ts';

export const DYNAMIC_CHAIN_JOBS: Record<string, Job> = {};
