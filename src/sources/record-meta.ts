/**
 * What the sink layer needs to know about a Lambda record besides its payload: its shard, its sequence
 * number (for checkpoints and idempotent writes) and what the failure destination should keep of it.
 */
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';

/** What the failure destination keeps of a rejected Kinesis record: enough to replay it with PutRecord. */
export interface KinesisRawData {
  source: 'kinesis';
  /** The record's data, base64 as Kinesis delivered it. */
  data: string;
  partitionKey: string;
  sequenceNumber: string;
  shardId: string | undefined;
  approximateArrivalTimestamp: number;
  eventSourceARN: string;
}

/** What the failure destination keeps of a rejected DynamoDB Streams record: the whole record. */
export interface DynamoDbRawData {
  source: 'dynamodb';
  sequenceNumber: string | undefined;
  eventSourceARN: string | undefined;
  record: DynamoDBRecord;
}

export type RawRecordData = KinesisRawData | DynamoDbRawData;

export function isKinesisRecord(record: KinesisStreamRecord | DynamoDBRecord): record is KinesisStreamRecord {
  return (
    typeof (record as KinesisStreamRecord).kinesis === 'object' && (record as KinesisStreamRecord).kinesis !== null
  );
}

/**
 * The record's sequence number: Kinesis `kinesis.sequenceNumber` (56 digits) or DynamoDB
 * `dynamodb.SequenceNumber`; undefined when the record lacks one.
 */
export function sequenceNumberOf(record: KinesisStreamRecord | DynamoDBRecord): string | undefined {
  if (isKinesisRecord(record)) return record.kinesis.sequenceNumber;
  return record.dynamodb?.SequenceNumber;
}

/**
 * The shard a record came from. Kinesis: the part of `eventID` before the colon
 * (`shardId-000000000000:<sequence number>`). DynamoDB Streams records do not name their shard: undefined.
 */
export function shardIdOf(record: KinesisStreamRecord | DynamoDBRecord): string | undefined {
  if (!isKinesisRecord(record)) return undefined;
  const eventId = record.eventID;
  if (typeof eventId !== 'string') return undefined;
  const colon = eventId.indexOf(':');
  return colon > 0 ? eventId.substring(0, colon) : undefined;
}

/**
 * What the failure destination should keep of a record so that nothing is lost: for Kinesis the base64
 * data with its partition key, sequence number and shard; for DynamoDB the whole record.
 *
 * @example
 * await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ reason, detail, raw: rawDataOf(record) }) }));
 */
export function rawDataOf(record: KinesisStreamRecord | DynamoDBRecord): RawRecordData {
  if (isKinesisRecord(record)) {
    const kinesis = record.kinesis;
    return {
      source: 'kinesis',
      data: kinesis.data,
      partitionKey: kinesis.partitionKey,
      sequenceNumber: kinesis.sequenceNumber,
      shardId: shardIdOf(record),
      approximateArrivalTimestamp: kinesis.approximateArrivalTimestamp,
      eventSourceARN: record.eventSourceARN,
    };
  }
  return {
    source: 'dynamodb',
    sequenceNumber: record.dynamodb?.SequenceNumber,
    eventSourceARN: record.eventSourceARN,
    record,
  };
}
