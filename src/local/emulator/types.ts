/** Shapes shared by the emulator's parts: handler, source records, stream readers, stats. */
import type { Context } from 'aws-lambda';

/**
 * The function under test: the same module Lambda runs. Its event type is the caller's business
 * (KinesisStreamEvent, DynamoDBStreamEvent, their tumbling-window variants), so it is typed loosely here;
 * the response is checked at run time as Lambda does.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any handler signature must be accepted (see above)
export type StreamHandler = (event: any, context: Context) => unknown;

/** What a stream function may answer (ReportBatchItemFailures and tumbling windows). */
export interface StreamHandlerResponse {
  batchItemFailures?: { itemIdentifier?: string | null }[] | null;
  state?: Record<string, unknown>;
}

export type SourceKind = 'kinesis' | 'dynamodb';

/** One record read from a shard, already shaped like the record Lambda puts in `Records`. */
export interface SourceRecord {
  readonly sequenceNumber: string;
  /** ApproximateArrivalTimestamp (Kinesis) or ApproximateCreationDateTime (DynamoDB), epoch ms. */
  readonly arrivalMs: number;
  /** Serialized size of `eventRecord` in bytes, for the 6 MB payload limit. */
  readonly payloadBytes: number;
  readonly eventRecord: Record<string, unknown>;
}

export interface ShardDescription {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  /** Set once the shard is closed (split, merged, or a DynamoDB shard rolled over). */
  readonly endingSequenceNumber: string | undefined;
}

export type IteratorPosition =
  | { type: 'TRIM_HORIZON' | 'LATEST' }
  | { type: 'AT_TIMESTAMP'; timestampMs: number }
  | { type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER'; sequenceNumber: string };

export interface ReadResult {
  readonly records: SourceRecord[];
  /** Undefined when the shard is closed and fully read. */
  readonly nextIterator: string | undefined;
  /** MillisBehindLatest where the service reports it (Kinesis); otherwise derived from arrival times. */
  readonly millisBehindLatest: number | undefined;
}

/** The read side of one stream: Kinesis or DynamoDB Streams, through the real SDK clients. */
export interface StreamReader {
  readonly kind: SourceKind;
  /** Resolves names to the stream ARN; call once before the rest. */
  open(): Promise<string>;
  listShards(): Promise<ShardDescription[]>;
  getIterator(shardId: string, position: IteratorPosition): Promise<string | undefined>;
  read(shardId: string, iterator: string, limit: number): Promise<ReadResult>;
}

/** Live counters for a status line. Every field is set at construction and only ever updated. */
export interface EmulatorStats {
  recordsIn: number;
  batches: number;
  invocations: number;
  failures: number;
  retries: number;
  bisections: number;
  /** Largest MillisBehindLatest over the active shards, from the last read of each. */
  iteratorAgeMs: number;
  /** Batches whose metadata went to the on-failure destination. */
  sentToDlq: number;
  /** Records skipped after retries or record age ran out (sent to the destination, or dropped without one). */
  recordsDiscarded: number;
  activeShards: number;
  finishedShards: number;
}

export function createStats(): EmulatorStats {
  return {
    recordsIn: 0,
    batches: 0,
    invocations: 0,
    failures: 0,
    retries: 0,
    bisections: 0,
    iteratorAgeMs: 0,
    sentToDlq: 0,
    recordsDiscarded: 0,
    activeShards: 0,
    finishedShards: 0,
  };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type EmulatorLogger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface Clock {
  now(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
