// Option parsing shared by every command (DESIGN.md, "Command line").
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ADAPTER_CHOICES, type AdapterChoice } from '../browser/chrome.ts';
import { RUNTIMES, type Runtime } from '../browser/session_types.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const PRESETS = ['tiny', 'small', 'paper'] as const;
export type Preset = (typeof PRESETS)[number];
export const DEFAULT_SEED = 20231229;

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options of every command that runs GPU work. */
export const GPU_OPTIONS = {
  preset: { type: 'string' },
  adapter: { type: 'string', default: 'auto' },
  runtime: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  'metric-models': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export const GPU_OPTIONS_HELP = `  --preset tiny|small|paper  workload size (default: small on a software adapter, paper on a GPU)
  --adapter auto|swiftshader|vulkan
                             which WebGPU adapter the runtime uses (default auto: Vulkan when a
                             GPU device node exists, else SwiftShader)
  --runtime chromium|dawn    which WebGPU host runs the page core (default $DG4D_RUNTIME, else
                             chromium: headless Chromium; dawn: Dawn's WebGPU in this Node
                             process, npm webgpu)
  --seed N                   random seed (default ${DEFAULT_SEED})
  --out DIR                  run directory (default reports/<run-id>/; must be new or empty)
  --json                     print a machine-readable summary on stdout
  --quiet                    no progress or page console output
  --metric-models DIR        ONNX models of the learned metrics: lpips_vgg.onnx, clip_vit_b32_image.onnx,
                             i3d.onnx (any subset; README "Learned metrics"); without one, its
                             columns read 'n/a (no model)'
  -h, --help                 this help`;

export function parse<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`dg4d ${command}: ${(err as Error).message}`);
  }
}

export function adapterOption(value: string | undefined): AdapterChoice {
  const v = value ?? 'auto';
  if (!(ADAPTER_CHOICES as readonly string[]).includes(v)) throw new UsageError(`--adapter must be one of ${ADAPTER_CHOICES.join(', ')}, got '${v}'`);
  return v as AdapterChoice;
}

/** --runtime, else $DG4D_RUNTIME (a dg4d bundle's run script sets dawn), else chromium. */
export function runtimeOption(value: string | undefined): Runtime {
  const v = value ?? (process.env.DG4D_RUNTIME || 'chromium');
  if (!(RUNTIMES as readonly string[]).includes(v)) throw new UsageError(`--runtime must be one of ${RUNTIMES.join(', ')}, got '${v}'`);
  return v as Runtime;
}

export function presetOption(value: string | undefined): Preset | undefined {
  if (value === undefined) return undefined;
  if (!(PRESETS as readonly string[]).includes(value)) throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}, got '${value}'`);
  return value as Preset;
}

export function seedOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SEED;
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new UsageError(`--seed must be an integer in [0, 4294967295], got '${value}'`);
  return Number(value);
}
