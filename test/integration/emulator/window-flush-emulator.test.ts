/**
 * Window flush mode through the local runner's parts: real kinesis-local, the event-source-mapping
 * emulator with a tumbling window (state carried between invocations, final invocations, retries and
 * bisection), the real analytics handler with WINDOW_FLUSH on, and dynalite as the counters table. Every
 * third invocation crashes after the handler returned (its response lost), final invocations included.
 * The table must equal the reference model once the windows closed. Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

import { CreateStreamCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compileConfig } from '../../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../../src/core/types.js';
import { testAnalyticsHandler } from '../../helpers/test-handler.js';
import { createAwsClients, type AwsClients } from '../../../src/local/aws/aws-clients.js';
import { startDynalite, startKinesisLocal, type LocalServer } from '../../../src/local/aws/servers.js';
import { EventSourceMappingEmulator } from '../../../src/local/emulator/index.js';
import { createCountersTable, diffCounters, localDynamoClient, scanCounters } from '../../helpers/counters-table.js';
import { referenceCounters, type ModelEvent } from '../../helpers/reference-model.js';

const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'min', 'max', 'p95'],
      windows: ['1m', '5m'],
    },
    {
      name: 'users',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['plan'],
      distinctField: 'user',
      aggregates: ['count', 'distinct'],
      windows: ['1m'],
    },
  ],
};

let kinesis: LocalServer;
let dynamo: LocalServer;
let clients: AwsClients;

beforeAll(async () => {
  [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  clients = createAwsClients({ endpoint: kinesis.endpoint, region: 'us-east-1' });
});
afterAll(async () => {
  clients?.kinesis.destroy();
  await Promise.all([kinesis?.stop(), dynamo?.stop()]);
});

test('window flush under the emulator: carried state, final invocations and lost responses, 0 drift', async () => {
  // Prepare
  const stream = `flush-${Date.now()}`;
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
  const table = 'flush-emulator-counters';
  const dynamodb = localDynamoClient(dynamo.endpoint);
  await createCountersTable(dynamodb, table);
  const analytics = testAnalyticsHandler({
    table,
    metrics: compileConfig(CONFIG),
    dynamodb,
    config: { windowFlush: true, windowFlushGraceSeconds: 1, windowFlushCarrySeconds: 1 },
  });
  let invocations = 0;
  let finals = 0;
  let crashes = 0;
  const handler = async (event: unknown, context: Context): Promise<unknown> => {
    const response = await analytics(event as never, context);
    if ((event as { isFinalInvokeForWindow?: boolean }).isFinalInvokeForWindow) finals++;
    if (++invocations % 3 === 0) {
      crashes++;
      throw new Error(`chaos: invocation ${invocations} crashed after the handler returned`);
    }
    return response;
  };
  const emulator = new EventSourceMappingEmulator({
    source: { kind: 'kinesis', stream },
    settings: {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 25,
      TumblingWindowInSeconds: 2,
      BisectBatchOnFunctionError: true,
    },
    handler: handler as never,
    function: { name: 'flush-fn', timeoutSeconds: 20, memorySizeMb: 1024, region: 'us-east-1' },
    clients: { kinesis: clients.kinesis },
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    logger: () => undefined,
  });
  await emulator.start();
  const events: ModelEvent[] = [];
  try {
    // Act: three rounds of 60 events, about a window apart, over both shards.
    for (let round = 0; round < 3; round++) {
      const batch = Array.from({ length: 60 }, (_, i) => ({
        ts: new Date(Date.now() - 500).toISOString(),
        country: ['DE', 'US', 'FR'][i % 3],
        plan: i % 4 === 0 ? 'pro' : 'free',
        user: `u-${(round * 7 + i) % 40}`,
        latencyMs: 10 + ((i * 37) % 400),
      }));
      const arrivalMs = Date.now();
      const out = await clients.kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: batch.map((e, i) => ({ Data: Buffer.from(JSON.stringify(e)), PartitionKey: `pk-${i}` })),
        }),
      );
      expect(out.FailedRecordCount ?? 0).toBe(0);
      for (const event of batch) events.push({ event, arrivalMs });
      await new Promise((r) => setTimeout(r, 1_500));
    }
    const expected = referenceCounters(CONFIG, events);
    const deadline = Date.now() + 60_000;
    let diffs: string[] = ['not yet read'];
    while (Date.now() < deadline) {
      diffs = diffCounters(await scanCounters(dynamodb, table), expected);
      if (diffs.length === 0 && finals >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Assess: exact, and still exact after another window (late retries must not add anything).
    expect(diffs).toEqual([]);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(diffCounters(await scanCounters(dynamodb, table), expected)).toEqual([]);
    expect(crashes).toBeGreaterThan(0);
    expect(finals).toBeGreaterThanOrEqual(2);
    expect(emulator.stats.retries).toBeGreaterThan(0);
  } finally {
    await emulator.stop();
    dynamodb.destroy();
  }
}, 120_000);
