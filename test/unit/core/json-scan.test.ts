import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JsonFieldScanner,
  MAX_NESTING_DEPTH,
  StringFlag,
  ValueKind,
  skipWhitespace,
} from '../../../src/core/json-scan.js';
import { encodeWtf8 } from '../../../src/core/utf8.js';
import { JSON_CORPUS, nestedArrays, nestedObjects } from './json-corpus.js';

// ---- Oracle: JSON.parse on the decoded text, then a plain path walk ----

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const decode = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

function parseOrFail(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(decode(bytes)) };
  } catch {
    return { ok: false };
  }
}

function walk(root: unknown, path: ReadonlyArray<string>): { found: boolean; value: unknown } {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, key)) {
      return { found: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

function kindOf(found: boolean, value: unknown): number {
  if (!found) return ValueKind.Missing;
  if (typeof value === 'string') return ValueKind.String;
  if (typeof value === 'number') return ValueKind.Number;
  if (value === true) return ValueKind.True;
  if (value === false) return ValueKind.False;
  if (value === null) return ValueKind.Null;
  return Array.isArray(value) ? ValueKind.Array : ValueKind.Object;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Asserts that every path read by `scanner` from `bytes[start, valueEnd)` agrees with JSON.parse. */
function expectAgreesWithJsonParse(
  scanner: JsonFieldScanner,
  bytes: Uint8Array,
  start: number,
  valueEnd: number,
  paths: ReadonlyArray<ReadonlyArray<string>>,
): void {
  const parsed: unknown = JSON.parse(decode(bytes.subarray(start, valueEnd)));
  const out = new Uint8Array(3 * bytes.length + 4);
  for (let i = 0; i < paths.length; i++) {
    const { found, value } = walk(parsed, paths[i]);
    const kind = kindOf(found, value);
    expect(scanner.kinds[i], `kind of ${JSON.stringify(paths[i])}`).toBe(kind);
    if (kind === ValueKind.Number) {
      expect(
        Object.is(scanner.numberAt(bytes, i), value),
        `number at ${JSON.stringify(paths[i])}: ${scanner.numberAt(bytes, i)} vs ${String(value)}`,
      ).toBe(true);
    } else if (kind === ValueKind.String) {
      const text = value as string;
      expect(scanner.stringAt(bytes, i)).toBe(text);
      const length = scanner.unescapeInto(bytes, i, out);
      const canonical = out.slice(0, length);
      expect(canonical).toEqual(encodeWtf8(text));
      if (!LONE_SURROGATE.test(text)) expect(canonical).toEqual(utf8(text));
      expect((scanner.escaped[i] & StringFlag.Escape) !== 0).toBe(
        bytes.subarray(scanner.starts[i], scanner.ends[i]).includes(0x5c),
      );
      if (scanner.escaped[i] === 0) expect(bytes.slice(scanner.starts[i], scanner.ends[i])).toEqual(canonical);
    } else if (kind !== ValueKind.Missing) {
      expect(JSON.parse(decode(bytes.subarray(scanner.starts[i], scanner.ends[i])))).toEqual(value);
    }
  }
}

/** Every key path present in `value` (objects only, as JSON.parse + walk sees them), up to `limit`. */
function pathsIn(value: unknown, prefix: string[] = [], into: string[][] = [], limit = 24): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return into;
  for (const key of Object.keys(value)) {
    if (into.length >= limit) break;
    const path = [...prefix, key];
    into.push(path);
    pathsIn((value as Record<string, unknown>)[key], path, into, limit);
  }
  return into;
}

function scanWhole(scanner: JsonFieldScanner, bytes: Uint8Array): boolean {
  const end = scanner.scan(bytes, 0, bytes.length);
  return end >= 0 && skipWhitespace(bytes, end, bytes.length) === bytes.length;
}

// ---- Generators ----

/** A JSON document with possibly repeated keys, serialised by hand (JSON.stringify cannot repeat keys). */
type Doc =
  | { t: 'obj'; entries: Array<[string, Doc]> }
  | { t: 'arr'; items: Doc[] }
  | { t: 'lit'; v: string | number | boolean | null };

const KEYS = ['a', 'b', 'c', 'country', 'é', '😀', '\ud800', '', 'a.b', '"q"'];
const keyArb = fc.constantFrom(...KEYS);
const loneSurrogateString = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
  maxLength: 8,
});
const numberArb = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constant(-0),
  fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 1000),
);
const scalarArb: fc.Arbitrary<string | number | boolean | null> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  loneSurrogateString,
  keyArb,
  numberArb,
  fc.boolean(),
  fc.constant(null),
);
const docArb = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb.map((v): Doc => ({ t: 'lit', v })),
    fc.array(fc.tuple(keyArb, tie('doc')), { maxLength: 5 }).map((entries): Doc => ({ t: 'obj', entries })),
    fc.array(tie('doc'), { maxLength: 4 }).map((items): Doc => ({ t: 'arr', items })),
  ),
})).doc;

/** Choices that drive a randomised serialiser: whitespace and how each string character is written. */
const choicesArb = fc.array(fc.nat(), { minLength: 1, maxLength: 64 });

class Serialiser {
  private i = 0;
  constructor(private readonly choices: number[]) {}
  private next(): number {
    return this.choices[this.i++ % this.choices.length] + this.i;
  }
  ws(): string {
    const n = this.next() % 7;
    return n < 3 ? '' : ([' ', '\n', '\t', '\r', '  \n '][n - 3] ?? '');
  }
  string(text: string): string {
    let out = '"';
    for (let k = 0; k < text.length; k++) {
      const unit = text.charCodeAt(k);
      const isHigh = unit >= 0xd800 && unit <= 0xdbff;
      const pairs =
        isHigh && k + 1 < text.length && text.charCodeAt(k + 1) >= 0xdc00 && text.charCodeAt(k + 1) <= 0xdfff;
      const lone = unit >= 0xd800 && unit <= 0xdfff && !pairs;
      const mustEscape = unit < 0x20 || unit === 0x22 || unit === 0x5c || lone;
      const mode = this.next() % 4;
      if (mustEscape || mode === 0) {
        const hex = unit.toString(16).padStart(4, '0');
        out += '\\u' + (mode % 2 === 0 ? hex : hex.toUpperCase());
      } else if (pairs) {
        out += text.slice(k, k + 2);
        k++;
      } else out += text[k];
    }
    return out + '"';
  }
  doc(d: Doc): string {
    if (d.t === 'lit')
      return typeof d.v === 'string'
        ? this.string(d.v)
        : JSON.stringify(d.v) === '0' && Object.is(d.v, -0)
          ? '-0'
          : JSON.stringify(d.v);
    if (d.t === 'arr')
      return '[' + this.ws() + d.items.map((item) => this.doc(item) + this.ws()).join(',' + this.ws()) + ']';
    return (
      '{' +
      this.ws() +
      d.entries
        .map(([k, v]) => this.string(k) + this.ws() + ':' + this.ws() + this.doc(v) + this.ws())
        .join(',' + this.ws()) +
      '}'
    );
  }
}

const pathArb = fc.array(keyArb, { minLength: 0, maxLength: 3 });

// ---- Tests ----

describe('JsonFieldScanner agrees with JSON.parse on valid input', () => {
  it('reads every present path of JSON.stringify(fc.jsonValue())', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(pathArb, { maxLength: 4 }), (value, extra) => {
        // Prepare
        const bytes = utf8(JSON.stringify(value));
        const paths = [[], ...pathsIn(JSON.parse(JSON.stringify(value))), ...extra];
        const scanner = new JsonFieldScanner(paths);
        // Act
        const end = scanner.scan(bytes, 0, bytes.length);
        // Assess
        expect(end).toBe(bytes.length);
        expectAgreesWithJsonParse(scanner, bytes, 0, end, paths);
      }),
      { numRuns: 400 },
    );
  });

  it('reads fc.json() text with unicode keys and values', () => {
    fc.assert(
      fc.property(fc.json({ stringUnit: 'binary' }), (text) => {
        const bytes = utf8(text);
        const paths = [[], ...pathsIn(JSON.parse(text))];
        const scanner = new JsonFieldScanner(paths);

        const end = scanner.scan(bytes, 0, bytes.length);

        expect(end).toBe(bytes.length);
        expectAgreesWithJsonParse(scanner, bytes, 0, end, paths);
      }),
      { numRuns: 300 },
    );
  });

  it('handles repeated keys, escaped keys and whitespace from a randomised serialiser', () => {
    fc.assert(
      fc.property(docArb, choicesArb, fc.array(pathArb, { minLength: 1, maxLength: 8 }), (doc, choices, paths) => {
        const serialiser = new Serialiser(choices);
        const text = serialiser.ws() + serialiser.doc(doc) + serialiser.ws();
        const bytes = utf8(text);
        const scanner = new JsonFieldScanner(paths);

        const end = scanner.scan(bytes, 0, bytes.length);

        expect(end).toBeGreaterThan(0);
        expect(skipWhitespace(bytes, end, bytes.length)).toBe(bytes.length);
        expectAgreesWithJsonParse(scanner, bytes, 0, end, paths);
      }),
      { numRuns: 1500 },
    );
  });

  it('reads strings with lone surrogates and full unicode, as stringAt and as canonical bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(loneSurrogateString, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (text) => {
          const bytes = utf8(JSON.stringify({ s: text, [text]: 1 }));
          const paths = [['s'], [text]];
          const scanner = new JsonFieldScanner(paths);

          const end = scanner.scan(bytes, 0, bytes.length);

          expect(end).toBe(bytes.length);
          expectAgreesWithJsonParse(scanner, bytes, 0, end, paths);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives equal canonical bytes exactly for strings JSON.parse finds equal', () => {
    fc.assert(
      fc.property(choicesArb, keyArb, keyArb, (choices, left, right) => {
        const serialiser = new Serialiser(choices);
        const bytes = utf8(
          `[${serialiser.string(left)},{"x":${serialiser.string(right)},"y":${serialiser.string(left)}}]`,
        );
        const scanner = new JsonFieldScanner([['x'], ['y']]);
        const outer = scanner.scan(bytes, 0, bytes.length);
        expect(outer).toBe(bytes.length);
        const objectStart = bytes.indexOf(0x7b);
        scanner.scan(bytes, objectStart, bytes.length - 1);
        const a = new Uint8Array(64);
        const b = new Uint8Array(64);

        const lengthA = scanner.unescapeInto(bytes, 0, a);
        const lengthB = scanner.unescapeInto(bytes, 1, b);

        expect(Buffer.compare(a.subarray(0, lengthA), b.subarray(0, lengthB)) === 0).toBe(left === right);
      }),
    );
  });

  it('reads doubles, exponents and hand-written decimals exactly', () => {
    const decimalText = fc
      .tuple(
        fc.boolean(),
        fc.stringMatching(/^(0|[1-9][0-9]{0,19})$/),
        fc.option(fc.stringMatching(/^[0-9]{1,24}$/)),
        fc.option(fc.integer({ min: -400, max: 400 })),
      )
      .map(
        ([negative, int, fraction, exponent]) =>
          `${negative ? '-' : ''}${int}${fraction === null ? '' : '.' + fraction}${exponent === null ? '' : 'e' + exponent}`,
      );
    fc.assert(
      fc.property(
        fc.oneof(
          numberArb.map((n) => (Object.is(n, -0) ? '-0' : JSON.stringify(n))),
          decimalText,
        ),
        (text) => {
          const bytes = utf8(`{"n":${text}}`);
          const scanner = new JsonFieldScanner([['n']]);

          scanner.scan(bytes, 0, bytes.length);

          expect(scanner.kinds[0]).toBe(ValueKind.Number);
          expect(Object.is(scanner.numberAt(bytes, 0), JSON.parse(text)), text).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('JsonFieldScanner rejects exactly what JSON.parse rejects', () => {
  const structural = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '\\',
    'u',
    '0',
    '1',
    '-',
    '+',
    '.',
    'e',
    'E',
    ' ',
    '\n',
    'true',
    'null',
    'f',
    'a',
    '\\u00',
    'D83D',
    '\u00e9',
    '\t',
    '\u0001',
  ];
  const mutationArb = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('flip', 'insert', 'delete'),
    byte: fc.oneof(fc.constantFrom(...structural.map((s) => s.charCodeAt(0))), fc.integer({ min: 0, max: 255 })),
  });

  function mutate(bytes: Uint8Array, mutations: Array<{ at: number; kind: string; byte: number }>): Uint8Array {
    const out = Array.from(bytes);
    for (const { at, kind, byte } of mutations) {
      const i = out.length === 0 ? 0 : at % (out.length + (kind === 'insert' ? 1 : 0));
      if (kind === 'insert') out.splice(i, 0, byte);
      else if (out.length === 0) continue;
      else if (kind === 'delete') out.splice(i, 1);
      else out[i] = byte;
    }
    return Uint8Array.from(out);
  }

  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        const scanner = new JsonFieldScanner([['a']]);

        const accepted = scanWhole(scanner, bytes);

        expect(accepted).toBe(parseOrFail(bytes).ok);
      }),
      { numRuns: 2000 },
    );
  });

  it('on strings of JSON-ish tokens', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...structural), { maxLength: 16 }), (tokens) => {
        const bytes = utf8(tokens.join(''));
        const scanner = new JsonFieldScanner([['a'], ['u']]);

        const accepted = scanWhole(scanner, bytes);

        expect(accepted, tokens.join('')).toBe(parseOrFail(bytes).ok);
      }),
      { numRuns: 5000 },
    );
  });

  it('on valid JSON with bytes flipped, inserted or deleted', () => {
    fc.assert(
      fc.property(
        docArb,
        choicesArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.array(pathArb, { maxLength: 3 }),
        (doc, choices, mutations, paths) => {
          const bytes = mutate(utf8(new Serialiser(choices).doc(doc)), mutations);
          const scanner = new JsonFieldScanner(paths);

          const end = scanner.scan(bytes, 0, bytes.length);

          const oracle = parseOrFail(bytes);
          expect(end >= 0 && skipWhitespace(bytes, end, bytes.length) === bytes.length).toBe(oracle.ok);
          if (oracle.ok) expectAgreesWithJsonParse(scanner, bytes, 0, end, paths);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('JsonFieldScanner corpus', () => {
  it('has at least 60 cases with unique names', () => {
    expect(JSON_CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(JSON_CORPUS.map((c) => c.name)).size).toBe(JSON_CORPUS.length);
  });

  it.each(JSON_CORPUS.map((c) => [c.name, c] as const))('%s', (_name, corpusCase) => {
    // Prepare
    const bytes = typeof corpusCase.input === 'string' ? utf8(corpusCase.input) : Uint8Array.from(corpusCase.input);
    const paths = corpusCase.paths ?? [];
    const scanner = new JsonFieldScanner(paths);
    // Act
    const end = scanner.scan(bytes, 0, bytes.length);
    // Assess: the case's claim, JSON.parse's verdict and the scanner agree
    expect(parseOrFail(bytes).ok).toBe(corpusCase.valid);
    if (corpusCase.scanEnd !== undefined) expect(end).toBe(corpusCase.scanEnd);
    else expect(end >= 0 && skipWhitespace(bytes, end, bytes.length) === bytes.length).toBe(corpusCase.valid);
    if (end < 0) return;
    expectAgreesWithJsonParse(scanner, bytes, 0, end, paths);
    corpusCase.expected?.forEach((field, i) => {
      expect(scanner.kinds[i], `kind of path ${i}`).toBe(ValueKind[field.kind]);
      if (field.value === undefined) return;
      if (field.kind === 'String') expect(scanner.stringAt(bytes, i)).toBe(field.value);
      else if (field.kind === 'Number')
        expect(Object.is(scanner.numberAt(bytes, i), field.value), `${scanner.numberAt(bytes, i)}`).toBe(true);
      else expect(JSON.parse(decode(bytes.subarray(scanner.starts[i], scanner.ends[i])))).toEqual(field.value);
    });
  });
});

describe('JsonFieldScanner limits and API details', () => {
  it(`accepts nesting up to ${MAX_NESTING_DEPTH} and rejects deeper input that JSON.parse still accepts`, () => {
    const scanner = new JsonFieldScanner([['k', 'k', 'k']]);
    const atLimit = utf8(nestedArrays(MAX_NESTING_DEPTH));
    const beyond = utf8(nestedArrays(MAX_NESTING_DEPTH + 1));
    const objectsBeyond = utf8(nestedObjects(MAX_NESTING_DEPTH + 1, '1'));

    const atLimitEnd = scanner.scan(atLimit, 0, atLimit.length);
    const beyondEnd = scanner.scan(beyond, 0, beyond.length);
    const objectsBeyondEnd = scanner.scan(objectsBeyond, 0, objectsBeyond.length);

    expect(atLimitEnd).toBe(atLimit.length);
    expect(beyondEnd).toBe(-1);
    expect(objectsBeyondEnd).toBe(-1);
    expect(parseOrFail(beyond).ok).toBe(true); // documented difference
  });

  it('reads a path through deep objects', () => {
    const scanner = new JsonFieldScanner([
      ['k', 'k', 'k'],
      ['k', 'x'],
    ]);
    const bytes = utf8(nestedObjects(300, '{"x":[]}'));

    const end = scanner.scan(bytes, 0, bytes.length);

    expect(end).toBe(bytes.length);
    expect(scanner.kinds[0]).toBe(ValueKind.Object);
    expect(scanner.kinds[1]).toBe(ValueKind.Missing);
    expectAgreesWithJsonParse(scanner, bytes, 0, end, [
      ['k', 'k', 'k'],
      ['k', 'x'],
    ]);
  });

  it('never reads at or beyond `end`', () => {
    const scanner = new JsonFieldScanner([['a']]);
    const bytes = utf8('{"a":12}{"a":"x"}');

    const cut = scanner.scan(bytes, 0, 7);
    const number = scanner.scan(utf8('123456'), 0, 3);
    const whole = scanner.scan(bytes, 8, bytes.length);

    expect(cut).toBe(-1);
    expect(number).toBe(3);
    expect(whole).toBe(bytes.length);
    expect(scanner.stringAt(bytes, 0)).toBe('x');
  });

  it('resets every path between scans', () => {
    const scanner = new JsonFieldScanner([['a'], ['b']]);
    const first = utf8('{"a":1,"b":2}');
    const second = utf8('{"b":3}');
    scanner.scan(first, 0, first.length);

    scanner.scan(second, 0, second.length);

    expect(scanner.kinds[0]).toBe(ValueKind.Missing);
    expect(scanner.numberAt(second, 1)).toBe(3);
  });

  it('reports a too small output buffer and a non-string path', () => {
    const scanner = new JsonFieldScanner([['s'], ['n']]);
    const bytes = utf8(String.raw`{"s":"h\u00e9llo","n":1}`);
    scanner.scan(bytes, 0, bytes.length);

    const tooSmall = scanner.unescapeInto(bytes, 0, new Uint8Array(5));
    const fits = scanner.unescapeInto(bytes, 0, new Uint8Array(6));
    const notString = scanner.unescapeInto(bytes, 1, new Uint8Array(16));

    expect(tooSmall).toBe(-1);
    expect(fits).toBe(6);
    expect(notString).toBe(-2);
    expect(scanner.numberAt(bytes, 0)).toBeNaN();
    expect(() => scanner.stringAt(bytes, 1)).toThrow(RangeError);
  });

  it('flags ill-formed UTF-8 so that a zero flag always means the raw span is canonical', () => {
    const scanner = new JsonFieldScanner([['s'], ['t']]);
    const bytes = Uint8Array.from([...utf8('{"s":"a'), 0xc3, ...utf8('","t":"é"}')]);

    scanner.scan(bytes, 0, bytes.length);

    expect(scanner.escaped[0]).toBe(StringFlag.InvalidUtf8);
    expect(scanner.escaped[1]).toBe(0);
    expect(scanner.stringAt(bytes, 0)).toBe('a\ufffd');
  });
});

describe('JsonFieldScanner key prediction (one scanner over many documents)', () => {
  // The scanner predicts each member's key from the previous scan of the same object; these run one
  // scanner over sequences of documents that share keys, so predictions hit, miss and get replaced.
  const KEYS = ['a', 'ab', 'abc', 'b', 'type', 'ts', 'user', 'id', 'été', 'a"b', 'k'.repeat(40)];
  const SHARED_PATHS = [
    ['a'],
    ['ab'],
    ['abc'],
    ['type'],
    ['user', 'id'],
    ['user', 'ab'],
    ['été'],
    ['a"b'],
    ['k'.repeat(40)],
  ];
  const leafArb = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null));
  const memberArb = fc.tuple(
    fc.constantFrom(...KEYS),
    fc.oneof(leafArb, fc.dictionary(fc.constantFrom(...KEYS), leafArb, { maxKeys: 4 })),
  );
  const docsArb = fc.array(fc.array(memberArb, { maxLength: 8 }), { minLength: 2, maxLength: 12 });

  it('agrees with JSON.parse on every document of a sequence, whatever order and spelling the keys take', () => {
    fc.assert(
      fc.property(docsArb, choicesArb, (docs, choices) => {
        const serialiser = new Serialiser(choices);
        const scanner = new JsonFieldScanner(SHARED_PATHS);
        for (const members of docs) {
          // Members as written, duplicates included; the serialiser escapes some key characters.
          const text = '{' + members.map(([k, v]) => `${serialiser.string(k)}:${JSON.stringify(v)}`).join(',') + '}';
          const bytes = utf8(text);
          const end = scanner.scan(bytes, 0, bytes.length);
          expect(end).toBe(bytes.length);
          expectAgreesWithJsonParse(scanner, bytes, 0, end, SHARED_PATHS);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('does not take a predicted key for a longer key, a shorter one or the same letters with an escape after them', () => {
    const scanner = new JsonFieldScanner([['ab'], ['abc'], ['a']]);
    const docs = ['{"ab":1}', '{"abc":2}', '{"ab":3}', '{"a":4}', String.raw`{"abc":5}`, '{"ab":6}'];
    const read = docs.map((text) => {
      const bytes = utf8(text);
      expect(scanner.scan(bytes, 0, bytes.length)).toBe(bytes.length);
      return [0, 1, 2].map((p) => (scanner.kinds[p] === ValueKind.Number ? scanner.numberAt(bytes, p) : null));
    });
    expect(read).toEqual([
      [1, null, null],
      [null, 2, null],
      [3, null, null],
      [null, null, 4],
      [null, 5, null],
      [6, null, null],
    ]);
  });

  it('finds wanted keys past the members it predicts (more than 32 in one object)', () => {
    const scanner = new JsonFieldScanner([['m35'], ['m2']]);
    const object = (shift: number): Uint8Array =>
      utf8('{' + Array.from({ length: 40 }, (_, k) => `"m${(k + shift) % 40}":${k}`).join(',') + '}');
    for (const shift of [0, 0, 3]) {
      const bytes = object(shift);
      expect(scanner.scan(bytes, 0, bytes.length)).toBe(bytes.length);
      expectAgreesWithJsonParse(scanner, bytes, 0, bytes.length, [['m35'], ['m2']]);
    }
  });
});

describe('NDJSON', () => {
  it('scans several whitespace-separated values in a loop', () => {
    // Prepare
    const lines = [
      '{"country":"FR","ms":12}',
      '{"country":"DE","ms":7.5}',
      '  {"ms":1}',
      '\r\n',
      '{"country":"\\u0055S","ms":-0}',
    ];
    const bytes = utf8(lines.join('\n') + '\n');
    const scanner = new JsonFieldScanner([['country'], ['ms']]);
    const seen: Array<[string | null, number]> = [];
    // Act
    let pos = skipWhitespace(bytes, 0, bytes.length);
    while (pos < bytes.length) {
      const end = scanner.scan(bytes, pos, bytes.length);
      if (end < 0) throw new Error(`invalid value at ${pos}`);
      seen.push([
        scanner.kinds[0] === ValueKind.String ? scanner.stringAt(bytes, 0) : null,
        scanner.numberAt(bytes, 1),
      ]);
      pos = skipWhitespace(bytes, end, bytes.length);
    }
    // Assess
    expect(seen).toEqual([
      ['FR', 12],
      ['DE', 7.5],
      [null, 1],
      ['US', -0],
    ]);
    expect(Object.is(seen[3][1], -0)).toBe(true);
  });

  it('agrees with JSON.parse per line for random documents', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(docArb, choicesArb), { minLength: 1, maxLength: 6 }),
        fc.array(pathArb, { minLength: 1, maxLength: 4 }),
        (docs, paths) => {
          const texts = docs.map(([doc, choices]) => new Serialiser(choices).doc(doc));
          const bytes = utf8(texts.join('\n'));
          const scanner = new JsonFieldScanner(paths);
          let pos = 0;
          for (let k = 0; k < texts.length; k++) {
            pos = skipWhitespace(bytes, pos, bytes.length);
            const end = scanner.scan(bytes, pos, bytes.length);
            expect(end).toBeGreaterThan(pos);
            expectAgreesWithJsonParse(scanner, bytes, pos, end, paths);
            pos = end;
          }
          expect(skipWhitespace(bytes, pos, bytes.length)).toBe(bytes.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
