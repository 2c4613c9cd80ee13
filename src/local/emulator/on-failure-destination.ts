/**
 * The on-failure destination: the JSON invocation record Lambda sends for stream sources when a batch is
 * discarded (retries or record age exhausted). It carries pointers to the records, not the records.
 */
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { OnFailureDestinationError } from './errors.js';
import type { SourceKind, SourceRecord } from './types.js';

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

export interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  approximateArrivalOfFirstRecord: string;
  approximateArrivalOfLastRecord: string;
  batchSize: number;
  streamArn: string;
}

/** The record Lambda sends to SQS/SNS for Kinesis (`KinesisBatchInfo`) and DynamoDB (`DDBStreamBatchInfo`). */
export interface StreamFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo?: StreamBatchInfo;
  DDBStreamBatchInfo?: StreamBatchInfo;
}

export interface FailureRecordInput {
  kind: SourceKind;
  requestId: string;
  functionArn: string;
  condition: FailureCondition;
  approximateInvokeCount: number;
  /** The last invocation of these records ended in a function error (not a partial batch response). */
  functionError: boolean;
  shardId: string;
  streamArn: string;
  records: readonly SourceRecord[];
  nowMs: number;
}

/** Kinesis timestamps carry milliseconds; DynamoDB's whole seconds (as in the Lambda documentation's examples). */
function isoTime(ms: number, kind: SourceKind): string {
  const iso = new Date(ms).toISOString();
  return kind === 'kinesis' ? iso : `${iso.slice(0, 19)}Z`;
}

export function buildFailureRecord(input: FailureRecordInput): StreamFailureRecord {
  const first = input.records[0];
  const last = input.records[input.records.length - 1];
  const info: StreamBatchInfo = {
    shardId: input.shardId,
    startSequenceNumber: first.sequenceNumber,
    endSequenceNumber: last.sequenceNumber,
    approximateArrivalOfFirstRecord: isoTime(first.arrivalMs, input.kind),
    approximateArrivalOfLastRecord: isoTime(last.arrivalMs, input.kind),
    batchSize: input.records.length,
    streamArn: input.streamArn,
  };
  const record: StreamFailureRecord = {
    requestContext: {
      requestId: input.requestId,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    responseContext: input.functionError
      ? { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' }
      : { statusCode: 200, executedVersion: '$LATEST' },
    version: '1.0',
    timestamp: new Date(input.nowMs).toISOString(),
  };
  if (input.kind === 'kinesis') record.KinesisBatchInfo = info;
  else record.DDBStreamBatchInfo = info;
  return record;
}

export interface OnFailureDestination {
  send(record: StreamFailureRecord): Promise<void>;
}

const SQS_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):(.+)$/;

/**
 * Sends failure records to an SQS queue, given its URL or ARN (an ARN is resolved with GetQueueUrl once).
 *
 * @example
 * const destination = new SqsOnFailureDestination(clients.sqs, queueUrl);
 * await destination.send(buildFailureRecord(input));
 */
export class SqsOnFailureDestination implements OnFailureDestination {
  readonly #sqs: SQSClient;
  readonly #destination: string;
  #queueUrl: Promise<string> | undefined;

  constructor(sqs: SQSClient, destination: string) {
    this.#sqs = sqs;
    this.#destination = destination;
    this.#queueUrl = undefined;
  }

  async send(record: StreamFailureRecord): Promise<void> {
    try {
      const QueueUrl = await this.#resolveQueueUrl();
      await this.#sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(record) }));
    } catch (err) {
      this.#queueUrl = undefined;
      throw new OnFailureDestinationError(
        `Could not send the failure record to ${this.#destination}; check that the queue exists.`,
        { cause: err },
      );
    }
  }

  #resolveQueueUrl(): Promise<string> {
    if (this.#queueUrl) return this.#queueUrl;
    const arn = SQS_ARN.exec(this.#destination);
    if (!arn) {
      this.#queueUrl = Promise.resolve(this.#destination);
    } else {
      this.#queueUrl = this.#sqs
        .send(new GetQueueUrlCommand({ QueueName: arn[3], QueueOwnerAWSAccountId: arn[2] }))
        .then((out) => {
          if (!out.QueueUrl)
            throw new OnFailureDestinationError(`GetQueueUrl returned no URL for ${this.#destination}.`);
          return out.QueueUrl;
        });
    }
    return this.#queueUrl;
  }
}
