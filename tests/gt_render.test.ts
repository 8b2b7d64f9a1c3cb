// The ground-truth mesh renderer (wgsl/gt_mesh.wgsl, harness/gt/mesh_renderer.ts)
// in real headless Chromium against its float64 CPU rasteriser refMeshRender:
// pixels whose samples all see one triangle tightly, silhouette and triangle-edge
// pixels loosely (a sample may flip on an edge); the depth test; the camera
// convention against the splatting camera (Camera.fromBlender). 64² for SwiftShader.
import test, { type ExecutionContext } from 'ava';
import { BrowserSession } from '../harness/browser/session.ts';
import { type GtCameraSpec, type GtRenderOptions, gtCamera, gtProject, type MeshData, type TextureData } from '../harness/gt/mesh.ts';
import { refMeshRender, refSampleTexture } from '../harness/gt/mesh_ref.ts';
import type { GtRenderJobResult } from '../harness/page/gt_job.ts';
import { Camera, lookAtC2w, type Vec3 } from '../harness/splat/camera.ts';

let session: BrowserSession;

test.before(async () => {
  session = await BrowserSession.open({ quiet: true, callTimeoutMs: 120_000 });
});

test.after.always(async () => {
  await session?.close();
});

async function gpuRender(mesh: MeshData, texture: TextureData, camera: GtCameraSpec, options: GtRenderOptions = {}): Promise<Float32Array> {
  const r = await session.run<GtRenderJobResult>('gtRender', { mesh, texture, camera, options });
  return r.image;
}

/** A unit cube (side 2 at the origin), 4 vertices per face with the face normal and uv 0..1. */
function cube(scale = 1, offset: Vec3 = [0, 0, 0]): MeshData {
  const positions: number[] = [];
  const normals: number[] = [];
  const uvs: number[] = [];
  const indices: number[] = [];
  for (let axis = 0; axis < 3; axis++) {
    for (const sign of [1, -1]) {
      const n: Vec3 = [0, 0, 0];
      n[axis] = sign;
      const a = (axis + 1) % 3;
      const b = (axis + 2) % 3;
      const base = positions.length / 3;
      for (const [s, t] of [[-1, -1], [1, -1], [1, 1], [-1, 1]] as const) {
        const p: Vec3 = [0, 0, 0];
        p[axis] = sign;
        p[a] = s * sign;
        p[b] = t;
        positions.push(...p.map((v, k) => v * scale + offset[k]!));
        normals.push(...n);
        uvs.push((s + 1) / 2, (t + 1) / 2);
      }
      indices.push(base, base + 1, base + 2, base, base + 2, base + 3);
    }
  }
  return { positions: new Float32Array(positions), normals: new Float32Array(normals), uvs: new Float32Array(uvs), indices: new Uint32Array(indices) };
}

/** A quad at depth plane z (world), facing +Z, with one flat colour texture implied by uvs in [0,1]. */
function quad(cx: number, cy: number, z: number, half: number): MeshData {
  const positions = new Float32Array([cx - half, cy - half, z, cx + half, cy - half, z, cx + half, cy + half, z, cx - half, cy + half, z]);
  return { positions, normals: new Float32Array([0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]), uvs: new Float32Array([0, 0, 1, 0, 1, 1, 0, 1]), indices: new Uint32Array([0, 1, 2, 0, 2, 3]) };
}

function concat(...meshes: MeshData[]): MeshData {
  const out = { positions: [] as number[], normals: [] as number[], uvs: [] as number[], indices: [] as number[] };
  for (const m of meshes) {
    const base = out.positions.length / 3;
    out.positions.push(...m.positions);
    out.normals.push(...m.normals);
    out.uvs.push(...m.uvs);
    out.indices.push(...Array.from(m.indices, (i) => i + base));
  }
  return { positions: new Float32Array(out.positions), normals: new Float32Array(out.normals), uvs: new Float32Array(out.uvs), indices: new Uint32Array(out.indices) };
}

/** A 8x8 texture of distinct smooth-ish colours. */
function texture(w = 8, h = 8): TextureData {
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      rgba[o] = 40 + ((x * 29) % 200);
      rgba[o + 1] = 60 + ((y * 23) % 180);
      rgba[o + 2] = 30 + (((x + y) * 17) % 210);
      rgba[o + 3] = 255;
    }
  }
  return { width: w, height: h, rgba };
}

function solid(r: number, g: number, b: number): TextureData {
  return { width: 1, height: 1, rgba: new Uint8Array([r, g, b, 255]) };
}

/**
 * GPU vs reference: tight where all samples see one triangle, loose on edges.
 * Interior tolerance: GPU bilinear filtering quantises its weights (SwiftShader:
 * ~0.01 off on this texture's contrast), so max 2e-2 and mean 2e-3.
 */
function compare(t: ExecutionContext, got: Float32Array, mesh: MeshData, tex: TextureData, camera: GtCameraSpec, options: GtRenderOptions = {}, tol = 2e-2) {
  const ref = refMeshRender(mesh, tex, camera, options);
  const n = camera.width * camera.height;
  t.is(got.length, 4 * n);
  let interior = 0;
  let covered = 0;
  let worst = 0;
  let worstAt = -1;
  let interiorSum = 0;
  let edgeAlphaWorst = 0;
  let edgeSum = 0;
  let edges = 0;
  for (let i = 0; i < n; i++) {
    if (ref.edge[i]) {
      edges++;
      edgeAlphaWorst = Math.max(edgeAlphaWorst, Math.abs(got[4 * i + 3]! - ref.image[4 * i + 3]!));
      // Premultiplied colours: a flipped sample moves each by at most 1/4.
      for (let c = 0; c < 3; c++) edgeSum += Math.abs(got[4 * i + c]! * got[4 * i + 3]! - ref.image[4 * i + c]! * ref.image[4 * i + 3]!);
      continue;
    }
    interior++;
    if (ref.triangle[i]! >= 0) covered++;
    for (let c = 0; c < 4; c++) {
      const d = Math.abs(got[4 * i + c]! - ref.image[4 * i + c]!);
      interiorSum += d;
      if (d > worst) {
        worst = d;
        worstAt = 4 * i + c;
      }
    }
  }
  t.true(worst <= tol, `interior pixels: worst |diff| ${worst} at [${Math.floor(worstAt / 4)}].${worstAt % 4}: got ${got[worstAt]}, want ${ref.image[worstAt]}`);
  t.true(interiorSum / (4 * Math.max(1, interior)) < 2e-3, `interior pixels: mean |diff| ${interiorSum / (4 * Math.max(1, interior))}`);
  t.true(edgeAlphaWorst <= 0.26, `edge pixels: alpha off by ${edgeAlphaWorst} (more than one sample of four)`);
  t.true(edges === 0 || edgeSum / (3 * edges) < 0.03, `edge pixels: mean premultiplied |diff| ${edgeSum / (3 * Math.max(1, edges))}`);
  return { ref, interior, covered, edges };
}

const LIGHT = { dir: [0.4, 0.7, 0.6] as [number, number, number], ambient: 0.25, diffuse: 0.75 };

// --- CPU-side pieces -----------------------------------------------------------

test('gtProject agrees with Camera.fromBlender (the splatting camera) for random cameras and points', (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let k = 0; k < 20; k++) {
    const eye: Vec3 = [rnd() * 4, rnd() * 4, 3 + rnd()];
    const spec = { c2w: lookAtC2w(eye, [rnd() * 0.3, rnd() * 0.3, 0]), fovx: 0.6 + 0.5 * (rnd() + 1), width: 64 + k, height: 48 };
    const gt = gtCamera(spec);
    const sp = Camera.fromBlender(spec);
    for (let j = 0; j < 5; j++) {
      const p = [rnd(), rnd(), rnd()];
      const [u, v, d] = gtProject(gt, p);
      const c = sp.toCamera(p);
      t.true(Math.abs(d - c[2]) < 1e-9, 'depth');
      t.true(Math.abs(u - (sp.fx * c[0]) / c[2] - sp.cx) < 1e-9, 'pixel x');
      t.true(Math.abs(v - (sp.fy * c[1]) / c[2] - sp.cy) < 1e-9, 'pixel y');
      // The clip-space matrix maps the point to the same pixel and a depth in [0, 1].
      const vp = gt.viewProj;
      const clip = [0, 1, 2, 3].map((r) => vp[4 * r]! * p[0]! + vp[4 * r + 1]! * p[1]! + vp[4 * r + 2]! * p[2]! + vp[4 * r + 3]!);
      t.true(Math.abs(((clip[0]! / clip[3]! + 1) / 2) * spec.width - u) < 1e-9, 'ndc x');
      t.true(Math.abs(((1 - clip[1]! / clip[3]!) / 2) * spec.height - v) < 1e-9, 'ndc y (+Y up)');
      const z = clip[2]! / clip[3]!;
      t.true(z > 0 && z < 1, 'depth in [0, 1]');
    }
  }
});

test('refSampleTexture: nearest and linear with repeat, v up', (t) => {
  const tex: TextureData = { width: 2, height: 2, rgba: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]) };
  // Row 0 (top) is red, green; row 1 (bottom) is blue, white; v = 0 is the bottom.
  t.deepEqual(refSampleTexture(tex, 0.25, 0.25, 'nearest'), [0, 0, 1]);
  t.deepEqual(refSampleTexture(tex, 0.25, 0.75, 'nearest'), [1, 0, 0]);
  t.deepEqual(refSampleTexture(tex, 1.75, 0.75, 'nearest'), [0, 1, 0], 'repeat');
  t.deepEqual(refSampleTexture(tex, 0.25, 0.75, 'linear'), [1, 0, 0], 'texel centre');
  const mid = refSampleTexture(tex, 0.5, 0.75, 'linear');
  t.deepEqual(mid, [0.5, 0.5, 0]);
});

test('bad input is refused with a message naming it', (t) => {
  const m = cube();
  t.throws(() => refMeshRender({ ...m, indices: new Uint32Array([0, 1, 99]) }, texture(), { c2w: lookAtC2w([0, 0, 5], [0, 0, 0]), fovx: 1, width: 8, height: 8 }), { message: /indices\[2\] = 99/ });
  t.throws(() => refMeshRender(m, { width: 2, height: 2, rgba: new Uint8Array(3) }, { c2w: lookAtC2w([0, 0, 5], [0, 0, 0]), fovx: 1, width: 8, height: 8 }), { message: /texture.rgba/ });
  t.throws(() => gtCamera({ c2w: [1, 2], fovx: 1, width: 8, height: 8 }), { message: /16 numbers/ });
  t.throws(() => gtCamera({ c2w: lookAtC2w([0, 0, 5], [0, 0, 0]), fovx: 4, width: 8, height: 8 }), { message: /fovx/ });
});

// --- GPU against the reference --------------------------------------------------

test('textured lit cube, 4x MSAA, 64²: matches refMeshRender; transparent background, opaque inside', async (t) => {
  const mesh = cube(0.8);
  const tex = texture();
  const camera = { c2w: lookAtC2w([2.2, 1.6, 3], [0, 0, 0]), fovx: (50 * Math.PI) / 180, width: 64, height: 64 };
  const options: GtRenderOptions = { msaa: 4, light: LIGHT };
  const got = await gpuRender(mesh, tex, camera, options);
  const { ref, interior, covered, edges } = compare(t, got, mesh, tex, camera, options);
  t.true(covered > 600 && interior - covered > 1000 && edges > 50, `a cube in the middle: ${covered} inside, ${interior - covered} background, ${edges} edge pixels`);
  for (let i = 0; i < 64 * 64; i++) {
    if (ref.edge[i]) continue;
    if (ref.triangle[i]! < 0) t.true(got[4 * i + 3] === 0 && got[4 * i] === 0, 'background is (0,0,0,0)');
    else t.is(got[4 * i + 3], 1, 'covered pixels are opaque');
  }
});

test('no MSAA, two cubes, off-centre camera with a wide fov: matches refMeshRender', async (t) => {
  const mesh = concat(cube(0.5, [-0.6, 0, 0]), cube(0.4, [0.7, 0.3, -0.5]));
  const tex = texture(5, 3);
  const camera = { c2w: lookAtC2w([-1.5, 2.5, 2.5], [0.2, 0, 0]), fovx: (75 * Math.PI) / 180, width: 48, height: 40 };
  const options: GtRenderOptions = { msaa: 1, light: { dir: [-0.5, 0.2, 1], ambient: 0.4, diffuse: 0.5 } };
  const got = await gpuRender(mesh, tex, camera, options);
  const { covered } = compare(t, got, mesh, tex, camera, options);
  t.true(covered > 100, `${covered} covered interior pixels`);
  for (let i = 0; i < 48 * 40; i++) t.true(got[4 * i + 3] === 0 || got[4 * i + 3] === 1, 'without MSAA alpha is 0 or 1');
});

test('depth test: the nearer quad occludes the farther one whatever the draw order', async (t) => {
  const near = quad(0.2, 0, 0.5, 0.6);
  const far = quad(-0.2, 0.1, -0.5, 0.9);
  // One texture for both: the near quad samples its red half, the far quad its green half.
  const tex: TextureData = { width: 2, height: 1, rgba: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255]) };
  const nearRed = { ...near, uvs: new Float32Array(8).fill(0.25) };
  const farGreen = { ...far, uvs: new Float32Array(8).fill(0.75) };
  const camera = { c2w: lookAtC2w([0, 0, 4], [0, 0, 0]), fovx: 0.8, width: 64, height: 64 };
  const options: GtRenderOptions = { msaa: 4, light: { dir: [0, 0, 1], ambient: 0, diffuse: 1 } };
  const a = await gpuRender(concat(nearRed, farGreen), tex, camera, options);
  const b = await gpuRender(concat(farGreen, nearRed), tex, camera, options);
  t.deepEqual([...a], [...b], 'draw order does not matter');
  compare(t, b, concat(farGreen, nearRed), tex, camera, options);
  // The centre of the near quad is red, a point only the far quad covers is green.
  const cam = gtCamera(camera);
  const at = (p: number[]) => {
    const [u, v] = gtProject(cam, p);
    const o = 4 * (Math.floor(v) * 64 + Math.floor(u));
    return [...b.slice(o, o + 4)].map((x) => +x.toFixed(3));
  };
  t.deepEqual(at([0.2, 0, 0.5]), [1, 0, 0, 1]);
  t.deepEqual(at([-0.9, 0.8, -0.5]), [0, 1, 0, 1]);
});

test('camera convention: a small quad around a world point is centred where Camera.fromBlender projects it', async (t) => {
  const spec = { c2w: lookAtC2w([1.5, -1, 3.5], [0, 0, 0], [0, 1, 0]), fovx: 0.9, width: 64, height: 48 };
  const sp = Camera.fromBlender(spec);
  const P: Vec3 = [0.3, 0.25, -0.1];
  // A quad facing the camera: spanned by the camera's right and up axes.
  const c2w = spec.c2w;
  const right = [c2w[0]![0]!, c2w[1]![0]!, c2w[2]![0]!];
  const up = [c2w[0]![1]!, c2w[1]![1]!, c2w[2]![1]!];
  const h = 0.12;
  const corner = (s: number, u: number) => P.map((v, k) => v + h * (s * right[k]! + u * up[k]!));
  const positions = new Float32Array([...corner(-1, -1), ...corner(1, -1), ...corner(1, 1), ...corner(-1, 1)]);
  const back = [c2w[0]![2]!, c2w[1]![2]!, c2w[2]![2]!];
  const mesh: MeshData = { positions, normals: new Float32Array([...back, ...back, ...back, ...back]), uvs: new Float32Array(8), indices: new Uint32Array([0, 1, 2, 0, 2, 3]) };
  const img = await gpuRender(mesh, solid(200, 200, 200), spec, { msaa: 4 });
  let sx = 0;
  let sy = 0;
  let sa = 0;
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 64; x++) {
      const a = img[4 * (y * 64 + x) + 3]!;
      sx += a * (x + 0.5);
      sy += a * (y + 0.5);
      sa += a;
    }
  }
  t.true(sa > 10, 'the quad is visible');
  const c = sp.toCamera(P);
  const u = (sp.fx * c[0]) / c[2] + sp.cx;
  const v = (sp.fy * c[1]) / c[2] + sp.cy;
  // The quad's image is nearly symmetric about P's projection (perspective skews it slightly).
  t.true(Math.abs(sx / sa - u) < 0.3 && Math.abs(sy / sa - v) < 0.3, `coverage centroid (${sx / sa}, ${sy / sa}) vs splat camera (${u}, ${v})`);
});
