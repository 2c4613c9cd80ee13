/**
 * Reads a dropped batch back from Kinesis: GetShardIterator AT_SEQUENCE_NUMBER at its first record, then
 * GetRecords until its last one, the shard's end (a closed parent shard after resharding), or the tip.
 * A range the stream no longer holds whole (trimmed past retention, shard or stream gone) is an error the
 * caller reports: the message is kept, never silently skipped.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisApiRecord,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { RangeUnavailableError } from './errors.js';

/** GetRecords returns at most 10,000 records a call (Kinesis quota). */
export const MAX_GET_RECORDS = 10_000;
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

const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/(.+)$/;

function streamTarget(streamArn: string): { StreamName: string } | { StreamARN: string } {
  const match = STREAM_ARN.exec(streamArn);
  return match ? { StreamName: match[1] } : { StreamARN: streamArn };
}

function seq(text: string): bigint {
  return BigInt(text);
}

export async function readKinesisRange(
  kinesis: KinesisClient,
  range: RangeRequest,
  region: string,
): Promise<KinesisStreamRecord[]> {
  let iterator: string | undefined;
  try {
    const out = await kinesis.send(
      new GetShardIteratorCommand({
        // By name where the ARN gives one: moto and older emulators ignore StreamARN on this call.
        ...streamTarget(range.streamArn),
        ShardId: range.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: range.startSequenceNumber,
      }),
    );
    iterator = out.ShardIterator;
  } catch (err) {
    throw new RangeUnavailableError(
      `${range.shardId} of ${range.streamArn} cannot be read at ${range.startSequenceNumber}: ${(err as Error).message} (past the stream's retention, or the shard or stream is gone)`,
      { cause: err },
    );
  }
  const end = seq(range.endSequenceNumber);
  const out: KinesisStreamRecord[] = [];
  let empty = 0;
  let done = false;
  while (iterator && !done) {
    let page;
    try {
      page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: MAX_GET_RECORDS }));
    } catch (err) {
      if (err instanceof ExpiredIteratorException)
        throw new RangeUnavailableError('the shard iterator expired', { cause: err });
      throw err;
    }
    const records = page.Records ?? [];
    for (const r of records) {
      if (seq(r.SequenceNumber as string) > end) {
        done = true;
        break;
      }
      out.push(toLambdaRecord(r, range, region));
      if (seq(r.SequenceNumber as string) === end) done = true;
    }
    iterator = page.NextShardIterator;
    if (records.length === 0) {
      if (++empty >= MAX_EMPTY_READS || page.MillisBehindLatest === 0) break;
    } else empty = 0;
  }
  if (out.length === 0 || out[0].kinesis.sequenceNumber !== range.startSequenceNumber)
    throw new RangeUnavailableError(
      `${range.shardId} no longer holds ${range.startSequenceNumber}${out.length > 0 ? ` (it now starts at ${out[0].kinesis.sequenceNumber})` : ''}: the records are past the stream's retention`,
    );
  const last = out[out.length - 1].kinesis.sequenceNumber;
  if (last !== range.endSequenceNumber || (range.expectedRecords > 0 && out.length !== range.expectedRecords))
    throw new RangeUnavailableError(
      `${range.shardId} gave ${out.length} records from ${range.startSequenceNumber} to ${last}, not the ${range.expectedRecords || '?'} records up to ${range.endSequenceNumber} the on-failure record names`,
    );
  return out;
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
