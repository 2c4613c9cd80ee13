/**
 * KinesisProducer and `npm run produce` against a real kinesis-local server with the real SDK
 * client: what is claimed as sent is read back with GetRecords. The last block is a unit test of
 * the partial-failure handling with a fake `send`, since kinesis-local never fails a record.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type PutRecordsCommand,
  type PutRecordsCommandOutput,
  type PutRecordsInput,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { ClickstreamGenerator } from '../../src/samples/sample-events.js';
import {
  KinesisProducer,
  MAX_PUT_BYTES,
  MAX_PUT_RECORDS,
  MAX_RECORD_BYTES,
  StreamNotFoundError,
  type ProducerRecord,
  type PutRecordsSender,
} from '../../src/producer/kinesis-producer.js';
import { startKinesisLocal, type LocalServer } from '../../src/local/aws/servers.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO_ROOT, 'src/cli/produce.ts');
const CHILD_ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_REGION: 'us-east-1' };
const decoder = new TextDecoder();

interface ObservedCall {
  records: number;
  bytes: number;
}

let server: LocalServer;
let client: KinesisClient;
/** Every PutRecords call the real client made, as it went on the wire (count and bytes of data + keys). */
const observedCalls: ObservedCall[] = [];
let streamCounter = 0;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  server = await startKinesisLocal();
  client = new KinesisClient(clientConfig({ endpoint: server.endpoint, region: 'us-east-1' }));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutRecordsCommand') {
        const input = args.input as PutRecordsInput;
        let bytes = 0;
        for (const record of input.Records ?? [])
          bytes += (record.Data?.byteLength ?? 0) + Buffer.byteLength(record.PartitionKey ?? '');
        observedCalls.push({ records: input.Records?.length ?? 0, bytes });
      }
      return next(args);
    },
    { step: 'initialize', name: 'observePutRecords' },
  );
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

async function createStream(shardCount = 2): Promise<string> {
  const streamName = `producer-test-${++streamCounter}`;
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { StreamDescriptionSummary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return streamName;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`stream ${streamName} did not become ACTIVE within 20 s`);
}

interface ReadRecord {
  partitionKey: string;
  data: Uint8Array;
  shardId: string;
}

/** Every record in the stream, shard by shard, in sequence-number order within each shard. */
async function readAll(streamName: string, expected: number): Promise<ReadRecord[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const all: ReadRecord[] = [];
  for (const shard of Shards) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let iterator = ShardIterator;
    let emptyReads = 0;
    while (iterator && emptyReads < 2) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? [])
        all.push({
          partitionKey: record.PartitionKey ?? '',
          data: record.Data ?? new Uint8Array(),
          shardId: shard.ShardId ?? '',
        });
      emptyReads = (page.Records?.length ?? 0) === 0 && page.MillisBehindLatest === 0 ? emptyReads + 1 : 0;
      iterator = page.NextShardIterator;
    }
  }
  if (all.length < expected) throw new Error(`read ${all.length} records, expected at least ${expected}`);
  return all;
}

function observeFrom(mark: number): ObservedCall[] {
  return observedCalls.slice(mark);
}

describe('KinesisProducer against kinesis-local', () => {
  it('puts 1,200 records in 3 PutRecords calls; all are read back, in order per partition key', async () => {
    // Prepare
    const streamName = await createStream();
    const records: ProducerRecord[] = [];
    for (let seq = 0; seq < 1_200; seq++) {
      const key = `user-${seq % 7}`;
      records.push({ partitionKey: key, data: JSON.stringify({ key, seq }) });
    }
    const producer = new KinesisProducer({ client, streamName });
    const mark = observedCalls.length;

    // Act
    const summary = await producer.put(records);

    // Assess
    expect(summary).toMatchObject({ sent: 1_200, failed: 0, oversized: 0, calls: 3, retries: 0 });
    expect(observeFrom(mark).map((call) => call.records)).toEqual([MAX_PUT_RECORDS, MAX_PUT_RECORDS, 200]);
    const read = await readAll(streamName, 1_200);
    expect(read).toHaveLength(1_200);
    const seqsByKey = new Map<string, number[]>();
    for (const record of read) {
      const { key, seq } = JSON.parse(decoder.decode(record.data)) as { key: string; seq: number };
      expect(record.partitionKey).toBe(key);
      seqsByKey.set(key, [...(seqsByKey.get(key) ?? []), seq]);
    }
    expect(seqsByKey.size).toBe(7);
    for (const [key, seqs] of seqsByKey) {
      const expected = records.map((r, seq) => (r.partitionKey === key ? seq : -1)).filter((seq) => seq >= 0);
      expect(seqs, `order of ${key}`).toEqual(expected);
    }
  });

  it('splits ~600 KB records so that no call carries more than 5 MiB', async () => {
    // Prepare: 8 records of 600,000 bytes fit in 5 MiB (4.8 MB), 9 do not (5.4 MB). kinesis-local
    // accepts 6 MB calls (it does not check this limit), so the split is asserted on the wire.
    const streamName = await createStream();
    const recordBytes = 600_000;
    const records: ProducerRecord[] = [];
    for (let i = 0; i < 9; i++) {
      const data = new Uint8Array(recordBytes).fill(97 + i);
      records.push({ partitionKey: `big-${i % 3}`, data });
    }
    const producer = new KinesisProducer({ client, streamName });
    const mark = observedCalls.length;

    // Act
    const summary = await producer.put(records);

    // Assess
    expect(summary).toMatchObject({ sent: 9, failed: 0, calls: 2 });
    const calls = observeFrom(mark);
    expect(calls.map((call) => call.records)).toEqual([8, 1]);
    for (const call of calls) expect(call.bytes).toBeLessThanOrEqual(MAX_PUT_BYTES);
    const read = await readAll(streamName, 9);
    expect(read).toHaveLength(9);
    const fills = read.map((record) => {
      expect(record.data.byteLength).toBe(recordBytes);
      expect(record.data.every((byte) => byte === record.data[0])).toBe(true);
      return record.data[0] - 97;
    });
    expect(fills.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reports an oversized record in the summary and does not send it', async () => {
    // Prepare: 1 MiB of data plus a 3-byte key is 3 bytes over the record limit.
    const streamName = await createStream(1);
    const producer = new KinesisProducer({ client, streamName });
    const mark = observedCalls.length;

    // Act
    const summary = await producer.put([
      { partitionKey: 'k-1', data: 'first' },
      { partitionKey: 'k-1', data: new Uint8Array(MAX_RECORD_BYTES) },
      { partitionKey: 'k-1', data: 'third' },
    ]);

    // Assess
    expect(summary).toMatchObject({ sent: 2, oversized: 1, failed: 0, calls: 1 });
    expect(summary.rejected).toEqual([
      { index: 1, reason: 'oversized', message: expect.stringContaining('1048579 bytes') },
    ]);
    expect(observeFrom(mark)).toEqual([{ records: 2, bytes: 'first'.length + 'third'.length + 6 }]);
    const read = await readAll(streamName, 2);
    expect(read.map((record) => decoder.decode(record.data))).toEqual(['first', 'third']);
  });

  it('translates a missing stream into StreamNotFoundError', async () => {
    const producer = new KinesisProducer({ client, streamName: 'no-such-stream' });
    await expect(producer.put([{ partitionKey: 'k', data: 'x' }])).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('produce() keeps the rate: 200 records/s for 1.5 s sends about 300', async () => {
    // Prepare
    const streamName = await createStream();
    const events = new ClickstreamGenerator({ seed: 3 });
    function* source(): Generator<ProducerRecord> {
      while (true) {
        const event = events.next();
        yield { partitionKey: event.user.id, data: JSON.stringify(event) };
      }
    }
    const progress: number[] = [];
    const producer = new KinesisProducer({ client, streamName, onProgress: (p) => progress.push(p.sent) });

    // Act
    const summary = await producer.produce(source(), { ratePerSec: 200, durationMs: 1_500 });

    // Assess: the rate allows at most 301 (record n is due at n / 200 s, from n = 0).
    expect(summary.failed).toBe(0);
    expect(summary.sent).toBeGreaterThanOrEqual(150); // low only if kinesis-local is starved of CPU
    expect(summary.sent).toBeLessThanOrEqual(301);
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(1_400);
    expect(progress.at(-1)).toBe(summary.sent);
    expect(await readAll(streamName, summary.sent)).toHaveLength(summary.sent);
  });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { cwd: REPO_ROOT, env: CHILD_ENV, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm run produce (CLI as a child process)', () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'produce-cli-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('sends an NDJSON file, reporting a bad line and an oversized line by number; exit 0', async () => {
    // Prepare: 40 good lines, line 3 not JSON, line 7 over 1 MiB, a blank last line.
    const streamName = await createStream();
    const events = new ClickstreamGenerator({ seed: 9, now: () => Date.UTC(2026, 0, 1) });
    const lines: string[] = [];
    const good: string[] = [];
    for (let lineNumber = 1; lineNumber <= 42; lineNumber++) {
      if (lineNumber === 3) lines.push('{"type":"click", this is not json');
      else if (lineNumber === 7) lines.push(JSON.stringify({ type: 'page_view', blob: 'x'.repeat(MAX_RECORD_BYTES) }));
      else {
        const line = JSON.stringify(events.next());
        lines.push(line);
        good.push(line);
      }
    }
    const file = join(workDir, 'events.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n\n`);

    // Act
    const result = await runCli([
      '--stream',
      streamName,
      '--endpoint',
      server.endpoint,
      '--file',
      file,
      '--partition-key',
      'user.id',
    ]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/sent +40 records/);
    expect(result.stdout).toMatch(/skipped +1\n +line 3: not JSON/);
    expect(result.stdout).toMatch(/oversized +1\n +line 7: 1048\d{3} bytes .*not sent/);
    const read = await readAll(streamName, 40);
    expect(read.map((record) => decoder.decode(record.data)).sort()).toEqual([...good].sort());
    for (const record of read) {
      const event = JSON.parse(decoder.decode(record.data)) as { user: { id: string } };
      expect(record.partitionKey).toBe(event.user.id);
    }
  });

  it('sends a counted number of demo events and exits 0', async () => {
    const streamName = await createStream(1);
    const result = await runCli([
      '--stream',
      streamName,
      '--endpoint',
      server.endpoint,
      '--count',
      '25',
      '--rate',
      '1000',
      '--seed',
      '5',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/sent +25 records/);
    const read = await readAll(streamName, 25);
    expect(read).toHaveLength(25);
    expect(JSON.parse(decoder.decode(read[0].data))).toMatchObject({
      type: expect.stringMatching(/^(page_view|click|purchase)$/),
      user: { id: expect.stringMatching(/^u-\d+$/) },
    });
  });

  it.each([
    [['--endpoint', 'http://127.0.0.1:1'], 'missing required option --stream'],
    [['--stream', 's', '--rate', 'fast'], '--rate must be a positive number'],
    [['--stream', 's', '--duration', '10 minutes'], '--duration must be a positive duration'],
    [['--stream', 's', '--colour'], "Unknown option '--colour'"],
    [
      ['--stream', 's', '--file', '/nonexistent/events.ndjson'],
      'cannot read --file /nonexistent/events.ndjson: ENOENT',
    ],
  ])('bad arguments %j print the error and usage, exit 2', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: ${message}`);
    expect(result.stderr).toContain('Usage: npm run produce -- [--stream NAME] [--orders]');
  });

  it('names a missing stream and how to create it; exit 1', async () => {
    const result = await runCli(['--stream', 'not-created', '--endpoint', server.endpoint, '--count', '3']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `stream not-created not found at ${server.endpoint}: create it (npm start does) or pass --stream`,
    );
  });
});

/** A fake PutRecords `send` that fails chosen attempts and logs what it accepted, in order. */
class FakeKinesis implements PutRecordsSender {
  readonly calls: Array<Array<{ key: string; data: string }>> = [];
  readonly accepted: Array<{ key: string; data: string }> = [];
  private readonly failWith: (key: string, data: string, attempt: number) => string | undefined;
  private readonly attempts = new Map<string, number>();

  constructor(failWith: (key: string, data: string, attempt: number) => string | undefined) {
    this.failWith = failWith;
  }

  async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
    const entries = (command.input.Records ?? []).map((r) => ({
      key: r.PartitionKey ?? '',
      data: decoder.decode(r.Data),
    }));
    this.calls.push(entries);
    let failed = 0;
    const results = entries.map(({ key, data }) => {
      const attempt = (this.attempts.get(data) ?? 0) + 1;
      this.attempts.set(data, attempt);
      const errorCode = this.failWith(key, data, attempt);
      if (errorCode) {
        failed++;
        return { ErrorCode: errorCode, ErrorMessage: `${errorCode} for ${data}` };
      }
      this.accepted.push({ key, data });
      return { SequenceNumber: String(this.accepted.length), ShardId: 'shardId-000000000000' };
    });
    return { FailedRecordCount: failed, Records: results, $metadata: {} };
  }
}

function keyed(spec: string): ProducerRecord[] {
  // 'a1 b1 a2' -> records with keys a, b, a and data a1, b1, a2
  return spec.split(' ').map((data) => ({ partitionKey: data.replace(/\d+$/, ''), data }));
}

function acceptedOrderPerKey(fake: FakeKinesis): Record<string, string[]> {
  const byKey: Record<string, string[]> = {};
  for (const { key, data } of fake.accepted) (byKey[key] ??= []).push(data);
  return byKey;
}

describe('unit (fake send, error handling only): partial PutRecords failures', () => {
  it('retries records that fail inside a successful call, with full-jitter backoff', async () => {
    // Prepare: a1 is throttled twice, b2 hits one InternalFailure.
    const fake = new FakeKinesis((_key, data, attempt) => {
      if (data === 'a1' && attempt <= 2) return 'ProvisionedThroughputExceededException';
      if (data === 'b2' && attempt === 1) return 'InternalFailure';
      return undefined;
    });
    const sleeps: number[] = [];
    const producer = new KinesisProducer({
      client: fake,
      streamName: 's',
      baseDelayMs: 100,
      maxAttempts: 5,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    });

    // Act
    const summary = await producer.put(keyed('a1 b1 a2 b2 c1 a3 b3'));

    // Assess
    expect(summary).toMatchObject({ sent: 7, failed: 0, calls: 3, retries: 3 });
    expect(fake.calls.map((call) => call.map((e) => e.data))).toEqual([
      ['a1', 'b1', 'a2', 'b2', 'c1', 'a3', 'b3'],
      ['a1', 'b2'],
      ['a1'],
    ]);
    expect(sleeps).toEqual([50, 100]); // random 0.5 x the caps 100 and 200 ms
    // Kinesis went on past a1 and b2 in the first call, so a2, a3 and b3 landed before them; counted, not hidden.
    expect(summary.outOfOrder).toBe(3);
  });

  it('holds back later records of a failed key from the next call until it succeeds', async () => {
    // Prepare: 502 records; the first (key a) is throttled once; record 500 has key a as well.
    const fake = new FakeKinesis((_key, data, attempt) =>
      data === 'a-0' && attempt === 1 ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const records: ProducerRecord[] = [{ partitionKey: 'a', data: 'a-0' }];
    for (let i = 1; i < 500; i++) records.push({ partitionKey: `u${i}`, data: `u${i}-${i}` });
    records.push({ partitionKey: 'a', data: 'a-500' }, { partitionKey: 'b', data: 'b-501' });
    const producer = new KinesisProducer({ client: fake, streamName: 's', sleep: async () => {}, random: () => 0 });

    // Act
    const summary = await producer.put(records);

    // Assess: call 2 carries the retry of a-0 and the fresh b-501, but not a-500.
    expect(summary).toMatchObject({ sent: 502, failed: 0, calls: 3, retries: 1, outOfOrder: 0 });
    expect(fake.calls.map((call) => call.length)).toEqual([500, 2, 1]);
    expect(fake.calls[1].map((e) => e.data)).toEqual(['a-0', 'b-501']);
    expect(fake.calls[2].map((e) => e.data)).toEqual(['a-500']);
    expect(acceptedOrderPerKey(fake).a).toEqual(['a-0', 'a-500']);
  });

  it('with oneRecordPerKeyPerCall, a failure never lets a later record of its key overtake it', async () => {
    // Prepare
    const fake = new FakeKinesis((_key, data, attempt) =>
      data === 'a1' && attempt === 1 ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const producer = new KinesisProducer({
      client: fake,
      streamName: 's',
      oneRecordPerKeyPerCall: true,
      sleep: async () => {},
      random: () => 0,
    });

    // Act
    const summary = await producer.put(keyed('a1 b1 a2 b2 c1 a3'));

    // Assess
    expect(summary).toMatchObject({ sent: 6, failed: 0, retries: 1, outOfOrder: 0 });
    expect(fake.calls.map((call) => call.map((e) => e.data))).toEqual([
      ['a1', 'b1', 'c1'],
      ['a1', 'b2'],
      ['a2'],
      ['a3'],
    ]);
    expect(acceptedOrderPerKey(fake)).toEqual({ a: ['a1', 'a2', 'a3'], b: ['b1', 'b2'], c: ['c1'] });
  });

  it.each([false, true])('keeps order per key across calls (oneRecordPerKeyPerCall: %s)', async (onePerKey) => {
    // Prepare: every first attempt of an even-numbered record fails; 1,100 records over 5 keys.
    const fake = new FakeKinesis((_key, data, attempt) =>
      Number(data.slice(1)) % 2 === 0 && attempt === 1 ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const records: ProducerRecord[] = [];
    for (let i = 0; i < 1_100; i++) records.push({ partitionKey: 'abcde'[i % 5], data: `${'abcde'[i % 5]}${i}` });
    const producer = new KinesisProducer({
      client: fake,
      streamName: 's',
      oneRecordPerKeyPerCall: onePerKey,
      sleep: async () => {},
      random: () => 0,
    });

    // Act
    const summary = await producer.put(records);

    // Assess: what each call held back is what a record-level check demands.
    expect(summary.sent).toBe(1_100);
    expect(summary.failed).toBe(0);
    for (const call of fake.calls) expect(call.length).toBeLessThanOrEqual(MAX_PUT_RECORDS);
    const previousOfKey = new Map<string, string>();
    const lastOfKey = new Map<string, string>();
    for (const record of records) {
      const previous = lastOfKey.get(record.partitionKey);
      if (previous !== undefined) previousOfKey.set(record.data as string, previous);
      lastOfKey.set(record.partitionKey, record.data as string);
    }
    const accepted = new Set<string>();
    let acceptedCount = 0;
    for (const call of fake.calls) {
      // A record is only sent once the previous record of its key was accepted in an earlier call,
      // or when that record is in the same call (the case oneRecordPerKeyPerCall removes).
      const sameCall = new Set(call.map((e) => e.data));
      for (const { data } of call) {
        const previous = previousOfKey.get(data);
        if (previous !== undefined)
          expect(accepted.has(previous) || sameCall.has(previous), `${data} sent before ${previous}`).toBe(true);
      }
      for (; acceptedCount < fake.accepted.length; acceptedCount++) accepted.add(fake.accepted[acceptedCount].data);
    }
    expect(fake.calls.length).toBeGreaterThan(3);
    if (onePerKey) {
      expect(summary.outOfOrder).toBe(0);
      const inputOrder: Record<string, string[]> = {};
      for (const record of records) (inputOrder[record.partitionKey] ??= []).push(record.data as string);
      expect(acceptedOrderPerKey(fake)).toEqual(inputOrder);
    } else {
      expect(summary.outOfOrder).toBeGreaterThan(0);
    }
  });

  it('gives up after maxAttempts, reports the error code, and lets later records of the key go', async () => {
    const fake = new FakeKinesis((_key, data) =>
      data === 'x1' ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const sleeps: number[] = [];
    const producer = new KinesisProducer({
      client: fake,
      streamName: 's',
      maxAttempts: 4,
      baseDelayMs: 10,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.999,
    });

    const summary = await producer.put(keyed('x1 y1 x2'));

    expect(summary).toMatchObject({
      sent: 2,
      failed: 1,
      retries: 3,
      failedByCode: { ProvisionedThroughputExceededException: 1 },
    });
    expect(summary.failures).toEqual([
      {
        index: 0,
        partitionKey: 'x',
        errorCode: 'ProvisionedThroughputExceededException',
        errorMessage: 'ProvisionedThroughputExceededException for x1',
        attempts: 4,
      },
    ]);
    expect(sleeps).toEqual([9, 19, 39]); // just under the caps 10, 20, 40 ms
    expect(fake.calls.map((call) => call.map((e) => e.data))).toEqual([['x1', 'y1', 'x2'], ['x1'], ['x1'], ['x1']]);
  });

  it('fails a record with a non-retryable error code at once', async () => {
    const fake = new FakeKinesis((_key, data) => (data === 'k1' ? 'KMSAccessDeniedException' : undefined));
    const producer = new KinesisProducer({ client: fake, streamName: 's', sleep: async () => {} });

    const summary = await producer.put(keyed('k1 k2'));

    expect(summary).toMatchObject({
      sent: 1,
      failed: 1,
      retries: 0,
      calls: 1,
      failedByCode: { KMSAccessDeniedException: 1 },
    });
  });

  it('retries a whole call that failed with a retryable error, and throws on a non-retryable one', async () => {
    let callCount = 0;
    const flaky: PutRecordsSender = {
      async send(command) {
        callCount++;
        if (callCount === 1)
          throw Object.assign(new Error('Service Unavailable'), {
            name: 'ServiceUnavailable',
            $metadata: { httpStatusCode: 503 },
          });
        return {
          FailedRecordCount: 0,
          Records: (command.input.Records ?? []).map(() => ({ SequenceNumber: '1', ShardId: 'shardId-0' })),
          $metadata: {},
        };
      },
    };
    const summary = await new KinesisProducer({ client: flaky, streamName: 's', sleep: async () => {} }).put(
      keyed('a1 a2'),
    );
    // Both records failed with the call; a2 waits until a1, its key's earlier record, is in.
    expect(summary).toMatchObject({ sent: 2, calls: 3, retries: 2, outOfOrder: 0 });

    const denied: PutRecordsSender = {
      async send() {
        throw Object.assign(new Error('not authorized'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        });
      },
    };
    await expect(new KinesisProducer({ client: denied, streamName: 's' }).put(keyed('a1'))).rejects.toThrow(
      /PutRecords to stream s failed: AccessDeniedException/,
    );
  });

  it('rejects empty and over-long partition keys without sending them', async () => {
    const fake = new FakeKinesis(() => undefined);
    const summary = await new KinesisProducer({ client: fake, streamName: 's' }).put([
      { partitionKey: '', data: 'empty' },
      { partitionKey: 'k'.repeat(257), data: 'long' },
      { partitionKey: 'k'.repeat(256), data: 'ok', line: 9 },
    ]);
    expect(summary).toMatchObject({ sent: 1, invalidPartitionKey: 2 });
    expect(summary.rejected.map((r) => [r.index, r.reason])).toEqual([
      [0, 'invalid_partition_key'],
      [1, 'invalid_partition_key'],
    ]);
  });

  it('produce() counts skipped inputs and stops at maxRecords', async () => {
    const fake = new FakeKinesis(() => undefined);
    async function* source(): AsyncGenerator<ProducerRecord | { skipped: true; line: number; reason: string }> {
      yield { partitionKey: 'a', data: 'a1', line: 1 };
      yield { skipped: true, line: 2, reason: 'not JSON' };
      for (let i = 3; i < 100; i++) yield { partitionKey: 'a', data: `a${i}`, line: i };
    }
    const summary = await new KinesisProducer({ client: fake, streamName: 's' }).produce(source(), { maxRecords: 10 });
    expect(summary).toMatchObject({
      sent: 10,
      skipped: 1,
      skippedInputs: [{ skipped: true, line: 2, reason: 'not JSON' }],
    });
  });
});
