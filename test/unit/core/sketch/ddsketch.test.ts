import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DDSketch, DDSKETCH_MAX_MAX_BINS } from '../../../../src/core/sketch/ddsketch.js';
import {
  SketchArgumentError,
  SketchFormatError,
  SketchMismatchError,
  SketchValueError,
} from '../../../../src/core/sketch/errors.js';
import { mulberry32, normal } from '../../../helpers/sketch-prng.js';

const N = 100_000;
const QUANTILES = [0, 0.5, 0.9, 0.95, 0.99, 1];

type Generator = (rand: () => number) => number;
const DISTRIBUTIONS: ReadonlyArray<[string, Generator]> = [
  ['uniform(0, 1000)', (r) => r() * 1000],
  ['exponential(1)', (r) => -Math.log(1 - r())],
  ['lognormal(0, 1)', (r) => Math.exp(normal(r))],
  ['lognormal(3, 2) latency-like', (r) => Math.exp(3 + 2 * normal(r))],
  ['pareto(xm = 1, shape = 1.2)', (r) => 1 / Math.pow(1 - r(), 1 / 1.2)],
  ['normal(0, 100), half negative', (r) => 100 * normal(r)],
  [
    'mixed: negatives, zeros, positives',
    (r) => (r() < 0.2 ? 0 : r() < 0.5 ? -Math.exp(normal(r)) : Math.exp(2 * normal(r))),
  ],
];

function sample(gen: Generator, seed: number, n: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = gen(rand);
  return out;
}

/** DDSketch's definition: the value of rank floor(q * (n - 1)) in the sorted data. */
function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function relativeError(estimate: number, exact: number): number {
  return exact === 0 ? Math.abs(estimate) : Math.abs(estimate - exact) / Math.abs(exact);
}

function sketchOf(values: ArrayLike<number>, alpha = 0.01, maxBins?: number): DDSketch {
  const s = new DDSketch(alpha, maxBins);
  for (let i = 0; i < values.length; i++) s.add(values[i]);
  return s;
}

describe('DDSketch accuracy contract', () => {
  describe.each([0.01, 0.05])('alpha = %d', (alpha) => {
    it.each(DISTRIBUTIONS)('%s: every quantile within alpha of the exact one', (_name, gen) => {
      // Prepare
      const values = sample(gen, 42, N);
      const sorted = values.slice().sort();
      // Act
      const sketch = sketchOf(values, alpha);
      // Assess: float rounding at a bin boundary may add ~1e-15; allow 1e-9 relative slack.
      for (const q of QUANTILES) {
        expect(relativeError(sketch.quantile(q), exactQuantile(sorted, q)), `q=${q}`).toBeLessThanOrEqual(
          alpha * (1 + 1e-9),
        );
      }
      expect(sketch.count).toBe(N);
      expect(sketch.min).toBe(sorted[0]);
      expect(sketch.max).toBe(sorted[N - 1]);
    });
  });

  it('holds for any small input (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const sorted = Float64Array.from(values).sort();
          // maxBins large enough that no bin collapses: this checks the mapping alone.
          const estimate = sketchOf(values, 0.01, DDSKETCH_MAX_MAX_BINS).quantile(q);
          const exact = exactQuantile(sorted, q);
          // Magnitudes below ~2.2e-308 are the zero bin: exact for 0, absolute error < 1e-307 otherwise.
          return relativeError(estimate, exact) <= 0.01 * (1 + 1e-9) || Math.abs(estimate - exact) < 1e-300;
        },
      ),
    );
  });

  it('reports zeros exactly and keeps the sign of negative values', () => {
    const s = sketchOf([-5, -5, 0, 0, 0, 7]);
    expect(s.quantile(0)).toBe(-5);
    expect(s.quantile(0.5)).toBe(0);
    expect(s.quantile(1)).toBe(7);
    expect(Math.abs(s.quantile(0.2) + 5) / 5).toBeLessThanOrEqual(0.01);
  });

  it.each([0.01, 1e-6])('handles the extremes of float64 at alpha %d without overflow', (alpha) => {
    // Prepare: the full float64 range needs ~71,000 bins at alpha 0.01, so the smallest magnitudes collapse.
    const values = [Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, 1e-300, 1, 1e300];
    // Act
    const s = sketchOf(values, alpha, 65_536);
    // Assess
    for (let k = 0; k <= 5; k++) expect(Number.isFinite(s.quantile(k / 5))).toBe(true);
    expect([s.quantile(0), s.quantile(1)]).toEqual([-Number.MAX_VALUE, Number.MAX_VALUE]);
    if (alpha === 0.01) expect(relativeError(s.quantile(0.8), 1e300)).toBeLessThanOrEqual(alpha * (1 + 1e-9));
    // At alpha 1e-6, 65,536 bins span only a factor of e^0.13 below the max: 1e300 collapsed upwards.
    else expect(s.quantile(0.8)).toBeGreaterThan(1e308);
    expect(DDSketch.deserialize(s.serialize()).sameBins(s)).toBe(true);
  });

  it('is accurate across 1e-150..1.8e308 when maxBins covers the range (no collapse)', () => {
    const values = [1e-150, 3.3e-100, 1, 42, 1e200, Number.MAX_VALUE, -1e-150, -7e250];
    const sorted = Float64Array.from(values).sort();
    const s = sketchOf(values, 0.01, 65_536);
    for (let k = 0; k < values.length; k++) {
      expect(relativeError(s.quantile(k / (values.length - 1)), sorted[k])).toBeLessThanOrEqual(0.01 * (1 + 1e-9));
    }
  });

  it('records -0 as 0, so min and max do not depend on add order', () => {
    expect(Object.is(sketchOf([-0, 0]).min, 0)).toBe(true);
    expect(Object.is(sketchOf([0, -0]).max, 0)).toBe(true);
  });

  it('treats add(v, k) as k adds of v', () => {
    const a = new DDSketch();
    const b = new DDSketch();
    a.add(3.5, 5);
    a.add(-2, 2);
    for (let i = 0; i < 5; i++) b.add(3.5);
    b.add(-2);
    b.add(-2);
    expect(a.sameBins(b)).toBe(true);
    expect(a.count).toBe(7);
    expect(a.sum).toBe(13.5);
  });
});

describe('DDSketch input validation', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects %d with SketchValueError and stays unchanged',
    (v) => {
      const s = sketchOf([1, 2, 3]);
      const before = s.serialize();
      expect(() => s.add(v)).toThrow(SketchValueError);
      expect(s.serialize()).toEqual(before);
    },
  );

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53])('rejects count %d with SketchValueError', (count) => {
    expect(() => new DDSketch().add(1, count)).toThrow(SketchValueError);
  });

  it('returns NaN for every statistic of an empty sketch except count and sum', () => {
    const s = new DDSketch();
    expect(s.quantile(0.5)).toBeNaN();
    expect(s.min).toBeNaN();
    expect(s.max).toBeNaN();
    expect(s.count).toBe(0);
    expect(s.sum).toBe(0);
  });

  it.each([-0.1, 1.01, Number.NaN])('rejects quantile %d with SketchArgumentError', (q) => {
    expect(() => sketchOf([1]).quantile(q)).toThrow(SketchArgumentError);
  });

  it.each([
    [0, 2048],
    [1e-7, 2048],
    [1, 2048],
    [0.01, 0],
    [0.01, 1.5],
    [0.01, 1e6],
  ])('rejects alpha %d / maxBins %d with SketchArgumentError', (alpha, maxBins) => {
    expect(() => new DDSketch(alpha, maxBins)).toThrow(SketchArgumentError);
  });
});

describe('DDSketch merge', () => {
  it('of the parts has the bins of the sketch of the whole', () => {
    const values = sample(DISTRIBUTIONS[6][1], 7, N);
    const whole = sketchOf(values);
    const merged = new DDSketch();
    for (let part = 0; part < 4; part++) merged.merge(sketchOf(values.subarray(part * 25_000, (part + 1) * 25_000)));
    expect(merged.sameBins(whole)).toBe(true);
    expect(merged.count).toBe(whole.count);
    expect(merged.min).toBe(whole.min);
    expect(merged.max).toBe(whole.max);
    expect(merged.sum).toBeCloseTo(whole.sum, 6);
    for (const q of QUANTILES) expect(merged.quantile(q)).toBe(whole.quantile(q));
  });

  // Small maxBins and a wide value range make collapsing happen, which is where merge could go wrong.
  const valuesArb = fc.array(
    fc.oneof(
      fc.double({ min: -1e9, max: 1e9, noNaN: true }),
      fc.constant(0),
      fc.double({ min: 1e-6, max: 1e-3, noNaN: true }),
    ),
    { maxLength: 120 },
  );
  const maxBinsArb = fc.integer({ min: 1, max: 64 });

  it('of parts equals the whole, even when bins collapse (property)', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, maxBinsArb, (a, b, maxBins) => {
        const merged = sketchOf(a, 0.02, maxBins);
        merged.merge(sketchOf(b, 0.02, maxBins));
        const whole = sketchOf([...a, ...b], 0.02, maxBins);
        return merged.sameBins(whole) && merged.count === whole.count;
      }),
    );
  });

  it('is commutative and associative (property)', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, valuesArb, maxBinsArb, (a, b, c, maxBins) => {
        const sa = (): DDSketch => sketchOf(a, 0.02, maxBins);
        const sb = (): DDSketch => sketchOf(b, 0.02, maxBins);
        const sc = (): DDSketch => sketchOf(c, 0.02, maxBins);
        const ab = sa();
        ab.merge(sb());
        const ba = sb();
        ba.merge(sa());
        const abThenC = sa();
        abThenC.merge(sb());
        abThenC.merge(sc());
        const bc = sb();
        bc.merge(sc());
        const aThenBc = sa();
        aThenBc.merge(bc);
        return (
          ab.sameBins(ba) &&
          abThenC.sameBins(aThenBc) &&
          Object.is(ab.min, ba.min) &&
          Object.is(abThenC.max, aThenBc.max)
        );
      }),
    );
  });

  it('from bytes equals merging the sketch (property)', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, (a, b) => {
        const viaObject = sketchOf(a);
        viaObject.merge(sketchOf(b));
        const viaBytes = sketchOf(a);
        viaBytes.mergeSerialized(sketchOf(b).serialize());
        return (
          viaBytes.sameBins(viaObject) && viaBytes.count === viaObject.count && Object.is(viaBytes.sum, viaObject.sum)
        );
      }),
    );
  });

  it('rejects a different alpha with SketchMismatchError and stays unchanged', () => {
    const s = sketchOf([1, 2, 3]);
    const before = s.serialize();
    expect(() => s.merge(sketchOf([4], 0.02))).toThrow(SketchMismatchError);
    expect(() => s.mergeSerialized(sketchOf([4], 0.02).serialize())).toThrow(SketchMismatchError);
    expect(s.serialize()).toEqual(before);
  });
});

describe('DDSketch collapsing (maxBins)', () => {
  it('keeps high quantiles within alpha and over-reports only the collapsed low ones', () => {
    // lognormal(0, 3) spans ~e^-13..e^13: ~1,300 bins at alpha 0.01. 512 bins keep a factor of
    // gamma^512 = e^10.2 below the max (values above ~20), which covers p90 (~46) and up.
    const values = sample((r) => Math.exp(3 * normal(r)), 5, N);
    const sorted = values.slice().sort();
    const s = sketchOf(values, 0.01, 512);
    expect(s.binCount()).toBeLessThanOrEqual(512);
    for (const q of [0.9, 0.95, 0.99, 1])
      expect(relativeError(s.quantile(q), exactQuantile(sorted, q))).toBeLessThanOrEqual(0.01 * (1 + 1e-9));
    // The bottom of the distribution collapsed upwards: p1 reads as the lowest kept bin, far above the truth.
    expect(s.quantile(0.01)).toBeGreaterThan(exactQuantile(sorted, 0.01) * 1.5);
    expect(s.quantile(0.5)).toBeGreaterThan(exactQuantile(sorted, 0.5) * 1.5);
    expect(s.quantile(0)).toBe(sorted[0]); // the extremes stay exact
  });
});

describe('DDSketch serialization', () => {
  it.each(DISTRIBUTIONS)('%s round-trips exactly', (_name, gen) => {
    const s = sketchOf(sample(gen, 3, 10_000));
    const bytes = s.serialize();
    const back = DDSketch.deserialize(bytes);
    expect(back.sameBins(s)).toBe(true);
    expect([back.count, back.sum, back.min, back.max]).toEqual([s.count, s.sum, s.min, s.max]);
    expect(back.relativeAccuracy).toBe(s.relativeAccuracy);
    expect(back.maxBins).toBe(s.maxBins);
    expect(back.serialize()).toEqual(bytes);
  });

  it('round-trips an empty sketch', () => {
    const back = DDSketch.deserialize(new DDSketch(0.02, 100).serialize());
    expect(back.isEmpty()).toBe(true);
    expect([back.relativeAccuracy, back.maxBins]).toEqual([0.02, 100]);
  });

  it('stays well under 20 KB: 100,000 latency-like values, and a full 2 x 2048-bin sketch', () => {
    const typical = sketchOf(sample(DISTRIBUTIONS[3][1], 11, N));
    expect(typical.serialize().length).toBeLessThan(1_300); // 716 bins

    const full = new DDSketch();
    for (let i = 0; i < 2048; i++) {
      const v = Math.pow(full.gamma, i - 1000.5); // mid-bin, away from rounding at bin boundaries
      full.add(v, 1_000_000);
      full.add(-v, 1_000_000);
    }
    expect(full.binCount()).toBe(4096);
    expect(full.serialize().length).toBeLessThan(12_400); // 3-byte counts, dense runs, no index bytes
  });

  it('round-trips scattered bins (sparse store encoding) and contiguous ones (dense)', () => {
    const scattered = sketchOf([1, 1e6, 1e12, -3, -3e9]);
    expect(scattered.serialize().length).toBeLessThan(70);
    const back = DDSketch.deserialize(scattered.serialize());
    expect(back.sameBins(scattered)).toBe(true);
    for (const q of QUANTILES) expect(back.quantile(q)).toBe(scattered.quantile(q));
  });

  it('rejects another sketch kind, another version and truncated bytes with SketchFormatError', () => {
    const bytes = sketchOf([1, 2, 3, -4, 0]).serialize();
    const hllLike = bytes.slice();
    hllLike[0] = 0x48;
    const future = bytes.slice();
    future[1] = 2;
    for (const bad of [
      new Uint8Array(0),
      hllLike,
      future,
      bytes.subarray(0, bytes.length - 1),
      Uint8Array.of(...bytes, 0),
    ]) {
      expect(() => DDSketch.deserialize(bad)).toThrow(SketchFormatError);
    }
    expect(() => DDSketch.deserialize(hllLike)).toThrow(/not a DDSketch/);
  });

  it('throws only SketchFormatError on corrupted bytes, and never half-merges (fuzz)', () => {
    const source = sketchOf(sample(DISTRIBUTIONS[6][1], 9, 500)).serialize();
    fc.assert(
      fc.property(fc.nat(source.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const corrupt = source.slice();
        corrupt[at] = byte;
        const target = sketchOf([1, 2, 3]);
        const before = target.serialize();
        try {
          target.mergeSerialized(corrupt);
        } catch (e) {
          if (e instanceof SketchFormatError || e instanceof SketchMismatchError) {
            expect(target.serialize()).toEqual(before);
            return;
          }
          throw e;
        }
      }),
    );
  });
});

describe('DDSketch lifecycle', () => {
  it('reset empties it for reuse, and reuse gives the same result as a fresh sketch', () => {
    const values = sample(DISTRIBUTIONS[2][1], 13, 1_000);
    const pooled = sketchOf(sample(DISTRIBUTIONS[5][1], 14, 1_000));
    pooled.reset();
    expect(pooled.isEmpty()).toBe(true);
    for (let i = 0; i < values.length; i++) pooled.add(values[i]);
    const fresh = sketchOf(values);
    expect(pooled.sameBins(fresh)).toBe(true);
    expect(pooled.serialize()).toEqual(fresh.serialize());
  });
});
