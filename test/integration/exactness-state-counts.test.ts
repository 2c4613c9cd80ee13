/**
 * Exact levels of a `state` metric (orders per status) under Lambda's at-least-once delivery, from REAL
 * DynamoDB Streams records: order changes written with the SDK into DynamoDB Local (AWS's own, Java 17+),
 * read back from its stream with GetRecords (shaped as Lambda delivers them), and fed to the real handler
 * with duplicates, bisection, retries from a checkpoint, lost responses and throttling. After every
 * scenario the level items must equal the live orders of the generator that wrote the changes.
 * Skips, with the reason printed, where Java 17+ is missing.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { testAnalyticsHandler } from '../helpers/test-handler.js';
import { javaRuntime, startDynamoDbLocal, type LocalServer } from '../../src/local/aws/servers.js';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { CounterReader } from '../../src/read/counter-reader.js';
import { mulberry32 as rng } from '../../src/samples/prng.js';
import { createCountersTable, localDynamoClient } from '../helpers/counters-table.js';
import { FaultInjector } from '../helpers/fault-injector.js';
import { lambdaContext } from '../helpers/kinesis-batch.js';
import { writeOrderStream } from '../helpers/order-stream.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const JAVA = javaRuntime();
if (JAVA.unavailableReason)
  console.warn(`[skip] state-count exactness on real DynamoDB Streams records: ${JAVA.unavailableReason}`);

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'orders_by_status',
      kind: 'state',
      dimensions: ['status'],
      value: 'amount',
      aggregates: ['count', 'sum', 'mean'],
    },
    {
      name: 'orders_by_country_status',
      kind: 'state',
      dimensions: ['country', 'status'],
      aggregates: ['count'],
    },
  ],
};
const CHANGES = 400;

interface Written {
  /** Changes the writer applied (a MODIFY that changes nothing is not written). */
  applied: number;
  records: DynamoDBRecord[];
  shardId: string;
  byStatus: Record<string, number>;
  amountByStatus: Record<string, number>;
  byCountryStatus: Record<string, number>;
}

async function writeOrders(server: LocalServer, table: string, seed: number, count: number): Promise<Written> {
  const out = await writeOrderStream(server, table, { seed, count, targetLiveOrders: 60 });
  return {
    applied: out.applied,
    records: out.records,
    shardId: out.shardId,
    byStatus: out.generator.statusCounts(),
    amountByStatus: out.generator.statusAmounts(),
    byCountryStatus: out.generator.countsBy(['country', 'status']),
  };
}

describe.skipIf(JAVA.unavailableReason !== undefined)('exact state counts on DynamoDB Local stream records', () => {
  let server: LocalServer;
  let written: Written;
  let tables = 0;

  beforeAll(async () => {
    server = await startDynamoDbLocal();
    written = await writeOrders(server, 'orders-source', 11, CHANGES);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  interface Rig {
    faults: FaultInjector;
    invoke(records: DynamoDBRecord[]): Promise<StreamResponse>;
    assertExact(): Promise<void>;
  }

  async function rig(): Promise<Rig> {
    const table = `counters-${++tables}`;
    const client: DynamoDBClient = localDynamoClient(server.endpoint, 1);
    await createCountersTable(client, table);
    const faults = new FaultInjector();
    faults.attach(client);
    const metrics = compileConfig(CONFIG);
    const handler = testAnalyticsHandler({ table, metrics, dynamodb: client });
    const reader = new CounterReader({ client: localDynamoClient(server.endpoint), tableName: table, metrics });
    return {
      faults,
      // As Lambda invokes with a tumbling window: shardId names the lane of the per-shard progress.
      invoke: async (records) =>
        (await handler(
          {
            Records: records,
            shardId: written.shardId,
            window: { start: '2026-12-01T00:00:00Z', end: '2026-12-01T00:01:00Z' },
            state: {},
            isFinalInvokeForWindow: false,
            isWindowTerminatedEarly: false,
          } as unknown as StreamEvent,
          lambdaContext(20_000) as never,
        )) as StreamResponse,
      async assertExact() {
        const byStatus = await reader.levels('orders_by_status');
        const counts = Object.fromEntries(byStatus.levels.map((l) => [l.dimensionValues[0], l.count]));
        expect(counts).toEqual(written.byStatus);
        for (const l of byStatus.levels) expect(l.sum).toBeCloseTo(written.amountByStatus[l.dimensionValues[0]], 6);
        const both = await reader.levels('orders_by_country_status');
        expect(Object.fromEntries(both.levels.map((l) => [l.dimensionValues.join('|'), l.count]))).toEqual(
          written.byCountryStatus,
        );
      },
    };
  }

  const seqOf = (r: DynamoDBRecord): string => r.dynamodb?.SequenceNumber ?? '';

  async function deliverUntilDone(r: Rig, records: DynamoDBRecord[], maxInvocations = 20): Promise<number> {
    let from = 0;
    for (let n = 1; n <= maxInvocations; n++) {
      const response = await r.invoke(records.slice(from));
      if (response.batchItemFailures.length === 0) return n;
      const at = records.findIndex((rec) => seqOf(rec) === response.batchItemFailures[0].itemIdentifier);
      expect(at).toBeGreaterThanOrEqual(from);
      from = at;
    }
    throw new Error('batch never succeeded');
  }

  it('the stream holds INSERT, MODIFY (status and note) and REMOVE records with both images', () => {
    const names = new Set(written.records.map((r) => r.eventName));
    expect([...names].sort()).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(written.records.length).toBe(written.applied);
    expect(written.applied).toBeGreaterThan(CHANGES * 0.9);
    const modify = written.records.find((r) => r.eventName === 'MODIFY');
    expect(modify?.dynamodb?.OldImage).toBeDefined();
    expect(modify?.dynamodb?.NewImage).toBeDefined();
    const noteOnly = written.records.filter(
      (r) => r.eventName === 'MODIFY' && r.dynamodb?.OldImage?.status?.S === r.dynamodb?.NewImage?.status?.S,
    );
    expect(noteOnly.length, 'some updates leave the status alone').toBeGreaterThan(0);
  });

  it('batches of 100 in order: levels equal the live orders', async () => {
    const r = await rig();
    for (let i = 0; i < written.records.length; i += 100) {
      expect((await r.invoke(written.records.slice(i, i + 100))).batchItemFailures).toEqual([]);
    }
    await r.assertExact();
  });

  it('a duplicate delivery of every batch changes nothing', async () => {
    const r = await rig();
    for (let i = 0; i < written.records.length; i += 80) {
      const batch = written.records.slice(i, i + 80);
      await r.invoke(batch);
      await r.invoke(batch);
    }
    await r.assertExact();
  });

  it('bisection after a failed full batch: 0 drift', async () => {
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 3, times: 1_000 });
    const failed = await r.invoke(written.records);
    expect(failed.batchItemFailures.length).toBe(1);
    r.faults.clear();
    const half = written.records.length / 2;
    await r.invoke(written.records.slice(0, half));
    await r.invoke(written.records.slice(half));
    await r.invoke(written.records.slice(0, half));
    await r.assertExact();
  });

  it('a write failing part-way reports a checkpoint; the retry from it is exact', async () => {
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 4, times: 3 });
    const invocations = await deliverUntilDone(r, written.records);
    expect(invocations).toBeGreaterThan(1);
    await r.assertExact();
  });

  it('lost responses (applied, then a timeout) and throttling are not applied twice', async () => {
    const r = await rig();
    r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'TimeoutError', skip: 2, times: 4 });
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'ThrottlingException', skip: 8, times: 3 });
    await deliverUntilDone(r, written.records);
    expect(r.faults.fired).toBe(7);
    await r.assertExact();
  });

  it('random schedules (failures, stray halves, duplicates, checkpoints) never drift', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const random = rng(seed * 7919);
      const r = await rig();
      const records = written.records;
      let from = 0;
      let guard = 0;
      while (from < records.length && guard++ < 80) {
        const batch = records.slice(from, from + 1 + Math.floor(random() * 120));
        if (random() < 0.3)
          r.faults.add({
            command: 'PutItemCommand',
            when: random() < 0.5 ? 'before' : 'after',
            errorName: random() < 0.5 ? 'InjectedFailure' : 'TimeoutError',
            skip: Math.floor(random() * 6),
            times: 1 + Math.floor(random() * 3),
          });
        const response = await r.invoke(batch);
        r.faults.clear();
        if (random() < 0.2) await r.invoke(batch.slice(0, Math.ceil(batch.length / 2)));
        if (response.batchItemFailures.length > 0) {
          from = records.findIndex((rec) => seqOf(rec) === response.batchItemFailures[0].itemIdentifier);
        } else {
          if (random() < 0.2) await r.invoke(batch);
          from += batch.length;
        }
      }
      expect(from).toBe(records.length);
      await r.assertExact();
    }
  });
});
