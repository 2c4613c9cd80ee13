/**
 * `npm start`: the whole pipeline on one machine. Real AWS-API servers from npm (or `--endpoint`), the
 * resources template.yaml declares, an event-source emulator per stream event of the template invoking the
 * same handler module Lambda runs, a demo producer, and the dashboard, with a live status line.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadMetricDefinitions } from '../config.js';
import { processTotals } from '../pipeline/stream-processor.js';
import { clientConfig } from '../local/aws/aws-clients.js';
import { parseArgsOrExit, parsePositiveNumber, usageExit, type CommandSpec, type OptionSpec } from './args.js';
import { clickstreamEvents } from '../samples/sample-events.js';
import { EventSourceMappingEmulator, type EventSourceMappingSettings, type StreamHandler } from '../local/emulator/index.js';
import { startLocalSqs } from '../local/local-sqs/local-sqs-server.js';
import { KinesisProducer } from '../producer/kinesis-producer.js';
import { ProgressLine } from './progress.js';
import { startReadServer } from '../local/read-server.js';
import { createLocalResources } from '../local/aws/resources.js';
import { startDynalite, startKinesisLocal, type LocalServer } from '../local/aws/servers.js';
import { loadTemplate, type StreamEventSourceSpec } from '../local/template/template.js';

const DEFAULT_RATE_PER_SEC = 20;
const DEFAULT_DASHBOARD_PORT = 0;
const STATUS_REFRESH_MS = 1_000;
const FORCE_QUIT_AFTER_MS = 2_000;

const SPEC = {
  name: 'npm start --',
  summary: 'Run streamtally locally: AWS-API servers, the template\'s resources, event-source emulation, a demo producer and the dashboard.',
  options: {
    'no-demo': { type: 'boolean', description: 'do not run the demo producer (push events yourself with npm run produce)' },
    rate: { type: 'string', valueName: 'N', description: `demo events per second (default ${DEFAULT_RATE_PER_SEC})` },
    port: { type: 'string', valueName: 'PORT', description: 'dashboard port on 127.0.0.1 (default: a free port)' },
    'data-dir': { type: 'string', valueName: 'DIR', description: 'keep stream, table and queue data here between runs (default: in memory)' },
    endpoint: { type: 'string', valueName: 'URL', description: 'use a running LocalStack, moto_server or AWS endpoint instead of starting servers' },
    config: { type: 'string', valueName: 'FILE', description: 'metric definitions (JSON or YAML; default: streamtally.config.json)' },
    template: { type: 'string', valueName: 'FILE', description: 'SAM template to read resources and event sources from (default: template.yaml)' },
    chaos: { type: 'string', valueName: 'N', description: 'every Nth invocation crashes after the handler wrote its counters (response lost), to watch retries and bisection keep counters exact' },
    'log-level': { type: 'string', valueName: 'LEVEL', description: 'handler log level: DEBUG, INFO, WARN, ERROR (default WARN, to keep the terminal readable)' },
  },
  notes: ['Ctrl-C stops everything. Exit codes: 0 clean stop, 1 a start-up error, 2 bad arguments.'],
  examples: ['npm start', 'npm start -- --no-demo --port 8080', 'npm start -- --endpoint http://127.0.0.1:4566'],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return usageExit(SPEC, `--endpoint must be a URL such as http://127.0.0.1:4566 (got ${endpoint})`);
  }
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
    if (++invocations % every === 0 && event.Records.length > 0) throw new Error(`chaos: invocation ${invocations} crashed after writing (--chaos ${every})`);
    return response;
  };
}

async function main(): Promise<void> {
  // Node 20 users are told in the README that Lambda runs Node 22; the SDK's notice adds nothing here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgsOrExit(SPEC, process.argv.slice(2));
  const ratePerSec = values.rate === undefined ? DEFAULT_RATE_PER_SEC : parsePositiveNumber(values.rate, '--rate', true);
  const port = values.port === undefined ? DEFAULT_DASHBOARD_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) usageExit(SPEC, `--port must be a port number from 0 to 65535 (got ${values.port})`);
  const logLevel = (values['log-level'] ?? 'WARN').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'].includes(logLevel)) usageExit(SPEC, `--log-level must be DEBUG, INFO, WARN or ERROR (got ${values['log-level']})`);
  const chaosEvery = values.chaos === undefined ? 0 : parsePositiveNumber(values.chaos, '--chaos');
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : undefined;

  // Metric definitions first: a bad file fails here with every problem listed, before anything starts.
  const metrics = loadMetricDefinitions(values.config);
  const template = loadTemplate(values.template ? resolve(values.template) : undefined);

  const servers: LocalServer[] = [];
  const stops: Array<() => Promise<void>> = [];
  let kinesisEndpoint = values.endpoint;
  let dynamoEndpoint = values.endpoint;
  let sqsEndpoint = values.endpoint;
  if (!values.endpoint) {
    say('starting kinesis-local, dynalite and a local SQS on 127.0.0.1 ...');
    const [kinesis, dynamo, sqs] = await Promise.all([startKinesisLocal({ dataDir: dataDir && resolve(dataDir, 'kinesis') }), startDynalite({ dataDir: dataDir && resolve(dataDir, 'dynamodb') }), startLocalSqs({ dataDir: dataDir && resolve(dataDir, 'sqs') })]);
    servers.push(kinesis, dynamo, sqs);
    kinesisEndpoint = kinesis.endpoint;
    dynamoEndpoint = dynamo.endpoint;
    sqsEndpoint = sqs.endpoint;
    Object.assign(process.env, LOCAL_CREDENTIALS);
  } else if (isLoopback(values.endpoint) && !process.env.AWS_ACCESS_KEY_ID) {
    // LocalStack and moto take any credentials; real AWS keeps the default credential chain.
    Object.assign(process.env, LOCAL_CREDENTIALS);
  }
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const kinesis = new KinesisClient(clientConfig({ endpoint: kinesisEndpoint, region }));
  const dynamodb = new DynamoDBClient(clientConfig({ endpoint: dynamoEndpoint, region }));
  const dynamodbStreams = new DynamoDBStreamsClient(clientConfig({ endpoint: dynamoEndpoint, region }));
  const sqs = new SQSClient(clientConfig({ endpoint: sqsEndpoint, region }));

  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('\nstopping ...');
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`  while stopping: ${(err as Error).message}`));
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    kinesis.destroy();
    dynamodb.destroy();
    dynamodbStreams.destroy();
    sqs.destroy();
    say('stopped.');
    process.exitCode = code;
    // Everything is closed; should a library still hold a handle, do not hang the terminal.
    setTimeout(() => process.exit(code), 5_000).unref();
  };
  // A terminal's Ctrl-C reaches npm and this process, and npm forwards it again: a repeat within
  // FORCE_QUIT_AFTER_MS is that echo and is ignored; a later one forces the exit.
  let firstSignalAt = 0;
  const onSignal = (): void => {
    if (!stopping) {
      firstSignalAt = Date.now();
      void shutdown(0);
    } else if (Date.now() - firstSignalAt > FORCE_QUIT_AFTER_MS) {
      say('forced exit.');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const resources = await createLocalResources(template, { kinesis, dynamodb, sqs }, { onWarning: (m) => say(`note: ${m}`) });

  // The handler module Lambda runs, configured the way template.yaml configures the function.
  const functions = template.functions.filter((f) => f.streamEventSources.length > 0);
  const emulators: EventSourceMappingEmulator[] = [];
  let countersTable = '';
  for (const fn of functions) {
    const env = resources.environmentFor(fn);
    countersTable ||= env.COUNTERS_TABLE ?? '';
    Object.assign(process.env, env, {
      POWERTOOLS_LOG_LEVEL: logLevel,
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_REGION: region,
    });
    if (dynamoEndpoint) process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
    if (sqsEndpoint) process.env.AWS_ENDPOINT_URL_SQS = sqsEndpoint;
    if (values.config) process.env.STREAMTALLY_CONFIG_FILE = resolve(values.config);
    const mod = (await import(pathToFileURL(fn.entryPoint).href)) as Record<string, unknown>;
    const lambdaHandler = mod[fn.handlerExport] as StreamHandler;
    if (typeof lambdaHandler !== 'function') throw new Error(`${fn.entryPoint} does not export a function named ${fn.handlerExport} (template.yaml Handler: ${fn.handler})`);
    const handler = chaosEvery > 0 ? withChaos(lambdaHandler, chaosEvery) : lambdaHandler;
    for (const source of fn.streamEventSources) {
      const onFailure = source.onFailureLogicalId ? resources.queues[source.onFailureLogicalId]?.url : undefined;
      let stream: string | undefined;
      if (source.type === 'kinesis') stream = resources.streams[source.sourceLogicalId]?.name;
      else stream = resources.tables[source.sourceLogicalId]?.streamArn;
      if (!stream) {
        say(`note: ${fn.logicalId} event ${source.name} (${source.type}) not emulated: ${source.type === 'dynamodb' ? 'this DynamoDB server has no Streams (dynalite); run with --endpoint pointing at moto_server or LocalStack for that path' : 'its stream was not created'}.`);
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
      stops.push(() => emulator.stop());
      say(`emulating ${fn.logicalId} <- ${source.type} ${stream} (batch ${source.batchSize}, window ${source.maximumBatchingWindowSeconds}s, ${source.startingPosition}${source.tumblingWindowSeconds ? `, tumbling ${source.tumblingWindowSeconds}s` : ''})`);
    }
  }

  const readServer = await startReadServer({ client: dynamodb, tableName: countersTable, metrics: metrics.compiled.metrics.map((m) => ({ name: m.name, source: m.source, dimensions: m.dimensionNames, aggregates: m.aggregates, windows: m.windows.map((w) => w.label), value: m.valuePath >= 0 ? metrics.compiled.pathTexts[m.valuePath] : undefined, distinctField: m.distinctPath >= 0 ? metrics.compiled.pathTexts[m.distinctPath] : undefined })), port });
  stops.push(() => readServer.stop());

  const streamName = Object.values(resources.streams)[0]?.name;
  let produced = 0;
  if (!values['no-demo'] && streamName) {
    const abort = new AbortController();
    const producer = new KinesisProducer({ client: kinesis, streamName, onProgress: (p) => { produced = p.sent; } });
    const source = (function* () {
      for (const event of clickstreamEvents({ seed: Date.now() % 100_000 })) yield { partitionKey: event.user.id, data: JSON.stringify(event) };
    })();
    const running = producer.produce(source, { ratePerSec, signal: abort.signal }).catch((err: unknown) => say(`demo producer stopped: ${(err as Error).message}`));
    stops.unshift(async () => {
      abort.abort();
      await running;
    });
    say(`demo producer: ${ratePerSec} clickstream events/s into ${streamName} (--no-demo to turn off)`);
  }

  say(`endpoints: kinesis=${kinesisEndpoint ?? 'aws'} dynamodb=${dynamoEndpoint ?? 'aws'} sqs=${sqsEndpoint ?? 'aws'} counters=${countersTable} failures=${Object.values(resources.queues)[0]?.url ?? ''}`);
  say(`\ndashboard: ${readServer.url}/\npush events: npm run produce -- --stream ${streamName} --endpoint ${kinesisEndpoint ?? '(AWS)'}\nCtrl-C to stop.\n`);
  const status = new ProgressLine({ output: process.stderr });
  const timer = setInterval(() => {
    let iteratorAgeMs = 0;
    let batches = 0;
    let recordsIn = 0;
    for (const e of emulators) {
      iteratorAgeMs = Math.max(iteratorAgeMs, e.stats.iteratorAgeMs);
      batches += e.stats.batches;
      recordsIn += e.stats.recordsIn;
    }
    status.update(`produced ${produced} | records in ${recordsIn} | batches ${batches} | iterator age ${iteratorAgeMs} ms | counted ${processTotals.eventsCounted} | rejected ${processTotals.rejected} | counter writes ${processTotals.counterWrites}`);
  }, STATUS_REFRESH_MS);
  stops.unshift(async () => {
    clearInterval(timer);
    status.flush();
  });
}

main().catch((err: unknown) => {
  say(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error && err.cause) say(`  cause: ${(err.cause as Error).message ?? String(err.cause)}`);
  process.exit(1);
});
