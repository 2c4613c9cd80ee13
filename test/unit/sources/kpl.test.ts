import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KPL_MAGIC_LENGTH, KPL_MD5_LENGTH } from '../../../src/sources/constants.js';
import { KplEncodeError, KplFormatError } from '../../../src/sources/errors.js';
import { KinesisRecordDecoder } from '../../../src/sources/kinesis.js';
import { KplReader, hasKplMagic } from '../../../src/sources/kpl.js';
import { aggregateKplRecords, encodeKplAggregate, type KplEntry } from '../../../src/sources/kpl-encode.js';
import { createRng, makeKinesisEvent } from '../../../src/samples/sample-events.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const entryArbitrary: fc.Arbitrary<KplEntry> = fc.record(
  {
    partitionKey: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    data: fc.uint8Array({ maxLength: 300 }),
    explicitHashKey: fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map(String),
  },
  { requiredKeys: ['partitionKey', 'data'] },
);

function readAll(aggregate: Buffer, reader = new KplReader(2)): KplEntry[] {
  const count = reader.read(aggregate, 0, aggregate.length);
  const out: KplEntry[] = [];
  for (let k = 0; k < count; k++) {
    const entry: KplEntry = {
      partitionKey: reader.partitionKey(k),
      data: aggregate.subarray(reader.dataStart[k], reader.dataEnd[k]),
    };
    const hashKey = reader.explicitHashKey(k);
    if (hashKey !== undefined) entry.explicitHashKey = hashKey;
    out.push(entry);
  }
  return out;
}

function normalise(
  entries: ReadonlyArray<KplEntry>,
): Array<{ partitionKey: string; data: string; explicitHashKey?: string }> {
  return entries.map((e) => ({
    partitionKey: e.partitionKey,
    data: Buffer.from(e.data).toString('hex'),
    ...(e.explicitHashKey === undefined ? {} : { explicitHashKey: e.explicitHashKey }),
  }));
}

function withMd5(body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), body, createHash('md5').update(body).digest()]);
}

describe('KPL encode -> decode round trip', () => {
  it('returns every record, in order, with its partition key, explicit hash key and data (property)', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { minLength: 1, maxLength: 40 }), (entries) => {
        // Act
        const decoded = readAll(encodeKplAggregate(entries));
        // Assess
        expect(normalise(decoded)).toEqual(normalise(entries));
      }),
      { numRuns: 300 },
    );
  });

  it('starts with the magic and ends with the MD5 of the protobuf bytes', () => {
    const aggregate = encodeKplAggregate([{ partitionKey: 'pk', data: Buffer.from('{}') }]);
    expect(hasKplMagic(aggregate, 0, aggregate.length)).toBe(true);
    const body = aggregate.subarray(KPL_MAGIC_LENGTH, aggregate.length - KPL_MD5_LENGTH);
    expect(aggregate.subarray(aggregate.length - KPL_MD5_LENGTH)).toEqual(createHash('md5').update(body).digest());
  });

  it('de-duplicates partition keys into the table', () => {
    const entries = Array.from({ length: 50 }, (_, k) => ({
      partitionKey: k % 2 === 0 ? 'even' : 'odd',
      data: Buffer.from(String(k)),
    }));
    const reader = new KplReader();
    const aggregate = encodeKplAggregate(entries);
    expect(reader.read(aggregate, 0, aggregate.length)).toBe(50);
    expect(reader.partitionKeyCount).toBe(2);
    expect(reader.explicitHashKeyCount).toBe(0);
  });

  it('feeds de-aggregated sub-records to the sink in order, all with the parent index (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 10 }),
        (batches) => {
          // Prepare
          const payloads = batches.map((values) =>
            encodeKplAggregate(values.map((v, k) => ({ partitionKey: `k${k}`, data: Buffer.from(JSON.stringify(v)) }))),
          );
          const event = makeKinesisEvent(payloads, { rng: createRng(1) });
          const sink = new RecordingSink();
          // Act
          new KinesisRecordDecoder({ maxDecompressedBytes: 1 << 20 }).decode(event.Records, sink);
          // Assess
          const expected = batches.flatMap((values, i) => values.map((v) => [i, JSON.stringify(v)]));
          expect(sink.json().map((c) => [c.recordIndex, c.text])).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('aggregateKplRecords', () => {
  it('packs in order into aggregates under the cap, each keyed by its first record (property)', () => {
    fc.assert(
      fc.property(
        fc.array(entryArbitrary, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 700, max: 5_000 }),
        (entries, cap) => {
          const aggregates = aggregateKplRecords(entries, cap);
          let next = 0;
          for (const aggregate of aggregates) {
            expect(aggregate.data.length + Buffer.byteLength(aggregate.partitionKey)).toBeLessThanOrEqual(cap);
            expect(aggregate.partitionKey).toBe(entries[next].partitionKey);
            const decoded = readAll(aggregate.data);
            expect(decoded).toHaveLength(aggregate.count);
            expect(normalise(decoded)).toEqual(normalise(entries.slice(next, next + aggregate.count)));
            next += aggregate.count;
          }
          expect(next).toBe(entries.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fills aggregates rather than making one per record', () => {
    const entries = Array.from({ length: 1_000 }, (_, k) => ({
      partitionKey: `u-${k % 37}`,
      data: Buffer.alloc(200, 0x61),
    }));
    const aggregates = aggregateKplRecords(entries, 51_200);
    expect(aggregates.length).toBeLessThanOrEqual(5);
    expect(aggregates.reduce((n, a) => n + a.count, 0)).toBe(1_000);
  });

  it('throws KplEncodeError for a record that cannot fit, an empty list, and a bad partition key', () => {
    expect(() => aggregateKplRecords([{ partitionKey: 'a', data: Buffer.alloc(2_000) }], 1_000)).toThrow(
      KplEncodeError,
    );
    expect(() => encodeKplAggregate([])).toThrow(KplEncodeError);
    expect(() => encodeKplAggregate([{ partitionKey: '', data: Buffer.alloc(1) }])).toThrow(/partition key/);
    expect(() => encodeKplAggregate([{ partitionKey: 'x'.repeat(257), data: Buffer.alloc(1) }])).toThrow(
      /partition key/,
    );
    expect(aggregateKplRecords([])).toEqual([]);
  });
});

describe('KplReader on malformed aggregates', () => {
  it.each([
    ['a truncated varint', [0x1a]],
    ['a length past the end', [0x1a, 0x05, 0x08, 0x00]],
    ['a record without data', [0x0a, 0x01, 0x61, 0x1a, 0x02, 0x08, 0x00]],
    ['a record without partition_key_index', [0x0a, 0x01, 0x61, 0x1a, 0x02, 0x1a, 0x00]],
    ['a partition_key_index out of range', [0x0a, 0x01, 0x61, 0x1a, 0x04, 0x08, 0x01, 0x1a, 0x00]],
    ['an explicit_hash_key_index out of range', [0x0a, 0x01, 0x61, 0x1a, 0x06, 0x08, 0x00, 0x10, 0x00, 0x1a, 0x00]],
    ['records with the wrong wire type', [0x18, 0x01]],
    ['a group wire type', [0x0b, 0x0c]],
    ['no records at all', [0x0a, 0x01, 0x61]],
    ['a varint longer than 10 bytes', [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ])('throws KplFormatError for %s', (_label, body) => {
    const aggregate = withMd5(Uint8Array.from(body));
    expect(() => new KplReader().read(aggregate, 0, aggregate.length)).toThrow(KplFormatError);
  });

  it('skips unknown fields of every wire type, as protobuf requires', () => {
    // Field 15 varint, field 14 fixed64, field 13 fixed32, field 12 bytes; then a valid table and record.
    const body = Uint8Array.from([
      0x78, 0x96, 0x01, 0x71, 1, 2, 3, 4, 5, 6, 7, 8, 0x6d, 1, 2, 3, 4, 0x62, 0x02, 0x00, 0x00, 0x0a, 0x01, 0x61, 0x1a,
      0x09, 0x08, 0x00, 0x1a, 0x02, 0x7b, 0x7d, 0x22, 0x01, 0x00,
    ]);
    const aggregate = withMd5(body);
    expect(normalise(readAll(aggregate))).toEqual([{ partitionKey: 'a', data: Buffer.from('{}').toString('hex') }]);
  });
});

describe('fuzz: KinesisRecordDecoder never throws and never loses a record silently', () => {
  const seedAggregate = encodeKplAggregate([
    { partitionKey: 'a', data: Buffer.from('{"n":1}') },
    { partitionKey: 'b', data: gzipSync('{"n":2}'), explicitHashKey: '12345' },
    { partitionKey: 'a', data: Buffer.from('{"n":3}\n{"n":4}') },
  ]);
  const seedBody = seedAggregate.subarray(KPL_MAGIC_LENGTH, seedAggregate.length - KPL_MD5_LENGTH);

  const mutatedBody = fc
    .array(fc.tuple(fc.nat({ max: seedBody.length - 1 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 6,
    })
    .chain((flips) => fc.nat({ max: seedBody.length }).map((cut) => ({ flips, cut })))
    .map(({ flips, cut }) => {
      const body = Buffer.from(seedBody);
      for (const [at, value] of flips) body[at] = value;
      return withMd5(body.subarray(0, cut)); // valid MD5: the protobuf reader is what gets exercised
    });
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), b])),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from([0x1f, 0x8b]), b])),
    mutatedBody,
    fc.nat({ max: seedAggregate.length }).map((cut) => seedAggregate.subarray(0, cut)),
    fc.constant(seedAggregate),
  );
  const base64ish = fc.string({ unit: fc.constantFrom(...'ABCxyz019+/=-_ !\n'.split('')), maxLength: 40 });

  it('every record index ends ingested or rejected', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            payload.map((p) => p.toString('base64')),
            base64ish,
          ),
          { minLength: 1, maxLength: 12 },
        ),
        (datas) => {
          // Prepare
          const event = makeKinesisEvent(
            datas.map(() => Buffer.alloc(0)),
            { rng: createRng(2) },
          );
          for (let i = 0; i < datas.length; i++) event.Records[i].kinesis.data = datas[i];
          const sink = new RecordingSink();
          const decoder = new KinesisRecordDecoder({ maxDecompressedBytes: 4096 });
          // Act
          decoder.decode(event.Records, sink);
          // Assess
          const touched = sink.touchedIndexes();
          for (let i = 0; i < datas.length; i++) expect(touched.has(i)).toBe(true);
          expect(decoder.stats.rejects).toBe(sink.rejects().length);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
