/**
 * Exact, idempotent, coalesced writes of counter deltas to DynamoDB.
 *
 * Each counter item gets at most one write per batch: a read-modify-write guarded by the item's version
 * (optimistic concurrency between shards) and by the highest position already applied from this lane
 * (the shard). A delta whose records the item already holds is skipped; one that overlaps partly is
 * recomputed from the records after the item's progress. So re-applying a batch, either half of it, or
 * any suffix of it changes nothing that was already applied, and min, max and sketches stay exact too.
 */
import { ConditionalCheckFailedException, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ContentionError, CounterWriteError, DeadlineError } from './errors.js';
import type { Item, ItemDelta } from './item-delta.js';
import { Attr } from './layout.js';
import { deltaKey, MAX_BATCH_GET_KEYS, readItemConsistently, readItemsConsistently } from './item-reads.js';
import { forEachLimited, withRetry } from './retry.js';

export const DEFAULT_WRITE_CONCURRENCY = 16;
/** Version conflicts (another shard wrote the item meanwhile) retried per item before giving up. */
export const MAX_CONFLICT_RETRIES = 25;

export interface WriteInput {
  deltas: ReadonlyArray<ItemDelta>;
  /** The shard the batch came from; undefined when unknown (then writes are at-least-once). */
  lane: string | undefined;
  /** Zero-padded position (sequence number) of a record index of the batch; increasing with the index. */
  positionOf: (recordIndex: number) => string;
  recordCount: number;
  /** The deltas of the records from `fromRecord` on, keyed `pk\u0000sk`: for partly applied items. */
  recompute: (fromRecord: number) => ReadonlyMap<string, ItemDelta>;
  /** Epoch ms after which no write (first attempt or retry) starts. */
  deadlineMs: number;
  /** Set to 1 at a delta's index once its effect is durable (written, or found already applied). */
  durable?: Uint8Array;
}

export interface WriteResult {
  written: number;
  alreadyApplied: number;
  partlyApplied: number;
  conflicts: number;
  retries: number;
  failed: number;
  /** Lowest record index whose effect is not durable, or -1. */
  firstFailedRecord: number;
  errors: Error[];
  /**
   * Per delta (same index as `deltas`): the highest position of this lane the item is known to hold after
   * the write, '' when it holds none, undefined when unknown (its read failed). The failure ledger keeps it.
   */
  durableThrough: Array<string | undefined>;
}

/** A result with nothing written yet, and `deltaCount` items not known durable (yet). */
export function emptyWriteResult(deltaCount = 0): WriteResult {
  return {
    written: 0,
    alreadyApplied: 0,
    partlyApplied: 0,
    conflicts: 0,
    retries: 0,
    failed: 0,
    firstFailedRecord: -1,
    errors: [],
    durableThrough: new Array<string | undefined>(deltaCount),
  };
}

export { deltaKey, MAX_BATCH_GET_KEYS };

export class CounterWriter {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly concurrency: number;

  constructor(options: { client: DynamoDBClient; tableName: string; concurrency?: number }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.concurrency = options.concurrency ?? DEFAULT_WRITE_CONCURRENCY;
  }

  async write(input: WriteInput): Promise<WriteResult> {
    const result = emptyWriteResult(input.deltas.length);
    if (input.deltas.length === 0) return result;
    const onRetry = (): void => {
      result.retries++;
    };
    let current: Map<string, Item>;
    try {
      current = await readItemsConsistently(this.client, this.tableName, input.deltas, {
        deadlineMs: input.deadlineMs,
        what: 'counter items',
        onRetry,
        unprocessedAtDeadline: (count) =>
          new CounterWriteError(`BatchGetItem on ${this.tableName} left ${count} keys unprocessed until the deadline`),
      });
    } catch (err) {
      // Nothing written yet: the whole batch is not durable.
      let first = Number.MAX_SAFE_INTEGER;
      for (const d of input.deltas) first = Math.min(first, d.firstRecord);
      result.failed = input.deltas.length;
      result.firstFailedRecord = first;
      result.errors.push(
        new CounterWriteError(
          `Reading ${input.deltas.length} counter items from table ${this.tableName} failed: ${(err as Error).message}`,
          { cause: err },
        ),
      );
      return result;
    }
    let recomputed: { from: number; deltas: ReadonlyMap<string, ItemDelta> } | undefined;
    const recompute = (from: number): ReadonlyMap<string, ItemDelta> => {
      if (!recomputed || recomputed.from !== from) recomputed = { from, deltas: input.recompute(from) };
      return recomputed.deltas;
    };
    await forEachLimited(input.deltas, this.concurrency, async (delta, index) => {
      try {
        // The deadline stops new first attempts too, not only retries: past it, Lambda re-delivers.
        if (Date.now() >= input.deadlineMs)
          throw new DeadlineError(`the deadline passed before counter item ${delta.pk} / ${delta.sk} was written`);
        await this.writeOne(delta, index, current.get(deltaKey(delta.pk, delta.sk)), input, recompute, result, onRetry);
        if (input.durable) input.durable[index] = 1;
      } catch (err) {
        result.failed++;
        if (result.firstFailedRecord < 0 || delta.firstRecord < result.firstFailedRecord)
          result.firstFailedRecord = delta.firstRecord;
        result.errors.push(
          err instanceof ContentionError || err instanceof DeadlineError
            ? err
            : new CounterWriteError(
                `Writing counter item ${delta.pk} / ${delta.sk} to table ${this.tableName} failed: ${(err as Error).message}`,
                { cause: err },
              ),
        );
      }
    });
    return result;
  }

  private async writeOne(
    planned: ItemDelta,
    index: number,
    initial: Item | undefined,
    input: WriteInput,
    recompute: (from: number) => ReadonlyMap<string, ItemDelta>,
    result: WriteResult,
    onRetry: () => void,
  ): Promise<void> {
    const progressAttr = input.lane === undefined ? undefined : Attr.progressPrefix + input.lane;
    let current = initial;
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      let delta: ItemDelta | undefined = planned;
      const progress = progressAttr && current?.[progressAttr]?.S;
      result.durableThrough[index] = progress ?? '';
      if (progress !== undefined) {
        if (progress >= input.positionOf(planned.lastRecord)) {
          result.alreadyApplied++;
          return;
        }
        if (progress >= input.positionOf(planned.firstRecord)) {
          // Part of this item's records were applied by an earlier delivery with other batch bounds.
          const from = firstRecordAfter(input.positionOf, input.recordCount, progress);
          delta = recompute(from).get(deltaKey(planned.pk, planned.sk));
          result.partlyApplied++;
          if (!delta) return;
        }
      }
      const item = delta.merge(current);
      item[Attr.pk] = { S: delta.pk };
      item[Attr.sk] = { S: delta.sk };
      const version = current?.[Attr.version]?.N;
      item[Attr.version] = { N: String(version === undefined ? 1 : Number(version) + 1) };
      if (current)
        for (const key of Object.keys(current)) if (key.startsWith(Attr.progressPrefix)) item[key] = current[key];
      if (progressAttr) item[progressAttr] = { S: input.positionOf(delta.lastRecord) };
      // A write whose response is lost may have landed: unknown until it succeeds or a read says. A write
      // every attempt of which DynamoDB refused with a 4xx did not land: the item holds what it held.
      const heldBefore = result.durableThrough[index];
      let maybeLanded = false;
      result.durableThrough[index] = undefined;
      try {
        await withRetry(
          () =>
            this.client.send(
              new PutItemCommand({
                TableName: this.tableName,
                Item: item,
                ConditionExpression: version === undefined ? 'attribute_not_exists(#pk)' : '#v = :v',
                ExpressionAttributeNames: version === undefined ? { '#pk': Attr.pk } : { '#v': Attr.version },
                ExpressionAttributeValues: version === undefined ? undefined : { ':v': { N: version } },
              }),
            ),
          {
            deadlineMs: input.deadlineMs,
            onRetry: (err) => {
              if (!refusedByServer(err)) maybeLanded = true;
              onRetry();
            },
          },
        );
        result.written++;
        if (progressAttr) result.durableThrough[index] = item[progressAttr].S;
        return;
      } catch (err) {
        if (
          !(err instanceof ConditionalCheckFailedException) &&
          (err as Error).name !== 'ConditionalCheckFailedException'
        ) {
          if (!maybeLanded && refusedByServer(err)) result.durableThrough[index] = heldBefore;
          throw err;
        }
        // Another writer (another shard, or our own write whose response was lost) got there first.
        result.conflicts++;
        current = await withRetry(() => readItemConsistently(this.client, this.tableName, delta.pk, delta.sk), {
          deadlineMs: input.deadlineMs,
          onRetry,
        });
      }
    }
    throw new ContentionError(
      `Counter item ${planned.pk} / ${planned.sk} in table ${this.tableName} changed under ${MAX_CONFLICT_RETRIES} consecutive writes; it is hotter than one item can take: add a dimension or a coarser window.`,
    );
  }
}

/** DynamoDB answered with a 4xx: the request was refused, not applied (a 5xx or no answer may have been). */
function refusedByServer(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Index of the first record whose position is greater than `progress` (positions are increasing). */
export function firstRecordAfter(
  positionOf: (recordIndex: number) => string,
  recordCount: number,
  progress: string,
): number {
  let lo = 0;
  let hi = recordCount;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (positionOf(mid) <= progress) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
