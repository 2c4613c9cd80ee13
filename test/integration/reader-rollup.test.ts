/**
 * CounterReader.rollup() and GET /api/rollup against a real DynamoDB API (dynalite), on counters written
 * by the real handler: totals over all groups and roll-ups to each dimension equal a reference model for
 * count, sum, min, max and mean; distinct and quantiles come from merged sketches and equal a sketch of all
 * the window's values (DDSketch merges exactly; HLL within its error). Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../src/core/metric-config.js';
import { DDSketch } from '../../src/core/sketch/ddsketch.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { CounterReader } from '../../src/read/counter-reader.js';
import { routeReadApi } from '../../src/read/read-api.js';
import { mulberry32 } from '../../src/samples/prng.js';
import { createCountersTable, localDynamoClient } from '../helpers/counters-table.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { referenceCounters, type ModelCell, type ModelEvent } from '../helpers/reference-model.js';

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country', 'page', 'device'],
      value: 'latencyMs',
      distinctField: 'user',
      aggregates: ['count', 'sum', 'min', 'max', 'mean', 'distinct', 'p50', 'p95', 'p99'],
      windows: ['1m'],
    },
    {
      name: 'orders',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'mean'],
      windows: ['1m'],
    },
  ],
};
const WINDOW_START = Date.parse('2026-11-26T12:00:00.000Z');
const TABLE = 'rollup-counters';
const MORE_THAN_ONE_BATCH_GET = 100; // > 100 groups: the BatchGetItem path takes two calls

let server: LocalServer;
let reader: CounterReader;
const events: ModelEvent[] = [];

beforeAll(async () => {
  server = await startDynalite();
  const client = localDynamoClient(server.endpoint);
  await createCountersTable(client, TABLE);
  const handler = createAnalyticsHandler({
    config: {
      countersTable: TABLE,
      failureQueueUrl: undefined,
      metrics: compileConfig(CONFIG),
      metricsSource: 'test',
      maxDecompressedBytes: 1 << 20,
      writeConcurrency: 8,
      deadlineMarginMs: 1000,
    },
    dynamodb: client,
    sqs: new SQSClient({ region: 'us-east-1' }),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test' }),
  });
  const random = mulberry32(7);
  const records = [];
  for (let i = 0; i < 900; i++) {
    const arrivalMs = WINDOW_START + 30_000 + (i % 20);
    const event = {
      ts: new Date(WINDOW_START + Math.floor(random() * 59_000)).toISOString(),
      country: ['DE', 'US', 'FR', 'JP'][Math.floor(random() * 4)],
      page: `/p${Math.floor(random() * 8)}`,
      device: ['ios', 'android', 'web', 'tv', 'car'][Math.floor(random() * 5)],
      user: `u${Math.floor(random() * 120)}`,
      latencyMs: 1 + Math.floor(random() * 900),
    };
    events.push({ event, arrivalMs });
    records.push(kinesisRecord('shardId-000000000000', sequenceNumber(0, i + 1), JSON.stringify(event), arrivalMs));
  }
  const response = (await handler({ Records: records }, lambdaContext(30_000) as never)) as {
    batchItemFailures: unknown[];
  };
  expect(response.batchItemFailures).toEqual([]);
  // dynalite's GSI is consistent at once; the reader lists the window through the index like in AWS.
  reader = new CounterReader({ client, tableName: TABLE, metrics: compileConfig(CONFIG) });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

function modelTotals(metric: string, dimensionIndex: number | undefined): Map<string, ModelCell> {
  const out = new Map<string, ModelCell>();
  for (const cell of referenceCounters(CONFIG, events).values()) {
    if (!cell.pk.startsWith(metric + '#') || cell.sk !== `1m#${new Date(WINDOW_START).toISOString()}`) continue;
    const key = dimensionIndex === undefined ? '' : cell.pk.slice(metric.length + 1).split('|')[dimensionIndex];
    const into = out.get(key) ?? { pk: key, sk: cell.sk, count: 0, sum: 0, min: Infinity, max: -Infinity };
    into.count += cell.count;
    into.sum += cell.sum;
    into.min = Math.min(into.min, cell.min);
    into.max = Math.max(into.max, cell.max);
    out.set(key, into);
  }
  return out;
}

describe('rollup', () => {
  it('totals over all groups equal the model, and the reads are bounded: 1 Query page + ceil(G/100) BatchGetItem', async () => {
    // Act
    const result = await reader.rollup('views', '1m', WINDOW_START, undefined);

    // Assess
    const want = modelTotals('views', undefined).get('') as ModelCell;
    expect(result.groups).toBeGreaterThan(MORE_THAN_ONE_BATCH_GET);
    expect(result.total).toMatchObject({ count: want.count, sum: want.sum, min: want.min, max: want.max });
    expect(result.total.mean).toBeCloseTo(want.sum / want.count, 9);
    expect(result.reads).toEqual({ queries: 1, batchGets: Math.ceil(result.groups / 100) });
    expect(result.entries).toEqual([]);
  });

  it.each([
    [0, 'country'],
    [1, 'page'],
    [2, 'device'],
  ])('rolled up to dimension %i (%s): every value equals the model', async (index, name) => {
    const result = await reader.rollup('views', '1m', WINDOW_START, index);
    const want = modelTotals('views', index);
    expect(result.dimension).toBe(name);
    expect(result.entries.map((e) => e.dimensionValues[0]).sort()).toEqual([...want.keys()].sort());
    for (const e of result.entries) {
      const m = want.get(e.dimensionValues[0]) as ModelCell;
      expect(e).toMatchObject({ count: m.count, sum: m.sum, min: m.min, max: m.max });
    }
    expect(result.entries.reduce((n, e) => n + e.count, 0)).toBe(result.total.count);
  });

  it('distinct and quantiles merge the stored sketches: equal to one sketch of all values (HLL within 3%)', async () => {
    const result = await reader.rollup('views', '1m', WINDOW_START, 0);
    const all = new DDSketch();
    const users = new Set<string>();
    for (const { event } of events) {
      const e = event as { latencyMs: number; user: string };
      all.add(e.latencyMs);
      users.add(e.user);
    }
    expect(result.total.p50).toBe(all.quantile(0.5));
    expect(result.total.p95).toBe(all.quantile(0.95));
    expect(result.total.p99).toBe(all.quantile(0.99));
    expect(Math.abs((result.total.distinct as number) - users.size)).toBeLessThanOrEqual(Math.ceil(users.size * 0.03));
  });

  it('a metric with only count and sum reads the same way: its keys from the index, its values from the table', async () => {
    const result = await reader.rollup('orders', '1m', WINDOW_START, 0);
    const want = modelTotals('orders', undefined).get('') as ModelCell;
    expect(result.total).toMatchObject({ count: want.count, sum: want.sum });
    expect(result.groups).toBe(4); // one per country
    expect(result.reads).toEqual({ queries: 1, batchGets: 1 });
  });

  it('an empty window is a zero total; GET /api/rollup serves the same and names a bad dimension', async () => {
    const empty = await reader.rollup('views', '1m', WINDOW_START - 60_000, undefined);
    expect(empty.total.count).toBe(0);
    expect(empty.groups).toBe(0);
    const deps = { reader, assets: {}, clock: () => WINDOW_START + 90_000 };
    const ok = await routeReadApi(deps, {
      rawPath: '/api/rollup',
      queryStringParameters: { metric: 'views', window: '1m', start: String(WINDOW_START), dimension: 'device' },
      requestContext: { http: { method: 'GET' } },
    } as never);
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body as string).entries).toHaveLength(5);
    const bad = await routeReadApi(deps, {
      rawPath: '/api/rollup',
      queryStringParameters: { metric: 'views', dimension: 'nope' },
      requestContext: { http: { method: 'GET' } },
    } as never);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body as string)).toMatchObject({
      parameter: 'dimension',
      allowed: ['country', 'page', 'device'],
    });
  });
});

describe('windowView (GET /api/window: what a dashboard refresh reads of one window)', () => {
  it('gives the same Top and roll-up as top() and rollup(), from one read of the window', async () => {
    // Act
    const view = await reader.windowView('views', '1m', WINDOW_START, 1, 10);
    const top = await reader.top('views', '1m', WINDOW_START, undefined, 10);
    const rollup = await reader.rollup('views', '1m', WINDOW_START, 1);

    // Assess: equal results, and the reads of one rollup (1 Query page + ceil(G/100) BatchGetItem), not two
    expect(view.top).toEqual(top);
    expect(view.rollup).toEqual(rollup);
    expect(view.rollup.reads).toEqual({ queries: 1, batchGets: Math.ceil(view.rollup.groups / 100) });
    const want = modelTotals('views', undefined).get('') as ModelCell;
    expect(view.rollup.total.count).toBe(want.count);
    expect(view.top.entries).toHaveLength(10);
  });

  it('GET /api/window serves both and names a bad argument', async () => {
    const deps = { reader, assets: {}, clock: () => WINDOW_START + 90_000 };
    const ok = await routeReadApi(deps, {
      rawPath: '/api/window',
      queryStringParameters: { metric: 'views', window: '1m', start: String(WINDOW_START), dimension: 'device' },
      requestContext: { http: { method: 'GET' } },
    } as never);
    expect(ok.statusCode).toBe(200);
    const body = JSON.parse(ok.body as string) as { top: { entries: unknown[] }; rollup: { entries: unknown[] } };
    expect(body.rollup.entries).toHaveLength(5);
    expect(body.top.entries.length).toBeGreaterThan(0);
    const bad = await routeReadApi(deps, {
      rawPath: '/api/window',
      queryStringParameters: { metric: 'views', limit: '0' },
      requestContext: { http: { method: 'GET' } },
    } as never);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body as string)).toMatchObject({ parameter: 'limit' });
  });
});
