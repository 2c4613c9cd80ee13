/** Seeded PRNGs for reproducible sketch tests (not a test file: no `.test.ts`). */

export { mulberry32 } from '../../src/samples/prng.js';

/** Standard normal by Box-Muller. */
export function normal(rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
