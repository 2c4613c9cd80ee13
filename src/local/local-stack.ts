/**
 * The whole pipeline on one machine: real AWS-API servers from npm (or an `endpoint`), the resources
 * template.yaml declares, an event-source emulator per stream event of the template invoking the analytics
 * handler, a demo producer, and the read API with the dashboard. `npm start` (src/cli/start.ts) is this plus
 * argument parsing, signals and a status line.
 */
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadRuntimeConfig, loadWindowFlushSchedule, type loadMetricDefinitions } from '../config.js';
import type { WindowFlushSchedule } from '../core/types.js';
import { createAnalyticsHandler } from '../handlers/create-analytics-handler.js';
import type { BatchSummary } from '../pipeline/stream-processor.js';
import { KinesisProducer } from '../producer/kinesis-producer.js';
import { ItemChangeWriter } from '../producer/item-change-writer.js';
import { OrderChangeGenerator } from '../samples/order-changes.js';
import { clickstreamEvents } from '../samples/sample-events.js';
import { clientConfig } from './aws/aws-clients.js';
import { createLocalResources } from './aws/resources.js';
import { javaRuntime, startEmbeddedDynamoDb, startKinesisLocal, type LocalServer } from './aws/servers.js';
import { EventSourceMappingEmulator, type EventSourceMappingSettings, type StreamHandler } from './emulator/index.js';
import { startLocalSqs } from './local-sqs/local-sqs-server.js';
import { startReadServer, type ReadServer } from './read-server.js';
import { JwtVerifier } from './auth/jwt-verifier.js';
import { startLocalIssuer, type LocalIssuer } from './auth/local-issuer.js';
import type { LocalTemplate, StreamEventSourceSpec } from './template/template.js';

/** The analytics handler module of this repository; other entry points in a template are imported as they are. */
const BUILT_IN_ANALYTICS_ENTRY = fileURLToPath(new URL('../handlers/analytics.ts', import.meta.url));
/** The read API's entry point: its environment in the template says what the read server is told. */
const BUILT_IN_READ_API_ENTRY = fileURLToPath(new URL('../handlers/read-api.ts', import.meta.url));
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
  /** Demo order changes per second into the orders table (when its stream is emulated); 0: none. */
  demoOrdersPerSec?: number;
  /** Stop the demo orders after this many changes (default: no limit). */
  demoOrdersLimit?: number;
  dashboardPort: number;
  logLevel: string;
  /** Every Nth invocation crashes after the handler wrote its counters (0: never). */
  chaosEvery: number;
  /** Start a local OIDC issuer and require its tokens on the read API, as the deployed JWT authorizer does. */
  auth?: boolean;
  say: (message: string) => void;
}

/** Totals over every batch the handlers processed; read by the status line. */
export interface LocalStackTotals {
  produced: number;
  /** Order changes the demo wrote into the orders table. */
  orderChanges: number;
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
  /** With `auth`: the local OIDC issuer the dashboard signs in with. */
  readonly issuer: LocalIssuer | undefined;
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

/**
 * The window flush schedule the template gives its read function (WINDOW_FLUSH and companions, set from the
 * same parameters as the analytics function's), so that the local dashboard says what the deployed one says.
 */
function windowFlushOfReadApi(template: LocalTemplate): WindowFlushSchedule | undefined {
  const fn = template.functions.find((f) => resolve(f.entryPoint) === BUILT_IN_READ_API_ENTRY);
  if (!fn) return undefined;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) if (typeof value === 'string') env[name] = value;
  return loadWindowFlushSchedule(env);
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
      const dynamoName = javaRuntime().unavailableReason ? 'dynalite' : 'DynamoDB Local (Java)';
      say(`starting kinesis-local, ${dynamoName} and a local SQS on 127.0.0.1 ...`);
      const started = await Promise.allSettled([
        startKinesisLocal({ dataDir: dataDir && resolve(dataDir, 'kinesis') }),
        startEmbeddedDynamoDb({ dataDir: dataDir && resolve(dataDir, 'dynamodb'), note: say }),
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
      orderChanges: 0,
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
    /** The table a DynamoDB event source reads here, if one runs: the demo writes orders into it. */
    let ordersTable: string | undefined;
    for (const fn of functions) {
      // No S3 locally: records too large for a queue message go to a directory instead of FailureBucket.
      const env = resources.environmentFor(fn);
      if (fn.environment.FAILURE_BUCKET !== undefined)
        env.FAILURE_DIRECTORY = process.env.FAILURE_DIRECTORY || resolve(dataDir ?? tmpdir(), 'rejected-records');
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
        // An existing stream named by ARN (ExistingKinesisStreamArn / ExistingTableStreamArn) is read as it is
        // from the endpoint: the template creates nothing for it.
        const stream =
          source.type === 'kinesis'
            ? (resources.streams[source.sourceLogicalId]?.name ??
              source.sourceArn?.slice(source.sourceArn.indexOf('/') + 1))
            : (resources.tables[source.sourceLogicalId]?.streamArn ?? source.sourceArn);
        if (!stream) {
          if (sourceStatus[source.type] !== null)
            sourceStatus[source.type] =
              source.type === 'dynamodb'
                ? 'dynalite has no DynamoDB Streams; start with --endpoint pointing at moto_server or LocalStack'
                : 'its stream was not created';
          say(
            `note: ${fn.logicalId} event ${source.name} (${source.type}) not emulated: ${source.type === 'dynamodb' ? 'this DynamoDB server has no Streams (dynalite, used because Java 17+ was not found); install Java 17+ for DynamoDB Local, or run with --endpoint pointing at moto_server or LocalStack' : 'its stream was not created'}.`,
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
        if (source.type === 'dynamodb') ordersTable ??= resources.tables[source.sourceLogicalId]?.name;
        sourceStatus[source.type] = null;
        stops.push(() => emulator.stop());
        say(
          `emulating ${fn.logicalId} <- ${source.type} ${stream} (batch ${source.batchSize}, window ${source.maximumBatchingWindowSeconds}s, ${source.startingPosition}${source.tumblingWindowSeconds ? `, tumbling ${source.tumblingWindowSeconds}s` : ''})`,
        );
      }
    }

    let issuer: LocalIssuer | undefined;
    if (options.auth) {
      const started = await startLocalIssuer();
      issuer = started;
      stops.push(() => started.stop());
      say(`local OIDC issuer (sign-in) on ${started.issuer}, client ${started.clientId}`);
    }
    const readServer = await startReadServer({
      client: dynamodb,
      tableName: countersTable,
      metrics: options.metrics.compiled,
      port: options.dashboardPort,
      auth: issuer && {
        verifier: new JwtVerifier({ issuer: issuer.issuer, audience: [issuer.clientId] }),
        settings: { mode: 'JWT', issuer: issuer.issuer, clientId: issuer.clientId, scopes: 'openid' },
      },
      sourceStatus,
      windowFlush: windowFlushOfReadApi(template),
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

    const ordersPerSec = options.demoOrdersPerSec ?? 0;
    if (ordersPerSec > 0 && ordersTable) {
      const abort = new AbortController();
      const orders = new OrderChangeGenerator({ seed: Date.now() % 100_000 });
      const writer = new ItemChangeWriter({
        client: dynamodb,
        tableName: ordersTable,
        onProgress: (p) => (totals.orderChanges = p.inserts + p.modifies + p.removes),
      });
      const source = (function* () {
        for (;;) yield orders.next(Date.now());
      })();
      const running = writer
        .writeAll(source, { ratePerSec: ordersPerSec, signal: abort.signal, maxChanges: options.demoOrdersLimit })
        .then((p) => {
          if (!abort.signal.aborted) say(`\ndemo orders: done, ${p.inserts + p.modifies + p.removes} changes written`);
        })
        .catch((err: unknown) => say(`demo orders stopped: ${(err as Error).message}`));
      stops.push(async () => {
        abort.abort();
        await running;
      });
      say(
        `demo orders: ${ordersPerSec} changes/s into ${ordersTable} (new orders, status moves, note updates, deletes; --orders-rate 0 to turn off)`,
      );
    }

    return {
      endpoints: { kinesis: kinesisEndpoint, dynamodb: dynamoEndpoint, sqs: sqsEndpoint },
      streamName,
      countersTable,
      failureQueueUrl: Object.values(resources.queues)[0]?.url,
      readServer,
      issuer,
      emulators,
      totals,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
