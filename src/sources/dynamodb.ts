/**
 * DynamoDB Streams adapter: Lambda's DynamoDB records -> `sink.ingestImage` calls.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { EventSink } from '../core/types.js';
import { RejectReason } from '../core/types.js';
import { isPlainObject, toDynamoDbEventName, toImage } from './dynamodb-change.js';

export interface DynamoDbDecoderOptions {
  /**
   * Time used for a record without `ApproximateCreationDateTime` (it is optional in the stream record).
   * Read at most once per `decode()` call. Defaults to `Date.now`.
   */
  clock?: () => number;
}

/** Counters of the last `decode()` call; the object is allocated once and reset per call. */
export interface DynamoDbDecodeStats {
  records: number;
  inserts: number;
  modifies: number;
  removes: number;
  rejects: number;
}

/**
 * Decodes the records of a DynamoDB Streams event (plain or tumbling-window) into image changes.
 * `fallbackTimeMs` and `arrivalMs` are the record's `ApproximateCreationDateTime` (seconds) in ms.
 * A record without `dynamodb` or with an unknown `eventName` is rejected `Undecodable`; a record without
 * the image a metric needs is passed on, and the core rejects it `MissingImage` per metric.
 *
 * @example
 * const decoder = new DynamoDbRecordDecoder();
 * decoder.decode(event.Records, aggregator);
 */
export class DynamoDbRecordDecoder {
  public readonly stats: DynamoDbDecodeStats;
  private readonly clock: () => number;

  public constructor(options: DynamoDbDecoderOptions = {}) {
    this.stats = { records: 0, inserts: 0, modifies: 0, removes: 0, rejects: 0 };
    this.clock = options.clock ?? Date.now;
  }

  public decode(records: ReadonlyArray<DynamoDBRecord>, sink: EventSink): void {
    // hot path: one indexed loop; images are passed through as Lambda parsed them.
    const stats = this.stats;
    stats.records = 0;
    stats.inserts = 0;
    stats.modifies = 0;
    stats.removes = 0;
    stats.rejects = 0;
    let nowMs = Number.NaN;
    for (let i = 0; i < records.length; i++) {
      stats.records++;
      const record = records[i];
      const change: unknown = isPlainObject(record) ? record.dynamodb : undefined;
      if (!isPlainObject(change)) {
        stats.rejects++;
        sink.reject(i, RejectReason.Undecodable, 'DynamoDB Streams record without a dynamodb object');
        continue;
      }
      const eventName = toDynamoDbEventName(record.eventName);
      if (eventName === undefined) {
        stats.rejects++;
        const created = change.ApproximateCreationDateTime;
        sink.reject(
          i,
          RejectReason.Undecodable,
          `DynamoDB Streams record with eventName ${JSON.stringify(record.eventName) ?? 'undefined'}, expected INSERT, MODIFY or REMOVE`,
          typeof created === 'number' ? created * 1000 : Number.NaN,
        );
        continue;
      }
      if (eventName === 'INSERT') stats.inserts++;
      else if (eventName === 'MODIFY') stats.modifies++;
      else stats.removes++;
      const createdSeconds = change.ApproximateCreationDateTime;
      let timeMs: number;
      if (typeof createdSeconds === 'number' && Number.isFinite(createdSeconds)) {
        timeMs = Math.round(createdSeconds * 1000);
      } else {
        if (nowMs !== nowMs) nowMs = this.clock(); // NaN check: read the clock once per batch, only if needed
        timeMs = nowMs;
      }
      sink.ingestImage(eventName, toImage(change.NewImage), toImage(change.OldImage), i, timeMs, timeMs);
    }
  }
}

/** One-shot form of `DynamoDbRecordDecoder`; a handler should keep one decoder for its lifetime. */
export function decodeDynamoDbRecords(
  records: ReadonlyArray<DynamoDBRecord>,
  sink: EventSink,
  options: DynamoDbDecoderOptions = {},
): DynamoDbDecodeStats {
  const decoder = new DynamoDbRecordDecoder(options);
  decoder.decode(records, sink);
  return decoder.stats;
}
