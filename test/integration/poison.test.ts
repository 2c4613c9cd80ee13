/**
 * Regression tests of issue 11 ("no input can block a shard or lose data"), one describe block per numbered
 * defect, through the real handler: real dynalite for the counters, the real local SQS (src/local/local-sqs)
 * for the failure queue, a directory store for records too large for a queue message.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import { MAX_SQS_PAYLOAD_BYTES } from '../../src/sink/failure-destination.js';
import { createCountersTable, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const NOW = Date.now();
const ISO = new Date(NOW).toISOString();
const SHARD = 'shardId-000000000000';

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      source: 'kinesis',
      filter: [{ field: 'type', equals: 'view' }],
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['page'],
      value: 'ms',
      aggregates: ['count', 'sum'],
      windows: ['1m'],
    },
    {
      name: 'orders',
      source: 'both',
      filter: [{ eventName: ['INSERT', 'MODIFY'] }],
      dimensions: ['status'],
      aggregates: ['count'],
      windows: ['1m'],
    },
  ],
};

let dynalite: LocalServer;
let sqsServer: LocalServer;
let sqs: SQSClient;
let storeDir: string;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  sqsServer = await startLocalSqs();
  sqs = new SQSClient({
    endpoint: sqsServer.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
  storeDir = mkdtempSync(join(tmpdir(), 'streamtally-poison-'));
});
afterAll(async () => {
  await dynalite?.stop();
  await sqsServer?.stop();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

interface FailureMessage {
  sequenceNumber: string;
  shardId?: string;
  reasons: Array<{ reason: string; metric?: string; count?: number; details?: string[] }>;
  record?: { data?: string };
  recordObject?: string;
}

async function setup(overrides: { deadlineMarginMs?: number; latencyMs?: number } = {}) {
  const table = `poison-${++tables}`;
  const dynamodb = localDynamoClient(dynalite.endpoint);
  await createCountersTable(dynamodb, table);
  const latencyMs = overrides.latencyMs ?? 0;
  if (latencyMs > 0)
    // A slow table (the network, a throttled partition): every call takes latencyMs longer.
    dynamodb.middlewareStack.add(
      (next) => async (args) => {
        await new Promise((r) => setTimeout(r, latencyMs));
        return next(args);
      },
      { step: 'initialize', name: 'slowTable' },
    );
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `poison-failures-${tables}` }));
  const failureDir = join(storeDir, table);
  const handler = createAnalyticsHandler({
    config: {
      countersTable: table,
      failureQueueUrl: QueueUrl,
      failureBucket: undefined,
      failureDirectory: failureDir,
      metrics: compileConfig(CONFIG),
      metricsSource: 'test',
      maxDecompressedBytes: 1 << 20,
      writeConcurrency: 8,
      deadlineMarginMs: overrides.deadlineMarginMs ?? 1000,
    } as never,
    dynamodb,
    sqs,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test' }),
  });
  return {
    invoke: async (event: StreamEvent, remainingMs = 20_000) =>
      (await handler(event, lambdaContext(remainingMs) as never)) as StreamResponse,
    counters: () => scanCounters(dynamodb, table),
    failures: async (): Promise<FailureMessage[]> => {
      const out: FailureMessage[] = [];
      for (;;) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
        if (!r.Messages || r.Messages.length === 0) return out;
        for (const m of r.Messages) out.push(JSON.parse(m.Body as string));
      }
    },
    storedObjects: (): string[] => {
      try {
        return readdirSync(failureDir).map((f) => readFileSync(join(failureDir, f), 'utf8'));
      } catch {
        return [];
      }
    },
  };
}

const view = (page: string, ms = 5): string => JSON.stringify({ type: 'view', ts: ISO, page, ms });
const rec = (n: number, payload: string | Uint8Array): KinesisStreamRecord =>
  kinesisRecord(SHARD, sequenceNumber(0, n), payload, NOW);

function countOf(counters: Map<string, { pk: string; count: number }>, pkPrefix: string): number {
  let n = 0;
  for (const cell of counters.values()) if (cell.pk.startsWith(pkPrefix)) n += cell.count;
  return n;
}

describe('defect 1: a dimension value longer than a DynamoDB key allows', () => {
  it('is rejected key_too_long; the rest of the batch is counted and nothing is retried', async () => {
    // Prepare
    const h = await setup();
    const event = { Records: [rec(1, view('/a')), rec(2, view('x'.repeat(3000))), rec(3, view('/b'))] };
    // Act
    const response = await h.invoke(event);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const counters = await h.counters();
    expect(countOf(counters, 'views#')).toBe(2);
    const failures = await h.failures();
    expect(failures.map((f) => f.sequenceNumber)).toEqual([sequenceNumber(0, 2)]);
    expect(failures[0].reasons[0].reason).toBe('key_too_long');
    expect(failures[0].record?.data).toBe(event.Records[1].kinesis.data);
  });

  it('a value within the limit once escaped is counted; one over it only after escaping is rejected', async () => {
    const h = await setup();
    // pk = "views#" + escaped value; '%' escapes to 3 bytes.
    const fits = 'y'.repeat(2048 - 'views#'.length);
    const overOnlyEscaped = '%'.repeat(700);
    const response = await h.invoke({ Records: [rec(1, view(fits)), rec(2, view(overOnlyEscaped))] });
    expect(response.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'views#')).toBe(1);
    const failures = await h.failures();
    expect(failures.map((f) => [f.sequenceNumber, f.reasons[0].reason])).toEqual([
      [sequenceNumber(0, 2), 'key_too_long'],
    ]);
  });
});

describe('defect 2: a reject whose failure message would exceed 256 KiB', () => {
  it('is summarised per reason and metric, its record kept whole in the store, and the shard moves on', async () => {
    // Prepare: 40,000 NDJSON lines that each fail `views` (value not a number): 40,000 reasons.
    const h = await setup();
    const line = JSON.stringify({ type: 'view', ts: ISO, page: '/p', ms: 'slow' });
    const big = Array.from({ length: 40_000 }, () => line).join('\n');
    const event = { Records: [rec(1, view('/a')), rec(2, big), rec(3, view('/b'))] };
    // Act
    const response = await h.invoke(event);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'views#')).toBe(2);
    const failures = await h.failures();
    expect(failures).toHaveLength(1);
    const [f] = failures;
    expect(JSON.stringify(f).length).toBeLessThan(MAX_SQS_PAYLOAD_BYTES);
    expect(f.reasons).toEqual([expect.objectContaining({ reason: 'invalid_value', metric: 'views', count: 40_000 })]);
    expect(f.reasons[0].details!.length).toBeLessThanOrEqual(3);
    expect(f.recordObject).toBeDefined();
    const stored = h.storedObjects();
    expect(stored).toHaveLength(1);
    const kept = JSON.parse(stored[0]) as { record: { data: string } };
    expect(kept.record.data).toBe(event.Records[1].kinesis.data);
  });
});

describe('defect 3: image values that are not typed JSON', () => {
  it('in a DynamoDB change carried in Kinesis: rejected, never thrown', async () => {
    const h = await setup();
    const change = (status: unknown) =>
      JSON.stringify({ eventSource: 'aws:dynamodb', eventName: 'INSERT', dynamodb: { NewImage: { status } } });
    const event = {
      Records: [
        rec(1, change({ S: 'paid' })),
        rec(2, change('paid')),
        rec(3, change({ S: 7 })),
        rec(4, change({ N: 'seven' })),
        rec(5, change(null)),
        rec(6, change({ S: 'new' })),
      ],
    };
    const response = await h.invoke(event);
    expect(response.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'orders#')).toBe(2);
    const failures = await h.failures();
    expect(failures.map((f) => f.sequenceNumber).sort()).toEqual([2, 3, 4, 5].map((n) => sequenceNumber(0, n)).sort());
    for (const f of failures) expect(f.reasons[0].reason).toBe('invalid_image');
  });

  it('in DynamoDB Streams: rejected with the shard id the tumbling-window event names', async () => {
    const h = await setup();
    const ddb = (n: number, image: unknown): DynamoDBRecord =>
      ({
        eventID: String(n),
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000',
        dynamodb: {
          ApproximateCreationDateTime: NOW / 1000,
          NewImage: image,
          SequenceNumber: String(100 + n),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      }) as unknown as DynamoDBRecord;
    const response = await h.invoke({
      Records: [ddb(1, { status: { S: 'paid' } }), ddb(2, { status: { M: 'oops' } }), ddb(3, { status: 12 })],
      shardId: 'shardId-00000001700000000000-abcdef12',
      window: { start: ISO, end: ISO },
      state: {},
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'orders#')).toBe(1);
    const failures = await h.failures();
    expect(failures).toHaveLength(2);
    for (const f of failures) {
      expect(f.reasons[0].reason).toBe('invalid_image');
      expect(f.shardId).toBe('shardId-00000001700000000000-abcdef12');
    }
  });
});

describe('defect 7: a KPL record of many small gzip bombs', () => {
  it('is rejected too_large once its decompression budget is spent, with the numbers in the detail', async () => {
    const { encodeKplAggregate } = await import('../../src/sources/kpl-encode.js');
    const h = await setup();
    // 40 sub-records, each expanding to just under the 1 MiB per-payload cap: 40 MiB of work in one record.
    const bomb = gzipSync(Buffer.alloc((1 << 20) - 16, 0x20));
    const aggregate = encodeKplAggregate(Array.from({ length: 40 }, (_, i) => ({ partitionKey: `k${i}`, data: bomb })));
    const response = await h.invoke({ Records: [rec(1, view('/a')), rec(2, aggregate), rec(3, view('/b'))] });
    expect(response.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'views#')).toBe(2);
    const failures = await h.failures();
    expect(failures).toHaveLength(1);
    // The first sub-record fits the record's 1 MiB budget (it is only spaces: an empty payload); the rest do not.
    const tooLarge = failures[0].reasons.find((r) => r.reason === 'too_large');
    expect(tooLarge?.count).toBe(39);
    expect(tooLarge?.details?.[0] ?? '').toMatch(/\d+ bytes already decompressed from 1 gzip payloads/);
  });
});

describe('defect 8: little time left', () => {
  it('with 400 ms left the handler returns a partial batch response instead of letting Middy time out', async () => {
    const h = await setup({ deadlineMarginMs: 3000, latencyMs: 150 });
    const records = Array.from({ length: 50 }, (_, i) => rec(i + 1, view(`/p${i}`)));
    const response = await h.invoke({ Records: records }, 400);
    // With 400 ms left the response goes at 250 ms, before any 150 ms write after the 150 ms read is durable:
    // the whole batch is reported from its first record, instead of Middy throwing its TimeoutError.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(0, 1) }]);
  });

  it('a deadline mid-batch: some items written, the response names the lowest record not durable, re-delivery is exact', async () => {
    const h = await setup({ deadlineMarginMs: 1000, latencyMs: 120 });
    const records = Array.from({ length: 50 }, (_, i) => rec(i + 1, view(`/p${i}`)));
    const first = await h.invoke({ Records: records }, 1600);
    expect(first.batchItemFailures).toHaveLength(1);
    const written = countOf(await h.counters(), 'views#');
    expect(written).toBeLessThan(50);
    // Lambda re-delivers from the reported record on.
    const from = records.findIndex((r) => r.kinesis.sequenceNumber === first.batchItemFailures[0].itemIdentifier);
    expect(from).toBeGreaterThanOrEqual(0);
    const again = await h.invoke({ Records: records.slice(from) }, 30_000);
    expect(again.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'views#')).toBe(50);
  });

  it('the re-delivery with time enough counts every record exactly once', async () => {
    const h = await setup({ deadlineMarginMs: 3000 });
    const records = Array.from({ length: 50 }, (_, i) => rec(i + 1, view(`/p${i}`)));
    await h.invoke({ Records: records }, 400);
    const response = await h.invoke({ Records: records }, 20_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'views#')).toBe(50);
  });
});

describe('defect 7 (per batch): a batch of records each using its whole decompression budget', () => {
  it('stops before the record that could pass the batch budget and reports it, so the re-delivery finishes exactly', async () => {
    // Prepare: per record 1 MiB (setup), per batch the default max(64 MiB, per record) = 64 MiB.
    const h = await setup();
    const almostMiB = gzipSync(
      Buffer.from(JSON.stringify({ type: 'view', ts: ISO, page: '/z', ms: 1, pad: 'x'.repeat((1 << 20) - 200) })),
    );
    const records = Array.from({ length: 80 }, (_, i) => rec(i + 1, almostMiB));
    // Act
    const first = await h.invoke({ Records: records });
    // Assess: the decoded part is durable, the rest is re-delivered from the reported record.
    expect(first.batchItemFailures).toHaveLength(1);
    const from = records.findIndex((r) => r.kinesis.sequenceNumber === first.batchItemFailures[0].itemIdentifier);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(64);
    expect(countOf(await h.counters(), 'views#')).toBe(from);
    const second = await h.invoke({ Records: records.slice(from) });
    expect(second.batchItemFailures).toEqual([]);
    expect(countOf(await h.counters(), 'views#')).toBe(80);
    expect(await h.failures()).toEqual([]);
  });
});
