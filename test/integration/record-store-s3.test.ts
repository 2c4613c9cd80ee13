/**
 * Rejected records too large for an SQS message, kept whole in S3: the real @aws-sdk/client-s3 against
 * moto_server's S3, through the real handler (dynalite for the counters, the local SQS for the queue).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { compileConfig } from '../../src/core/metric-config.js';
import { testAnalyticsHandler } from '../helpers/test-handler.js';
import type { StreamResponse } from '../../src/pipeline/stream-processor.js';
import { motoAvailable, startDynalite, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import { MAX_SQS_PAYLOAD_BYTES } from '../../src/sink/failure-destination.js';
import { createCountersTable, localDynamoClient } from '../helpers/counters-table.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const HAS_MOTO = motoAvailable();
if (!HAS_MOTO) console.warn('[skip] the S3 record store test needs moto_server on PATH (pip install "moto[server]")');

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let dynalite: LocalServer;
let sqsServer: LocalServer;
let moto: LocalServer | undefined;

beforeAll(async () => {
  dynalite = await startDynalite();
  sqsServer = await startLocalSqs();
  if (HAS_MOTO) moto = await startMoto();
});
afterAll(async () => {
  await dynalite?.stop();
  await sqsServer?.stop();
  await moto?.stop();
});

describe.skipIf(!HAS_MOTO)('FAILURE_BUCKET on S3 (moto_server, real @aws-sdk/client-s3)', () => {
  it('a reject too large for a queue message is stored whole in the bucket, and the message points to it', async () => {
    // Prepare
    const s3 = new S3Client({
      endpoint: moto!.endpoint,
      region: 'us-east-1',
      credentials,
      forcePathStyle: true,
      requestHandler: new NodeHttpHandler(),
    });
    const bucket = `streamtally-failures-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: 'us-east-1', credentials });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `s3-failures-${Date.now()}` }));
    const dynamodb = localDynamoClient(dynalite.endpoint);
    await createCountersTable(dynamodb, 'record-store-s3');
    const handler = testAnalyticsHandler({
      table: 'record-store-s3',
      metrics: compileConfig({ metrics: [{ name: 'm', value: 'v', aggregates: ['sum'], windows: ['1m'] }] }),
      dynamodb,
      sqs,
      s3,
      config: { failureQueueUrl: QueueUrl, failureBucket: bucket, writeConcurrency: 4 },
    });
    // 300 KB of NDJSON whose values are not numbers: base64 alone is over the SQS limit.
    const payload = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ v: `x${i}`, pad: 'y'.repeat(20) })).join(
      '\n',
    );
    const record = kinesisRecord('shardId-000000000003', sequenceNumber(3, 1), payload, Date.now());

    // Act
    const response = (await handler({ Records: [record] }, lambdaContext(20_000) as never)) as StreamResponse;

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(out.Messages).toHaveLength(1);
    const body = out.Messages![0].Body as string;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_SQS_PAYLOAD_BYTES);
    const message = JSON.parse(body) as { recordObject: string; record?: unknown; reasons: Array<{ count: number }> };
    expect(message.record).toBeUndefined();
    expect(message.reasons[0].count).toBe(10_000);
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(message.recordObject);
    expect(match?.[1]).toBe(bucket);
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: match![2] }));
    const stored = JSON.parse(await object.Body!.transformToString()) as { record: { data: string } };
    expect(stored.record.data).toBe(record.kinesis.data);
  });

  it('a bucket that does not exist is an infrastructure fault: the record is reported, not lost', async () => {
    const s3 = new S3Client({
      endpoint: moto!.endpoint,
      region: 'us-east-1',
      credentials,
      forcePathStyle: true,
      requestHandler: new NodeHttpHandler(),
    });
    const sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: 'us-east-1', credentials });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `s3-missing-${Date.now()}` }));
    const dynamodb = localDynamoClient(dynalite.endpoint);
    await createCountersTable(dynamodb, 'record-store-s3-missing');
    const handler = testAnalyticsHandler({
      table: 'record-store-s3-missing',
      metrics: compileConfig({ metrics: [{ name: 'm', value: 'v', aggregates: ['sum'], windows: ['1m'] }] }),
      dynamodb,
      sqs,
      s3,
      config: { failureQueueUrl: QueueUrl, failureBucket: 'no-such-bucket-here', writeConcurrency: 4 },
    });
    const big = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ v: `x${i}`, pad: 'y'.repeat(20) })).join(
      '\n',
    );
    const records = [
      kinesisRecord('shardId-000000000004', sequenceNumber(4, 1), '{"v":1}', Date.now()),
      kinesisRecord('shardId-000000000004', sequenceNumber(4, 2), big, Date.now()),
    ];
    const response = (await handler({ Records: records }, lambdaContext(20_000) as never)) as StreamResponse;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(4, 2) }]);
  });
});
