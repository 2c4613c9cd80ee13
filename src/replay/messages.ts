/**
 * The two kinds of message in the failure queue: the event source mapping's on-failure record (a shard and
 * a sequence-number range of a batch Lambda dropped) and streamtally's own reject (a record with its raw
 * data, or a pointer to it). Anything else is reported and kept.
 */
import type { RawRecordData } from '../sources/index.js';

/** `KinesisBatchInfo` / `DDBStreamBatchInfo` of Lambda's on-failure invocation record. */
export interface StreamFailureRecordBatchInfo {
  source: 'kinesis' | 'dynamodb';
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize: number;
  streamArn: string;
  condition?: string;
}

/** streamtally's reject message (src/sink/failure-destination.ts), as far as the replay reads it. */
export interface RejectMessage {
  source: 'streamtally';
  reasons: Array<{ reason: string; metric?: string; detail?: string }>;
  shardId?: string;
  sequenceNumber: string;
  eventSourceARN?: string;
  record?: RawRecordData;
  /** A pointer to a record kept outside the queue (`recordObject`: s3://bucket/key, file:// or a local path). */
  pointer?: string;
}

export type ParsedMessage =
  | { kind: 'range'; batch: StreamFailureRecordBatchInfo }
  | { kind: 'reject'; reject: RejectMessage }
  | { kind: 'unknown'; reason: string };

/** Field names a pointer to an oversized reject may use (the failure destination's store is pluggable). */
const POINTER_FIELDS = ['recordObject', 'pointer', 'recordPointer', 'recordLocation', 'recordUrl', 'location'] as const;

export function parseFailureMessage(body: string | undefined): ParsedMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return { kind: 'unknown', reason: 'the body is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'unknown', reason: 'the body is not an object' };
  const m = parsed as Record<string, unknown>;
  const info = (m.KinesisBatchInfo ?? m.DDBStreamBatchInfo) as Record<string, unknown> | undefined;
  if (info && typeof info === 'object') {
    const { shardId, startSequenceNumber, endSequenceNumber, streamArn } = info;
    if (
      typeof shardId !== 'string' ||
      typeof startSequenceNumber !== 'string' ||
      typeof endSequenceNumber !== 'string' ||
      typeof streamArn !== 'string'
    )
      return { kind: 'unknown', reason: 'an on-failure record without shardId, sequence numbers or streamArn' };
    const context = m.requestContext as Record<string, unknown> | undefined;
    return {
      kind: 'range',
      batch: {
        source: m.KinesisBatchInfo ? 'kinesis' : 'dynamodb',
        shardId,
        startSequenceNumber,
        endSequenceNumber,
        batchSize: Number(info.batchSize ?? 0),
        streamArn,
        condition: typeof context?.condition === 'string' ? context.condition : undefined,
      },
    };
  }
  if (m.source === 'streamtally' && typeof m.sequenceNumber === 'string' && Array.isArray(m.reasons)) {
    let pointer: string | undefined;
    for (const field of POINTER_FIELDS)
      if (pointer === undefined && typeof m[field] === 'string') pointer = m[field] as string;
    return { kind: 'reject', reject: { ...(m as unknown as RejectMessage), pointer } };
  }
  return { kind: 'unknown', reason: 'neither an on-failure record nor a streamtally reject' };
}
