/**
 * The read API's Middy handler, invoked with API Gateway HTTP API (2.0) events, reading a real DynamoDB
 * API (dynalite over HTTP) through CounterReader.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { startDynalite, type LocalServer } from '../../../src/local/aws/servers.js';
import { clientConfig } from '../../../src/local/aws/aws-clients.js';
import { createReadApiHandler, type ReadApiHandler } from '../../../src/read/read-api.js';
import { compileConfig } from '../../../src/core/metric-config.js';
import { loadReadRuntimeConfig } from '../../../src/config.js';
import { CounterReader } from '../../../src/read/counter-reader.js';
import { Attr, counterSk, statsPk } from '../../../src/sink/layout.js';
import { DASHBOARD_ASSETS } from '../../../src/dashboard/assets.js';
import { readDashboardAssets } from '../../../src/dashboard/files.js';
import type { MetricConfig } from '../../../src/core/types.js';
import { counterItem, createCountersTable } from '../../helpers/counters-table.js';

const MIN = 60_000;
/** 2026-11-26T20:00:00Z; the handler's clock reads T0 + 2m30s. */
const T0 = Date.UTC(2026, 10, 26, 20, 0, 0);
const NOW = T0 + 2 * MIN + 30_000;
const TABLE = 'counters-read-api-test';
const METRICS: MetricConfig[] = [
  {
    name: 'views',
    dimensions: ['country', 'page'],
    value: 'latencyMs',
    aggregates: ['count', 'sum', 'max', 'mean'],
    windows: ['1m', '1h'],
  },
  { name: 'plain', aggregates: ['count'], windows: ['1m'] },
];

function event(
  path: string,
  query?: Record<string, string>,
  options: { method?: string; stage?: string } = {},
): APIGatewayProxyEventV2 {
  const qs = new URLSearchParams(query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: qs,
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com' },
    queryStringParameters: query,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: options.method ?? 'GET',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'vitest',
      },
      requestId: 'req-1',
      routeKey: '$default',
      stage: options.stage ?? '$default',
      time: '26/Nov/2026:20:02:30 +0000',
      timeEpoch: NOW,
    },
  };
}

const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'streamtally-test-read-api',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:streamtally-test-read-api',
  memoryLimitInMB: '512',
  awsRequestId: 'aws-req-1',
  logGroupName: '/aws/lambda/streamtally-test-read-api',
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

async function put(client: DynamoDBClient, item: Record<string, AttributeValue>): Promise<void> {
  await client.send(new PutItemCommand({ TableName: TABLE, Item: item }));
}

/** A counter item as the writer stores it (counterItem runs the writer's merge, so `g` for top() is set). */
function counter(
  metric: string,
  dims: string[],
  window: string,
  startMs: number,
  c: number,
  values: { sum: number; max: number },
): Record<string, AttributeValue> {
  const dimensionNames = METRICS.find((m) => m.name === metric)?.dimensions ?? [];
  return counterItem({ metric, dimensionNames, dims, window, startMs, count: c, sum: values.sum, max: values.max });
}

describe('read API handler', () => {
  let dynalite: LocalServer;
  let client: DynamoDBClient;
  let handler: ReadApiHandler;
  const silent = new Logger({ serviceName: 'streamtally-test', logLevel: 'SILENT' });
  const call = async (
    e: APIGatewayProxyEventV2,
  ): Promise<APIGatewayProxyStructuredResultV2 & { json: Record<string, unknown> }> => {
    const res = await handler(e, context);
    const isJson = String(res.headers?.['content-type']).startsWith('application/json');
    return { ...res, json: isJson ? (JSON.parse(res.body ?? '{}') as Record<string, unknown>) : {} };
  };

  beforeAll(async () => {
    // Prepare
    dynalite = await startDynalite();
    client = new DynamoDBClient(clientConfig({ endpoint: dynalite.endpoint }));
    await createCountersTable(client, TABLE);
    await put(client, counter('views', ['DE', '/home'], '1m', T0, 3, { sum: 30, max: 12 }));
    await put(client, counter('views', ['DE', '/home'], '1m', T0 + MIN, 5, { sum: 100, max: 40 }));
    await put(client, counter('views', ['DE', '/home'], '1m', T0 + 2 * MIN, 2, { sum: 8, max: 5 }));
    await put(client, counter('views', ['US', '/a|b'], '1m', T0 + 2 * MIN, 9, { sum: 9, max: 1 }));
    await put(client, counter('views', ['DE', '/home'], '1h', T0, 10, { sum: 138, max: 40 }));
    await put(client, counter('views', ['US', '/a|b'], '1h', T0, 9, { sum: 9, max: 1 }));
    await put(client, {
      [Attr.pk]: { S: statsPk('views') },
      [Attr.sk]: { S: counterSk('1m', T0 + MIN) },
      [Attr.count]: { N: '5' },
      'r:too_late': { N: '2' },
      'r:invalid_value': { N: '3' },
    });
    const reader = new CounterReader({ client, tableName: TABLE, metrics: compileConfig({ metrics: METRICS }) });
    handler = createReadApiHandler({ reader, assets: DASHBOARD_ASSETS, clock: () => NOW, logger: silent }, silent);
  });

  afterAll(async () => {
    client?.destroy();
    await dynalite?.stop();
  });

  it('GET /api/metrics lists the configured metrics', async () => {
    const res = await call(event('/api/metrics'));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['cache-control']).toBe('no-store');
    expect((res.json.metrics as Array<{ name: string }>).map((m) => m.name)).toEqual(['views', 'plain']);
    expect(res.json.nowMs).toBe(NOW);
  });

  it('GET /api/metrics says no window is flushed late unless the read function is told window flush mode', async () => {
    const res = await call(event('/api/metrics'));
    expect(res.json.windowFlush).toBeNull();
    const windows = (res.json.metrics as Array<{ windows: object[] }>).flatMap((m) => m.windows);
    for (const w of windows) {
      expect(w).not.toHaveProperty('writtenEverySeconds');
      expect(w).not.toHaveProperty('maxAgeSeconds');
    }
  });

  it('GET /api/metrics in window flush mode: how often each window is written and how old, per source, and the schedule', async () => {
    // Prepare: the read function's variables as template.yaml sets them for FlushIntervalSeconds=60 WindowFlush=true
    const { windowFlushSchedule } = loadReadRuntimeConfig({
      COUNTERS_TABLE: TABLE,
      WINDOW_FLUSH: 'true',
      WINDOW_FLUSH_CARRY_SECONDS: '50',
      WINDOW_FLUSH_SLACK_SECONDS: '10',
      WINDOW_FLUSH_GRACE_SECONDS: '2',
      WINDOW_FLUSH_FRESH_UP_TO_SECONDS: '60',
      KINESIS_TUMBLING_WINDOW_SECONDS: '900',
      DYNAMODB_TUMBLING_WINDOW_SECONDS: '60',
    });
    const metrics = compileConfig({
      metrics: [
        { name: 'views', aggregates: ['count'], windows: ['1m', '5m', '1h'] },
        { name: 'orders', source: 'dynamodb', aggregates: ['count'], windows: ['1m', '1h'] },
      ],
    });
    const flushed = createReadApiHandler(
      {
        reader: new CounterReader({ client, tableName: TABLE, metrics }),
        assets: DASHBOARD_ASSETS,
        logger: silent,
        windowFlush: windowFlushSchedule,
      },
      silent,
    );

    // Act
    const res = await flushed(event('/api/metrics'), context);

    // Assess: 1m (no larger than the 60 s interval) written while open too, at most 60 s old; 5m and 1h once
    // they closed (+ 2 s grace, + 10 s from due to written), 1h at the latest at the end of the 900 s
    // tumbling window; the DynamoDB source's 60 s tumbling window writes everything every minute
    const body = JSON.parse(res.body ?? '{}') as {
      metrics: Array<{
        name: string;
        windows: Array<{
          label: string;
          writtenEverySeconds?: number;
          maxAgeSeconds?: number;
          writtenWhileOpen?: boolean;
        }>;
      }>;
      windowFlush: unknown;
    };
    const cadence = Object.fromEntries(
      body.metrics.map((m) => [
        m.name,
        Object.fromEntries(
          m.windows.map((w) => [w.label, [w.writtenEverySeconds, w.maxAgeSeconds, w.writtenWhileOpen]]),
        ),
      ]),
    );
    expect(cadence).toEqual({
      views: { '1m': [60, 60, true], '5m': [300, 312, false], '1h': [900, 910, false] },
      orders: { '1m': [60, 60, true], '1h': [60, 70, false] },
    });
    expect(body.windowFlush).toEqual({
      carrySeconds: 50,
      slackSeconds: 10,
      graceSeconds: 2,
      freshUpToSeconds: 60,
      intervalSeconds: 60,
      tumblingSeconds: { kinesis: 900, dynamodb: 60 },
    });
  });

  it('GET /api/series reads one group; times as epoch ms or ISO-8601; `|` inside a value escaped', async () => {
    // Act
    const byMs = await call(
      event('/api/series', {
        metric: 'views',
        window: '1m',
        dims: 'DE|/home',
        from: String(T0),
        to: String(T0 + 2 * MIN),
      }),
    );
    const byIso = await call(
      event('/api/series', {
        metric: 'views',
        dims: 'DE|/home',
        from: new Date(T0).toISOString(),
        to: new Date(T0 + 2 * MIN).toISOString(),
      }),
    );
    const escaped = await call(event('/api/series', { metric: 'views', dims: 'US|/a%7Cb', from: String(T0) }));

    // Assess
    expect(byMs.statusCode).toBe(200);
    expect(byMs.json.points).toEqual([
      { windowStartMs: T0, count: 3, sum: 30, max: 12, mean: 10 },
      { windowStartMs: T0 + MIN, count: 5, sum: 100, max: 40, mean: 20 },
    ]);
    expect(byIso.json.points).toEqual(byMs.json.points);
    expect(escaped.json).toMatchObject({
      dimensionValues: ['US', '/a|b'],
      toMs: NOW,
      points: [{ windowStartMs: T0 + 2 * MIN, count: 9 }],
    });
  });

  it('GET /api/series defaults to the last 60 windows up to now', async () => {
    const res = await call(event('/api/series', { metric: 'views', window: '1h', dims: 'DE|/home' }));
    expect(res.json).toMatchObject({
      fromMs: NOW - 60 * 3_600_000,
      toMs: NOW,
      points: [{ windowStartMs: T0, count: 10 }],
    });
  });

  it('GET /api/rolling merges the finest buckets up to the clock', async () => {
    const one = await call(event('/api/rolling', { metric: 'views', dims: 'DE|/home', minutes: '1' }));
    const five = await call(event('/api/rolling', { metric: 'views', dims: 'DE|/home', minutes: '5' }));
    expect(one.json).toMatchObject({ minutes: 1, buckets: 1, count: 2, sum: 8, max: 5, mean: 4 });
    expect(five.json).toMatchObject({ minutes: 5, buckets: 3, count: 10, sum: 138, max: 40, mean: 13.8 });
  });

  it('GET /api/top defaults to the current window and can roll up to one dimension', async () => {
    const current = await call(event('/api/top', { metric: 'views', window: '1m' }));
    expect(current.json).toMatchObject({
      windowStartMs: T0 + 2 * MIN,
      entries: [
        { dimensionValues: ['US', '/a|b'], count: 9 },
        { dimensionValues: ['DE', '/home'], count: 2 },
      ],
    });
    const byCountry = await call(
      event('/api/top', {
        metric: 'views',
        window: '1h',
        start: new Date(T0).toISOString(),
        dimension: 'country',
        limit: '1',
      }),
    );
    expect(byCountry.json).toMatchObject({
      dimensions: ['country'],
      groups: 2,
      entries: [{ dimensionValues: ['DE'], count: 10, sum: 138 }],
    });
  });

  it('GET /api/stats reports rejected and late counts', async () => {
    const res = await call(event('/api/stats', { metric: 'views' }));
    expect(res.json).toMatchObject({
      rejected: 3,
      late: 2,
      folded: 0,
      byReason: { too_late: 2, invalid_value: 3 },
      fromMs: NOW - 3_600_000,
      toMs: NOW,
    });
    const all = await call(event('/api/stats', { metric: '__all__' }));
    expect(all.json).toMatchObject({ metric: '__all__', rejected: 0, late: 0 });
  });

  it.each([
    ['/api/series', {}, 'metric', ['views', 'plain']],
    ['/api/series', { metric: 'nope' }, 'metric', ['views', 'plain']],
    ['/api/series', { metric: 'views', window: '5m', dims: 'DE|/home' }, 'window', ['1m', '1h']],
    ['/api/series', { metric: 'views', dims: 'DE' }, 'dims', ['country', 'page']],
    ['/api/series', { metric: 'plain', dims: 'x' }, 'dims', []],
    ['/api/series', { metric: 'views', dims: 'DE|/home', from: 'yesterday' }, 'from', undefined],
    ['/api/series', { metric: 'views', dims: 'DE|/home', to: '12:00' }, 'to', undefined],
    ['/api/series', { metric: 'views', dims: 'DE|/home', from: String(NOW + 1) }, 'from', undefined],
    ['/api/rolling', { metric: 'views', dims: 'DE|/home', minutes: '7' }, 'minutes', [1, 5, 15, 60]],
    ['/api/rolling', { metric: 'views', dims: 'DE|/home', minutes: '5.0' }, 'minutes', [1, 5, 15, 60]],
    ['/api/top', { metric: 'views', limit: 'ten' }, 'limit', undefined],
    ['/api/top', { metric: 'views', limit: '0' }, 'limit', undefined],
    ['/api/top', { metric: 'views', dimension: 'city' }, 'dimension', ['country', 'page']],
    ['/api/top', { metric: 'views', start: 'soon' }, 'start', undefined],
    ['/api/stats', { metric: 'views', to: 'x' }, 'to', undefined],
  ])('400 for %s %j names %s', async (path, query, parameter, allowed) => {
    const res = await call(event(path, query as Record<string, string>));
    expect(res.statusCode).toBe(400);
    expect(res.json).toMatchObject({ error: 'bad_request', parameter });
    expect(typeof res.json.message).toBe('string');
    if (allowed) expect(res.json.allowed).toEqual(allowed);
  });

  it('404 for an unknown route, 405 for anything but GET', async () => {
    expect((await call(event('/api/nothing'))).statusCode).toBe(404);
    expect((await call(event('/api/assets/secret.txt'))).statusCode).toBe(404);
    const post = await call(event('/api/metrics', undefined, { method: 'POST' }));
    expect(post.statusCode).toBe(405);
    expect(post.headers?.allow).toBe('GET');
  });

  it('GET / serves the dashboard page and /api/assets/ its files, under a named stage too', async () => {
    const page = await call(event('/'));
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script src="api/assets/app.js">');
    const uplot = await call(event('/prod/api/assets/uPlot.iife.min.js', undefined, { stage: 'prod' }));
    expect(uplot.statusCode).toBe(200);
    expect(uplot.body).toContain('uPlot');
    expect((await call(event('/prod', undefined, { stage: 'prod' }))).body).toBe(page.body);
  });

  it('the embedded dashboard (assets.ts) matches the files on disk', () => {
    // If this fails: npx tsx src/dashboard/generate-assets.ts
    expect(DASHBOARD_ASSETS).toEqual(readDashboardAssets());
  });

  it('a failing read answers 500 without leaking the cause', async () => {
    const lost = createReadApiHandler(
      {
        reader: new CounterReader({ client, tableName: 'missing', metrics: compileConfig({ metrics: METRICS }) }),
        assets: DASHBOARD_ASSETS,
        logger: silent,
      },
      silent,
    );
    const res = await lost(event('/api/series', { metric: 'plain' }), context);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body ?? '{}')).toEqual({ error: 'internal', message: expect.stringContaining('req-1') });
    expect(res.body).not.toContain('missing');
  });

  it('the deployed handler reads streamtally.config.json and explains a missing COUNTERS_TABLE', async () => {
    const saved = process.env.COUNTERS_TABLE;
    delete process.env.COUNTERS_TABLE;
    try {
      // Imported here: static imports run before this file sets POWERTOOLS_LOG_LEVEL, and its logger reads it.
      const { handler: deployedHandler } = await import('../../../src/handlers/read-api.js');
      const res = await deployedHandler(event('/api/metrics'), context);
      expect(res.statusCode).toBe(500);
      expect(res.body).toMatch(/COUNTERS_TABLE: is not set/);
    } finally {
      if (saved !== undefined) process.env.COUNTERS_TABLE = saved;
    }
  });

  /** GET /api/metrics from the deployed handler, imported afresh so that it reads `vars`; the environment is restored after. */
  async function deployedMetrics(vars: Record<string, string>): Promise<{ statusCode?: number; body: unknown }> {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    try {
      vi.resetModules();
      const { handler: deployedHandler } = await import('../../../src/handlers/read-api.js');
      const res = await deployedHandler(event('/api/metrics'), context);
      return { statusCode: res.statusCode, body: JSON.parse(res.body ?? '{}') };
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  }

  it('the deployed handler tells the dashboard the window flush schedule of its WINDOW_FLUSH variables', async () => {
    // Act: FlushIntervalSeconds=300 WindowFlush=true, as template.yaml sets the read function's variables
    const res = await deployedMetrics({
      COUNTERS_TABLE: TABLE,
      WINDOW_FLUSH: 'true',
      WINDOW_FLUSH_CARRY_SECONDS: '240',
      WINDOW_FLUSH_SLACK_SECONDS: '60',
      WINDOW_FLUSH_GRACE_SECONDS: '2',
      WINDOW_FLUSH_FRESH_UP_TO_SECONDS: '300',
      KINESIS_TUMBLING_WINDOW_SECONDS: '900',
      DYNAMODB_TUMBLING_WINDOW_SECONDS: '60',
    });
    // Assess: the bundled page_views (1m, 5m, 1h) from the Kinesis stream
    expect(res.statusCode).toBe(200);
    const body = res.body as {
      metrics: Array<{
        name: string;
        windows: Array<{ label: string; writtenEverySeconds?: number; maxAgeSeconds?: number }>;
      }>;
      windowFlush: { intervalSeconds: number };
    };
    expect(body.windowFlush.intervalSeconds).toBe(300);
    // 1m once it closed (+ 2 s grace), written up to 2 batching windows (60 s) later, sooner than the
    // 240 s carry; 5m (no larger than the interval) also while open, every 240 s; 1h at the latest at the
    // end of the 900 s tumbling window.
    const pageViews = body.metrics.find((m) => m.name === 'page_views');
    expect(pageViews?.windows.map((w) => [w.label, w.writtenEverySeconds, w.maxAgeSeconds])).toEqual([
      ['1m', 60, 122],
      ['5m', 300, 300],
      ['1h', 900, 960],
    ]);
  });

  it('the deployed handler lists the metrics of STREAMTALLY_CONFIG_FILE, loaded as the analytics function loads them', async () => {
    // Prepare: a metrics file that shares no metric name with the bundled one.
    const dir = mkdtempSync(join(tmpdir(), 'streamtally-read-config-'));
    const file = join(dir, 'metrics.yaml');
    writeFileSync(
      file,
      'metrics:\n  - name: checkout_latency\n    dimensions: [region]\n    value: ms\n    aggregates: [count, p95]\n    windows: [1m, 1h]\n',
    );
    // Act
    const res = await deployedMetrics({ COUNTERS_TABLE: TABLE, STREAMTALLY_CONFIG_FILE: file });
    // Assess
    expect(res.statusCode).toBe(200);
    const body = res.body as { metrics: Array<{ name: string; dimensions: string[]; value?: string }> };
    expect(body.metrics.map((m) => m.name)).toEqual(['checkout_latency']);
    expect(body.metrics[0]).toMatchObject({ dimensions: ['region'], value: 'ms' });
  });
});
