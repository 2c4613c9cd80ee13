/**
 * Reader for KPL aggregated records, written from the public format
 * (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md):
 *
 *   magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf bytes (16 bytes)
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1;
 *                              repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3; repeated Tag tags = 4; }
 */
import { createHash } from 'node:crypto';
import { growFloat64, growInt32 } from '../core/byte-interner.js';
import { INITIAL_KPL_SUB_RECORDS, KPL_MAGIC, KPL_MAGIC_LENGTH, KPL_MD5_LENGTH } from './constants.js';
import { KplFormatError, ProtobufFormatError } from './errors.js';
import { ProtobufReader, WireType } from './protobuf.js';

const AGGREGATED_PARTITION_KEY_TABLE = 1;
const AGGREGATED_EXPLICIT_HASH_KEY_TABLE = 2;
const AGGREGATED_RECORDS = 3;
const RECORD_PARTITION_KEY_INDEX = 1;
const RECORD_EXPLICIT_HASH_KEY_INDEX = 2;
const RECORD_DATA = 3;
const RECORD_TAGS = 4;

/** True when `bytes[start..end)` starts with the KPL magic (whatever follows). */
export function hasKplMagic(bytes: Uint8Array, start: number, end: number): boolean {
  return (
    end - start >= KPL_MAGIC_LENGTH &&
    bytes[start] === KPL_MAGIC[0] &&
    bytes[start + 1] === KPL_MAGIC[1] &&
    bytes[start + 2] === KPL_MAGIC[2] &&
    bytes[start + 3] === KPL_MAGIC[3]
  );
}

/**
 * De-aggregates one KPL record at a time into reusable tables: after `read()` returns n, sub-record k's
 * data is `bytes[dataStart[k]..dataEnd[k])` and its partition key is entry `partitionKeyIndex[k]` of the
 * aggregate's table. Validation is complete before `read()` returns, so a caller never ingests half of a
 * malformed aggregate.
 *
 * @example
 * const reader = new KplReader();
 * const count = reader.read(buf, 0, buf.length); // throws KplFormatError on a bad aggregate
 * for (let k = 0; k < count; k++) use(buf.subarray(reader.dataStart[k], reader.dataEnd[k]));
 */
export class KplReader {
  public dataStart: Int32Array;
  public dataEnd: Int32Array;
  public partitionKeyIndex: Float64Array;
  /** -1 when the sub-record has no explicit hash key. */
  public explicitHashKeyIndex: Float64Array;
  public partitionKeyCount = 0;
  public explicitHashKeyCount = 0;
  private readonly reader = new ProtobufReader();
  private bytes: Uint8Array = new Uint8Array(0);
  private bodyStart = 0;
  private bodyEnd = 0;

  public constructor(initialCapacity: number = INITIAL_KPL_SUB_RECORDS) {
    initialCapacity = Math.max(1, initialCapacity);
    this.dataStart = new Int32Array(initialCapacity);
    this.dataEnd = new Int32Array(initialCapacity);
    this.partitionKeyIndex = new Float64Array(initialCapacity);
    this.explicitHashKeyIndex = new Float64Array(initialCapacity);
  }

  /**
   * Checks the MD5 and parses the aggregate in `bytes[start..end)` (magic included).
   * @returns the number of sub-records (at least 1)
   * @throws KplFormatError naming what is wrong: too short, MD5 mismatch, malformed protobuf, bad index
   */
  public read(bytes: Uint8Array, start: number, end: number): number {
    if (!hasKplMagic(bytes, start, end)) throw new KplFormatError('KPL aggregate: missing magic bytes F3 89 9A C2');
    const bodyStart = start + KPL_MAGIC_LENGTH;
    const bodyEnd = end - KPL_MD5_LENGTH;
    if (bodyEnd < bodyStart) {
      throw new KplFormatError(
        `KPL aggregate: ${end - start} bytes is too short for magic and MD5 (${KPL_MAGIC_LENGTH + KPL_MD5_LENGTH} bytes minimum)`,
      );
    }
    const digest = createHash('md5').update(bytes.subarray(bodyStart, bodyEnd)).digest();
    for (let k = 0; k < KPL_MD5_LENGTH; k++) {
      if (digest[k] !== bytes[bodyEnd + k])
        throw new KplFormatError('KPL aggregate: MD5 mismatch (record corrupted or truncated)');
    }
    let count: number;
    try {
      count = this.parseAggregate(bytes, bodyStart, bodyEnd);
    } catch (error) {
      if (error instanceof ProtobufFormatError) {
        throw new KplFormatError(`KPL aggregate: malformed protobuf: ${error.message}`, { cause: error });
      }
      throw error;
    }
    this.bytes = bytes;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
    if (count === 0) throw new KplFormatError('KPL aggregate: holds no records');
    for (let k = 0; k < count; k++) {
      if (this.partitionKeyIndex[k] >= this.partitionKeyCount) {
        throw new KplFormatError(
          `KPL aggregate: malformed protobuf: record ${k} has partition_key_index ${this.partitionKeyIndex[k]} but the table has ${this.partitionKeyCount} entries`,
        );
      }
      if (this.explicitHashKeyIndex[k] >= this.explicitHashKeyCount) {
        throw new KplFormatError(
          `KPL aggregate: malformed protobuf: record ${k} has explicit_hash_key_index ${this.explicitHashKeyIndex[k]} but the table has ${this.explicitHashKeyCount} entries`,
        );
      }
    }
    return count;
  }

  /**
   * The partition key of sub-record k of the last aggregate read (the bytes must be unchanged since).
   * Not for the hot path: it re-scans the table; the failure destination and tests use it.
   */
  public partitionKey(k: number): string {
    return this.tableEntry(AGGREGATED_PARTITION_KEY_TABLE, this.partitionKeyIndex[k]) ?? '';
  }

  /** The explicit hash key of sub-record k of the last aggregate read, or undefined when it has none. */
  public explicitHashKey(k: number): string | undefined {
    const index = this.explicitHashKeyIndex[k];
    return index < 0 ? undefined : this.tableEntry(AGGREGATED_EXPLICIT_HASH_KEY_TABLE, index);
  }

  private tableEntry(field: number, index: number): string | undefined {
    const reader = this.reader;
    reader.reset(this.bytes, this.bodyStart, this.bodyEnd);
    let seen = 0;
    while (reader.pos < this.bodyEnd) {
      const key = reader.readVarint();
      if (key % 8 !== WireType.LengthDelimited) {
        reader.skip(key % 8);
        continue;
      }
      const length = reader.readLength();
      if (Math.floor(key / 8) === field && seen++ === index) {
        return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + reader.pos, length).toString('utf8');
      }
      reader.pos += length;
    }
    return undefined;
  }

  private parseAggregate(bytes: Uint8Array, start: number, end: number): number {
    // hot path: one pass over the aggregate, no allocation unless the tables must grow.
    const reader = this.reader;
    reader.reset(bytes, start, end);
    let count = 0;
    this.partitionKeyCount = 0;
    this.explicitHashKeyCount = 0;
    while (reader.pos < end) {
      const key = reader.readVarint();
      const field = Math.floor(key / 8);
      const wireType = key % 8;
      if (
        field === AGGREGATED_PARTITION_KEY_TABLE ||
        field === AGGREGATED_EXPLICIT_HASH_KEY_TABLE ||
        field === AGGREGATED_RECORDS
      ) {
        if (wireType !== WireType.LengthDelimited) {
          throw new ProtobufFormatError(
            `AggregatedRecord field ${field} has wire type ${wireType}, expected ${WireType.LengthDelimited}`,
          );
        }
        const length = reader.readLength();
        const fieldStart = reader.pos;
        if (field === AGGREGATED_PARTITION_KEY_TABLE) this.partitionKeyCount++;
        else if (field === AGGREGATED_EXPLICIT_HASH_KEY_TABLE) this.explicitHashKeyCount++;
        else {
          if (count === this.dataStart.length) this.grow();
          this.parseRecord(count, fieldStart, fieldStart + length);
          count++;
        }
        reader.pos = fieldStart + length;
        reader.end = end;
      } else {
        reader.skip(wireType);
      }
    }
    return count;
  }

  private parseRecord(k: number, start: number, end: number): void {
    const reader = this.reader;
    reader.pos = start;
    reader.end = end;
    let partitionKeyIndex = -1;
    let explicitHashKeyIndex = -1;
    let dataStart = -1;
    let dataEnd = -1;
    while (reader.pos < end) {
      const key = reader.readVarint();
      const field = Math.floor(key / 8);
      const wireType = key % 8;
      if (field === RECORD_PARTITION_KEY_INDEX || field === RECORD_EXPLICIT_HASH_KEY_INDEX) {
        if (wireType !== WireType.Varint)
          throw new ProtobufFormatError(
            `Record ${k} field ${field} has wire type ${wireType}, expected ${WireType.Varint}`,
          );
        if (field === RECORD_PARTITION_KEY_INDEX) partitionKeyIndex = reader.readVarint();
        else explicitHashKeyIndex = reader.readVarint();
      } else if (field === RECORD_DATA || field === RECORD_TAGS) {
        if (wireType !== WireType.LengthDelimited) {
          throw new ProtobufFormatError(
            `Record ${k} field ${field} has wire type ${wireType}, expected ${WireType.LengthDelimited}`,
          );
        }
        const length = reader.readLength();
        if (field === RECORD_DATA) {
          dataStart = reader.pos;
          dataEnd = dataStart + length;
        }
        reader.pos += length;
      } else {
        reader.skip(wireType);
      }
    }
    if (partitionKeyIndex < 0) throw new ProtobufFormatError(`Record ${k} lacks its required partition_key_index`);
    if (dataStart < 0) throw new ProtobufFormatError(`Record ${k} lacks its required data`);
    this.partitionKeyIndex[k] = partitionKeyIndex;
    this.explicitHashKeyIndex[k] = explicitHashKeyIndex;
    this.dataStart[k] = dataStart;
    this.dataEnd[k] = dataEnd;
  }

  private grow(): void {
    this.dataStart = growInt32(this.dataStart);
    this.dataEnd = growInt32(this.dataEnd);
    this.partitionKeyIndex = growFloat64(this.partitionKeyIndex);
    this.explicitHashKeyIndex = growFloat64(this.explicitHashKeyIndex);
  }
}
