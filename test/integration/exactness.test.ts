/**
 * Exact counters under Lambda's at-least-once delivery, against a real DynamoDB-API server (dynalite)
 * with the real SDK client. After every scenario the counters table must equal the reference model.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KinesisStreamRecord } from 'aws-lambda';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { compileConfig } from '../../src/core/metric-config.js';
import { DDSketch } from '../../src/core/sketch/ddsketch.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { testAnalyticsHandler } from '../helpers/test-handler.js';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { mulberry32 as rng } from '../../src/samples/prng.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { createCountersTable, diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { FaultInjector } from '../helpers/fault-injector.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { exactnessMetrics } from '../helpers/exactness-metrics.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const CONFIG: StreamtallyConfig = exactnessMetrics();
const BASE_MS = Date.parse('2026-11-26T12:00:00.000Z');

interface Shard {
  id: string;
  records: KinesisStreamRecord[];
  events: ModelEvent[];
}

function makeShard(shardNumber: number, count: number, seed: number): Shard {
  const random = rng(seed);
  const id = `shardId-${String(shardNumber).padStart(12, '0')}`;
  const records: KinesisStreamRecord[] = [];
  const events: ModelEvent[] = [];
  const countries = ['DE', 'US', 'FR', 'JP'];
  const pages = ['/', '/pricing', '/docs', '/blog#1'];
  for (let i = 0; i < count; i++) {
    const arrivalMs = BASE_MS + i * 250;
    const type = random() < 0.8 ? 'page_view' : 'purchase';
    const event = {
      type,
      ts: new Date(arrivalMs - Math.floor(random() * 90_000)).toISOString(),
      user: { id: `u-${Math.floor(random() * 50)}`, plan: random() < 0.3 ? 'pro' : 'free' },
      page: pages[Math.floor(random() * pages.length)],
      country: countries[Math.floor(random() * countries.length)],
      latencyMs: Math.floor(random() * 500),
      amount: type === 'purchase' ? Math.floor(random() * 100) + 0.5 : undefined,
      meta: { ref: null },
    };
    events.push({ event, arrivalMs });
    records.push(kinesisRecord(id, sequenceNumber(shardNumber, i + 1), JSON.stringify(event), arrivalMs));
  }
  return { id, records, events };
}

let server: LocalServer;
let tableCounter = 0;

beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server?.stop();
});

interface Rig {
  table: string;
  faults: FaultInjector;
  invoke(records: KinesisStreamRecord[]): Promise<StreamResponse>;
  assertExact(events: ModelEvent[]): Promise<void>;
}

async function rig(): Promise<Rig> {
  const table = `counters-${++tableCounter}`;
  const client = localDynamoClient(server.endpoint, 1);
  await createCountersTable(client, table);
  const faults = new FaultInjector();
  faults.attach(client);
  const handler = testAnalyticsHandler({ table, metrics: compileConfig(CONFIG), dynamodb: client });
  return {
    table,
    faults,
    invoke: async (records) =>
      (await handler({ Records: records } satisfies StreamEvent, lambdaContext(20_000) as never)) as StreamResponse,
    async assertExact(events) {
      const diffs = diffCounters(await scanCounters(client, table), referenceCounters(CONFIG, events));
      expect(diffs).toEqual([]);
    },
  };
}

/** Delivers records the way Lambda's event source mapping does with ReportBatchItemFailures: from the checkpoint on until all succeed. */
async function deliverUntilDone(r: Rig, records: KinesisStreamRecord[], maxInvocations = 20): Promise<number> {
  let from = 0;
  for (let n = 1; n <= maxInvocations; n++) {
    const response = await r.invoke(records.slice(from));
    if (response.batchItemFailures.length === 0) return n;
    const seq = response.batchItemFailures[0].itemIdentifier;
    const at = records.findIndex((rec) => rec.kinesis.sequenceNumber === seq);
    expect(at).toBeGreaterThanOrEqual(from);
    from = at;
  }
  throw new Error('batch never succeeded');
}

describe('exact counters under at-least-once delivery (dynalite, real SDK)', () => {
  let shard: Shard;
  beforeEach(() => {
    shard = makeShard(0, 400, 42);
  });

  it('one clean batch equals the reference model', async () => {
    const r = await rig();
    const response = await r.invoke(shard.records);
    expect(response.batchItemFailures).toEqual([]);
    await r.assertExact(shard.events);
  });

  it('the same batch delivered twice changes nothing', async () => {
    const r = await rig();
    await r.invoke(shard.records);
    const again = await r.invoke(shard.records);
    expect(again.batchItemFailures).toEqual([]);
    await r.assertExact(shard.events);
  });

  it('bisected halves after a failed full batch: 0 drift', async () => {
    const r = await rig();
    // The full batch writes some items, then a write fails for good and the function errors.
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 10, times: 1_000 });
    const failed = await r.invoke(shard.records);
    expect(failed.batchItemFailures.length).toBe(1);
    r.faults.clear();
    const half = shard.records.length / 2;
    await r.invoke(shard.records.slice(0, half));
    await r.invoke(shard.records.slice(half));
    // ...and bisection may deliver the halves again.
    await r.invoke(shard.records.slice(0, half));
    await r.assertExact(shard.events);
  });

  it('a write failing on the Nth item reports the lowest non-durable record, and the retry from that checkpoint is exact', async () => {
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 25, times: 3 });
    const invocations = await deliverUntilDone(r, shard.records);
    expect(invocations).toBeGreaterThan(1);
    await r.assertExact(shard.events);
  });

  it('retry from a checkpoint with a longer batch (new records appended) is exact, including partly applied items', async () => {
    const r = await rig();
    const more = makeShard(0, 600, 42); // same first 400 events, then 200 more in the same shard
    expect(more.events[0]).toEqual(shard.events[0]);
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 30, times: 2 });
    const response = await r.invoke(more.records.slice(0, 400));
    expect(response.batchItemFailures.length).toBe(1);
    const at = more.records.findIndex(
      (rec) => rec.kinesis.sequenceNumber === response.batchItemFailures[0].itemIdentifier,
    );
    r.faults.clear();
    await deliverUntilDone(r, more.records.slice(at));
    await r.assertExact(more.events);
  });

  it('throttling is retried with backoff inside the invocation: exact, no failures reported', async () => {
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'ThrottlingException', skip: 5, times: 6 });
    r.faults.add({
      command: 'BatchGetItemCommand',
      when: 'before',
      errorName: 'ProvisionedThroughputExceededException',
      skip: 0,
      times: 1,
    });
    const response = await r.invoke(shard.records);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.faults.fired).toBe(7);
    await r.assertExact(shard.events);
  });

  it('a timeout after the write succeeded (response lost) is not applied twice', async () => {
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'TimeoutError', skip: 3, times: 4 });
    const response = await r.invoke(shard.records);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.faults.fired).toBe(4);
    await r.assertExact(shard.events);
  });

  it('batches replayed out of order within their shard: 0 drift', async () => {
    const r = await rig();
    const a = shard.records.slice(0, 150);
    const b = shard.records.slice(150, 300);
    const c = shard.records.slice(300);
    await r.invoke(a);
    await r.invoke(b);
    await r.invoke(a);
    await r.invoke(c);
    await r.invoke(b);
    await r.invoke(shard.records);
    await r.assertExact(shard.events);
  });

  it('two shards writing the same counter items concurrently stay exact', async () => {
    const r = await rig();
    const other = makeShard(1, 400, 7);
    await Promise.all([deliverUntilDone(r, shard.records), deliverUntilDone(r, other.records)]);
    await Promise.all([r.invoke(shard.records.slice(100)), r.invoke(other.records.slice(0, 200))]);
    await r.assertExact([...shard.events, ...other.events]);
  });

  it("concurrent invocations of one handler (the local runner polls shards in parallel) keep each item's sketch to its own events", async () => {
    const r = await rig();
    const batch = (shardNumber: number, country: string, base: number): KinesisStreamRecord[] =>
      Array.from({ length: 300 }, (_, i) =>
        kinesisRecord(
          `shardId-00000000000${shardNumber}`,
          sequenceNumber(shardNumber, i + 1),
          JSON.stringify({
            type: 'page_view',
            ts: new Date(BASE_MS).toISOString(),
            country,
            page: '/',
            latencyMs: base + (i % 100),
            user: { id: `u-${i}`, plan: 'free' },
          }),
          BASE_MS + 1000,
        ),
      );
    await Promise.all([
      r.invoke(batch(0, 'DE', 0)),
      r.invoke(batch(1, 'US', 1000)),
      r.invoke(batch(0, 'DE', 0).slice(150)),
      r.invoke(batch(1, 'US', 1000).slice(100)),
    ]);
    const client = localDynamoClient(server.endpoint);
    const items = (await client.send(new ScanCommand({ TableName: r.table }))).Items ?? [];
    const views = items.filter((i) => i.pk.S?.startsWith('views#'));
    expect(views.length).toBe(4); // DE and US, 1m and 5m
    for (const item of views) {
      const sketch = DDSketch.deserialize(item.q.B as Uint8Array);
      expect(sketch.count, item.pk.S).toBe(300);
      expect(sketch.quantile(1), item.pk.S).toBeLessThanOrEqual(Number(item.mx.N) * 1.02);
      expect(sketch.quantile(0), item.pk.S).toBeGreaterThanOrEqual(Number(item.mn.N) * 0.98);
    }
  });

  it('random delivery schedules (failures, bisection, redelivery, duplicates) never drift', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const random = rng(seed * 7919);
      const r = await rig();
      const s = makeShard(0, 300, seed);
      let from = 0;
      let guard = 0;
      while (from < s.records.length && guard++ < 60) {
        const size = 1 + Math.floor(random() * 120);
        const batch = s.records.slice(from, from + size);
        if (random() < 0.3)
          r.faults.add({
            command: 'PutItemCommand',
            when: random() < 0.5 ? 'before' : 'after',
            errorName: random() < 0.5 ? 'InjectedFailure' : 'TimeoutError',
            skip: Math.floor(random() * 10),
            times: 1 + Math.floor(random() * 3),
          });
        const response = await r.invoke(batch);
        r.faults.clear();
        if (random() < 0.2) await r.invoke(batch.slice(0, Math.ceil(batch.length / 2))); // a stray bisected half
        if (response.batchItemFailures.length > 0) {
          from = s.records.findIndex(
            (rec) => rec.kinesis.sequenceNumber === response.batchItemFailures[0].itemIdentifier,
          );
        } else {
          if (random() < 0.2) await r.invoke(batch); // a duplicate delivery
          from += batch.length;
        }
      }
      expect(from).toBe(s.records.length);
      await r.assertExact(s.events);
    }
  });
});
