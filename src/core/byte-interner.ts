/**
 * Interns byte strings (UTF-8) as small integer ids without building a JS string per lookup:
 * an open-addressing hash table over a growable byte pool. Strings are materialised once per id, lazily.
 */

const INITIAL_SLOTS = 1 << 12;
const INITIAL_POOL_BYTES = 1 << 16;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const decoder = new TextDecoder('utf-8', { fatal: false });

export class ByteInterner {
  private slots: Int32Array;
  private mask: number;
  private pool: Uint8Array;
  private poolUsed = 0;
  private offsets: Int32Array;
  private lengths: Int32Array;
  private hashes: Int32Array;
  private strings: Array<string | undefined> = [];
  private size = 0;

  constructor(initialSlots = INITIAL_SLOTS) {
    this.slots = new Int32Array(initialSlots).fill(-1);
    this.mask = initialSlots - 1;
    this.pool = new Uint8Array(INITIAL_POOL_BYTES);
    this.offsets = new Int32Array(initialSlots >> 1);
    this.lengths = new Int32Array(initialSlots >> 1);
    this.hashes = new Int32Array(initialSlots >> 1);
  }

  get count(): number {
    return this.size;
  }

  /** hot path: the id of bytes[start, end), interning it on first sight. */
  intern(bytes: Uint8Array, start: number, end: number): number {
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME);
    const len = end - start;
    let slot = h & this.mask;
    while (true) {
      const id = this.slots[slot];
      if (id < 0) break;
      if (this.hashes[id] === h && this.lengths[id] === len) {
        const off = this.offsets[id];
        let same = true;
        for (let i = 0; i < len; i++) {
          if (this.pool[off + i] !== bytes[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
      slot = (slot + 1) & this.mask;
    }
    return this.insert(bytes, start, end, h, slot);
  }

  /** Interns a JS string (cold path: constants such as `__none__`). */
  internString(text: string): number {
    const bytes = new TextEncoder().encode(text);
    const id = this.intern(bytes, 0, bytes.length);
    this.strings[id] = text;
    return id;
  }

  /** The string for an id, decoded once and cached. */
  stringOf(id: number): string {
    let s = this.strings[id];
    if (s === undefined) {
      s = decoder.decode(this.pool.subarray(this.offsets[id], this.offsets[id] + this.lengths[id]));
      this.strings[id] = s;
    }
    return s;
  }

  /** Length in bytes of an id's string. */
  byteLength(id: number): number {
    return this.lengths[id];
  }

  /** The interned bytes of an id (a view into the pool; valid until the next intern). */
  bytesOf(id: number): Uint8Array {
    return this.pool.subarray(this.offsets[id], this.offsets[id] + this.lengths[id]);
  }

  clear(): void {
    this.slots.fill(-1);
    this.poolUsed = 0;
    this.size = 0;
    this.strings.length = 0;
  }

  private insert(bytes: Uint8Array, start: number, end: number, h: number, slot: number): number {
    const len = end - start;
    if (this.poolUsed + len > this.pool.length) {
      let capacity = this.pool.length * 2;
      while (capacity < this.poolUsed + len) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.pool.subarray(0, this.poolUsed));
      this.pool = grown;
    }
    const id = this.size++;
    if (id >= this.offsets.length) {
      this.offsets = growInt32(this.offsets);
      this.lengths = growInt32(this.lengths);
      this.hashes = growInt32(this.hashes);
    }
    this.pool.set(bytes.subarray(start, end), this.poolUsed);
    this.offsets[id] = this.poolUsed;
    this.lengths[id] = len;
    this.hashes[id] = h;
    this.poolUsed += len;
    this.slots[slot] = id;
    if (this.size * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const capacity = this.slots.length * 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    for (let id = 0; id < this.size; id++) {
      let slot = this.hashes[id] & this.mask;
      while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = id;
    }
  }
}

export function growInt32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export function growFloat64(a: Float64Array): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
