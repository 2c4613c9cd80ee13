/**
 * Shared pieces of DynamoDB change records, as they arrive from DynamoDB Streams and from Kinesis Data
 * Streams for DynamoDB.
 */
import type { AttributeMap, DynamoDbEventName } from '../core/types.js';

/** The change type, or undefined when `value` is not one DynamoDB emits. */
export function toDynamoDbEventName(value: unknown): DynamoDbEventName | undefined {
  return value === 'INSERT' || value === 'MODIFY' || value === 'REMOVE' ? value : undefined;
}

/** An image as the sink takes it: a plain object, or undefined when absent or not an object. */
export function toImage(value: unknown): AttributeMap | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AttributeMap) : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
