/**
 * Encoder for KPL aggregated records (magic + protobuf AggregatedRecord + MD5), the inverse of
 * `KplReader`. Used by the producer (`--aggregate`), the sample events and the tests. Not a hot path.
 */
import { createHash } from 'node:crypto';
import {
  KINESIS_MAX_PARTITION_KEY_CHARS,
  KINESIS_MAX_RECORD_BYTES,
  KPL_MAGIC,
  KPL_MAGIC_LENGTH,
  KPL_MD5_LENGTH,
} from './constants.js';
import { KplEncodeError } from './errors.js';
import { WireType, fieldKey, varintSize, writeVarint } from './protobuf.js';

/** One user record to put inside an aggregate. */
export interface KplEntry {
  partitionKey: string;
  data: Uint8Array;
  explicitHashKey?: string;
}

/** A record ready for PutRecords: the aggregate's bytes and the partition key it is put with. */
export interface KplAggregate {
  partitionKey: string;
  data: Buffer;
  /** How many user records it holds. */
  count: number;
}

const KEY_PARTITION_KEY_TABLE = fieldKey(1, WireType.LengthDelimited);
const KEY_EXPLICIT_HASH_KEY_TABLE = fieldKey(2, WireType.LengthDelimited);
const KEY_RECORDS = fieldKey(3, WireType.LengthDelimited);
const KEY_PARTITION_KEY_INDEX = fieldKey(1, WireType.Varint);
const KEY_EXPLICIT_HASH_KEY_INDEX = fieldKey(2, WireType.Varint);
const KEY_DATA = fieldKey(3, WireType.LengthDelimited);

function checkPartitionKey(partitionKey: string): void {
  if (
    typeof partitionKey !== 'string' ||
    partitionKey.length === 0 ||
    partitionKey.length > KINESIS_MAX_PARTITION_KEY_CHARS
  ) {
    throw new KplEncodeError(
      `partition key must be 1 to ${KINESIS_MAX_PARTITION_KEY_CHARS} characters, got ${JSON.stringify(partitionKey)}`,
    );
  }
}

function lengthDelimitedSize(payloadBytes: number): number {
  return 1 + varintSize(payloadBytes) + payloadBytes;
}

function recordBodySize(partitionKeyIndex: number, explicitHashKeyIndex: number, dataBytes: number): number {
  let size = 1 + varintSize(partitionKeyIndex) + lengthDelimitedSize(dataBytes);
  if (explicitHashKeyIndex >= 0) size += 1 + varintSize(explicitHashKeyIndex);
  return size;
}

/**
 * Encodes user records into one KPL aggregated record. Partition keys (and explicit hash keys) are
 * de-duplicated into the aggregate's tables, as the KPL does.
 *
 * @example
 * const data = encodeKplAggregate([{ partitionKey: 'u-1', data: Buffer.from('{"type":"click"}') }]);
 * // data starts with F3 89 9A C2 and ends with the MD5 of the protobuf bytes
 */
export function encodeKplAggregate(entries: ReadonlyArray<KplEntry>): Buffer {
  if (entries.length === 0)
    throw new KplEncodeError('cannot encode an aggregate of zero records: send nothing instead');
  const partitionKeys = new Map<string, number>();
  const hashKeys = new Map<string, number>();
  const partitionKeyBytes: Buffer[] = [];
  const hashKeyBytes: Buffer[] = [];
  const pkIndexes = new Array<number>(entries.length);
  const ehkIndexes = new Array<number>(entries.length);
  let bodySize = 0;
  /** The key's index in its table, adding it (and its bytes to the body size) on first sight. */
  const tableIndex = (key: string, indexes: Map<string, number>, table: Buffer[]): number => {
    let index = indexes.get(key);
    if (index === undefined) {
      index = table.length;
      indexes.set(key, index);
      const bytes = Buffer.from(key, 'utf8');
      table.push(bytes);
      bodySize += lengthDelimitedSize(bytes.length);
    }
    return index;
  };
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k];
    checkPartitionKey(entry.partitionKey);
    pkIndexes[k] = tableIndex(entry.partitionKey, partitionKeys, partitionKeyBytes);
    ehkIndexes[k] =
      entry.explicitHashKey === undefined ? -1 : tableIndex(entry.explicitHashKey, hashKeys, hashKeyBytes);
    bodySize += lengthDelimitedSize(recordBodySize(pkIndexes[k], ehkIndexes[k], entry.data.length));
  }

  const out = Buffer.allocUnsafe(KPL_MAGIC_LENGTH + bodySize + KPL_MD5_LENGTH);
  let pos = 0;
  for (let k = 0; k < KPL_MAGIC_LENGTH; k++) out[pos++] = KPL_MAGIC[k];
  for (let k = 0; k < partitionKeyBytes.length; k++)
    pos = writeBytesField(out, pos, KEY_PARTITION_KEY_TABLE, partitionKeyBytes[k]);
  for (let k = 0; k < hashKeyBytes.length; k++)
    pos = writeBytesField(out, pos, KEY_EXPLICIT_HASH_KEY_TABLE, hashKeyBytes[k]);
  for (let k = 0; k < entries.length; k++) {
    const data = entries[k].data;
    pos = writeVarint(out, pos, KEY_RECORDS);
    pos = writeVarint(out, pos, recordBodySize(pkIndexes[k], ehkIndexes[k], data.length));
    pos = writeVarint(out, pos, KEY_PARTITION_KEY_INDEX);
    pos = writeVarint(out, pos, pkIndexes[k]);
    if (ehkIndexes[k] >= 0) {
      pos = writeVarint(out, pos, KEY_EXPLICIT_HASH_KEY_INDEX);
      pos = writeVarint(out, pos, ehkIndexes[k]);
    }
    pos = writeBytesField(out, pos, KEY_DATA, data);
  }
  const digest = createHash('md5').update(out.subarray(KPL_MAGIC_LENGTH, pos)).digest();
  digest.copy(out, pos);
  return out;
}

function writeBytesField(out: Buffer, pos: number, key: number, bytes: Uint8Array): number {
  pos = writeVarint(out, pos, key);
  pos = writeVarint(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/**
 * Packs user records, in order, into as few aggregates as fit under `maxRecordBytes` each (aggregate data
 * plus its partition key, as Kinesis counts them). Each aggregate is put with its first record's partition
 * key, as the KPL does.
 *
 * @throws KplEncodeError when a single record cannot fit in an aggregate of `maxRecordBytes`
 */
export function aggregateKplRecords(
  entries: ReadonlyArray<KplEntry>,
  maxRecordBytes: number = KINESIS_MAX_RECORD_BYTES,
): KplAggregate[] {
  const aggregates: KplAggregate[] = [];
  let first = 0;
  while (first < entries.length) {
    const partitionKeys = new Set<string>();
    const hashKeys = new Set<string>();
    const outerKeyBytes = Buffer.byteLength(entries[first].partitionKey, 'utf8');
    let size = KPL_MAGIC_LENGTH + KPL_MD5_LENGTH + outerKeyBytes;
    let next = first;
    while (next < entries.length) {
      const entry = entries[next];
      let added = 0;
      const newPartitionKey = !partitionKeys.has(entry.partitionKey);
      if (newPartitionKey) added += lengthDelimitedSize(Buffer.byteLength(entry.partitionKey, 'utf8'));
      const newHashKey = entry.explicitHashKey !== undefined && !hashKeys.has(entry.explicitHashKey);
      if (newHashKey) added += lengthDelimitedSize(Buffer.byteLength(entry.explicitHashKey as string, 'utf8'));
      // Indexes are bounded by the entry count, so sizing them at the entry's position is an upper bound.
      added += lengthDelimitedSize(
        recordBodySize(partitionKeys.size, entry.explicitHashKey === undefined ? -1 : hashKeys.size, entry.data.length),
      );
      if (size + added > maxRecordBytes) break;
      size += added;
      if (newPartitionKey) partitionKeys.add(entry.partitionKey);
      if (newHashKey) hashKeys.add(entry.explicitHashKey as string);
      next++;
    }
    if (next === first) {
      throw new KplEncodeError(
        `record ${first} (${entries[first].data.length} bytes) does not fit in an aggregate of at most ${maxRecordBytes} bytes: send it unaggregated or raise the cap`,
      );
    }
    const slice = entries.slice(first, next);
    aggregates.push({
      partitionKey: entries[first].partitionKey,
      data: encodeKplAggregate(slice),
      count: slice.length,
    });
    first = next;
  }
  return aggregates;
}
