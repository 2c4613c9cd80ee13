/** A seeded PRNG: returns floats in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a 32-bit seeded PRNG, small and fast, with a full 2^32 period; good enough for demo and
 * test data (not for anything secret). The one PRNG of the project's generators, tests and benchmarks.
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
