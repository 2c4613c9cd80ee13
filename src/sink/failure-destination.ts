/**
 * Rejected records go to the failure destination (an SQS queue in AWS) with their reason, shard,
 * sequence number and raw data, in batches, so that nothing is lost and nothing blocks the shard.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { FailureDestinationError } from './errors.js';
import { withRetry } from './retry.js';

/** SendMessageBatch takes at most 10 entries (SQS quota). */
export const MAX_SQS_BATCH_ENTRIES = 10;
/** SQS message and batch payload limit: 256 KiB (the conservative, long-standing quota). */
export const MAX_SQS_PAYLOAD_BYTES = 256 * 1024;

/** One rejected record as stored in the failure destination. */
export interface RejectedRecordMessage {
  source: 'streamtally';
  reasons: Array<{ reason: string; metric?: string; detail: string }>;
  recordIndex: number;
  shardId?: string;
  sequenceNumber: string;
  eventSourceARN?: string;
  /** The record as Lambda delivered it (Kinesis: partition key, base64 data, arrival; DynamoDB: the change). */
  record?: unknown;
  /** Set when the record was too large for an SQS message: read it from the stream by shard and sequence number. */
  recordOmitted?: string;
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

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
  }

  async send(messages: ReadonlyArray<RejectedRecordMessage>, deadlineMs: number): Promise<SendResult> {
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
    let batch: Array<{ message: RejectedRecordMessage; body: string }> = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const entries = batch;
      batch = [];
      batchBytes = 0;
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
          else result.sent++;
        }
      } catch (err) {
        for (const e of entries) fail(e.message, err);
      }
    };
    for (const message of messages) {
      let body = JSON.stringify(message);
      if (Buffer.byteLength(body) > MAX_SQS_PAYLOAD_BYTES) {
        body = JSON.stringify({
          ...message,
          record: undefined,
          recordOmitted: `record larger than the ${MAX_SQS_PAYLOAD_BYTES}-byte SQS limit: read it from the stream by shard and sequence number while it is retained`,
        });
      }
      const bytes = Buffer.byteLength(body);
      if (batch.length === MAX_SQS_BATCH_ENTRIES || batchBytes + bytes > MAX_SQS_PAYLOAD_BYTES) await flush();
      batch.push({ message, body });
      batchBytes += bytes;
    }
    await flush();
    return result;
  }
}
