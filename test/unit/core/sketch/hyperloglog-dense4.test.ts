/**
 * The 4-bit dense HyperLogLog encoding (format version 2): a third smaller than the 6-bit one at the
 * cardinalities counters see, while items written with format version 1 stay readable.
 */
import { describe, expect, it } from 'vitest';
import { HyperLogLog, HLL_FORMAT_VERSION } from '../../../../src/core/sketch/hyperloglog.js';
import { SketchFormatError } from '../../../../src/core/sketch/errors.js';

function withIds(n: number, prefix = 'u'): HyperLogLog {
  const hll = new HyperLogLog(12);
  const encoder = new TextEncoder();
  for (let i = 0; i < n; i++) {
    const bytes = encoder.encode(`${prefix}-${i}`);
    hll.addBytes(bytes, 0, bytes.length);
  }
  return hll;
}

/** What format version 1 wrote for a dense sketch: header, then registers packed 6 bits each. */
function version1Dense(hll: HyperLogLog): Uint8Array {
  const regs = hll.copyRegisters();
  const out = new Uint8Array(4 + (regs.length * 3) / 4);
  out.set([0x48, 1, hll.precision, 0]);
  let pos = 4;
  for (let i = 0; i < regs.length; i += 4) {
    const w = regs[i] | (regs[i + 1] << 6) | (regs[i + 2] << 12) | (regs[i + 3] << 18);
    out[pos++] = w & 255;
    out[pos++] = (w >>> 8) & 255;
    out[pos++] = w >>> 16;
  }
  return out;
}

describe('HyperLogLog 4-bit dense encoding', () => {
  it('serializes 5,000 distinct values at p = 12 in 2,052 bytes, format version 2, and round-trips', () => {
    const hll = withIds(5_000);
    const bytes = hll.serialize();
    expect(bytes.length).toBe(4 + 2_048);
    expect([bytes[1], bytes[3]]).toEqual([HLL_FORMAT_VERSION, 2]);
    const back = HyperLogLog.deserialize(bytes);
    expect(back.equals(hll)).toBe(true);
    expect(back.serialize()).toEqual(bytes);
  });

  it('keeps format version 1 for the sparse form, so older readers still read small sketches', () => {
    const bytes = withIds(50).serialize();
    expect([bytes[1], bytes[3]]).toEqual([1, 1]);
  });

  it('reads items written with format version 1 (6-bit dense) and merges them', () => {
    const old = withIds(5_000, 'old');
    const fromV1 = HyperLogLog.deserialize(version1Dense(old));
    expect(fromV1.equals(old)).toBe(true);
    const target = withIds(10, 'new');
    target.mergeSerialized(version1Dense(old));
    expect(target.estimate()).toBeGreaterThan(old.estimate());
  });

  it('rejects the 4-bit encoding under version 1, and a 4-bit body of the wrong length', () => {
    const bytes = withIds(5_000).serialize();
    const asV1 = bytes.slice();
    asV1[1] = 1;
    expect(() => HyperLogLog.deserialize(asV1)).toThrow(SketchFormatError);
    expect(() => HyperLogLog.deserialize(bytes.subarray(0, bytes.length - 1))).toThrow(SketchFormatError);
  });
});
