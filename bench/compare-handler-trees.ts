/**
 * The whole handler of this tree against another checkout's, in one process (issue 15): both handlers, each
 * with its own DynamoDB client (the settings of its own tree) and table on one dynalite in a child process,
 * take the same 10,000-record batches in alternating order, after warm-up rounds; the ratio is the median
 * of the per-round CPU ratios, so load from other processes hits both alike.
 *
 *   git worktree add --detach /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/compare-handler-trees.ts /tmp/before [rounds]
 *
 * Ratio < 1 means this tree uses less CPU.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_START_MS, KinesisSequence, createRng } from '../src/samples/sample-events.js';
import { createCountersTable } from '../test/helpers/counters-table.js';
import { buildBatch, withFreshSequenceNumbers } from './batch.js';
import { BENCH_METRIC_DEFINITIONS } from './bench-config.js';
import { fakeContext, HANDLER_BATCH, startDynaliteProcess } from './handler.bench.js';

const USAGE = 'usage: npx tsx bench/compare-handler-trees.ts <path to another checkout, with node_modules> [rounds]';
const WARM_UP_ROUNDS = 4;
const REGION = 'us-east-1';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

async function loadTree(root: string, endpoint: string, table: string, configFile: string): Promise<Handler> {
  const load = async (path: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(resolve(root, path)).href)) as Record<string, unknown>;
  const settingsFile = resolve(root, 'src/sink/dynamodb-client.ts');
  const settings = existsSync(settingsFile)
    ? ((await load('src/sink/dynamodb-client.ts')).DYNAMODB_CLIENT_SETTINGS as DynamoDBClientConfig)
    : {};
  const { loadRuntimeConfig } = (await load('src/config.ts')) as {
    loadRuntimeConfig: (env: Record<string, string>) => unknown;
  };
  const { createAnalyticsHandler } = (await load('src/handlers/create-analytics-handler.ts')) as {
    createAnalyticsHandler: (deps: unknown) => Handler;
  };
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...settings,
  });
  await createCountersTable(client, table);
  return createAnalyticsHandler({
    config: loadRuntimeConfig({ COUNTERS_TABLE: table, STREAMTALLY_CONFIG_FILE: configFile }),
    dynamodb: client,
    sqs: new SQSClient({ endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    logger: new Logger({ serviceName: 'streamtally-compare', logLevel: 'SILENT' }),
  });
}

async function main(): Promise<void> {
  const [other, roundsArg] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 8);
  if (!other || !Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const otherRoot = resolve(other);
  if (!existsSync(resolve(otherRoot, 'src/handlers/create-analytics-handler.ts'))) {
    process.stderr.write(`${otherRoot} has no src/handlers/create-analytics-handler.ts\n${USAGE}\n`);
    process.exit(2);
  }
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { endpoint, child } = await startDynaliteProcess();
  const configFile = join(tmpdir(), `streamtally-compare-metrics-${process.pid}.json`);
  writeFileSync(configFile, JSON.stringify(BENCH_METRIC_DEFINITIONS));
  try {
    const handlers = [
      await loadTree(resolve(import.meta.dirname, '..'), endpoint, 'compare-this-tree', configFile),
      await loadTree(otherRoot, endpoint, 'compare-other-tree', configFile),
    ];
    const batch = buildBatch(HANDLER_BATCH);
    const sequence = new KinesisSequence(
      createRng(DEFAULT_START_MS),
      BigInt('49700000000000000000000000000000000000000000000000000000'),
    );
    const context = fakeContext('streamtally-analytics');
    const cpu: number[][] = [[], []];
    for (let round = 0; round < WARM_UP_ROUNDS + rounds; round++) {
      const event = withFreshSequenceNumbers(batch.records, sequence);
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const t of order) {
        const start = process.cpuUsage();
        await handlers[t](event, context);
        const used = process.cpuUsage(start);
        if (round >= WARM_UP_ROUNDS) cpu[t].push((used.user + used.system) / 1000);
      }
      process.stderr.write(`  round ${round}${round < WARM_UP_ROUNDS ? ' (warm-up)' : ''} done\n`);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const ratio = median(cpu[0].map((x, i) => x / cpu[1][i]));
    console.log(
      `handler CPU per ${HANDLER_BATCH}-record batch (node ${process.version}, ${rounds} rounds after ${WARM_UP_ROUNDS} warm-up): ` +
        `this tree ${median(cpu[0]).toFixed(0)} ms, ${otherRoot} ${median(cpu[1]).toFixed(0)} ms, ratio ${ratio.toFixed(3)} (median of per-round ratios)`,
    );
    console.log(`  this tree:  ${cpu[0].map((x) => x.toFixed(0)).join(' ')}`);
    console.log(`  other tree: ${cpu[1].map((x) => x.toFixed(0)).join(' ')}`);
  } finally {
    rmSync(configFile, { force: true });
    child.stdin?.end();
    setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
  }
}

await main();
