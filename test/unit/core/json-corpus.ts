/**
 * Nasty JSON inputs for the byte-level scanner. Each case says whether JSON.parse accepts the whole input
 * (after `Buffer#toString('utf8')`); the test also checks that claim against JSON.parse itself, so a
 * wrong expectation here fails loudly instead of hiding a scanner bug.
 */

export type KindName = 'Missing' | 'String' | 'Number' | 'True' | 'False' | 'Null' | 'Object' | 'Array';

export interface ExpectedField {
  kind: KindName;
  /** Strings: compared with ===; numbers: with Object.is; objects and arrays: deep-equal to JSON.parse of the span. */
  value?: unknown;
}

export interface JsonCorpusCase {
  name: string;
  /** Text (encoded as UTF-8), or raw bytes for ill-formed UTF-8. */
  input: string | ReadonlyArray<number>;
  /** JSON.parse accepts the whole input. */
  valid: boolean;
  /** Where scan stops when the input is a valid value followed by garbage. */
  scanEnd?: number;
  paths?: ReadonlyArray<ReadonlyArray<string>>;
  /** Per path, in order. */
  expected?: ReadonlyArray<ExpectedField>;
}

const bytesOf = (text: string): number[] => Array.from(new TextEncoder().encode(text));
const missing: ExpectedField = { kind: 'Missing' };
const str = (value: string): ExpectedField => ({ kind: 'String', value });
const num = (value: number): ExpectedField => ({ kind: 'Number', value });

const numberCase = (text: string, value: number): JsonCorpusCase => ({
  name: `number ${text}`,
  input: `{"v":${text}}`,
  valid: true,
  paths: [['v']],
  expected: [num(value)],
});
const invalid = (name: string, input: string | number[]): JsonCorpusCase => ({ name, input, valid: false });

export const JSON_CORPUS: ReadonlyArray<JsonCorpusCase> = [
  // Strings and escapes
  { name: 'plain field', input: '{"country":"FR"}', valid: true, paths: [['country']], expected: [str('FR')] },
  {
    name: 'escaped key equals wanted key',
    input: String.raw`{"\u0063ountry":"FR"}`,
    valid: true,
    paths: [['country']],
    expected: [str('FR')],
  },
  {
    name: 'upper-case hex in key escape',
    input: String.raw`{"COUNTR\u0059":1}`,
    valid: true,
    paths: [['COUNTRY']],
    expected: [num(1)],
  },
  { name: 'escaped solidus in key', input: String.raw`{"a\/b":1}`, valid: true, paths: [['a/b']], expected: [num(1)] },
  {
    name: 'escaped quote in key',
    input: String.raw`{"a\"b":true}`,
    valid: true,
    paths: [['a"b']],
    expected: [{ kind: 'True' }],
  },
  {
    name: 'every short escape',
    input: String.raw`{"s":"\"\\\/\b\f\n\r\t"}`,
    valid: true,
    paths: [['s']],
    expected: [str('"\\/\b\f\n\r\t')],
  },
  {
    name: 'escaped NUL',
    input: String.raw`{"s":"a\u0000b"}`,
    valid: true,
    paths: [['s']],
    expected: [str('a\u0000b')],
  },
  {
    name: 'surrogate pair escape',
    input: String.raw`{"s":"\ud83d\ude00"}`,
    valid: true,
    paths: [['s']],
    expected: [str('😀')],
  },
  {
    name: 'surrogate pair escape, upper case',
    input: String.raw`{"s":"x\uD83D\uDE00y"}`,
    valid: true,
    paths: [['s']],
    expected: [str('x😀y')],
  },
  {
    name: 'lone high surrogate',
    input: String.raw`{"s":"\ud800"}`,
    valid: true,
    paths: [['s']],
    expected: [str('\ud800')],
  },
  {
    name: 'lone low surrogate',
    input: String.raw`{"s":"\udc00x"}`,
    valid: true,
    paths: [['s']],
    expected: [str('\udc00x')],
  },
  {
    name: 'reversed surrogates',
    input: String.raw`{"s":"\ude00\ud83d"}`,
    valid: true,
    paths: [['s']],
    expected: [str('\ude00\ud83d')],
  },
  {
    name: 'high surrogate then BMP escape',
    input: String.raw`{"s":"\ud83d\u0041"}`,
    valid: true,
    paths: [['s']],
    expected: [str('\ud83dA')],
  },
  {
    name: 'two highs then a low',
    input: String.raw`{"s":"\ud83d\ud83d\ude00"}`,
    valid: true,
    paths: [['s']],
    expected: [str('\ud83d😀')],
  },
  {
    name: 'lone surrogate key',
    input: String.raw`{"\ud800":1}`,
    valid: true,
    paths: [['\ud800'], ['\ufffd']],
    expected: [num(1), missing],
  },
  { name: 'raw UTF-8 key', input: '{"é":1}', valid: true, paths: [['é']], expected: [num(1)] },
  { name: 'escaped non-ASCII key', input: String.raw`{"\u00e9":2}`, valid: true, paths: [['é']], expected: [num(2)] },
  {
    name: 'raw and escaped emoji keys are duplicates',
    input: String.raw`{"😀":1,"\ud83d\ude00":2}`,
    valid: true,
    paths: [['😀']],
    expected: [num(2)],
  },
  { name: 'raw DEL in string', input: '{"s":"a\u007fb"}', valid: true, paths: [['s']], expected: [str('a\u007fb')] },
  { name: 'raw emoji and CJK', input: '{"s":"日本😀"}', valid: true, paths: [['s']], expected: [str('日本😀')] },
  { name: 'empty string key', input: '{"":1,"a":2}', valid: true, paths: [[''], ['a']], expected: [num(1), num(2)] },
  {
    name: '__proto__ key',
    input: '{"__proto__":{"x":1}}',
    valid: true,
    paths: [['__proto__', 'x']],
    expected: [num(1)],
  },
  { name: 'invalid escape', input: String.raw`{"s":"\x"}`, valid: false },
  { name: 'short \\u escape', input: String.raw`{"s":"\u12"}`, valid: false },
  { name: 'non-hex \\u escape', input: String.raw`{"s":"\u12G4"}`, valid: false },
  { name: 'invalid escape in key', input: String.raw`{"\a":1}`, valid: false },
  { name: 'escaped non-ASCII', input: '{"s":"\\é"}', valid: false },
  invalid('raw tab in string', '{"s":"a\tb"}'),
  invalid('raw newline in key', '{"a\nb":1}'),
  invalid('raw NUL in string', [0x22, 0x00, 0x22]),
  invalid('unterminated string', '{"s":"abc'),
  invalid('backslash at end', '"abc\\'),
  invalid('single quotes', "{'a':1}"),
  // Ill-formed UTF-8: accepted inside strings (JSON.parse sees U+FFFD), rejected outside
  { name: 'invalid byte in string', input: [0x22, 0xff, 0x22], valid: true, paths: [[]], expected: [str('\ufffd')] },
  {
    name: 'truncated 3-byte sequence',
    input: [0x22, 0xe2, 0x82, 0x22],
    valid: true,
    paths: [[]],
    expected: [str('\ufffd')],
  },
  {
    name: 'UTF-8 encoded surrogate',
    input: [0x22, 0xed, 0xa0, 0x80, 0x22],
    valid: true,
    paths: [[]],
    expected: [str('\ufffd\ufffd\ufffd')],
  },
  {
    name: 'overlong slash',
    input: [0x22, 0xc0, 0xaf, 0x22],
    valid: true,
    paths: [[]],
    expected: [str('\ufffd\ufffd')],
  },
  {
    name: 'above U+10FFFF',
    input: [0x22, 0xf4, 0x90, 0x80, 0x80, 0x41, 0x22],
    valid: true,
    paths: [[]],
    expected: [str('\ufffd\ufffd\ufffd\ufffdA')],
  },
  {
    name: 'truncated 4-byte then quote-free text',
    input: [0x22, 0xf0, 0x9f, 0x98, 0x41, 0x22],
    valid: true,
    paths: [[]],
    expected: [str('\ufffdA')],
  },
  {
    name: 'key with invalid byte matches U+FFFD',
    input: [...bytesOf('{"'), 0xff, ...bytesOf('":1}')],
    valid: true,
    paths: [['\ufffd']],
    expected: [num(1)],
  },
  invalid('invalid byte outside strings', [0x5b, 0xff, 0x5d]),
  invalid('byte order mark', [0xef, 0xbb, 0xbf, ...bytesOf('{}')]),
  invalid('no-break space as whitespace', '{\u00a0"a":1}'),
  invalid('vertical tab as whitespace', '[\u000b1]'),
  invalid('form feed as whitespace', '[\f1]'),
  // Numbers
  numberCase('1e400', Infinity),
  numberCase('-1e400', -Infinity),
  numberCase('1E-400', 0),
  numberCase('-1E-400', -0),
  numberCase('-0', -0),
  numberCase('-0.0', -0),
  numberCase('0e+5', 0),
  numberCase('12345678901234567890', 12345678901234567000), // nearest double
  numberCase('9007199254740993', 9007199254740992),
  numberCase('0.1', 0.1),
  numberCase('0.30000000000000004', 0.30000000000000004),
  numberCase('123456789012345.6', 123456789012345.6),
  numberCase('999999999999999', 999999999999999),
  numberCase('5e-324', 5e-324),
  numberCase('2.4703282292062328e-324', 5e-324),
  numberCase('2.4703282292062327e-324', 0),
  numberCase('1.7976931348623157e308', 1.7976931348623157e308),
  numberCase('1.7976931348623159e308', Infinity),
  numberCase('1e22', 1e22),
  numberCase('1e23', 1e23),
  numberCase('0.000001234', 0.000001234),
  numberCase('1.5e3', 1500),
  numberCase('1.5E-3', 0.0015),
  numberCase('100', 100),
  numberCase('1e0000000000000000000001', 10),
  numberCase('0.0000000000000000000000001', 1e-25),
  invalid('leading zero', '01'),
  invalid('negative leading zero', '-01.5'),
  invalid('plus sign', '+1'),
  invalid('leading dot', '.5'),
  invalid('trailing dot', '1.'),
  invalid('dot before exponent', '1.e5'),
  invalid('bare minus', '-'),
  invalid('bare exponent', '1e'),
  invalid('exponent sign only', '1e+'),
  invalid('double minus', '--1'),
  invalid('hex number', '0x10'),
  invalid('Infinity', 'Infinity'),
  invalid('NaN', 'NaN'),
  // Literals and top level
  { name: 'top-level true', input: 'true', valid: true, paths: [[], ['a']], expected: [{ kind: 'True' }, missing] },
  { name: 'top-level false', input: ' false ', valid: true, paths: [[]], expected: [{ kind: 'False' }] },
  { name: 'top-level null', input: 'null', valid: true, paths: [[]], expected: [{ kind: 'Null' }] },
  {
    name: 'top-level string',
    input: '"country"',
    valid: true,
    paths: [[], ['country']],
    expected: [str('country'), missing],
  },
  invalid('truncated literal', 'tru'),
  invalid('capitalised literal', 'True'),
  invalid('literal with extra letter', '[nulll]'),
  invalid('empty input', ''),
  invalid('whitespace only', ' \n\t\r '),
  // Structure
  {
    name: 'empty object',
    input: '{}',
    valid: true,
    paths: [[], ['a']],
    expected: [{ kind: 'Object', value: {} }, missing],
  },
  {
    name: 'empty array',
    input: '[ ]',
    valid: true,
    paths: [[], ['0']],
    expected: [{ kind: 'Array', value: [] }, missing],
  },
  {
    name: 'empty containers as values',
    input: '{"a":{},"b":[]}',
    valid: true,
    paths: [['a'], ['a', 'x'], ['b']],
    expected: [{ kind: 'Object', value: {} }, missing, { kind: 'Array', value: [] }],
  },
  {
    name: 'nested arrays of objects are not walked',
    input: '{"items":[{"a":1},{"a":2}],"a":3}',
    valid: true,
    paths: [['items'], ['items', 'a'], ['a']],
    expected: [{ kind: 'Array', value: [{ a: 1 }, { a: 2 }] }, missing, num(3)],
  },
  {
    name: 'wanted key inside a top-level array',
    input: '[{"country":"FR"}]',
    valid: true,
    paths: [['country']],
    expected: [missing],
  },
  {
    name: 'wanted key one level too deep',
    input: '{"x":{"country":"FR"}}',
    valid: true,
    paths: [['country']],
    expected: [missing],
  },
  { name: 'path through a scalar', input: '{"a":"b"}', valid: true, paths: [['a', 'b']], expected: [missing] },
  {
    name: 'array span',
    input: '{"a":[1,[2,{"b":3}]],"c":0}',
    valid: true,
    paths: [['a'], ['a', 'b']],
    expected: [{ kind: 'Array', value: [1, [2, { b: 3 }]] }, missing],
  },
  {
    name: 'prefixes of a wanted key',
    input: '{"countr":1,"countryX":2}',
    valid: true,
    paths: [['country']],
    expected: [missing],
  },
  {
    name: 'keys that are prefixes of each other',
    input: '{"ab":1,"a":{"b":2}}',
    valid: true,
    paths: [['a'], ['ab'], ['a', 'b']],
    expected: [{ kind: 'Object', value: { b: 2 } }, num(1), num(2)],
  },
  { name: 'same path twice', input: '{"a":7}', valid: true, paths: [['a'], ['a']], expected: [num(7), num(7)] },
  {
    name: 'escaped key one level down',
    input: String.raw`{"a":{"\u0062":1}}`,
    valid: true,
    paths: [['a', 'b']],
    expected: [num(1)],
  },
  // Duplicate keys: the last occurrence wins, at every level
  { name: 'duplicate scalar', input: '{"a":1,"a":2}', valid: true, paths: [['a']], expected: [num(2)] },
  {
    name: 'object replaced by scalar',
    input: '{"a":{"b":1},"a":5}',
    valid: true,
    paths: [['a'], ['a', 'b']],
    expected: [num(5), missing],
  },
  {
    name: 'scalar replaced by object',
    input: '{"a":5,"a":{"b":1}}',
    valid: true,
    paths: [['a', 'b']],
    expected: [num(1)],
  },
  {
    name: 'object replaced by object without the field',
    input: '{"a":{"b":1},"a":{"c":2}}',
    valid: true,
    paths: [
      ['a', 'b'],
      ['a', 'c'],
    ],
    expected: [missing, num(2)],
  },
  {
    name: 'nested duplicate',
    input: '{"a":{"b":1,"b":{"c":3}},"x":1}',
    valid: true,
    paths: [
      ['a', 'b', 'c'],
      ['a', 'b'],
    ],
    expected: [num(3), { kind: 'Object', value: { c: 3 } }],
  },
  {
    name: 'duplicates at several levels',
    input: '{"a":{"b":{"c":1}},"a":{"b":{"d":2},"b":{"c":3}}}',
    valid: true,
    paths: [
      ['a', 'b', 'c'],
      ['a', 'b', 'd'],
    ],
    expected: [num(3), missing],
  },
  {
    name: 'duplicate replaced by array',
    input: '{"a":{"b":1},"a":[{"b":2}]}',
    valid: true,
    paths: [['a', 'b']],
    expected: [missing],
  },
  {
    name: 'escaped duplicate wins',
    input: String.raw`{"country":"FR","\u0063ountry":"DE"}`,
    valid: true,
    paths: [['country']],
    expected: [str('DE')],
  },
  // Whitespace
  {
    name: 'whitespace everywhere',
    input: ' \t\n\r{ \n"a" \r: \t[ 1 , 2 ] , "b" : { "c" : null } } \n',
    valid: true,
    paths: [['a'], ['b', 'c']],
    expected: [{ kind: 'Array', value: [1, 2] }, { kind: 'Null' }],
  },
  // Trailing garbage: scan stops after the value; the whole input is not JSON
  { name: 'garbage after object', input: '{"a":1}x', valid: false, scanEnd: 7, paths: [['a']], expected: [num(1)] },
  { name: 'second value', input: '1 2', valid: false, scanEnd: 1 },
  { name: 'extra close brace', input: '{"a":1}}', valid: false, scanEnd: 7 },
  { name: 'extra close bracket', input: '[1]]', valid: false, scanEnd: 3 },
  { name: 'two strings', input: '"a""b"', valid: false, scanEnd: 3 },
  { name: 'number then letter', input: '12abc', valid: false, scanEnd: 2 },
  // Broken structure
  invalid('trailing comma in object', '{"a":1,}'),
  invalid('trailing comma in array', '[1,]'),
  invalid('leading comma', '[,1]'),
  invalid('double comma', '[1,,2]'),
  invalid('missing comma', '[1 2]'),
  invalid('missing colon', '{"a" 1}'),
  invalid('missing value', '{"a":}'),
  invalid('non-string key', '{1:2}'),
  invalid('unclosed nesting', '[[[]]'),
  invalid('mismatched brackets', '[}'),
  invalid('close without open', ']'),
  invalid('colon in array', '[1:2]'),
];

/** Deep nesting, generated: `depth` arrays around `1`. */
export function nestedArrays(depth: number): string {
  return '['.repeat(depth) + '1' + ']'.repeat(depth);
}

/** Deep nesting of objects `{"k":{"k":...}}` with `leaf` at the bottom. */
export function nestedObjects(depth: number, leaf: string): string {
  return '{"k":'.repeat(depth) + leaf + '}'.repeat(depth);
}
