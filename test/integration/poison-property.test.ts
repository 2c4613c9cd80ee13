/**
 * Issue 11's property: whatever a producer writes, the handler returns, blocks nothing and loses nothing.
 * fast-check generates hostile batches that mix every class of bad input with good records and drives the
 * real handler: real dynalite for the counters, the real local SQS (src/local/local-sqs) for the failure
 * queue, and a directory store for records too large for a queue message (the S3 path of the same store is
 * tested on moto_server in record-store-s3.test.ts). Per batch it asserts:
 * - the handler returns, with no batchItemFailures (no infrastructure fault is injected);
 * - every good event is counted exactly once (the table equals the reference model of the good events);
 * - every other record is in the failure queue with its raw data, or a pointer to the stored whole;
 * - counted + rejected = events in;
 * - bounded work and memory per record, by counts and bytes: decompressed bytes within the budgets, one
 *   message per rejected record, each under SQS's limit, with at most (reasons x metrics) summaries.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamRecord } from 'aws-lambda';
import { compileConfig } from '../../src/core/metric-config.js';
import { REJECT_REASON_NAMES, type StreamtallyConfig } from '../../src/core/types.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { BatchSummary, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import { MAX_SQS_PAYLOAD_BYTES } from '../../src/sink/failure-destination.js';
import { encodeKplAggregate } from '../../src/sources/kpl-encode.js';
import { createCountersTable, diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      source: 'both',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['page'],
      value: 'ms',
      aggregates: ['count', 'sum', 'min', 'max'],
      windows: ['1m'],
      maxGroupsPerWindow: 50,
    },
  ],
};
const PER_RECORD_BUDGET = 64 * 1024;
const PER_BATCH_BUDGET = 1024 * 1024;
const NOW = Date.now();
const ISO = new Date(NOW).toISOString();
const SHARD = 'shardId-000000000007';

/** One generated record: its payload, and the good events it holds (none: the record must be rejected). */
interface Spec {
  kind: string;
  payload: Uint8Array | string;
  good: object[];
  /** Raw base64 data instead of the payload's encoding (for invalid base64). */
  rawData?: string;
}

const view = (page: string, ms: number) => ({ ts: ISO, page, ms });
const text = (v: unknown): string => JSON.stringify(v);

const page = fc.constantFrom('/', '/a', '/b', '/docs', '/p%7C|#');
const goodView = fc.tuple(page, fc.integer({ min: 0, max: 999 })).map(([p, ms]) => view(p, ms));
const spec: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: goodView.map((e) => ({ kind: 'good', payload: text(e), good: [e] })) },
  {
    weight: 2,
    arbitrary: fc
      .array(goodView, { minLength: 2, maxLength: 4 })
      .map((es) => ({ kind: 'ndjson', payload: es.map(text).join('\n'), good: es })),
  },
  { weight: 2, arbitrary: goodView.map((e) => ({ kind: 'gzip', payload: gzipSync(text(e)), good: [e] })) },
  {
    weight: 1,
    arbitrary: fc.array(goodView, { minLength: 1, maxLength: 3 }).map((es) => ({
      kind: 'kpl',
      payload: encodeKplAggregate(es.map((e, i) => ({ partitionKey: `k${i}`, data: Buffer.from(text(e)) }))),
      good: es,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 2100, max: 6000 }).map((n) => ({
      kind: 'key_too_long',
      payload: text(view('x'.repeat(n), 1)),
      good: [],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constant<Spec>({
      kind: 'invalid_value',
      payload: text({ ts: ISO, page: '/', ms: 'slow' }),
      good: [],
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('{"a":', '{"a":1}{"b":2}', '{"a":1} trailing', '{\n"a": [\n{"ts":1}\n,', '\u00ff\u00fe')
      .map((p) => ({ kind: 'framing', payload: p, good: [] })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<unknown>('paid', { S: 7 }, { N: 'seven' }, null, { M: 'x' }, [1], { S: 'a', N: '1' })
      .map((bad) => ({
        kind: 'invalid_image',
        payload: text({ eventSource: 'aws:dynamodb', eventName: 'INSERT', dynamodb: { NewImage: { page: bad } } }),
        good: [],
      })),
  },
  { weight: 1, arbitrary: fc.constant<Spec>({ kind: 'empty', payload: '   ', good: [] }) },
  { weight: 1, arbitrary: fc.constant<Spec>({ kind: 'base64', payload: '', rawData: 'abc', good: [] }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 2, max: 6 }).map((k) => ({
      kind: 'gzip_bomb',
      payload: encodeKplAggregate(
        Array.from({ length: k }, (_, i) => ({
          partitionKey: `b${i}`,
          data: gzipSync(Buffer.alloc(PER_RECORD_BUDGET - 8, 0x20)),
        })),
      ),
      good: [],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 9_000, max: 12_000 }).map((n) => ({
      kind: 'oversized',
      payload: Array.from({ length: n }, (_, i) => text({ ts: ISO, page: `/${i}`, ms: 'no' })).join('\n'),
      good: [],
    })),
  },
);

let dynalite: LocalServer;
let sqsServer: LocalServer;
let sqs: SQSClient;
let storeRoot: string;
let runs = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  sqsServer = await startLocalSqs();
  sqs = new SQSClient({
    endpoint: sqsServer.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
  storeRoot = mkdtempSync(join(tmpdir(), 'streamtally-property-'));
});
afterAll(async () => {
  await dynalite?.stop();
  await sqsServer?.stop();
  if (storeRoot) rmSync(storeRoot, { recursive: true, force: true });
});

interface Message {
  sequenceNumber: string;
  reasons: Array<{ reason: string; metric?: string; count: number; details: string[] }>;
  record?: { data: string };
  recordObject?: string;
}

async function runBatch(specs: Spec[]): Promise<void> {
  // Prepare
  const n = ++runs;
  const table = `property-${n}`;
  const dynamodb = localDynamoClient(dynalite.endpoint);
  await createCountersTable(dynamodb, table);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `property-${n}` }));
  const summaries: BatchSummary[] = [];
  const handler = createAnalyticsHandler({
    config: {
      countersTable: table,
      failureQueueUrl: QueueUrl,
      failureDirectory: join(storeRoot, table),
      metrics: compileConfig(CONFIG),
      metricsSource: 'test',
      maxDecompressedBytes: PER_RECORD_BUDGET,
      maxBatchDecompressedBytes: PER_BATCH_BUDGET,
      writeConcurrency: 8,
      deadlineMarginMs: 1000,
    },
    dynamodb,
    sqs,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test' }),
    onBatch: (s) => summaries.push(s),
  });
  const records: KinesisStreamRecord[] = specs.map((s, i) => {
    const r = kinesisRecord(SHARD, sequenceNumber(7, i + 1), s.payload, NOW);
    if (s.rawData !== undefined) r.kinesis.data = s.rawData;
    return r;
  });

  // Act
  const response = (await handler({ Records: records }, lambdaContext(60_000) as never)) as StreamResponse;

  // Assess: no infrastructure fault was injected, so nothing is retried...
  expect(response.batchItemFailures).toEqual([]);
  // ...every good event is counted exactly once...
  const good: ModelEvent[] = specs.flatMap((s) => s.good.map((event) => ({ event, arrivalMs: NOW })));
  expect(diffCounters(await scanCounters(dynamodb, table), referenceCounters(CONFIG, good))).toEqual([]);
  // ...and every other record is in the failure queue, with its data or a pointer to all of it.
  const messages: Message[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    if (!out.Messages || out.Messages.length === 0) break;
    for (const m of out.Messages) {
      expect(Buffer.byteLength(m.Body as string)).toBeLessThanOrEqual(MAX_SQS_PAYLOAD_BYTES);
      messages.push(JSON.parse(m.Body as string) as Message);
    }
  }
  const rejectedSeqs = records.filter((_, i) => specs[i].good.length === 0).map((r) => r.kinesis.sequenceNumber);
  expect(messages.map((m) => m.sequenceNumber).sort()).toEqual(rejectedSeqs.sort());
  const reasonCount = Object.keys(REJECT_REASON_NAMES).length;
  for (const m of messages) {
    const original = records.find((r) => r.kinesis.sequenceNumber === m.sequenceNumber)!;
    const kept = m.record ?? (JSON.parse(readFileSync(fileURLToPath(m.recordObject!), 'utf8')) as Message).record;
    expect(kept?.data, specs[records.indexOf(original)].kind).toBe(original.kinesis.data);
    expect(m.reasons.length).toBeLessThanOrEqual(reasonCount * (CONFIG.metrics.length + 1));
    for (const r of m.reasons) expect(r.details.length).toBeLessThanOrEqual(3);
  }
  // Conservation, and work by bytes: within the record's and the batch's decompression budgets.
  expect(summaries).toHaveLength(1);
  const [summary] = summaries;
  expect(summary.eventsCounted + summary.rejected).toBe(summary.eventsIn);
  expect(summary.eventsCounted).toBe(good.length);
  const gzipRecords = specs.filter((s) => s.kind === 'gzip' || s.kind === 'gzip_bomb').length;
  expect(summary.decompressedBytes).toBeLessThanOrEqual(Math.min(PER_BATCH_BUDGET, gzipRecords * PER_RECORD_BUDGET));
}

describe('hostile batches through the real handler (dynalite, local SQS, directory store)', () => {
  it('returns, blocks nothing, counts every good event once and keeps every other record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 14 }), (specs) => runBatch(specs)),
      { numRuns: 25 },
    );
  });
});
