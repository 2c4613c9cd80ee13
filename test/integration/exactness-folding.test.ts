/**
 * maxGroupsPerWindow folding under Lambda's at-least-once delivery (issue 11, defect 5), against dynalite
 * with the real SDK client: bisection, checkpoints, rewinds, duplicates, lost responses, two shards.
 * After every scenario: the totals over all groups of every window equal the reference model (0 drift), no
 * group has events both in its own item and in `__other__` across deliveries, and no window has more
 * groups than the cap (plus `__other__`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamRecord } from 'aws-lambda';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { mulberry32 as rng } from '../../src/samples/prng.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { createCountersTable, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { FaultInjector } from '../helpers/fault-injector.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const CAP = 5;
const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'hits',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['page'],
      value: 'ms',
      aggregates: ['count', 'sum', 'min', 'max'],
      windows: ['1m', '5m'],
      maxGroupsPerWindow: CAP,
    },
  ],
};
const BASE_MS = Date.parse('2026-11-26T12:00:00.000Z');

interface Shard {
  records: KinesisStreamRecord[];
  events: ModelEvent[];
}

/** 12 pages over 2 minutes: more groups per window than the cap, new groups keep appearing. */
function makeShard(shardNumber: number, count: number, seed: number): Shard {
  const random = rng(seed);
  const id = `shardId-${String(shardNumber).padStart(12, '0')}`;
  const records: KinesisStreamRecord[] = [];
  const events: ModelEvent[] = [];
  for (let i = 0; i < count; i++) {
    const arrivalMs = BASE_MS + i * 400;
    const event = { ts: new Date(arrivalMs).toISOString(), page: `/p${Math.floor(random() * 12)}`, ms: i % 97 };
    events.push({ event, arrivalMs });
    records.push(kinesisRecord(id, sequenceNumber(shardNumber, i + 1), JSON.stringify(event), arrivalMs));
  }
  return { records, events };
}

let server: LocalServer;
let tables = 0;
beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server?.stop();
});

interface Rig {
  faults: FaultInjector;
  invoke(records: KinesisStreamRecord[]): Promise<StreamResponse>;
  /** A tumbling-window invocation (window flush mode): its response, or the error Lambda would retry on. */
  invokeWindow(records: KinesisStreamRecord[], state: Record<string, unknown>, final: boolean): Promise<StreamResponse>;
  assertExact(events: ModelEvent[]): Promise<void>;
}

async function rig(windowFlush = false): Promise<Rig> {
  const tableName = `folding-${++tables}`;
  const client = localDynamoClient(server.endpoint, 1);
  await createCountersTable(client, tableName);
  const faults = new FaultInjector();
  faults.attach(client);
  const handler = createAnalyticsHandler({
    config: {
      countersTable: tableName,
      failureQueueUrl: undefined,
      metrics: compileConfig(CONFIG),
      metricsSource: 'test',
      maxDecompressedBytes: 1 << 20,
      writeConcurrency: 8,
      deadlineMarginMs: 1000,
      windowFlush,
      windowFlushGraceSeconds: 1,
    },
    dynamodb: client,
    sqs: new SQSClient({ region: 'us-east-1' }),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test' }),
  });
  return {
    faults,
    invoke: async (records) =>
      (await handler({ Records: records } satisfies StreamEvent, lambdaContext(20_000) as never)) as StreamResponse,
    invokeWindow: async (records, state, final) =>
      (await handler(
        {
          Records: records,
          window: { start: '2026-11-26T12:00:00Z', end: '2026-11-26T12:15:00Z' },
          state: JSON.parse(JSON.stringify(state)) as Record<string, unknown>,
          shardId: 'shardId-000000000000',
          isFinalInvokeForWindow: final,
          isWindowTerminatedEarly: false,
        } satisfies StreamEvent,
        lambdaContext(20_000) as never,
      )) as StreamResponse,
    async assertExact(events) {
      const table = await scanCounters(client, tableName);
      const model = referenceCounters(CONFIG, events);
      // Totals per window over all groups (own items and __other__), count and sum.
      const totals = (cells: Iterable<{ sk: string; count: number; sum: number }>): Map<string, string> => {
        const out = new Map<string, { count: number; sum: number }>();
        for (const c of cells) {
          const t = out.get(c.sk) ?? { count: 0, sum: 0 };
          t.count += c.count;
          t.sum += c.sum;
          out.set(c.sk, t);
        }
        return new Map([...out].map(([k, v]) => [k, `${v.count}/${v.sum}`]));
      };
      expect(Object.fromEntries(totals(table.values()))).toEqual(Object.fromEntries(totals(model.values())));
      // Each group's own item, where it has one, holds exactly the model's count: nothing of it went to __other__.
      const groupsPerWindow = new Map<string, number>();
      for (const cell of table.values()) {
        if (cell.pk === 'hits#__other__') continue;
        groupsPerWindow.set(cell.sk, (groupsPerWindow.get(cell.sk) ?? 0) + 1);
        const want = model.get(`${cell.pk}\u0000${cell.sk}`);
        expect(cell.count, `${cell.pk} ${cell.sk}`).toBe(want?.count);
      }
      for (const [sk, n] of groupsPerWindow) expect(n, sk).toBeLessThanOrEqual(CAP);
      expect([...table.values()].some((c) => c.pk === 'hits#__other__')).toBe(true);
      // The `folded` statistic is as exact: it equals what __other__ holds in the finest window.
      let inOther = 0;
      for (const c of table.values()) if (c.pk === 'hits#__other__' && c.sk.startsWith('1m#')) inOther += c.count;
      const raw = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
      let foldedStat = 0;
      for (const item of raw.Items ?? [])
        if (item.pk.S === '__stats__#hits') foldedStat += Number(item['r:folded']?.N ?? 0);
      expect(foldedStat).toBe(inOther);
    },
  };
}

async function deliverUntilDone(r: Rig, records: KinesisStreamRecord[], maxInvocations = 30): Promise<number> {
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

describe('defect 5: maxGroupsPerWindow folding is exact under redelivery', () => {
  it('bisection after a failed batch: halves decide as the whole batch did (0 drift)', async () => {
    const shard = makeShard(0, 300, 3);
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 4, times: 1_000 });
    const failed = await r.invoke(shard.records);
    expect(failed.batchItemFailures).toHaveLength(1);
    r.faults.clear();
    // Lambda bisects: each half alone sees other groups (and other group counts) than the whole batch did.
    await r.invoke(shard.records.slice(0, 150));
    await r.invoke(shard.records.slice(150));
    await r.invoke(shard.records.slice(75, 225));
    await r.invoke(shard.records.slice(0, 150));
    await r.assertExact(shard.events);
  });

  it('checkpoints: a write failing mid-batch, retried from the checkpoint until done', async () => {
    const shard = makeShard(0, 300, 5);
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 6, times: 3 });
    expect(await deliverUntilDone(r, shard.records)).toBeGreaterThan(1);
    await r.assertExact(shard.events);
  });

  it('rewinds and duplicates: suffixes, prefixes and whole batches again, out of order', async () => {
    const shard = makeShard(0, 300, 9);
    const r = await rig();
    // Records of a shard first arrive in order (ParallelizationFactor 1); anything may be delivered again.
    await r.invoke(shard.records.slice(0, 120));
    await r.invoke(shard.records.slice(50, 200));
    await r.invoke(shard.records.slice(0, 300));
    await r.invoke(shard.records.slice(100, 250));
    await r.invoke(shard.records.slice(200));
    await r.invoke(shard.records);
    await r.assertExact(shard.events);
  });

  it('lost responses of admission updates and counter writes are not applied twice', async () => {
    const shard = makeShard(0, 300, 11);
    const r = await rig();
    r.faults.add({ command: 'UpdateItemCommand', when: 'after', errorName: 'TimeoutError', skip: 1, times: 3 });
    r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'TimeoutError', skip: 2, times: 3 });
    await deliverUntilDone(r, shard.records);
    await r.assertExact(shard.events);
  });

  it('admission failing for good: nothing of the batch is written, the retry is exact', async () => {
    const shard = makeShard(0, 200, 13);
    const r = await rig();
    r.faults.add({ command: 'UpdateItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 0, times: 2 });
    const failed = await r.invoke(shard.records);
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: shard.records[0].kinesis.sequenceNumber }]);
    r.faults.clear();
    await deliverUntilDone(r, shard.records);
    await r.assertExact(shard.events);
  });

  it('two shards admitting groups of the same windows concurrently', async () => {
    const a = makeShard(0, 300, 17);
    const b = makeShard(1, 300, 19);
    const r = await rig();
    await Promise.all([deliverUntilDone(r, a.records), deliverUntilDone(r, b.records)]);
    await Promise.all([r.invoke(a.records.slice(120)), r.invoke(b.records.slice(0, 170))]);
    await r.assertExact([...a.events, ...b.events]);
  });

  it('window flush: carried deltas are capped too, under failed flushes and admissions retried with the same state', async () => {
    // Prepare: 2 minutes of records; the 12:00 1m window closes mid-way and is flushed from the carried state.
    const shard = makeShard(0, 300, 23);
    const r = await rig(true);
    let state: Record<string, unknown> = {};
    let failures = 0;
    const invoke = async (records: KinesisStreamRecord[], final: boolean): Promise<boolean> => {
      try {
        const response = await r.invokeWindow(records, state, final);
        expect(response.batchItemFailures).toEqual([]);
        state = response.state as Record<string, unknown>;
        return true;
      } catch {
        failures++; // Lambda retries with the same state (and bisects, but halves are not needed here)
        return false;
      }
    };
    // Act: batches of 30 (12 s); faults on the flushes' admissions and writes; a stale duplicate.
    for (let from = 0, b = 0; from < shard.records.length; from += 30, b++) {
      const batch = shard.records.slice(from, from + 30);
      if (b === 6) {
        r.faults.add({ command: 'UpdateItemCommand', when: 'after', errorName: 'TimeoutError', skip: 0, times: 1 });
        r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'InjectedFailure', skip: 1, times: 8 });
      }
      const before = state;
      for (let tries = 0; !(await invoke(batch, false)); tries++) expect(tries).toBeLessThan(10);
      r.faults.clear();
      if (b === 7) await r.invokeWindow(batch, before, false); // a lost response: delivered again, result dropped
    }
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'ThrottlingException', skip: 3, times: 2 });
    for (let tries = 0; !(await invoke([], true)); tries++) expect(tries).toBeLessThan(10);
    // Assess
    expect(failures).toBeGreaterThan(0);
    await r.assertExact(shard.events);
  });

  it('random schedules (failures, bisection, rewinds, duplicates, lost responses) never drift', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const random = rng(seed * 104729);
      const shard = makeShard(0, 240, seed);
      const r = await rig();
      let from = 0;
      let guard = 0;
      while (from < shard.records.length && guard++ < 60) {
        const batch = shard.records.slice(from, from + 1 + Math.floor(random() * 100));
        if (random() < 0.4)
          r.faults.add({
            command: random() < 0.5 ? 'PutItemCommand' : 'UpdateItemCommand',
            when: random() < 0.5 ? 'before' : 'after',
            errorName: random() < 0.5 ? 'InjectedFailure' : 'TimeoutError',
            skip: Math.floor(random() * 6),
            times: 1 + Math.floor(random() * 3),
          });
        const response = await r.invoke(batch);
        r.faults.clear();
        if (random() < 0.3) await r.invoke(batch.slice(Math.floor(batch.length / 2))); // a bisected half
        if (random() < 0.2) await r.invoke(shard.records.slice(Math.max(0, from - 50), from + 10)); // a rewind
        if (response.batchItemFailures.length > 0)
          from = shard.records.findIndex(
            (rec) => rec.kinesis.sequenceNumber === response.batchItemFailures[0].itemIdentifier,
          );
        else from += batch.length;
      }
      expect(from).toBe(shard.records.length);
      await r.assertExact(shard.events);
    }
  });
});
