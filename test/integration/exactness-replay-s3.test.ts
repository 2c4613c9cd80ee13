/**
 * `npm run replay` on rejects whose record was too large for a queue message and is kept in the failure
 * bucket (`recordObject: "s3://bucket/key"`): the real handler stores them through the real sink into
 * moto_server's S3 (real @aws-sdk/client-s3), dynalite holds the counters, the local SQS the queue. After
 * the fix the replay fetches each object and counts its record: the counters equal a reference model of
 * every event, and a second replay changes nothing. An object that is gone keeps its message, naming the
 * bucket, the key and the fix. Skips, saying why, without moto_server. Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileConfig } from '../../src/core/metric-config.js';
import { testAnalyticsHandler } from '../helpers/test-handler.js';
import { createAwsClients } from '../../src/local/aws/aws-clients.js';
import { motoAvailable, startDynalite, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import type { StreamResponse } from '../../src/pipeline/stream-processor.js';
import { MAX_SQS_PAYLOAD_BYTES } from '../../src/sink/failure-destination.js';
import { createCountersTable, diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { exactnessMetrics } from '../helpers/exactness-metrics.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';
import { peekQueue, queueDepth, replayCli, resend, type CliRun } from '../helpers/replay-run.js';

const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn('[skip] replay of rejects kept in S3 needs moto_server on PATH (pip install "moto[server]")');

/** What was deployed: events more than 2 minutes late are rejected (too_late). */
const LIVE_CONFIG = exactnessMetrics({ allowedLateness: '2m' });
/** The fix; the model counts every event under it. */
const FIXED_CONFIG = exactnessMetrics({ allowedLateness: '2h' });
const SHARD = 'shardId-000000000007';

let dynalite: LocalServer;
let sqsServer: LocalServer;
let moto: LocalServer | undefined;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
let s3: S3Client;
let configFile: string;
let scenarios = 0;

beforeAll(async () => {
  if (!HAS_MOTO) return;
  [dynalite, sqsServer, moto] = await Promise.all([startDynalite(), startLocalSqs(), startMoto()]);
  dynamodb = localDynamoClient(dynalite.endpoint);
  sqs = createAwsClients({ endpoint: sqsServer.endpoint }).sqs;
  s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    forcePathStyle: true,
    requestHandler: new NodeHttpHandler(),
  });
  configFile = join(mkdtempSync(join(tmpdir(), 'streamtally-replay-s3-')), 'fixed.config.json');
  writeFileSync(configFile, JSON.stringify(FIXED_CONFIG));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([dynalite?.stop(), sqsServer?.stop(), moto?.stop()]);
});

interface Scenario {
  table: string;
  queueUrl: string;
  bucket: string;
  events: ModelEvent[];
  bodies: string[];
  /** The queue messages that point to the bucket, with the object key each names. */
  pointers: Array<{ body: string; key: string; event: ModelEvent }>;
}

function event(i: number, lateMs: number, arrivalMs: number, pad = ''): Record<string, unknown> {
  return {
    type: i % 4 === 0 ? 'purchase' : 'page_view',
    ts: new Date(arrivalMs - lateMs).toISOString(),
    user: { id: `u-${i % 7}`, plan: i % 3 === 0 ? 'pro' : 'free' },
    page: ['/', '/docs'][i % 2],
    country: ['DE', 'US', 'FR'][i % 3],
    latencyMs: 10 * i,
    amount: i % 4 === 0 ? i + 0.5 : undefined,
    ...(pad ? { pad } : {}),
  };
}

/** One batch through the deployed handler: good events, a late one kept inline, two late ones too large for SQS. */
async function scenario(): Promise<Scenario> {
  const n = ++scenarios;
  const table = `replay-s3-counters-${n}`;
  const bucket = `streamtally-replay-failures-${n}`;
  await createCountersTable(dynamodb, table);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `replay-s3-failures-${n}` })))
    .QueueUrl as string;
  const handler = testAnalyticsHandler({
    table,
    metrics: compileConfig(LIVE_CONFIG),
    dynamodb,
    sqs,
    s3,
    config: { failureQueueUrl: queueUrl, failureBucket: bucket, writeConcurrency: 4 },
  });
  const arrivalMs = Date.now();
  const late = 30 * 60_000;
  const payloads = [
    ...Array.from({ length: 12 }, (_, i) => event(i, 1_000, arrivalMs)),
    event(12, late, arrivalMs),
    // One JSON value each (so one event), ~300 KB: the message with its record is over SQS's 256 KiB.
    event(13, late, arrivalMs, 'x'.repeat(300_000)),
    event(14, late + 60_000, arrivalMs, 'y'.repeat(300_000)),
  ];
  const records = payloads.map((p, i) =>
    kinesisRecord(SHARD, sequenceNumber(7, n * 100 + i), JSON.stringify(p), arrivalMs),
  );
  const response = (await handler({ Records: records }, lambdaContext(20_000) as never)) as StreamResponse;
  expect(response.batchItemFailures).toEqual([]);
  const events = payloads.map((p) => ({
    event: p,
    arrivalMs: Math.round(records[0].kinesis.approximateArrivalTimestamp * 1000),
  }));
  const bodies = await peekQueue(sqs, queueUrl);
  const pointers = bodies.flatMap((body) => {
    const m = JSON.parse(body) as { recordObject?: string; sequenceNumber: string };
    if (!m.recordObject) return [];
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_SQS_PAYLOAD_BYTES);
    const index = records.findIndex((r) => r.kinesis.sequenceNumber === m.sequenceNumber);
    return [{ body, key: m.recordObject.slice(`s3://${bucket}/`.length), event: events[index] }];
  });
  return { table, queueUrl, bucket, events, bodies, pointers };
}

async function drift(s: Scenario, events = s.events): Promise<string[]> {
  return diffCounters(await scanCounters(dynamodb, s.table), referenceCounters(FIXED_CONFIG, events));
}

function replay(s: Scenario): Promise<CliRun> {
  return replayCli({
    queueUrl: s.queueUrl,
    table: s.table,
    configFile,
    dynamodbEndpoint: dynalite.endpoint,
    sqsEndpoint: sqsServer.endpoint,
    s3Endpoint: moto?.endpoint,
  });
}

describe.skipIf(!HAS_MOTO)('npm run replay on rejects kept in the failure bucket (moto_server S3)', () => {
  test('each record object is fetched and counted once: replay, replay again', async () => {
    // Prepare
    const s = await scenario();
    expect(s.bodies).toHaveLength(3);
    expect(s.pointers).toHaveLength(2);
    expect(s.pointers[0].body).toContain(`"recordObject":"s3://${s.bucket}/rejected/${SHARD}/`);
    expect((await drift(s)).length).toBeGreaterThan(0);

    // Act
    const run = await replay(s);

    // Assess: all three replayed and deleted; the counters equal the model of every event
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('3 messages: 3 replayed');
    expect(await queueDepth(sqs, s.queueUrl)).toBe(0);
    expect(await drift(s)).toEqual([]);

    // Act: the same messages again
    await resend(sqs, s.queueUrl, s.bodies);
    const again = await replay(s);

    // Assess
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/[1-9]\d* items written/);
    expect(await drift(s)).toEqual([]);
  }, 120_000);

  test('an object that is gone keeps its message, naming the bucket, the key and the fix', async () => {
    // Prepare: one of the two objects is deleted (expired, or removed by hand)
    const s = await scenario();
    const gone = s.pointers[0];
    await s3.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: gone.key }));

    // Act
    const run = await replay(s);

    // Assess: exit 3, that message kept and explained; everything else counted, that record not
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stdout).toContain(`kept reject ${SHARD}`);
    expect(run.stdout).toContain(`bucket ${s.bucket}, key ${gone.key}`);
    expect(run.stdout).toMatch(/NoSuchKey.*put the object back at that key/);
    expect(await queueDepth(sqs, s.queueUrl)).toBe(1);
    expect(
      await drift(
        s,
        s.events.filter((e) => e !== gone.event),
      ),
    ).toEqual([]);
  }, 120_000);
});
