/**
 * Reads a few configured fields straight from the UTF-8 bytes of a JSON value, validating the whole value
 * in the same pass, without building an object (or a string) per record.
 */
import {
  REPLACEMENT_BYTE_0,
  REPLACEMENT_BYTE_1,
  REPLACEMENT_BYTE_2,
  encodeWtf8,
  utf8CodePoint,
  utf8InvalidSubpartLength,
  utf8SequenceLength,
  writeWtf8,
} from './utf8.js';

/** What a path resolved to in the last scan. `Missing`: absent, or a parent on the path is not an object. */
export const ValueKind = { Missing: 0, String: 1, Number: 2, True: 3, False: 4, Null: 5, Object: 6, Array: 7 } as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

/**
 * Bits of `JsonFieldScanner#escaped`. Zero means the raw span between the quotes already is the canonical
 * UTF-8 of the string (the bytes `unescapeInto` would write), so callers may compare or hash it directly.
 */
export const StringFlag = {
  /** The string contains a backslash escape. */
  Escape: 1,
  /** The string contains ill-formed UTF-8, which JSON.parse sees as U+FFFD after decoding. */
  InvalidUtf8: 2,
} as const;

/**
 * Deepest nesting of objects and arrays `scan` accepts; deeper input is reported invalid (-1). Chosen to
 * bound the scanner's recursion (one frame per open container). V8's JSON.parse is iterative and accepts
 * far deeper nesting, so input nested more than 512 levels is the one place where `scan` rejects what
 * JSON.parse accepts.
 */
export const MAX_NESTING_DEPTH = 512;

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_E = 0x65;
const LOWER_U = 0x75;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

const KIND_STRING = 1;
const KIND_NUMBER = 2;
const KIND_TRUE = 3;
const KIND_FALSE = 4;
const KIND_NULL = 5;
const KIND_OBJECT = 6;
const KIND_ARRAY = 7;

/** 1 for bytes that end the plain run inside a string: quote, backslash, controls, non-ASCII. */
const STRING_SPECIAL = new Uint8Array(256);
/** The byte a short escape (`\n`, ...) stands for, 0 where the escape is invalid; `u` handled apart. */
const SHORT_ESCAPE = new Uint8Array(256);
/** Value of a hex digit, or 255. */
const HEX_VALUE = new Uint8Array(256).fill(255);
for (let b = 0; b < 256; b++) STRING_SPECIAL[b] = b < 0x20 || b === QUOTE || b === BACKSLASH || b >= 0x80 ? 1 : 0;
SHORT_ESCAPE[QUOTE] = QUOTE;
SHORT_ESCAPE[BACKSLASH] = BACKSLASH;
SHORT_ESCAPE[0x2f] = 0x2f;
SHORT_ESCAPE[0x62] = 0x08;
SHORT_ESCAPE[0x66] = 0x0c;
SHORT_ESCAPE[0x6e] = LF;
SHORT_ESCAPE[0x72] = CR;
SHORT_ESCAPE[0x74] = TAB;
for (let d = 0; d < 10; d++) HEX_VALUE[DIGIT_0 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX_VALUE[0x41 + d] = 10 + d;
  HEX_VALUE[0x61 + d] = 10 + d;
}

/** Members per object, and bytes per key, that key prediction covers (see `scanPredictedKey`). */
const PREDICTED_MEMBERS = 32;
const PREDICTED_KEY_BYTES = 32;

/** 10^0 .. 10^22: every one exactly representable as a double (the Clinger fast-path bound). */
const EXACT_POWERS_OF_TEN = new Float64Array(23);
for (let k = 0; k < 23; k++) EXACT_POWERS_OF_TEN[k] = Number(`1e${k}`);
/** Mantissas of up to 15 significant digits are below 2^53, so they are exact doubles. */
const FAST_PATH_MAX_DIGITS = 15;

/** Skips JSON whitespace (space, tab, LF, CR) from `pos`; returns the first other position, at most `end`. */
export function skipWhitespace(bytes: Uint8Array, pos: number, end: number): number {
  while (pos < end) {
    const b = bytes[pos];
    if (b > SPACE || (b !== SPACE && b !== LF && b !== CR && b !== TAB)) return pos; // every token byte is > SPACE
    pos++;
  }
  return pos;
}

/** Length of the valid escape starting with the backslash at `pos` (2 or 6), or -1. */
function escapeLength(bytes: Uint8Array, pos: number, end: number): number {
  if (pos + 1 >= end) return -1;
  const e = bytes[pos + 1];
  if (SHORT_ESCAPE[e] !== 0) return 2;
  if (e !== LOWER_U || pos + 5 >= end) return -1;
  return (HEX_VALUE[bytes[pos + 2]] |
    HEX_VALUE[bytes[pos + 3]] |
    HEX_VALUE[bytes[pos + 4]] |
    HEX_VALUE[bytes[pos + 5]]) ===
    255
    ? -1
    : 6;
}

function hex4(bytes: Uint8Array, pos: number): number {
  return (
    (HEX_VALUE[bytes[pos]] << 12) |
    (HEX_VALUE[bytes[pos + 1]] << 8) |
    (HEX_VALUE[bytes[pos + 2]] << 4) |
    HEX_VALUE[bytes[pos + 3]]
  );
}

/** If a `\uDC00`..`\uDFFF` escape starts at `pos` (before `end`), its code unit; otherwise -1. */
function lowSurrogateEscapeAt(bytes: Uint8Array, pos: number, end: number): number {
  if (pos + 6 > end || bytes[pos] !== BACKSLASH || bytes[pos + 1] !== LOWER_U) return -1;
  const unit = hex4(bytes, pos + 2);
  return unit >= 0xdc00 && unit <= 0xdfff ? unit : -1;
}

/** Position after the number token starting at `pos`, per the JSON grammar, or -1. */
function scanNumber(bytes: Uint8Array, pos: number, end: number): number {
  if (bytes[pos] === MINUS) pos++;
  if (pos >= end) return -1;
  let b = bytes[pos];
  if (b === DIGIT_0) pos++;
  else if (b >= DIGIT_1 && b <= DIGIT_9) {
    pos++;
    while (pos < end && (b = bytes[pos]) >= DIGIT_0 && b <= DIGIT_9) pos++;
  } else return -1;
  if (pos < end && bytes[pos] === DOT) {
    pos++;
    const digitsStart = pos;
    while (pos < end && (b = bytes[pos]) >= DIGIT_0 && b <= DIGIT_9) pos++;
    if (pos === digitsStart) return -1;
  }
  if (pos < end && ((b = bytes[pos]) === LOWER_E || b === UPPER_E)) {
    pos++;
    if (pos < end && ((b = bytes[pos]) === PLUS || b === MINUS)) pos++;
    const digitsStart = pos;
    while (pos < end && (b = bytes[pos]) >= DIGIT_0 && b <= DIGIT_9) pos++;
    if (pos === digitsStart) return -1;
  }
  return pos;
}

/** Whether the literal's remaining ASCII letters (3, or 4 when `b4` >= 0) follow the byte at `pos`. */
function literalAt(
  bytes: Uint8Array,
  pos: number,
  end: number,
  b1: number,
  b2: number,
  b3: number,
  b4: number,
): boolean {
  if (b4 < 0) return pos + 3 < end && bytes[pos + 1] === b1 && bytes[pos + 2] === b2 && bytes[pos + 3] === b3;
  return (
    pos + 4 < end && bytes[pos + 1] === b1 && bytes[pos + 2] === b2 && bytes[pos + 3] === b3 && bytes[pos + 4] === b4
  );
}

/**
 * Unescapes the (already validated) string content `bytes[start, end)` into `out` as canonical WTF-8:
 * escapes decoded, surrogate-pair escapes joined, lone surrogates as 3 bytes, each ill-formed UTF-8
 * subpart as U+FFFD. Returns the length, or -1 if `out` is too small.
 */
function unescapeSpan(bytes: Uint8Array, start: number, end: number, out: Uint8Array): number {
  const capacity = out.length;
  let o = 0;
  let p = start;
  while (p < end) {
    const b = bytes[p];
    if (b === BACKSLASH) {
      const e = bytes[p + 1];
      if (e === LOWER_U) {
        let unit = hex4(bytes, p + 2);
        p += 6;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = lowSurrogateEscapeAt(bytes, p, end);
          if (low >= 0) {
            unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            p += 6;
          }
        }
        o = writeWtf8(unit, out, o);
        if (o < 0) return -1;
      } else {
        if (o >= capacity) return -1;
        out[o++] = SHORT_ESCAPE[e];
        p += 2;
      }
    } else if (b < 0x80) {
      if (o >= capacity) return -1;
      out[o++] = b;
      p++;
    } else {
      const n = utf8SequenceLength(bytes, p, end);
      if (n > 0) {
        if (o + n > capacity) return -1;
        for (let k = 0; k < n; k++) out[o + k] = bytes[p + k];
        o += n;
        p += n;
      } else {
        if (o + 3 > capacity) return -1;
        out[o] = REPLACEMENT_BYTE_0;
        out[o + 1] = REPLACEMENT_BYTE_1;
        out[o + 2] = REPLACEMENT_BYTE_2;
        o += 3;
        p += utf8InvalidSubpartLength(bytes, p, end);
      }
    }
  }
  return o;
}

/** A JS string from UTF-16 code units, in chunks small enough for `apply`. */
function stringFromUnits(units: Uint16Array, length: number): string {
  const CHUNK = 8192;
  let text = '';
  for (let i = 0; i < length; i += CHUNK) {
    text += String.fromCharCode.apply(null, units.subarray(i, Math.min(length, i + CHUNK)) as unknown as number[]);
  }
  return text;
}

/**
 * Scans JSON values and captures the values at a fixed set of paths, in one pass over the bytes.
 *
 * Paths are compiled once into a trie of key bytes per object level, walked while each key is
 * validated, so scanning never builds a string to compare keys. A key written with escapes or with
 * ill-formed UTF-8 is unescaped into a small scratch buffer and matched from there, so `"\u0063ountry"`
 * matches the path `country` exactly as JSON.parse would.
 *
 * Results live in typed arrays indexed by path (reused on every scan, never reallocated). After a
 * failed scan (-1) their contents are unspecified.
 *
 * @example
 * ```ts
 * const scanner = new JsonFieldScanner([['country'], ['latency', 'ms']]);
 * const bytes = new TextEncoder().encode('{"country":"FR","latency":{"ms":12.5}}');
 * const endOfValue = scanner.scan(bytes, 0, bytes.length); // 38, or -1 if invalid
 * scanner.kinds[0] === ValueKind.String; // true; bytes[starts[0], ends[0]) is `FR`
 * scanner.numberAt(bytes, 1); // 12.5
 * ```
 */
export class JsonFieldScanner {
  /** Per path: a `ValueKind`. */
  readonly kinds: Uint8Array;
  /** Per path: byte offset where the raw token starts (strings: after the opening quote). */
  readonly starts: Int32Array;
  /** Per path: byte offset just past the raw token (strings: the closing quote). */
  readonly ends: Int32Array;
  /** Per path, for strings: `StringFlag` bits; 0 means the raw span is canonical UTF-8. */
  readonly escaped: Uint8Array;
  readonly pathCount: number;

  // Compiled paths. "Nodes" are positions in the document tree that some path reaches (node 0 is the
  // root value); "states" are positions inside the byte trie of the keys of one node's object.
  private readonly nodeKeyRoot: Int32Array;
  private readonly nodeTerminalStart: Int32Array;
  private readonly terminalPaths: Int32Array;
  private readonly nodeSubtreeStart: Int32Array;
  private readonly subtreePaths: Int32Array;
  private readonly stateChildNode: Int32Array;
  /** Dense key trie: transition[(state << 8) | byte] is the next state, or -1. */
  private readonly transition: Int32Array;

  // Scratch, sized once.
  private readonly keyScratch: Uint8Array;
  private unitScratch: Uint16Array;
  private lastStringFlags: number;
  private lastKeyChild: number;
  /**
   * Key predictions per (node, member position), slot node * PREDICTED_MEMBERS + position: the key's
   * bytes (plain ASCII only), its length (-1: none yet) and the child node it leads to.
   */
  private readonly predictedBytes: Uint8Array;
  private readonly predictedLength: Int32Array;
  private readonly predictedChild: Int32Array;
  /** Per node: the scan (scanSerial) in which a key last led to it. */
  private readonly nodeSeen: Int32Array;
  private scanSerial: number;

  constructor(paths: ReadonlyArray<ReadonlyArray<string>>) {
    const pathCount = paths.length;
    const nodeEdges: Array<Array<[number, number]>> = []; // per state: [byte, target state]
    const stateChild: number[] = [];
    const nodeKeyRoot: number[] = [-1];
    const nodeTerminals: number[][] = [[]];
    const nodeSubtree: number[][] = [[]];
    let maxKeyBytes = 0;
    for (let p = 0; p < pathCount; p++) {
      let node = 0;
      const keys = paths[p];
      for (let k = 0; k < keys.length; k++) {
        const keyBytes = encodeWtf8(keys[k]);
        if (keyBytes.length > maxKeyBytes) maxKeyBytes = keyBytes.length;
        if (nodeKeyRoot[node] < 0) {
          nodeKeyRoot[node] = nodeEdges.length;
          nodeEdges.push([]);
          stateChild.push(-1);
        }
        let state = nodeKeyRoot[node];
        for (let j = 0; j < keyBytes.length; j++) {
          const edges = nodeEdges[state];
          let next = -1;
          for (let e = 0; e < edges.length; e++) if (edges[e][0] === keyBytes[j]) next = edges[e][1];
          if (next < 0) {
            next = nodeEdges.length;
            nodeEdges.push([]);
            stateChild.push(-1);
            edges.push([keyBytes[j], next]);
          }
          state = next;
        }
        if (stateChild[state] < 0) {
          stateChild[state] = nodeKeyRoot.length;
          nodeKeyRoot.push(-1);
          nodeTerminals.push([]);
          nodeSubtree.push([]);
        }
        node = stateChild[state];
        nodeSubtree[node].push(p);
      }
      nodeTerminals[node].push(p);
    }

    this.kinds = new Uint8Array(pathCount);
    this.starts = new Int32Array(pathCount);
    this.ends = new Int32Array(pathCount);
    this.escaped = new Uint8Array(pathCount);
    this.pathCount = pathCount;
    this.nodeKeyRoot = Int32Array.from(nodeKeyRoot);
    [this.nodeTerminalStart, this.terminalPaths] = flatten(nodeTerminals);
    [this.nodeSubtreeStart, this.subtreePaths] = flatten(nodeSubtree);
    const stateCount = nodeEdges.length;
    this.stateChildNode = Int32Array.from(stateChild);
    // One row of 256 per trie state (a config has tens of key bytes, so tens of KB): one load per key
    // byte instead of a search of the state's edges. Measured with the bench config over its 10,000
    // records (ms per batch, min of 40, loaded machine): 9.9 -> 8.5 for the scan.
    this.transition = new Int32Array(stateCount * 256).fill(-1);
    for (let s = 0; s < stateCount; s++)
      for (const [byte, target] of nodeEdges[s]) this.transition[(s << 8) | byte] = target;
    // A key longer than every wanted key cannot match, so unescaping may stop when this fills up.
    this.keyScratch = new Uint8Array(maxKeyBytes + 4);
    this.unitScratch = new Uint16Array(256);
    this.lastStringFlags = 0;
    this.lastKeyChild = -1;
    this.nodeSeen = new Int32Array(this.nodeKeyRoot.length);
    const slots = this.nodeKeyRoot.length * PREDICTED_MEMBERS;
    this.predictedBytes = new Uint8Array(slots * PREDICTED_KEY_BYTES);
    this.predictedLength = new Int32Array(slots).fill(-1);
    this.predictedChild = new Int32Array(slots);
    this.scanSerial = 0;
  }

  /**
   * Scans and fully validates one JSON value starting at `bytes[start]` (leading whitespace allowed),
   * reading no byte at or beyond `end`. Accepts exactly what
   * `JSON.parse(Buffer.from(bytes.subarray(start, endOfValue)).toString('utf8'))` accepts, except
   * nesting deeper than `MAX_NESTING_DEPTH`. Returns the offset just past the value (trailing
   * whitespace not consumed) or -1 if invalid. Duplicate keys: the last occurrence wins, as in JSON.parse.
   */
  scan(bytes: Uint8Array, start: number, end: number): number {
    // hot path: recursive descent (one frame per open object or array, so at most MAX_NESTING_DEPTH; no
    // call per member), no allocation. Measured against the state machine with an explicit stack that it
    // replaces (bench config, bench 10,000 records, min/p25 of 40 interleaved runs, ms): 6.9-7.5 / 7.3-8.4
    // -> 5.8-6.4 / 5.9-6.8.
    const kinds = this.kinds;
    let serial = this.scanSerial + 1;
    if (serial === 0x7fffffff) {
      this.nodeSeen.fill(0);
      serial = 1;
    }
    this.scanSerial = serial;
    for (let p = 0; p < kinds.length; p++) kinds[p] = 0; // not fill(): a builtin call per scan for ~10 bytes
    return this.scanValue(bytes, skipWhitespace(bytes, start, end), end, 0, 0);
  }

  /** The value at `pos` for `node` (-1: nothing wanted), inside `depth` open containers: position after it, or -1. */
  private scanValue(bytes: Uint8Array, pos: number, end: number, node: number, depth: number): number {
    if (pos >= end) return -1;
    const c = bytes[pos];
    if (c === QUOTE) return this.scanStringValue(bytes, pos, end, node);
    if (c === LBRACE) return this.scanObject(bytes, pos, end, node, depth);
    if (c === LBRACKET) return this.scanArray(bytes, pos, end, node, depth);
    return this.scanScalar(bytes, pos, end, node, c);
  }

  private scanStringValue(bytes: Uint8Array, pos: number, end: number, node: number): number {
    // hot path: the plain run inline; scanString only from the first escape, control or non-ASCII byte.
    let close = pos + 1;
    while (close < end && STRING_SPECIAL[bytes[close]] === 0) close++;
    let flags = 0;
    if (close >= end || bytes[close] !== QUOTE) {
      close = this.scanString(bytes, close, end);
      if (close < 0) return -1;
      flags = this.lastStringFlags;
    }
    if (node >= 0) this.record(node, KIND_STRING, pos + 1, close, flags);
    return close + 1;
  }

  /** A number or a literal starting with byte `c` at `pos`. */
  private scanScalar(bytes: Uint8Array, pos: number, end: number, node: number, c: number): number {
    if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      const numberEnd = scanNumber(bytes, pos, end);
      if (numberEnd >= 0 && node >= 0) this.record(node, KIND_NUMBER, pos, numberEnd, 0);
      return numberEnd;
    }
    let kind: number;
    let length: number;
    if (c === 0x74 /* t */ && literalAt(bytes, pos, end, 0x72, 0x75, 0x65, -1)) {
      kind = KIND_TRUE;
      length = 4;
    } else if (c === 0x66 /* f */ && literalAt(bytes, pos, end, 0x61, 0x6c, 0x73, 0x65)) {
      kind = KIND_FALSE;
      length = 5;
    } else if (c === 0x6e /* n */ && literalAt(bytes, pos, end, 0x75, 0x6c, 0x6c, -1)) {
      kind = KIND_NULL;
      length = 4;
    } else {
      return -1;
    }
    if (node >= 0) this.record(node, kind, pos, pos + length, 0);
    return pos + length;
  }

  private scanObject(bytes: Uint8Array, pos: number, end: number, node: number, depth: number): number {
    // hot path: one loop per member: key (walking the key trie of `node`), colon, value, comma or brace.
    if (depth === MAX_NESTING_DEPTH) return -1;
    if (node >= 0) this.record(node, KIND_OBJECT, pos, pos, 0);
    const root = node >= 0 ? this.nodeKeyRoot[node] : -1;
    pos = skipWhitespace(bytes, pos + 1, end);
    if (pos < end && bytes[pos] === RBRACE) {
      pos++;
      if (node >= 0) this.recordEnd(node, pos);
      return pos;
    }
    const nodeSeen = this.nodeSeen;
    const serial = this.scanSerial;
    // Prediction slot of the current member (see scanPredictedKey); -1 when nothing is wanted here.
    let slot = root >= 0 ? node * PREDICTED_MEMBERS : -1;
    for (;;) {
      if (pos >= end || bytes[pos] !== QUOTE) return -1;
      const keyClose =
        slot >= 0 ? this.scanPredictedKey(bytes, pos + 1, end, root, slot) : this.scanKey(bytes, pos + 1, end, root);
      if (slot >= 0 && ++slot === (node + 1) * PREDICTED_MEMBERS) slot = -1; // members past the predicted ones walk the trie
      if (keyClose < 0) return -1;
      pos = skipWhitespace(bytes, keyClose + 1, end);
      if (pos >= end || bytes[pos] !== COLON) return -1;
      pos = skipWhitespace(bytes, pos + 1, end);
      const child = this.lastKeyChild;
      // Only a repeated key can have captured anything below its node in this scan: the first time a
      // node is reached, its paths are still cleared from the start of the scan.
      if (child >= 0) {
        if (nodeSeen[child] === serial) this.clearSubtree(child);
        else nodeSeen[child] = serial;
      }
      pos = this.scanValue(bytes, pos, end, child, depth + 1);
      if (pos < 0) return -1;
      pos = skipWhitespace(bytes, pos, end);
      if (pos >= end) return -1;
      const after = bytes[pos];
      if (after === COMMA) {
        pos = skipWhitespace(bytes, pos + 1, end);
        continue;
      }
      if (after !== RBRACE) return -1;
      pos++;
      if (node >= 0) this.recordEnd(node, pos);
      return pos;
    }
  }

  /** Array elements are never wanted (paths name object keys only): each is validated with node -1. */
  private scanArray(bytes: Uint8Array, pos: number, end: number, node: number, depth: number): number {
    if (depth === MAX_NESTING_DEPTH) return -1;
    if (node >= 0) this.record(node, KIND_ARRAY, pos, pos, 0);
    pos = skipWhitespace(bytes, pos + 1, end);
    if (pos < end && bytes[pos] === RBRACKET) {
      pos++;
      if (node >= 0) this.recordEnd(node, pos);
      return pos;
    }
    for (;;) {
      pos = this.scanValue(bytes, pos, end, -1, depth + 1);
      if (pos < 0) return -1;
      pos = skipWhitespace(bytes, pos, end);
      if (pos >= end) return -1;
      const after = bytes[pos];
      if (after === COMMA) {
        pos = skipWhitespace(bytes, pos + 1, end);
        continue;
      }
      if (after !== RBRACKET) return -1;
      pos++;
      if (node >= 0) this.recordEnd(node, pos);
      return pos;
    }
  }

  /**
   * The number at path `i`, exactly as JSON.parse gives it (`-0` included, `1e400` is Infinity), or NaN
   * if `kinds[i]` is not `ValueKind.Number`.
   */
  numberAt(bytes: Uint8Array, i: number): number {
    if (this.kinds[i] !== KIND_NUMBER) return NaN;
    const end = this.ends[i];
    let p = this.starts[i];
    const negative = bytes[p] === MINUS;
    if (negative) p++;
    let mantissa = 0;
    let digits = 0;
    let fractionDigits = 0;
    let b = 0;
    for (; p < end && (b = bytes[p]) >= DIGIT_0 && b <= DIGIT_9; p++) {
      if (digits > 0 || b !== DIGIT_0) {
        mantissa = mantissa * 10 + (b - DIGIT_0);
        digits++;
      }
    }
    if (p < end && b === DOT) {
      for (p++; p < end && (b = bytes[p]) >= DIGIT_0 && b <= DIGIT_9; p++) {
        fractionDigits++;
        if (digits > 0 || b !== DIGIT_0) {
          mantissa = mantissa * 10 + (b - DIGIT_0);
          digits++;
        }
      }
    }
    let exponent = 0;
    if (p < end) {
      p++; // e or E
      const negativeExponent = bytes[p] === MINUS;
      if (negativeExponent || bytes[p] === PLUS) p++;
      for (; p < end; p++) if (exponent < 100000) exponent = exponent * 10 + (bytes[p] - DIGIT_0);
      if (negativeExponent) exponent = -exponent;
    }
    if (digits > FAST_PATH_MAX_DIGITS) return this.numberSlow(bytes, i);
    let value: number;
    const scale = exponent - fractionDigits;
    // Clinger's fast path: both operands are exact doubles, so one IEEE multiply or divide is correctly
    // rounded, which is what JSON.parse returns.
    if (mantissa === 0 || scale === 0) value = mantissa;
    else if (scale > 0 && scale <= 22) value = mantissa * EXACT_POWERS_OF_TEN[scale];
    else if (scale < 0 && scale >= -22) value = mantissa / EXACT_POWERS_OF_TEN[-scale];
    else return this.numberSlow(bytes, i);
    return negative ? -value : value;
  }

  /**
   * The string at path `i` as JSON.parse gives it (escapes, surrogate pairs and lone surrogates, ill-formed
   * UTF-8 as U+FFFD like `Buffer#toString`). Allocates: meant for use off the hot path.
   * @throws RangeError if `kinds[i]` is not `ValueKind.String`.
   */
  stringAt(bytes: Uint8Array, i: number): string {
    if (this.kinds[i] !== KIND_STRING)
      throw new RangeError(`path ${i} holds no string (kind ${this.kinds[i]}); check kinds[i] first`);
    const start = this.starts[i];
    const end = this.ends[i];
    if (this.unitScratch.length < end - start)
      this.unitScratch = new Uint16Array(Math.max(end - start, this.unitScratch.length * 2));
    const units = this.unitScratch;
    let u = 0;
    let p = start;
    while (p < end) {
      const b = bytes[p];
      if (b === BACKSLASH) {
        const e = bytes[p + 1];
        if (e === LOWER_U) {
          units[u++] = hex4(bytes, p + 2);
          p += 6;
        } else {
          units[u++] = SHORT_ESCAPE[e];
          p += 2;
        }
      } else if (b < 0x80) {
        units[u++] = b;
        p++;
      } else {
        const n = utf8SequenceLength(bytes, p, end);
        if (n === 0) {
          units[u++] = 0xfffd;
          p += utf8InvalidSubpartLength(bytes, p, end);
        } else {
          const codePoint = utf8CodePoint(bytes, p, n);
          if (codePoint >= 0x10000) {
            units[u++] = 0xd800 + ((codePoint - 0x10000) >> 10);
            units[u++] = 0xdc00 + ((codePoint - 0x10000) & 0x3ff);
          } else units[u++] = codePoint;
          p += n;
        }
      }
    }
    return stringFromUnits(units, u);
  }

  /**
   * Writes the canonical UTF-8 of the string at path `i` into `out` and returns its length; -1 if `out`
   * is too small (grow it, up to 3 bytes per raw byte, and retry), -2 if `kinds[i]` is not a string.
   * Two strings are equal per JSON.parse iff these bytes are equal (lone surrogates as 3-byte WTF-8).
   * If `escaped[i]` is 0 the raw span `bytes[starts[i], ends[i])` already holds these bytes. No allocation.
   */
  unescapeInto(bytes: Uint8Array, i: number, out: Uint8Array): number {
    if (this.kinds[i] !== KIND_STRING) return -2;
    return unescapeSpan(bytes, this.starts[i], this.ends[i], out);
  }

  /** Validates string content from `pos` (anywhere inside the string); returns the closing quote's offset or -1. */
  private scanString(bytes: Uint8Array, pos: number, end: number): number {
    // hot path: the plain-byte test is one table load.
    let flags = 0;
    while (pos < end) {
      const b = bytes[pos];
      if (STRING_SPECIAL[b] === 0) {
        pos++;
        continue;
      }
      if (b === QUOTE) {
        this.lastStringFlags = flags;
        return pos;
      }
      if (b === BACKSLASH) {
        const n = escapeLength(bytes, pos, end);
        if (n < 0) return -1;
        flags |= StringFlag.Escape;
        pos += n;
      } else if (b < 0x20) {
        return -1;
      } else {
        const n = utf8SequenceLength(bytes, pos, end);
        if (n === 0) {
          flags |= StringFlag.InvalidUtf8;
          pos++;
        } else pos += n;
      }
    }
    return -1;
  }

  /**
   * `scanKey` for the member at prediction slot `slot` of an object whose keys are wanted: first tries the
   * key that was at this position of this object last time (producers write their keys in the same order
   * every time), compared byte for byte with no trie walk; on a miss, `scanKey`, and the key (if plain
   * ASCII and short) becomes the prediction for next time. A predicted key only ever holds bytes that
   * need no validation, and its child node is what the trie gave for those bytes, so a hit decides
   * exactly what `scanKey` would.
   */
  private scanPredictedKey(bytes: Uint8Array, pos: number, end: number, root: number, slot: number): number {
    const length = this.predictedLength[slot];
    if (length >= 0) {
      const predicted = this.predictedBytes;
      const base = slot * PREDICTED_KEY_BYTES - pos;
      const stop = pos + length;
      let p = pos;
      if (stop < end) while (p < stop && bytes[p] === predicted[base + p]) p++;
      if (p === stop && stop < end && bytes[stop] === QUOTE) {
        this.lastKeyChild = this.predictedChild[slot];
        return stop;
      }
    }
    const close = this.scanKey(bytes, pos, end, root);
    if (close >= 0 && close - pos <= PREDICTED_KEY_BYTES) {
      let p = pos;
      while (p < close && STRING_SPECIAL[bytes[p]] === 0) p++;
      if (p === close) {
        this.predictedBytes.set(bytes.subarray(pos, close), slot * PREDICTED_KEY_BYTES);
        this.predictedLength[slot] = close - pos;
        this.predictedChild[slot] = this.lastKeyChild;
      }
    }
    return close;
  }

  /**
   * Like `scanString` for a member name, walking the key trie from `root` (-1: no key wanted here) on the
   * way; sets `lastKeyChild` to the node the key leads to, or -1.
   */
  private scanKey(bytes: Uint8Array, pos: number, end: number, root: number): number {
    // hot path: validation and trie walk share the loop, one table load per key byte for each; once the
    // key leaves the trie the rest is a plain string skip.
    const transition = this.transition;
    const keyStart = pos;
    let state = root;
    let flags = 0;
    while (pos < end) {
      const b = bytes[pos];
      if (STRING_SPECIAL[b] === 0) {
        if (state >= 0) state = transition[(state << 8) | b];
        pos++;
        continue;
      }
      if (b === QUOTE) break;
      if (b === BACKSLASH) {
        const n = escapeLength(bytes, pos, end);
        if (n < 0) return -1;
        flags |= StringFlag.Escape;
        pos += n;
      } else if (b < 0x20) {
        return -1; // control character
      } else {
        const n = utf8SequenceLength(bytes, pos, end);
        if (n === 0) {
          flags |= StringFlag.InvalidUtf8;
          pos++;
        } else {
          for (let k = 0; k < n && state >= 0; k++) state = transition[(state << 8) | bytes[pos + k]];
          pos += n;
        }
      }
    }
    if (pos >= end) return -1;
    if (root < 0) this.lastKeyChild = -1;
    else if (flags === 0) this.lastKeyChild = state >= 0 ? this.stateChildNode[state] : -1;
    else this.lastKeyChild = this.matchNormalizedKey(bytes, keyStart, pos, root);
    return pos;
  }

  /** Slow path for keys with escapes or ill-formed UTF-8: unescape into scratch, then walk the trie. */
  private matchNormalizedKey(bytes: Uint8Array, start: number, end: number, root: number): number {
    const length = unescapeSpan(bytes, start, end, this.keyScratch);
    if (length < 0) return -1;
    let state = root;
    for (let k = 0; k < length && state >= 0; k++) state = this.transition[(state << 8) | this.keyScratch[k]];
    return state >= 0 ? this.stateChildNode[state] : -1;
  }

  private record(node: number, kind: number, start: number, end: number, flags: number): void {
    const terminalPaths = this.terminalPaths;
    for (let t = this.nodeTerminalStart[node], last = this.nodeTerminalStart[node + 1]; t < last; t++) {
      const p = terminalPaths[t];
      this.kinds[p] = kind;
      this.starts[p] = start;
      this.ends[p] = end;
      this.escaped[p] = flags;
    }
  }

  private recordEnd(node: number, end: number): void {
    const terminalPaths = this.terminalPaths;
    for (let t = this.nodeTerminalStart[node], last = this.nodeTerminalStart[node + 1]; t < last; t++)
      this.ends[terminalPaths[t]] = end;
  }

  /** A repeated key replaces the earlier value: forget everything captured at or below it. */
  private clearSubtree(node: number): void {
    const subtreePaths = this.subtreePaths;
    for (let t = this.nodeSubtreeStart[node], last = this.nodeSubtreeStart[node + 1]; t < last; t++)
      this.kinds[subtreePaths[t]] = 0;
  }

  private numberSlow(bytes: Uint8Array, i: number): number {
    // Exponent far out of range or more than 15 significant digits: let the engine round.
    return Number(String.fromCharCode.apply(null, bytes.subarray(this.starts[i], this.ends[i]) as unknown as number[]));
  }
}

/** Lists per node -> (start offsets, length nodes + 1; flat values). */
function flatten(lists: number[][]): [Int32Array, Int32Array] {
  const offsets = new Int32Array(lists.length + 1);
  let total = 0;
  for (let n = 0; n < lists.length; n++) {
    offsets[n] = total;
    total += lists[n].length;
  }
  offsets[lists.length] = total;
  const values = new Int32Array(total);
  for (let n = 0; n < lists.length; n++) values.set(lists[n], offsets[n]);
  return [offsets, values];
}
