/**
 * DynamoDB images (typed JSON: `{ "S": ... }`, `{ "N": ... }`, nested `M`) read into the same field tables
 * the JSON scanner fills (kind, byte span of a string value), so one evaluation path serves both sources.
 */
import { ValueKind } from './json-scan.js';
import type { AttributeMap } from './types.js';

const INITIAL_BYTES = 1 << 12;

export class ImageFields {
  readonly kinds: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Always 0: image strings are stored unescaped. */
  readonly escaped: Uint8Array;
  /** The value of numeric fields (N is a decimal string). */
  readonly numbers: Float64Array;
  /** UTF-8 of the string values of the last image loaded; replaced when it has to grow. */
  bytes = new Uint8Array(INITIAL_BYTES);
  private used = 0;
  /** The image last loaded (compared by identity, to skip reloading it). */
  loaded: AttributeMap | undefined;
  private readonly paths: ReadonlyArray<ReadonlyArray<string>>;
  private readonly encoder = new TextEncoder();

  constructor(paths: ReadonlyArray<ReadonlyArray<string>>) {
    this.paths = paths;
    const n = Math.max(1, paths.length);
    this.kinds = new Uint8Array(n);
    this.starts = new Int32Array(n);
    this.ends = new Int32Array(n);
    this.escaped = new Uint8Array(n);
    this.numbers = new Float64Array(n);
  }

  /**
   * Why the last `load()` returned false: the path and what was wrong with its value. Only the attributes
   * a metric reads are checked; the rest of the image is never looked at.
   */
  errorDetail = '';

  /**
   * Reads every path of the config from `image` (dotted paths walk nested maps). Returns false, with
   * `errorDetail` set, when a value on a path is not DynamoDB typed JSON (`{ "S": "x" }`, `{ "N": "1" }`,
   * ...): a producer wrote something that is not a change record, and the caller rejects it.
   */
  load(image: AttributeMap): boolean {
    this.used = 0;
    this.loaded = image;
    const paths = this.paths;
    for (let p = 0; p < paths.length; p++) {
      const keys = paths[p];
      let av: unknown = image[keys[0]];
      for (let k = 1; k < keys.length && av !== undefined; k++) {
        if (!isTyped(av)) return this.fail(p, k, av);
        const m = (av as { M?: unknown }).M;
        if (m === undefined) {
          av = undefined; // a scalar where the path goes on: the field is missing, as in JSON
          break;
        }
        if (typeof m !== 'object' || m === null || Array.isArray(m)) return this.fail(p, k, av);
        av = (m as Record<string, unknown>)[keys[k]];
      }
      if (av !== undefined && !this.set(p, av)) return this.fail(p, keys.length, av);
    }
    return true;
  }

  private fail(p: number, depth: number, av: unknown): false {
    let shown: string;
    try {
      shown = JSON.stringify(av) ?? String(av);
    } catch {
      shown = String(av);
    }
    if (shown.length > 80) shown = shown.slice(0, 80) + '...';
    this.errorDetail = `${this.paths[p].slice(0, depth).join('.')} is not a DynamoDB attribute value (typed JSON such as {"S":"x"}): ${shown}`;
    return false;
  }

  /** @returns false when `av` is not a well-formed attribute value. */
  private set(p: number, av: unknown): boolean {
    this.starts[p] = 0;
    this.ends[p] = 0;
    if (av === undefined) {
      this.kinds[p] = ValueKind.Missing;
      return true;
    }
    if (!isTyped(av)) return false;
    const v = av as Record<string, unknown>;
    if (v.S !== undefined) {
      if (typeof v.S !== 'string') return false;
      this.kinds[p] = ValueKind.String;
      this.putString(p, v.S);
    } else if (v.N !== undefined) {
      if (typeof v.N !== 'string') return false;
      const n = Number(v.N);
      // DynamoDB numbers are finite decimals; `Number('')` is 0, so the empty string is refused too.
      if (!Number.isFinite(n) || v.N.trim() === '') return false;
      this.kinds[p] = ValueKind.Number;
      this.numbers[p] = n;
      this.putString(p, v.N);
    } else if (v.BOOL !== undefined) {
      if (typeof v.BOOL !== 'boolean') return false;
      this.kinds[p] = v.BOOL ? ValueKind.True : ValueKind.False;
    } else if (v.NULL !== undefined) {
      if (v.NULL !== true) return false;
      this.kinds[p] = ValueKind.Null;
    } else if (v.M !== undefined) {
      if (typeof v.M !== 'object' || v.M === null || Array.isArray(v.M)) return false;
      this.kinds[p] = ValueKind.Object;
    } else if (v.B !== undefined) {
      if (typeof v.B === 'string') {
        // Lambda delivers binary attributes base64-encoded: they compare and group by that text.
        this.kinds[p] = ValueKind.String;
        this.putString(p, v.B);
      } else if (v.B instanceof Uint8Array) this.kinds[p] = ValueKind.Array;
      else return false;
    } else if (Array.isArray(v.L) || Array.isArray(v.SS) || Array.isArray(v.NS) || Array.isArray(v.BS)) {
      this.kinds[p] = ValueKind.Array;
    } else return false;
    return true;
  }

  private putString(p: number, text: string): void {
    const needed = this.used + text.length * 3;
    if (needed > this.bytes.length) {
      let capacity = this.bytes.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const written = this.encoder.encodeInto(text, this.bytes.subarray(this.used)).written;
    this.starts[p] = this.used;
    this.ends[p] = this.used + written;
    this.used += written;
  }
}

/** An attribute value is an object with exactly one type key (`S`, `N`, `M`, ...). */
function isTyped(av: unknown): boolean {
  if (typeof av !== 'object' || av === null || Array.isArray(av)) return false;
  let keys = 0;
  for (const key in av) if (Object.prototype.hasOwnProperty.call(av, key)) keys++;
  return keys === 1;
}
