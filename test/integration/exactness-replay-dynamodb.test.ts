/**
 * `npm run replay` on DynamoDB Streams on-failure records (`DDBStreamBatchInfo`), end to end against AWS's
 * own DynamoDB Local (Java 17+, with Streams) and the local SQS, through the real SDK: order changes are
 * written into a table, the emulator runs the real handler on its stream (tumbling window, as template.yaml
 * wires it, so the handler gets the shard), the counters table fails after a few writes until the emulator
 * gives up on batches, then recovers while the live pipeline goes on past the dropped ranges. The replay
 * reads each range back with GetShardIterator AT_SEQUENCE_NUMBER / GetRecords and must bring the counters
 * to the reference: the orders table's live orders per status (a state metric), the stream's status
 * entries per minute and its orders created per minute (events metrics; the last rejected by the deployed
 * lateness, so rejects of DynamoDB records are replayed too, some inside the dropped ranges), after one replay, a replay of the same messages again, and a
 * replay SIGKILLed half-way and run again. A dry run changes nothing. Skips, saying why, without Java.
 * Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { testAnalyticsHandler } from '../helpers/test-handler.js';
import { createAwsClients } from '../../src/local/aws/aws-clients.js';
import { javaRuntime, startDynamoDbLocal, type LocalServer } from '../../src/local/aws/servers.js';
import { buildFailureRecord, EventSourceMappingEmulator } from '../../src/local/emulator/index.js';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import { ItemChangeWriter } from '../../src/producer/item-change-writer.js';
import { CounterReader } from '../../src/read/counter-reader.js';
import { Replayer } from '../../src/replay/index.js';
import { OrderChangeGenerator } from '../../src/samples/order-changes.js';
import { createCountersTable, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { readWholeDynamoDbStream } from '../helpers/dynamodb-stream.js';
import {
  injectCounterWriteFaults,
  rejectsInsideRanges,
  peekQueue,
  queueDepth,
  rawTable,
  replayCli,
  resend,
  waitFor,
  type CliRun,
} from '../helpers/replay-run.js';

const JAVA = javaRuntime();
if (JAVA.unavailableReason)
  console.warn(`[skip] replay of DynamoDB Streams ranges on DynamoDB Local: ${JAVA.unavailableReason}`);

/**
 * `orders_created` counts INSERTs by their `createdAt`, which the generator stamps 30 minutes before the
 * write: the deployed 2-minute lateness rejects them (rejects from live batches and from dropped ones,
 * which meet the range replay on the same records), the fix (2 h) counts them.
 */
function config(allowedLateness: string): StreamtallyConfig {
  return {
    metrics: [
      {
        name: 'orders_by_status',
        kind: 'state',
        source: 'dynamodb',
        dimensions: ['status'],
        value: 'amount',
        aggregates: ['count', 'sum'],
      },
      {
        name: 'orders_entering_status',
        source: 'dynamodb',
        filter: [{ eventName: ['INSERT', 'MODIFY'] }, { changed: ['status'] }],
        dimensions: ['status'],
        aggregates: ['count'],
        windows: ['1m'],
        allowedLateness: '2h',
      },
      {
        name: 'orders_created',
        source: 'dynamodb',
        filter: [{ eventName: ['INSERT'] }],
        eventTime: { field: 'createdAt', format: 'iso8601' },
        dimensions: ['status'],
        aggregates: ['count'],
        windows: ['1m'],
        allowedLateness,
      },
    ],
  };
}
const LIVE_CONFIG = config('2m');
const CONFIG = config('2h');
const CREATED_AGO_MS = 30 * 60_000;
const CREATED_PREFIX = 'orders_created#';
const ENTERING_PREFIX = 'orders_entering_status#';

let dynamoServer: LocalServer;
let sqsServer: LocalServer;
let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let sqs: SQSClient;
let configFile: string;
let scenarios = 0;

interface Scenario {
  table: string;
  queueUrl: string;
  /** The orders the generator holds now: the reference of the state metric. */
  byStatus: Record<string, number>;
  amountByStatus: Record<string, number>;
  /** Every record of the orders table's stream, read back from it. */
  records: DynamoDBRecord[];
  bodies: string[];
  rangeMessages: number;
}

beforeAll(async () => {
  if (JAVA.unavailableReason) return;
  [dynamoServer, sqsServer] = await Promise.all([startDynamoDbLocal(), startLocalSqs()]);
  dynamodb = localDynamoClient(dynamoServer.endpoint);
  streams = streamsClient();
  sqs = createAwsClients({ endpoint: sqsServer.endpoint }).sqs;
  configFile = join(mkdtempSync(join(tmpdir(), 'streamtally-replay-ddb-')), 'config.json');
  writeFileSync(configFile, JSON.stringify(CONFIG));
}, 120_000);

afterAll(async () => {
  dynamodb?.destroy();
  streams?.destroy();
  await Promise.all([dynamoServer?.stop(), sqsServer?.stop()]);
});

function streamsClient(): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    endpoint: dynamoServer.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
}

/** An orders table with a NEW_AND_OLD_IMAGES stream (as template.yaml's); returns the stream ARN. */
async function createOrdersTable(name: string): Promise<string> {
  const created = await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  return created.TableDescription?.LatestStreamArn as string;
}

/**
 * Live order changes, then a failing counters table (writes fail after the first few) until the emulator
 * gives up on batches, then the table recovers and live changes go on past the dropped ranges.
 */
async function scenario(): Promise<Scenario> {
  const n = ++scenarios;
  const table = `replay-ddb-counters-${n}`;
  const orders = `replay-ddb-orders-${n}`;
  await createCountersTable(dynamodb, table);
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `replay-ddb-failures-${n}` })))
    .QueueUrl as string;
  const streamArn = await createOrdersTable(orders);

  const handlerDynamo = localDynamoClient(dynamoServer.endpoint, 1);
  const faults = injectCounterWriteFaults(handlerDynamo);
  const handler = testAnalyticsHandler({
    table,
    metrics: compileConfig(LIVE_CONFIG),
    dynamodb: handlerDynamo,
    sqs,
    config: { failureQueueUrl: queueUrl, writeConcurrency: 4 },
  });
  const logs: string[] = [];
  const emulator = new EventSourceMappingEmulator({
    source: { kind: 'dynamodb', stream: streamArn },
    settings: {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 15,
      MaximumRetryAttempts: 1,
      // As template.yaml: the tumbling window makes Lambda pass the shard (the lane of per-shard progress).
      TumblingWindowInSeconds: 60,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: queueUrl } },
    },
    handler,
    function: { name: 'replay-ddb-fn', timeoutSeconds: 20, memorySizeMb: 256, region: 'us-east-1' },
    clients: { dynamodbStreams: streams, sqs },
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    logger: (level, message) => {
      logs.push(`${level} ${message}`);
    },
  });
  const generator = new OrderChangeGenerator({
    seed: n * 101,
    targetLiveOrders: 25,
    startMs: Date.now() - CREATED_AGO_MS,
  });
  const writer = new ItemChangeWriter({ client: dynamodb, tableName: orders });
  const written = (): number => writer.progress.inserts + writer.progress.modifies + writer.progress.removes;
  const change = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) await writer.apply(generator.next());
    await waitFor(
      () => emulator.stats.recordsIn >= written(),
      () => `the emulator to read ${written()} records: ${JSON.stringify(emulator.stats)}`,
    );
  };
  await emulator.start();
  try {
    await change(40);
    await waitFor(() => emulator.stats.batches >= 2 && emulator.stats.failures === 0, 'the live batches');

    // The table fails: the first 3 writes of the outage land (durable in the failed attempt), then
    // every write is refused, so attempts end with batchItemFailures until the emulator gives up.
    faults.failCounterWritesAfter = 3;
    const dropped = emulator.stats.sentToDlq;
    await change(40);
    await waitFor(
      () => emulator.stats.sentToDlq >= dropped + 2,
      () => `the emulator to give up on two batches: ${JSON.stringify(emulator.stats)} ${logs.slice(-5).join(' / ')}`,
    );

    // Fixed; the live pipeline goes on and moves per-shard progress past the dropped ranges.
    faults.failCounterWritesAfter = -1;
    await change(40);
    const { records } = await readWholeDynamoDbStream(streams, streamArn);
    const last = records[records.length - 1].dynamodb?.SequenceNumber;
    await waitFor(
      () => [...emulator.checkpoints.values()].includes(last as string),
      () => `the live pipeline to catch up to ${last}: ${JSON.stringify([...emulator.checkpoints])}`,
    );
  } finally {
    await emulator.stop();
  }
  const { records } = await readWholeDynamoDbStream(streams, streamArn);
  expect(records.length).toBe(written());
  const bodies = await peekQueue(sqs, queueUrl);
  return {
    table,
    queueUrl,
    byStatus: generator.statusCounts(),
    amountByStatus: generator.statusAmounts(),
    records,
    bodies,
    rangeMessages: bodies.filter((b) => b.includes('DDBStreamBatchInfo')).length,
  };
}

/** Status entries per minute of arrival, from the stream itself: the events metric's reference. */
function enteringModel(records: ReadonlyArray<DynamoDBRecord>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    const status = r.dynamodb?.NewImage?.status?.S;
    if (r.eventName === 'REMOVE' || status === undefined) continue;
    if (r.eventName === 'MODIFY' && r.dynamodb?.OldImage?.status?.S === status) continue;
    const minute = Math.floor(((r.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000) / 60_000) * 60_000;
    const key = `${status} 1m#${new Date(minute).toISOString()}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Orders created per minute of `createdAt`, from the stream's INSERTs. */
function createdModel(records: ReadonlyArray<DynamoDBRecord>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (r.eventName !== 'INSERT') continue;
    const image = r.dynamodb?.NewImage;
    const minute = Math.floor(Date.parse(image?.createdAt?.S as string) / 60_000) * 60_000;
    const key = `${image?.status?.S} 1m#${new Date(minute).toISOString()}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** The counts of one events metric's items, `<dimension> <sk>` -> count. */
async function counts(table: string, prefix: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const cell of (await scanCounters(dynamodb, table)).values())
    if (cell.pk.startsWith(prefix) && cell.count !== 0) out[`${cell.pk.slice(prefix.length)} ${cell.sk}`] = cell.count;
  return out;
}

async function levels(table: string): Promise<{ counts: Record<string, number>; sums: Record<string, number> }> {
  const reader = new CounterReader({ client: dynamodb, tableName: table, metrics: compileConfig(CONFIG) });
  const { levels: all } = await reader.levels('orders_by_status');
  const counts: Record<string, number> = {};
  const sums: Record<string, number> = {};
  for (const l of all) {
    if (l.count === 0) continue;
    counts[l.dimensionValues[0]] = l.count;
    sums[l.dimensionValues[0]] = Math.round((l.sum ?? 0) * 100) / 100;
  }
  return { counts, sums };
}

async function assertExact(s: Scenario): Promise<void> {
  const got = await levels(s.table);
  const wantCounts = Object.fromEntries(Object.entries(s.byStatus).filter(([, c]) => c !== 0));
  expect(got.counts).toEqual(wantCounts);
  for (const [status, sum] of Object.entries(got.sums)) expect(sum).toBeCloseTo(s.amountByStatus[status], 2);
  expect(await counts(s.table, ENTERING_PREFIX)).toEqual(enteringModel(s.records));
  expect(await counts(s.table, CREATED_PREFIX)).toEqual(createdModel(s.records));
}

function replay(s: Scenario, extra: string[] = [], killAfterPuts = 0): Promise<CliRun> {
  return replayCli(
    {
      queueUrl: s.queueUrl,
      table: s.table,
      configFile,
      dynamodbEndpoint: dynamoServer.endpoint,
      sqsEndpoint: sqsServer.endpoint,
    },
    extra,
    killAfterPuts,
  );
}

describe.skipIf(JAVA.unavailableReason !== undefined)('npm run replay on DynamoDB Streams ranges', () => {
  test('counts the dropped ranges exactly once: dry run, replay, replay again', async () => {
    // Prepare
    const s = await scenario();
    expect(s.rangeMessages).toBeGreaterThanOrEqual(2);
    expect(s.bodies.length - s.rangeMessages, 'rejects (too late for the deployed lateness)').toBeGreaterThan(0);
    expect(rejectsInsideRanges(s.bodies), 'rejects sent by the failed attempts of a dropped range').toBeGreaterThan(0);
    const dropped = (await levels(s.table)).counts;
    expect(dropped).not.toEqual(Object.fromEntries(Object.entries(s.byStatus).filter(([, c]) => c !== 0)));

    // Act: a dry run
    const before = await rawTable(dynamodb, s.table);
    const dry = await replay(s, ['--dry-run']);

    // Assess: it printed the plan and changed nothing
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would-replay range shardId-/);
    expect(await rawTable(dynamodb, s.table)).toBe(before);
    expect(await queueDepth(sqs, s.queueUrl)).toBe(s.bodies.length);

    // Act: the replay
    const run = await replay(s);

    // Assess: every range replayed and deleted; counters equal the reference
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`${s.bodies.length} messages: ${s.bodies.length} replayed`);
    expect(await queueDepth(sqs, s.queueUrl)).toBe(0);
    await assertExact(s);

    // Act: the same messages again
    await resend(sqs, s.queueUrl, s.bodies);
    const again = await replay(s);

    // Assess
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 items written/);
    expect(again.stdout).not.toMatch(/[1-9]\d* items written/);
    await assertExact(s);
  }, 240_000);

  test('a replay killed half-way (SIGKILL after a write landed) and run again counts each record once', async () => {
    // Prepare
    const s = await scenario();
    expect(s.rangeMessages).toBeGreaterThanOrEqual(2);

    // Act: killed right after its 2nd PutItem reached the table, before it heard back
    const before = await rawTable(dynamodb, s.table);
    const killed = await replay(s, ['--visibility-timeout', '2'], 2);
    const afterKill = await rawTable(dynamodb, s.table);

    // Assess: it died half-way, having written something, with messages left
    expect(killed.signal).toBe('SIGKILL');
    expect(afterKill).not.toBe(before);
    expect(await queueDepth(sqs, s.queueUrl)).toBeGreaterThan(0);

    // Act: run again once the killed run's messages are visible again
    await new Promise((r) => setTimeout(r, 2_500));
    const rerun = await replay(s);

    // Assess
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await queueDepth(sqs, s.queueUrl)).toBe(0);
    await assertExact(s);
  }, 240_000);

  test("a range past the stream's retention is kept and reported, never skipped (TrimmedDataAccessException)", async () => {
    // Prepare: a real stream with three records and Lambda's on-failure record of them. Neither DynamoDB
    // Local nor kinesis-local ever trims (DynamoDB Streams keeps 24 h, Kinesis at least 24 h, and neither
    // has a clock to move), so the trim is the one stand-in: GetShardIterator answers as DynamoDB Streams
    // does for a sequence number older than the trim point. Everything else is the real server.
    const n = ++scenarios;
    const table = `replay-ddb-counters-${n}`;
    await createCountersTable(dynamodb, table);
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `replay-ddb-trimmed-${n}` })))
      .QueueUrl as string;
    const streamArn = await createOrdersTable(`replay-ddb-trimmed-${n}`);
    const writer = new ItemChangeWriter({ client: dynamodb, tableName: `replay-ddb-trimmed-${n}` });
    const generator = new OrderChangeGenerator({ seed: 5, targetLiveOrders: 10 });
    for (let i = 0; i < 3; i++) await writer.apply(generator.next());
    const { records, shardId } = await readWholeDynamoDbStream(streams, streamArn);
    const body = JSON.stringify(
      buildFailureRecord({
        kind: 'dynamodb',
        requestId: 'r-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:replay-ddb-fn',
        condition: 'RecordAgeExceeded',
        approximateInvokeCount: 2,
        functionError: false,
        shardId,
        streamArn,
        records: records.map((r) => ({
          sequenceNumber: r.dynamodb?.SequenceNumber as string,
          arrivalMs: (r.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000,
          payloadBytes: 0,
          eventRecord: {},
        })),
        nowMs: Date.now(),
      }),
    );
    await resend(sqs, queueUrl, [body]);
    const trimmingStreams = streamsClient();
    trimmingStreams.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetShardIteratorCommand')
          throw Object.assign(new Error('The data you are trying to access has been trimmed.'), {
            name: 'TrimmedDataAccessException',
            $metadata: { httpStatusCode: 400 },
          });
        return next(args);
      },
      { step: 'initialize', name: 'trimmedStream' },
    );
    const replayer = (client: DynamoDBStreamsClient): Replayer =>
      new Replayer({
        config: compileConfig(CONFIG),
        dynamodb,
        dynamodbStreams: client,
        kinesis: createAwsClients({ endpoint: dynamoServer.endpoint }).kinesis,
        sqs,
        countersTable: table,
        queueUrl,
        region: 'us-east-1',
      });
    const before = await rawTable(dynamodb, table);

    // Act
    const trimmed = await replayer(trimmingStreams).run();

    // Assess: kept, reported as past retention, nothing written
    expect(trimmed.kept).toBe(1);
    expect(trimmed.pastRetention).toBe(1);
    expect(trimmed.outcomes[0]).toMatchObject({ kind: 'range', action: 'kept', pastRetention: true });
    expect(trimmed.outcomes[0].reason).toMatch(
      new RegExp(
        `${shardId} of .* no longer holds ${records[0].dynamodb?.SequenceNumber} .*past the stream's retention`,
      ),
    );
    expect(await queueDepth(sqs, queueUrl)).toBe(1);
    expect(await rawTable(dynamodb, table)).toBe(before);

    // Act: the control, the same message with the stream as it really is
    const real = await replayer(streams).run();

    // Assess: read back and replayed, so the kept message above was the trim's doing
    expect(real).toMatchObject({ replayed: 1, kept: 0, pastRetention: 0, recordsReplayed: records.length });
    trimmingStreams.destroy();
  }, 60_000);
});
