/** Reads a DynamoDB stream with the real SDK client and shapes records as Lambda does. */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type Shard,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { lambdaDynamoDbRecord } from '../../sources/dynamodb-stream-record.js';
import { DYNAMODB_STREAMS_MAX_GET_RECORDS } from './constants.js';
import { ExpiredIteratorError, StreamSourceError } from './errors.js';
import type { IteratorPosition, ReadResult, ShardDescription, SourceRecord, StreamReader } from './types.js';

export interface DynamoDbStreamReaderOptions {
  /** Stream ARN, or a table name whose LatestStreamArn is used (needs `dynamodb`). */
  readonly stream: string;
  readonly region: string;
  readonly dynamodb?: DynamoDBClient;
}

function isExpired(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'ExpiredIteratorException' || name === 'TrimmedDataAccessException';
}

/**
 * @example
 * const reader = new DynamoDbStreamReader(clients.dynamodbStreams, { stream: 'orders', region, dynamodb: clients.dynamodb });
 * const streamArn = await reader.open();
 */
export class DynamoDbStreamReader implements StreamReader {
  readonly kind = 'dynamodb' as const;
  readonly #client: DynamoDBStreamsClient;
  readonly #dynamodb: DynamoDBClient | undefined;
  readonly #stream: string;
  readonly #region: string;
  #streamArn: string;

  constructor(client: DynamoDBStreamsClient, options: DynamoDbStreamReaderOptions) {
    this.#client = client;
    this.#dynamodb = options.dynamodb;
    this.#stream = options.stream;
    this.#region = options.region;
    this.#streamArn = options.stream.startsWith('arn:') ? options.stream : '';
  }

  async open(): Promise<string> {
    if (this.#streamArn) return this.#streamArn;
    if (!this.#dynamodb)
      throw new StreamSourceError(
        `"${this.#stream}" is not a stream ARN; pass a DynamoDB client to resolve a table name.`,
      );
    try {
      const out = await this.#dynamodb.send(new DescribeTableCommand({ TableName: this.#stream }));
      this.#streamArn = out.Table?.LatestStreamArn ?? '';
    } catch (err) {
      throw new StreamSourceError(`Table ${this.#stream} could not be described; check that it exists.`, {
        cause: err,
      });
    }
    if (!this.#streamArn)
      throw new StreamSourceError(`Table ${this.#stream} has no stream; enable StreamSpecification on it.`);
    return this.#streamArn;
  }

  async listShards(): Promise<ShardDescription[]> {
    const shards: Shard[] = [];
    let exclusiveStart: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new DescribeStreamCommand({ StreamArn: this.#streamArn, ExclusiveStartShardId: exclusiveStart }),
        );
        if (out.StreamDescription?.Shards) shards.push(...out.StreamDescription.Shards);
        exclusiveStart = out.StreamDescription?.LastEvaluatedShardId;
      } while (exclusiveStart);
    } catch (err) {
      throw new StreamSourceError(`DescribeStream failed for ${this.#streamArn}.`, { cause: err });
    }
    return shards.map((s) => ({
      shardId: s.ShardId ?? '',
      parentShardIds: s.ParentShardId ? [s.ParentShardId] : [],
      endingSequenceNumber: s.SequenceNumberRange?.EndingSequenceNumber,
    }));
  }

  async getIterator(shardId: string, position: IteratorPosition): Promise<string | undefined> {
    if (position.type === 'AT_TIMESTAMP') throw new StreamSourceError('DynamoDB Streams has no AT_TIMESTAMP iterator.');
    try {
      const out = await this.#client.send(
        new GetShardIteratorCommand({
          StreamArn: this.#streamArn,
          ShardId: shardId,
          ShardIteratorType: position.type,
          SequenceNumber: 'sequenceNumber' in position ? position.sequenceNumber : undefined,
        }),
      );
      return out.ShardIterator;
    } catch (err) {
      throw new StreamSourceError(`GetShardIterator ${position.type} failed for ${shardId} of ${this.#streamArn}.`, {
        cause: err,
      });
    }
  }

  async read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    let out;
    try {
      out = await this.#client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(limit, DYNAMODB_STREAMS_MAX_GET_RECORDS) }),
      );
    } catch (err) {
      if (isExpired(err)) throw new ExpiredIteratorError(`The iterator of ${shardId} expired.`, { cause: err });
      throw new StreamSourceError(`GetRecords failed for ${shardId} of ${this.#streamArn}.`, { cause: err });
    }
    const raw = out.Records ?? [];
    const records: SourceRecord[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) records[i] = this.#toSourceRecord(raw[i]);
    return { records, nextIterator: out.NextShardIterator ?? undefined, millisBehindLatest: undefined };
  }

  #toSourceRecord(r: _Record): SourceRecord {
    const arrivalMs = r.dynamodb?.ApproximateCreationDateTime?.getTime() ?? Date.now();
    const eventRecord = lambdaDynamoDbRecord(r, this.#streamArn, this.#region, arrivalMs);
    return {
      sequenceNumber: r.dynamodb?.SequenceNumber ?? '',
      arrivalMs,
      payloadBytes: Buffer.byteLength(JSON.stringify(eventRecord)) + 1,
      eventRecord: eventRecord as unknown as Record<string, unknown>,
    };
  }
}
