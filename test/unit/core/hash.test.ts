import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hash64, hashNumber, hashNumber64, murmur3x86_128, murmur3x86_32 } from '../../../src/core/hash.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// SMHasher's VerificationTest: hash keys [0], [0,1], ..., [0..254] with seed 256 - length, concatenate the
// hashes, hash that with seed 0 and read the first 4 bytes little-endian. Published values:
// Murmur3A (x86_32) 0xB0F57EE3, Murmur3C (x86_128) 0xB3ECE62A.
function smhasherVerification(
  hashBytes: number,
  hash: (key: Uint8Array, seed: number, out: Uint8Array, at: number) => void,
): number {
  const key = new Uint8Array(256);
  const hashes = new Uint8Array(256 * hashBytes);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    hash(key.subarray(0, i), 256 - i, hashes, i * hashBytes);
  }
  const final = new Uint8Array(hashBytes);
  hash(hashes, 0, final, 0);
  return (final[0] | (final[1] << 8) | (final[2] << 16) | (final[3] << 24)) >>> 0;
}

function writeLe(out: Uint8Array, at: number, word: number): void {
  out[at] = word & 255;
  out[at + 1] = (word >>> 8) & 255;
  out[at + 2] = (word >>> 16) & 255;
  out[at + 3] = word >>> 24;
}

describe('murmur3x86_32', () => {
  it('passes the SMHasher verification value 0xB0F57EE3', () => {
    const v = smhasherVerification(4, (key, seed, out, at) =>
      writeLe(out, at, murmur3x86_32(key, 0, key.length, seed)),
    );
    expect(v).toBe(0xb0f57ee3);
  });

  it.each([
    // Widely published vectors (e.g. the reference-port test suites); bytes and seed -> hash.
    [[], 0, 0],
    [[], 1, 0x514e28b7],
    [[], 0xffffffff, 0x81f16f39],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
    [[0x21, 0x43], 0, 0xa0f7b07a],
    [[0x21], 0, 0x72661cf4],
    [[0, 0, 0, 0], 0, 0x2362f9de],
    [[0, 0, 0], 0, 0x85f0b427],
    [[0, 0], 0, 0x30f4c306],
    [[0], 0, 0x514e28b7],
  ])('hashes %j with seed %i', (bytes, seed, expected) => {
    const input = Uint8Array.from(bytes as number[]);
    expect(murmur3x86_32(input, 0, input.length, seed as number)).toBe(expected);
  });

  it.each([
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['I will not buy this record, it is scratched.', 0, 2832214938],
  ])('hashes %j with seed %i', (text, seed, expected) => {
    const input = utf8(text);
    expect(murmur3x86_32(input, 0, input.length, seed)).toBe(expected);
  });

  it('hashes a sub-range exactly like a copy of it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(8),
        fc.nat(8),
        fc.integer({ min: 0, max: 0xffffffff }),
        (core, pre, post, seed) => {
          const padded = new Uint8Array(pre + core.length + post).fill(0xab);
          padded.set(core, pre);
          expect(murmur3x86_32(padded, pre, pre + core.length, seed)).toBe(murmur3x86_32(core, 0, core.length, seed));
        },
      ),
    );
  });
});

describe('murmur3x86_128', () => {
  it('passes the SMHasher verification value 0xB3ECE62A', () => {
    const words = new Uint32Array(4);
    const v = smhasherVerification(16, (key, seed, out, at) => {
      murmur3x86_128(key, 0, key.length, seed, words);
      for (let w = 0; w < 4; w++) writeLe(out, at + 4 * w, words[w]);
    });
    expect(v).toBe(0xb3ece62a);
  });

  // Generated with the reference C implementation (MurmurHash3.cpp), covering every tail length class.
  it.each([
    ['', 0, [0, 0, 0, 0]],
    ['', 1, [0x88c4adec, 0x54d201b9, 0x54d201b9, 0x54d201b9]],
    ['a', 0x9747b28c, [0x084ef944, 0x21a1186e, 0x21a1186e, 0x21a1186e]],
    ['abc', 0, [0x75cdc6d1, 0xa2b006a5, 0xa2b006a5, 0xa2b006a5]],
    ['Hello, world!', 0x9747b28c, [0x756d5460, 0xbb872216, 0xb7d48b7c, 0x53c8c636]],
    ['0123456789abcdef', 0, [0xfb7d4409, 0x36aed30a, 0x48ad1d9b, 0x572b3bfd]],
    ['0123456789abcdefg', 1, [0x5ca34484, 0xe3f7f6cf, 0x77e588b3, 0x4ddf375d]],
    ['The quick brown fox jumps over the lazy dog', 0, [0x2f1583c3, 0xecee2c67, 0x5d7bf66c, 0xe5e91d2c]],
    ['I will not buy this record, it is scratched.', 0, [0xa0a9683b, 0x25ac5e40, 0xd9af2895, 0x890dddf5]],
  ])('hashes %j with seed %i', (text, seed, expected) => {
    const input = utf8(text);
    const out = new Uint32Array(4);
    murmur3x86_128(input, 0, input.length, seed, out);
    expect(Array.from(out)).toEqual(expected);
  });

  it('hash64 is the first 64 bits of x86_128 with seed 0', () => {
    const input = utf8('user-42');
    const a = new Uint32Array(4);
    const b = new Uint32Array(4);
    hash64(input, 0, input.length, a);
    murmur3x86_128(input, 0, input.length, 0, b);
    expect([a[0], a[1]]).toEqual([b[0], b[1]]);
  });
});

describe('number hashes', () => {
  it('treat -0 as 0 and every NaN alike, and differ for different values', () => {
    const a = new Uint32Array(4);
    const b = new Uint32Array(4);
    hashNumber64(0, a);
    hashNumber64(-0, b);
    expect(Array.from(a)).toEqual(Array.from(b));
    const otherNaN = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0];
    expect(hashNumber(otherNaN)).toBe(hashNumber(Number.NaN));
    expect(hashNumber(1)).not.toBe(hashNumber(2));
  });

  it('hashNumber is x86_32 over the little-endian float64 bytes', () => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, 1234.5, true);
    expect(hashNumber(1234.5, 7)).toBe(murmur3x86_32(bytes, 0, 8, 7));
  });
});
