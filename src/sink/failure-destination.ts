/**
 * Rejected records go to the failure destination (an SQS queue in AWS) with their reason, shard,
 * sequence number and raw data, in batches, so that nothing is lost and nothing blocks the shard.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RejectEntry } from '../core/reject-log.js';
import { DeadlineError, FailureDestinationError, RecordStoreError } from './errors.js';
import { recordObjectKey, type RecordStore } from './record-store.js';
import { withRetry } from './retry.js';

/** SendMessageBatch takes at most 10 entries (SQS quota). */
export const MAX_SQS_BATCH_ENTRIES = 10;
/** SQS message and batch payload limit: 256 KiB (the conservative, long-standing quota). */
export const MAX_SQS_PAYLOAD_BYTES = 256 * 1024;

/** Why a record's events were not counted: one entry per reason and metric, with counts and the first details. */
export interface RejectReasonSummary {
  reason: string;
  metric?: string;
  /** Events of the record rejected for this reason and metric. */
  count: number;
  /** The first few details (at most MAX_DETAILS_PER_REASON, each cut at MAX_DETAIL_CHARS). */
  details: string[];
}

/** One rejected record as stored in the failure destination. */
export interface RejectedRecordMessage {
  source: 'streamtally';
  reasons: RejectReasonSummary[];
  recordIndex: number;
  shardId?: string;
  sequenceNumber: string;
  eventSourceARN?: string;
  /** The record as Lambda delivered it (Kinesis: partition key, base64 data, arrival; DynamoDB: the change). */
  record?: unknown;
  /**
   * Set when the message with its record was too large for SQS: the URI (s3://bucket/key, or file:// locally)
   * of the object holding the whole message, record and every detail included.
   */
  recordObject?: string;
  /** Set when the record was too large for SQS and no record store is configured: read it from the stream. */
  recordOmitted?: string;
  /** Set when details were left out to fit the SQS limit (they are in `recordObject` when there is one). */
  detailsOmitted?: boolean;
}

/** Where a rejected record came from, as its message names it (the caller reads it off the Lambda record). */
export type RejectedRecordOrigin = Pick<
  RejectedRecordMessage,
  'shardId' | 'sequenceNumber' | 'eventSourceARN' | 'record'
>;

/**
 * One failure-queue message per rejected record, with a reason entry per (reason, metric) in the order the
 * aggregator logged them. The live pipeline and the replay both build their messages here.
 */
export function rejectedRecordMessages(
  rejects: ReadonlyArray<RejectEntry>,
  metricNames: ReadonlyArray<string>,
  originOf: (recordIndex: number) => RejectedRecordOrigin,
): RejectedRecordMessage[] {
  const byRecord = new Map<number, RejectedRecordMessage>();
  for (let i = 0; i < rejects.length; i++) {
    const r = rejects[i];
    let message = byRecord.get(r.recordIndex);
    if (!message) {
      message = { source: 'streamtally', reasons: [], recordIndex: r.recordIndex, ...originOf(r.recordIndex) };
      byRecord.set(r.recordIndex, message);
    }
    message.reasons.push({
      reason: r.reasonName,
      metric: r.metricIndex >= 0 ? metricNames[r.metricIndex] : undefined,
      count: r.count,
      details: r.details.slice(),
    });
  }
  return [...byRecord.values()];
}

/** JSON text SQS accepts: it refuses U+FFFE and U+FFFF (and lone surrogates, which JSON.stringify escapes). */
export function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (c) => '\\u' + c.charCodeAt(0).toString(16));
}

/** The message without its record and with fewer details until it fits `maxBytes` (reasons and counts always stay). */
export function boundedBody(message: RejectedRecordMessage, maxBytes: number): string {
  let body = sqsSafeJson(message);
  if (Buffer.byteLength(body) <= maxBytes) return body;
  for (const [keep, chars] of [
    [1, 200],
    [1, 60],
    [0, 0],
  ] as const) {
    const trimmed: RejectedRecordMessage = {
      ...message,
      detailsOmitted: true,
      reasons: message.reasons.map((r) => ({
        ...r,
        details: r.details.slice(0, keep).map((d) => (d.length > chars ? d.slice(0, chars) + '...' : d)),
      })),
    };
    body = sqsSafeJson(trimmed);
    if (Buffer.byteLength(body) <= maxBytes) return body;
  }
  // Unreachable with the config's bounds (reasons x metrics x ~100 bytes), kept so no message can exceed SQS's limit.
  return sqsSafeJson({ ...message, reasons: message.reasons.slice(0, 100), detailsOmitted: true });
}

export interface SendResult {
  sent: number;
  failed: number;
  /** Lowest record index whose reject did not reach the destination, or -1. */
  firstFailedRecord: number;
  errors: Error[];
}

export class FailureDestination {
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly store: RecordStore | undefined;
  private readonly maxMessageBytes: number;

  constructor(options: { client: SQSClient; queueUrl: string; store?: RecordStore; maxMessageBytes?: number }) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
    this.store = options.store;
    this.maxMessageBytes = Math.min(options.maxMessageBytes ?? MAX_SQS_PAYLOAD_BYTES, MAX_SQS_PAYLOAD_BYTES);
  }

  /** `sentFlags[i]` is set to 1 once messages[i] is in the queue (for a caller that stops waiting at a deadline). */
  async send(
    messages: ReadonlyArray<RejectedRecordMessage>,
    deadlineMs: number,
    sentFlags?: Uint8Array,
  ): Promise<SendResult> {
    const result: SendResult = { sent: 0, failed: 0, firstFailedRecord: -1, errors: [] };
    const fail = (message: RejectedRecordMessage, err: unknown): void => {
      result.failed++;
      if (result.firstFailedRecord < 0 || message.recordIndex < result.firstFailedRecord)
        result.firstFailedRecord = message.recordIndex;
      if (result.errors.length < 5) {
        result.errors.push(
          new FailureDestinationError(
            `Sending rejected record ${message.sequenceNumber} to ${this.queueUrl} failed: ${(err as Error).message ?? String(err)}. Check that the queue exists and the function may sqs:SendMessage to it.`,
            { cause: err },
          ),
        );
      }
    };
    let batch: Array<{ message: RejectedRecordMessage; body: string; index: number }> = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const entries = batch;
      batch = [];
      batchBytes = 0;
      if (Date.now() >= deadlineMs) {
        const late = new DeadlineError('the deadline passed before the rejected records could be sent');
        for (const e of entries) fail(e.message, late);
        return;
      }
      try {
        const out = await withRetry(
          () =>
            this.client.send(
              new SendMessageBatchCommand({
                QueueUrl: this.queueUrl,
                Entries: entries.map((e, i) => ({ Id: String(i), MessageBody: e.body })),
              }),
            ),
          { deadlineMs },
        );
        const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
        for (let i = 0; i < entries.length; i++) {
          if (failed.has(i))
            fail(
              entries[i].message,
              new Error(out.Failed?.find((f) => Number(f.Id) === i)?.Message ?? 'rejected by SQS'),
            );
          else {
            result.sent++;
            if (sentFlags) sentFlags[entries[i].index] = 1;
          }
        }
      } catch (err) {
        for (const e of entries) fail(e.message, err);
      }
    };
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index];
      let body = sqsSafeJson(message);
      if (Buffer.byteLength(body) > this.maxMessageBytes) {
        if (this.store) {
          // Kept whole (record and every detail) in the store; the queue message points to it.
          let uri: string;
          try {
            if (Date.now() >= deadlineMs) throw new DeadlineError('the deadline passed before the record was stored');
            uri = await this.store.put(
              recordObjectKey(message.shardId, message.sequenceNumber, message.recordIndex),
              body,
              deadlineMs,
            );
          } catch (err) {
            fail(
              message,
              new RecordStoreError(
                `Storing rejected record ${message.sequenceNumber} (too large for an SQS message) failed: ${(err as Error).message}. Check that the failure bucket exists and the function may s3:PutObject to it.`,
                { cause: err },
              ),
            );
            continue;
          }
          body = boundedBody({ ...message, record: undefined, recordObject: uri }, this.maxMessageBytes);
        } else {
          body = boundedBody(
            {
              ...message,
              record: undefined,
              recordOmitted: `record larger than the ${this.maxMessageBytes}-byte SQS limit and no FAILURE_BUCKET set: read it from the stream by shard and sequence number while it is retained`,
            },
            this.maxMessageBytes,
          );
        }
      }
      const bytes = Buffer.byteLength(body);
      if (batch.length === MAX_SQS_BATCH_ENTRIES || batchBytes + bytes > MAX_SQS_PAYLOAD_BYTES) await flush();
      batch.push({ message, body, index });
      batchBytes += bytes;
    }
    await flush();
    return result;
  }
}
