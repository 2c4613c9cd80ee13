/**
 * Defect 4 of issue 11: record framing as JSON.parse and NDJSON users expect. A payload that is one JSON
 * value is one event; otherwise each line is one event, and a line that is not exactly one JSON value is
 * rejected whole. The oracle is JSON.parse itself.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Aggregator } from '../../../src/core/aggregator.js';
import { compileConfig } from '../../../src/core/metric-config.js';

const config = compileConfig({ metrics: [{ name: 'all', aggregates: ['count'], windows: ['1m'] }] });
const ARRIVAL = Date.parse('2026-11-26T12:00:00.000Z');
const encoder = new TextEncoder();

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What the framing rule says, with JSON.parse as the judge of "one JSON value". */
function oracle(text: string): { events: number; counted: number } {
  if (text.trim() === '') return { events: 1, counted: 0 };
  if (parses(text)) return { events: 1, counted: 1 };
  let events = 0;
  let counted = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    events++;
    if (parses(line)) counted++;
  }
  return { events, counted };
}

function run(text: string): { events: number; counted: number; rejected: number } {
  const agg = new Aggregator(config);
  agg.begin();
  const bytes = encoder.encode(text);
  agg.ingestJson(bytes, 0, bytes.length, 0, ARRIVAL, ARRIVAL);
  let counted = 0;
  for (const cell of agg.cells()) counted += cell.count;
  return { events: agg.eventsIn, counted, rejected: agg.rejectedEvents };
}

describe('defect 4: multi-value records that JSON.parse or NDJSON would not accept', () => {
  it('a broken pretty-printed object: its later lines are not counted as events', () => {
    const text = '{\n  "a": {"type": "x"},\n  "b": [\n{"type": "y"}\n,\n{"type": "z"}\n  ]\n  "c": 1\n}';
    expect(parses(text)).toBe(false);
    const got = run(text);
    // Only `{"type": "y"}` and `{"type": "z"}` stand alone on their lines, as NDJSON would read them.
    expect(got).toEqual({ events: 9, counted: 2, rejected: 7 });
    expect(got).toEqual({ ...oracle(text), rejected: 7 });
  });

  it('values concatenated without a newline are one rejected line, not two events', () => {
    expect(run('{"a":1}{"b":2}')).toEqual({ events: 1, counted: 0, rejected: 1 });
    expect(run('{"a":1} {"b":2}\n{"c":3}')).toEqual({ events: 2, counted: 1, rejected: 1 });
  });

  it('a line with trailing garbage is rejected whole, its first value not counted', () => {
    expect(run('{"a":1} garbage')).toEqual({ events: 1, counted: 0, rejected: 1 });
    expect(run('{"a":1}\n{"b":2},\n{"c":3}')).toEqual({ events: 3, counted: 2, rejected: 1 });
  });

  it('a pretty-printed object is one event; NDJSON with blank lines and CRLF is one event per line', () => {
    expect(run('{\n  "a": 1,\n  "b": [1, 2]\n}\n')).toEqual({ events: 1, counted: 1, rejected: 0 });
    expect(run('{"a":1}\r\n\r\n{"b":2}\r\n  \n{"c":3}')).toEqual({ events: 3, counted: 3, rejected: 0 });
  });

  it('agrees with JSON.parse + NDJSON on generated payloads of good, broken and glued values', () => {
    const piece = fc.oneof(
      fc.constantFrom('{"a":1}', '[1,2]', '"s"', '3', 'true', 'null', '{"k":{"n":[1,{"x":"y"}]}}'),
      fc.constantFrom('{', '}', '[', ']', ',', ':', '"a":1', 'garbage', '{"a":', '1}', '"unterminated'),
      fc.constantFrom('\n', '\n', ' ', '\r\n', '\t'),
      fc.json({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        const want = oracle(text);
        const got = run(text);
        expect({ events: got.events, counted: got.counted }).toEqual(want);
        expect(got.counted + got.rejected).toBe(got.events);
      }),
      { numRuns: 400 },
    );
  });
});
