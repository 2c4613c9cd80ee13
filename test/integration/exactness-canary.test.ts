/**
 * Exactness during a canary or linear rollout (template.yaml: AutoPublishAlias + DeploymentPreference): the
 * `live` alias sends each invocation, i.e. each whole batch, to the old or the new version by weight. Here two
 * independently built handlers (own SDK client, writer, logger: nothing shared but the table) play the two
 * versions, chosen per invocation by a seeded weighted coin, while faults make batches fail part-way, lose
 * responses and get re-delivered from their checkpoints, possibly to the other version; then the rollout
 * rolls back and the old version replays everything. The counters must equal the reference model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamRecord } from 'aws-lambda';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { mulberry32 as rng } from '../../src/samples/prng.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { createCountersTable, diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { FaultInjector } from '../helpers/fault-injector.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'max', 'p95'],
      windows: ['1m', '5m'],
    },
    {
      name: 'users',
      eventTime: { field: 'ts', format: 'iso8601' },
      distinctField: 'user',
      aggregates: ['count', 'distinct'],
      windows: ['1m'],
    },
  ],
};
const BASE_MS = Date.parse('2026-11-26T12:00:00.000Z');
const TABLE = 'counters-canary';

function makeShard(
  shardNumber: number,
  count: number,
  seed: number,
): { records: KinesisStreamRecord[]; events: ModelEvent[] } {
  const random = rng(seed);
  const id = `shardId-${String(shardNumber).padStart(12, '0')}`;
  const records: KinesisStreamRecord[] = [];
  const events: ModelEvent[] = [];
  for (let i = 0; i < count; i++) {
    const arrivalMs = BASE_MS + i * 300;
    const event = {
      ts: new Date(arrivalMs - Math.floor(random() * 60_000)).toISOString(),
      country: ['DE', 'US', 'FR'][Math.floor(random() * 3)],
      user: `u-${Math.floor(random() * 40)}`,
      latencyMs: Math.floor(random() * 800),
    };
    events.push({ event, arrivalMs });
    records.push(kinesisRecord(id, sequenceNumber(shardNumber, i + 1), JSON.stringify(event), arrivalMs));
  }
  return { records, events };
}

describe('exact counters while the alias shifts between two versions (dynalite, real SDK)', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('canary 10% with faults and redelivery across versions, then a rollback and a full replay: 0 drift', async () => {
    // Prepare: two "versions", each with its own client and fault schedule.
    await createCountersTable(localDynamoClient(server.endpoint, 1), TABLE);
    const versions = [0, 1].map((v) => {
      const client = localDynamoClient(server.endpoint, 1);
      const faults = new FaultInjector();
      faults.attach(client);
      // Old version: writes that fail before reaching the table; new one: writes applied, responses lost.
      faults.add({
        command: 'UpdateItemCommand',
        when: v === 0 ? 'before' : 'after',
        errorName: 'InternalServerError',
        skip: 40 + v * 25,
        times: 6,
      });
      faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'TimeoutError', skip: 10 + v * 7, times: 3 });
      const handler = createAnalyticsHandler({
        config: {
          countersTable: TABLE,
          failureQueueUrl: undefined,
          metrics: compileConfig(CONFIG),
          metricsSource: `version ${v + 1}`,
          maxDecompressedBytes: 1 << 20,
          writeConcurrency: 8,
          deadlineMarginMs: 1000,
        },
        dynamodb: client,
        sqs: new SQSClient({ region: 'us-east-1' }),
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: new Metrics({ namespace: 'test' }),
      });
      return { client, faults, handler, invocations: 0 };
    });
    const coin = rng(2026);
    let newWeight = 0.1;
    const invoke = async (records: KinesisStreamRecord[]): Promise<StreamResponse> => {
      const version = versions[coin() < newWeight ? 1 : 0];
      version.invocations++;
      return (await version.handler(
        { Records: records } satisfies StreamEvent,
        lambdaContext(20_000) as never,
      )) as StreamResponse;
    };
    /** Lambda's mapping with ReportBatchItemFailures: batches of 100, each retried from its checkpoint. */
    const deliver = async (records: KinesisStreamRecord[]): Promise<void> => {
      for (let start = 0; start < records.length; start += 100) {
        const batch = records.slice(start, start + 100);
        let from = 0;
        for (let attempt = 0; from < batch.length; attempt++) {
          expect(attempt, 'batch never succeeded').toBeLessThan(20);
          const { batchItemFailures } = await invoke(batch.slice(from));
          if (batchItemFailures.length === 0) break;
          from = batch.findIndex((r) => r.kinesis.sequenceNumber === batchItemFailures[0].itemIdentifier);
        }
      }
    };
    const shards = [makeShard(0, 600, 11), makeShard(1, 600, 12)];

    // Act: the canary (10% to the new version), shards in parallel as Lambda runs them.
    await Promise.all(shards.map((s) => deliver(s.records.slice(0, 400))));
    // Linear step to 50%, the rest of the records.
    newWeight = 0.5;
    await Promise.all(shards.map((s) => deliver(s.records.slice(400))));
    // Rollback: everything to the old version, which re-reads the whole shard (e.g. a replay from TRIM_HORIZON).
    newWeight = 0;
    await Promise.all(shards.map((s) => deliver(s.records)));

    // Assess: both versions ran and faults fired in both; the counters are exact.
    expect(versions.map((v) => v.invocations > 0)).toEqual([true, true]);
    expect(versions.map((v) => v.faults.fired > 0)).toEqual([true, true]);
    const diffs = diffCounters(
      await scanCounters(versions[0].client, TABLE),
      referenceCounters(
        CONFIG,
        shards.flatMap((s) => s.events),
      ),
    );
    expect(diffs).toEqual([]);
  });
});
