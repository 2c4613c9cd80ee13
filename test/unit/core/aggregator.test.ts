/**
 * The aggregation core: config validation, agreement with the reference model (conservation), order
 * independence within a batch, the group cap, NDJSON and rejects.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Aggregator, type CellDelta } from '../../../src/core/aggregator.js';
import { ConfigError } from '../../../src/core/errors.js';
import { compileConfig } from '../../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../../src/core/types.js';
import { referenceCounters, type ModelEvent } from '../../helpers/reference-model.js';
import { KinesisRecordDecoder } from '../../../src/sources/index.js';
import { kinesisRecord } from '../../helpers/kinesis-batch.js';

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      filter: [{ field: 'type', equals: 'page_view' }],
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country', 'page'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'min', 'max', 'p95'],
      windows: ['1m', '5m'],
    },
    {
      name: 'users',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['user.plan'],
      distinctField: 'user.id',
      aggregates: ['count', 'distinct'],
      windows: ['1m'],
    },
    {
      name: 'sales',
      filter: [
        { field: 'type', in: ['purchase', 'refund'] },
        { field: 'amount', exists: true },
      ],
      dimensions: ['country'],
      value: 'amount',
      aggregates: ['count', 'sum', 'max', 'min'],
      windows: ['1m'],
    },
  ],
};
const BASE = Date.parse('2026-11-26T12:00:00.000Z');
const encoder = new TextEncoder();

function run(agg: Aggregator, events: ReadonlyArray<{ text: string; arrivalMs: number }>): CellDelta[] {
  agg.begin();
  for (let i = 0; i < events.length; i++) {
    const bytes = encoder.encode(events[i].text);
    agg.ingestJson(bytes, 0, bytes.length, i, events[i].arrivalMs, events[i].arrivalMs);
  }
  return agg.cells();
}

function summary(cells: CellDelta[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of cells) {
    out.set(
      `${c.metric.name}#${c.dimensionValues.join('|')}#${c.window.label}#${c.windowStartMs}`,
      JSON.stringify([
        c.count,
        c.sum,
        c.min,
        c.max,
        c.hll ? Array.from(c.hll.copyRegisters()).join(',') : null,
        c.sketch ? Array.from(c.sketch.serialize()).join(',') : null,
      ]),
    );
  }
  return out;
}

const eventArb = fc.record({
  type: fc.constantFrom('page_view', 'purchase', 'refund', 'click'),
  offsetMs: fc.integer({ min: -400_000, max: 90_000 }),
  country: fc.constantFrom('DE', 'US', 'Z\u00fcrich', 'a"b', 'x#y|z', null),
  page: fc.option(fc.constantFrom('/', '/pricing', '/caf\u00e9'), { nil: undefined }),
  latencyMs: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant('slow')),
  amount: fc.option(
    fc.integer({ min: 1, max: 500 }).map((n) => n + 0.25),
    { nil: undefined },
  ),
  user: fc.record({ id: fc.integer({ min: 0, max: 40 }).map((n) => `u-${n}`), plan: fc.constantFrom('free', 'pro') }),
});

function toEvents(raw: ReadonlyArray<{ offsetMs: number } & Record<string, unknown>>): {
  texts: Array<{ text: string; arrivalMs: number }>;
  model: ModelEvent[];
} {
  const texts: Array<{ text: string; arrivalMs: number }> = [];
  const model: ModelEvent[] = [];
  raw.forEach((r, i) => {
    const arrivalMs = BASE + i * 1000;
    const { offsetMs, ...rest } = r;
    const event = { ...rest, ts: new Date(arrivalMs + offsetMs).toISOString() };
    texts.push({ text: JSON.stringify(event), arrivalMs });
    model.push({ event, arrivalMs });
  });
  return { texts, model };
}

describe('metric definitions', () => {
  it('a bad config throws one ConfigError listing every problem with its path', () => {
    let error: unknown;
    try {
      compileConfig({
        metrics: [
          { name: '1bad', aggregates: ['count', 'median'], windows: ['1m', 'soon'], filter: [{ field: 'x' }] },
          {
            name: 'ok',
            aggregates: ['sum'],
            windows: ['1m'],
            dimensions: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'],
          },
        ],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'metrics[0].name',
        'metrics[0].aggregates[1]',
        'metrics[0].windows[1]',
        'metrics[0].filter[0]',
        'metrics[1].value',
        'metrics[1].dimensions',
      ]),
    );
    expect((error as Error).message).toContain('metrics[0].windows[1]: must be a duration');
  });

  it('compiles windows finest first with labels, TTLs and shared field paths', () => {
    const compiled = compileConfig({
      metrics: [
        { name: 'a', aggregates: ['count'], windows: ['1h', '60s'], dimensions: ['x.y'], retention: { '1h': '30d' } },
        { name: 'b', aggregates: ['count'], windows: ['1m'], dimensions: ['x.y'] },
      ],
    });
    expect(compiled.metrics[0].windows.map((w) => w.label)).toEqual(['1m', '1h']);
    expect(compiled.metrics[0].windows[1].ttlSeconds).toBe(30 * 86_400);
    expect(compiled.paths).toEqual([['x', 'y']]);
  });
});

describe('Aggregator', () => {
  it('agrees with the reference model on random batches (conservation: deltas sum to the counted inputs)', () => {
    const agg = new Aggregator(compileConfig(CONFIG));
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 120 }), (raw) => {
        const { texts, model } = toEvents(raw);
        const cells = run(agg, texts);
        const expected = referenceCounters(CONFIG, model);
        const actual = new Map(
          cells.map((c) => [
            `${c.metric.name}#${c.dimensionValues.map((v) => v.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\|/g, '%7C')).join('|')}\u0000${c.window.label}#${new Date(c.windowStartMs).toISOString()}`,
            c,
          ]),
        );
        expect(actual.size).toBe(expected.size);
        for (const want of expected.values()) {
          const got = actual.get(`${want.pk}\u0000${want.sk}`);
          expect(got, `${want.pk} ${want.sk}`).toBeDefined();
          expect([got!.count, got!.metric.needsValue ? got!.sum : 0]).toEqual([want.count, want.sum]);
          if (got!.metric.needsValue) expect([got!.min, got!.max]).toEqual([want.min, want.max]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('order within a batch does not matter (counts, sums, min/max, HLL registers, sketch bins)', () => {
    const agg = new Aggregator(compileConfig(CONFIG));
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 2, maxLength: 80 }), fc.integer(), (raw, seed) => {
        const { texts } = toEvents(raw);
        const before = summary(run(agg, texts));
        const shuffled = [...texts];
        let s = seed >>> 0;
        for (let i = shuffled.length - 1; i > 0; i--) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          const j = s % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        expect(summary(run(agg, shuffled))).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });

  it('folds groups beyond maxGroupsPerWindow into __other__ and counts them', () => {
    const agg = new Aggregator(
      compileConfig({
        metrics: [{ name: 'm', dimensions: ['k'], aggregates: ['count'], windows: ['1m'], maxGroupsPerWindow: 3 }],
      }),
    );
    const events = Array.from({ length: 10 }, (_, i) => ({ text: JSON.stringify({ k: `v${i}` }), arrivalMs: BASE }));
    const cells = run(agg, events);
    expect(cells.map((c) => c.dimensionValues[0]).sort()).toEqual(['__other__', 'v0', 'v1', 'v2']);
    expect(cells.reduce((n, c) => n + c.count, 0)).toBe(10);
    expect(agg.folded(0)).toBe(7);
    expect(agg.statistics()[0].counts.folded).toBe(7);
  });

  it('a folded group stays folded for its later events, sketches included', () => {
    const agg = new Aggregator(
      compileConfig({
        metrics: [
          {
            name: 'm',
            dimensions: ['c'],
            value: 'v',
            distinctField: 'u',
            aggregates: ['count', 'p95', 'distinct'],
            windows: ['1m', '5m'],
            maxGroupsPerWindow: 1,
          },
        ],
      }),
    );
    const events = ['a', 'b', 'b', 'b'].map((c, i) => ({
      text: JSON.stringify({ c, v: i + 1, u: `u${i}` }),
      arrivalMs: BASE,
    }));
    const cells = run(agg, events);
    const byGroup = Object.fromEntries(
      cells.filter((c) => c.window.label === '1m').map((c) => [c.dimensionValues[0], c.count]),
    );
    expect(byGroup).toEqual({ a: 1, __other__: 3 });
    const other = cells.find((c) => c.window.label === '5m' && c.dimensionValues[0] === '__other__')!;
    expect([other.count, other.min, other.max, Math.round(other.hll!.estimate())]).toEqual([3, 2, 4, 3]);
    expect(agg.folded(0)).toBe(6);
  });

  it('undecodable records are counted in the __all__ bucket of their own arrival minute, whatever came before', () => {
    const agg = new Aggregator(compileConfig({ metrics: [{ name: 'm', aggregates: ['count'], windows: ['1m'] }] }));
    const decoder = new KinesisRecordDecoder({ maxDecompressedBytes: 1 << 20 });
    const bad = kinesisRecord('shardId-000000000000', '1', 'x', BASE + 125_000);
    bad.kinesis.data = '@@@';
    agg.begin();
    decoder.decode([kinesisRecord('shardId-000000000000', '0', '{}', BASE + 600_000)], agg);
    agg.begin();
    decoder.decode([bad], agg);
    expect(agg.statistics().map((s) => [s.metricName, s.windowStartMs, s.counts])).toEqual([
      ['__all__', BASE + 120_000, { undecodable: 1 }],
    ]);
  });

  it('NDJSON: a bad line is rejected with its record, the other lines are counted', () => {
    const agg = new Aggregator(compileConfig({ metrics: [{ name: 'm', aggregates: ['count'], windows: ['1m'] }] }));
    const bytes = encoder.encode('{"a":1}\n{"a":\n{"a":3}\n');
    agg.begin();
    agg.ingestJson(bytes, 0, bytes.length, 7, BASE, BASE);
    expect(agg.cells()[0].count).toBe(2);
    expect(agg.rejected().map((r) => [r.recordIndex, r.reasonName])).toEqual([[7, 'invalid_json']]);
  });

  it('too late, too early and invalid values are rejected per metric and counted, never silently dropped', () => {
    const agg = new Aggregator(
      compileConfig({
        metrics: [
          {
            name: 'm',
            eventTime: { field: 't', format: 'epoch_s' },
            value: 'v',
            aggregates: ['sum'],
            windows: ['1m'],
            allowedLateness: '1m',
            futureSkew: '10s',
          },
        ],
      }),
    );
    const arrival = BASE + 30_000;
    const events = [
      { text: JSON.stringify({ t: (arrival - 10_000) / 1000, v: 1 }), arrivalMs: arrival },
      { text: JSON.stringify({ t: (arrival - 200_000) / 1000, v: 1 }), arrivalMs: arrival },
      { text: JSON.stringify({ t: (arrival + 60_000) / 1000, v: 1 }), arrivalMs: arrival },
      { text: JSON.stringify({ t: (arrival - 5_000) / 1000, v: 'x' }), arrivalMs: arrival },
    ];
    const cells = run(agg, events);
    expect(cells.map((c) => c.count)).toEqual([1]);
    expect(agg.rejected().map((r) => r.reasonName)).toEqual(['too_late', 'too_early', 'invalid_value']);
    expect(agg.statistics()[0].counts).toEqual({ too_late: 1, too_early: 1, invalid_value: 1 });
  });

  it('reads DynamoDB images: new image for INSERT/MODIFY, old image for REMOVE, eventName filters', () => {
    const agg = new Aggregator(
      compileConfig({
        metrics: [
          {
            name: 'orders',
            source: 'dynamodb',
            filter: [{ eventName: ['INSERT', 'REMOVE'] }],
            dimensions: ['status'],
            value: 'amount',
            aggregates: ['count', 'sum'],
            windows: ['1m'],
          },
        ],
      }),
    );
    agg.begin();
    agg.ingestImage('INSERT', { status: { S: 'new' }, amount: { N: '12.5' } }, undefined, 0, BASE, BASE);
    agg.ingestImage(
      'MODIFY',
      { status: { S: 'paid' }, amount: { N: '12.5' } },
      { status: { S: 'new' }, amount: { N: '12.5' } },
      1,
      BASE,
      BASE,
    );
    agg.ingestImage('REMOVE', undefined, { status: { S: 'paid' }, amount: { N: '3' } }, 2, BASE, BASE);
    const cells = agg.cells().map((c) => [c.dimensionValues[0], c.count, c.sum, c.firstRecord, c.lastRecord]);
    expect(cells).toEqual([
      ['new', 1, 12.5, 0, 0],
      ['paid', 1, 3, 2, 2],
    ]);
  });
});
