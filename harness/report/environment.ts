// The environment block every output carries: what produced these numbers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../browser/bundle.ts';
import type { Runtime } from '../browser/session_types.ts';
import type { AdapterReport } from '../protocol/messages.ts';

export interface Environment {
  tool: { name: string; version: string; commit: string | null };
  node: string;
  /** The WebGPU host: headless Chromium or Dawn in Node (runs before the option existed: chromium). */
  runtime: Runtime;
  os: { platform: string; release: string; arch: string; cpuModel: string; cpuCount: number; memoryGiB: number };
  browser: { version: string; adapterFlags: string; launchArgs: string[] };
  adapter: AdapterReport;
}

/** HEAD's commit, with "-dirty" when the tree has uncommitted changes; null outside git. */
export function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

export function toolVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function describeEnvironment(adapter: AdapterReport, browser: Environment['browser'], runtime: Runtime = 'chromium'): Environment {
  const cpu = cpus();
  return {
    tool: { name: 'dg4d-bench', version: toolVersion(), commit: gitCommit() },
    node: process.version,
    runtime,
    os: { platform: platform(), release: release(), arch: arch(), cpuModel: cpu[0]?.model ?? 'unknown', cpuCount: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    browser,
    adapter,
  };
}
