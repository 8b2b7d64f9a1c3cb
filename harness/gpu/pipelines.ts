// Shader modules and compute pipelines, compiled once per (shader, entry point,
// override constants) and reused. Compilation errors name the WGSL file and line.

export interface ShaderSource {
  /** Stage name, also the file name under wgsl/ (without .wgsl). */
  label: string;
  code: string;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(readonly device: GPUDevice) {}

  async module(shader: ShaderSource): Promise<GPUShaderModule> {
    const hit = this.modules.get(shader.label);
    if (hit) return hit;
    const module = this.device.createShaderModule({ label: shader.label, code: shader.code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      const lines = errors.map((m) => `wgsl/${shader.label}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`);
      throw new Error(`WGSL compilation failed:\n${lines.join('\n')}`);
    }
    this.modules.set(shader.label, module);
    return module;
  }

  pipeline(shader: ShaderSource, entryPoint: string, constants: Record<string, number> = {}): Promise<GPUComputePipeline> {
    const key = `${shader.label}|${entryPoint}|${JSON.stringify(constants)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.module(shader).then((module) =>
        this.device.createComputePipelineAsync({
          label: `${shader.label}:${entryPoint}`,
          layout: 'auto',
          compute: { module, entryPoint, constants },
        }),
      );
      // A failed compile must not poison the cache for a later, corrected attempt.
      p.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, p);
    }
    return p;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** Binds buffers to consecutive binding indices of group 0. */
export function bindBuffers(device: GPUDevice, pipeline: GPUComputePipeline, buffers: (GPUBuffer | GPUBufferBinding)[], label?: string): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((b, i) => ({ binding: i, resource: 'buffer' in b ? b : { buffer: b } })),
  });
}
