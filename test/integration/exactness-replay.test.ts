/**
 * `npm run replay` end to end against real kinesis-local, dynalite and the local SQS, through the real SDK:
 * the emulator gives up on batches (its retries exhausted while counter writes fail), some records are
 * rejected (too late for the deployed lateness), the cause is fixed (writes work again; the replay runs
 * with the corrected lateness), and the counters must equal a reference model of every event, after one
 * replay, a second replay of the same messages, and a replay killed half-way (SIGKILL) and run again.
 * A dry run must change nothing. Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { testAnalyticsHandler } from '../helpers/test-handler.js';
import { createAwsClients } from '../../src/local/aws/aws-clients.js';
import { startDynalite, startKinesisLocal, type LocalServer } from '../../src/local/aws/servers.js';
import { EventSourceMappingEmulator } from '../../src/local/emulator/index.js';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import { mulberry32 } from '../../src/samples/prng.js';
import { createCountersTable, diffCounters, scanCounters } from '../helpers/counters-table.js';
import { exactnessMetrics } from '../helpers/exactness-metrics.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';
import {
  injectCounterWriteFaults,
  rejectsInsideRanges,
  peekQueue,
  queueDepth as depthOf,
  rawTable as rawItems,
  replayCli as runReplay,
  resend as resendBodies,
  waitFor,
  type CliRun,
} from '../helpers/replay-run.js';

function config(allowedLateness: string): StreamtallyConfig {
  return exactnessMetrics({ allowedLateness });
}
/** What was deployed: events more than 2 minutes late are rejected (too_late). */
const LIVE_CONFIG = config('2m');
/** The fix: the lateness the producers actually need. The model counts every event under it. */
const FIXED_CONFIG = config('2h');

let kinesisServer: LocalServer;
let dynamoServer: LocalServer;
let sqsServer: LocalServer;
let clients: { kinesis: KinesisClient; dynamodb: DynamoDBClient; sqs: SQSClient };
let fixedConfigFile: string;
let scenarioCounter = 0;

beforeAll(async () => {
  [kinesisServer, dynamoServer, sqsServer] = await Promise.all([startKinesisLocal(), startDynalite(), startLocalSqs()]);
  clients = {
    kinesis: createAwsClients({ endpoint: kinesisServer.endpoint }).kinesis,
    dynamodb: createAwsClients({ endpoint: dynamoServer.endpoint }).dynamodb,
    sqs: createAwsClients({ endpoint: sqsServer.endpoint }).sqs,
  };
  const dir = mkdtempSync(join(tmpdir(), 'streamtally-replay-'));
  fixedConfigFile = join(dir, 'fixed.config.json');
  writeFileSync(fixedConfigFile, JSON.stringify(FIXED_CONFIG));
}, 60_000);

afterAll(async () => {
  await Promise.all([kinesisServer?.stop(), dynamoServer?.stop(), sqsServer?.stop()]);
});

function makeEvents(count: number, seed: number): unknown[] {
  const random = mulberry32(seed);
  const countries = ['DE', 'US', 'FR'];
  const pages = ['/', '/pricing', '/docs'];
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const type = random() < 0.75 ? 'page_view' : 'purchase';
    // One in six is 20-40 minutes late: rejected by the deployed 2m lateness, counted after the fix.
    const lateMs = random() < 1 / 6 ? 20 * 60_000 + Math.floor(random() * 20 * 60_000) : Math.floor(random() * 30_000);
    out.push({
      type,
      ts: new Date(Date.now() - lateMs).toISOString(),
      user: { id: `u-${Math.floor(random() * 30)}`, plan: random() < 0.3 ? 'pro' : 'free' },
      page: pages[Math.floor(random() * pages.length)],
      country: countries[Math.floor(random() * countries.length)],
      latencyMs: Math.floor(random() * 500),
      amount: type === 'purchase' ? Math.floor(random() * 100) + 0.5 : undefined,
    });
  }
  return out;
}

interface Scenario {
  table: string;
  queueUrl: string;
  stream: string;
  /** Every event with the arrival time Kinesis gave it, read back from the stream. */
  events: ModelEvent[];
  /** The failure queue's messages before any replay. */
  bodies: string[];
  rangeMessages: number;
  rejectMessages: number;
}

function queueDepth(queueUrl: string): Promise<number> {
  return depthOf(clients.sqs, queueUrl);
}

async function put(stream: string, events: unknown[]): Promise<void> {
  const out = await clients.kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: events.map((e, i) => ({ Data: Buffer.from(JSON.stringify(e)), PartitionKey: `pk-${i}` })),
    }),
  );
  expect(out.FailedRecordCount ?? 0).toBe(0);
}

/**
 * Live traffic, then a failing table (writes fail after the first few of each attempt) until the emulator
 * gives up on batches, then the table recovers and live traffic goes on past the dropped ranges.
 */
async function scenario(options: { failLedger?: boolean } = {}): Promise<Scenario> {
  const n = ++scenarioCounter;
  const table = `replay-counters-${n}`;
  const stream = `replay-stream-${n}`;
  await createCountersTable(clients.dynamodb, table);
  const queueUrl = (await clients.sqs.send(new CreateQueueCommand({ QueueName: `replay-failures-${n}` })))
    .QueueUrl as string;
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  await waitFor(
    async () =>
      (await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary
        ?.StreamStatus === 'ACTIVE',
    'the stream',
  );

  const handlerDynamo = createAwsClients({ endpoint: dynamoServer.endpoint }).dynamodb;
  const faults = injectCounterWriteFaults(handlerDynamo, options.failLedger === true);
  const handler = testAnalyticsHandler({
    table,
    metrics: compileConfig(LIVE_CONFIG),
    dynamodb: handlerDynamo,
    sqs: clients.sqs,
    config: { failureQueueUrl: queueUrl, writeConcurrency: 4 },
  });
  const logs: string[] = [];
  const emulator = new EventSourceMappingEmulator({
    source: { kind: 'kinesis', stream },
    settings: {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 15,
      MaximumRetryAttempts: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: queueUrl } },
    },
    handler,
    function: { name: 'replay-test-fn', timeoutSeconds: 20, memorySizeMb: 256, region: 'us-east-1' },
    clients: { kinesis: clients.kinesis, sqs: clients.sqs },
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    logger: (level, message) => {
      logs.push(`${level} ${message}`);
    },
  });
  await emulator.start();
  try {
    const all: unknown[] = [];
    const push = async (events: unknown[]): Promise<void> => {
      all.push(...events);
      await put(stream, events);
      await waitFor(() => emulator.stats.recordsIn >= all.length, 'the emulator to read the records');
    };
    await push(makeEvents(30, n * 10 + 1));
    await waitFor(() => emulator.stats.batches >= 2 && emulator.stats.failures === 0, 'the live batches');

    // The table fails: the first 3 writes of the outage go through (durable in the failed attempt), then
    // every write fails with a non-retryable error, so attempts end with batchItemFailures.
    faults.failCounterWritesAfter = 3;
    const dropped = emulator.stats.sentToDlq;
    await push(makeEvents(30, n * 10 + 2));
    await waitFor(
      () => emulator.stats.sentToDlq >= dropped + 2,
      () => `the emulator to give up on two batches: ${JSON.stringify(emulator.stats)} ${logs.slice(-5).join(' / ')}`,
    );

    // Fixed; the live pipeline goes on and moves per-shard progress past the dropped ranges.
    faults.failCounterWritesAfter = -1;
    await push(makeEvents(30, n * 10 + 3));
    await waitFor(async () => {
      const committed = emulator.checkpoints.values().next().value;
      return (
        committed !== undefined && emulator.stats.recordsIn >= all.length && (await lastSequence(stream)) === committed
      );
    }, 'the live pipeline to catch up');
  } finally {
    await emulator.stop();
  }

  const events = await readBack(stream);
  const bodies = await peekQueue(clients.sqs, queueUrl);
  const rangeMessages = bodies.filter((b) => b.includes('KinesisBatchInfo')).length;
  return { table, queueUrl, stream, events, bodies, rangeMessages, rejectMessages: bodies.length - rangeMessages };
}

async function lastSequence(stream: string): Promise<string | undefined> {
  const events = await readRecords(stream);
  return events[events.length - 1]?.SequenceNumber;
}

async function readRecords(stream: string) {
  const summary = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  void summary;
  const it = await clients.kinesis.send(
    new GetShardIteratorCommand({
      StreamName: stream,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const records = [];
  let iterator = it.ShardIterator;
  for (let i = 0; i < 10 && iterator; i++) {
    const page = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    records.push(...(page.Records ?? []));
    iterator = page.NextShardIterator;
    if ((page.Records ?? []).length === 0) break;
  }
  return records;
}

async function readBack(stream: string): Promise<ModelEvent[]> {
  return (await readRecords(stream)).map((r) => ({
    event: JSON.parse(Buffer.from(r.Data as Uint8Array).toString('utf8')),
    arrivalMs: (r.ApproximateArrivalTimestamp as Date).getTime(),
  }));
}

async function drift(s: Scenario): Promise<string[]> {
  return diffCounters(await scanCounters(clients.dynamodb, s.table), referenceCounters(FIXED_CONFIG, s.events));
}

function rawTable(table: string): Promise<string> {
  return rawItems(clients.dynamodb, table);
}

function replayCli(s: Scenario, extra: string[] = [], killAfterPuts = 0): Promise<CliRun> {
  return runReplay(
    {
      queueUrl: s.queueUrl,
      table: s.table,
      configFile: fixedConfigFile,
      kinesisEndpoint: kinesisServer.endpoint,
      dynamodbEndpoint: dynamoServer.endpoint,
      sqsEndpoint: sqsServer.endpoint,
    },
    extra,
    killAfterPuts,
  );
}

function resend(s: Scenario): Promise<void> {
  return resendBodies(clients.sqs, s.queueUrl, s.bodies);
}

describe('npm run replay', () => {
  test('counts what Lambda gave up on and the rejects exactly once: replay, replay again, dry run', async () => {
    // Prepare
    const s = await scenario();
    expect(s.rangeMessages).toBeGreaterThanOrEqual(2);
    expect(s.rejectMessages).toBeGreaterThan(0);
    // Some rejects were sent by the failed attempts of a dropped range: a range replay and a reject
    // replay then meet on the same record, the case the two lanes must not count twice.
    expect(rejectsInsideRanges(s.bodies)).toBeGreaterThan(0);
    expect((await drift(s)).length).toBeGreaterThan(0); // the drops and rejects are missing

    // Act: a dry run
    const before = await rawTable(s.table);
    const dry = await replayCli(s, ['--dry-run']);

    // Assess: it printed the plan and changed nothing
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would-replay range shardId-000000000000/);
    expect(dry.stdout).toMatch(/would-replay reject/);
    expect(await rawTable(s.table)).toBe(before);
    expect(await queueDepth(s.queueUrl)).toBe(s.bodies.length);

    // Act: the replay
    const run = await replayCli(s);

    // Assess: every message replayed and deleted; counters equal the model of every event
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/NodeVersion|Node\.js version|at .*\(.*\.ts:\d+/);
    expect(run.stdout).toContain(`${s.bodies.length} messages: ${s.bodies.length} replayed`);
    expect(await queueDepth(s.queueUrl)).toBe(0);
    expect(await drift(s)).toEqual([]);

    // Act: the same messages again (a duplicate delivery, an operator's second run)
    await resend(s);
    const again = await replayCli(s);

    // Assess
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await drift(s)).toEqual([]);
    expect(again.stdout).toMatch(/0 items written/);
  }, 240_000);

  test('a replay killed half-way (SIGKILL after a write landed) and run again counts each record once', async () => {
    // Prepare
    const s = await scenario();
    expect(s.rangeMessages).toBeGreaterThanOrEqual(2);

    // Act: killed after its 4th PutItem reached the table (before it heard back), then again after its
    // 40th (the run starts over with the messages left, so this lands further on, in a range message)
    const before = await rawTable(s.table);
    const killed = await replayCli(s, ['--visibility-timeout', '2'], 4);
    const afterFirstKill = await rawTable(s.table);
    await new Promise((r) => setTimeout(r, 2_500));
    const killedAgain = await replayCli(s, ['--visibility-timeout', '2'], 40);

    // Assess: both died half-way, having written something, with messages left
    expect(killed.signal).toBe('SIGKILL');
    expect(killedAgain.signal).toBe('SIGKILL');
    expect(afterFirstKill).not.toBe(before);
    expect(await queueDepth(s.queueUrl)).toBeGreaterThan(0);

    // Act: run again once the killed run's messages are visible again
    await new Promise((r) => setTimeout(r, 2_500));
    const rerun = await replayCli(s);

    // Assess
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await queueDepth(s.queueUrl)).toBe(0);
    expect(await drift(s)).toEqual([]);
  }, 240_000);

  test('when the failure ledger could not be written either, the ranges are kept and reported, never guessed', async () => {
    // Prepare: the ledger's writes fail as well as the counters' (a whole-table outage)
    const s = await scenario({ failLedger: true });
    expect(s.rangeMessages).toBeGreaterThanOrEqual(2);

    // Act
    const run = await replayCli(s);

    // Assess: exit 3 (some kept), the ranges kept with the reason, and no counter above the model
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stdout).toMatch(/kept range shardId-000000000000 .*failure ledger does not say/);
    // A range whose every item can still be judged by its own progress (no later batch moved it past the
    // range's end) needs no ledger and is replayed; whether one is depends on the run's timing. Every
    // other range is kept, and each kept one is reported.
    const depth = await queueDepth(s.queueUrl);
    expect(depth).toBeGreaterThan(0);
    expect(depth).toBeLessThanOrEqual(s.rangeMessages);
    expect(run.stdout.match(/kept range /g)?.length ?? 0).toBe(depth);
    const actual = await scanCounters(clients.dynamodb, s.table);
    const over = [...referenceCounters(FIXED_CONFIG, s.events)].filter(
      ([key, want]) => (actual.get(key)?.count ?? 0) > want.count,
    );
    expect(over).toEqual([]);
  }, 240_000);
});
