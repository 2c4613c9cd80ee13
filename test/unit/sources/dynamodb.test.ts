import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { RejectReason } from '../../../src/core/types.js';
import { DynamoDbRecordDecoder, decodeDynamoDbRecords } from '../../../src/sources/dynamodb.js';
import { createRng, generateOrderChanges, makeDynamoDbEvent } from '../../../src/samples/sample-events.js';
import { RecordingSink, loadPeerEvent, loadSampleEvent } from '../../helpers/recording-sink.js';

describe('DynamoDbRecordDecoder on the peer capture', () => {
  it('passes INSERT and MODIFY images through, creation time in ms, clock for the record without one', () => {
    // Prepare
    const event = loadPeerEvent<DynamoDBStreamEvent>('dynamodb-base.json');
    let clockReads = 0;
    const decoder = new DynamoDbRecordDecoder({ clock: () => (clockReads++, 1_700_000_000_000) });
    const sink = new RecordingSink();
    // Act
    decoder.decode(event.Records, sink);
    // Assess
    expect(sink.calls).toEqual([
      {
        kind: 'image',
        recordIndex: 0,
        eventName: 'INSERT',
        newImage: { Message: { S: 'New item!' }, Id: { N: '101' } },
        oldImage: undefined,
        fallbackTimeMs: 1693997155000,
        arrivalMs: 1693997155000,
      },
      {
        kind: 'image',
        recordIndex: 1,
        eventName: 'MODIFY',
        newImage: { Message: { S: 'This item has changed' }, Id: { N: '101' } },
        oldImage: { Message: { S: 'New item!' }, Id: { N: '101' } },
        fallbackTimeMs: 1_700_000_000_000,
        arrivalMs: 1_700_000_000_000,
      },
    ]);
    expect(clockReads).toBe(1);
    expect(decoder.stats).toEqual({ records: 2, inserts: 1, modifies: 1, removes: 0, rejects: 0 });
  });
});

describe('DynamoDbRecordDecoder on generated and sample data', () => {
  it('maps every generated order change to one ingestImage call with the same images', () => {
    const changes = generateOrderChanges(createRng(5), 200, Date.UTC(2026, 2, 2));
    const event = makeDynamoDbEvent(changes, { rng: createRng(6) });
    const sink = new RecordingSink();
    const decoder = new DynamoDbRecordDecoder({
      clock: () => {
        throw new Error('clock must not be read when every record has a time');
      },
    });
    decoder.decode(event.Records, sink);
    expect(sink.images()).toHaveLength(200);
    for (let i = 0; i < changes.length; i++) {
      expect(sink.images()[i]).toMatchObject({
        recordIndex: i,
        eventName: changes[i].eventName,
        newImage: changes[i].newImage,
        oldImage: changes[i].oldImage,
        fallbackTimeMs: Math.floor(changes[i].createdMs / 1000) * 1000,
      });
    }
    expect(decoder.stats.inserts + decoder.stats.modifies + decoder.stats.removes).toBe(200);
  });

  it('dynamodb-orders.json holds INSERT, MODIFY and REMOVE of orders and decodes without rejects', () => {
    const event = loadSampleEvent<DynamoDBStreamEvent>('dynamodb-orders.json');
    const sink = new RecordingSink();
    const decoder = new DynamoDbRecordDecoder();
    decoder.decode(event.Records, sink);
    expect(sink.rejects()).toEqual([]);
    expect(decoder.stats.inserts).toBeGreaterThan(0);
    expect(decoder.stats.modifies).toBeGreaterThan(0);
    expect(decoder.stats.removes).toBeGreaterThan(0);
    const insert = sink.images().find((c) => c.eventName === 'INSERT');
    expect(Object.keys(insert?.newImage ?? {})).toEqual(
      expect.arrayContaining(['orderId', 'status', 'amount', 'country', 'createdAt']),
    );
    expect(insert?.newImage?.amount).toEqual({ N: expect.stringMatching(/^\d+(\.\d+)?$/) });
  });

  it('dynamodb-tumbling-window.json carries window fields and decodes', () => {
    const event = loadSampleEvent<DynamoDBStreamEvent & { window: { start: string; end: string }; state: object }>(
      'dynamodb-tumbling-window.json',
    );
    expect(event.window.start < event.window.end).toBe(true);
    expect(event.state).toEqual({});
    const sink = new RecordingSink();
    new DynamoDbRecordDecoder().decode(event.Records, sink);
    expect(sink.images()).toHaveLength(event.Records.length);
  });
});

describe('DynamoDbRecordDecoder on bad records', () => {
  it('rejects records without dynamodb or with an unknown eventName as Undecodable, and goes on', () => {
    const records = [
      { eventName: 'INSERT', eventSource: 'aws:dynamodb' },
      { eventName: 'UPSERT', dynamodb: { ApproximateCreationDateTime: 1, NewImage: {} } },
      { dynamodb: { ApproximateCreationDateTime: 1 } },
      null,
      { eventName: 'REMOVE', dynamodb: { ApproximateCreationDateTime: 2, Keys: { id: { S: 'k' } } } },
    ] as unknown as DynamoDBRecord[];
    const sink = new RecordingSink();
    const stats = decodeDynamoDbRecords(records, sink, { clock: () => 0 });
    expect(
      sink.calls.map((c) => [
        c.kind,
        c.recordIndex,
        c.kind === 'reject' ? c.reason : c.kind === 'image' ? c.eventName : c.text,
      ]),
    ).toEqual([
      ['reject', 0, RejectReason.Undecodable],
      ['reject', 1, RejectReason.Undecodable],
      ['reject', 2, RejectReason.Undecodable],
      ['reject', 3, RejectReason.Undecodable],
      ['image', 4, 'REMOVE'],
    ]);
    // A KEYS_ONLY REMOVE has no images: passed on, the core rejects it MissingImage per metric.
    expect(sink.images()[0]).toMatchObject({ newImage: undefined, oldImage: undefined, fallbackTimeMs: 2000 });
    expect(stats.rejects).toBe(4);
    expect(sink.rejects()[1].detail).toContain('UPSERT');
  });
});
