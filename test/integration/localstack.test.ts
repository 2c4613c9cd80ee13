/**
 * Tier 3: LocalStack in Docker (testcontainers, image pinned to localstack/localstack:4.14.0). The real
 * handler is bundled with esbuild, registered as a Lambda function with real event source mappings for the
 * Kinesis stream and the orders table's stream, events are pushed, and the counters must reach the
 * reference model before a deadline. Without a Docker daemon the tier skips in milliseconds with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { createLocalResources } from '../../src/local/aws/resources.js';
import { loadTemplate } from '../../src/local/template/template.js';
import { KinesisProducer } from '../../src/producer/kinesis-producer.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import defaultConfig from '../../streamtally.config.json' with { type: 'json' };
import type { StreamtallyConfig } from '../../src/core/types.js';
import { diffCounters, scanCounters } from '../helpers/counters-table.js';
import { referenceCounters, type ModelEvent } from '../helpers/reference-model.js';
import { zipStore } from '../helpers/zip.js';

const IMAGE = 'localstack/localstack:4.14.0';
const ROOT = resolve(import.meta.dirname, '../..');

async function dockerReason(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return `no Docker daemon answers (${(err as Error).message.split('\n')[0]}); the LocalStack tier runs wherever Docker runs`;
  }
}

const reason = await dockerReason();
if (reason) console.warn(`[skip] LocalStack tier: ${reason}`);

describe.skipIf(reason !== undefined)(`LocalStack tier (${IMAGE})`, () => {
  let container: { getConnectionUri(): string; stop(): Promise<unknown> } | undefined;
  let endpoint = '';

  beforeAll(async () => {
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    container = await new LocalstackContainer(IMAGE)
      .withEnvironment({ SERVICES: 'kinesis,dynamodb,dynamodbstreams,sqs,lambda,iam,logs,sts' })
      .start();
    endpoint = container.getConnectionUri();
  }, 300_000);
  afterAll(async () => {
    await container?.stop();
  });

  /** LocalStack's Lambda REST API, called directly (no Lambda client is a dependency of this project). */
  async function lambdaApi(path: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${endpoint}/2015-03-31/${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization:
          'AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`Lambda ${path} failed: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  it('real event source mappings drive the bundled handler to the reference counters', async () => {
    const clients = {
      kinesis: new KinesisClient(clientConfig({ endpoint })),
      dynamodb: new DynamoDBClient(clientConfig({ endpoint })),
      sqs: new SQSClient(clientConfig({ endpoint })),
    };
    const template = loadTemplate();
    const resources = await createLocalResources(template, clients);
    const fn = template.functions.find((f) => f.streamEventSources.length > 0)!;
    const bundle = await build({
      entryPoints: [resolve(ROOT, 'src/handlers/analytics.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      write: false,
      outfile: 'analytics.js',
    });
    const zip = zipStore([{ name: 'analytics.js', data: Buffer.from(bundle.outputFiles[0].contents) }]);
    const env = resources.environmentFor(fn);
    await lambdaApi('functions', {
      FunctionName: 'streamtally-analytics',
      Runtime: 'nodejs22.x',
      Role: 'arn:aws:iam::000000000000:role/streamtally-analytics',
      Handler: 'analytics.handler',
      Timeout: 60,
      MemorySize: 1024,
      Code: { ZipFile: zip.toString('base64') },
      Environment: { Variables: { ...env, POWERTOOLS_METRICS_DISABLED: 'true' } },
    });
    for (const source of fn.streamEventSources) {
      const arn =
        source.type === 'kinesis'
          ? resources.streams[source.sourceLogicalId].arn
          : resources.tables[source.sourceLogicalId].streamArn;
      if (!arn) continue;
      await lambdaApi('event-source-mappings/', {
        FunctionName: 'streamtally-analytics',
        EventSourceArn: arn,
        StartingPosition: source.startingPosition,
        BatchSize: source.batchSize,
        MaximumBatchingWindowInSeconds: source.maximumBatchingWindowSeconds,
        MaximumRetryAttempts: source.maximumRetryAttempts,
        FunctionResponseTypes: source.functionResponseTypes,
      });
    }
    const streamName = Object.values(resources.streams)[0].name;
    const producer = new KinesisProducer({ client: clients.kinesis, streamName });
    const now = Date.now();
    const events: ModelEvent[] = [];
    const records = [];
    for (let i = 0; i < 200; i++) {
      const event = {
        type: 'page_view',
        ts: new Date(now - (i % 30) * 1000).toISOString(),
        user: { id: `u-${i % 17}`, plan: 'free' },
        page: `/p/${i % 4}`,
        country: ['DE', 'US'][i % 2],
        latencyMs: i,
      };
      events.push({ event, arrivalMs: now });
      records.push({ partitionKey: `k-${i % 5}`, data: JSON.stringify(event) });
    }
    expect((await producer.put(records)).sent).toBe(records.length);
    const countersTable = env.COUNTERS_TABLE;
    const expected = referenceCounters(defaultConfig as StreamtallyConfig, events);
    const deadline = Date.now() + 240_000;
    let diffs: string[] = ['not read yet'];
    while (Date.now() < deadline && diffs.length > 0) {
      diffs = diffCounters(await scanCounters(clients.dynamodb, countersTable), expected);
      if (diffs.length > 0) await new Promise((r) => setTimeout(r, 2_000));
    }
    expect(diffs).toEqual([]);
  }, 400_000);
});
