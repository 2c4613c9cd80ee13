import { SketchFormatError } from './errors.js';

/**
 * Unsigned LEB128 varints for non-negative safe integers (up to 2^53 - 1, so up to 8 bytes), plus
 * zigzag for signed bin indexes. Arithmetic instead of bit operations above 2^31 keeps them exact.
 */

/** Largest value a varint may carry: counts are exact in a float64 up to here. */
export const MAX_VARINT_VALUE = Number.MAX_SAFE_INTEGER;

/** Bytes that {@link writeVarint} uses for `value`. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 128) {
    out[pos++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

/** Zigzag-maps a signed integer to a non-negative one (0, -1, 1, -2 -> 0, 1, 2, 3). */
export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/**
 * Sequential reader over serialized bytes; every read checks bounds and throws
 * {@link SketchFormatError} naming `what` was being read.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly kind: string;

  constructor(bytes: Uint8Array, kind: string) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.kind = kind;
  }

  fail(what: string): never {
    throw new SketchFormatError(
      `Corrupt serialized ${this.kind}: ${what} at byte ${this.pos} of ${this.bytes.length}. ` +
        'The bytes were truncated or were not written by this library; re-create the sketch from its inputs.',
    );
  }

  byte(what: string): number {
    if (this.pos >= this.bytes.length) this.fail(`unexpected end while reading ${what}`);
    return this.bytes[this.pos++];
  }

  f64(what: string): number {
    if (this.pos + 8 > this.bytes.length) this.fail(`unexpected end while reading ${what}`);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte(what);
      value += (b & 127) * scale;
      if (b < 128) {
        if (value > MAX_VARINT_VALUE) this.fail(`${what} exceeds 2^53 - 1`);
        return value;
      }
      scale *= 128;
    }
    return this.fail(`${what} is a varint longer than 8 bytes`);
  }

  expectEnd(): void {
    if (this.pos !== this.bytes.length) this.fail(`${this.bytes.length - this.pos} trailing bytes`);
  }
}
