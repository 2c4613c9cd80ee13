import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HyperLogLog } from '../../../../src/core/sketch/hyperloglog.js';
import { SketchArgumentError, SketchFormatError, SketchMismatchError } from '../../../../src/core/sketch/errors.js';
import { hash64 } from '../../../../src/core/hash.js';
import { mulberry32 } from '../../../helpers/sketch-prng.js';

const encoder = new TextEncoder();

/** Adds the ASCII keys `${prefix}${i}` for i in [from, to): structured ids, the hard case for a weak hash. */
function addIds(hll: HyperLogLog, prefix: string, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const key = encoder.encode(prefix + i);
    hll.addBytes(key, 0, key.length);
  }
}

/** Adds `n` random 12-byte keys from a seeded PRNG (distinct with probability 1 - 2^-60). */
function addRandomKeys(hll: HyperLogLog, seed: number, n: number): void {
  const rand = mulberry32(seed);
  const key = new Uint8Array(12);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 12; j += 3) {
      const r = (rand() * 0x1000000) >>> 0;
      key[j] = r & 255;
      key[j + 1] = (r >>> 8) & 255;
      key[j + 2] = r >>> 16;
    }
    hll.addBytes(key, 0, key.length);
  }
}

const relErr = (estimate: number, actual: number): number => Math.abs(estimate - actual) / actual;

describe('HyperLogLog accuracy (p = 12, standard error 1.63 %)', () => {
  it('is within 2 % on 100,000 distinct structured ids', () => {
    // Prepare
    const hll = new HyperLogLog(12);
    // Act
    addIds(hll, 'user-', 0, 100_000);
    // Assess
    expect(relErr(hll.estimate(), 100_000)).toBeLessThan(0.02);
  });

  it('has a mean absolute error below 2 % over 20 seeded sets of 100,000 random keys', () => {
    const hll = new HyperLogLog(12);
    let totalErr = 0;
    let maxErr = 0;
    for (let seed = 1; seed <= 20; seed++) {
      hll.reset();
      addRandomKeys(hll, seed, 100_000);
      const e = relErr(hll.estimate(), 100_000);
      totalErr += e;
      maxErr = Math.max(maxErr, e);
    }
    const mae = totalErr / 20;
    // For an unbiased estimator with sigma = 1.63 %, E|err| = sigma * sqrt(2 / pi) = 1.30 %.
    expect(mae).toBeLessThan(0.02);
    expect(maxErr).toBeLessThan(0.065); // 4 sigma
  });

  it.each([1_000, 10_000, 1_000_000])('stays within 4 sigma at %i distinct values (no bias across the range)', (n) => {
    const hll = new HyperLogLog(12);
    addRandomKeys(hll, 1000 + n, n);
    expect(relErr(hll.estimate(), n)).toBeLessThan(4 * (1.04 / 64));
  });

  it('is exact-ish for small cardinalities: 0, 1, 10, 100', () => {
    const hll = new HyperLogLog(12);
    expect(hll.estimate()).toBe(0);
    addIds(hll, 'k', 0, 1);
    expect(Math.abs(hll.estimate() - 1)).toBeLessThan(0.01);
    addIds(hll, 'k', 1, 10);
    expect(Math.abs(hll.estimate() - 10)).toBeLessThan(0.1);
    addIds(hll, 'k', 10, 100);
    expect(relErr(hll.estimate(), 100)).toBeLessThan(0.02);
  });

  it('ignores duplicates', () => {
    const hll = new HyperLogLog(12);
    for (let r = 0; r < 5; r++) addIds(hll, 'dup-', 0, 1_000);
    const once = new HyperLogLog(12);
    addIds(once, 'dup-', 0, 1_000);
    expect(hll.equals(once)).toBe(true);
  });

  it('counts numbers by value, with -0 equal to 0', () => {
    const hll = new HyperLogLog(12);
    hll.addNumber(0);
    hll.addNumber(-0);
    hll.addNumber(1.5);
    expect(Math.round(hll.estimate())).toBe(2);
  });

  it('uses the top p bits for the index and saturates at rank 65 - p', () => {
    const hll = new HyperLogLog(4);
    hll.addHash(0xf0000000, 0); // register 15, every remaining bit zero
    hll.addHash(0x08000000, 0xffffffff); // register 0, rank 1
    const regs = hll.copyRegisters();
    expect(regs[15]).toBe(61);
    expect(regs[0]).toBe(1);
  });
});

describe('HyperLogLog merge', () => {
  it('of two disjoint halves has the registers of the whole', () => {
    const whole = new HyperLogLog(12);
    const left = new HyperLogLog(12);
    const right = new HyperLogLog(12);
    addIds(whole, 'u', 0, 50_000);
    addIds(left, 'u', 0, 25_000);
    addIds(right, 'u', 25_000, 50_000);
    left.merge(right);
    expect(left.equals(whole)).toBe(true);
    expect(left.estimate()).toBe(whole.estimate());
  });

  it('is idempotent: merging the same sketch twice changes nothing', () => {
    const a = new HyperLogLog(10);
    const b = new HyperLogLog(10);
    addIds(a, 'a', 0, 3_000);
    addIds(b, 'b', 0, 3_000);
    a.merge(b);
    const once = a.copyRegisters();
    a.merge(b);
    a.mergeSerialized(b.serialize());
    expect(a.copyRegisters()).toEqual(once);
  });

  it('rejects a different precision with SketchMismatchError', () => {
    const a = new HyperLogLog(12);
    expect(() => a.merge(new HyperLogLog(11))).toThrow(SketchMismatchError);
    expect(() => a.mergeSerialized(new HyperLogLog(14).serialize())).toThrow(SketchMismatchError);
  });

  const sketchArb = fc.uniqueArray(fc.integer({ min: 0, max: 1 << 30 }), { maxLength: 300 }).map((values) => {
    const hll = new HyperLogLog(6);
    for (const v of values) hll.addNumber(v);
    return hll;
  });

  const mergedOf = (...parts: HyperLogLog[]): HyperLogLog => {
    const out = new HyperLogLog(6);
    for (const p of parts) out.merge(p);
    return out;
  };

  it('is commutative (property)', () => {
    fc.assert(fc.property(sketchArb, sketchArb, (a, b) => mergedOf(a, b).equals(mergedOf(b, a))));
  });

  it('is associative (property)', () => {
    fc.assert(
      fc.property(sketchArb, sketchArb, sketchArb, (a, b, c) => {
        const left = mergedOf(mergedOf(a, b), c);
        const right = mergedOf(a, mergedOf(b, c));
        return left.equals(right);
      }),
    );
  });

  it('from bytes equals merging the sketch (property)', () => {
    fc.assert(
      fc.property(sketchArb, sketchArb, (a, b) => {
        const viaObject = mergedOf(a, b);
        const viaBytes = mergedOf(a);
        viaBytes.mergeSerialized(b.serialize());
        return viaBytes.equals(viaObject);
      }),
    );
  });
});

describe('HyperLogLog serialization', () => {
  it.each([0, 1, 50, 500, 100_000])('round-trips with %i distinct values', (n) => {
    const hll = new HyperLogLog(12);
    addIds(hll, 'r', 0, n);
    const bytes = hll.serialize();
    const back = HyperLogLog.deserialize(bytes);
    expect(back.equals(hll)).toBe(true);
    expect(back.estimate()).toBe(hll.estimate());
    expect(back.serialize()).toEqual(bytes);
  });

  it('is sparse when mostly empty and at most 3,076 bytes at p = 12', () => {
    const hll = new HyperLogLog(12);
    expect(hll.serialize().length).toBe(5);
    addIds(hll, 's', 0, 100);
    expect(hll.serialize().length).toBeLessThan(260);
    addIds(hll, 's', 100, 100_000);
    expect(hll.serialize().length).toBe(3_076);
  });

  it('round-trips at every precision (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 16 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 200 }),
        (p, hashes) => {
          const hll = new HyperLogLog(p);
          for (const [hi, lo] of hashes) hll.addHash(hi >>> 0, lo >>> 0);
          return HyperLogLog.deserialize(hll.serialize()).equals(hll);
        },
      ),
    );
  });

  it('reads bytes at a non-zero offset of a larger buffer (as DynamoDB clients return them)', () => {
    const hll = new HyperLogLog(12);
    addIds(hll, 'o', 0, 10_000);
    const bytes = hll.serialize();
    const big = new Uint8Array(bytes.length + 7);
    big.set(bytes, 3);
    expect(HyperLogLog.deserialize(big.subarray(3, 3 + bytes.length)).equals(hll)).toBe(true);
  });

  it('rejects corrupt bytes with SketchFormatError and leaves the target intact', () => {
    const target = new HyperLogLog(12);
    addIds(target, 't', 0, 1_000);
    const before = target.copyRegisters();
    const good = new HyperLogLog(12);
    addIds(good, 'g', 0, 100_000);
    good.addHash(0, 1); // register 0 at rank 52 (> 15): the 6-bit dense encoding, whose registers can exceed 53
    const bytes = good.serialize();

    const badKind = bytes.slice();
    badKind[0] = 0x44;
    const badVersion = bytes.slice();
    badVersion[1] = 9;
    const badRegister = bytes.slice();
    badRegister[bytes.length - 1] = 0xff; // a 6-bit register of 63 > 53
    for (const bad of [new Uint8Array(0), badKind, badVersion, bytes.subarray(0, bytes.length - 1), badRegister]) {
      expect(() => target.mergeSerialized(bad)).toThrow(SketchFormatError);
      expect(() => HyperLogLog.deserialize(bad)).toThrow(SketchFormatError);
    }
    expect(target.copyRegisters()).toEqual(before);
  });

  it('never throws anything but SketchFormatError on random bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          HyperLogLog.deserialize(bytes);
        } catch (e) {
          if (!(e instanceof SketchFormatError)) throw e;
        }
      }),
    );
  });
});

describe('HyperLogLog lifecycle', () => {
  it('reset empties it for reuse', () => {
    const hll = new HyperLogLog();
    addIds(hll, 'x', 0, 1_000);
    hll.reset();
    expect(hll.isEmpty()).toBe(true);
    expect(hll.estimate()).toBe(0);
  });

  it.each([3, 19, 12.5, Number.NaN])('rejects precision %d', (p) => {
    expect(() => new HyperLogLog(p)).toThrow(SketchArgumentError);
  });

  it('addBytes equals addHash of hash64', () => {
    const a = new HyperLogLog(12);
    const b = new HyperLogLog(12);
    const key = encoder.encode('same');
    const out = new Uint32Array(4);
    a.addBytes(key, 0, key.length);
    hash64(key, 0, key.length, out);
    b.addHash(out[0], out[1]);
    expect(a.equals(b)).toBe(true);
  });
});
