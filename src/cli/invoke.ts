/**
 * `npm run invoke -- events/<file>.json`: what `sam local invoke -e` gives, without Docker. Runs the same
 * handler module with a Lambda-like context against local AWS-API servers started for the run (or
 * `--endpoint`), then prints the handler's response and the counters it wrote.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig } from '../local/aws/aws-clients.js';
import { parseArgsOrExit, runCli, usageExit, type CommandSpec, type OptionSpec } from './args.js';
import { createLambdaContext, resolveFunctionSettings } from '../local/emulator/index.js';
import { startLocalSqs } from '../local/local-sqs/local-sqs-server.js';
import { createLocalResources } from '../local/aws/resources.js';
import { javaRuntime, startEmbeddedDynamoDb, startKinesisLocal, type LocalServer } from '../local/aws/servers.js';
import { loadTemplate } from '../local/template/template.js';

const SPEC = {
  name: 'npm run invoke --',
  summary: 'Invoke the analytics handler once with a sample event, like `sam local invoke -e`, against local AWS APIs.',
  options: {
    endpoint: {
      type: 'string',
      valueName: 'URL',
      description: 'use a running LocalStack, moto_server or AWS endpoint instead of starting local servers',
    },
    config: {
      type: 'string',
      valueName: 'FILE',
      description: 'metric definitions (JSON or YAML; default: streamtally.config.json)',
    },
    function: {
      type: 'string',
      valueName: 'ID',
      description: 'template function logical id (default: the one with stream events)',
    },
  },
  positionals: { valueName: 'EVENT.json', description: 'a Lambda event file, e.g. events/kinesis-clickstream.json' },
  examples: [
    'npm run invoke -- events/kinesis-clickstream.json',
    'npm run invoke -- events/dynamodb-orders.json --endpoint http://127.0.0.1:4566',
  ],
  notes: [
    'Exit codes: 0 invoked (the response may still report batchItemFailures), 1 the handler or set-up failed, 2 bad arguments.',
  ],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

async function main(): Promise<void> {
  const { values, positionals } = parseArgsOrExit(SPEC, process.argv.slice(2));
  if (positionals.length !== 1) usageExit(SPEC, 'give exactly one event file');
  if (values.endpoint !== undefined && !/^https?:\/\/[^/]/.test(values.endpoint))
    usageExit(SPEC, `--endpoint must be a URL such as http://127.0.0.1:4566, got "${values.endpoint}"`);
  const eventPath = resolve(positionals[0]);
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(eventPath, 'utf8'));
  } catch (err) {
    usageExit(SPEC, `cannot read the event ${eventPath}: ${(err as Error).message}`);
  }
  const servers: LocalServer[] = [];
  let kinesisEndpoint = values.endpoint;
  let dynamoEndpoint = values.endpoint;
  let sqsEndpoint = values.endpoint;
  try {
    if (!values.endpoint) {
      const dynamoName = javaRuntime().unavailableReason ? 'dynalite' : 'DynamoDB Local (Java)';
      process.stderr.write(`starting kinesis-local, ${dynamoName} and a local SQS on 127.0.0.1 ...\n`);
      const note = (m: string): void => void process.stderr.write(`${m}\n`);
      const [k, d, q] = await Promise.all([startKinesisLocal(), startEmbeddedDynamoDb({ note }), startLocalSqs()]);
      servers.push(k, d, q);
      [kinesisEndpoint, dynamoEndpoint, sqsEndpoint] = [k.endpoint, d.endpoint, q.endpoint];
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    }
    const region = process.env.AWS_REGION ?? 'us-east-1';
    const dynamodb = new DynamoDBClient(clientConfig({ endpoint: dynamoEndpoint, region }));
    const clients = {
      kinesis: new KinesisClient(clientConfig({ endpoint: kinesisEndpoint, region })),
      dynamodb,
      sqs: new SQSClient(clientConfig({ endpoint: sqsEndpoint, region })),
    };
    const template = loadTemplate();
    const resources = await createLocalResources(template, clients, { onWarning: () => undefined });
    const fn = template.functions.find((f) =>
      values.function ? f.logicalId === values.function : f.streamEventSources.length > 0,
    );
    if (!fn) usageExit(SPEC, `no function ${values.function ?? 'with stream events'} in template.yaml`);
    const env = resources.environmentFor(fn);
    Object.assign(process.env, env, {
      AWS_REGION: region,
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    if (dynamoEndpoint) process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
    if (sqsEndpoint) process.env.AWS_ENDPOINT_URL_SQS = sqsEndpoint;
    if (values.config) process.env.STREAMTALLY_CONFIG_FILE = resolve(values.config);
    const mod = (await import(pathToFileURL(fn.entryPoint).href)) as Record<
      string,
      (e: unknown, c: unknown) => Promise<unknown>
    >;
    const context = createLambdaContext(
      resolveFunctionSettings({
        name: fn.logicalId,
        timeoutSeconds: fn.timeoutSeconds,
        memorySizeMb: fn.memorySizeMb,
        region,
      }),
      { now: () => Date.now() },
    );
    const response = await mod[fn.handlerExport](event, context);
    process.stdout.write(`response:\n${JSON.stringify(response, null, 2)}\n`);
    const scan = await dynamodb.send(new ScanCommand({ TableName: env.COUNTERS_TABLE }));
    const rows = (scan.Items ?? [])
      .map(
        (i) =>
          `${i.pk.S}  ${i.sk.S}  count=${i.c?.N ?? 0}${i.s ? ` sum=${i.s.N}` : ''}${i.mn ? ` min=${i.mn.N} max=${i.mx?.N}` : ''}`,
      )
      .sort();
    process.stdout.write(
      `counters written to ${env.COUNTERS_TABLE} (${rows.length} items):\n${rows.map((r) => `  ${r}`).join('\n')}\n`,
    );
  } finally {
    for (const s of servers) await s.stop();
  }
}

runCli(SPEC, 'npm run invoke', main);
