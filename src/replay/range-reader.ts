/**
 * Reads a dropped batch back from its stream: GetShardIterator AT_SEQUENCE_NUMBER at its first record, then
 * GetRecords until its last one, the shard's end (a closed parent shard after resharding, a DynamoDB
 * Streams shard rolled over), or the tip. Kinesis and DynamoDB Streams share the loop and its checks.
 * A range the stream no longer holds whole (trimmed past retention, shard or stream gone) is an error the
 * caller reports: the message is kept, never silently skipped.
 */
import {
  GetRecordsCommand as DdbGetRecordsCommand,
  GetShardIteratorCommand as DdbGetShardIteratorCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisApiRecord,
} from '@aws-sdk/client-kinesis';
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { lambdaDynamoDbRecord, sequenceNumberOf } from '../sources/index.js';
import { RangeUnavailableError } from './errors.js';

/** GetRecords returns at most 10,000 records a call (Kinesis quota). */
export const MAX_GET_RECORDS = 10_000;
/** GetRecords returns at most 1,000 records a call (DynamoDB Streams quota). */
export const MAX_DYNAMODB_STREAMS_GET_RECORDS = 1_000;
/** Empty GetRecords answers in a row, with the iterator not at the range's end, before giving up. */
const MAX_EMPTY_READS = 20;

export interface RangeRequest {
  streamArn: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  /** The records the batch held, when the on-failure record says (`batchSize`); 0 if unknown. */
  expectedRecords: number;
}

/** One GetRecords page, as the shared loop needs it. */
interface Page<T> {
  records: T[];
  next: string | undefined;
  /** The service says the iterator is at the shard's tip (Kinesis MillisBehindLatest 0). */
  atTip: boolean;
}

const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/(.+)$/;

function streamTarget(streamArn: string): { StreamName: string } | { StreamARN: string } {
  const match = STREAM_ARN.exec(streamArn);
  return match ? { StreamName: match[1] } : { StreamARN: streamArn };
}

/**
 * The service's word that the data is gone for good: DynamoDB Streams' TrimmedDataAccessException (past
 * its 24 h), an expired iterator, or a shard or stream that no longer exists.
 */
function unavailable(err: unknown, range: RangeRequest, step: string): RangeUnavailableError | undefined {
  const name = (err as { name?: string } | null)?.name ?? '';
  const message = (err as Error | null)?.message ?? String(err);
  const where = `${range.shardId} of ${range.streamArn}`;
  if (name === 'TrimmedDataAccessException')
    return new RangeUnavailableError(
      `${where} no longer holds ${range.startSequenceNumber} (${name}: ${message}): the records are past the stream's retention`,
      { cause: err, pastRetention: true },
    );
  if (name === 'ExpiredIteratorException')
    return new RangeUnavailableError(`the shard iterator of ${where} expired during ${step}; run the replay again`, {
      cause: err,
    });
  if (step === 'GetShardIterator' || name === 'ResourceNotFoundException')
    return new RangeUnavailableError(
      `${where} cannot be read at ${range.startSequenceNumber}: ${message} (past the stream's retention, or the shard or stream is gone)`,
      { cause: err },
    );
  return undefined;
}

/** The loop both streams share: read from the iterator to the range's end, then check the range is whole. */
async function readRange<T>(
  range: RangeRequest,
  openIterator: () => Promise<string | undefined>,
  readPage: (iterator: string) => Promise<Page<T>>,
  sequenceOf: (record: T) => string,
): Promise<T[]> {
  let iterator: string | undefined;
  try {
    iterator = await openIterator();
  } catch (err) {
    throw unavailable(err, range, 'GetShardIterator') ?? err;
  }
  const end = BigInt(range.endSequenceNumber);
  const out: T[] = [];
  let empty = 0;
  let done = false;
  while (iterator && !done) {
    let page: Page<T>;
    try {
      page = await readPage(iterator);
    } catch (err) {
      throw unavailable(err, range, 'GetRecords') ?? err;
    }
    for (const r of page.records) {
      const position = BigInt(sequenceOf(r));
      if (position > end) {
        done = true;
        break;
      }
      out.push(r);
      if (position === end) done = true;
    }
    iterator = page.next;
    if (page.records.length === 0) {
      if (++empty >= MAX_EMPTY_READS || page.atTip) break;
    } else empty = 0;
  }
  const first = out.length > 0 ? sequenceOf(out[0]) : undefined;
  if (first === undefined || BigInt(first) !== BigInt(range.startSequenceNumber))
    throw new RangeUnavailableError(
      `${range.shardId} no longer holds ${range.startSequenceNumber}${first !== undefined ? ` (it now starts at ${first})` : ''}: the records are past the stream's retention`,
      { pastRetention: true },
    );
  const last = sequenceOf(out[out.length - 1]);
  if (BigInt(last) !== end || (range.expectedRecords > 0 && out.length !== range.expectedRecords))
    throw new RangeUnavailableError(
      `${range.shardId} gave ${out.length} records from ${range.startSequenceNumber} to ${last}, not the ${range.expectedRecords || '?'} records up to ${range.endSequenceNumber} the on-failure record names`,
    );
  return out;
}

export function readKinesisRange(
  kinesis: KinesisClient,
  range: RangeRequest,
  region: string,
): Promise<KinesisStreamRecord[]> {
  return readRange<KinesisStreamRecord>(
    range,
    async () =>
      (
        await kinesis.send(
          new GetShardIteratorCommand({
            // By name where the ARN gives one: moto and older emulators ignore StreamARN on this call.
            ...streamTarget(range.streamArn),
            ShardId: range.shardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            StartingSequenceNumber: range.startSequenceNumber,
          }),
        )
      ).ShardIterator,
    async (iterator) => {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: MAX_GET_RECORDS }));
      return {
        records: (page.Records ?? []).map((r) => toLambdaRecord(r, range, region)),
        next: page.NextShardIterator,
        atTip: page.MillisBehindLatest === 0,
      };
    },
    (r) => r.kinesis.sequenceNumber,
  );
}

/**
 * A DynamoDB Streams range, in Lambda's record shape (src/sources/dynamodb-stream-record.ts, the shaping the
 * local emulator feeds the handler with). Sequence numbers of one shard grow with every record, so the
 * range is every record from the first to the last, as for Kinesis. A shard is closed when its
 * NextShardIterator is null: a range is never split across shards (Lambda batches one shard at a time).
 */
export function readDynamoDbRange(
  streams: DynamoDBStreamsClient,
  range: RangeRequest,
  region: string,
): Promise<DynamoDBRecord[]> {
  return readRange<DynamoDBRecord>(
    range,
    async () =>
      (
        await streams.send(
          new DdbGetShardIteratorCommand({
            StreamArn: range.streamArn,
            ShardId: range.shardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            SequenceNumber: range.startSequenceNumber,
          }),
        )
      ).ShardIterator,
    async (iterator) => {
      const page = await streams.send(
        new DdbGetRecordsCommand({ ShardIterator: iterator, Limit: MAX_DYNAMODB_STREAMS_GET_RECORDS }),
      );
      const now = Date.now();
      return {
        records: (page.Records ?? []).map((r) => lambdaDynamoDbRecord(r, range.streamArn, region, now)),
        next: page.NextShardIterator ?? undefined,
        atTip: false,
      };
    },
    (r) => sequenceNumberOf(r) ?? '0',
  );
}

/** A GetRecords record in the shape Lambda delivers it (what the sources decode). */
export function toLambdaRecord(
  r: KinesisApiRecord,
  where: { shardId: string; streamArn: string },
  region: string,
): KinesisStreamRecord {
  const arrivalMs = r.ApproximateArrivalTimestamp ? r.ApproximateArrivalTimestamp.getTime() : Date.now();
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.PartitionKey as string,
      sequenceNumber: r.SequenceNumber as string,
      data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${where.shardId}:${r.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/streamtally-replay',
    awsRegion: region,
    eventSourceARN: where.streamArn,
  };
}
