/**
 * The event-source-mapping emulator against real kinesis-local (and moto_server's SQS for the on-failure
 * destination where installed), through the real SDK clients. Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { readFileSync } from 'node:fs';
import {
  CreateStreamCommand,
  PutRecordCommand,
  PutRecordsCommand,
  SplitShardCommand,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createAwsClients, type AwsClients } from '../../../src/local/aws/aws-clients.js';
import { motoAvailable, startKinesisLocal, startMoto, type LocalServer } from '../../../src/local/aws/servers.js';
import {
  EventSourceMappingEmulator,
  EsmSettingsError,
  MAX_INVOKE_PAYLOAD_BYTES,
  resolveEsmSettings,
  type EventSourceMappingEmulatorOptions,
  type EventSourceMappingSettings,
  type OnFailureDestination,
  type StreamFailureRecord,
} from '../../../src/local/emulator/index.js';

const FIXTURE = JSON.parse(
  readFileSync(new URL('../../fixtures/peer-events/kinesis-stream-one-record.json', import.meta.url), 'utf8'),
) as {
  Records: Record<string, unknown>[];
};
const DEADLINE_MS = 30_000;
const HAS_MOTO = motoAvailable();

interface KinesisTestRecord {
  kinesis: {
    sequenceNumber: string;
    data: string;
    approximateArrivalTimestamp: number;
    partitionKey: string;
    kinesisSchemaVersion: string;
  };
  eventID: string;
  [key: string]: unknown;
}
interface TestEvent {
  Records: KinesisTestRecord[];
  window?: { start: string; end: string };
  state?: Record<string, unknown>;
  shardId?: string;
  eventSourceARN?: string;
  isFinalInvokeForWindow?: boolean;
  isWindowTerminatedEarly?: boolean;
}
interface Call {
  event: TestEvent;
  context: Context;
  remainingMs: number;
  data: string[];
  shardId: string;
}
type Behaviour = (event: TestEvent, call: Call, callIndex: number) => unknown;

const dataOf = (r: KinesisTestRecord): string => Buffer.from(r.kinesis.data, 'base64').toString('utf8');

/** A small real handler: records what it saw and answers as `behaviour` says. */
function recordingHandler(behaviour?: Behaviour): {
  calls: Call[];
  handler: (event: TestEvent, context: Context) => Promise<unknown>;
} {
  const calls: Call[] = [];
  return {
    calls,
    handler: async (event, context) => {
      const call: Call = {
        event,
        context,
        remainingMs: context.getRemainingTimeInMillis(),
        data: event.Records.map(dataOf),
        shardId: event.Records[0]?.eventID.split(':')[0] ?? event.shardId ?? '',
      };
      calls.push(call);
      return behaviour?.(event, call, calls.length - 1);
    },
  };
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** In-memory stand-in, used only when moto_server (for SQS) is not installed. */
class MemoryDestination implements OnFailureDestination {
  readonly records: StreamFailureRecord[] = [];
  async send(record: StreamFailureRecord): Promise<void> {
    this.records.push(record);
  }
}

let kinesisServer: LocalServer;
let moto: (LocalServer & { reset(): Promise<void> }) | undefined;
let clients: AwsClients;
let sqs: SQSClient | undefined;
const emulators: EventSourceMappingEmulator[] = [];
let streamCounter = 0;
const quietLog: { level: string; message: string }[] = [];

beforeAll(async () => {
  const hasMoto = HAS_MOTO;
  if (!hasMoto)
    console.warn(
      'moto_server is not installed (pip install "moto[server]"): on-failure destination tests use an in-memory destination instead of SQS.',
    );
  [kinesisServer, moto] = await Promise.all([startKinesisLocal(), hasMoto ? startMoto() : Promise.resolve(undefined)]);
  clients = createAwsClients({ endpoint: kinesisServer.endpoint, region: 'us-east-1' });
  if (moto) sqs = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' }).sqs;
});

afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.stop()));
});

afterAll(async () => {
  clients?.kinesis.destroy();
  sqs?.destroy();
  await Promise.all([kinesisServer?.stop(), moto?.stop()]);
});

async function createStream(shards = 1): Promise<string> {
  const name = `esm-${++streamCounter}-${Date.now()}`;
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

async function put(stream: string, data: string[], partitionKey?: (i: number) => string): Promise<string[]> {
  const out = await clients.kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: data.map((d, i) => ({ Data: Buffer.from(d), PartitionKey: partitionKey ? partitionKey(i) : 'pk' })),
    }),
  );
  expect(out.FailedRecordCount ?? 0).toBe(0);
  return (out.Records ?? []).map((r) => r.SequenceNumber ?? '');
}

async function waitForChildren(stream: string): Promise<void> {
  await waitFor(async () => {
    const shards = (await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    return shards.filter((sh) => sh.ParentShardId).length === 2;
  }, 'the child shards');
}

const range = (n: number, prefix = 'r'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function startEmulator(
  stream: string,
  settings: EventSourceMappingSettings,
  handler: EventSourceMappingEmulatorOptions['handler'],
  extra: Partial<EventSourceMappingEmulatorOptions> = {},
): Promise<EventSourceMappingEmulator> {
  const emulator = new EventSourceMappingEmulator({
    source: { kind: 'kinesis', stream },
    settings,
    handler,
    function: { name: 'counter-fn', timeoutSeconds: 10, memorySizeMb: 256, region: 'us-east-1' },
    clients: { kinesis: clients.kinesis, sqs },
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    logger: (level, message) => quietLog.push({ level, message }),
    ...extra,
  });
  emulators.push(emulator);
  await emulator.start();
  return emulator;
}

/** SQS from moto where installed, else memory; `read()` returns what arrived so far. */
async function failureSink(): Promise<{
  settings: EventSourceMappingSettings['DestinationConfig'];
  extra: Partial<EventSourceMappingEmulatorOptions>;
  read: () => Promise<StreamFailureRecord[]>;
}> {
  if (sqs) {
    const client = sqs;
    const queue = await client.send(new CreateQueueCommand({ QueueName: `dlq-${++streamCounter}` }));
    const url = queue.QueueUrl ?? '';
    const seen: StreamFailureRecord[] = [];
    return {
      settings: { OnFailure: { Destination: url } },
      extra: {},
      read: async () => {
        const out = await client.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        for (const m of out.Messages ?? []) seen.push(JSON.parse(m.Body ?? '{}') as StreamFailureRecord);
        return seen;
      },
    };
  }
  const memory = new MemoryDestination();
  return { settings: undefined, extra: { failureDestination: memory }, read: async () => memory.records };
}

async function waitForFailures(
  read: () => Promise<StreamFailureRecord[]>,
  count: number,
): Promise<StreamFailureRecord[]> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const got = await read();
    if (got.length >= count) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} failure records (got ${got.length})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('event shape and context', () => {
  test("records and context are shaped like Lambda's", async () => {
    // Prepare
    const stream = await createStream();
    const seqs = await put(stream, ['{"a":1}', 'two', 'three']);
    const { calls, handler } = recordingHandler();
    const before = Date.now() / 1000;
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', BatchSize: 10 }, handler);
    await waitFor(() => calls.length >= 1, 'first invocation');
    // Assess
    const { event, context, remainingMs, data } = calls[0];
    expect(data).toEqual(['{"a":1}', 'two', 'three']);
    expect(Object.keys(event)).toEqual(['Records']);
    const r = event.Records[0];
    expect(Object.keys(r)).toEqual(Object.keys(FIXTURE.Records[0]));
    expect(Object.keys(r.kinesis)).toEqual(Object.keys(FIXTURE.Records[0].kinesis as object));
    expect(r).toMatchObject({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventName: 'aws:kinesis:record',
      eventID: `shardId-000000000000:${seqs[0]}`,
      awsRegion: 'us-east-1',
      eventSourceARN: esm.streamArn,
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/counter-fn-role',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk',
        sequenceNumber: seqs[0],
        data: Buffer.from('{"a":1}').toString('base64'),
      },
    });
    expect(esm.streamArn).toMatch(new RegExp(`^arn:aws:kinesis:us-east-1:\\d{12}:stream/${stream}$`));
    expect(typeof r.kinesis.approximateArrivalTimestamp).toBe('number');
    expect(r.kinesis.approximateArrivalTimestamp).toBeGreaterThan(before - 60);
    expect(r.kinesis.approximateArrivalTimestamp).toBeLessThan(Date.now() / 1000 + 60);
    expect(context).toMatchObject({
      functionName: 'counter-fn',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:counter-fn',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/counter-fn',
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(remainingMs).toBeGreaterThan(0);
    expect(remainingMs).toBeLessThanOrEqual(10_000);
    expect(() => context.succeed('x')).toThrow(/async handler/);
    expect(esm.checkpoints.get('shardId-000000000000')).toBe(seqs[2]);
  });

  test('one poller per shard; records arrive in order per shard, each exactly once', async () => {
    // Prepare
    const stream = await createStream(3);
    const sent = range(90);
    await put(stream, sent, (i) => `key-${i % 7}`);
    const { calls, handler } = recordingHandler();
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', BatchSize: 7 }, handler);
    await waitFor(() => calls.reduce((n, c) => n + c.data.length, 0) >= sent.length, 'all records');
    // Assess
    expect(esm.stats.activeShards).toBe(3);
    const byShard = new Map<string, bigint[]>();
    for (const c of calls) {
      for (const r of c.event.Records) {
        expect(r.eventID.split(':')[0]).toBe(c.shardId); // a batch never mixes shards
        const list = byShard.get(c.shardId) ?? [];
        list.push(BigInt(r.kinesis.sequenceNumber));
        byShard.set(c.shardId, list);
      }
    }
    expect(byShard.size).toBeGreaterThan(1);
    for (const seqs of byShard.values()) {
      for (let i = 1; i < seqs.length; i++) expect(seqs[i] > seqs[i - 1]).toBe(true);
    }
    expect(calls.flatMap((c) => c.data).sort()).toEqual([...sent].sort());
    expect(esm.stats.recordsIn).toBe(90);
  });
});

describe('batching', () => {
  test('BatchSize caps every batch', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, range(25));
    const { calls, handler } = recordingHandler();
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', BatchSize: 10 }, handler);
    await waitFor(() => calls.reduce((n, c) => n + c.data.length, 0) >= 25, 'all records');
    // Assess
    expect(calls.map((c) => c.data.length)).toEqual([10, 10, 5]);
    expect(calls.flatMap((c) => c.data)).toEqual(range(25));
    expect(esm.stats.batches).toBe(3);
    expect(esm.stats.invocations).toBe(3);
  });

  test('MaximumBatchingWindowInSeconds gathers records put one by one into one batch', async () => {
    // Prepare
    const stream = await createStream();
    const { calls, handler } = recordingHandler();
    await startEmulator(
      stream,
      { StartingPosition: 'LATEST', BatchSize: 100, MaximumBatchingWindowInSeconds: 5 },
      handler,
    );
    // Act: separate PutRecord calls, each visible to a separate GetRecords
    for (const d of range(4))
      await clients.kinesis.send(
        new PutRecordCommand({ StreamName: stream, PartitionKey: 'pk', Data: Buffer.from(d) }),
      );
    await waitFor(() => calls.length >= 1, 'the batch');
    // Assess
    expect(calls[0].data).toEqual(range(4));
  });

  test('a full BatchSize does not wait for the batching window', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, range(6));
    const { calls, handler } = recordingHandler();
    // Act: the window is 300 s; only a full batch can be invoked before the deadline
    await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', BatchSize: 3, MaximumBatchingWindowInSeconds: 300 },
      handler,
    );
    await waitFor(() => calls.length >= 2, 'two full batches');
    // Assess
    expect(calls.map((c) => c.data)).toEqual([range(3), ['r3', 'r4', 'r5']]);
  });

  test('a batch never exceeds the payload limit (6 MB; scaled down here, see payloadLimitBytes)', async () => {
    // Prepare: kinesis-local needs ~20 s to take 6 MB, so the same rule runs at 1/64 scale
    expect(MAX_INVOKE_PAYLOAD_BYTES).toBe(6 * 1024 * 1024);
    const limit = MAX_INVOKE_PAYLOAD_BYTES / 64; // 96 KiB
    const stream = await createStream();
    const big = (i: number): string => `${i}`.padEnd(20 * 1024, 'x'); // ~27 KiB as base64 in the event
    await put(
      stream,
      Array.from({ length: 9 }, (_, i) => big(i)),
    );
    const sizes: number[] = [];
    const { calls, handler } = recordingHandler((event) => {
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
    });
    // Act
    await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', BatchSize: 100 }, handler, {
      payloadLimitBytes: limit,
    });
    await waitFor(() => calls.reduce((n, c) => n + c.data.length, 0) >= 9, 'all records');
    // Assess
    expect(calls.map((c) => c.data.length)).toEqual([3, 3, 3]);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(limit);
  });
});

describe('starting position', () => {
  test('TRIM_HORIZON reads the records already there; LATEST only those put after start', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, ['old-1', 'old-2']);
    const trim = recordingHandler();
    const latest = recordingHandler();
    await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON' }, trim.handler);
    await startEmulator(stream, { StartingPosition: 'LATEST' }, latest.handler);
    // Act
    await put(stream, ['new-1', 'new-2']);
    await waitFor(() => trim.calls.flatMap((c) => c.data).length >= 4, 'TRIM_HORIZON to see 4');
    await waitFor(() => latest.calls.flatMap((c) => c.data).length >= 2, 'LATEST to see 2');
    // Assess
    expect(trim.calls.flatMap((c) => c.data)).toEqual(['old-1', 'old-2', 'new-1', 'new-2']);
    expect(latest.calls.flatMap((c) => c.data)).toEqual(['new-1', 'new-2']);
  });

  test('AT_TIMESTAMP starts at the first record at or after the timestamp', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, ['before']);
    await new Promise((r) => setTimeout(r, 1100)); // arrival timestamps need a distinct second on both sides
    const at = Date.now() / 1000;
    await put(stream, ['after']);
    const { calls, handler } = recordingHandler();
    // Act
    await startEmulator(stream, { StartingPosition: 'AT_TIMESTAMP', StartingPositionTimestamp: at }, handler);
    await waitFor(() => calls.length >= 1, 'an invocation');
    // Assess
    expect(calls[0].data).toEqual(['after']);
  });
});

describe('partial batch response (ReportBatchItemFailures)', () => {
  test('checkpoints before the lowest reported record and redelivers from it', async () => {
    // Prepare
    const stream = await createStream();
    const seqs = await put(stream, range(10));
    const { calls, handler } = recordingHandler((_e, _c, i) =>
      i === 0
        ? { batchItemFailures: [{ itemIdentifier: seqs[6] }, { itemIdentifier: seqs[3] }] }
        : { batchItemFailures: [] },
    );
    // Act
    const esm = await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] },
      handler,
    );
    await waitFor(() => calls.length >= 2 && esm.checkpoints.get('shardId-000000000000') === seqs[9], 'the redelivery');
    // Assess
    expect(calls.map((c) => c.data)).toEqual([range(10), range(10).slice(3)]);
    expect(esm.stats).toMatchObject({ invocations: 2, failures: 1, retries: 1, batches: 1 });
  });

  test('an itemIdentifier not in the batch, or empty, fails the whole batch', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, range(4));
    const answers = [
      { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      null,
    ];
    const { calls, handler } = recordingHandler((_e, _c, i) => answers[i]);
    // Act
    const esm = await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] },
      handler,
    );
    await waitFor(() => calls.length >= 4, 'three retries and a success');
    // Assess
    expect(calls.map((c) => c.data)).toEqual([range(4), range(4), range(4), range(4)]);
    expect(esm.stats).toMatchObject({ failures: 3, retries: 3 });
  });

  test('without ReportBatchItemFailures, batchItemFailures is ignored', async () => {
    // Prepare
    const stream = await createStream();
    const seqs = await put(stream, range(3));
    const { calls, handler } = recordingHandler(() => ({ batchItemFailures: [{ itemIdentifier: seqs[1] }] }));
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON' }, handler);
    await waitFor(() => esm.checkpoints.get('shardId-000000000000') === seqs[2], 'the checkpoint');
    // Assess
    expect(calls).toHaveLength(1);
    expect(esm.stats.failures).toBe(0);
  });
});

describe('function errors', () => {
  test('retries a failing batch MaximumRetryAttempts times, then sends its batch info to the OnFailure destination and moves on', async () => {
    // Prepare
    const stream = await createStream();
    const sink = await failureSink();
    const seqs = await put(stream, ['bad-0', 'ok-1', 'ok-2']);
    const { calls, handler } = recordingHandler((event) => {
      if (event.Records.some((r) => dataOf(r).startsWith('bad'))) throw new Error('boom');
    });
    // Act
    const esm = await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', BatchSize: 10, MaximumRetryAttempts: 2, DestinationConfig: sink.settings },
      handler,
      sink.extra,
    );
    const [failure] = await waitForFailures(sink.read, 1);
    await put(stream, ['ok-3']);
    await waitFor(() => calls.some((c) => c.data.includes('ok-3')), 'the next batch');
    // Assess
    expect(calls.slice(0, 3).map((c) => c.data)).toEqual([
      ['bad-0', 'ok-1', 'ok-2'],
      ['bad-0', 'ok-1', 'ok-2'],
      ['bad-0', 'ok-1', 'ok-2'],
    ]);
    expect(calls[3].data).toEqual(['ok-3']);
    expect(Object.keys(failure)).toEqual([
      'requestContext',
      'responseContext',
      'version',
      'timestamp',
      'KinesisBatchInfo',
    ]);
    expect(failure).toMatchObject({
      requestContext: {
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:counter-fn',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: seqs[0],
        endSequenceNumber: seqs[2],
        batchSize: 3,
        streamArn: esm.streamArn,
      },
    });
    expect(failure.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(failure.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(failure.KinesisBatchInfo?.approximateArrivalOfFirstRecord).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
    );
    expect(failure.KinesisBatchInfo?.approximateArrivalOfLastRecord).toMatch(/Z$/);
    expect(esm.stats).toMatchObject({ sentToDlq: 1, recordsDiscarded: 3, retries: 2, failures: 3 });
  });

  test('BisectBatchOnFunctionError splits failing batches down to the bad record without spending retries', async () => {
    // Prepare
    const stream = await createStream();
    const sink = await failureSink();
    const seqs = await put(stream, range(8));
    const { calls, handler } = recordingHandler((event) => {
      if (event.Records.some((r) => dataOf(r) === 'r5')) return Promise.reject(new Error('r5 is poison'));
      return undefined;
    });
    // Act
    const esm = await startEmulator(
      stream,
      {
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 8,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 1,
        DestinationConfig: sink.settings,
      },
      handler,
      sink.extra,
    );
    const [failure] = await waitForFailures(sink.read, 1);
    await waitFor(() => esm.checkpoints.get('shardId-000000000000') === seqs[7], 'the last half');
    // Assess
    expect(calls.map((c) => c.data)).toEqual([
      range(8),
      ['r0', 'r1', 'r2', 'r3'],
      ['r4', 'r5', 'r6', 'r7'],
      ['r4', 'r5'],
      ['r4'],
      ['r5'],
      ['r5'], // the one retry MaximumRetryAttempts allows
      ['r6', 'r7'],
    ]);
    expect(failure.KinesisBatchInfo).toMatchObject({
      startSequenceNumber: seqs[5],
      endSequenceNumber: seqs[5],
      batchSize: 1,
    });
    expect(failure.requestContext.approximateInvokeCount).toBe(5);
    expect(esm.stats).toMatchObject({ bisections: 3, retries: 1, sentToDlq: 1, recordsDiscarded: 1 });
  });

  test('BisectBatchOnFunctionError with a partial batch response retries only from the reported record', async () => {
    // Prepare
    const stream = await createStream();
    const seqs = await put(stream, range(6));
    const { calls, handler } = recordingHandler((_e, _c, i) =>
      i === 0 ? { batchItemFailures: [{ itemIdentifier: seqs[4] }] } : {},
    );
    // Act
    const esm = await startEmulator(
      stream,
      {
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 6,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
      handler,
    );
    await waitFor(() => esm.checkpoints.get('shardId-000000000000') === seqs[5], 'the checkpoint');
    // Assess
    expect(calls.map((c) => c.data)).toEqual([range(6), ['r4', 'r5']]);
    expect(esm.stats.bisections).toBe(0);
  });

  test('a handler that runs past its timeout fails like Lambda: "Task timed out"', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, ['slow']);
    let slowTimer: NodeJS.Timeout | undefined;
    const { calls, handler } = recordingHandler((_e, _c, i) =>
      i === 0 ? new Promise((r) => (slowTimer = setTimeout(r, 3_000))) : undefined,
    );
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON' }, handler, {
      function: { name: 'counter-fn', timeoutSeconds: 1 },
    });
    await waitFor(() => calls.length >= 2, 'the retry after the timeout');
    clearTimeout(slowTimer);
    // Assess
    expect(esm.stats.failures).toBe(1);
    expect(quietLog.some((l) => /Task timed out after 1\.00 seconds/.test(l.message))).toBe(true);
  });

  test('MaximumRecordAgeInSeconds: records older than the limit go to the OnFailure destination', async () => {
    // Prepare: an injected clock lets the test age the records without waiting a minute
    const stream = await createStream();
    const sink = await failureSink();
    const seqs = await put(stream, ['a', 'b']);
    let offsetMs = 0;
    const { calls, handler } = recordingHandler(() => {
      throw new Error('always fails');
    });
    // Act
    const esm = await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', MaximumRecordAgeInSeconds: 60, DestinationConfig: sink.settings },
      handler,
      { ...sink.extra, clock: { now: () => Date.now() + offsetMs } },
    );
    await waitFor(() => calls.length >= 1, 'a first failed invocation');
    offsetMs = 120_000;
    const [failure] = await waitForFailures(sink.read, 1);
    // Assess
    expect(failure.requestContext.condition).toBe('RecordAgeExceeded');
    expect(failure.requestContext.approximateInvokeCount).toBeGreaterThanOrEqual(1);
    expect(failure.KinesisBatchInfo).toMatchObject({
      startSequenceNumber: seqs[0],
      endSequenceNumber: seqs[1],
      batchSize: 2,
    });
    await waitFor(() => esm.checkpoints.get('shardId-000000000000') === seqs[1], 'the checkpoint to move past them');
  });
});

describe('tumbling windows', () => {
  test('windows are aligned to arrival time, carry state between invocations and end with a final invoke', async () => {
    // Prepare
    const stream = await createStream();
    const windowMs = 2_000;
    const { calls, handler } = recordingHandler((event) => {
      const count = Number(event.state?.count ?? 0) + event.Records.length;
      return { state: { count } };
    });
    const esm = await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', BatchSize: 2, TumblingWindowInSeconds: 2 },
      handler,
    );
    // Act
    await put(stream, range(5));
    await waitFor(
      () =>
        calls.some((c) => c.event.isFinalInvokeForWindow && Number(c.event.state?.count) > 0) &&
        calls.flatMap((c) => c.data).length >= 5 &&
        calls[calls.length - 1].event.isFinalInvokeForWindow === true,
      'the final invokes',
    );
    // Assess
    let previousState: Record<string, unknown> = {};
    let windowStart = '';
    let finalTotal = 0;
    for (const { event } of calls) {
      expect(event).toMatchObject({
        shardId: 'shardId-000000000000',
        eventSourceARN: esm.streamArn,
        isWindowTerminatedEarly: false,
      });
      const start = Date.parse(event.window?.start ?? '');
      const end = Date.parse(event.window?.end ?? '');
      expect(event.window?.start).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(end - start).toBe(windowMs);
      expect(start % windowMs).toBe(0);
      if (event.window?.start !== windowStart) {
        windowStart = event.window?.start ?? '';
        previousState = {};
      }
      expect(event.state).toEqual(previousState);
      for (const r of event.Records) {
        const arrivalMs = r.kinesis.approximateArrivalTimestamp * 1000;
        expect(arrivalMs).toBeGreaterThanOrEqual(start);
        expect(arrivalMs).toBeLessThan(end);
      }
      if (event.isFinalInvokeForWindow) {
        expect(event.Records).toEqual([]);
        finalTotal += Number(event.state?.count ?? 0);
        windowStart = '';
      } else {
        previousState = { count: Number(event.state?.count ?? 0) + event.Records.length };
      }
    }
    expect(finalTotal).toBe(5);
  });

  test('a state over 1 MB terminates the window early; the same window goes on with a fresh state', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, ['t0', 't1']);
    const blob = 'x'.repeat(1024 * 1024 + 1);
    const { calls, handler } = recordingHandler((_e, _c, i) => (i === 0 ? { state: { blob } } : { state: { n: i } }));
    // Act
    await startEmulator(
      stream,
      { StartingPosition: 'TRIM_HORIZON', BatchSize: 1, TumblingWindowInSeconds: 900 },
      handler,
    );
    await waitFor(() => calls.length >= 3, 'three invocations');
    // Assess
    expect(
      calls.slice(0, 3).map((c) => [c.data, c.event.isFinalInvokeForWindow, c.event.isWindowTerminatedEarly]),
    ).toEqual([
      [['t0'], false, false],
      [[], true, true],
      [['t1'], false, false],
    ]);
    expect(calls[1].event.state).toEqual({ blob });
    expect(calls[2].event.state).toEqual({});
    expect(calls[2].event.window).toEqual(calls[0].event.window);
  });

  test('a window response without state counts as a failed invocation', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, ['w0', 'w1']);
    const { calls, handler } = recordingHandler((event, _c, i) =>
      i === 0 ? { batchItemFailures: [] } : { state: { n: event.Records.length } },
    );
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', TumblingWindowInSeconds: 60 }, handler);
    await waitFor(() => calls.length >= 2, 'the retry');
    // Assess
    expect(calls[1].data).toEqual(['w0', 'w1']);
    expect(calls[1].event.state).toEqual({});
    expect(esm.stats.failures).toBe(1);
  });
});

describe('resharding', () => {
  test('a split parent is drained to its end before its children start', async () => {
    // Prepare
    const stream = await createStream();
    await put(stream, range(12, 'parent-'));
    const [parent] = (await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    await clients.kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: parent.ShardId,
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitForChildren(stream);
    await put(stream, range(12, 'child-'), (i) => `k${i}`);
    const { calls, handler } = recordingHandler(() => new Promise((r) => setTimeout(r, 20)));
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', BatchSize: 5 }, handler);
    await waitFor(() => calls.flatMap((c) => c.data).length >= 24, 'every record');
    // Assess
    const shards = calls.map((c) => c.shardId);
    const lastParent = shards.lastIndexOf('shardId-000000000000');
    const firstChild = shards.findIndex((s) => s !== 'shardId-000000000000');
    expect(lastParent).toBeLessThan(firstChild);
    expect(calls.slice(0, lastParent + 1).flatMap((c) => c.data)).toEqual(range(12, 'parent-'));
    expect(new Set(shards.slice(firstChild))).toEqual(new Set(['shardId-000000000001', 'shardId-000000000002']));
    expect(
      calls
        .flatMap((c) => c.data)
        .filter((d) => d.startsWith('child-'))
        .sort(),
    ).toEqual(range(12, 'child-').sort());
    await waitFor(() => esm.stats.finishedShards === 1, 'the parent to count as finished');
  });

  test('a split while polling: the parent is read to its end, then the children', async () => {
    // Prepare
    const stream = await createStream();
    const { calls, handler } = recordingHandler();
    const esm = await startEmulator(stream, { StartingPosition: 'LATEST', BatchSize: 50 }, handler);
    await put(stream, range(3, 'before-'));
    await waitFor(() => calls.flatMap((c) => c.data).length >= 3, 'records before the split');
    // Act
    await clients.kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitForChildren(stream);
    await put(stream, range(6, 'after-'), (i) => `k${i}`);
    await waitFor(() => calls.flatMap((c) => c.data).length >= 9, 'records after the split');
    // Assess
    expect(
      calls
        .filter((c) => c.data.some((d) => d.startsWith('after-')))
        .every((c) => c.shardId !== 'shardId-000000000000'),
    ).toBe(true);
    await waitFor(
      () => esm.stats.finishedShards === 1 && esm.stats.activeShards === 2,
      'one finished parent, two active children',
    );
  });
});

describe('resharding on moto_server', () => {
  test.skipIf(!HAS_MOTO)('a closed parent that moto never ends is still drained, then its children run', async () => {
    // Prepare: moto keeps returning an iterator for a closed shard (TOOLCHAIN.md), numbers records 1, 2, 3...
    // and even routes records put after the split to the closed parent
    const motoClients = createAwsClients({ endpoint: moto?.endpoint ?? '', region: 'us-east-1' });
    const stream = `moto-split-${++streamCounter}`;
    await motoClients.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await motoClients.kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: range(4, 'parent-').map((d) => ({ PartitionKey: 'p', Data: Buffer.from(d) })),
      }),
    );
    await motoClients.kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    const { calls, handler } = recordingHandler();
    // Act
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', BatchSize: 10 }, handler, {
      clients: { kinesis: motoClients.kinesis },
    });
    await waitFor(
      () => esm.stats.finishedShards === 1 && esm.stats.activeShards === 2,
      'the parent to end and both children to start',
    );
    // Assess
    expect(calls.map((c) => c.data)).toEqual([range(4, 'parent-')]);
    expect(calls[0].shardId).toBe('shardId-000000000000');
    await esm.stop();
    motoClients.kinesis.destroy();
  });
});

describe('settings', () => {
  test('ParallelizationFactor other than 1 is rejected with the reason', () => {
    expect(
      () =>
        new EventSourceMappingEmulator({
          source: { kind: 'kinesis', stream: 's' },
          settings: { StartingPosition: 'LATEST', ParallelizationFactor: 4 },
          handler: async () => undefined,
          function: { name: 'f' },
          clients: { kinesis: clients.kinesis },
        }),
    ).toThrow(EsmSettingsError);
    expect(
      () =>
        new EventSourceMappingEmulator({
          source: { kind: 'kinesis', stream: 's' },
          settings: { StartingPosition: 'LATEST', ParallelizationFactor: 4 },
          handler: async () => undefined,
          function: { name: 'f' },
          clients: { kinesis: clients.kinesis },
        }),
    ).toThrow(/only 1 is supported.*in-order|in sequence-number order/);
  });

  test('defaults follow Lambda; out-of-range values name the field', () => {
    expect(resolveEsmSettings({ StartingPosition: 'LATEST' }, 'kinesis')).toEqual({
      startingPosition: 'LATEST',
      startingPositionTimestampMs: undefined,
      batchSize: 100,
      batchingWindowMs: 0,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: -1,
      reportBatchItemFailures: false,
      onFailureDestination: undefined,
      tumblingWindowMs: 0,
      enabled: true,
    });
    expect(() => resolveEsmSettings({ StartingPosition: 'LATEST', BatchSize: 0 }, 'kinesis')).toThrow(
      /BatchSize must be an integer from 1 to 10000/,
    );
    expect(() => resolveEsmSettings({ StartingPosition: 'LATEST', MaximumRecordAgeInSeconds: 30 }, 'kinesis')).toThrow(
      /MaximumRecordAgeInSeconds/,
    );
    expect(() => resolveEsmSettings({ StartingPosition: 'LATEST', TumblingWindowInSeconds: 901 }, 'kinesis')).toThrow(
      /TumblingWindowInSeconds/,
    );
    expect(() => resolveEsmSettings({ StartingPosition: 'AT_TIMESTAMP' }, 'kinesis')).toThrow(
      /StartingPositionTimestamp/,
    );
    expect(() =>
      resolveEsmSettings({ StartingPosition: 'LATEST', FunctionResponseTypes: ['Nope'] }, 'kinesis'),
    ).toThrow(/ReportBatchItemFailures/);
    expect(() =>
      resolveEsmSettings(
        {
          StartingPosition: 'LATEST',
          DestinationConfig: { OnFailure: { Destination: 'arn:aws:sns:us-east-1:123456789012:t' } },
        },
        'kinesis',
      ),
    ).toThrow(/SNS/);
  });

  test('a stream that does not exist fails start() with a clear error', async () => {
    const { handler } = recordingHandler();
    await expect(startEmulator('no-such-stream', { StartingPosition: 'LATEST' }, handler)).rejects.toThrow(
      /could not be described/,
    );
  });

  test('Enabled: false polls nothing', async () => {
    const stream = await createStream();
    await put(stream, ['x']);
    const { calls, handler } = recordingHandler();
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON', Enabled: false }, handler);
    expect(esm.stats.activeShards).toBe(0);
    expect(calls).toHaveLength(0);
  });
});

describe('start / stop', () => {
  test('stop() waits for the in-flight invocation and nothing is invoked after it', async () => {
    // Prepare
    const stream = await createStream();
    let finished = false;
    const { calls, handler } = recordingHandler(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            finished = true;
            resolve();
          }, 300),
        ),
    );
    const esm = await startEmulator(stream, { StartingPosition: 'LATEST' }, handler);
    await put(stream, ['in-flight']);
    await waitFor(() => calls.length === 1, 'the invocation to begin');
    // Act
    await esm.stop();
    // Assess
    expect(finished).toBe(true);
    expect(esm.stats.activeShards).toBe(0);
    await put(stream, ['after-stop']);
    const invocations = esm.stats.invocations;
    await new Promise((r) => setTimeout(r, 600)); // three idle polls' worth: a live poller would have read it
    expect(esm.stats.invocations).toBe(invocations);
  });

  test('restart resumes after the checkpoint', async () => {
    // Prepare
    const stream = await createStream();
    const { calls, handler } = recordingHandler();
    const esm = await startEmulator(stream, { StartingPosition: 'TRIM_HORIZON' }, handler);
    await put(stream, ['one']);
    await waitFor(() => calls.length === 1, 'the first record');
    await esm.stop();
    await put(stream, ['two']);
    // Act
    await esm.start();
    await waitFor(() => calls.flatMap((c) => c.data).includes('two'), 'the record put while stopped');
    // Assess
    expect(calls.flatMap((c) => c.data)).toEqual(['one', 'two']);
  });
});
