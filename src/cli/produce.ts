/**
 * `npm run produce -- --stream NAME ...`: pushes demo clickstream events (or an NDJSON file) to a
 * Kinesis stream, locally or in AWS, with a progress line and a summary. With `--orders`, writes order
 * changes into a DynamoDB table instead (produce-orders.ts). See `--help`.
 */
import { createReadStream } from 'node:fs';
import { access, constants as fsConstants, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { clientConfig } from '../local/aws/aws-clients.js';
import {
  parseArgsOrExit,
  parseDurationOption,
  parseNonNegativeInteger,
  parsePositiveNumber,
  runCli,
  usageExit,
  UsageError,
  type CommandSpec,
  type OptionSpec,
} from './args.js';
import { mulberry32 } from '../samples/prng.js';
import { ClickstreamGenerator } from '../samples/sample-events.js';
import {
  KinesisProducer,
  MAX_RECORD_BYTES,
  MAX_REPORTED_DETAILS,
  ProducerError,
  StreamNotFoundError,
  type ProducerRecord,
  type PutSummary,
  type SkippedInput,
} from '../producer/kinesis-producer.js';
import { formatCount, formatDuration, ProgressLine, RateMeter, renderBar } from './progress.js';
import { produceOrders } from './produce-orders.js';

const DEFAULT_DEMO_RATE_PER_SEC = 100;
const DEFAULT_ORDERS_RATE_PER_SEC = 5;
/** The orders table `npm start` creates from template.yaml (Stage dev). */
const DEFAULT_ORDERS_TABLE = 'streamtally-dev-orders';
const DEFAULT_SEED = 42;
/** Detail lines printed per category in the summary; the counts are always complete. */
const MAX_PRINTED_DETAILS = 20;
const UTF8_BOM = '\uFEFF';

const SPEC = {
  name: 'npm run produce --',
  summary:
    'Push events to a Kinesis data stream with PutRecords (demo clickstream events, or an NDJSON file line by line), or order changes into a DynamoDB table (--orders).',
  options: {
    stream: {
      type: 'string',
      valueName: 'NAME',
      description: 'Kinesis stream to write to (required without --orders)',
    },
    orders: {
      type: 'boolean',
      description: `write order changes (new orders, status moves, note updates, deletes) into --table instead (default ${DEFAULT_ORDERS_RATE_PER_SEC}/s)`,
    },
    table: {
      type: 'string',
      valueName: 'NAME',
      description: `DynamoDB table for --orders (default: ${DEFAULT_ORDERS_TABLE}, the one npm start creates)`,
    },
    endpoint: {
      type: 'string',
      valueName: 'URL',
      description:
        'Kinesis endpoint, e.g. http://127.0.0.1:4567, or with --orders the DynamoDB one (default: AWS, default credential chain)',
    },
    region: { type: 'string', valueName: 'REGION', description: 'AWS region (default: AWS_REGION, else us-east-1)' },
    rate: {
      type: 'string',
      valueName: 'N',
      description: `records per second (default: ${DEFAULT_DEMO_RATE_PER_SEC} for demo events, unlimited with --file)`,
    },
    duration: {
      type: 'string',
      valueName: 'DURATION',
      description: 'stop after this long: 500ms, 60s, 5m, 1h (default: no limit)',
    },
    count: {
      type: 'string',
      valueName: 'N',
      description: 'stop after N records (default: no limit; the whole file with --file)',
    },
    file: {
      type: 'string',
      valueName: 'PATH',
      description: 'read events from this NDJSON file, one JSON value per line, instead of generating them',
    },
    'partition-key': {
      type: 'string',
      valueName: 'FIELD',
      description: 'take the partition key from this dotted field, e.g. user.id (default: a random key)',
    },
    seed: {
      type: 'string',
      valueName: 'N',
      description: `seed for demo events and random keys (default: ${DEFAULT_SEED})`,
    },
    'one-per-key': {
      type: 'boolean',
      description: 'at most one record per partition key in each call: strict order per key, slower with few keys',
    },
  },
  notes: [
    'Without --duration or --count, demo events are sent until Ctrl-C. With --file, a line that is not JSON',
    `or is over ${MAX_RECORD_BYTES} bytes (1 MiB, with its partition key) is reported with its line number and skipped.`,
    'Exit codes: 0 all records sent (skipped lines allowed), 1 records failed or the stream is missing, 2 bad arguments.',
  ],
  examples: [
    'npm run produce -- --stream streamtally-dev-events --endpoint <the kinesis= URL npm start prints> --rate 200 --duration 60s',
    'npm run produce -- --stream streamtally-dev-events --endpoint <the kinesis= URL> --file events.ndjson --partition-key user.id',
    'npm run produce -- --stream streamtally-dev-events --region eu-west-1 --count 1000   (AWS, default credentials)',
    'npm run produce -- --orders --endpoint <the dynamodb= URL npm start prints> --rate 10 --count 500',
  ],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

interface ProduceArgs {
  streamName: string;
  endpoint: string | undefined;
  region: string | undefined;
  ratePerSec: number | undefined;
  durationMs: number | undefined;
  count: number | undefined;
  file: string | undefined;
  keyField: string[] | undefined;
  seed: number;
  onePerKey: boolean;
}

/** Argument checks beyond the option table; a {@link UsageError} becomes usage + exit 2. */
async function readArgs(argv: readonly string[]): Promise<ProduceArgs> {
  const { values } = parseArgsOrExit(SPEC, argv);
  try {
    if (values.stream === undefined) throw new UsageError('missing required option --stream NAME (or --orders)');
    const keyField = values['partition-key'];
    if (keyField !== undefined && !/^[^.]+(\.[^.]+)*$/.test(keyField)) {
      throw new UsageError(`--partition-key must be a field name or dotted path such as user.id, got "${keyField}"`);
    }
    if (values.endpoint !== undefined && !/^https?:\/\/[^/]/.test(values.endpoint)) {
      throw new UsageError(`--endpoint must be a URL such as http://127.0.0.1:4567, got "${values.endpoint}"`);
    }
    if (values.file !== undefined) {
      try {
        await access(values.file, fsConstants.R_OK);
        if (!(await stat(values.file)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      } catch (err) {
        throw new UsageError(
          `cannot read --file ${values.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          { cause: err },
        );
      }
    }
    const rate = values.rate === undefined ? undefined : parsePositiveNumber(values.rate, 'rate', true);
    return {
      streamName: values.stream,
      endpoint: values.endpoint,
      region: values.region,
      ratePerSec: rate ?? (values.file === undefined ? DEFAULT_DEMO_RATE_PER_SEC : undefined),
      durationMs: values.duration === undefined ? undefined : parseDurationOption(values.duration, 'duration'),
      count: values.count === undefined ? undefined : parsePositiveNumber(values.count, 'count'),
      file: values.file,
      keyField: keyField?.split('.'),
      seed: values.seed === undefined ? DEFAULT_SEED : parseNonNegativeInteger(values.seed, 'seed'),
      onePerKey: values['one-per-key'],
    };
  } catch (err) {
    if (err instanceof UsageError) usageExit(SPEC, err.message);
    throw err;
  }
}

/** Partition keys when none is configured or the field is missing: 16 hex digits, reproducible from the seed. */
function randomKeys(seed: number): () => string {
  const random = mulberry32(seed ^ 0x5bd1e995);
  return () => {
    const high = Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
    const low = Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
    return high + low;
  };
}

/** The value at a dotted path as a partition key, or undefined when it is missing, empty or not a scalar. */
function keyAt(value: unknown, path: readonly string[]): string | undefined {
  let current = value;
  for (let i = 0; i < path.length; i++) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[path[i]];
  }
  if (typeof current === 'string') return current.length > 0 ? current : undefined;
  if (typeof current === 'number' || typeof current === 'boolean' || typeof current === 'bigint')
    return String(current);
  return undefined;
}

interface SourceStats {
  /** Records sent with a random key because --partition-key's field was missing. */
  keyFallbacks: number;
}

async function* demoSource(args: ProduceArgs, stats: SourceStats): AsyncGenerator<ProducerRecord> {
  const events = new ClickstreamGenerator({ seed: args.seed });
  const nextKey = randomKeys(args.seed);
  while (true) {
    const event = events.next();
    let partitionKey = args.keyField ? keyAt(event, args.keyField) : undefined;
    if (partitionKey === undefined) {
      if (args.keyField) stats.keyFallbacks++;
      partitionKey = nextKey();
    }
    yield { partitionKey, data: JSON.stringify(event) };
  }
}

/** Streams the file line by line: readline pauses the file while lines wait, so memory stays flat. */
async function* ndjsonSource(
  path: string,
  args: ProduceArgs,
  stats: SourceStats,
): AsyncGenerator<ProducerRecord | SkippedInput> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const nextKey = randomKeys(args.seed);
  let lineNumber = 0;
  try {
    for await (const rawLine of lines) {
      lineNumber++;
      const text = lineNumber === 1 && rawLine.startsWith(UTF8_BOM) ? rawLine.slice(1) : rawLine;
      if (text.trim() === '') continue; // blank lines (often the last one) carry no event
      // An oversized line goes to the producer unparsed: it rejects it with the line number, and
      // parsing a megabyte of JSON only to drop it would be wasted.
      if (Buffer.byteLength(text, 'utf8') > MAX_RECORD_BYTES) {
        yield { partitionKey: nextKey(), data: text, line: lineNumber };
        continue;
      }
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch (err) {
        yield {
          skipped: true,
          line: lineNumber,
          reason: `not JSON (${err instanceof Error ? err.message : String(err)})`,
        };
        continue;
      }
      let partitionKey = args.keyField ? keyAt(event, args.keyField) : undefined;
      if (partitionKey === undefined) {
        if (args.keyField) stats.keyFallbacks++;
        partitionKey = nextKey();
      }
      yield { partitionKey, data: text, line: lineNumber };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

function endpointLabel(args: ProduceArgs, client: KinesisClient): string {
  if (args.endpoint) return args.endpoint;
  return `AWS Kinesis in ${typeof client.config.region === 'string' ? client.config.region : (args.region ?? 'the default region')}`;
}

function printSummary(
  summary: PutSummary,
  stats: SourceStats,
  args: ProduceArgs,
  where: string,
  out: NodeJS.WritableStream,
): void {
  const seconds = summary.elapsedMs / 1_000;
  const rate = seconds > 0 ? summary.sent / seconds : 0;
  const lines = [
    `stream ${args.streamName} at ${where}`,
    `  sent        ${formatCount(summary.sent)} records in ${formatCount(summary.calls)} PutRecords call${summary.calls === 1 ? '' : 's'}, ${formatDuration(summary.elapsedMs)} (${formatCount(rate)}/s)`,
    `  retries     ${formatCount(summary.retries)}${summary.outOfOrder > 0 ? ` (${formatCount(summary.outOfOrder)} records landed before an earlier retried record with their key; --one-per-key prevents this)` : ''}`,
    `  failed      ${formatCount(summary.failed)}${
      Object.keys(summary.failedByCode).length
        ? ` (${Object.entries(summary.failedByCode)
            .map(([code, n]) => `${code}: ${n}`)
            .join(', ')})`
        : ''
    }`,
  ];
  for (const failure of summary.failures.slice(0, MAX_PRINTED_DETAILS)) {
    lines.push(
      `    ${failure.line !== undefined ? `line ${failure.line}` : `record ${failure.index + 1}`}: ${failure.errorCode} after ${failure.attempts} attempts: ${failure.errorMessage}`,
    );
  }
  lines.push(`  oversized   ${formatCount(summary.oversized)}`);
  for (const rejected of summary.rejected.filter((r) => r.reason === 'oversized').slice(0, MAX_PRINTED_DETAILS)) {
    lines.push(
      `    ${rejected.line !== undefined ? `line ${rejected.line}` : `record ${rejected.index + 1}`}: ${rejected.message}; not sent`,
    );
  }
  if (summary.invalidPartitionKey > 0) {
    lines.push(`  invalid key ${formatCount(summary.invalidPartitionKey)}`);
    for (const rejected of summary.rejected
      .filter((r) => r.reason === 'invalid_partition_key')
      .slice(0, MAX_PRINTED_DETAILS)) {
      lines.push(
        `    ${rejected.line !== undefined ? `line ${rejected.line}` : `record ${rejected.index + 1}`}: ${rejected.message}; not sent`,
      );
    }
  }
  if (args.file !== undefined) {
    lines.push(`  skipped     ${formatCount(summary.skipped)}`);
    for (const skipped of summary.skippedInputs.slice(0, MAX_PRINTED_DETAILS))
      lines.push(`    line ${skipped.line}: ${skipped.reason}`);
  }
  const detailed = Math.max(summary.failed, summary.oversized + summary.invalidPartitionKey, summary.skipped);
  if (detailed > MAX_PRINTED_DETAILS)
    lines.push(`  (details shown for the first ${Math.min(MAX_PRINTED_DETAILS, MAX_REPORTED_DETAILS)} of each kind)`);
  if (stats.keyFallbacks > 0)
    lines.push(
      `  note: ${formatCount(stats.keyFallbacks)} records had no usable ${args.keyField?.join('.')} and were sent with a random partition key`,
    );
  out.write(`${lines.join('\n')}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgsOrExit(SPEC, argv);
  if (values.orders) {
    try {
      if (values.stream !== undefined || values.file !== undefined || values['partition-key'] !== undefined)
        throw new UsageError('--orders writes to a DynamoDB table: drop --stream, --file and --partition-key');
      if (values.endpoint !== undefined && !URL.canParse(values.endpoint))
        throw new UsageError(`--endpoint must be a URL such as http://127.0.0.1:8000, got "${values.endpoint}"`);
      return await produceOrders({
        tableName: values.table ?? DEFAULT_ORDERS_TABLE,
        endpoint: values.endpoint,
        region: values.region,
        ratePerSec:
          values.rate === undefined ? DEFAULT_ORDERS_RATE_PER_SEC : parsePositiveNumber(values.rate, 'rate', true),
        durationMs: values.duration === undefined ? undefined : parseDurationOption(values.duration, 'duration'),
        count: values.count === undefined ? undefined : parsePositiveNumber(values.count, 'count'),
        seed: values.seed === undefined ? DEFAULT_SEED : parseNonNegativeInteger(values.seed, 'seed'),
      });
    } catch (err) {
      if (err instanceof UsageError) usageExit(SPEC, err.message);
      throw err;
    }
  }
  if (values.table !== undefined) usageExit(SPEC, '--table applies to --orders only');
  const args = await readArgs(argv);
  const client = new KinesisClient(clientConfig({ endpoint: args.endpoint, region: args.region }));
  const where = endpointLabel(args, client);
  const progress = new ProgressLine({ output: process.stderr });
  const meter = new RateMeter();
  meter.record(0, 0);
  const stats: SourceStats = { keyFallbacks: 0 };
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: stop now
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const producer = new KinesisProducer({
    client,
    streamName: args.streamName,
    oneRecordPerKeyPerCall: args.onePerKey,
    onProgress: (p) => {
      const rate = meter.record(p.sent, p.elapsedMs);
      const bar = args.count !== undefined ? `${renderBar(p.sent / args.count)} ` : '';
      progress.update(
        `${bar}sent ${formatCount(p.sent)} (${formatCount(rate)}/s)  failed ${formatCount(p.failed)}  retries ${formatCount(p.retries)}  skipped ${formatCount(p.skipped + p.oversized)}  ${formatDuration(p.elapsedMs)}`,
      );
    },
  });
  const source = args.file === undefined ? demoSource(args, stats) : ndjsonSource(args.file, args, stats);
  if (args.file === undefined && args.durationMs === undefined && args.count === undefined) {
    process.stderr.write(`sending demo events to ${args.streamName} at ${args.ratePerSec}/s; Ctrl-C to stop\n`);
  }
  try {
    const summary = await producer.produce(source, {
      ratePerSec: args.ratePerSec,
      durationMs: args.durationMs,
      maxRecords: args.count,
      signal: abort.signal,
    });
    progress.clear();
    printSummary(summary, stats, args, where, process.stdout);
    return summary.failed > 0 ? 1 : 0;
  } catch (err) {
    progress.clear();
    if (err instanceof StreamNotFoundError) {
      process.stderr.write(
        `error: stream ${args.streamName} not found at ${where}: create it (npm start does) or pass --stream\n`,
      );
      return 1;
    }
    if (err instanceof ProducerError) {
      const cause = err.cause as (NodeJS.ErrnoException & { name?: string }) | undefined;
      let hint = '';
      if (cause?.code === 'ECONNREFUSED')
        hint = `\nnothing answers at ${where}: start the local servers (npm start) or fix --endpoint`;
      if (cause?.name === 'CredentialsProviderError')
        hint =
          '\nset up AWS credentials (AWS_PROFILE, aws configure, or an instance role), or pass --endpoint for a local server';
      process.stderr.write(`error: ${err.message}${hint}\n`);
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    client.destroy();
  }
}

runCli(SPEC, 'npm run produce', () => main(process.argv.slice(2)));
