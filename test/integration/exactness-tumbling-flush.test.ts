/**
 * Window flush mode (WINDOW_FLUSH=true) under Lambda's tumbling-window delivery, against a real
 * DynamoDB-API server (dynalite) with the real SDK client and injected faults. Lambda's rules, as the
 * driver below plays them: each invocation gets the state of the last successful one; a failed one is
 * retried (or bisected, with BisectBatchOnFunctionError) with that same state; the final invocation
 * (`isFinalInvokeForWindow`, no records) is retried until it succeeds. After every scenario the table
 * must equal the reference model: 0 drift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KinesisStreamRecord } from 'aws-lambda';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { StreamProcessor, type WindowStateLimits } from '../../src/pipeline/stream-processor.js';
import { WindowStateFullError } from '../../src/pipeline/window-state.js';
import { CounterWriter } from '../../src/sink/counter-writer.js';
import { mulberry32 as rng } from '../../src/samples/prng.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { createCountersTable, diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { FaultInjector } from '../helpers/fault-injector.js';
import { kinesisRecord, sequenceNumber, TEST_STREAM_ARN } from '../helpers/kinesis-batch.js';
import { exactnessMetrics } from '../helpers/exactness-metrics.js';
import { chunks, WindowDriver } from '../helpers/window-driver.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const CONFIG: StreamtallyConfig = exactnessMetrics();
const COMPILED = compileConfig(CONFIG);
const BASE_MS = Date.parse('2026-11-26T12:00:00.000Z');
const WINDOW = { start: '2026-11-26T12:00:00Z', end: '2026-11-26T12:01:00Z' };

interface Shard {
  id: string;
  records: KinesisStreamRecord[];
  events: ModelEvent[];
}

function makeShard(shardNumber: number, count: number, seed: number, pagesCount = 4): Shard {
  const random = rng(seed);
  const id = `shardId-${String(shardNumber).padStart(12, '0')}`;
  const records: KinesisStreamRecord[] = [];
  const events: ModelEvent[] = [];
  const countries = ['DE', 'US', 'FR', 'JP'];
  for (let i = 0; i < count; i++) {
    const arrivalMs = BASE_MS + i * 100;
    const type = random() < 0.8 ? 'page_view' : 'purchase';
    const event = {
      type,
      ts: new Date(arrivalMs - Math.floor(random() * 90_000)).toISOString(),
      user: { id: `u-${Math.floor(random() * 50)}`, plan: random() < 0.3 ? 'pro' : 'free' },
      page: `/p${Math.floor(random() * pagesCount)}`,
      country: countries[Math.floor(random() * countries.length)],
      latencyMs: Math.floor(random() * 500),
      amount: type === 'purchase' ? Math.floor(random() * 100) + 0.5 : undefined,
    };
    events.push({ event, arrivalMs });
    records.push(kinesisRecord(id, sequenceNumber(shardNumber, i + 1), JSON.stringify(event), arrivalMs));
  }
  return { id, records, events };
}

let server: LocalServer;
let tableCounter = 0;

beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server?.stop();
});

interface Rig {
  faults: FaultInjector;
  processor: StreamProcessor;
  itemCount(): Promise<number>;
  /** Sort keys (`<window label>#<window start>`) of the counter items written so far. */
  writtenWindows(): Promise<Set<string>>;
  assertExact(events: ModelEvent[]): Promise<void>;
}

async function rig(limits?: Partial<WindowStateLimits>): Promise<Rig> {
  const table = `flush-${++tableCounter}`;
  const client = localDynamoClient(server.endpoint, 1);
  await createCountersTable(client, table);
  const faults = new FaultInjector();
  faults.attach(client);
  const processor = new StreamProcessor({
    config: COMPILED,
    writer: new CounterWriter({ client, tableName: table, concurrency: 8 }),
    failureDestination: undefined,
    maxDecompressedBytes: 1 << 20,
    windowFlush: true,
    windowStateLimits: limits,
  });
  return {
    faults,
    processor,
    itemCount: async () => (await scanCounters(client, table)).size,
    writtenWindows: async () => new Set([...(await scanCounters(client, table)).values()].map((c) => c.sk)),
    async assertExact(events) {
      expect(diffCounters(await scanCounters(client, table), referenceCounters(CONFIG, events))).toEqual([]);
    },
  };
}

/** Lambda's side of one shard's tumbling window (test/helpers/window-driver.ts) over this processor. */
function windowDriver(processor: StreamProcessor, shardId: string): WindowDriver<KinesisStreamRecord> {
  return new WindowDriver(
    async (event) => (await processor.process(event, Date.now() + 20_000)).response,
    shardId,
    WINDOW,
    TEST_STREAM_ARN,
  );
}

describe('window flush mode: exact under tumbling-window delivery (dynalite, real SDK)', () => {
  it('a window split over several invocations writes nothing until its final invocation, then exactly', async () => {
    // Prepare
    const r = await rig();
    const shard = makeShard(0, 400, 42);
    const lambda = windowDriver(r.processor, shard.id);
    // Act
    for (const batch of chunks(shard.records, 70)) await lambda.deliver(batch);
    const beforeFinal = await r.itemCount();
    await lambda.close();
    // Assess
    expect(beforeFinal).toBe(0);
    expect(lambda.invocations).toBe(7);
    expect(lambda.state.carried).toBeUndefined();
    await r.assertExact(shard.events);
  });

  it('a failed final invocation (some writes done, then failures) is retried with the same state: 0 drift', async () => {
    const r = await rig();
    const shard = makeShard(0, 400, 43);
    const lambda = windowDriver(r.processor, shard.id);
    for (const batch of chunks(shard.records, 100)) await lambda.deliver(batch);
    // Let 10 item writes through, then fail for good (retries exhausted inside the invocation).
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 10, times: 200 });
    await lambda.close(1).catch(() => undefined);
    expect(lambda.failures).toBe(1);
    expect(await r.itemCount()).toBeGreaterThan(0);
    r.faults.clear();
    await lambda.close();
    await r.assertExact(shard.events);
  });

  it('a final invocation whose write responses are lost (applied, then timed out) is not applied twice', async () => {
    const r = await rig();
    const shard = makeShard(0, 300, 44);
    const lambda = windowDriver(r.processor, shard.id);
    for (const batch of chunks(shard.records, 100)) await lambda.deliver(batch);
    const beforeFinal = lambda.state;
    r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'InjectedFailure', skip: 3, times: 60 });
    await lambda.close(1).catch(() => undefined);
    expect(lambda.failures).toBe(1);
    r.faults.clear();
    await lambda.close();
    // ... and Lambda may deliver the final invocation once more (its success response lost).
    lambda.state = beforeFinal;
    await lambda.close();
    await r.assertExact(shard.events);
  });

  it('duplicates: a batch and the final invocation delivered again with their older states change nothing', async () => {
    const r = await rig();
    const shard = makeShard(0, 300, 45);
    const lambda = windowDriver(r.processor, shard.id);
    const batches = chunks(shard.records, 100);
    await lambda.deliver(batches[0]);
    const afterFirst = lambda.state;
    await lambda.deliver(batches[1]);
    await lambda.redeliver(batches[1], afterFirst); // its result is discarded by Lambda: no writes may happen
    await lambda.deliver(batches[2]);
    const beforeFinal = lambda.state;
    await lambda.close();
    // The final invocation once more, with the state it had (Lambda retried after a lost response).
    lambda.state = beforeFinal;
    await lambda.close();
    await r.assertExact(shard.events);
  });

  it('an early flush when the carried state is full, including a failed flush retried and bisected', async () => {
    // Prepare: 400 distinct pages make big states; limits scaled down so that several early flushes happen.
    const r = await rig({ flushAboveBytes: 24_000, maxBytes: 60_000 });
    const shard = makeShard(0, 600, 46, 400);
    const lambda = windowDriver(r.processor, shard.id);
    const batches = chunks(shard.records, 60);
    // Act
    let flushedEarly = 0;
    for (let b = 0; b < batches.length; b++) {
      const itemsBefore = await r.itemCount();
      // Until it has fired once: the next flush writes some items, then fails; retried (bisected) with the same state.
      if (r.faults.fired === 0)
        r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 7, times: 40 });
      await lambda.deliver(batches[b]);
      r.faults.clear();
      if ((await r.itemCount()) > itemsBefore) flushedEarly++;
    }
    await lambda.close();
    // Assess
    expect(flushedEarly).toBeGreaterThanOrEqual(2);
    expect(lambda.failures).toBeGreaterThan(0);
    await r.assertExact(shard.events);
  });

  it('a batch too big for the state fails before writing anything and is bisected until its halves fit', async () => {
    const r = await rig({ flushAboveBytes: 20_000, maxBytes: 40_000 });
    const shard = makeShard(0, 400, 47, 400);
    const lambda = windowDriver(r.processor, shard.id);
    await lambda.deliver(shard.records);
    expect(lambda.errors.some((e) => e instanceof WindowStateFullError)).toBe(true);
    await lambda.close();
    await r.assertExact(shard.events);
  });

  it('several shards writing the same counter items, one with a failing final invocation: 0 drift', async () => {
    const r = await rig();
    const shards = [makeShard(0, 300, 48), makeShard(1, 300, 49), makeShard(2, 300, 50)];
    const drivers = shards.map((s) => windowDriver(r.processor, s.id));
    await Promise.all(
      shards.map(async (s, i) => {
        for (const batch of chunks(s.records, 75)) await drivers[i].deliver(batch);
      }),
    );
    r.faults.add({ command: 'PutItemCommand', when: 'before', errorName: 'InjectedFailure', skip: 20, times: 30 });
    await Promise.all(drivers.map((d) => d.close()));
    expect(drivers.reduce((n, d) => n + d.failures, 0)).toBeGreaterThan(0);
    await r.assertExact(shards.flatMap((s) => s.events));
  });

  it('a window is written once it closed (plus the grace), open ones at the end, with a failed flush between', async () => {
    // Prepare: records 100 ms apart from 12:00:00 to 12:00:59.9, event times up to 90 s before arrival.
    const r = await rig({ graceMs: 2_000 });
    const shard = makeShard(0, 600, 51);
    const lambda = windowDriver(r.processor, shard.id);
    const batches = chunks(shard.records, 40); // 4 s of records per invocation
    // Act
    for (let b = 0; b < batches.length; b++) {
      // Batch 0's state reaches 12:00:03.9, so batch 1's invocation flushes: it fails part-way first.
      if (b === 1)
        r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'InjectedFailure', skip: 2, times: 10 });
      await lambda.deliver(batches[b]);
      r.faults.clear();
    }
    const beforeFinal = await r.writtenWindows();
    await lambda.close();
    // Assess: the windows that closed by 12:00:02 were written then (their later, late records coalesced
    // until the next 1m boundary, 12:01:02, which this shard never reaches); 1m 12:00 and 5m 12:00 were open.
    expect([...beforeFinal].sort()).toEqual([
      '1m#2026-11-26T11:58:00.000Z',
      '1m#2026-11-26T11:59:00.000Z',
      '5m#2026-11-26T11:55:00.000Z',
    ]);
    expect(lambda.failures).toBeGreaterThan(0);
    await r.assertExact(shard.events);
  });

  it('a window no larger than the flush interval is also written while open, every carry time: fresh, exact', async () => {
    // Prepare: as above, 1m windows fresh up to the interval (FlushIntervalSeconds = 60): written once
    // carried 10 s, open or not, with a failed flush between.
    const r = await rig({ graceMs: 2_000, carryMs: 10_000, freshUpToMs: 60_000 });
    const shard = makeShard(0, 600, 51);
    const lambda = windowDriver(r.processor, shard.id);
    const batches = chunks(shard.records, 40); // 4 s of records per invocation
    // Act
    for (let b = 0; b < batches.length; b++) {
      if (b === 4)
        r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'InjectedFailure', skip: 2, times: 10 });
      await lambda.deliver(batches[b]);
      r.faults.clear();
    }
    const beforeFinal = await r.writtenWindows();
    await lambda.close();
    // Assess: the open 1m window of 12:00 is in the table before the tumbling window ends (it was not
    // without freshUpToMs, see the test above); 5m (larger than the interval) still waits for its close.
    expect(beforeFinal.has('1m#2026-11-26T12:00:00.000Z')).toBe(true);
    expect(beforeFinal.has('5m#2026-11-26T12:00:00.000Z')).toBe(false);
    expect(lambda.failures).toBeGreaterThan(0);
    await r.assertExact(shard.events);
  });

  it('random schedules (failed flushes, lost responses, bisection, duplicates, early flushes) never drift', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const random = rng(seed * 7919);
      const r = await rig({
        flushAboveBytes: 30_000,
        maxBytes: 80_000,
        graceMs: 1_000 + seed * 2_000,
        carryMs: 3_000 + seed * 2_000,
        // Seeds 4 and 5: windows up to 1m are written while open too (FlushIntervalSeconds = 60).
        freshUpToMs: seed > 3 ? 60_000 : 0,
      });
      const s = makeShard(0, 500, 100 + seed, 150);
      const lambda = windowDriver(r.processor, s.id);
      let from = 0;
      while (from < s.records.length) {
        const size = 1 + Math.floor(random() * 120);
        const batch = s.records.slice(from, from + size);
        const before = lambda.state;
        if (random() < 0.4)
          r.faults.add({
            command: 'PutItemCommand',
            when: random() < 0.5 ? 'before' : 'after',
            errorName: 'InjectedFailure',
            skip: Math.floor(random() * 10),
            times: 1 + Math.floor(random() * 30),
          });
        await lambda.deliver(batch, true, 0).catch(() => undefined); // one try under the faults
        r.faults.clear();
        if (lambda.state === before) await lambda.deliver(batch); // failed: retried, bisected, with the same state
        if (random() < 0.2) await lambda.redeliver(batch, before);
        from += batch.length;
      }
      if (random() < 0.7)
        r.faults.add({ command: 'PutItemCommand', when: 'after', errorName: 'InjectedFailure', skip: 2, times: 5 });
      await lambda.close(1).catch(() => undefined);
      r.faults.clear();
      await lambda.close();
      await r.assertExact(s.events);
    }
  });
});
