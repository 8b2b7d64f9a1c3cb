// Procedural textures for the scenes (TextureData: rows top-down, rgba bytes):
// checker, stripes, periodic value noise and a fine high-frequency pattern, each
// tileable and deterministic from its inputs (colours and noise from a seeded
// stream), plus a small atlas packer so one texture serves a multi-part scene.
import type { TextureData } from '../../harness/gt/mesh.ts';

export type Rgb = readonly [number, number, number];

/** A saturated colour from the stream: hue anywhere, saturation 0.45–0.9, value 0.55–0.95 (channels in [0,1]). */
export function randomColour(rng: () => number): Rgb {
  const h = rng() * 6, s = 0.45 + 0.45 * rng(), v = 0.55 + 0.4 * rng();
  const i = Math.floor(h) % 6, f = h - Math.floor(h);
  const p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const table: Rgb[] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]];
  return table[i]!;
}

/** A darker / lighter companion colour. */
export function shade(c: Rgb, k: number): Rgb {
  return [Math.min(1, c[0] * k), Math.min(1, c[1] * k), Math.min(1, c[2] * k)];
}

function fill(size: number, f: (x: number, y: number) => Rgb): TextureData {
  const rgba = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = f(x, y), o = 4 * (y * size + x);
      rgba[o] = Math.round(255 * Math.min(1, Math.max(0, c[0])));
      rgba[o + 1] = Math.round(255 * Math.min(1, Math.max(0, c[1])));
      rgba[o + 2] = Math.round(255 * Math.min(1, Math.max(0, c[2])));
      rgba[o + 3] = 255;
    }
  }
  return { width: size, height: size, rgba };
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

/** Periodic value noise in [0,1] on a `cells`×`cells` lattice (tileable), smooth-step interpolated. */
function valueNoise(rng: () => number, cells: number): (u: number, v: number) => number {
  const g = new Float32Array(cells * cells);
  for (let i = 0; i < g.length; i++) g[i] = rng();
  const at = (i: number, j: number) => g[(((j % cells) + cells) % cells) * cells + (((i % cells) + cells) % cells)]!;
  return (u, v) => {
    const x = u * cells, y = v * cells;
    const i = Math.floor(x), j = Math.floor(y);
    let fx = x - i, fy = y - j;
    fx = fx * fx * (3 - 2 * fx);
    fy = fy * fy * (3 - 2 * fy);
    const a = at(i, j) + (at(i + 1, j) - at(i, j)) * fx;
    const b = at(i, j + 1) + (at(i + 1, j + 1) - at(i, j + 1)) * fx;
    return a + (b - a) * fy;
  };
}

/** Checkerboard of n×n squares in colours a and b, lightly modulated by noise so squares are not flat. */
export function checker(size: number, n: number, a: Rgb, b: Rgb, rng: () => number): TextureData {
  const noise = valueNoise(rng, 16);
  return fill(size, (x, y) => {
    const c = (Math.floor((x * n) / size) + Math.floor((y * n) / size)) % 2 === 0 ? a : b;
    return shade(c, 0.85 + 0.3 * noise(x / size, y / size));
  });
}

/** n stripes per tile cycling through `colours`; vertical (varying along u) unless `horizontal`. */
export function stripes(size: number, n: number, colours: readonly Rgb[], horizontal = false): TextureData {
  return fill(size, (x, y) => {
    const s = horizontal ? y : x;
    const k = Math.floor((s * n) / size) % colours.length;
    const edge = ((s * n) / size) % 1;
    const c = colours[k]!;
    return edge < 0.12 ? shade(c, 0.6) : c;
  });
}

/** Two-colour hashed value noise, several octaves (fractal), tileable. */
export function noise(size: number, a: Rgb, b: Rgb, rng: () => number, baseCells = 4): TextureData {
  const octaves = [valueNoise(rng, baseCells), valueNoise(rng, baseCells * 2), valueNoise(rng, baseCells * 4), valueNoise(rng, baseCells * 8)];
  return fill(size, (x, y) => {
    const u = x / size, v = y / size;
    let s = 0, w = 0, amp = 1;
    for (const o of octaves) {
      s += amp * o(u, v);
      w += amp;
      amp *= 0.5;
    }
    const t = Math.min(1, Math.max(0, (s / w - 0.5) * 2.2 + 0.5));
    return mix(a, b, t);
  });
}

/** Fine high-frequency pattern: `period`-pixel stripes crossed by a thinner grid, near-Nyquist detail. */
export function fine(size: number, a: Rgb, b: Rgb, period = 4): TextureData {
  return fill(size, (x, y) => {
    const s = Math.floor(x / (period / 2)) % 2 === 0 ? a : b;
    return y % (period * 4) === 0 ? shade(s, 0.4) : s;
  });
}

/** Pack equal-size square tiles into a cols×rows grid; tileRect(i) gives tile i's uv rectangle. */
export function atlas(tiles: readonly TextureData[], cols: number): TextureData {
  const t0 = tiles[0];
  if (!t0) throw new Error('atlas: no tiles');
  const s = t0.width;
  const rows = Math.ceil(tiles.length / cols);
  const W = s * cols, H = s * rows;
  const rgba = new Uint8Array(W * H * 4);
  tiles.forEach((t, i) => {
    if (t.width !== s || t.height !== s) throw new Error('atlas: tiles must be the same square size');
    const cx = (i % cols) * s, cy = Math.floor(i / cols) * s;
    for (let y = 0; y < s; y++) rgba.set(t.rgba.subarray(y * s * 4, (y + 1) * s * 4), ((cy + y) * W + cx) * 4);
  });
  return { width: W, height: H, rgba };
}

/**
 * The uv rectangle [u0, v0, u1, v1] of tile i in an atlas of cols×rows tiles of `size`
 * pixels, inset by one texel so linear filtering stays inside the tile. uv (0,0) is the
 * bottom-left of the texture, rows of the image are top-down.
 */
export function tileRect(i: number, cols: number, rows: number, size: number): [number, number, number, number] {
  const c = i % cols, r = Math.floor(i / cols);
  const W = cols * size, H = rows * size;
  const x0 = c * size + 1, x1 = (c + 1) * size - 1;
  const y0 = r * size + 1, y1 = (r + 1) * size - 1;
  return [x0 / W, 1 - y1 / H, x1 / W, 1 - y0 / H];
}
