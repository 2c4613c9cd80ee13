/**
 * CounterReader against a real DynamoDB API (dynalite over HTTP, the real SDK client). Counter items are
 * seeded with PutItem as the writer stores them (its own cellItemDelta merge, `g` for the byWindowKeys GSI
 * included), in a table created like template.yaml's CountersTable.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { compileConfig } from '../../src/core/metric-config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchGetItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { CounterReader, MAX_SERIES_WINDOWS } from '../../src/read/counter-reader.js';
import { CounterReadError, ReadArgumentError } from '../../src/read/types.js';
import {
  Attr,
  LEGACY_TOP_INDEX,
  WINDOW_INDEX,
  counterPk,
  counterSk,
  statsPk,
  padSequence,
  windowGroupKey,
} from '../../src/sink/layout.js';
import { cellItemDelta } from '../../src/sink/item-delta.js';
import { CounterWriter } from '../../src/sink/counter-writer.js';
import { counterItem, createCountersTable, seedCellDelta, type SeedCell } from '../helpers/counters-table.js';
import { HyperLogLog } from '../../src/core/sketch/hyperloglog.js';
import { DDSketch } from '../../src/core/sketch/ddsketch.js';
import type { MetricConfig } from '../../src/core/types.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MIN = 60_000;
/** 2026-11-26T20:00:00Z */
const T0 = Date.UTC(2026, 10, 26, 20, 0, 0);

const TEST_METRICS: MetricConfig[] = [
  {
    name: 'views',
    dimensions: ['country', 'page'],
    value: 'latencyMs',
    aggregates: ['count', 'sum', 'min', 'max', 'mean', 'p50', 'p95', 'p99'],
    windows: ['5m', '1m'],
  },
  {
    name: 'users',
    dimensions: ['plan'],
    distinctField: 'user.id',
    aggregates: ['count', 'distinct'],
    windows: ['1m', '1h'],
  },
  { name: 'plain', aggregates: ['count'], windows: ['1m'] },
];

interface SeedCounter extends Omit<SeedCell, 'dimensionNames'> {
  /** Bytes of padding, to force Query pagination (DynamoDB pages at 1 MB read, before projection). */
  padding?: number;
}

/** One counter item as the writer stores it (its own merge, via counterItem), progress attribute included. */
async function putCounter(
  client: DynamoDBClient,
  tableName: string,
  metrics: MetricConfig[],
  seed: SeedCounter,
): Promise<void> {
  const metric = metrics.find((m) => m.name === seed.metric);
  const item = counterItem({ ...seed, dimensionNames: metric?.dimensions ?? [] });
  item[Attr.progressPrefix + 'shardId-000000000000'] = {
    S: padSequence('49590338271490256608559692538361571095921575989136588898'),
  };
  if (seed.padding) item.pad = { S: 'x'.repeat(seed.padding) };
  await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
}

async function putStats(
  client: DynamoDBClient,
  tableName: string,
  metric: string,
  window: string,
  startMs: number,
  reasons: Record<string, number>,
): Promise<void> {
  const item: Record<string, AttributeValue> = {
    [Attr.pk]: { S: statsPk(metric) },
    [Attr.sk]: { S: counterSk(window, startMs) },
    [Attr.metric]: { S: metric },
    [Attr.windowLabel]: { S: window },
    [Attr.windowStartMs]: { N: String(startMs) },
  };
  for (const [reason, n] of Object.entries(reasons)) item[Attr.rejectPrefix + reason] = { N: String(n) };
  await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
}

function hllOf(from: number, to: number): HyperLogLog {
  const hll = new HyperLogLog();
  for (let i = from; i < to; i++) hll.addNumber(i);
  return hll;
}

function sketchOf(values: number[]): DDSketch {
  const sketch = new DDSketch();
  for (const v of values) sketch.add(v);
  return sketch;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('CounterReader against dynalite', () => {
  let dynalite: LocalServer;
  let client: DynamoDBClient;
  let reader: CounterReader;
  const table = 'counters-reader-test';
  const DE_HOME = ['DE', '/home'];
  const ODD = ['a|b#c%', '/x'];

  beforeAll(async () => {
    // Prepare
    dynalite = await startDynalite();
    client = new DynamoDBClient(clientConfig({ endpoint: dynalite.endpoint }));
    await createCountersTable(client, table);
    reader = new CounterReader({ client, tableName: table, metrics: compileConfig({ metrics: TEST_METRICS }) });
    const put = (seed: SeedCounter): Promise<void> => putCounter(client, table, TEST_METRICS, seed);

    // views, DE /home: five 1m buckets T0..T0+4m with values; count i+1, latencies chosen per bucket.
    for (let i = 0; i < 5; i++) {
      const values = range(100 * i + 1, 100 * i + 1 + (i + 1));
      await put({
        metric: 'views',
        dims: DE_HOME,
        window: '1m',
        startMs: T0 + i * MIN,
        count: values.length,
        sum: values.reduce((a, b) => a + b, 0),
        min: values[0],
        max: values[values.length - 1],
        sketch: sketchOf(values),
      });
    }
    // One 5m bucket, an older 1m bucket outside every range used below, another group in the same windows.
    await put({ metric: 'views', dims: DE_HOME, window: '5m', startMs: T0, count: 15, sum: 1000, min: 1, max: 405 });
    await put({
      metric: 'views',
      dims: DE_HOME,
      window: '1m',
      startMs: T0 - 30 * MIN,
      count: 99,
      sum: 99,
      min: 1,
      max: 1,
    });
    await put({ metric: 'views', dims: ODD, window: '1m', startMs: T0, count: 2, sum: 10, min: 4, max: 6 });

    // Top in window T0 (1m): DE/home 1 (above), DE/cart 5, US/home 7, FR/home 7, plus ODD 2.
    await put({ metric: 'views', dims: ['DE', '/cart'], window: '1m', startMs: T0, count: 5, sum: 50 });
    await put({ metric: 'views', dims: ['US', '/home'], window: '1m', startMs: T0, count: 7, sum: 70 });
    await put({ metric: 'views', dims: ['FR', '/home'], window: '1m', startMs: T0, count: 7, sum: 7 });
    // Same window, other metric and another window start: never in views' top.
    await put({ metric: 'users', dims: ['pro'], window: '1m', startMs: T0, count: 1000, hll: hllOf(0, 10) });
    await put({ metric: 'views', dims: ['IT', '/home'], window: '1m', startMs: T0 + MIN, count: 500 });

    // users, pro: overlapping user sets in two buckets (0..99 and 50..149): the union is 150, not 200.
    await put({ metric: 'users', dims: ['free'], window: '1m', startMs: T0 + 3 * MIN, count: 100, hll: hllOf(0, 100) });
    await put({
      metric: 'users',
      dims: ['free'],
      window: '1m',
      startMs: T0 + 4 * MIN,
      count: 100,
      hll: hllOf(50, 150),
    });

    // plain: one big-padded bucket per minute for an hour, so one series needs several Query pages.
    for (let i = 0; i < 8; i++)
      await put({ metric: 'plain', dims: [], window: '1m', startMs: T0 + i * MIN, count: i + 1, padding: 350_000 });

    // stats: names and numeric codes; one bucket out of range; records no metric could read.
    await putStats(client, table, 'views', '1m', T0, { too_late: 3, invalid_json: 2 });
    await putStats(client, table, 'views', '1m', T0 + MIN, { '7': 1, '5': 4, folded: 6 });
    await putStats(client, table, 'views', '1m', T0 + 90 * MIN, { too_late: 1000 });
    await putStats(client, table, '__all__', '1m', T0 + 2 * MIN, { undecodable: 9 });
  });

  afterAll(async () => {
    client?.destroy();
    await dynalite?.stop();
  });

  it('series: one group, windows overlapping [from, to), oldest first, every configured aggregate', async () => {
    // Act
    const result = await reader.series('views', '1m', DE_HOME, T0 + MIN, T0 + 4 * MIN);

    // Assess
    expect(result.windowSizeMs).toBe(MIN);
    expect(result.points.map((p) => p.windowStartMs)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
    const second = result.points[0];
    expect(second).toMatchObject({ count: 2, sum: 101 + 102, min: 101, max: 102, mean: 101.5 });
    // DDSketch is 1%-accurate; the reader returns exactly what the stored sketch says.
    expect(second.p50).toBe(sketchOf([101, 102]).quantile(0.5));
    expect(second.p99).toBe(sketchOf([101, 102]).quantile(0.99));
    expect(Math.abs((second.p50 as number) - 101) / 101).toBeLessThanOrEqual(0.01);
    expect(second).not.toHaveProperty('distinct');
  });

  it('series: a `from` inside a window includes that window; the 5m series only sees 5m items', async () => {
    const inside = await reader.series('views', '1m', DE_HOME, T0 + 30_000, T0 + 61_000);
    expect(inside.points.map((p) => p.windowStartMs)).toEqual([T0, T0 + MIN]);
    const five = await reader.series('views', '5m', DE_HOME, T0 - 60 * MIN, T0 + 60 * MIN);
    expect(five.points).toEqual([{ windowStartMs: T0, count: 15, sum: 1000, min: 1, max: 405, mean: 1000 / 15 }]);
  });

  it('series: dimension values with |, # and % round-trip through the key escaping', async () => {
    const result = await reader.series('views', '1m', ODD, T0, T0 + MIN);
    expect(result.points).toEqual([{ windowStartMs: T0, count: 2, sum: 10, min: 4, max: 6, mean: 5 }]);
  });

  it('series: follows LastEvaluatedKey across Query pages', async () => {
    const firstPage = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: counterPk('plain', []) } },
      }),
    );
    expect(firstPage.LastEvaluatedKey).toBeDefined();
    const result = await reader.series('plain', '1m', [], T0, T0 + 60 * MIN);
    expect(result.points.map((p) => p.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('series: an empty group or range gives no points', async () => {
    expect((await reader.series('views', '1m', ['XX', '/'], T0, T0 + 10 * MIN)).points).toEqual([]);
    expect((await reader.series('views', '1m', DE_HOME, T0, T0)).points).toEqual([]);
  });

  it('rolling: merges the finest buckets whose start is in (now - N min, now]', async () => {
    // Prepare: 30 s into the T0+4m bucket
    const now = T0 + 4 * MIN + 30_000;

    // Act
    const last1 = await reader.rolling('views', DE_HOME, 1, now);
    const last5 = await reader.rolling('views', DE_HOME, 5, now);
    const last60 = await reader.rolling('views', DE_HOME, 60, now);

    // Assess
    expect(last1).toMatchObject({
      windowLabel: '1m',
      buckets: 1,
      count: 5,
      min: 401,
      max: 405,
      sum: 401 + 402 + 403 + 404 + 405,
    });
    const all = range(0, 5).flatMap((i) => range(100 * i + 1, 100 * i + 2 + i));
    expect(last5).toMatchObject({
      buckets: 5,
      count: 15,
      sum: all.reduce((a, b) => a + b, 0),
      min: 1,
      max: 405,
      fromMs: now - 5 * MIN + 1,
      toMs: now,
    });
    expect(last5.mean).toBeCloseTo(all.reduce((a, b) => a + b, 0) / 15, 10);
    const merged = sketchOf(all);
    expect(last5.p50).toBe(merged.quantile(0.5));
    expect(last5.p95).toBe(merged.quantile(0.95));
    expect(last5.p99).toBe(merged.quantile(0.99));
    // the bucket 30 minutes back counts for the last hour only
    expect(last60).toMatchObject({ buckets: 6, count: 15 + 99, min: 1, max: 405 });
  });

  it('rolling: distinct counts merge HyperLogLogs (a union), never add estimates', async () => {
    const now = T0 + 4 * MIN + 59_999;
    const last5 = await reader.rolling('users', ['free'], 5, now);
    const union = hllOf(0, 100);
    union.merge(hllOf(50, 150));
    expect(last5.count).toBe(200);
    expect(last5.distinct).toBe(Math.round(union.estimate()));
    expect(Math.abs((last5.distinct as number) - 150)).toBeLessThanOrEqual(3);
    expect(last5).not.toHaveProperty('sum');
    expect(last5).not.toHaveProperty('p50');
    const last1 = await reader.rolling('users', ['free'], 1, now);
    expect(last1.distinct).toBe(Math.round(hllOf(50, 150).estimate()));
  });

  it('rolling: nothing stored gives zero buckets and a zero count', async () => {
    const result = await reader.rolling('views', DE_HOME, 15, T0 + 600 * MIN);
    expect(result).toMatchObject({ buckets: 0, count: 0 });
    expect(result).not.toHaveProperty('sum');
  });

  it('top: groups of one window ranked by count, ties by dimension values', async () => {
    // Act
    const top3 = await reader.top('views', '1m', T0, undefined, 3);

    // Assess
    expect(top3.groups).toBe(5);
    expect(top3.dimensions).toEqual(['country', 'page']);
    expect(top3.entries).toEqual([
      { dimensionValues: ['FR', '/home'], count: 7, sum: 7 },
      { dimensionValues: ['US', '/home'], count: 7, sum: 70 },
      { dimensionValues: ['DE', '/cart'], count: 5, sum: 50 },
    ]);
  });

  it('top: rolled up to one dimension adds up the others', async () => {
    const byCountry = await reader.top('views', '1m', T0, 0, 10);
    expect(byCountry.dimensions).toEqual(['country']);
    expect(byCountry.entries.map((e) => [e.dimensionValues[0], e.count])).toEqual([
      ['FR', 7],
      ['US', 7],
      ['DE', 1 + 5],
      ['a|b#c%', 2],
    ]);
    const byPage = await reader.top('views', '1m', T0, 1, 10);
    expect(byPage.entries).toEqual([
      { dimensionValues: ['/home'], count: 15, sum: 7 + 70 + 1 },
      { dimensionValues: ['/cart'], count: 5, sum: 50 },
      { dimensionValues: ['/x'], count: 2, sum: 10 },
    ]);
  });

  it("top: the window's keys from the keys-only index, their counts by BatchGetItem, ranked exactly", async () => {
    // Prepare: metric `wide`, 2 adjacent 1m windows x 150 groups each; counts differ per window and tie in
    // pairs. 150 groups: two BatchGetItem calls of <= 100 keys.
    const metrics: MetricConfig[] = [{ name: 'wide', dimensions: ['k'], aggregates: ['count'], windows: ['1m'] }];
    const wide = new CounterReader({ client, tableName: table, metrics: compileConfig({ metrics }) });
    const W1 = T0 + 200 * MIN;
    const W2 = W1 + MIN;
    const GROUPS = 150;
    const key = (i: number): string => 'g' + String(i).padStart(3, '0');
    const puts: Array<Promise<unknown>> = [];
    for (let i = 0; i < GROUPS; i++) {
      for (const [startMs, count] of [
        [W1, 1 + Math.floor(i / 2)],
        [W2, 1000 + i],
      ])
        puts.push(
          client.send(
            new PutItemCommand({
              TableName: table,
              Item: counterItem({
                metric: 'wide',
                dimensionNames: ['k'],
                dims: [key(i)],
                window: '1m',
                startMs,
                count,
              }),
            }),
          ),
        );
    }
    await Promise.all(puts);
    const sent: Array<{ command: string; input: Json }> = [];
    const spy = {
      send: (command: { input: Record<string, unknown> }) => (
        sent.push({ command: command.constructor.name, input: command.input }),
        client.send(command as never)
      ),
    } as unknown as DynamoDBClient;
    const spied = new CounterReader({ client: spy, tableName: table, metrics: compileConfig({ metrics }) });

    // Act
    const top5 = await spied.top('wide', '1m', W1, undefined, 5);
    const first = await wide.top('wide', '1m', W1, undefined, 1);
    const all = await wide.top('wide', '1m', W1, 0, 200);

    // Assess: W1's counts pair up (g148,g149 = 75; g146,g147 = 74; g144,g145 = 73 ...); the 5th entry's tie
    // at 73 goes to g144 (dimension values), and limit 1 picks g148 over g149 the same way.
    expect(top5.groups).toBe(GROUPS);
    expect(top5.entries).toEqual([
      { dimensionValues: ['g148'], count: 75 },
      { dimensionValues: ['g149'], count: 75 },
      { dimensionValues: ['g146'], count: 74 },
      { dimensionValues: ['g147'], count: 74 },
      { dimensionValues: ['g144'], count: 73 },
    ]);
    expect(first.entries).toEqual([{ dimensionValues: ['g148'], count: 75 }]);
    expect(all.groups).toBe(GROUPS);
    expect(all.entries.map((e) => e.count)).toEqual(Array.from({ length: GROUPS }, (_, i) => 75 - Math.floor(i / 2)));
    // One Query on the keys-only index, of W1's partition only, then ceil(150 / 100) = 2 eventually
    // consistent BatchGetItem calls of the table, for the count and sum only, W1's items only.
    expect(sent.map((s) => s.command)).toEqual(['QueryCommand', 'BatchGetItemCommand', 'BatchGetItemCommand']);
    expect(sent[0].input).toMatchObject({
      TableName: table,
      IndexName: WINDOW_INDEX.name,
      KeyConditionExpression: '#g = :g',
      ExpressionAttributeValues: { ':g': { S: windowGroupKey('wide', '1m', W1) } },
    });
    const gets = sent.slice(1).map((s) => s.input.RequestItems[table]);
    expect(gets.map((g) => g.Keys.length).sort()).toEqual([100, 50]);
    for (const get of gets) {
      expect(get.ConsistentRead).toBe(false);
      expect(Object.values(get.ExpressionAttributeNames).sort()).toEqual(
        [Attr.count, Attr.pk, Attr.sum, Attr.sk].sort(),
      );
      for (const k of get.Keys) expect(k[Attr.sk]).toEqual({ S: counterSk('1m', W1) });
    }
  });

  it('top, rollup: keys that BatchGetItem leaves unprocessed (throttling) are asked again, nothing lost', async () => {
    // Prepare: the real server behind a client that leaves the second half of a BatchGetItem unprocessed
    // the first time it sees its keys, as DynamoDB does under throttling.
    const metrics: MetricConfig[] = [{ name: 'wide', dimensions: ['k'], aggregates: ['count'], windows: ['1m'] }];
    const W1 = T0 + 200 * MIN; // seeded by the test above: 150 groups
    const asked = new Set<string>();
    let calls = 0;
    const throttled = {
      send: async (command: { input: Json }) => {
        if (command.constructor.name !== 'BatchGetItemCommand') return client.send(command as never);
        calls++;
        const request = command.input.RequestItems[table];
        const pks: string[] = request.Keys.map((k: Record<string, { S: string }>) => k[Attr.pk].S);
        if (pks.some((pk) => asked.has(pk))) return client.send(command as never);
        for (const pk of pks) asked.add(pk);
        const half = Math.ceil(request.Keys.length / 2);
        const out = await client.send(
          new BatchGetItemCommand({ RequestItems: { [table]: { ...request, Keys: request.Keys.slice(0, half) } } }),
        );
        return { ...out, UnprocessedKeys: { [table]: { ...request, Keys: request.Keys.slice(half) } } };
      },
    } as unknown as DynamoDBClient;
    const reader2 = new CounterReader({ client: throttled, tableName: table, metrics: compileConfig({ metrics }) });
    const plain = new CounterReader({ client, tableName: table, metrics: compileConfig({ metrics }) });

    // Act
    const top = await reader2.top('wide', '1m', W1, undefined, 200);
    const rollup = await reader2.rollup('wide', '1m', W1, undefined);

    // Assess: the same answer as an unthrottled read; top asked each of its 2 chunks twice, rollup (keys
    // seen before) once each.
    expect(top).toEqual(await plain.top('wide', '1m', W1, undefined, 200));
    expect(top.groups).toBe(150);
    expect(rollup.total.count).toBe((await plain.rollup('wide', '1m', W1, undefined)).total.count);
    expect(rollup.reads).toEqual({ queries: 1, batchGets: 2 });
    expect(calls).toBe(2 * 2 + 2);
  });

  it('top, rollup: read through the legacy byWindow index too (the upgrade deploy, KeepLegacyTopIndex)', async () => {
    // Prepare: a table with only the old index (g, sorted by c), written by the writer's own merge.
    const legacyTable = 'counters-legacy-index';
    await createCountersTable(client, legacyTable, 'legacy');
    for (const [dims, count] of [
      [['DE', '/a'], 4],
      [['US', '/a'], 9],
      [['DE', '/b'], 4],
    ] as const)
      await putCounter(client, legacyTable, TEST_METRICS, {
        metric: 'views',
        dims,
        window: '1m',
        startMs: T0,
        count,
        sum: count,
      });
    const legacy = new CounterReader({
      client,
      tableName: legacyTable,
      metrics: compileConfig({ metrics: TEST_METRICS }),
      windowIndex: LEGACY_TOP_INDEX,
    });

    // Act
    const top = await legacy.top('views', '1m', T0, undefined, 10);
    const rollup = await legacy.rollup('views', '1m', T0, 0);

    // Assess
    expect(top.entries).toEqual([
      { dimensionValues: ['US', '/a'], count: 9, sum: 9 },
      { dimensionValues: ['DE', '/a'], count: 4, sum: 4 },
      { dimensionValues: ['DE', '/b'], count: 4, sum: 4 },
    ]);
    expect(rollup.entries.map((e) => [e.dimensionValues[0], e.count])).toEqual(
      [
        ['DE', 8],
        ['US', 9],
      ].sort((a, b) => Number(b[1]) - Number(a[1])),
    );
  });

  it('top: a counter written (and then updated) by the real CounterWriter is found, at its current count', async () => {
    // Prepare: two batches into the same item; the second one moves it up the ranking.
    const writer = new CounterWriter({ client, tableName: table });
    const W = T0 + 300 * MIN;
    const write = (dims: string[], count: number): ReturnType<CounterWriter['write']> => {
      const delta = cellItemDelta(
        seedCellDelta({
          metric: 'views',
          dimensionNames: ['country', 'page'],
          dims,
          window: '1m',
          startMs: W,
          count,
          sum: count * 10,
          min: 10,
          max: 10,
        }),
      );
      return writer.write({
        deltas: [delta],
        lane: undefined,
        positionOf: (i) => padSequence(String(i + 1)),
        recordCount: 1,
        recompute: () => new Map(),
        deadlineMs: Date.now() + 10_000,
      });
    };
    expect((await write(['SE', '/a'], 3)).written).toBe(1);
    expect((await write(['NO', '/b'], 5)).written).toBe(1);
    expect((await reader.top('views', '1m', W, undefined, 1)).entries).toEqual([
      { dimensionValues: ['NO', '/b'], count: 5, sum: 50 },
    ]);

    // Act
    expect((await write(['SE', '/a'], 4)).written).toBe(1);
    const top = await reader.top('views', '1m', W, undefined, 10);

    // Assess
    expect(top).toMatchObject({
      groups: 2,
      entries: [
        { dimensionValues: ['SE', '/a'], count: 7, sum: 70 },
        { dimensionValues: ['NO', '/b'], count: 5, sum: 50 },
      ],
    });
  });

  it('top: a window with nothing in it is empty', async () => {
    expect(await reader.top('views', '5m', T0 + 5 * MIN, undefined, 10)).toMatchObject({ groups: 0, entries: [] });
  });

  it('stats: rejected, late and folded counts per reason from the __stats__ items, names and codes alike', async () => {
    const stats = await reader.stats('views', T0, T0 + 10 * MIN);
    expect(stats).toEqual({
      metric: 'views',
      windowLabel: '1m',
      fromMs: T0,
      toMs: T0 + 10 * MIN,
      rejected: 2 + 4,
      late: 3 + 1,
      folded: 6,
      byReason: { too_late: 4, invalid_json: 2, invalid_value: 4, folded: 6 },
      buckets: [
        { windowStartMs: T0, rejected: 2, late: 3, folded: 0 },
        { windowStartMs: T0 + MIN, rejected: 4, late: 1, folded: 6 },
      ],
    });
    const all = await reader.stats('__all__', T0, T0 + 10 * MIN);
    expect(all).toMatchObject({ rejected: 9, late: 0, byReason: { undecodable: 9 } });
  });

  it('metrics: definitions with windows finest first', () => {
    const metrics = reader.metrics();
    expect(metrics.map((m) => m.name)).toEqual(['views', 'users', 'plain']);
    expect(metrics[0]).toEqual({
      name: 'views',
      dimensions: ['country', 'page'],
      aggregates: ['count', 'sum', 'min', 'max', 'mean', 'p50', 'p95', 'p99'],
      windows: [
        { label: '1m', sizeMs: MIN },
        { label: '5m', sizeMs: 5 * MIN },
      ],
      value: 'latencyMs',
      source: 'kinesis',
    });
  });

  it('rejects bad arguments naming the argument and what is allowed', async () => {
    const fails = async (p: Promise<unknown>, parameter: string, allowed?: unknown[]): Promise<void> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ReadArgumentError);
      expect((err as ReadArgumentError).parameter).toBe(parameter);
      if (allowed) expect((err as ReadArgumentError).allowed).toEqual(allowed);
    };
    await fails(reader.series('nope', '1m', [], T0, T0), 'metric', ['views', 'users', 'plain']);
    await fails(reader.series('views', '1h', DE_HOME, T0, T0), 'window', ['1m', '5m']);
    await fails(reader.series('views', '1m', ['DE'], T0, T0), 'dims', ['country', 'page']);
    await fails(reader.series('views', '1m', DE_HOME, T0 + 1, T0), 'from');
    await fails(reader.series('views', '1m', DE_HOME, 0, (MAX_SERIES_WINDOWS + 1) * MIN), 'from');
    await fails(reader.series('views', '1m', DE_HOME, Number.NaN, T0), 'from');
    await fails(reader.rolling('views', DE_HOME, 7 as 5, T0), 'minutes', [1, 5, 15, 60]);
    await fails(reader.top('views', '1m', T0, 2, 10), 'dimension', ['country', 'page']);
    await fails(reader.top('views', '1m', T0, undefined, 0), 'limit');
    await fails(reader.stats('nope', T0, T0), 'metric');
  });

  it('a missing table surfaces as CounterReadError with the SDK error as cause', async () => {
    const lost = new CounterReader({
      client,
      tableName: 'no-such-table',
      metrics: compileConfig({ metrics: TEST_METRICS }),
    });
    const err = await lost.series('plain', '1m', [], T0, T0 + MIN).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CounterReadError);
    expect((err as Error).message).toMatch(/ResourceNotFoundException.*COUNTERS_TABLE/);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });
});
