/**
 * DynamoDB images (typed JSON: `{ "S": ... }`, `{ "N": ... }`, nested `M`) read into the same field tables
 * the JSON scanner fills (kind, byte span of a string value), so one evaluation path serves both sources.
 */
import { ValueKind } from './json-scan.js';
import type { AttributeMap, AttributeValue } from './types.js';

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

  /** Reads every path of the config from `image` (dotted paths walk nested maps). */
  load(image: AttributeMap): void {
    this.used = 0;
    this.loaded = image;
    const paths = this.paths;
    for (let p = 0; p < paths.length; p++) {
      const keys = paths[p];
      let av: AttributeValue | undefined = image[keys[0]];
      for (let k = 1; k < keys.length && av !== undefined; k++) {
        av = 'M' in av && av.M ? av.M[keys[k]] : undefined;
      }
      this.set(p, av);
    }
  }

  private set(p: number, av: AttributeValue | undefined): void {
    this.starts[p] = 0;
    this.ends[p] = 0;
    if (av === undefined || av === null) {
      this.kinds[p] = ValueKind.Missing;
    } else if ('S' in av) {
      this.kinds[p] = ValueKind.String;
      this.putString(p, av.S);
    } else if ('N' in av) {
      this.kinds[p] = ValueKind.Number;
      this.numbers[p] = Number(av.N);
      this.putString(p, av.N);
    } else if ('BOOL' in av) {
      this.kinds[p] = av.BOOL ? ValueKind.True : ValueKind.False;
    } else if ('NULL' in av) {
      this.kinds[p] = ValueKind.Null;
    } else if ('M' in av) {
      this.kinds[p] = ValueKind.Object;
    } else if ('B' in av && typeof av.B === 'string') {
      // Lambda delivers binary attributes base64-encoded: they compare and group by that text.
      this.kinds[p] = ValueKind.String;
      this.putString(p, av.B);
    } else {
      this.kinds[p] = ValueKind.Array;
    }
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
