/**
 * The template's plain-CloudFormation resources (stream, tables, queue) created in moto_server from
 * template.yaml itself, then a batch through the handler against those resources, with the function's
 * environment resolved from the template.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadRuntimeConfig } from '../../src/config.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { StreamResponse } from '../../src/processor/stream-processor.js';
import { clientConfig } from '../../src/local/aws-clients.js';
import { createLocalResources } from '../../src/local/resources.js';
import { motoAvailable, startMoto, type LocalServer } from '../../src/local/servers.js';
import { loadTemplate } from '../../src/local/template.js';
import { scanCounters } from '../support/counters-table.js';
import { lambdaContext } from '../support/kinesis-batch.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HAS_MOTO = motoAvailable();
if (!HAS_MOTO) console.warn('[skip] template resources on moto: moto_server is not on PATH (pip install "moto[server]")');

describe.skipIf(!HAS_MOTO)('template resources in moto_server, then a batch through the handler', () => {
  let moto: LocalServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('counts the poison sample batch into the template counters table and sends its rejects to the template queue', async () => {
    const cfg = clientConfig({ endpoint: moto.endpoint });
    const clients = { kinesis: new KinesisClient(cfg), dynamodb: new DynamoDBClient(cfg), sqs: new SQSClient(cfg) };
    const template = loadTemplate();
    const resources = await createLocalResources(template, clients, { onWarning: () => undefined });
    const fn = template.functions.find((f) => f.streamEventSources.length > 0)!;
    const env = resources.environmentFor(fn);
    const handler = createAnalyticsHandler({
      config: loadRuntimeConfig(env),
      dynamodb: clients.dynamodb,
      sqs: clients.sqs,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    const event = JSON.parse(readFileSync(resolve(ROOT, 'events/kinesis-poison.json'), 'utf8'));
    const response = (await handler(event, lambdaContext(30_000) as never)) as StreamResponse;
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await scanCounters(clients.dynamodb, env.COUNTERS_TABLE)).size).toBeGreaterThan(0);
    const received = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.FAILURE_QUEUE_URL, MaxNumberOfMessages: 10 }));
    expect((received.Messages ?? []).length).toBeGreaterThan(0);
    expect(JSON.parse(received.Messages![0].Body as string).reasons.length).toBeGreaterThan(0);
  });
});
