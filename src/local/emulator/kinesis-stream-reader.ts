/** Reads a Kinesis data stream with the real SDK client and shapes records as Lambda does. */
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { KINESIS_MAX_GET_RECORDS } from './constants.js';
import { ExpiredIteratorError, StreamSourceError } from './errors.js';
import type { IteratorPosition, ReadResult, ShardDescription, SourceRecord, StreamReader } from './types.js';

export interface KinesisStreamReaderOptions {
  /** Stream name or ARN. */
  readonly stream: string;
  readonly region: string;
  /** Goes into every record's `invokeIdentityArn` (the function's execution role). */
  readonly invokeIdentityArn: string;
}

function streamNameOf(stream: string): string {
  const slash = stream.startsWith('arn:') ? stream.lastIndexOf('/') : -1;
  return slash === -1 ? stream : stream.slice(slash + 1);
}

function isExpired(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'ExpiredIteratorException' || name === 'TrimmedDataAccessException';
}

/**
 * @example
 * const reader = new KinesisStreamReader(clients.kinesis, { stream: 'clicks', region: 'us-east-1', invokeIdentityArn });
 * const streamArn = await reader.open();
 */
export class KinesisStreamReader implements StreamReader {
  readonly kind = 'kinesis' as const;
  readonly #client: KinesisClient;
  readonly #streamName: string;
  readonly #region: string;
  readonly #invokeIdentityArn: string;
  #streamArn: string;

  constructor(client: KinesisClient, options: KinesisStreamReaderOptions) {
    this.#client = client;
    this.#streamName = streamNameOf(options.stream);
    this.#region = options.region;
    this.#invokeIdentityArn = options.invokeIdentityArn;
    this.#streamArn = options.stream.startsWith('arn:') ? options.stream : '';
  }

  async open(): Promise<string> {
    try {
      const out = await this.#client.send(new DescribeStreamSummaryCommand({ StreamName: this.#streamName }));
      this.#streamArn = out.StreamDescriptionSummary?.StreamARN ?? this.#streamArn;
    } catch (err) {
      throw new StreamSourceError(
        `Kinesis stream ${this.#streamName} could not be described; check that it exists and the endpoint is right.`,
        { cause: err },
      );
    }
    return this.#streamArn;
  }

  async listShards(): Promise<ShardDescription[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.#streamName }),
        );
        if (out.Shards) shards.push(...out.Shards);
        nextToken = out.NextToken;
      } while (nextToken);
    } catch (err) {
      throw new StreamSourceError(`ListShards failed for Kinesis stream ${this.#streamName}.`, { cause: err });
    }
    return shards.map((s) => ({
      shardId: s.ShardId ?? '',
      parentShardIds: [s.ParentShardId, s.AdjacentParentShardId].filter((id): id is string => typeof id === 'string'),
      endingSequenceNumber: s.SequenceNumberRange?.EndingSequenceNumber,
    }));
  }

  async getIterator(shardId: string, position: IteratorPosition): Promise<string | undefined> {
    const input = {
      StreamName: this.#streamName,
      ShardId: shardId,
      ShardIteratorType: position.type,
      StartingSequenceNumber: 'sequenceNumber' in position ? position.sequenceNumber : undefined,
      Timestamp: 'timestampMs' in position ? new Date(position.timestampMs) : undefined,
    };
    try {
      return (await this.#client.send(new GetShardIteratorCommand(input))).ShardIterator;
    } catch (err) {
      throw new StreamSourceError(`GetShardIterator ${position.type} failed for ${shardId} of ${this.#streamName}.`, {
        cause: err,
      });
    }
  }

  async read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    let out;
    try {
      out = await this.#client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(limit, KINESIS_MAX_GET_RECORDS) }),
      );
    } catch (err) {
      if (isExpired(err)) throw new ExpiredIteratorError(`The iterator of ${shardId} expired.`, { cause: err });
      throw new StreamSourceError(`GetRecords failed for ${shardId} of ${this.#streamName}.`, { cause: err });
    }
    const raw = out.Records ?? [];
    const records: SourceRecord[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i];
      const sequenceNumber = r.SequenceNumber ?? '';
      const arrivalMs = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
      const eventRecord = {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.PartitionKey ?? '',
          sequenceNumber,
          data: Buffer.from(r.Data ?? new Uint8Array(0)).toString('base64'),
          approximateArrivalTimestamp: arrivalMs / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shardId}:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: this.#invokeIdentityArn,
        awsRegion: this.#region,
        eventSourceARN: this.#streamArn,
      };
      records[i] = {
        sequenceNumber,
        arrivalMs,
        payloadBytes: Buffer.byteLength(JSON.stringify(eventRecord)) + 1,
        eventRecord,
      };
    }
    return { records, nextIterator: out.NextShardIterator ?? undefined, millisBehindLatest: out.MillisBehindLatest };
  }
}
