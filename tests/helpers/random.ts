// Seeded pseudo-random numbers for reproducible test data (mulberry32).
import { seededRandom } from '../../harness/pipeline/rng.ts';

/** A generator of uniformly distributed u32 values, fully determined by `seed`. */
export function mulberry32(seed: number): () => number {
  // The pipeline's generator yields u32 / 2^32 exactly, so this is its raw u32 stream.
  const next = seededRandom(seed);
  return () => next() * 4294967296;
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
