/**
 * Tier 2, the DynamoDB Streams path live: the orders table from template.yaml in moto_server with its
 * stream, the template's DynamoDB event source emulated (tumbling window, so Lambda-style `shardId` is
 * passed and writes are exact), the real handler, and counters checked against a reference model.
 * moto quirks (TOOLCHAIN.md) avoided on purpose: items are created with PutItem (UpdateItem-created items
 * get an extra key-only INSERT) and every update changes the item (no-op writes emit a MODIFY).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadRuntimeConfig } from '../../src/config.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { EventSourceMappingEmulator } from '../../src/local/emulator/index.js';
import { createLocalResources } from '../../src/local/aws/resources.js';
import { motoAvailable, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import { loadTemplate } from '../../src/local/template/template.js';
import { scanCounters } from '../helpers/counters-table.js';

const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn('[skip] DynamoDB Streams pipeline: moto_server is not on PATH (pip install "moto[server]")');

describe.skipIf(!HAS_MOTO)('DynamoDB Streams -> emulated event source -> handler -> counters (moto_server)', () => {
  let moto: LocalServer;
  let emulator: EventSourceMappingEmulator | undefined;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await emulator?.stop();
    await moto?.stop();
  });

  it('orders per status equal the reference model for INSERT and MODIFY, REMOVE not counted', async () => {
    const cfg = clientConfig({ endpoint: moto.endpoint });
    const clients = {
      kinesis: new KinesisClient(cfg),
      dynamodb: new DynamoDBClient(cfg),
      sqs: new SQSClient(cfg),
      dynamodbStreams: new DynamoDBStreamsClient(cfg),
    };
    const template = loadTemplate();
    const resources = await createLocalResources(template, clients, { onWarning: () => undefined });
    const fn = template.functions.find((f) => f.streamEventSources.some((s) => s.type === 'dynamodb'))!;
    const source = fn.streamEventSources.find((s) => s.type === 'dynamodb')!;
    const table = resources.tables[source.sourceLogicalId];
    expect(table.streamArn, 'moto keeps a stream for the orders table').toBeDefined();
    expect(source.tumblingWindowSeconds, 'the template gives the DynamoDB source a tumbling window').toBeGreaterThan(0);
    const env = resources.environmentFor(fn);
    const handler = createAnalyticsHandler({
      config: loadRuntimeConfig(env),
      dynamodb: clients.dynamodb,
      sqs: clients.sqs,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    let sawShardId = false;
    emulator = new EventSourceMappingEmulator({
      source: { kind: 'dynamodb', stream: table.streamArn as string },
      settings: {
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 25,
        MaximumBatchingWindowInSeconds: 0,
        BisectBatchOnFunctionError: source.bisectBatchOnFunctionError,
        MaximumRetryAttempts: source.maximumRetryAttempts,
        FunctionResponseTypes: [...source.functionResponseTypes],
        TumblingWindowInSeconds: source.tumblingWindowSeconds,
      },
      handler: (event: { shardId?: string }, context) => {
        if (event.shardId) sawShardId = true;
        return handler(event as never, context);
      },
      function: { name: fn.logicalId, timeoutSeconds: fn.timeoutSeconds },
      clients,
    });
    await emulator.start();

    // Prepare: 30 orders created, 12 of them change status, 6 are deleted.
    const expected = new Map<string, { count: number; sum: number }>();
    const add = (status: string, amount: number): void => {
      const e = expected.get(status) ?? { count: 0, sum: 0 };
      e.count++;
      e.sum += amount;
      expected.set(status, e);
    };
    const statuses = ['new', 'paid', 'shipped'];
    for (let i = 0; i < 30; i++) {
      const status = statuses[i % 3];
      const amount = 10 + i + 0.5;
      await clients.dynamodb.send(
        new PutItemCommand({
          TableName: table.name,
          Item: {
            orderId: { S: `o-${i}` },
            status: { S: status },
            amount: { N: String(amount) },
            country: { S: 'DE' },
          },
        }),
      );
      add(status, amount);
    }
    for (let i = 0; i < 12; i++) {
      await clients.dynamodb.send(
        new UpdateItemCommand({
          TableName: table.name,
          Key: { orderId: { S: `o-${i}` } },
          UpdateExpression: 'SET #s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': { S: 'refunded' } },
        }),
      );
      add('refunded', 10 + i + 0.5);
    }
    for (let i = 20; i < 26; i++)
      await clients.dynamodb.send(new DeleteItemCommand({ TableName: table.name, Key: { orderId: { S: `o-${i}` } } }));

    // Assess: totals per status over every 1m window equal the model (windows may split across a minute).
    const deadline = Date.now() + 90_000;
    let actual = new Map<string, { count: number; sum: number }>();
    const same = (): boolean =>
      expected.size === actual.size &&
      [...expected].every(([k, v]) => actual.get(k)?.count === v.count && actual.get(k)?.sum === v.sum);
    while (Date.now() < deadline) {
      actual = new Map();
      for (const cell of (await scanCounters(clients.dynamodb, env.COUNTERS_TABLE)).values()) {
        if (!cell.pk.startsWith('orders_entering_status#') || !cell.sk.startsWith('1m#')) continue;
        const status = cell.pk.slice('orders_entering_status#'.length);
        const a = actual.get(status) ?? { count: 0, sum: 0 };
        a.count += cell.count;
        a.sum += cell.sum;
        actual.set(status, a);
      }
      if (same()) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    expect(sawShardId).toBe(true);
    expect(emulator.stats.failures).toBe(0);
  }, 150_000);
});
