// Page jobs for the HexPlane deformation field (harness/deform/hexplane.ts).
import type { Job } from './context.ts';

export const HEXPLANE_JOBS: Record<string, Job> = {};
