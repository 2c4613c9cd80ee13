/**
 * Where the streamtally handler's CPU goes on the handler benchmark's batch (bench/handler.bench.ts):
 * a CPU profile (node:inspector) of the timed 10,000-record batches against dynalite in a child process,
 * summarised by package (self time), by function (self time) and for a few entry points (inclusive).
 *   npx tsx bench/profile-handler.ts [timed batches, default 6]
 */
import { writeFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { loadRuntimeConfig } from '../src/config.js';
import { createAnalyticsHandler } from '../src/handlers/create-analytics-handler.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../src/sink/dynamodb-client.js';
import { DEFAULT_START_MS, KinesisSequence, createRng } from '../src/samples/sample-events.js';
import { createCountersTable } from '../test/helpers/counters-table.js';
import { buildBatch, withFreshSequenceNumbers } from './batch.js';
import { BENCH_METRIC_DEFINITIONS } from './bench-config.js';
import { countingClient, fakeContext, HANDLER_BATCH, startDynaliteProcess } from './handler.bench.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const TOP = 30;
/** Batches before the profile starts: CPU per batch settles after about four (bench/README.md). */
const WARM_UP_BATCHES = 4;
const REGION = 'us-east-1';

function where(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
}

/** The package (or our own folder) a frame belongs to: `@smithy/core`, `src/sink`, `node:internal`. */
function bucket(frame: ProfileNode['callFrame']): string {
  const url = frame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(src\/[^/]+|bench|test)\//.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return 'node:' + (url.split('/')[1] ?? url);
  return frame.functionName.startsWith('(') ? frame.functionName : 'other';
}

const timed = Number(process.argv[2] ?? 6);
const batch = buildBatch(HANDLER_BATCH);
const sequence = new KinesisSequence(
  createRng(DEFAULT_START_MS),
  BigInt('49700000000000000000000000000000000000000000000000000000'),
);
const events = Array.from({ length: WARM_UP_BATCHES + timed }, () => withFreshSequenceNumbers(batch.records, sequence));
const { endpoint, child } = await startDynaliteProcess();
const configFile = join(tmpdir(), `streamtally-profile-metrics-${process.pid}.json`);
writeFileSync(configFile, JSON.stringify(BENCH_METRIC_DEFINITIONS));
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
try {
  const { client, counts } = countingClient(endpoint, DYNAMODB_CLIENT_SETTINGS);
  await createCountersTable(client, 'streamtally-profile-counters');
  const handler = createAnalyticsHandler({
    config: loadRuntimeConfig({ COUNTERS_TABLE: 'streamtally-profile-counters', STREAMTALLY_CONFIG_FILE: configFile }),
    dynamodb: client,
    sqs: new SQSClient({ endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    logger: new Logger({ serviceName: 'streamtally-profile', logLevel: 'SILENT' }),
  });
  const context = fakeContext('streamtally-analytics');
  // Untimed batches: the first creates the items, the others warm the update path up (JIT).
  for (let b = 0; b < WARM_UP_BATCHES; b++) await handler(events[b] as never, context);

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  counts.writes = 0;
  counts.reads = 0;
  const cpu = process.cpuUsage();
  for (let b = WARM_UP_BATCHES; b < events.length; b++) await handler(events[b] as never, context);
  const used = process.cpuUsage(cpu);
  const { profile } = (await session.post('Profiler.stop')) as unknown as {
    profile: { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
  };
  session.disconnect();
  const cpuMs = (used.user + used.system) / 1000 / timed;
  console.log(
    `streamtally handler, ${HANDLER_BATCH} records x ${timed} timed batches (node ${process.version}): ` +
      `${cpuMs.toFixed(0)} ms CPU per batch (profiler on), ${counts.writes / timed} writes, ${counts.reads / timed} reads per batch`,
  );

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = profile.samples.length;
  const self = new Map<string, number>();
  const pkgSelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const id of profile.samples) {
    const node = byId.get(id)!;
    const key = where(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + 1);
    const b = bucket(node.callFrame);
    pkgSelf.set(b, (pkgSelf.get(b) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)!.callFrame.functionName;
      if (name && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
      }
    }
  }
  const pct = (n: number): string => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
  const ms = (n: number): string => `${((cpuMs * n) / total).toFixed(0).padStart(5)} ms`;
  console.log(`\nself time by package (${total} samples; ms per batch, pro rata):`);
  for (const [key, n] of [...pkgSelf].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`  ${pct(n)} ${ms(n)}  ${key}`);
  console.log('\nself time by function:');
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`  ${pct(n)} ${ms(n)}  ${key}`);
  console.log('\ninclusive time by function name:');
  for (const [key, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, TOP * 2))
    console.log(`  ${pct(n)} ${ms(n)}  ${key}`);
  client.destroy();
} finally {
  rmSync(configFile, { force: true });
  child.stdin?.end();
  setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
}
