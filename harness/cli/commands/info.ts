// `dg4d info`: the adapter Chromium gives us, its limits and features, and the browser.
import { withGpuSession } from '../../browser/open_session.ts';
import type { Runtime } from '../../browser/session_types.ts';
import type { AdapterReport } from '../../protocol/messages.ts';
import { adapterOption, parse, runtimeOption } from '../args.ts';

export const INFO_HELP = `usage: dg4d info [--runtime chromium|dawn] [--adapter auto|swiftshader|vulkan] [--json] [--quiet]

Starts headless Chromium (or Dawn in this Node process), creates a WebGPU device and
prints the adapter (vendor, architecture, description, whether it is a
fallback/software adapter), its subgroup sizes, features and limits, and the
browser (or Dawn package) version.

  --runtime chromium|dawn             which WebGPU host (default $DG4D_RUNTIME, else chromium)
  --adapter auto|swiftshader|vulkan   which adapter the runtime uses (default auto)
  --json                              machine-readable output on stdout
  --quiet                             no page console output
  -h, --help                          this help`;

export interface InfoResult {
  runtime: Runtime;
  browser: { version: string; adapterFlags: string };
  adapter: AdapterReport;
}

export function formatInfo(info: InfoResult): string {
  const a = info.adapter;
  const lines = [
    `${info.runtime === 'dawn' ? 'runtime   ' : 'browser   '} ${info.browser.version} (adapter flags: ${info.browser.adapterFlags})`,
    `adapter    ${a.vendor} / ${a.architecture}: ${a.description}${a.isFallbackAdapter ? ' [fallback/software adapter]' : ''}`,
    `device id  ${a.device || 'n/a'}`,
    `subgroups  ${a.subgroupMinSize === null ? 'n/a' : `${a.subgroupMinSize}..${a.subgroupMaxSize}`}`,
    `enabled    ${a.enabledFeatures.join(', ') || '(none)'}`,
    `features   ${a.features.join(', ')}`,
    'limits',
    ...Object.entries(a.limits).map(([k, v]) => `  ${k.padEnd(44)} ${v}`),
  ];
  return lines.join('\n');
}

export async function infoCommand(argv: string[]): Promise<number> {
  const opts = parse('info', argv, {
    adapter: { type: 'string', default: 'auto' },
    runtime: { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const adapter = adapterOption(opts.adapter);
  const info = await withGpuSession({ adapter, runtime: runtimeOption(opts.runtime), quiet: opts.quiet || opts.json }, async (s) => ({
    runtime: s.runtime,
    browser: { version: s.browserVersion, adapterFlags: s.adapterFlags },
    adapter: await s.adapterInfo(),
  }));
  process.stdout.write((opts.json ? JSON.stringify(info, null, 2) : formatInfo(info)) + '\n');
  return 0;
}
