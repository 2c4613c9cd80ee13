import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CollapsingLowestDenseStore } from '../../../../src/core/sketch/dense-store.js';

/** Reference model: exact counts per index, then everything below maxIndex - maxBins + 1 folded into that bin. */
function model(indexes: ReadonlyArray<readonly [number, number]>, maxBins: number): Map<number, number> {
  const counts = new Map<number, number>();
  if (indexes.length === 0) return counts;
  let max = -Infinity;
  for (const [i] of indexes) max = Math.max(max, i);
  const floor = max - maxBins + 1;
  for (const [i, c] of indexes) {
    const j = Math.max(i, floor);
    counts.set(j, (counts.get(j) ?? 0) + c);
  }
  return counts;
}

function contents(store: CollapsingLowestDenseStore): Map<number, number> {
  const out = new Map<number, number>();
  if (store.total === 0) return out;
  for (let i = store.minIndex; i <= store.maxIndex; i++) {
    const c = store.countAt(i);
    if (c !== 0) out.set(i, c);
  }
  return out;
}

const opsArb = fc.array(fc.tuple(fc.integer({ min: -300, max: 300 }), fc.integer({ min: 1, max: 5 })), {
  maxLength: 200,
});

describe('CollapsingLowestDenseStore', () => {
  it('matches the reference model for any add order (property)', () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 1, max: 100 }), (ops, maxBins) => {
        const store = new CollapsingLowestDenseStore(maxBins);
        for (const [i, c] of ops) store.add(i, c);
        expect(contents(store)).toEqual(model(ops, maxBins));
        expect(store.total).toBe(ops.reduce((s, [, c]) => s + c, 0));
        expect(store.capacity).toBeLessThanOrEqual(maxBins);
        if (store.total > 0) expect(store.maxIndex - store.minIndex + 1).toBeLessThanOrEqual(maxBins);
      }),
    );
  });

  it('merge matches the model of the concatenation, and reset clears for reuse (property)', () => {
    fc.assert(
      fc.property(opsArb, opsArb, fc.integer({ min: 1, max: 100 }), (a, b, maxBins) => {
        const sa = new CollapsingLowestDenseStore(maxBins);
        const sb = new CollapsingLowestDenseStore(maxBins);
        for (const [i, c] of a) sa.add(i, c);
        for (const [i, c] of b) sb.add(i, c);
        sa.merge(sb);
        expect(contents(sa)).toEqual(model([...a, ...b], maxBins));
        sa.reset();
        for (const [i, c] of b) sa.add(i, c);
        expect(contents(sa)).toEqual(model(b, maxBins));
      }),
    );
  });
});
