/**
 * The whole pipeline on one machine: real AWS-API servers from npm (or an `endpoint`), the resources
 * template.yaml declares, an event-source emulator per stream event of the template invoking the analytics
 * handler, a demo producer, and the read API with the dashboard. `npm start` (src/cli/start.ts) is this plus
 * argument parsing, signals and a status line.
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadRuntimeConfig, type loadMetricDefinitions } from '../config.js';
import { createAnalyticsHandler } from '../handlers/create-analytics-handler.js';
import type { BatchSummary } from '../pipeline/stream-processor.js';
import { KinesisProducer } from '../producer/kinesis-producer.js';
import { clickstreamEvents } from '../samples/sample-events.js';
import { clientConfig } from './aws/aws-clients.js';
import { createLocalResources } from './aws/resources.js';
import { startDynalite, startKinesisLocal, type LocalServer } from './aws/servers.js';
import { EventSourceMappingEmulator, type EventSourceMappingSettings, type StreamHandler } from './emulator/index.js';
import { startLocalSqs } from './local-sqs/local-sqs-server.js';
import { startReadServer, type ReadServer } from './read-server.js';
import type { LocalTemplate, StreamEventSourceSpec } from './template/template.js';

/** The analytics handler module of this repository; other entry points in a template are imported as they are. */
const BUILT_IN_ANALYTICS_ENTRY = fileURLToPath(new URL('../handlers/analytics.ts', import.meta.url));
const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

export interface LocalStackOptions {
  template: LocalTemplate;
  metrics: ReturnType<typeof loadMetricDefinitions>;
  /** The metric definitions file the handler reads (STREAMTALLY_CONFIG_FILE); default: the bundled one. */
  configFile?: string;
  /** A running LocalStack, moto_server or AWS endpoint instead of the embedded servers. */
  endpoint?: string;
  dataDir?: string;
  /** Demo clickstream events per second; 0 turns the demo producer off. */
  demoRatePerSec: number;
  dashboardPort: number;
  logLevel: string;
  /** Every Nth invocation crashes after the handler wrote its counters (0: never). */
  chaosEvery: number;
  say: (message: string) => void;
}

/** Totals over every batch the handlers processed; read by the status line. */
export interface LocalStackTotals {
  produced: number;
  batches: number;
  recordsIn: number;
  eventsCounted: number;
  rejected: number;
  counterWrites: number;
  notDurable: number;
}

export interface LocalStack {
  readonly endpoints: { kinesis: string | undefined; dynamodb: string | undefined; sqs: string | undefined };
  readonly streamName: string | undefined;
  readonly countersTable: string;
  readonly failureQueueUrl: string | undefined;
  readonly readServer: ReadServer;
  readonly emulators: ReadonlyArray<EventSourceMappingEmulator>;
  readonly totals: Readonly<LocalStackTotals>;
  /** Stops the producer, the emulators, the read server and the servers, in that order. */
  stop(): Promise<void>;
}

export function isLoopbackEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

function esmSettings(spec: StreamEventSourceSpec, onFailureUrl: string | undefined): EventSourceMappingSettings {
  return {
    StartingPosition: spec.startingPosition,
    StartingPositionTimestamp: spec.startingPositionTimestamp,
    BatchSize: spec.batchSize,
    MaximumBatchingWindowInSeconds: spec.maximumBatchingWindowSeconds,
    ParallelizationFactor: spec.parallelizationFactor,
    BisectBatchOnFunctionError: spec.bisectBatchOnFunctionError,
    MaximumRetryAttempts: spec.maximumRetryAttempts,
    MaximumRecordAgeInSeconds: spec.maximumRecordAgeSeconds,
    FunctionResponseTypes: [...spec.functionResponseTypes],
    DestinationConfig: onFailureUrl ? { OnFailure: { Destination: onFailureUrl } } : undefined,
    TumblingWindowInSeconds: spec.tumblingWindowSeconds,
    Enabled: spec.enabled,
  };
}

/** Crashes every Nth invocation after the handler ran: its writes are durable but Lambda sees an error. */
function withChaos(handler: StreamHandler, every: number): StreamHandler {
  let invocations = 0;
  return async (event, context) => {
    const response = await handler(event, context);
    if (++invocations % every === 0 && event.Records.length > 0)
      throw new Error(`chaos: invocation ${invocations} crashed after writing (--chaos ${every})`);
    return response;
  };
}

/**
 * Starts everything; on a failure part-way, what was started is stopped before the error is rethrown.
 * @example
 * const stack = await startLocalStack({ template: loadTemplate(), metrics: loadMetricDefinitions(undefined), demoRatePerSec: 20, dashboardPort: 0, logLevel: 'WARN', chaosEvery: 0, say: console.error });
 * console.log(`${stack.readServer.url}/`); await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { template, say } = options;
  const servers: LocalServer[] = [];
  const stops: Array<() => Promise<void>> = [];
  const clients: Array<{ destroy(): void }> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse())
      await stop().catch((err: unknown) => say(`  while stopping: ${(err as Error).message}`));
    for (const server of servers.splice(0).reverse()) await server.stop().catch(() => undefined);
    for (const client of clients.splice(0)) client.destroy();
  };
  try {
    let kinesisEndpoint = options.endpoint;
    let dynamoEndpoint = options.endpoint;
    let sqsEndpoint = options.endpoint;
    const dataDir = options.dataDir;
    if (!options.endpoint) {
      say('starting kinesis-local, dynalite and a local SQS on 127.0.0.1 ...');
      const started = await Promise.allSettled([
        startKinesisLocal({ dataDir: dataDir && resolve(dataDir, 'kinesis') }),
        startDynalite({ dataDir: dataDir && resolve(dataDir, 'dynamodb') }),
        startLocalSqs({ dataDir: dataDir && resolve(dataDir, 'sqs') }),
      ]);
      for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      [kinesisEndpoint, dynamoEndpoint, sqsEndpoint] = servers.map((s) => s.endpoint);
      Object.assign(process.env, LOCAL_CREDENTIALS);
    } else if (isLoopbackEndpoint(options.endpoint) && !process.env.AWS_ACCESS_KEY_ID) {
      // LocalStack and moto take any credentials; real AWS keeps the default credential chain.
      Object.assign(process.env, LOCAL_CREDENTIALS);
    }
    const region = process.env.AWS_REGION ?? 'us-east-1';
    const kinesis = new KinesisClient(clientConfig({ endpoint: kinesisEndpoint, region }));
    const dynamodb = new DynamoDBClient(clientConfig({ endpoint: dynamoEndpoint, region }));
    const dynamodbStreams = new DynamoDBStreamsClient(clientConfig({ endpoint: dynamoEndpoint, region }));
    const sqs = new SQSClient(clientConfig({ endpoint: sqsEndpoint, region }));
    clients.push(kinesis, dynamodb, dynamodbStreams, sqs);

    const resources = await createLocalResources(
      template,
      { kinesis, dynamodb, sqs },
      { onWarning: (m) => say(`note: ${m}`) },
    );
    const totals: LocalStackTotals = {
      produced: 0,
      batches: 0,
      recordsIn: 0,
      eventsCounted: 0,
      rejected: 0,
      counterWrites: 0,
      notDurable: 0,
    };
    const onBatch = (s: BatchSummary): void => {
      totals.batches++;
      totals.recordsIn += s.recordsIn;
      totals.eventsCounted += s.eventsCounted;
      totals.rejected += s.rejected;
      totals.counterWrites += s.writes.written;
      if (s.checkpoint !== undefined) totals.notDurable++;
    };

    // The analytics handler, configured the way template.yaml configures the function.
    const functions = template.functions.filter((f) => f.streamEventSources.length > 0);
    const emulators: EventSourceMappingEmulator[] = [];
    /** For the dashboard's empty state: source -> null when emulated, else why not. */
    const sourceStatus: Partial<Record<'kinesis' | 'dynamodb', string | null>> = {};
    let countersTable = '';
    for (const fn of functions) {
      const env = resources.environmentFor(fn);
      countersTable ||= env.COUNTERS_TABLE ?? '';
      Object.assign(process.env, env, {
        POWERTOOLS_LOG_LEVEL: options.logLevel,
        POWERTOOLS_METRICS_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_REGION: region,
      });
      if (dynamoEndpoint) process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
      if (sqsEndpoint) process.env.AWS_ENDPOINT_URL_SQS = sqsEndpoint;
      if (options.configFile) process.env.STREAMTALLY_CONFIG_FILE = resolve(options.configFile);
      let lambdaHandler: StreamHandler;
      if (resolve(fn.entryPoint) === BUILT_IN_ANALYTICS_ENTRY) {
        // What src/handlers/analytics.ts exports, built with the same loader and factory, plus a summary hook.
        lambdaHandler = createAnalyticsHandler({
          config: loadRuntimeConfig(process.env),
          dynamodb,
          sqs,
          onBatch,
        }) as unknown as StreamHandler;
      } else {
        const mod = (await import(pathToFileURL(fn.entryPoint).href)) as Record<string, unknown>;
        lambdaHandler = mod[fn.handlerExport] as StreamHandler;
        if (typeof lambdaHandler !== 'function')
          throw new Error(
            `${fn.entryPoint} does not export a function named ${fn.handlerExport} (template.yaml Handler: ${fn.handler})`,
          );
      }
      const handler = options.chaosEvery > 0 ? withChaos(lambdaHandler, options.chaosEvery) : lambdaHandler;
      for (const source of fn.streamEventSources) {
        const onFailure = source.onFailureLogicalId ? resources.queues[source.onFailureLogicalId]?.url : undefined;
        const stream =
          source.type === 'kinesis'
            ? resources.streams[source.sourceLogicalId]?.name
            : resources.tables[source.sourceLogicalId]?.streamArn;
        if (!stream) {
          if (sourceStatus[source.type] !== null)
            sourceStatus[source.type] =
              source.type === 'dynamodb'
                ? 'dynalite has no DynamoDB Streams; start with --endpoint pointing at moto_server or LocalStack'
                : 'its stream was not created';
          say(
            `note: ${fn.logicalId} event ${source.name} (${source.type}) not emulated: ${source.type === 'dynamodb' ? 'this DynamoDB server has no Streams (dynalite); run with --endpoint pointing at moto_server or LocalStack for that path' : 'its stream was not created'}.`,
          );
          continue;
        }
        const emulator = new EventSourceMappingEmulator({
          source: { kind: source.type, stream },
          settings: esmSettings(source, onFailure),
          handler,
          function: { name: fn.logicalId, timeoutSeconds: fn.timeoutSeconds, memorySizeMb: fn.memorySizeMb, region },
          clients: { kinesis, dynamodbStreams, dynamodb, sqs },
        });
        await emulator.start();
        emulators.push(emulator);
        sourceStatus[source.type] = null;
        stops.push(() => emulator.stop());
        say(
          `emulating ${fn.logicalId} <- ${source.type} ${stream} (batch ${source.batchSize}, window ${source.maximumBatchingWindowSeconds}s, ${source.startingPosition}${source.tumblingWindowSeconds ? `, tumbling ${source.tumblingWindowSeconds}s` : ''})`,
        );
      }
    }

    const readServer = await startReadServer({
      client: dynamodb,
      tableName: countersTable,
      metrics: options.metrics.compiled,
      port: options.dashboardPort,
      sourceStatus,
    });
    stops.push(() => readServer.stop());

    const streamName = Object.values(resources.streams)[0]?.name;
    if (options.demoRatePerSec > 0 && streamName) {
      const abort = new AbortController();
      const producer = new KinesisProducer({
        client: kinesis,
        streamName,
        onProgress: (p) => (totals.produced = p.sent),
      });
      const source = (function* () {
        for (const event of clickstreamEvents({ seed: Date.now() % 100_000 }))
          yield { partitionKey: event.user.id, data: JSON.stringify(event) };
      })();
      const running = producer
        .produce(source, { ratePerSec: options.demoRatePerSec, signal: abort.signal })
        .catch((err: unknown) => say(`demo producer stopped: ${(err as Error).message}`));
      // Stopped first (stops run in reverse): no new records while the emulators drain.
      stops.push(async () => {
        abort.abort();
        await running;
      });
      say(`demo producer: ${options.demoRatePerSec} clickstream events/s into ${streamName} (--no-demo to turn off)`);
    }

    return {
      endpoints: { kinesis: kinesisEndpoint, dynamodb: dynamoEndpoint, sqs: sqsEndpoint },
      streamName,
      countersTable,
      failureQueueUrl: Object.values(resources.queues)[0]?.url,
      readServer,
      emulators,
      totals,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
