// Learned metrics in the page through onnxruntime-web: LPIPS (VGG), CLIP image
// embeddings (CLIP, CLIP-I) and I3D video features (FVD), from ONNX files a user
// supplies (`--metric-models DIR`; Node side: metric_models.ts; export recipes and
// the exact contract: README.md "Learned metrics"). DOM-free: files come through the host's
// HostAssets (harness/page/context.ts).
//
// onnxruntime-web is not bundled: the page imports it on first use from the
// static server (/vendor/onnxruntime-web/, harness/browser/server.ts), so runs
// without models never load it. Backend: 'wasm' (the default; single-threaded,
// as the page is not cross-origin isolated) or 'webgpu' (its own device).
//
// Contract, per model (N = batch, always 1 here; H, W and T fixed in the model are
// what we resize / sample to, symbolic ones take the defaults below):
//   lpips_vgg.onnx            two inputs [N,3,H,W] f32 in [-1,1] (render, ground truth,
//                             in the model's input order); first output: the distance,
//                             its mean taken ([N,1,1,1] in the lpips package). H, W
//                             symbolic: the render size.
//   clip_vit_b32_image.onnx   one input [N,3,H,W] f32, (v − CLIP mean) / CLIP std;
//                             first output [N,D] the image embedding (projected;
//                             normalised here). H, W symbolic: 224.
//   i3d.onnx                  one input [N,3,T,H,W] f32 in [-1,1]; first output
//                             [N,D] features (e.g. 400 Kinetics logits). T symbolic:
//                             every frame of the sequence; H, W symbolic: 224.
// Images arrive as [H,W,4] rgb over white; they are clamped to [0, 1] and
// area-resampled (harness/pipeline/images.ts resampleArea) to the model's size.
import type * as Ort from 'onnxruntime-web';
import type { HostAssets } from '../page/context.ts';
import { resampleArea } from '../pipeline/images.ts';

export const METRIC_MODEL_FILES = { lpips: 'lpips_vgg.onnx', clip: 'clip_vit_b32_image.onnx', i3d: 'i3d.onnx' } as const;
export type MetricModelName = keyof typeof METRIC_MODEL_FILES;
export const METRIC_MODEL_NAMES = Object.keys(METRIC_MODEL_FILES) as MetricModelName[];
/** What a learned-metric column reads when its model file is absent. */
export const NO_MODEL = 'n/a (no model)';
export const ORT_URL = '/vendor/onnxruntime-web/';

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
/** [-1, 1]: (v − 0.5) / 0.5. */
export const SIGNED_UNIT = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
export const DEFAULT_SIDE = 224;

/** Rank and the fixed dims of each model's input (-1: any), beside the text for errors. */
const CONTRACT: Record<MetricModelName, { inputs: number; rank: number; text: string }> = {
  lpips: { inputs: 2, rank: 4, text: 'two inputs [N,3,H,W] float32' },
  clip: { inputs: 1, rank: 4, text: 'one input [N,3,H,W] float32' },
  i3d: { inputs: 1, rank: 5, text: 'one input [N,3,T,H,W] float32' },
};

export class MetricModelError extends Error {
  override name = 'MetricModelError';
}

/**
 * Checks a model's inputs against the contract (used by the page after loading and
 * by the Node loader before any GPU work); returns their dims, -1 where symbolic.
 */
export function checkModelInputs(name: MetricModelName, file: string, inputs: { name: string; type: string; dims: number[] }[]): number[][] {
  const c = CONTRACT[name];
  const fail = (why: string) => new MetricModelError(`metric model ${file} (${name}): ${why}`);
  if (inputs.length !== c.inputs) throw fail(`has ${inputs.length} input(s) (${inputs.map((i) => i.name).join(', ')}), expected ${c.text}`);
  for (const i of inputs) {
    const ok = i.type === 'float32' && i.dims.length === c.rank && (i.dims[1] === 3 || i.dims[1] === -1);
    if (!ok) throw fail(`input '${i.name}' is ${i.type} [${i.dims.map((d) => (d < 0 ? '?' : d)).join(',')}], expected ${c.text}`);
  }
  return inputs.map((i) => i.dims);
}

export interface LearnedMetricsConfig {
  /** URL prefix of the model files (the session serves --metric-models DIR as /data/metric-models/). */
  baseUrl: string;
  /** The files present, by model (metric_models.ts findMetricModels()). */
  files: Partial<Record<MetricModelName, string>>;
  backend?: 'wasm' | 'webgpu';
  /** Where onnxruntime-web's dist files are served (default ORT_URL). */
  ortUrl?: string;
}

/** [H,W,4] image -> [3,H',W'] planes, clamped to [0,1], area-resampled, (v − mean[c]) / std[c]. */
export function toPlanes(rgba: Float32Array, w: number, h: number, W: number, H: number, norm: { mean: number[]; std: number[] }): Float32Array {
  const clamped = rgba.map((v) => Math.min(1, Math.max(0, v)));
  const img = resampleArea(clamped, w, h, W, H);
  const n = W * H;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) out[c * n + p] = (img[4 * p + c]! - norm.mean[c]!) / norm.std[c]!;
  return out;
}

/** T frame indices out of `count` by nearest sampling, floor(i·count/T): evenly spread, repeats when count < T. */
export function pickFrames(count: number, T: number): number[] {
  return Array.from({ length: T }, (_, i) => Math.floor((i * count) / T));
}

/** Cosine similarity in float64. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: lengths ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

type OrtModule = typeof Ort;
const ortLoads = new Map<string, Promise<OrtModule>>();

function loadOrt(base: string, backend: 'wasm' | 'webgpu'): Promise<OrtModule> {
  const url = `${base}${backend === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs'}`;
  let p = ortLoads.get(url);
  if (!p) {
    // A computed specifier: esbuild leaves it alone, the browser fetches it at run time.
    p = (import(/* webpackIgnore: true */ url) as Promise<OrtModule>).then((ort) => {
      ort.env.wasm.wasmPaths = base;
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      return ort;
    });
    p.catch(() => ortLoads.delete(url));
    ortLoads.set(url, p);
  }
  return p;
}

/** One loaded model, its input shapes checked against the contract. */
export class MetricModel {
  private constructor(
    private readonly ort: OrtModule,
    readonly name: MetricModelName,
    readonly file: string,
    private readonly session: Ort.InferenceSession,
    /** Input dims (-1 where symbolic), in the model's input order. */
    readonly inputShapes: number[][],
  ) {}

  static async load(ort: OrtModule, name: MetricModelName, file: string, url: string, backend: 'wasm' | 'webgpu', assets: HostAssets): Promise<MetricModel> {
    const fail = (why: string) => new MetricModelError(`metric model ${file} (${name}): ${why}`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await assets.bytes(url));
    } catch (err) {
      throw fail(`could not be read from ${url} (${(err as Error).message})`);
    }
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: 'all' });
    } catch (err) {
      throw fail(`onnxruntime-web could not load it: ${(err as Error).message ?? String(err)}`);
    }
    let shapes: number[][];
    try {
      shapes = checkModelInputs(
        name,
        file,
        session.inputMetadata.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'not a tensor', dims: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) : [] })),
      );
    } catch (err) {
      await session.release();
      throw err;
    }
    return new MetricModel(ort, name, file, session, shapes);
  }

  /** Runs the model on float32 inputs in input order; the first output's data and dims. */
  async run(inputs: { data: Float32Array; dims: number[] }[]): Promise<{ data: Float32Array; dims: number[] }> {
    const feeds: Record<string, Ort.Tensor> = {};
    this.session.inputNames.forEach((n, i) => (feeds[n] = new this.ort.Tensor('float32', inputs[i]!.data, inputs[i]!.dims)));
    let out: Ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds);
    } catch (err) {
      throw new MetricModelError(`metric model ${this.file} (${this.name}): inference on [${inputs.map((x) => x.dims.join(',')).join('] and [')}] failed: ${(err as Error).message ?? String(err)}`);
    }
    const t = out[this.session.outputNames[0]!]!;
    if (t.type !== 'float32') throw new MetricModelError(`metric model ${this.file} (${this.name}): output '${this.session.outputNames[0]}' is ${t.type}, float32 expected`);
    return { data: t.data as Float32Array, dims: t.dims.map(Number) };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The learned metrics a run has models for; each method answers null without its model. */
export class LearnedMetrics {
  private constructor(readonly models: Partial<Record<MetricModelName, MetricModel>>) {}

  static async load(config: LearnedMetricsConfig, assets: HostAssets): Promise<LearnedMetrics> {
    const backend = config.backend ?? 'wasm';
    const present = METRIC_MODEL_NAMES.filter((n) => config.files[n]);
    if (!present.length) return new LearnedMetrics({});
    const ort = await loadOrt(assets.url(config.ortUrl ?? ORT_URL), backend);
    const models: Partial<Record<MetricModelName, MetricModel>> = {};
    try {
      for (const name of present) {
        const file = config.files[name]!;
        models[name] = await MetricModel.load(ort, name, file, `${config.baseUrl}${encodeURIComponent(file)}`, backend, assets);
      }
    } catch (err) {
      await Promise.all(Object.values(models).map((m) => m.release()));
      throw err;
    }
    return new LearnedMetrics(models);
  }

  has(name: MetricModelName): boolean {
    return Boolean(this.models[name]);
  }

  /** LPIPS distance of a render and its target ([H,W,4] rgb over white); null without the model. */
  async lpips(render: Float32Array, target: Float32Array, w: number, h: number): Promise<number | null> {
    const m = this.models.lpips;
    if (!m) return null;
    const dims = m.inputShapes.map((s) => [1, 3, s[2]! > 0 ? s[2]! : h, s[3]! > 0 ? s[3]! : w]);
    const images = [render, target].map((img, i) => ({ data: toPlanes(img, w, h, dims[i]![3]!, dims[i]![2]!, SIGNED_UNIT), dims: dims[i]! }));
    const out = await m.run(images);
    let s = 0;
    for (const v of out.data) s += v;
    return s / out.data.length;
  }

  /** CLIP image embedding of an [H,W,4] image, as the model gives it; null without the model. */
  async clipEmbedding(rgba: Float32Array, w: number, h: number): Promise<Float32Array | null> {
    const m = this.models.clip;
    if (!m) return null;
    const s = m.inputShapes[0]!;
    const dims = [1, 3, s[2]! > 0 ? s[2]! : DEFAULT_SIDE, s[3]! > 0 ? s[3]! : DEFAULT_SIDE];
    const out = await m.run([{ data: toPlanes(rgba, w, h, dims[3]!, dims[2]!, { mean: CLIP_MEAN, std: CLIP_STD }), dims }]);
    return out.data.slice();
  }

  /** The (H, W) I3D wants and the T it fixes (null: any). */
  i3dInput(): { T: number | null; H: number; W: number } | null {
    const s = this.models.i3d?.inputShapes[0];
    if (!s) return null;
    return { T: s[2]! > 0 ? s[2]! : null, H: s[3]! > 0 ? s[3]! : DEFAULT_SIDE, W: s[4]! > 0 ? s[4]! : DEFAULT_SIDE };
  }

  /** I3D features of one video: frames already as toPlanes() of i3dInput()'s size, in time order. */
  async i3dFeatures(framePlanes: Float32Array[]): Promise<Float32Array | null> {
    const m = this.models.i3d;
    const io = this.i3dInput();
    if (!m || !io || framePlanes.length === 0) return null;
    const picks = io.T ? pickFrames(framePlanes.length, io.T) : framePlanes.map((_, i) => i);
    const T = picks.length;
    const hw = io.H * io.W;
    const data = new Float32Array(3 * T * hw);
    // [3,T,H,W]: channel-major, then time.
    picks.forEach((f, t) => {
      const planes = framePlanes[f]!;
      for (let c = 0; c < 3; c++) data.set(planes.subarray(c * hw, (c + 1) * hw), (c * T + t) * hw);
    });
    const out = await m.run([{ data, dims: [1, 3, T, io.H, io.W] }]);
    return out.data.slice();
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.models).map((m) => m.release()));
  }
}
