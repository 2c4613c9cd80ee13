/**
 * `npm run events -- --records 10000 --out events/large.json [--kind kinesis|ndjson|kpl|cdc|dynamodb]
 *  [--seed N] [--shard shardId-000000000000]` writes a large, realistic Lambda event, the same for the
 * same seed. `npm run events -- --samples events` rewrites the committed sample events.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DEFAULT_SHARD_ID,
  DEFAULT_START_MS,
  KinesisSequence,
  buildSampleEvents,
  createRng,
  dynamoDbCdcPayload,
  generateClickEvent,
  generateOrderChanges,
  jsonBytes,
  kplPayloads,
  makeDynamoDbEvent,
  makeKinesisEvent,
  ndjsonBytes,
  type ClickEvent,
  type Rng,
} from '../samples/sample-events.js';
import { parseArgsOrExit, runCli, usageExit, UsageError, type CommandSpec, type OptionSpec } from './args.js';

const KINDS = ['kinesis', 'ndjson', 'kpl', 'cdc', 'dynamodb'] as const;
type Kind = (typeof KINDS)[number];
/** Lambda's event source mappings deliver at most 10,000 records per batch (BatchSize quota). */
const LAMBDA_MAX_BATCH_RECORDS = 10_000;
/** Synchronous invocation payload quota (6 MB): `sam local invoke` and Lambda refuse larger events. */
const LAMBDA_MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_RECORDS = 10_000_000;
const NDJSON_EVENTS_PER_RECORD = 10;
const PROGRESS_THRESHOLD = 20_000;
const SHARD_ID_PATTERN = /^shardId-\d{12}$/;

const SPEC = {
  name: 'npm run events --',
  summary: 'Writes a Lambda event of realistic, seeded sample data (same seed, same file).',
  options: {
    records: { type: 'string', valueName: 'N', description: `number of events to generate (1..${MAX_RECORDS})` },
    out: { type: 'string', valueName: 'FILE', description: 'where to write the event JSON' },
    kind: {
      type: 'string',
      valueName: 'KIND',
      default: 'kinesis',
      description: `kinesis (one JSON event per record), ndjson (${NDJSON_EVENTS_PER_RECORD} events per record), kpl (KPL-aggregated records), cdc (DynamoDB changes carried in Kinesis), dynamodb (DynamoDB Streams order changes)`,
    },
    seed: { type: 'string', valueName: 'N', default: '1', description: 'PRNG seed, a non-negative integer' },
    shard: { type: 'string', valueName: 'ID', default: DEFAULT_SHARD_ID, description: 'Kinesis shard id' },
    samples: {
      type: 'string',
      valueName: 'DIR',
      description: 'write every sample event (kinesis-clickstream.json, ...) into DIR',
    },
  },
  notes: ['Either --records N --out FILE, or --samples DIR. Exit codes: 0 written, 2 bad arguments.'],
  examples: [
    'npm run events -- --records 10000 --out /tmp/large.json --kind kpl',
    'npm run events -- --samples events',
  ],
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

interface CliOptions {
  records: number;
  out: string;
  kind: Kind;
  seed: number;
  shard: string;
  samples: string | undefined;
}

function parseCount(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${text}`);
  return value;
}

function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgsOrExit(SPEC, argv);
  const kind = values.kind as string;
  if (!(KINDS as readonly string[]).includes(kind))
    throw new UsageError(`--kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const shard = values.shard as string;
  if (!SHARD_ID_PATTERN.test(shard))
    throw new UsageError(`--shard must look like shardId-000000000000, got ${JSON.stringify(shard)}`);
  const seed = parseCount('seed', values.seed as string, 0, 0xffffffff);
  if (values.samples !== undefined) {
    if (values.records !== undefined || values.out !== undefined)
      throw new UsageError('--samples writes fixed files: do not combine it with --records or --out');
    return { records: 0, out: '', kind: kind as Kind, seed, shard, samples: values.samples };
  }
  if (values.records === undefined) throw new UsageError('--records is required');
  if (values.out === undefined || values.out === '') throw new UsageError('--out is required');
  if (existsSync(values.out) && statSync(values.out).isDirectory())
    throw new UsageError(
      `--out ${values.out} is a directory: give a file name such as ${join(values.out, 'large.json')}`,
    );
  return {
    records: parseCount('records', values.records, 1, MAX_RECORDS),
    out: values.out,
    kind: kind as Kind,
    seed,
    shard,
    samples: undefined,
  };
}

/** Reports progress on stderr in quarters, for counts large enough to take a noticeable time. */
function progress(total: number, label: string): (done: number) => void {
  if (total < PROGRESS_THRESHOLD) return () => {};
  const step = Math.ceil(total / 4);
  let next = step;
  return (done) => {
    if (done >= next || done === total) {
      process.stderr.write(`${label}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}\n`);
      next += step;
    }
  };
}

function clickEvents(rng: Rng, count: number): ClickEvent[] {
  const report = progress(count, 'generated events');
  const events = new Array<ClickEvent>(count);
  for (let k = 0; k < count; k++) {
    // ~4 events per second on average, like a modest site.
    events[k] = generateClickEvent(rng, DEFAULT_START_MS + k * 250 + Math.floor(rng() * 250));
    report(k + 1);
  }
  return events;
}

/** The event for `--records/--kind`: deterministic for a seed. */
function buildLargeEvent(options: Pick<CliOptions, 'records' | 'kind' | 'seed' | 'shard'>): unknown {
  const rng = createRng(options.seed);
  const shardId = options.shard;
  const arrival = { arrivalStartMs: DEFAULT_START_MS + 500, arrivalStepMs: 5 };
  switch (options.kind) {
    case 'kinesis': {
      const events = clickEvents(rng, options.records);
      return makeKinesisEvent(events.map(jsonBytes), {
        rng,
        shardId,
        ...arrival,
        partitionKeys: events.map((e) => e.user.id),
        sequence: new KinesisSequence(rng),
      });
    }
    case 'ndjson': {
      const events = clickEvents(rng, options.records);
      const payloads: Buffer[] = [];
      for (let k = 0; k < events.length; k += NDJSON_EVENTS_PER_RECORD)
        payloads.push(ndjsonBytes(events.slice(k, k + NDJSON_EVENTS_PER_RECORD)));
      return makeKinesisEvent(payloads, { rng, shardId, ...arrival });
    }
    case 'kpl': {
      const events = clickEvents(rng, options.records);
      const packed = kplPayloads(
        events,
        events.map((e) => e.user.id),
      );
      return makeKinesisEvent(packed.payloads, { rng, shardId, ...arrival, partitionKeys: packed.partitionKeys });
    }
    case 'cdc': {
      const changes = generateOrderChanges(rng, options.records, DEFAULT_START_MS);
      return makeKinesisEvent(
        changes.map((c) => dynamoDbCdcPayload(c, rng)),
        { rng, shardId, ...arrival, partitionKeys: changes.map((c) => (c.keys.orderId as { S: string }).S) },
      );
    }
    case 'dynamodb':
      return makeDynamoDbEvent(generateOrderChanges(rng, options.records, DEFAULT_START_MS), { rng });
  }
}

function writeJson(path: string, value: unknown): number {
  mkdirSync(dirname(path), { recursive: true });
  const text = `${JSON.stringify(value, null, 2)}\n`;
  writeFileSync(path, text);
  return Buffer.byteLength(text);
}

function main(argv: string[]): number {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageExit(SPEC, error.message);
  }
  if (options.samples !== undefined) {
    const samples = buildSampleEvents();
    for (const name of Object.keys(samples)) {
      const bytes = writeJson(join(options.samples, name), samples[name]);
      process.stdout.write(`wrote ${join(options.samples, name)} (${bytes.toLocaleString('en-US')} bytes)\n`);
    }
    return 0;
  }
  const event = buildLargeEvent(options) as { Records: unknown[] };
  const bytes = writeJson(options.out, event);
  process.stdout.write(
    `wrote ${options.out}: ${event.Records.length.toLocaleString('en-US')} Lambda records (${options.kind}, ${options.records.toLocaleString('en-US')} events, seed ${options.seed}), ${bytes.toLocaleString('en-US')} bytes\n`,
  );
  if (event.Records.length > LAMBDA_MAX_BATCH_RECORDS) {
    process.stderr.write(
      `note: Lambda delivers at most ${LAMBDA_MAX_BATCH_RECORDS.toLocaleString('en-US')} records per batch; this file is for benchmarks and the local runner\n`,
    );
  }
  if (bytes > LAMBDA_MAX_SYNC_PAYLOAD_BYTES) {
    process.stderr.write(
      `note: ${bytes.toLocaleString('en-US')} bytes is over Lambda's 6 MB invocation payload quota; sam local invoke may refuse it\n`,
    );
  }
  return 0;
}

runCli(SPEC, 'npm run events', () => main(process.argv.slice(2)));
