/**
 * The analytics handler on every sample batch in events/ and on the peer captures in
 * test/fixtures/peer-events/, against real dynalite; the failure destination is a real SQS queue
 * on moto_server where it is installed.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { compileConfig } from '../../src/core/metric-config.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { StreamEvent, StreamResponse } from '../../src/pipeline/stream-processor.js';
import { motoAvailable, startDynalite, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import defaultConfig from '../../streamtally.config.json' with { type: 'json' };
import { createCountersTable, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { lambdaContext } from '../helpers/kinesis-batch.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = resolve(import.meta.dirname, '../..');
const PEER_DIR = resolve(ROOT, 'test/fixtures/peer-events');
const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn(
    '[skip] failure-destination tests on a real SQS queue need moto_server on PATH (pip install "moto[server]")',
  );

let dynalite: LocalServer;
let moto: (LocalServer & { reset(): Promise<void> }) | undefined;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  if (HAS_MOTO) moto = await startMoto();
});
afterAll(async () => {
  await dynalite?.stop();
  await moto?.stop();
});

function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
}

async function handlerFor(options: { queueUrl?: string; sqs?: SQSClient } = {}) {
  const table = `events-${++tables}`;
  const dynamodb = localDynamoClient(dynalite.endpoint);
  await createCountersTable(dynamodb, table);
  const handler = createAnalyticsHandler({
    config: {
      countersTable: table,
      failureQueueUrl: options.queueUrl,
      metrics: compileConfig(defaultConfig),
      metricsSource: 'test',
      maxDecompressedBytes: 1 << 22,
      writeConcurrency: 8,
      deadlineMarginMs: 1000,
    },
    dynamodb,
    sqs: options.sqs ?? new SQSClient({ region: 'us-east-1' }),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test' }),
  });
  return {
    table,
    invoke: async (event: StreamEvent) => (await handler(event, lambdaContext(20_000) as never)) as StreamResponse,
    counters: () => scanCounters(dynamodb, table),
  };
}

function load(path: string): StreamEvent {
  return JSON.parse(readFileSync(path, 'utf8')) as StreamEvent;
}

describe('every sample batch in events/ through the handler', () => {
  const files = readdirSync(join(ROOT, 'events')).filter((f) => f.endsWith('.json') && f !== 'large.json');
  it('has the sample batches the README lists', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'kinesis-clickstream.json',
        'kinesis-poison.json',
        'kinesis-kpl.json',
        'kinesis-cloudwatch-logs.json',
        'kinesis-tumbling-window.json',
        'dynamodb-orders.json',
        'dynamodb-tumbling-window.json',
      ]),
    );
  });
  for (const file of files) {
    it(`${file}: valid response shape, and counters written where the batch has countable events`, async () => {
      const h = await handlerFor();
      // Lateness is judged against each record's own arrival time, so fixed sample times count whenever they run.
      const event = load(join(ROOT, 'events', file));
      const response = await h.invoke(event);
      expect(Array.isArray(response.batchItemFailures)).toBe(true);
      if (event.window)
        expect(response.state).toEqual(
          expect.objectContaining({ invocations: expect.any(Number), recordsIn: event.Records.length }),
        );
      else expect(response.state).toBeUndefined();
      const counters = await h.counters();
      if (file === 'kinesis-poison.json') {
        // Without a failure destination the rejects are logged; the good records around them still count.
        expect(response.batchItemFailures).toEqual([]);
      }
      expect(counters.size).toBeGreaterThan(0);
    });
  }
});

describe('peer captures (test/fixtures/peer-events)', () => {
  it('the fixtures folder exists', () => {
    expect(existsSync(PEER_DIR), `missing ${PEER_DIR}: the peer fixtures are part of the repository`).toBe(true);
  });
  it('kinesis-stream-one-record.json: one JSON record -> plain partial batch response', async () => {
    const h = await handlerFor();
    const response = await h.invoke(load(join(PEER_DIR, 'kinesis-stream-one-record.json')));
    expect(response).toEqual({ batchItemFailures: [] });
  });
  it('kinesis-stream-tumbling-window.json: text records are rejected, never retried, and the response carries state', async () => {
    const h = await handlerFor();
    const event = load(join(PEER_DIR, 'kinesis-stream-tumbling-window.json'));
    const response = await h.invoke(event);
    expect(response.batchItemFailures).toEqual([]);
    expect(response.state).toEqual(
      expect.objectContaining({
        invocations: expect.any(Number),
        recordsIn: event.Records.length,
        rejected: expect.any(Number),
      }),
    );
    expect(response.state?.rejected).toBeGreaterThan(0);
  });
  it('dynamodb-base.json: INSERT and MODIFY -> success response without state', async () => {
    const h = await handlerFor();
    const response = await h.invoke(load(join(PEER_DIR, 'dynamodb-base.json')));
    expect(response).toEqual({ batchItemFailures: [] });
  });
});

describe.skipIf(!HAS_MOTO)('failure destination on a real SQS queue (moto_server)', () => {
  it('a poison record in the middle: neighbours counted, the poison reaches the queue with its data, the shard moves on', async () => {
    const sqs = sqsClient(moto!.endpoint);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `failures-${Date.now()}` }));
    const h = await handlerFor({ queueUrl: QueueUrl, sqs });
    const event = load(join(ROOT, 'events', 'kinesis-poison.json'));
    const response = await h.invoke(event);
    expect(response.batchItemFailures).toEqual([]);
    const bodies: Array<{ sequenceNumber: string; reasons: Array<{ reason: string }>; record: { data: string } }> = [];
    for (let i = 0; i < 10; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      for (const m of out.Messages ?? []) bodies.push(JSON.parse(m.Body as string));
      if ((out.Messages ?? []).length === 0) break;
    }
    expect(bodies.length).toBeGreaterThan(0);
    const poisonSeqs = new Set(bodies.map((b) => b.sequenceNumber));
    for (const b of bodies) {
      const original = event.Records.find((r) => 'kinesis' in r && r.kinesis.sequenceNumber === b.sequenceNumber);
      expect(original, `message for ${b.sequenceNumber} matches a record of the batch`).toBeDefined();
      expect(b.record.data).toBe((original as { kinesis: { data: string } }).kinesis.data);
      expect(b.reasons.length).toBeGreaterThan(0);
    }
    expect(poisonSeqs.size).toBeLessThan(event.Records.length);
    expect((await h.counters()).size).toBeGreaterThan(0);
  });

  it('a failure destination that is down: the batch is reported failed at the first rejected record, not lost', async () => {
    const sqs = sqsClient(moto!.endpoint);
    const h = await handlerFor({ queueUrl: `${moto!.endpoint}/123456789012/no-such-queue`, sqs });
    const event = load(join(ROOT, 'events', 'kinesis-poison.json'));
    const response = await h.invoke(event);
    expect(response.batchItemFailures.length).toBe(1);
    const reported = response.batchItemFailures[0].itemIdentifier;
    const idx = event.Records.findIndex((r) => 'kinesis' in r && r.kinesis.sequenceNumber === reported);
    expect(idx).toBeGreaterThan(0);
  });
});
