/**
 * UTF-8 helpers for the byte-level JSON scanner. Decoding follows the WHATWG Encoding Standard (the
 * decoder behind `Buffer#toString('utf8')` and `TextDecoder`): each maximal subpart of an ill-formed
 * sequence becomes one U+FFFD, and a byte that ends a subpart early is decoded again on its own.
 * Lone UTF-16 surrogates are written as 3-byte WTF-8 so that every JS string has exactly one byte form.
 */

/** The replacement character U+FFFD, in UTF-8. */
export const REPLACEMENT_BYTE_0 = 0xef;
export const REPLACEMENT_BYTE_1 = 0xbf;
export const REPLACEMENT_BYTE_2 = 0xbd;

/**
 * Length (2..4) of the well-formed multi-byte sequence starting at `bytes[pos]`, or 0 if the bytes there
 * are not one (a continuation byte, an overlong form, a surrogate, above U+10FFFF, or cut short by `end`).
 * Only called for bytes >= 0x80.
 */
export function utf8SequenceLength(bytes: Uint8Array, pos: number, end: number): number {
  const b0 = bytes[pos];
  if (b0 < 0xc2) return 0;
  if (b0 < 0xe0) {
    return pos + 1 < end && (bytes[pos + 1] & 0xc0) === 0x80 ? 2 : 0;
  }
  if (b0 < 0xf0) {
    if (pos + 2 >= end) return 0;
    const b1 = bytes[pos + 1];
    const lower = b0 === 0xe0 ? 0xa0 : 0x80;
    const upper = b0 === 0xed ? 0x9f : 0xbf;
    return b1 >= lower && b1 <= upper && (bytes[pos + 2] & 0xc0) === 0x80 ? 3 : 0;
  }
  if (b0 < 0xf5) {
    if (pos + 3 >= end) return 0;
    const b1 = bytes[pos + 1];
    const lower = b0 === 0xf0 ? 0x90 : 0x80;
    const upper = b0 === 0xf4 ? 0x8f : 0xbf;
    return b1 >= lower && b1 <= upper && (bytes[pos + 2] & 0xc0) === 0x80 && (bytes[pos + 3] & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/**
 * Number of bytes the WHATWG decoder replaces with one U+FFFD at `bytes[pos]`, where
 * `utf8SequenceLength` returned 0: the lead byte plus the continuation bytes that were still acceptable.
 */
export function utf8InvalidSubpartLength(bytes: Uint8Array, pos: number, end: number): number {
  const b0 = bytes[pos];
  let needed: number;
  let lower = 0x80;
  let upper = 0xbf;
  if (b0 >= 0xc2 && b0 < 0xe0) needed = 1;
  else if (b0 >= 0xe0 && b0 < 0xf0) {
    needed = 2;
    if (b0 === 0xe0) lower = 0xa0;
    else if (b0 === 0xed) upper = 0x9f;
  } else if (b0 >= 0xf0 && b0 < 0xf5) {
    needed = 3;
    if (b0 === 0xf0) lower = 0x90;
    else if (b0 === 0xf4) upper = 0x8f;
  } else return 1;
  let length = 1;
  while (length <= needed && pos + length < end) {
    const b = bytes[pos + length];
    if (b < lower || b > upper) break;
    lower = 0x80;
    upper = 0xbf;
    length++;
  }
  return length;
}

/** The code point of the well-formed sequence of `length` bytes at `bytes[pos]`. */
export function utf8CodePoint(bytes: Uint8Array, pos: number, length: number): number {
  if (length === 2) return ((bytes[pos] & 0x1f) << 6) | (bytes[pos + 1] & 0x3f);
  if (length === 3) return ((bytes[pos] & 0x0f) << 12) | ((bytes[pos + 1] & 0x3f) << 6) | (bytes[pos + 2] & 0x3f);
  return (
    ((bytes[pos] & 0x07) << 18) |
    ((bytes[pos + 1] & 0x3f) << 12) |
    ((bytes[pos + 2] & 0x3f) << 6) |
    (bytes[pos + 3] & 0x3f)
  );
}

/**
 * Writes `codePoint` (0..0x10FFFF; lone surrogates included, as WTF-8) at `out[pos]` and returns the
 * position after it, or -1 if `out` is too small.
 */
export function writeWtf8(codePoint: number, out: Uint8Array, pos: number): number {
  if (codePoint < 0x80) {
    if (pos >= out.length) return -1;
    out[pos] = codePoint;
    return pos + 1;
  }
  if (codePoint < 0x800) {
    if (pos + 2 > out.length) return -1;
    out[pos] = 0xc0 | (codePoint >> 6);
    out[pos + 1] = 0x80 | (codePoint & 0x3f);
    return pos + 2;
  }
  if (codePoint < 0x10000) {
    if (pos + 3 > out.length) return -1;
    out[pos] = 0xe0 | (codePoint >> 12);
    out[pos + 1] = 0x80 | ((codePoint >> 6) & 0x3f);
    out[pos + 2] = 0x80 | (codePoint & 0x3f);
    return pos + 3;
  }
  if (pos + 4 > out.length) return -1;
  out[pos] = 0xf0 | (codePoint >> 18);
  out[pos + 1] = 0x80 | ((codePoint >> 12) & 0x3f);
  out[pos + 2] = 0x80 | ((codePoint >> 6) & 0x3f);
  out[pos + 3] = 0x80 | (codePoint & 0x3f);
  return pos + 4;
}

/**
 * The WTF-8 bytes of a JS string: surrogate pairs as one 4-byte sequence, lone surrogates as 3 bytes.
 * Unlike `TextEncoder`, which turns lone surrogates into U+FFFD, this keeps distinct strings distinct.
 * Allocates; meant for compiling configuration, not for the hot path.
 */
export function encodeWtf8(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  let pos = 0;
  for (let i = 0; i < text.length; i++) {
    let unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        unit = 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    pos = writeWtf8(unit, out, pos);
  }
  return out.slice(0, pos);
}
