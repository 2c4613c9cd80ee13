/** Lambda-shaped Kinesis records for tests: one shard, increasing 56-digit sequence numbers. */
import type { KinesisStreamRecord } from 'aws-lambda';

export const TEST_STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/streamtally-test';

export function sequenceNumber(shardNumber: number, n: number): string {
  return '4959' + String(shardNumber).padStart(4, '0') + String(n).padStart(48, '0');
}

export function kinesisRecord(
  shardId: string,
  seq: string,
  payload: string | Uint8Array,
  arrivalMs: number,
  partitionKey = 'pk',
): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber: seq,
      data: Buffer.from(payload).toString('base64'),
      approximateArrivalTimestamp: arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${seq}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/streamtally-test',
    awsRegion: 'us-east-1',
    eventSourceARN: TEST_STREAM_ARN,
  };
}

/** A fake but complete Lambda context. */
export function lambdaContext(remainingMs = 60_000) {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'streamtally-analytics',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:streamtally-analytics',
    memoryLimitInMB: '1024',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: '/aws/lambda/streamtally-analytics',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
