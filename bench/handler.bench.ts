/**
 * Handler benchmark: one 10,000-record Kinesis batch through createAnalyticsHandler (decode, aggregate,
 * coalesced idempotent writes) against dynalite, beside two peers against the same server, each with a
 * table of its own: the coalesced ADD peer (JSON.parse per record, one `UpdateItem ADD` per counter item
 * per batch: no reads, not exact), run in the same rounds as streamtally, and a conventional handler
 * (one `UpdateItem ADD` per record per metric window).
 * Writes are counted by an SDK middleware; CPU is process.cpuUsage() around each invocation (dynalite
 * runs in a child process, so its work is not in the figure). Every client has the settings production
 * uses (DYNAMODB_CLIENT_SETTINGS), so the figures compare designs, not client settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import {
  DynamoDBClient,
  UpdateItemCommand,
  type DynamoDBClientConfig,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { loadRuntimeConfig } from '../src/config.js';
import type { CompiledConfig } from '../src/core/metric-config.js';
import { createAnalyticsHandler } from '../src/handlers/create-analytics-handler.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../src/sink/dynamodb-client.js';
import { DEFAULT_START_MS, KinesisSequence, createRng } from '../src/samples/sample-events.js';
import { createCountersTable } from '../test/helpers/counters-table.js';
import { buildBatch, withFreshSequenceNumbers } from './batch.js';
import { BENCH_METRIC_DEFINITIONS, compileBenchConfig } from './bench-config.js';
import { CoreCase, aggregateBaseline, dimensionString, getPath, matches } from './cases.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const HANDLER_BATCH = 10_000;
/**
 * Untimed rounds first: CPU per batch falls for about four batches of a new process while the JIT
 * compiles the SDK's paths (measured: 1,150, 810, 780, 630, then 600-760 ms), and a warm Lambda runs many.
 */
const WARM_UP_ROUNDS = 4;
/** Timed rounds of streamtally and the coalesced ADD peer, each a new batch (fresh, higher sequence numbers). */
const TIMED_ROUNDS = 5;
/** The conventional handler issues ~40,000 requests per batch: one timed batch is enough to see it. */
const CONVENTIONAL_TIMED_BATCHES = 1;
/** In-flight requests of the conventional handler: the same as streamtally's default WRITE_CONCURRENCY. */
const CONVENTIONAL_CONCURRENCY = 16;
const REGION = 'us-east-1';

export interface InvocationResult {
  handler: 'streamtally' | 'coalesced' | 'conventional';
  /** Before the timed rounds (JIT warm-up): not in the medians. */
  warmUp: boolean;
  batch: number;
  records: number;
  cpuMs: number;
  wallMs: number;
  writes: number;
  distinctItemsWritten: number;
  reads: number;
  expectedCounterItems: number;
  batchItemFailures: number;
}

export interface HandlerReport {
  invocations: InvocationResult[];
}

interface CommandCounts {
  writes: number;
  reads: number;
  items: Set<string>;
}

/** A client whose writes and reads are counted; `settings`: DYNAMODB_CLIENT_SETTINGS for streamtally's. */
export function countingClient(
  endpoint: string,
  settings: DynamoDBClientConfig = {},
): { client: DynamoDBClient; counts: CommandCounts } {
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...settings,
  });
  const counts: CommandCounts = { writes: 0, reads: 0, items: new Set() };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName;
      const input = args.input as { Item?: Record<string, { S?: string }>; Key?: Record<string, { S?: string }> };
      if (name === 'PutItemCommand' || name === 'UpdateItemCommand') {
        counts.writes++;
        const key = input.Item ?? input.Key;
        if (key) counts.items.add(`${key.pk?.S}\u0000${key.sk?.S}`);
      } else if (name === 'BatchGetItemCommand' || name === 'GetItemCommand') {
        counts.reads++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCommands' },
  );
  return { client, counts };
}

export async function startDynaliteProcess(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'dynalite-process.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`dynalite process exited with code ${code} before it was ready`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { endpoint: string }).endpoint));
  });
  return { endpoint, child };
}

export function fakeContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: 'bench-00000000-0000-0000-0000-000000000000',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/03/02/[$LATEST]bench',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** JSON.parse each record: one UpdateItem ADD per record per metric window. */
function perRecordUpdates(
  event: KinesisStreamEvent,
  tableName: string,
  config: CompiledConfig,
): UpdateItemCommandInput[] {
  const updates: UpdateItemCommandInput[] = [];
  for (const record of event.Records) {
    const body: unknown = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString());
    for (const metric of config.metrics) {
      if (!metric.filters.every((f) => matches(body, f, config.paths))) continue;
      const ts = getPath(body, config.paths[metric.eventTimePath]);
      const timeMs = typeof ts === 'string' ? Date.parse(ts) : record.kinesis.approximateArrivalTimestamp * 1000;
      const value = metric.needsValue ? Number(getPath(body, config.paths[metric.valuePath])) : 0;
      const dims = Array.from(metric.dimensionPaths, (p) => dimensionString(getPath(body, config.paths[p])) ?? '');
      for (const window of metric.windows) {
        const start = Math.floor(timeMs / window.sizeMs) * window.sizeMs;
        updates.push({
          TableName: tableName,
          Key: {
            pk: { S: `${metric.name}#${dims.join('|')}` },
            sk: { S: `${window.label}#${new Date(start).toISOString()}` },
          },
          UpdateExpression: 'ADD c :one, s :v',
          ExpressionAttributeValues: { ':one': { N: '1' }, ':v': { N: String(value) } },
        });
      }
    }
  }
  return updates;
}

async function sendAll(client: DynamoDBClient, updates: ReadonlyArray<UpdateItemCommandInput>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < updates.length) await client.send(new UpdateItemCommand(updates[next++]));
  };
  await Promise.all(Array.from({ length: CONVENTIONAL_CONCURRENCY }, worker));
}

/** The conventional handler: JSON.parse each record, one UpdateItem ADD per record per metric window. */
async function conventionalHandler(
  event: KinesisStreamEvent,
  client: DynamoDBClient,
  tableName: string,
  config: CompiledConfig,
): Promise<{ batchItemFailures: [] }> {
  await sendAll(client, perRecordUpdates(event, tableName, config));
  return { batchItemFailures: [] };
}

/**
 * The coalesced ADD peer: the conventional parse-and-aggregate (bench/cases.ts, the model's "parse"), then
 * one UpdateItem ADD of count and sum per counter item (no reads, not exact).
 */
async function coalescedAddHandler(
  event: KinesisStreamEvent,
  client: DynamoDBClient,
  tableName: string,
  config: CompiledConfig,
): Promise<{ batchItemFailures: [] }> {
  const updates: UpdateItemCommandInput[] = [];
  for (const cell of aggregateBaseline(event.Records, config).values())
    updates.push({
      TableName: tableName,
      Key: {
        pk: { S: `${cell.metric}#${cell.dimensionValues.join('|')}` },
        sk: { S: `${cell.window}#${new Date(cell.windowStartMs).toISOString()}` },
      },
      UpdateExpression: 'ADD c :n, s :v',
      ExpressionAttributeValues: { ':n': { N: String(cell.count) }, ':v': { N: String(cell.sum) } },
    });
  await sendAll(client, updates);
  return { batchItemFailures: [] };
}

async function invoke(
  label: InvocationResult['handler'],
  batch: number,
  warmUp: boolean,
  counts: CommandCounts,
  expectedCounterItems: number,
  call: () => Promise<{ batchItemFailures: unknown[] }>,
  records: number,
): Promise<InvocationResult> {
  counts.writes = 0;
  counts.reads = 0;
  counts.items.clear();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const response = await call();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return {
    handler: label,
    batch,
    warmUp,
    records,
    cpuMs: (used.user + used.system) / 1000,
    wallMs,
    writes: counts.writes,
    distinctItemsWritten: counts.items.size,
    reads: counts.reads,
    expectedCounterItems,
    batchItemFailures: response.batchItemFailures.length,
  };
}

export async function runHandlerBenchmark(log: (line: string) => void = () => {}): Promise<HandlerReport> {
  const config = compileBenchConfig();
  const batch = buildBatch(HANDLER_BATCH);
  const expectedItems = new CoreCase(config).runWithCells(batch.records);
  const sequence = new KinesisSequence(
    createRng(DEFAULT_START_MS),
    BigInt('49700000000000000000000000000000000000000000000000000000'),
  );
  const events = Array.from({ length: WARM_UP_ROUNDS + TIMED_ROUNDS }, () =>
    withFreshSequenceNumbers(batch.records, sequence),
  );

  const { endpoint, child } = await startDynaliteProcess();
  const configFile = join(tmpdir(), `streamtally-bench-metrics-${process.pid}.json`);
  writeFileSync(configFile, JSON.stringify(BENCH_METRIC_DEFINITIONS));
  // Powertools Metrics would print an EMF blob per invocation to stdout, into the benchmark's output.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    const streamtally = countingClient(endpoint, DYNAMODB_CLIENT_SETTINGS);
    const coalesced = countingClient(endpoint, DYNAMODB_CLIENT_SETTINGS);
    const conventional = countingClient(endpoint, DYNAMODB_CLIENT_SETTINGS);
    await createCountersTable(streamtally.client, 'streamtally-bench-counters');
    await createCountersTable(coalesced.client, 'coalesced-bench-counters');
    await createCountersTable(conventional.client, 'conventional-bench-counters');

    const runtime = loadRuntimeConfig({
      COUNTERS_TABLE: 'streamtally-bench-counters',
      STREAMTALLY_CONFIG_FILE: configFile,
    });
    const sqs = new SQSClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const handler = createAnalyticsHandler({
      config: runtime,
      dynamodb: streamtally.client,
      sqs,
      logger: new Logger({ serviceName: 'streamtally-bench', logLevel: 'SILENT' }),
    });
    const context = fakeContext('streamtally-analytics');

    const invocations: InvocationResult[] = [];
    const rivals = [
      {
        label: 'streamtally' as const,
        counts: streamtally.counts,
        call: (b: number) => handler(events[b] as never, context) as Promise<{ batchItemFailures: unknown[] }>,
      },
      {
        label: 'coalesced' as const,
        counts: coalesced.counts,
        call: (b: number) => coalescedAddHandler(events[b], coalesced.client, 'coalesced-bench-counters', config),
      },
    ];
    // Both in every round, the order alternating, so load from other processes hits both alike.
    for (let b = 0; b < events.length; b++) {
      const warmUp = b < WARM_UP_ROUNDS;
      log(`  round ${b} (${warmUp ? 'warm-up' : 'timed'}): streamtally handler and the coalesced ADD peer...`);
      for (const r of b % 2 === 0 ? rivals : [...rivals].reverse())
        invocations.push(await invoke(r.label, b, warmUp, r.counts, expectedItems, () => r.call(b), HANDLER_BATCH));
    }

    const warm = buildBatch(100, 7);
    log('  conventional handler warm-up (100 records)...');
    await conventionalHandler(warm.event, conventional.client, 'conventional-bench-counters', config);
    for (let b = 1; b <= CONVENTIONAL_TIMED_BATCHES; b++) {
      log(`  conventional handler batch ${b} (~40,000 UpdateItem calls)...`);
      invocations.push(
        await invoke(
          'conventional',
          b,
          false,
          conventional.counts,
          expectedItems,
          () => conventionalHandler(batch.event, conventional.client, 'conventional-bench-counters', config),
          HANDLER_BATCH,
        ),
      );
    }
    streamtally.client.destroy();
    coalesced.client.destroy();
    conventional.client.destroy();
    sqs.destroy();
    return { invocations };
  } finally {
    rmSync(configFile, { force: true });
    child.stdin?.end();
    setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
  }
}

/** Median of `xs` (the upper one of an even count). */
function median(xs: ReadonlyArray<number>): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

/**
 * streamtally against the coalesced ADD peer over the timed rounds: the medians of each, and the ratio as
 * the median of the per-round ratios (the two ran back to back in each round).
 */
export function coalescedComparison(report: {
  invocations: ReadonlyArray<Pick<InvocationResult, 'handler' | 'batch' | 'warmUp' | 'cpuMs'>>;
}): { streamtallyCpuMs: number; peerCpuMs: number; ratio: number; rounds: number } | undefined {
  const timed = (h: InvocationResult['handler']) =>
    new Map(report.invocations.filter((r) => r.handler === h && !r.warmUp).map((r) => [r.batch, r.cpuMs]));
  const ours = timed('streamtally');
  const peer = timed('coalesced');
  const ratios: number[] = [];
  for (const [batch, cpuMs] of ours) {
    const p = peer.get(batch);
    if (p !== undefined) ratios.push(cpuMs / p);
  }
  if (ratios.length === 0) return undefined;
  return {
    streamtallyCpuMs: median([...ours.values()]),
    peerCpuMs: median([...peer.values()]),
    ratio: median(ratios),
    rounds: ratios.length,
  };
}

export function formatHandlerTable(report: HandlerReport): string {
  const head = [
    'handler',
    'batch',
    'records',
    'CPU ms',
    'wall ms',
    'writes',
    'distinct items',
    'reads',
    'counter items',
    'failures',
  ];
  const rows = report.invocations.map((r) => [
    r.handler,
    r.warmUp ? `${r.batch} (warm-up)` : String(r.batch),
    String(r.records),
    r.cpuMs.toFixed(1),
    r.wallMs.toFixed(1),
    String(r.writes),
    String(r.distinctItemsWritten),
    String(r.reads),
    String(r.expectedCounterItems),
    String(r.batchItemFailures),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''];
  const timed = report.invocations.filter((r) => r.handler === 'streamtally' && !r.warmUp);
  const conv = report.invocations.filter((r) => r.handler === 'conventional');
  if (timed.length > 0 && conv.length > 0) {
    const s = median(timed.map((r) => r.cpuMs));
    const c = median(conv.map((r) => r.cpuMs));
    out.push(
      `median handler CPU per batch: streamtally ${s.toFixed(1)} ms, conventional ${c.toFixed(1)} ms (${(c / s).toFixed(1)}x)`,
    );
    out.push(
      `writes per batch: streamtally ${median(timed.map((r) => r.writes))} (= counter items: ${timed.every((r) => r.writes === r.expectedCounterItems && r.distinctItemsWritten === r.writes) ? 'yes' : 'NO'}), conventional ${median(conv.map((r) => r.writes))}`,
    );
  }
  const peer = coalescedComparison(report);
  if (peer)
    out.push(
      `streamtally vs the coalesced ADD peer (measured in the same ${peer.rounds} rounds): ${peer.streamtallyCpuMs.toFixed(1)} ms vs ${peer.peerCpuMs.toFixed(1)} ms, ratio ${peer.ratio.toFixed(2)} (median of per-round ratios)`,
    );
  out.push(
    '"counter items" = cells the aggregator produces for the batch; "reads" = BatchGetItem/GetItem calls; dynalite runs in a child process.',
  );
  return out.join('\n');
}

export function handlerJsonLines(report: HandlerReport): string[] {
  return report.invocations.map((r) => JSON.stringify({ section: 'handler', name: r.handler, ...r }));
}
