/**
 * The emulator on DynamoDB Streams, against real moto_server (DynamoDB + Streams + SQS) through the real
 * SDK clients. moto is Python and not on every laptop: without it these tests skip and say why.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { readFileSync } from 'node:fs';
import { CreateTableCommand, DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createAwsClients, type AwsClients } from '../../../src/local/aws/aws-clients.js';
import { motoAvailable, startMoto, type LocalServer } from '../../../src/local/aws/servers.js';
import {
  EventSourceMappingEmulator,
  EsmSettingsError,
  type EventSourceMappingSettings,
  type StreamFailureRecord,
} from '../../../src/local/emulator/index.js';

const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn('SKIPPED DynamoDB Streams emulator tests: moto_server is not installed (pip install "moto[server]").');

const FIXTURE = JSON.parse(
  readFileSync(new URL('../../fixtures/peer-events/dynamodb-base.json', import.meta.url), 'utf8'),
) as {
  Records: Record<string, unknown>[];
};
const DEADLINE_MS = 30_000;

interface DdbRecord {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: Record<string, { S?: string }>;
    NewImage?: Record<string, Record<string, unknown>>;
    OldImage?: Record<string, Record<string, unknown>>;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: string;
  };
  [key: string]: unknown;
}
interface Call {
  records: DdbRecord[];
  context: Context;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function recordingHandler(behaviour?: (records: DdbRecord[], callIndex: number) => unknown): {
  calls: Call[];
  handler: (event: { Records: DdbRecord[] }, context: Context) => Promise<unknown>;
} {
  const calls: Call[] = [];
  return {
    calls,
    handler: async (event, context) => {
      calls.push({ records: event.Records, context });
      return behaviour?.(event.Records, calls.length - 1);
    },
  };
}

describe.skipIf(!HAS_MOTO)('DynamoDB Streams on moto_server', () => {
  let moto: LocalServer & { reset(): Promise<void> };
  let clients: AwsClients;
  const emulators: EventSourceMappingEmulator[] = [];
  let tableCounter = 0;

  beforeAll(async () => {
    moto = await startMoto();
    clients = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' });
  });
  afterEach(async () => {
    await Promise.all(emulators.splice(0).map((e) => e.stop()));
  });
  afterAll(async () => {
    clients?.dynamodb.destroy();
    clients?.dynamodbStreams.destroy();
    clients?.sqs.destroy();
    await moto?.stop();
  });

  async function createTable(): Promise<{ table: string; streamArn: string }> {
    const table = `src-${++tableCounter}`;
    const out = await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    return { table, streamArn: out.TableDescription?.LatestStreamArn ?? '' };
  }

  async function putItems(table: string, keys: string[]): Promise<void> {
    for (const pk of keys)
      await clients.dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, n: { N: '1' } } }));
  }

  async function startEmulator(
    stream: string,
    settings: EventSourceMappingSettings,
    handler: (event: { Records: DdbRecord[] }, context: Context) => Promise<unknown>,
  ): Promise<EventSourceMappingEmulator> {
    const emulator = new EventSourceMappingEmulator({
      source: { kind: 'dynamodb', stream },
      settings,
      handler,
      function: { name: 'ddb-fn', region: 'us-east-1' },
      clients,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 50,
      logger: () => {},
    });
    emulators.push(emulator);
    await emulator.start();
    return emulator;
  }

  test("records are shaped like Lambda's DynamoDB events; moto's extra INSERT and no-op MODIFY pass through", async () => {
    // Prepare
    const { table, streamArn } = await createTable();
    await clients.dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' }, b: { B: Buffer.from('hi') } } }),
    );
    await clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'u' } },
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': { N: '2' } },
      }),
    );
    await clients.dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' }, b: { B: Buffer.from('hi') } } }),
    );
    await clients.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }));
    const { calls, handler } = recordingHandler();
    // Act: the table name resolves to its latest stream
    const esm = await startEmulator(table, { StartingPosition: 'TRIM_HORIZON', BatchSize: 100 }, handler);
    await waitFor(() => calls.flatMap((c) => c.records).some((r) => r.eventName === 'REMOVE'), 'the REMOVE record');
    // Assess
    expect(esm.streamArn).toBe(streamArn);
    const records = calls.flatMap((c) => c.records);
    const first = records[0];
    expect(new Set(Object.keys(first))).toEqual(new Set(Object.keys(FIXTURE.Records[0])));
    expect(first).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: streamArn,
    });
    expect(typeof first.eventVersion).toBe('string');
    expect(first.dynamodb).toMatchObject({
      Keys: { pk: { S: 'a' } },
      NewImage: { pk: { S: 'a' }, n: { N: '1' }, b: { B: Buffer.from('hi').toString('base64') } },
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(typeof first.dynamodb.ApproximateCreationDateTime).toBe('number');
    expect(Math.abs(first.dynamodb.ApproximateCreationDateTime - Date.now() / 1000)).toBeLessThan(300);
    expect(typeof first.dynamodb.SizeBytes).toBe('number');
    const seqs = records.map((r) => BigInt(r.dynamodb.SequenceNumber));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i] > seqs[i - 1]).toBe(true);
    const remove = records.find((r) => r.eventName === 'REMOVE');
    expect(remove?.dynamodb.OldImage).toMatchObject({ pk: { S: 'a' } });
    expect(remove?.dynamodb.NewImage).toBeUndefined();
    expect(records.filter((r) => r.dynamodb.Keys.pk.S === 'u').length).toBeGreaterThanOrEqual(1);
  });

  test('TRIM_HORIZON vs LATEST', async () => {
    // Prepare
    const { table, streamArn } = await createTable();
    await putItems(table, ['old']);
    const trim = recordingHandler();
    const latest = recordingHandler();
    await startEmulator(streamArn, { StartingPosition: 'TRIM_HORIZON' }, trim.handler);
    await startEmulator(streamArn, { StartingPosition: 'LATEST' }, latest.handler);
    // Act
    await putItems(table, ['new']);
    await waitFor(() => trim.calls.flatMap((c) => c.records).length >= 2 && latest.calls.length >= 1, 'both emulators');
    // Assess
    expect(trim.calls.flatMap((c) => c.records).map((r) => r.dynamodb.Keys.pk.S)).toEqual(['old', 'new']);
    expect(latest.calls.flatMap((c) => c.records).map((r) => r.dynamodb.Keys.pk.S)).toEqual(['new']);
  });

  test('partial batch response redelivers from the lowest failed record; exhausted retries go to SQS as DDBStreamBatchInfo', async () => {
    // Prepare
    const { table, streamArn } = await createTable();
    const queueUrl =
      (await clients.sqs.send(new CreateQueueCommand({ QueueName: `ddb-dlq-${tableCounter}` }))).QueueUrl ?? '';
    await putItems(table, ['k0', 'k1', 'k2', 'k3']);
    const { calls, handler } = recordingHandler((records) => {
      const bad = records.find((r) => r.dynamodb.Keys.pk.S === 'k2');
      return bad ? { batchItemFailures: [{ itemIdentifier: bad.dynamodb.SequenceNumber }] } : {};
    });
    // Act
    const esm = await startEmulator(
      streamArn,
      {
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: `arn:aws:sqs:us-east-1:123456789012:ddb-dlq-${tableCounter}` } },
      },
      handler,
    );
    const messages: StreamFailureRecord[] = [];
    await waitFor(async () => {
      const out = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      for (const m of out.Messages ?? []) messages.push(JSON.parse(m.Body ?? '{}') as StreamFailureRecord);
      return messages.length >= 1;
    }, 'the failure record in SQS');
    // Assess
    const keys = calls.map((c) => c.records.map((r) => r.dynamodb.Keys.pk.S));
    expect(keys).toEqual([
      ['k0', 'k1', 'k2', 'k3'],
      ['k2', 'k3'],
    ]);
    const [failure] = messages;
    expect(Object.keys(failure)).toEqual([
      'requestContext',
      'responseContext',
      'version',
      'timestamp',
      'DDBStreamBatchInfo',
    ]);
    expect(failure.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ddb-fn',
    });
    expect(failure.responseContext.functionError).toBeUndefined(); // a partial batch response is not a function error
    const k2 = calls[1].records[0].dynamodb.SequenceNumber;
    const k3 = calls[1].records[1].dynamodb.SequenceNumber;
    expect(failure.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: k2,
      endSequenceNumber: k3,
      batchSize: 2,
      streamArn,
    });
    expect(failure.DDBStreamBatchInfo?.shardId).toMatch(/^shardId-/);
    expect(failure.DDBStreamBatchInfo?.approximateArrivalOfFirstRecord).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/,
    );
    expect(esm.stats).toMatchObject({ sentToDlq: 1, recordsDiscarded: 2 });
  });

  test('AT_TIMESTAMP is rejected for DynamoDB Streams with the reason', () => {
    expect(
      () =>
        new EventSourceMappingEmulator({
          source: { kind: 'dynamodb', stream: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x' },
          settings: { StartingPosition: 'AT_TIMESTAMP', StartingPositionTimestamp: 1 },
          handler: async () => undefined,
          function: { name: 'f' },
          clients,
        }),
    ).toThrow(EsmSettingsError);
  });
});
