/**
 * Handler benchmark: one 10,000-record Kinesis batch through createAnalyticsHandler (decode, aggregate,
 * coalesced idempotent writes) against dynalite, beside a conventional handler (JSON.parse per record,
 * one `UpdateItem ADD` per record per metric window) against the same server, another table.
 * Writes are counted by an SDK middleware; CPU is process.cpuUsage() around each invocation (dynalite
 * runs in a child process, so its work is not in the figure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { loadRuntimeConfig } from '../src/config.js';
import type { CompiledConfig } from '../src/core/metric-config.js';
import { createAnalyticsHandler } from '../src/handlers/create-analytics-handler.js';
import { DEFAULT_START_MS, KinesisSequence, createRng } from '../src/samples/sample-events.js';
import { createCountersTable } from '../test/helpers/counters-table.js';
import { buildBatch, withFreshSequenceNumbers } from './batch.js';
import { BENCH_METRIC_DEFINITIONS, compileBenchConfig } from './bench-config.js';
import { CoreCase, dimensionString, getPath, matches } from './cases.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const HANDLER_BATCH = 10_000;
/** Timed invocations of the streamtally handler, each a new batch (fresh, higher sequence numbers). */
const STREAMTALLY_TIMED_BATCHES = 3;
/** The conventional handler issues ~40,000 requests per batch: one timed batch is enough to see it. */
const CONVENTIONAL_TIMED_BATCHES = 1;
/** In-flight requests of the conventional handler: the same as streamtally's default WRITE_CONCURRENCY. */
const CONVENTIONAL_CONCURRENCY = 16;
const REGION = 'us-east-1';

export interface InvocationResult {
  handler: 'streamtally' | 'conventional';
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

function countingClient(endpoint: string): { client: DynamoDBClient; counts: CommandCounts } {
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
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

async function startDynaliteProcess(): Promise<{ endpoint: string; child: ChildProcess }> {
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

function fakeContext(functionName: string): Context {
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

/** The conventional handler: JSON.parse each record, one UpdateItem ADD per record per metric window. */
async function conventionalHandler(
  event: KinesisStreamEvent,
  client: DynamoDBClient,
  tableName: string,
  config: CompiledConfig,
): Promise<{ batchItemFailures: [] }> {
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
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < updates.length) await client.send(new UpdateItemCommand(updates[next++]));
  };
  await Promise.all(Array.from({ length: CONVENTIONAL_CONCURRENCY }, worker));
  return { batchItemFailures: [] };
}

async function invoke(
  label: InvocationResult['handler'],
  batch: number,
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
  const events = Array.from({ length: 1 + STREAMTALLY_TIMED_BATCHES }, () =>
    withFreshSequenceNumbers(batch.records, sequence),
  );

  const { endpoint, child } = await startDynaliteProcess();
  const configFile = join(tmpdir(), `streamtally-bench-metrics-${process.pid}.json`);
  writeFileSync(configFile, JSON.stringify(BENCH_METRIC_DEFINITIONS));
  // Powertools Metrics would print an EMF blob per invocation to stdout, into the benchmark's output.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    const streamtally = countingClient(endpoint);
    const conventional = countingClient(endpoint);
    await createCountersTable(streamtally.client, 'streamtally-bench-counters');
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
    for (let b = 0; b < events.length; b++) {
      log(`  streamtally handler batch ${b} (${b === 0 ? 'warm-up, creates the items' : 'timed, updates them'})...`);
      const r = await invoke(
        'streamtally',
        b,
        streamtally.counts,
        expectedItems,
        () => handler(events[b] as never, context) as Promise<{ batchItemFailures: unknown[] }>,
        HANDLER_BATCH,
      );
      invocations.push(r);
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
          conventional.counts,
          expectedItems,
          () => conventionalHandler(batch.event, conventional.client, 'conventional-bench-counters', config),
          HANDLER_BATCH,
        ),
      );
    }
    streamtally.client.destroy();
    conventional.client.destroy();
    sqs.destroy();
    return { invocations };
  } finally {
    rmSync(configFile, { force: true });
    child.stdin?.end();
    setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
  }
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
    r.batch === 0 && r.handler === 'streamtally' ? '0 (warm-up)' : String(r.batch),
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
  const timed = report.invocations.filter((r) => r.handler === 'streamtally' && r.batch > 0);
  const conv = report.invocations.filter((r) => r.handler === 'conventional');
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
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
  out.push(
    '"counter items" = cells the aggregator produces for the batch; "reads" = BatchGetItem/GetItem calls; dynalite runs in a child process.',
  );
  return out.join('\n');
}

export function handlerJsonLines(report: HandlerReport): string[] {
  return report.invocations.map((r) => JSON.stringify({ section: 'handler', name: r.handler, ...r }));
}
