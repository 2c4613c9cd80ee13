import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../../src/core/aggregator.js';
import { compileConfig } from '../../../src/core/metric-config.js';
import { RejectReason } from '../../../src/core/types.js';
import { KinesisRecordDecoder, decodeKinesisRecords } from '../../../src/sources/kinesis.js';
import { encodeKplAggregate } from '../../../src/sources/kpl-encode.js';
import { SourceConfigError } from '../../../src/sources/errors.js';
import {
  cloudWatchLogsPayload,
  createRng,
  dynamoDbCdcPayload,
  generateClickEvent,
  jsonBytes,
  makeKinesisEvent,
  ndjsonBytes,
  toAttributeMap,
} from '../../../src/samples/sample-events.js';
import { RecordingSink, loadPeerEvent, loadSampleEvent } from '../../helpers/recording-sink.js';

const MiB = 1024 * 1024;
const ARRIVAL_MS = Date.UTC(2026, 2, 2, 10, 0, 0);

function records(payloads: Array<Buffer | string>): KinesisStreamRecord[] {
  const buffers = payloads.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  return makeKinesisEvent(buffers, { rng: createRng(7), arrivalStartMs: ARRIVAL_MS, arrivalStepMs: 1000 }).Records;
}

function decode(
  input: KinesisStreamRecord[],
  maxDecompressedBytes = 16 * MiB,
): { sink: RecordingSink; decoder: KinesisRecordDecoder } {
  const sink = new RecordingSink();
  const decoder = new KinesisRecordDecoder({ maxDecompressedBytes });
  decoder.decode(input, sink);
  return { sink, decoder };
}

describe('KinesisRecordDecoder: plain records', () => {
  it('passes JSON bytes to the sink with the arrival time in ms as fallback time', () => {
    // Prepare
    const input = records(['{"type":"page_view","n":1}', '{"type":"click","n":2}']);
    // Act
    const { sink, decoder } = decode(input);
    // Assess
    expect(sink.calls).toEqual([
      {
        kind: 'json',
        recordIndex: 0,
        text: '{"type":"page_view","n":1}',
        fallbackTimeMs: ARRIVAL_MS,
        arrivalMs: ARRIVAL_MS,
      },
      {
        kind: 'json',
        recordIndex: 1,
        text: '{"type":"click","n":2}',
        fallbackTimeMs: ARRIVAL_MS + 1000,
        arrivalMs: ARRIVAL_MS + 1000,
      },
    ]);
    expect(decoder.stats).toEqual({
      records: 2,
      kplSubRecords: 0,
      gzipRecords: 0,
      cdcRecords: 0,
      controlMessages: 0,
      rejects: 0,
      decompressedBytes: 0,
      stoppedAt: -1,
    });
  });

  it('hands NDJSON and invalid JSON to the sink unparsed: the core splits lines and rejects bad JSON', () => {
    const ndjson = ndjsonBytes([{ a: 1 }, { a: 2 }, { a: 3 }]);
    const { sink } = decode(records([ndjson, 'not json at all']));
    expect(sink.json().map((c) => c.text)).toEqual([ndjson.toString('utf8'), 'not json at all']);
    expect(sink.rejects()).toEqual([]);
  });

  it('rounds fractional arrival timestamps to whole milliseconds', () => {
    const input = records(['{}']);
    input[0].kinesis.approximateArrivalTimestamp = 1545084650.987;
    const { sink } = decode(input);
    expect(sink.json()[0].arrivalMs).toBe(1545084650987);
  });

  it.each([
    ['characters outside the alphabet', 'eyJh!!!!'],
    ['a length that is not a multiple of 4', 'eyJhIjoxfQ'],
    ['padding in the middle', 'YQ==YQ=='],
    ['only padding', '===='],
    ['embedded whitespace', 'eyJh IjoxfQ=='],
  ])('rejects data that is not valid base64 (%s) as Undecodable', (_label, data) => {
    const input = records(['{}']);
    input[0].kinesis.data = data;
    const { sink, decoder } = decode(input);
    expect(sink.calls).toHaveLength(1);
    expect(sink.rejects()[0]).toMatchObject({ recordIndex: 0, reason: RejectReason.Undecodable });
    expect(sink.rejects()[0].detail).toMatch(/base64/);
    expect(decoder.stats.rejects).toBe(1);
  });

  it('rejects a record without kinesis.data or arrival time instead of throwing', () => {
    const input = records(['{}', '{}', '{}']);
    (input[0] as unknown as { kinesis: unknown }).kinesis = undefined;
    (input[1].kinesis as unknown as { data: unknown }).data = 42;
    (input[2].kinesis as unknown as { approximateArrivalTimestamp: unknown }).approximateArrivalTimestamp = 'soon';
    const { sink } = decode(input);
    expect(sink.rejects().map((r) => [r.recordIndex, r.reason])).toEqual([
      [0, RejectReason.Undecodable],
      [1, RejectReason.Undecodable],
      [2, RejectReason.Undecodable],
    ]);
  });

  it('passes an empty record to the sink (the core decides what an empty payload is)', () => {
    const input = records(['']);
    const { sink } = decode(input);
    expect(sink.json()).toMatchObject([{ recordIndex: 0, text: '' }]);
  });

  it('decodes a record larger than the scratch buffer, then small ones, without stale bytes', () => {
    const big = JSON.stringify({ blob: 'x'.repeat(300_000) });
    const { sink } = decode(records([big, '{"small":true}', big.slice(0, 10)]));
    expect(sink.calls.map((c) => (c.kind === 'json' ? c.text.length : -1))).toEqual([big.length, 14, 10]);
    expect(sink.json()[1].text).toBe('{"small":true}');
  });

  it('resets its stats on every call', () => {
    const decoder = new KinesisRecordDecoder({ maxDecompressedBytes: MiB });
    decoder.decode(records([gzipSync('{}'), '{}']), new RecordingSink());
    decoder.decode(records(['{}']), new RecordingSink());
    expect(decoder.stats).toEqual({
      records: 1,
      kplSubRecords: 0,
      gzipRecords: 0,
      cdcRecords: 0,
      controlMessages: 0,
      rejects: 0,
      decompressedBytes: 0,
      stoppedAt: -1,
    });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses maxDecompressedBytes %s at construction',
    (max) => {
      expect(() => new KinesisRecordDecoder({ maxDecompressedBytes: max })).toThrow(SourceConfigError);
    },
  );
});

describe('KinesisRecordDecoder: gzip', () => {
  it('decompresses gzip JSON and NDJSON', () => {
    const { sink, decoder } = decode(records([gzipSync('{"a":1}'), gzipSync('{"a":2}\n{"a":3}\n')]));
    expect(sink.json().map((c) => [c.recordIndex, c.text])).toEqual([
      [0, '{"a":1}'],
      [1, '{"a":2}\n{"a":3}\n'],
    ]);
    expect(decoder.stats.gzipRecords).toBe(2);
  });

  it('rejects a gzip bomb (100 MB of zeros) as TooLarge without inflating it', () => {
    // Prepare
    const bomb = gzipSync(Buffer.alloc(100 * MiB), { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    // Act
    const { sink } = decode(records(['{"ok":1}', bomb, '{"ok":2}']), 8 * MiB);
    // Assess
    expect(sink.calls.map((c) => [c.kind, c.recordIndex])).toEqual([
      ['json', 0],
      ['reject', 1],
      ['json', 2],
    ]);
    expect(sink.rejects()[0].reason).toBe(RejectReason.TooLarge);
    expect(sink.rejects()[0].detail).toContain('8388608');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
  });

  it('accepts output exactly at the cap and rejects one byte over it', () => {
    const payload = Buffer.from(`{"p":"${'y'.repeat(1000 - 8)}"}`);
    expect(payload.length).toBe(1000);
    const atCap = decode(records([gzipSync(payload)]), 1000).sink;
    const overCap = decode(records([gzipSync(payload)]), 999).sink;
    expect(atCap.json()).toHaveLength(1);
    expect(overCap.rejects()[0].reason).toBe(RejectReason.TooLarge);
  });

  it('rejects corrupt and truncated gzip as Undecodable', () => {
    const good = gzipSync('{"a":1}');
    const corrupt = Buffer.concat([
      good.subarray(0, 2),
      Buffer.from([0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xfe, 0xfd, 0xfc]),
    ]);
    const truncated = good.subarray(0, good.length - 4);
    const { sink } = decode(records([corrupt, truncated]));
    expect(sink.rejects().map((r) => [r.recordIndex, r.reason])).toEqual([
      [0, RejectReason.Undecodable],
      [1, RejectReason.Undecodable],
    ]);
    expect(sink.rejects()[0].detail).toMatch(/corrupt gzip/);
  });
});

describe('KinesisRecordDecoder: CloudWatch Logs subscriptions', () => {
  it('feeds every DATA_MESSAGE log event with its own timestamp as fallback time', () => {
    const rng = createRng(3);
    const payload = cloudWatchLogsPayload(
      [
        { timestampMs: 1_700_000_000_001, message: '{"level":"INFO","path":"/pricing"}' },
        { timestampMs: 1_700_000_000_002, message: '{"level":"WARN","note":"Grüße \\"quoted\\""}' },
        { timestampMs: 1_700_000_000_003, message: 'plain text line, not JSON' },
      ],
      { rng },
    );
    const { sink, decoder } = decode(records([payload]));
    expect(sink.json().map((c) => [c.recordIndex, c.text, c.fallbackTimeMs, c.arrivalMs])).toEqual([
      [0, '{"level":"INFO","path":"/pricing"}', 1_700_000_000_001, ARRIVAL_MS],
      [0, '{"level":"WARN","note":"Grüße \\"quoted\\""}', 1_700_000_000_002, ARRIVAL_MS],
      [0, 'plain text line, not JSON', 1_700_000_000_003, ARRIVAL_MS],
    ]);
    expect(decoder.stats).toMatchObject({ gzipRecords: 1, controlMessages: 0, rejects: 0 });
  });

  it('counts CONTROL_MESSAGE envelopes and feeds nothing', () => {
    const control = cloudWatchLogsPayload([{ timestampMs: 1, message: '' }], {
      rng: createRng(1),
      messageType: 'CONTROL_MESSAGE',
    });
    const { sink, decoder } = decode(records([control]));
    expect(sink.calls).toEqual([]);
    expect(decoder.stats.controlMessages).toBe(1);
  });

  it('rejects a DATA_MESSAGE with no events, and a log event without a message', () => {
    const empty = gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', logGroup: 'g', logEvents: [] }));
    const noMessage = gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        logEvents: [
          { id: '1', timestamp: 5 },
          { id: '2', timestamp: 6, message: '{}' },
        ],
      }),
    );
    const { sink } = decode(records([empty, noMessage]));
    expect(sink.calls.map((c) => [c.kind, c.recordIndex])).toEqual([
      ['reject', 0],
      ['reject', 1],
      ['json', 1],
    ]);
  });

  it('treats gzip JSON with an unrelated messageType field as an ordinary event', () => {
    const text = '{"messageType":"chat","logEvents":"none"}';
    const { sink } = decode(records([gzipSync(text)]));
    expect(sink.json().map((c) => c.text)).toEqual([text]);
  });
});

describe('KinesisRecordDecoder: DynamoDB change records carried in Kinesis', () => {
  it('passes images, eventName and the change time (ms) to ingestImage', () => {
    const rng = createRng(11);
    const newImage = toAttributeMap({ orderId: 'o-1', status: 'PAID', amount: 12.5 });
    const oldImage = toAttributeMap({ orderId: 'o-1', status: 'PENDING', amount: 12.5 });
    const payload = dynamoDbCdcPayload(
      { eventName: 'MODIFY', keys: { orderId: { S: 'o-1' } }, newImage, oldImage, createdMs: 1_772_445_600_123 },
      rng,
    );
    const { sink, decoder } = decode(records([payload]));
    expect(sink.calls).toEqual([
      {
        kind: 'image',
        recordIndex: 0,
        eventName: 'MODIFY',
        newImage,
        oldImage,
        fallbackTimeMs: 1_772_445_600_123,
        arrivalMs: ARRIVAL_MS,
      },
    ]);
    expect(decoder.stats.cdcRecords).toBe(1);
  });

  it('converts microsecond creation times', () => {
    const payload = JSON.stringify({
      eventName: 'REMOVE',
      dynamodb: {
        ApproximateCreationDateTime: 1_772_445_600_123_456,
        ApproximateCreationDateTimePrecision: 'MICROSECOND',
        OldImage: { id: { S: 'x' } },
      },
      eventSource: 'aws:dynamodb',
    });
    const { sink } = decode(records([payload]));
    expect(sink.images()[0]).toMatchObject({
      eventName: 'REMOVE',
      newImage: undefined,
      oldImage: { id: { S: 'x' } },
      fallbackTimeMs: 1_772_445_600_123,
    });
  });

  it('treats JSON that merely mentions "aws:dynamodb" as an ordinary event', () => {
    const mentions = [
      '{"type":"page_view","source":"aws:dynamodb"}',
      '{"eventSource":"aws:dynamodb"}\n{"eventSource":"aws:dynamodb"}',
      '{"eventSource":"aws:dynamodb","dynamodb":"not an object"}',
      '{"eventSource":"aws:dynamodb", broken',
    ];
    const { sink, decoder } = decode(records(mentions));
    expect(sink.json().map((c) => c.text)).toEqual(mentions);
    expect(decoder.stats.cdcRecords).toBe(0);
  });

  it('passes change records on as JSON when detection is turned off at construction', () => {
    const payload = '{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"NewImage":{}}}';
    const sink = new RecordingSink();
    const decoder = new KinesisRecordDecoder({ maxDecompressedBytes: MiB, detectDynamoDbChanges: false });
    decoder.decode(records([payload]), sink);
    expect(sink.json().map((c) => c.text)).toEqual([payload]);
    expect(decoder.stats.cdcRecords).toBe(0);
  });

  it('finds a change record inside a KPL sub-record and inside gzip, and ignores a needle in stale scratch bytes', () => {
    const change =
      '{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":5,"NewImage":{"a":{"S":"b"}}}}';
    const aggregate = encodeKplAggregate([{ partitionKey: 'k', data: Buffer.from(change) }]);
    const longPlain = `{"pad":"${'p'.repeat(200)}"}`;
    // Record 3 is shorter than record 2, whose needle is still in the scratch buffer past record 3's end.
    const short = `{"short":"${'x'.repeat(40)}"}`;
    const { sink } = decode(records([aggregate, gzipSync(change), ' '.repeat(100) + change, short, longPlain]));
    expect(sink.calls.map((c) => [c.kind, c.recordIndex])).toEqual([
      ['image', 0],
      ['image', 1],
      ['image', 2],
      ['json', 3],
      ['json', 4],
    ]);
  });

  it('rejects a change record with an unknown eventName as Undecodable', () => {
    const { sink } = decode(records(['{"eventSource":"aws:dynamodb","eventName":"UPSERT","dynamodb":{}}']));
    expect(sink.rejects()).toMatchObject([{ recordIndex: 0, reason: RejectReason.Undecodable }]);
    expect(sink.rejects()[0].detail).toContain('UPSERT');
  });
});

describe('KinesisRecordDecoder into the Aggregator: change records recognised by its scan', () => {
  // The Aggregator is a ChangeAwareJsonSink: the decoder does not search payloads for "aws:dynamodb",
  // the aggregator's own scan reads the top-level eventSource. Same decisions as the search + JSON.parse.
  const CONFIG = compileConfig({
    metrics: [
      { name: 'json_events', source: 'kinesis', aggregates: ['count'], windows: ['1m'] },
      {
        name: 'changes',
        source: 'dynamodb',
        filter: [{ eventName: ['INSERT', 'MODIFY', 'REMOVE'] }],
        dimensions: ['status'],
        aggregates: ['count'],
        windows: ['1m'],
      },
    ],
  });

  function aggregate(
    input: KinesisStreamRecord[],
    detectDynamoDbChanges = true,
  ): { counts: Record<string, number>; aggregator: Aggregator; decoder: KinesisRecordDecoder } {
    const aggregator = new Aggregator(CONFIG);
    const decoder = new KinesisRecordDecoder({ maxDecompressedBytes: MiB, detectDynamoDbChanges });
    aggregator.begin();
    decoder.decode(input, aggregator);
    const counts: Record<string, number> = {};
    for (const cell of aggregator.cells()) {
      const key = [cell.metric.name, ...cell.dimensionValues].join('/');
      counts[key] = (counts[key] ?? 0) + cell.count;
    }
    return { counts, aggregator, decoder };
  }

  const change = (eventName: string, status: string, source = 'aws:dynamodb'): string =>
    `{"eventSource":"${source}","eventName":"${eventName}","dynamodb":{"ApproximateCreationDateTime":${ARRIVAL_MS},"NewImage":{"status":{"S":"${status}"}},"OldImage":{"status":{"S":"${status}"}}}}`;

  it('counts change records as images and everything else as JSON events, in every framing', () => {
    // Prepare
    const rng = createRng(3);
    const generated = dynamoDbCdcPayload(
      {
        eventName: 'INSERT',
        keys: { id: { S: 'o-1' } },
        newImage: toAttributeMap({ status: 'NEW' }),
        createdMs: ARRIVAL_MS,
      },
      rng,
    );
    const aggregate1 = encodeKplAggregate([
      { partitionKey: 'k', data: Buffer.from(change('MODIFY', 'PAID')) },
      { partitionKey: 'k', data: Buffer.from('{"n":1}') },
    ]);
    const input = records([
      generated,
      aggregate1,
      gzipSync(change('REMOVE', 'GONE')),
      ` \n${change('INSERT', 'NEW')}\n `,
      '{"type":"page_view"}',
    ]);
    // Act
    const { counts, decoder, aggregator } = aggregate(input);
    // Assess
    expect(counts).toEqual({ 'changes/NEW': 2, 'changes/PAID': 1, 'changes/GONE': 1, json_events: 2 });
    expect(decoder.stats.cdcRecords).toBe(4);
    expect(aggregator.rejected()).toEqual([]);
  });

  it('treats JSON that merely mentions "aws:dynamodb" as ordinary events, as the search + JSON.parse path does', () => {
    const mentions = [
      '{"type":"page_view","source":"aws:dynamodb"}',
      '{"eventSource":"aws:dynamodb"}\n{"eventSource":"aws:dynamodb"}',
      '{"eventSource":"aws:dynamodb","dynamodb":"not an object"}',
      '{"nested":{"eventSource":"aws:dynamodb","dynamodb":{}}}',
      `${change('INSERT', 'NEW')}\n{"n":2}`,
      '{"eventSource":"aws:dynamodb", broken',
    ];
    const { counts, decoder, aggregator } = aggregate(records(mentions));
    expect(counts).toEqual({ json_events: 7 });
    expect(decoder.stats.cdcRecords).toBe(0);
    expect(aggregator.rejected().map((r) => [r.recordIndex, r.reason])).toEqual([[5, RejectReason.InvalidJson]]);
    expect(aggregator.eventsIn).toBe(8);
  });

  it('compares eventSource as JSON.parse reads it: an escaped "aws:dynamodb" is one, "aws:dynamodbX" is not', () => {
    const { counts, decoder } = aggregate(
      records([change('INSERT', 'NEW', 'aws:\\u0064ynamodb'), change('INSERT', 'NEW', 'aws:dynamodbX')]),
    );
    expect(counts).toEqual({ 'changes/NEW': 1, json_events: 1 });
    expect(decoder.stats.cdcRecords).toBe(1);
  });

  it('rejects a change record with an unknown eventName, and ingests change records as JSON when detection is off', () => {
    const unknown = aggregate(records(['{"eventSource":"aws:dynamodb","eventName":"UPSERT","dynamodb":{}}']));
    expect(unknown.counts).toEqual({});
    expect(unknown.aggregator.rejected().map((r) => r.reason)).toEqual([RejectReason.Undecodable]);
    const off = aggregate(records([change('INSERT', 'NEW')]), false);
    expect(off.counts).toEqual({ json_events: 1 });
    expect(off.decoder.stats.cdcRecords).toBe(0);
  });
});

describe('KinesisRecordDecoder: KPL aggregates', () => {
  it('feeds every sub-record with the parent record index, mixing JSON, NDJSON and gzip', () => {
    const aggregate = encodeKplAggregate([
      { partitionKey: 'a', data: Buffer.from('{"n":1}') },
      { partitionKey: 'b', data: Buffer.from('{"n":2}\n{"n":3}') },
      { partitionKey: 'a', data: gzipSync('{"n":4}'), explicitHashKey: '170141183460469231731687303715884105728' },
    ]);
    const { sink, decoder } = decode(records(['{"n":0}', aggregate, '{"n":5}']));
    expect(sink.json().map((c) => [c.recordIndex, c.text])).toEqual([
      [0, '{"n":0}'],
      [1, '{"n":1}'],
      [1, '{"n":2}\n{"n":3}'],
      [1, '{"n":4}'],
      [2, '{"n":5}'],
    ]);
    expect(decoder.stats).toMatchObject({ kplSubRecords: 3, gzipRecords: 1, rejects: 0 });
  });

  it('rejects an aggregate whose MD5 does not match, saying so', () => {
    const aggregate = encodeKplAggregate([{ partitionKey: 'a', data: Buffer.from('{"n":1}') }]);
    aggregate[aggregate.length - 1] ^= 0xff;
    const { sink } = decode(records([aggregate]));
    expect(sink.calls).toEqual([
      {
        kind: 'reject',
        recordIndex: 0,
        reason: RejectReason.Undecodable,
        detail: expect.stringMatching(/MD5 mismatch/),
      },
    ]);
  });

  it('rejects an aggregate with malformed protobuf (and a valid MD5), saying so, and ingests none of it', () => {
    // Field 3 (records) claims 100 bytes but only 2 follow.
    const body = Buffer.from([0x0a, 0x01, 0x61, 0x1a, 100, 0x08, 0x00]);
    const aggregate = Buffer.concat([
      Buffer.from([0xf3, 0x89, 0x9a, 0xc2]),
      body,
      createHash('md5').update(body).digest(),
    ]);
    const { sink } = decode(records([aggregate]));
    expect(sink.calls).toEqual([
      {
        kind: 'reject',
        recordIndex: 0,
        reason: RejectReason.Undecodable,
        detail: expect.stringMatching(/malformed protobuf/),
      },
    ]);
  });

  it('rejects a too-short aggregate and a sub-record that is itself an aggregate', () => {
    const inner = encodeKplAggregate([{ partitionKey: 'a', data: Buffer.from('{}') }]);
    const outer = encodeKplAggregate([
      { partitionKey: 'a', data: inner },
      { partitionKey: 'a', data: Buffer.from('{"ok":true}') },
    ]);
    const { sink } = decode(records([Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 1, 2]), outer]));
    expect(sink.calls.map((c) => [c.kind, c.recordIndex])).toEqual([
      ['reject', 0],
      ['reject', 1],
      ['json', 1],
    ]);
    expect(sink.rejects()[0].detail).toMatch(/too short/);
    expect(sink.rejects()[1].detail).toMatch(/nested/);
  });

  it('rejects a KPL sub-record gzip bomb as TooLarge with the parent index', () => {
    const bomb = gzipSync(Buffer.alloc(20 * MiB));
    const aggregate = encodeKplAggregate([
      { partitionKey: 'a', data: Buffer.from('{"n":1}') },
      { partitionKey: 'a', data: bomb },
    ]);
    const { sink } = decode(records([aggregate]), MiB);
    expect(sink.calls.map((c) => [c.kind, c.recordIndex])).toEqual([
      ['json', 0],
      ['reject', 0],
    ]);
    expect(sink.rejects()[0].reason).toBe(RejectReason.TooLarge);
  });
});

describe('KinesisRecordDecoder on real captures (peer fixtures)', () => {
  it('decodes the one-record Powertools capture', () => {
    // Prepare
    const event = loadPeerEvent<KinesisStreamEvent>('kinesis-stream-one-record.json');
    // Act
    const { sink } = decode(event.Records);
    // Assess
    expect(sink.calls).toEqual([
      {
        kind: 'json',
        recordIndex: 0,
        text: '{"message": "test message", "username": "test"}',
        fallbackTimeMs: 1545084650987,
        arrivalMs: 1545084650987,
      },
    ]);
  });

  it("passes the tumbling-window capture's plain-text data on for the core to reject as JSON", () => {
    const event = loadPeerEvent<KinesisStreamEvent>('kinesis-stream-tumbling-window.json');
    const { sink } = decode(event.Records);
    expect(sink.calls).toEqual([
      {
        kind: 'json',
        recordIndex: 0,
        text: 'Hello, this is a test.',
        fallbackTimeMs: 1607497475000,
        arrivalMs: 1607497475000,
      },
    ]);
  });
});

describe('KinesisRecordDecoder on the committed sample events', () => {
  it('kinesis-clickstream.json: one JSON click event per record', () => {
    const event = loadSampleEvent<KinesisStreamEvent>('kinesis-clickstream.json');
    const { sink } = decode(event.Records);
    expect(sink.json()).toHaveLength(event.Records.length);
    for (const call of sink.json())
      expect(JSON.parse(call.text)).toMatchObject({
        type: expect.any(String),
        user: { id: expect.stringMatching(/^u-/) },
      });
  });

  it('kinesis-poison.json: the bad records are rejected, the rest still reach the sink', () => {
    const event = loadSampleEvent<KinesisStreamEvent>('kinesis-poison.json');
    const { sink } = decode(event.Records);
    expect(sink.rejects().map((r) => [r.recordIndex, r.reason])).toEqual([
      [3, RejectReason.Undecodable],
      [5, RejectReason.TooLarge],
    ]);
    // Records 1 (HTML) and 6 (truncated JSON) are not JSON: the core rejects them as InvalidJson.
    expect(sink.json().map((c) => c.recordIndex)).toEqual([0, 1, 2, 4, 6, 7]);
    expect(() => JSON.parse(sink.json()[1].text)).toThrow();
  });

  it('kinesis-kpl.json: aggregates de-aggregate into click events', () => {
    const event = loadSampleEvent<KinesisStreamEvent>('kinesis-kpl.json');
    const { sink, decoder } = decode(event.Records);
    expect(decoder.stats.kplSubRecords).toBe(7);
    expect(sink.json()).toHaveLength(8);
    expect(sink.rejects()).toEqual([]);
  });

  it('kinesis-cloudwatch-logs.json: JSON log messages and one control message', () => {
    const event = loadSampleEvent<KinesisStreamEvent>('kinesis-cloudwatch-logs.json');
    const { sink, decoder } = decode(event.Records);
    expect(decoder.stats.controlMessages).toBe(1);
    expect(sink.json()).toHaveLength(4);
    for (const call of sink.json()) expect(JSON.parse(call.text)).toMatchObject({ service: 'checkout-api' });
  });

  it('kinesis-ndjson.json and kinesis-tumbling-window.json decode without rejects', () => {
    for (const name of ['kinesis-ndjson.json', 'kinesis-tumbling-window.json']) {
      const event = loadSampleEvent<KinesisStreamEvent>(name);
      const { sink } = decode(event.Records);
      expect(sink.rejects()).toEqual([]);
      expect(sink.json()).toHaveLength(event.Records.length);
    }
  });

  it('kinesis-dynamodb-cdc.json: every record becomes an image change', () => {
    const event = loadSampleEvent<KinesisStreamEvent>('kinesis-dynamodb-cdc.json');
    const { sink } = decode(event.Records);
    expect(sink.images()).toHaveLength(event.Records.length);
    expect(sink.json()).toEqual([]);
  });
});

describe('decodeKinesisRecords (one-shot)', () => {
  it('returns the stats of the batch', () => {
    const sink = new RecordingSink();
    const stats = decodeKinesisRecords(records([jsonBytes(generateClickEvent(createRng(1), ARRIVAL_MS))]), sink, {
      maxDecompressedBytes: MiB,
    });
    expect(stats.records).toBe(1);
    expect(sink.json()).toHaveLength(1);
  });
});
