// Device creation for the DOM-free page core: takes a GPU (navigator.gpu or Dawn's),
// requests limits explicitly (WebGPU's defaults are far below what real adapters
// offer) and turns on the optional features we know how to use.
import type { AdapterReport } from '../protocol/messages.ts';

export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** Limits we raise to the adapter's maximum; everything else stays at the default. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
  has(feature: OptionalFeature): boolean;
}

export interface CreateGpuOptions {
  /** Optional features to request when present; default: all of OPTIONAL_FEATURES. */
  features?: readonly OptionalFeature[];
  /** Called once if the device is lost (destroy() included). */
  onLost?: (info: GPUDeviceLostInfo) => void;
  onUncapturedError?: (error: GPUError) => void;
}

export function limitsRecord(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // Limits are prototype getters, so Object.keys() sees none of them.
  for (let proto = Object.getPrototypeOf(limits); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const [key, desc] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (desc.get && !(key in out)) {
        const v = (limits as unknown as Record<string, unknown>)[key];
        if (typeof v === 'number') out[key] = v;
      }
    }
  }
  return out;
}

export async function requestAdapter(gpu: GPU): Promise<GPUAdapter> {
  const adapter =
    (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ??
    (await gpu.requestAdapter({ forceFallbackAdapter: true }));
  if (!adapter) throw new Error('WebGPU: no adapter available (navigator.gpu.requestAdapter returned null)');
  return adapter;
}

export async function createGpu(gpu: GPU, options: CreateGpuOptions = {}): Promise<Gpu> {
  const adapter = await requestAdapter(gpu);
  const wanted = options.features ?? OPTIONAL_FEATURES;
  const enabled = wanted.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: enabled as GPUFeatureName[], requiredLimits });
  if (options.onLost) void device.lost.then(options.onLost);
  if (options.onUncapturedError) {
    const handler = options.onUncapturedError;
    device.addEventListener('uncapturederror', (ev) => handler((ev as GPUUncapturedErrorEvent).error));
  }
  const info = adapter.info;
  const report: AdapterReport = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    subgroupMinSize: (info as { subgroupMinSize?: number }).subgroupMinSize ?? null,
    subgroupMaxSize: (info as { subgroupMaxSize?: number }).subgroupMaxSize ?? null,
    features: [...adapter.features].sort(),
    limits: limitsRecord(adapter.limits),
    enabledFeatures: [...enabled],
  };
  return { device, adapter, report, has: (f) => enabled.includes(f) };
}
