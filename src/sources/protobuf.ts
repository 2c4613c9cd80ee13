/**
 * A minimal protobuf wire-format reader and writer: just what the KPL aggregation format needs
 * (varints, length-delimited fields, skipping unknown fields). Written from the public encoding spec
 * (https://protobuf.dev/programming-guides/encoding/).
 */
import { ProtobufFormatError } from './errors.js';

/** Wire types (protobuf encoding guide, "Message Structure"). */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

/** A varint is at most 10 bytes (64 bits in 7-bit groups). */
export const MAX_VARINT_BYTES = 10;

const EMPTY = new Uint8Array(0);

/**
 * Reads fields from a byte range. One instance is reused for every message: `reset()` points it at new
 * bytes without allocating. Every read checks bounds and throws `ProtobufFormatError` on malformed input.
 *
 * Varints are returned as JavaScript numbers: exact up to 2^53, which covers every index and length a
 * Kinesis record (at most a few MiB) can hold; larger values lose precision and then fail range checks.
 */
export class ProtobufReader {
  public bytes: Uint8Array = EMPTY;
  public pos = 0;
  public end = 0;

  public reset(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  public readVarint(): number {
    // hot path: one call per field; the one-byte case returns early.
    const bytes = this.bytes;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) throw new ProtobufFormatError(`truncated varint at byte ${pos}`);
    let byte = bytes[pos++];
    if (byte < 0x80) {
      this.pos = pos;
      return byte;
    }
    let value = byte & 0x7f;
    let multiplier = 128;
    for (let i = 1; i < MAX_VARINT_BYTES; i++) {
      if (pos >= end) throw new ProtobufFormatError(`truncated varint at byte ${pos}`);
      byte = bytes[pos++];
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        this.pos = pos;
        return value;
      }
      multiplier *= 128;
    }
    throw new ProtobufFormatError(`varint longer than ${MAX_VARINT_BYTES} bytes at byte ${this.pos}`);
  }

  /** Reads the length prefix of a length-delimited field and checks that the field fits. */
  public readLength(): number {
    const length = this.readVarint();
    if (length > this.end - this.pos) {
      throw new ProtobufFormatError(
        `length-delimited field of ${length} bytes at byte ${this.pos} overruns its message (ends at ${this.end})`,
      );
    }
    return length;
  }

  /** Skips the value of a field of the given wire type (unknown fields are legal and ignored). */
  public skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.readVarint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited: {
        // Not `this.pos += this.readLength()`: that reads `this.pos` before readLength() advances it.
        const length = this.readLength();
        this.pos += length;
        return;
      }
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        // Groups (3, 4) are deprecated and absent from the KPL format; 6 and 7 are not wire types.
        throw new ProtobufFormatError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private advance(count: number): void {
    if (count > this.end - this.pos) throw new ProtobufFormatError(`truncated fixed-width field at byte ${this.pos}`);
    this.pos += count;
  }
}

// Varints are written by the same functions the sketches' serialisation uses.
export { varintSize, writeVarint } from '../core/sketch/varint.js';

/** A field key: field number and wire type (encoding guide, "Message Structure"). */
export function fieldKey(fieldNumber: number, wireType: number): number {
  return fieldNumber * 8 + wireType;
}
