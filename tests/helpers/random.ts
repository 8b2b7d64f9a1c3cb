// Seeded pseudo-random numbers for reproducible test data (mulberry32).

/** A generator of uniformly distributed u32 values, fully determined by `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * `n` seeded u32 values. Without `max` they span the full u32 range (sums wrap);
 * with `max` they lie in [0, max] inclusive.
 */
export function randomU32(n: number, seed: number, max?: number): Uint32Array {
  const next = mulberry32(seed);
  const out = new Uint32Array(n);
  if (max === undefined) {
    for (let i = 0; i < n; i++) out[i] = next();
  } else {
    const range = max + 1;
    for (let i = 0; i < n; i++) out[i] = Math.floor((next() / 2 ** 32) * range);
  }
  return out;
}
