/**
 * `npm run replay -- --queue-url URL ...`: brings back what Lambda gave up on (src/replay), exactly once.
 * Prints a line per message; exit 0 when every message was replayed, 3 when some were kept, 1 on a
 * failure, 2 on bad arguments.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadMetricDefinitions } from '../config.js';
import { S3RecordStore } from '../sink/record-store.js';
import { clientConfig } from '../local/aws/aws-clients.js';
import { Replayer, DEFAULT_VISIBILITY_TIMEOUT_SECONDS, type MessageOutcome } from '../replay/index.js';
import {
  parseArgsOrExit,
  parseNonNegativeInteger,
  parsePositiveNumber,
  runCli,
  UsageError,
  type CommandSpec,
  type OptionSpec,
} from './args.js';

/** The counters table `npm start` creates from template.yaml (stack name streamtally-dev). */
const DEFAULT_TABLE = 'streamtally-dev-counters';
/** S3's bucket naming rule (the short form config.ts checks FAILURE_BUCKET with). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Exit code when the run finished but kept some messages (they need a fix first, or are past retention). */
const EXIT_KEPT = 3;

const SPEC = {
  name: 'npm run replay --',
  summary:
    "Replay the failure queue: the batches Lambda gave up on (read back from the stream) and streamtally's rejects, each record counted exactly once.",
  options: {
    'queue-url': {
      type: 'string',
      required: true,
      valueName: 'URL',
      description: 'the failure queue (npm start prints it as failures=...)',
    },
    table: {
      type: 'string',
      valueName: 'NAME',
      default: DEFAULT_TABLE,
      description: 'counters table (npm start prints it as counters=...)',
    },
    config: {
      type: 'string',
      valueName: 'FILE',
      description: 'metric definitions, as deployed after the fix (default: streamtally.config.json)',
    },
    endpoint: {
      type: 'string',
      valueName: 'URL',
      description: 'one endpoint for all services (LocalStack, moto_server); default: AWS',
    },
    'kinesis-endpoint': { type: 'string', valueName: 'URL', description: 'Kinesis endpoint (overrides --endpoint)' },
    'dynamodb-endpoint': {
      type: 'string',
      valueName: 'URL',
      description: 'DynamoDB and DynamoDB Streams endpoint (overrides --endpoint)',
    },
    's3-endpoint': {
      type: 'string',
      valueName: 'URL',
      description: 'S3 endpoint, for rejects kept in the failure bucket (overrides --endpoint)',
    },
    'sqs-endpoint': { type: 'string', valueName: 'URL', description: 'SQS endpoint (overrides --endpoint)' },
    'failure-bucket': {
      type: 'string',
      valueName: 'NAME',
      description:
        'keep rejects of replayed ranges that are too large for a queue message in this bucket, as the function does (its FAILURE_BUCKET)',
    },
    region: { type: 'string', valueName: 'REGION', description: 'AWS region (default: AWS_REGION, else us-east-1)' },
    'dry-run': { type: 'boolean', description: 'print what would be replayed; write, send and delete nothing' },
    'max-messages': { type: 'string', valueName: 'N', description: 'stop after N messages (default: all)' },
    'visibility-timeout': {
      type: 'string',
      valueName: 'SECONDS',
      description: `how long a message being replayed stays hidden from other consumers (default ${DEFAULT_VISIBILITY_TIMEOUT_SECONDS})`,
    },
  },
  notes: [
    'Messages that cannot be replayed exactly (still rejected, past the stream retention, unknown) are kept and listed.',
    'Exit codes: 0 all replayed, 3 some kept, 1 a failure (nothing is deleted before its records are durable), 2 bad arguments.',
  ],
  examples: [
    'npm run replay -- --endpoint http://127.0.0.1:4566 --queue-url http://127.0.0.1:4566/000000000000/streamtally-dev-failures --dry-run',
    'npm run replay -- --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/streamtally-dev-failures --table streamtally-dev-counters --config streamtally.config.json',
  ],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

function endpointOption(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${name} must be a URL such as http://127.0.0.1:4566, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--${name} must be an http:// or https:// URL, got "${value}"`);
  return value;
}

function describe(outcome: MessageOutcome): string {
  const where = outcome.batch
    ? `${outcome.batch.shardId} ${outcome.batch.startSequenceNumber}..${outcome.batch.endSequenceNumber}`
    : (outcome.shardId ?? '');
  const counts = `${outcome.records} records, ${outcome.itemsWritten} items written, ${outcome.itemsAlreadyApplied} already held`;
  return `${outcome.action} ${outcome.kind} ${where}: ${outcome.reason ?? counts}`;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgsOrExit(SPEC, argv);
  const queueUrl = endpointOption(values['queue-url'], 'queue-url') as string;
  const endpoint = endpointOption(values.endpoint, 'endpoint');
  const kinesisEndpoint = endpointOption(values['kinesis-endpoint'], 'kinesis-endpoint') ?? endpoint;
  const dynamodbEndpoint = endpointOption(values['dynamodb-endpoint'], 'dynamodb-endpoint') ?? endpoint;
  const sqsEndpoint = endpointOption(values['sqs-endpoint'], 'sqs-endpoint') ?? endpoint;
  const s3Endpoint = endpointOption(values['s3-endpoint'], 's3-endpoint') ?? endpoint;
  const maxMessages =
    values['max-messages'] === undefined ? 0 : parsePositiveNumber(values['max-messages'], 'max-messages');
  const visibility =
    values['visibility-timeout'] === undefined
      ? DEFAULT_VISIBILITY_TIMEOUT_SECONDS
      : parseNonNegativeInteger(values['visibility-timeout'], 'visibility-timeout');
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const metrics = loadMetricDefinitions(values.config);
  const dryRun = values['dry-run'];
  const failureBucket = values['failure-bucket'];
  if (failureBucket !== undefined && !BUCKET_NAME.test(failureBucket))
    throw new UsageError(`--failure-bucket must be an S3 bucket name (3-63 of a-z 0-9 . -), got "${failureBucket}"`);
  // A local S3 (moto, LocalStack) has no per-bucket host names: path-style addressing.
  const s3 = new S3Client({
    ...clientConfig({ endpoint: s3Endpoint, region }),
    forcePathStyle: s3Endpoint !== undefined,
  });
  const replayer = new Replayer({
    config: metrics.compiled,
    kinesis: new KinesisClient(clientConfig({ endpoint: kinesisEndpoint, region })),
    dynamodb: new DynamoDBClient(clientConfig({ endpoint: dynamodbEndpoint, region })),
    // Local servers (DynamoDB Local, LocalStack, moto) serve DynamoDB Streams on the DynamoDB endpoint.
    dynamodbStreams: new DynamoDBStreamsClient(clientConfig({ endpoint: dynamodbEndpoint, region })),
    s3,
    recordStore: failureBucket ? new S3RecordStore({ client: s3, bucket: failureBucket }) : undefined,
    sqs: new SQSClient(clientConfig({ endpoint: sqsEndpoint, region })),
    countersTable: values.table,
    queueUrl,
    region,
    dryRun,
    maxMessages,
    visibilityTimeoutSeconds: visibility,
    onMessage: (outcome, index) => process.stdout.write(`[${index}] ${describe(outcome)}\n`),
  });
  process.stderr.write(
    `replaying ${queueUrl} into ${values.table}${dryRun ? ' (dry run: nothing is changed)' : ''} ...\n`,
  );
  const summary = await replayer.run();
  process.stdout.write(
    `${dryRun ? 'dry run: ' : ''}${summary.messages} messages: ${summary.replayed} replayed (${summary.recordsReplayed} records), ${summary.kept} ${dryRun ? 'looked at' : 'kept'}${summary.pastRetention > 0 ? ` (${summary.pastRetention} past the stream's retention: those records cannot be replayed)` : ''}\n`,
  );
  return summary.kept > 0 && !dryRun ? EXIT_KEPT : 0;
}

runCli(SPEC, 'npm run replay', () => main(process.argv.slice(2)));
