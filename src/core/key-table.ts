/**
 * An open-addressing hash table from (a: int32, b: int32, c: float64) keys to dense indexes 0..size-1.
 * Cleared between batches with `fill`, grown by doubling; no allocation per lookup.
 */
import { growFloat64, growInt32 } from './byte-interner.js';

export class KeyTable {
  private slots: Int32Array;
  private mask: number;
  private keyA: Int32Array;
  private keyB: Int32Array;
  private keyC: Float64Array;
  private readonly cScratch = new Float64Array(1);
  /** The bits of cScratch[0], to hash a float64 key without a floating-point modulo (a C call in V8). */
  private readonly cBits = new Int32Array(this.cScratch.buffer);
  size = 0;
  /** Set by `indexOf`: whether the last lookup created the entry. */
  created = false;

  constructor(initialCapacity = 1 << 10) {
    this.slots = new Int32Array(initialCapacity * 2).fill(-1);
    this.mask = initialCapacity * 2 - 1;
    this.keyA = new Int32Array(initialCapacity);
    this.keyB = new Int32Array(initialCapacity);
    this.keyC = new Float64Array(initialCapacity);
  }

  /** Index of (a, b, c), created when absent (check `created`). */
  indexOf(a: number, b: number, c: number): number {
    this.cScratch[0] = c;
    return this.indexOfAt(a, b, this.cScratch, 0);
  }

  /**
   * hot path: as `indexOf` with c = cs[at]. Takes the float64 key through a typed array: window starts
   * (epoch ms) are beyond the Smi range, so passing one as an argument to a call V8 does not inline
   * allocated a 16-byte HeapNumber per lookup (part of the aggregator's 33.7 B/record in countEvent).
   */
  indexOfAt(a: number, b: number, cs: Float64Array, at: number): number {
    const c = cs[at];
    this.cScratch[0] = c + 0; // + 0: -0 and 0 are one key (===), so they must hash alike
    let slot = this.hashOfScratch(a, b) & this.mask;
    while (true) {
      const idx = this.slots[slot];
      if (idx < 0) break;
      if (this.keyA[idx] === a && this.keyB[idx] === b && this.keyC[idx] === c) {
        this.created = false;
        return idx;
      }
      slot = (slot + 1) & this.mask;
    }
    const idx = this.size++;
    if (idx >= this.keyA.length) {
      this.keyA = growInt32(this.keyA);
      this.keyB = growInt32(this.keyB);
      this.keyC = growFloat64(this.keyC);
    }
    this.keyA[idx] = a;
    this.keyB[idx] = b;
    this.keyC[idx] = c;
    this.slots[slot] = idx;
    this.created = true;
    if (this.size * 2 > this.slots.length) this.rehash();
    return idx;
  }

  a(idx: number): number {
    return this.keyA[idx];
  }
  b(idx: number): number {
    return this.keyB[idx];
  }
  c(idx: number): number {
    return this.keyC[idx];
  }

  get capacity(): number {
    return this.keyA.length;
  }

  clear(): void {
    this.slots.fill(-1);
    this.size = 0;
  }

  /** Hash of (a, b, cScratch[0]); the float64 key is read through its bits, not passed as an argument. */
  private hashOfScratch(a: number, b: number): number {
    let h =
      Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^
      Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^
      Math.imul(this.cBits[0], 0x27d4eb2f) ^
      Math.imul(this.cBits[1], 0x165667b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 12);
  }

  private rehash(): void {
    const capacity = this.slots.length * 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    for (let idx = 0; idx < this.size; idx++) {
      const a = this.keyA[idx];
      const b = this.keyB[idx];
      const c = this.keyC[idx];
      this.cScratch[0] = c + 0;
      let slot = this.hashOfScratch(a, b) & this.mask;
      while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = idx;
    }
  }
}
