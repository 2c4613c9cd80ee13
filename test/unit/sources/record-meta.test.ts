import type { DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { rawDataOf, sequenceNumberOf, shardIdOf } from '../../../src/sources/record-meta.js';
import { loadPeerEvent, loadSampleEvent } from '../../helpers/recording-sink.js';

describe('record metadata for the sink layer', () => {
  it('reads shard and sequence number of a Kinesis record, and keeps what a replay needs', () => {
    // Prepare
    const record = loadPeerEvent<KinesisStreamEvent>('kinesis-stream-one-record.json').Records[0];
    // Act + Assess
    expect(shardIdOf(record)).toBe('shardId-000000000006');
    expect(sequenceNumberOf(record)).toBe('49590338271490256608559692538361571095921575989136588898');
    expect(rawDataOf(record)).toEqual({
      source: 'kinesis',
      data: 'eyJtZXNzYWdlIjogInRlc3QgbWVzc2FnZSIsICJ1c2VybmFtZSI6ICJ0ZXN0In0=',
      partitionKey: '1',
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
      shardId: 'shardId-000000000006',
      approximateArrivalTimestamp: 1545084650.987,
      eventSourceARN: 'arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream',
    });
  });

  it('reads the sequence number of a DynamoDB record; its shard is unknown; raw data is the whole record', () => {
    const record = loadPeerEvent<DynamoDBStreamEvent>('dynamodb-base.json').Records[1];
    expect(sequenceNumberOf(record)).toBe('222');
    expect(shardIdOf(record)).toBeUndefined();
    const raw = rawDataOf(record);
    expect(raw).toEqual({ source: 'dynamodb', sequenceNumber: '222', eventSourceARN: 'source_arn', record });
    expect(JSON.parse(JSON.stringify(raw))).toEqual(raw);
  });

  it('sample Kinesis events have 56-digit sequence numbers that increase within the shard', () => {
    for (const name of [
      'kinesis-clickstream.json',
      'kinesis-poison.json',
      'kinesis-kpl.json',
      'kinesis-ndjson.json',
      'kinesis-tumbling-window.json',
      'kinesis-cloudwatch-logs.json',
      'kinesis-dynamodb-cdc.json',
    ]) {
      const records = loadSampleEvent<KinesisStreamEvent>(name).Records;
      let previous = 0n;
      for (const record of records) {
        const sequenceNumber = sequenceNumberOf(record) ?? '';
        expect(sequenceNumber).toMatch(/^\d{56}$/);
        expect(BigInt(sequenceNumber)).toBeGreaterThan(previous);
        previous = BigInt(sequenceNumber);
        expect(shardIdOf(record)).toMatch(/^shardId-\d{12}$/);
        expect(record.eventSourceARN).toMatch(/^arn:aws:kinesis:us-east-1:123456789012:stream\//);
      }
    }
  });

  it('returns undefined for a Kinesis eventID without a shard prefix', () => {
    const record = loadPeerEvent<KinesisStreamEvent>('kinesis-stream-one-record.json').Records[0];
    expect(shardIdOf({ ...record, eventID: 'no-colon' })).toBeUndefined();
  });
});
