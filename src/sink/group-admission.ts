/**
 * The group cap (`maxGroupsPerWindow`) decided the same way on every delivery of a record.
 *
 * A cap decided from one batch's group counts is not stable: a bisected or checkpointed re-delivery sees
 * other groups, so a record can go to `__other__` once and to its own group the next time, and since the two
 * items keep their own per-shard progress both would count it. Here the decision is persisted the first
 * time it is made, before any counter write that depends on it:
 *
 * - Admission items, one per (metric, window, window start, bucket): pk `__groups__#<metric>#<bucket>`, sk as
 *   the counter items'. Each lists the ids of its admitted groups (`gm`, a string set) and their number (`n`).
 *   A group's bucket is a hash of its counter key, so one group always meets the same item.
 * - A group listed in its item is counted in its own counter item. A group not listed is admitted (listed,
 *   with a conditional update) while the item has room, else folded into `__other__`. Items only grow, and
 *   a full one never admits again, so "folded" and "admitted" never change once decided: exact totals over
 *   all groups under any re-delivery, and no group ever has events in both its item and `__other__`.
 * - Buckets keep each item small (at most {@link GROUPS_PER_ADMISSION_ITEM} ids, about 1 KB: one write unit
 *   per admission, half a read unit per check). The cap is enforced per bucket (maxGroupsPerWindow / buckets
 *   each), so folding can start a little before the window has maxGroupsPerWindow groups, never after.
 *
 * Cost: one consistent BatchGetItem per batch over the buckets its capped groups touch, and one write per
 * bucket that admits new groups (per window start, typically the first batch of a window).
 */
import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { FOLDED_STAT, OTHER_VALUE, type CellDelta, type StatsDelta } from '../core/aggregator.js';
import { DDSketch } from '../core/sketch/ddsketch.js';
import { HyperLogLog } from '../core/sketch/hyperloglog.js';
import { ContentionError, CounterWriteError, DeadlineError } from './errors.js';
import { Attr, counterPk, counterSk } from './layout.js';
import { deltaKey, readItemConsistently, readItemsConsistently } from './item-reads.js';
import { withRetry } from './retry.js';
import { ttlSecondsFor } from './item-delta.js';

export const ADMISSION_PK_PREFIX = '__groups__#';
/** Group ids per admission item: 64 ids of 12 characters keep an item near 1 KB (one write unit). */
export const GROUPS_PER_ADMISSION_ITEM = 64;
const MAX_CONFLICT_RETRIES = 25;
const MEMBERS = 'gm';

/** Buckets of a metric's cap, and the groups each may admit (so that buckets x per-bucket <= the cap). */
export function admissionBuckets(maxGroupsPerWindow: number): { buckets: number; perBucket: number } {
  const buckets = Math.max(1, Math.ceil(maxGroupsPerWindow / GROUPS_PER_ADMISSION_ITEM));
  return { buckets, perBucket: Math.max(1, Math.floor(maxGroupsPerWindow / buckets)) };
}

/** A group's id in its admission item: 72 bits of SHA-256 of its counter key, base64url (12 characters). */
function groupId(pk: string): { id: string; bucket32: number } {
  const digest = createHash('sha256').update(pk).digest();
  return { id: digest.subarray(0, 9).toString('base64url'), bucket32: digest.readUInt32BE(12) };
}

interface Pending {
  pk: string;
  sk: string;
  perBucket: number;
  ttl: number;
  /** Ids of the batch's groups in this item, in first-seen order, with their cells' keys. */
  groups: Map<string, string[]>;
}

/** Which cells of a batch fold into `__other__`: the keys (`pk\u0000sk` of their own counter items). */
export type FoldDecision = ReadonlySet<string>;

export class GroupAdmission {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /**
   * Decides, and persists, admission for every cell of a capped metric. Throws (an infrastructure fault)
   * when the table cannot be read or written within the deadline: then nothing of the batch is written.
   */
  async decide(cells: ReadonlyArray<CellDelta>, deadlineMs: number): Promise<FoldDecision> {
    const folded = new Set<string>();
    const items = new Map<string, Pending>();
    for (const cell of cells) {
      const metric = cell.metric;
      if (!metric.capsGroups || metric.dimensionNames.length === 0) continue;
      if (cell.dimensionValues.every((v) => v === OTHER_VALUE)) continue; // __other__ itself is never capped
      const pk = counterPk(metric.name, cell.dimensionValues);
      const sk = counterSk(cell.window.label, cell.windowStartMs);
      const { buckets, perBucket } = admissionBuckets(metric.maxGroupsPerWindow);
      const { id, bucket32 } = groupId(pk);
      const itemPk = `${ADMISSION_PK_PREFIX}${metric.name}#${bucket32 % buckets}`;
      const key = deltaKey(itemPk, sk);
      let pending = items.get(key);
      if (!pending) {
        pending = {
          pk: itemPk,
          sk,
          perBucket,
          ttl: ttlSecondsFor(cell.windowStartMs, cell.window.sizeMs, cell.window.ttlSeconds),
          groups: new Map(),
        };
        items.set(key, pending);
      }
      const list = pending.groups.get(id);
      if (list) list.push(deltaKey(pk, sk));
      else pending.groups.set(id, [deltaKey(pk, sk)]);
    }
    if (items.size === 0) return folded;
    const current = await readItemsConsistently(this.client, this.tableName, [...items.values()], {
      deadlineMs,
      what: 'admission items',
    });
    await Promise.all(
      [...items.entries()].map(([key, pending]) => this.settle(pending, current.get(key), deadlineMs, folded)),
    );
    return folded;
  }

  /** Admits what fits into one item (persisted first), folds the rest. */
  private async settle(
    pending: Pending,
    initial: Record<string, AttributeValue> | undefined,
    deadlineMs: number,
    folded: Set<string>,
  ): Promise<void> {
    let item = initial;
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      const members = new Set(item?.[MEMBERS]?.SS ?? []);
      const n = Number(item?.n?.N ?? 0);
      const admit: string[] = [];
      const fold: string[] = [];
      for (const id of pending.groups.keys()) {
        if (members.has(id)) continue;
        if (n + admit.length < pending.perBucket) admit.push(id);
        else fold.push(id);
      }
      if (admit.length > 0) {
        if (Date.now() >= deadlineMs)
          throw new DeadlineError(`the deadline passed before groups could be admitted in ${pending.pk}`);
        try {
          await withRetry(
            () =>
              this.client.send(
                new UpdateItemCommand({
                  TableName: this.tableName,
                  Key: { [Attr.pk]: { S: pending.pk }, [Attr.sk]: { S: pending.sk } },
                  UpdateExpression: 'ADD #gm :ids SET #n = :n1, #ttl = :ttl',
                  ConditionExpression: item === undefined ? 'attribute_not_exists(#pk)' : '#n = :n0',
                  ExpressionAttributeNames: {
                    '#gm': MEMBERS,
                    '#n': 'n',
                    '#ttl': Attr.ttl,
                    ...(item === undefined ? { '#pk': Attr.pk } : {}),
                  },
                  ExpressionAttributeValues: {
                    ':ids': { SS: admit },
                    ':n1': { N: String(n + admit.length) },
                    ':ttl': { N: String(pending.ttl) },
                    ...(item === undefined ? {} : { ':n0': { N: String(n) } }),
                  },
                }),
              ),
            { deadlineMs },
          );
        } catch (err) {
          if (
            !(err instanceof ConditionalCheckFailedException) &&
            (err as Error).name !== 'ConditionalCheckFailedException'
          )
            throw new CounterWriteError(
              `Admitting groups in ${pending.pk} / ${pending.sk} of table ${this.tableName} failed: ${(err as Error).message}`,
              { cause: err },
            );
          // Another shard admitted groups meanwhile, or our own update's response was lost: decide again.
          item = await withRetry(() => readItemConsistently(this.client, this.tableName, pending.pk, pending.sk), {
            deadlineMs,
          });
          continue;
        }
      }
      for (const id of fold) for (const key of pending.groups.get(id) ?? []) folded.add(key);
      return;
    }
    throw new ContentionError(
      `Admission item ${pending.pk} / ${pending.sk} in table ${this.tableName} changed under ${MAX_CONFLICT_RETRIES} consecutive updates.`,
    );
  }
}

/**
 * The cells with every folded one merged into its window's `__other__` cell (created when the batch has
 * none): count, sum, min, max and sketches merge exactly, and the record range spans both.
 */
export function foldCells(cells: ReadonlyArray<CellDelta>, folded: FoldDecision): CellDelta[] {
  if (folded.size === 0) return cells as CellDelta[];
  const out: CellDelta[] = [];
  const others = new Map<string, CellDelta>();
  const otherKey = (c: CellDelta): string => `${c.metric.index}\u0000${c.window.label}\u0000${c.windowStartMs}`;
  const isOther = (c: CellDelta): boolean =>
    c.dimensionValues.length > 0 && c.dimensionValues.every((v) => v === OTHER_VALUE);
  // A batch's own __other__ cell (a group folded earlier in this window) takes the folded cells; its pooled
  // sketches are merged into in place, which is safe: the cell itself is replaced by the merged one.
  for (const cell of cells) if (isOther(cell)) others.set(otherKey(cell), { ...cell });
  for (const cell of cells) {
    if (isOther(cell)) continue;
    const key = deltaKey(
      counterPk(cell.metric.name, cell.dimensionValues),
      counterSk(cell.window.label, cell.windowStartMs),
    );
    if (!folded.has(key)) {
      out.push(cell);
      continue;
    }
    const k = otherKey(cell);
    let other = others.get(k);
    if (!other) {
      other = {
        ...cell,
        dimensionValues: cell.dimensionValues.map(() => OTHER_VALUE),
        count: 0,
        sum: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
        hll: cell.hll ? new HyperLogLog(cell.hll.precision) : null,
        sketch: cell.sketch ? new DDSketch() : null,
      };
      others.set(k, other);
    }
    other.count += cell.count;
    other.sum += cell.sum;
    if (cell.min < other.min) other.min = cell.min;
    if (cell.max > other.max) other.max = cell.max;
    if (cell.hll) {
      if (!other.hll) other.hll = new HyperLogLog(cell.hll.precision);
      other.hll.merge(cell.hll);
    }
    if (cell.sketch) {
      if (!other.sketch) other.sketch = new DDSketch();
      other.sketch.merge(cell.sketch);
    }
    if (cell.firstRecord < other.firstRecord) other.firstRecord = cell.firstRecord;
    if (cell.lastRecord > other.lastRecord) other.lastRecord = cell.lastRecord;
  }
  for (const other of others.values()) out.push(other);
  return out;
}

/**
 * The reject statistics with the folded events counted (`folded`, per metric, in the bucket of the folded
 * cell's finest window), merged into the batch's own bucket deltas so each stats item still gets one write.
 * Folds are the same on every delivery, so these counts are as exact as the counters.
 */
export function withFoldedStats(
  stats: ReadonlyArray<StatsDelta>,
  cells: ReadonlyArray<CellDelta>,
  folded: FoldDecision,
): StatsDelta[] {
  if (folded.size === 0) return stats as StatsDelta[];
  const out = stats.map((s) => ({ ...s, counts: { ...s.counts } }));
  const byKey = new Map(out.map((s) => [`${s.metricName}\u0000${s.windowStartMs}`, s]));
  for (const cell of cells) {
    if (cell.window !== cell.metric.windows[0]) continue; // each event once: its finest window
    const key = deltaKey(
      counterPk(cell.metric.name, cell.dimensionValues),
      counterSk(cell.window.label, cell.windowStartMs),
    );
    if (!folded.has(key)) continue;
    const bucket = `${cell.metric.name}\u0000${cell.windowStartMs}`;
    let s = byKey.get(bucket);
    if (!s) {
      s = {
        metricName: cell.metric.name,
        window: cell.window,
        windowStartMs: cell.windowStartMs,
        counts: {},
        firstRecord: cell.firstRecord,
        lastRecord: cell.lastRecord,
      };
      byKey.set(bucket, s);
      out.push(s);
    }
    s.counts[FOLDED_STAT] = (s.counts[FOLDED_STAT] ?? 0) + cell.count;
    if (cell.firstRecord < s.firstRecord) s.firstRecord = cell.firstRecord;
    if (cell.lastRecord > s.lastRecord) s.lastRecord = cell.lastRecord;
  }
  return out;
}
