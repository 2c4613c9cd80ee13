/** The failure queue's two message kinds, as Lambda and streamtally write them. Prepare / Act / Assess. */
import { describe, expect, it } from 'vitest';
import { buildFailureRecord } from '../../../src/local/emulator/on-failure-destination.js';
import { parseFailureMessage } from '../../../src/replay/messages.js';

describe('parseFailureMessage', () => {
  it('reads an on-failure record (KinesisBatchInfo) as a range', () => {
    const record = buildFailureRecord({
      kind: 'kinesis',
      requestId: 'r',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
      functionError: false,
      shardId: 'shardId-000000000001',
      streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
      records: [
        { sequenceNumber: '100', arrivalMs: 0 },
        { sequenceNumber: '205', arrivalMs: 1 },
      ] as never,
      nowMs: 0,
    });
    expect(parseFailureMessage(JSON.stringify(record))).toEqual({
      kind: 'range',
      batch: {
        source: 'kinesis',
        shardId: 'shardId-000000000001',
        startSequenceNumber: '100',
        endSequenceNumber: '205',
        batchSize: 2,
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
        condition: 'RetryAttemptsExhausted',
      },
    });
  });

  it('reads a streamtally reject, with a pointer when the record was stored elsewhere', () => {
    const parsed = parseFailureMessage(
      JSON.stringify({
        source: 'streamtally',
        reasons: [{ reason: 'too_late', metric: 'views', detail: 'late' }],
        recordIndex: 0,
        shardId: 'shardId-000000000000',
        sequenceNumber: '7',
        recordPointer: 'file:///tmp/rejects/7.json',
      }),
    );
    expect(parsed.kind).toBe('reject');
    expect(parsed.kind === 'reject' && parsed.reject.pointer).toBe('file:///tmp/rejects/7.json');
  });

  it("reads the sink's recordObject (the failure bucket's s3:// URI) as the pointer", () => {
    // Prepare: the field src/sink/failure-destination.ts writes for a record too large for SQS
    const body = JSON.stringify({
      source: 'streamtally',
      reasons: [{ reason: 'too_late', metric: 'views', count: 1, details: [] }],
      recordIndex: 3,
      shardId: 'shardId-000000000002',
      sequenceNumber: '9',
      recordObject: 's3://failures/rejected/shardId-000000000002/9.json',
      detailsOmitted: true,
    });

    // Act
    const parsed = parseFailureMessage(body);

    // Assess
    expect(parsed.kind === 'reject' && parsed.reject.pointer).toBe(
      's3://failures/rejected/shardId-000000000002/9.json',
    );
  });

  it.each([
    ['not json', 'the body is not JSON'],
    ['42', 'the body is not an object'],
    ['{"hello":1}', 'neither an on-failure record nor a streamtally reject'],
    ['{"KinesisBatchInfo":{"shardId":"s"}}', 'an on-failure record without shardId, sequence numbers or streamArn'],
  ])('%s is unknown: %s', (body, reason) => {
    expect(parseFailureMessage(body)).toEqual({ kind: 'unknown', reason });
  });
});
