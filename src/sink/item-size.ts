/**
 * An item's size and write cost by DynamoDB's rules (Developer Guide, "Item sizes and formats" and
 * "Read/write capacity mode"): the sum over attributes of the attribute name's UTF-8 length plus the
 * value's size; one write request unit per started 1 KB of the item (the larger of the old and new item
 * for PutItem / UpdateItem), one strongly consistent read unit per started 4 KB.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { WINDOW_INDEX, windowIndexEntry } from './layout.js';

/** 1 KB per write request unit (DynamoDB). */
export const WRITE_UNIT_BYTES = 1024;
/** 4 KB per strongly consistent read request unit (DynamoDB). */
export const READ_UNIT_BYTES = 4096;
/** Overhead of a map or list value: 3 bytes, plus 1 byte per element (DynamoDB). */
const CONTAINER_BYTES = 3;

const encoder = new TextEncoder();

function utf8Length(text: string): number {
  // ASCII fast path: most names and values are ASCII.
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  return text.length;
}

/** A number's size: 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1. */
export function numberSize(text: string): number {
  let digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '');
  digits = digits.replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

export function attributeValueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Length(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) {
    let size = CONTAINER_BYTES;
    for (const [k, v] of Object.entries(value.M)) size += utf8Length(k) + attributeValueSize(v) + 1;
    return size;
  }
  if (value.L !== undefined) {
    let size = CONTAINER_BYTES;
    for (const v of value.L) size += attributeValueSize(v) + 1;
    return size;
  }
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + utf8Length(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + numberSize(s), 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.byteLength, 0);
  return 0;
}

/** Size in bytes of an item as DynamoDB counts it: attribute names plus values. */
export function itemSizeBytes(item: Readonly<Record<string, AttributeValue>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8Length(name) + attributeValueSize(value);
  return size;
}

/** Write request units of a write whose larger side (old or new item) is `sizeBytes`; at least 1. */
export function writeUnits(sizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / WRITE_UNIT_BYTES));
}

/** Strongly consistent read request units of reading an item of `sizeBytes`; at least 1. */
export function readUnits(sizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / READ_UNIT_BYTES));
}

type Entry = Readonly<Record<string, AttributeValue>>;

/**
 * Write request units a table write spends in {@link WINDOW_INDEX} (Developer Guide, "Global secondary
 * indexes", write capacity): nothing when the item's index entry (its keys and projected attributes,
 * layout.ts windowIndexEntry) is the same before and after; a put when the write gives the item an entry,
 * a delete when it takes it away, an update in place when only projected attributes change, and a delete
 * plus a put when the index key changes. Each at one unit per started 1 KB of the entry.
 */
export function indexWriteUnits(before: Entry | undefined, after: Entry | undefined): number {
  const old = before && windowIndexEntry(before);
  const next = after && windowIndexEntry(after);
  if (!old && !next) return 0;
  if (!old) return writeUnits(itemSizeBytes(next as Entry));
  if (!next) return writeUnits(itemSizeBytes(old));
  if (JSON.stringify(old[WINDOW_INDEX.partitionKey]) !== JSON.stringify(next[WINDOW_INDEX.partitionKey]))
    return writeUnits(itemSizeBytes(old)) + writeUnits(itemSizeBytes(next));
  return sameAttributes(old, next) ? 0 : writeUnits(Math.max(itemSizeBytes(old), itemSizeBytes(next)));
}

function sameAttributes(a: Entry, b: Entry): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) if (JSON.stringify(a[name]) !== JSON.stringify(b[name])) return false;
  return true;
}
