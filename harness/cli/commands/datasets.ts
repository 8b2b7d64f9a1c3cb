// `dg4d datasets make|preview`: render the procedural scenes (datasets/scenes/)
// into scene folders (datasets/make.ts), or one scene into a PNG contact sheet.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { openSession } from '../../browser/open_session.ts';
import { CACHE_ROOT } from '../../../datasets/cache.ts';
import { loadSceneRegistry, makeScene, previewScene, PREVIEW_AZIMUTHS, PREVIEW_TIMES, type MakeSummary } from '../../../datasets/make.ts';
import type { SceneFactory } from '../../../datasets/scenes/scene.ts';
import { UsageError, adapterOption, parse, runtimeOption, seedOption } from '../args.ts';

export const DATASETS_HELP = `usage: dg4d datasets make [--scene NAME|all] [--res R] [--out DIR] [--seed N] [--adapter A] [--quiet]
       dg4d datasets preview --scene NAME [--res R] [--out FILE.png] [--seed N] [--adapter A] [--quiet]

make: renders procedural animated scenes (datasets/scenes/) with the ground-truth
mesh renderer and writes, per scene, DIR/<scene>/:
  transforms_{train,val,test}.json + train/ val/ test/   D-NeRF split (100 train time
      steps, a camera teleporting to a seeded random view; 10 val, 20 test)
  transforms_{input,eval}.json + input/ eval/             Consistent4D split (front video,
      32 frames; azimuths -75, 15, 105, 195 at every frame)
  meshes/frame_NNN.obj, scene.mtl, texture.png            ground-truth surfaces per input frame
  image2video/image.png, image2video/frames/frame_NNN.png the image-to-4D pair
preview: one PNG contact sheet, rows = views (azimuth ${PREVIEW_AZIMUTHS.join(', ')}), columns =
  times (${PREVIEW_TIMES.join(', ')}), composited on white.

  --scene NAME|all   scene (make default: all; preview: required)
  --res R            image size R x R (default: make 256, preview 128)
  --out DIR|FILE     make: parent folder (default datasets/.cache, git-ignored);
                     preview: PNG file (default <scene>_preview.png)
  --seed N           random seed of scene and cameras (default 20231229)
  --adapter auto|swiftshader|vulkan   which WebGPU adapter Chromium uses (default auto)
  --quiet            no progress output
  -h, --help         this help`;

const OPTIONS = {
  scene: { type: 'string' },
  res: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  adapter: { type: 'string', default: 'auto' },
  runtime: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function resOption(value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value) || Number(value) < 8 || Number(value) > 4096) throw new UsageError(`--res must be an integer in [8, 4096], got '${value}'`);
  return Number(value);
}

function pickScenes(registry: Record<string, SceneFactory>, name: string | undefined, allowAll: boolean): [string, SceneFactory][] {
  const known = Object.keys(registry);
  if (name === undefined) {
    if (!allowAll) throw new UsageError(`--scene is required (known: ${known.join(', ') || 'none'})`);
    name = 'all';
  }
  if (name === 'all' && allowAll) {
    if (known.length === 0) throw new UsageError('--scene all: no scenes are registered (datasets/scenes/index.ts is missing or empty)');
    return Object.entries(registry);
  }
  const f = registry[name];
  if (!f) throw new UsageError(`--scene: unknown scene '${name}' (known: ${known.join(', ') || 'none'}${allowAll ? ', all' : ''})`);
  return [[name, f]];
}

export async function datasetsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'make' && sub !== 'preview') throw new UsageError(sub === undefined ? 'dg4d datasets: missing subcommand (make or preview)' : `dg4d datasets: unknown subcommand '${sub}' (make or preview)`);
  const opts = parse(`datasets ${sub}`, rest, OPTIONS);
  const adapter = adapterOption(opts.adapter);
  const seed = seedOption(opts.seed);
  const res = resOption(opts.res, sub === 'make' ? 256 : 128);
  const registry = await loadSceneRegistry();
  const scenes = pickScenes(registry, opts.scene, sub === 'make');
  const log = (s: string) => opts.quiet || process.stderr.write(s + '\n');

  const session = await openSession({ adapter, runtime: runtimeOption(opts.runtime), quiet: opts.quiet });
  try {
    if (sub === 'make') {
      const out = resolve(opts.out ?? CACHE_ROOT);
      await mkdir(out, { recursive: true });
      log(`dg4d datasets make: ${scenes.length} scene(s) at ${res}x${res}, seed ${seed}, into ${out} (adapter: ${session.adapterFlags})`);
      const done: MakeSummary[] = [];
      const t0 = performance.now();
      for (const [name, factory] of scenes) {
        const scene = factory(seed);
        if (scene.name !== name) throw new Error(`scene registered as '${name}' calls itself '${scene.name}'`);
        const s = await makeScene(session, scene, { res, out, seed, log });
        done.push(s);
        log(`${name}: ${s.renders} views in ${(s.wallMs / 1000).toFixed(1)} s -> ${s.dir}`);
      }
      log(`done: ${done.length} scene(s), ${done.reduce((a, s) => a + s.renders, 0)} views, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } else {
      const [name, factory] = scenes[0]!;
      const file = resolve(opts.out ?? join('.', `${name}_preview.png`));
      await mkdir(dirname(file), { recursive: true });
      const size = await previewScene(session, factory(seed), { res, out: file });
      log(`${name}: preview ${size.width}x${size.height} -> ${file}`);
    }
  } finally {
    await session.close();
  }
  return 0;
}
