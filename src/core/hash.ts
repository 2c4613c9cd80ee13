/**
 * MurmurHash3 (Austin Appleby, public domain), x86_32 and x86_128 variants, over a byte range.
 *
 * Only 32-bit integer arithmetic (`Math.imul`, shifts) is used, so nothing is boxed and no call allocates.
 *
 * Why x86_128 for the 64-bit hash that HyperLogLog consumes: x64_128 would need 64-bit multiplies, which in
 * JS mean BigInt (allocating, ~50x slower) or 16-bit limb arithmetic. Two x86_32 passes with different
 * seeds read the input twice and the two words come from the same weak-ish 32-bit state. x86_128 reads
 * the input once, keeps 128 bits of state, and its finalizer cross-mixes the four lanes, so its first
 * 64 bits (h1, h2) are a full-quality 64-bit hash (it passes SMHasher). Truncating to h1/h2 costs
 * nothing extra.
 */

const C1_32 = 0xcc9e2d51;
const C2_32 = 0x1b873593;

const C1_128 = 0x239b961b;
const C2_128 = 0xab0e9789;
const C3_128 = 0x38b34ae5;
const C4_128 = 0xa1e38b93;

/** The seed used by {@link hash64} and {@link hashNumber64}. Changing it invalidates every stored HyperLogLog. */
export const HASH64_SEED = 0;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * MurmurHash3 x86_32 of `bytes[start, end)`.
 *
 * @returns the hash as an unsigned 32-bit integer
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode('Hello, world!');
 * murmur3x86_32(bytes, 0, bytes.length, 0x9747b28c); // 0x24884cba
 * ```
 */
export function murmur3x86_32(bytes: Uint8Array, start: number, end: number, seed: number): number {
  // hot path: one call per distinct-count input; 32-bit ops only, no allocation.
  let h = seed | 0;
  const len = end - start;
  const blockEnd = start + (len & ~3);
  let i = start;
  for (; i < blockEnd; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, C1_32);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2_32);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rem = len & 3;
  if (rem !== 0) {
    let k = readTail(bytes, i, rem);
    k = Math.imul(k, C1_32);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2_32);
    h ^= k;
  }
  h ^= len;
  return fmix32(h) >>> 0;
}

function readU32(bytes: Uint8Array, i: number): number {
  return bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
}

/** Little-endian word from the last `n` (1..4) bytes of a tail, zero-padded. */
function readTail(bytes: Uint8Array, i: number, n: number): number {
  let k = bytes[i];
  if (n > 1) k |= bytes[i + 1] << 8;
  if (n > 2) k |= bytes[i + 2] << 16;
  if (n > 3) k |= bytes[i + 3] << 24;
  return k;
}

/**
 * MurmurHash3 x86_128 of `bytes[start, end)`, written to `out[0..3]` as the four unsigned 32-bit words
 * h1..h4 (the reference implementation's output order).
 *
 * @param out - at least 4 elements; reuse one array across calls
 * @example
 * ```ts
 * const out = new Uint32Array(4);
 * murmur3x86_128(new Uint8Array(0), 0, 0, 0, out); // out = [0, 0, 0, 0]
 * ```
 */
export function murmur3x86_128(bytes: Uint8Array, start: number, end: number, seed: number, out: Uint32Array): void {
  // hot path: hashes every distinct-count input; no allocation, 32-bit ops only.
  const len = end - start;
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const blockEnd = start + (len & ~15);
  let i = start;
  for (; i < blockEnd; i += 16) {
    let k1 = readU32(bytes, i);
    let k2 = readU32(bytes, i + 4);
    let k3 = readU32(bytes, i + 8);
    let k4 = readU32(bytes, i + 12);

    k1 = Math.imul(k1, C1_128);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2_128);
    h1 ^= k1;
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(k2, C2_128);
    k2 = (k2 << 16) | (k2 >>> 16);
    k2 = Math.imul(k2, C3_128);
    h2 ^= k2;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(k3, C3_128);
    k3 = (k3 << 17) | (k3 >>> 15);
    k3 = Math.imul(k3, C4_128);
    h3 ^= k3;
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(k4, C4_128);
    k4 = (k4 << 18) | (k4 >>> 14);
    k4 = Math.imul(k4, C1_128);
    h4 ^= k4;
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  // Tail: up to 15 bytes, lanes k4..k1 partially filled (the reference's fall-through switch).
  const rem = len & 15;
  if (rem > 12) {
    let k4 = readTail(bytes, i + 12, rem - 12);
    k4 = Math.imul(k4, C4_128);
    k4 = (k4 << 18) | (k4 >>> 14);
    k4 = Math.imul(k4, C1_128);
    h4 ^= k4;
  }
  if (rem > 8) {
    let k3 = readTail(bytes, i + 8, rem > 12 ? 4 : rem - 8);
    k3 = Math.imul(k3, C3_128);
    k3 = (k3 << 17) | (k3 >>> 15);
    k3 = Math.imul(k3, C4_128);
    h3 ^= k3;
  }
  if (rem > 4) {
    let k2 = readTail(bytes, i + 4, rem > 8 ? 4 : rem - 4);
    k2 = Math.imul(k2, C2_128);
    k2 = (k2 << 16) | (k2 >>> 16);
    k2 = Math.imul(k2, C3_128);
    h2 ^= k2;
  }
  if (rem > 0) {
    let k1 = readTail(bytes, i, rem > 4 ? 4 : rem);
    k1 = Math.imul(k1, C1_128);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2_128);
    h1 ^= k1;
  }

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

/**
 * 64-bit hash of `bytes[start, end)`: the first 64 bits of MurmurHash3 x86_128 (seed {@link HASH64_SEED}),
 * `out[0]` = high word (h1), `out[1]` = low word (h2). `out[2..3]` are overwritten as scratch.
 *
 * @param out - at least 4 elements; reuse one array across calls
 * @example
 * ```ts
 * const out = new Uint32Array(4);
 * const key = new TextEncoder().encode('user-42');
 * hash64(key, 0, key.length, out);
 * hll.addHash(out[0], out[1]);
 * ```
 */
export function hash64(bytes: Uint8Array, start: number, end: number, out: Uint32Array): void {
  murmur3x86_128(bytes, start, end, HASH64_SEED, out);
}

// Numbers are hashed through their IEEE-754 bytes; a DataView pins little-endian so stored sketches
// mean the same thing on every platform. Module-level scratch: no allocation per call.
const numberScratch = new Uint8Array(8);
const numberView = new DataView(numberScratch.buffer);

function writeCanonicalNumber(n: number): void {
  // -0 and 0 are the same value to a user; every NaN payload is the same NaN.
  numberView.setFloat64(0, n === 0 ? 0 : n !== n ? Number.NaN : n, true);
}

/**
 * 64-bit hash of a number's value (`-0` equals `0`, all NaNs are equal), written like {@link hash64}.
 * Note that `1` and the string `"1"` hash differently; callers decide which one a distinct field means.
 *
 * @example
 * ```ts
 * const out = new Uint32Array(4);
 * hashNumber64(1234.5, out);
 * ```
 */
export function hashNumber64(n: number, out: Uint32Array): void {
  writeCanonicalNumber(n);
  murmur3x86_128(numberScratch, 0, 8, HASH64_SEED, out);
}

/**
 * Unsigned 32-bit hash of a number's value (MurmurHash3 x86_32 of its little-endian IEEE-754 bytes).
 *
 * @example
 * ```ts
 * const bucket = hashNumber(42, 0) & 1023;
 * ```
 */
export function hashNumber(n: number, seed = 0): number {
  writeCanonicalNumber(n);
  return murmur3x86_32(numberScratch, 0, 8, seed);
}
