/**
 * A batch's contribution to one counter item, and how it merges into the item's current attributes.
 * Merging is done in the writer's read-modify-write, so min, max and sketches stay exact, not only the
 * additive count and sum.
 */
import { FOLDED_STAT } from '../core/reject-log.js';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { CellDelta, StatsDelta } from '../core/aggregator.js';
import { DDSketch } from '../core/sketch/ddsketch.js';
import { HyperLogLog } from '../core/sketch/hyperloglog.js';
import { Attr, counterPk, counterSk, statsPk, windowGroupKey } from './layout.js';

export type Item = Record<string, AttributeValue>;

export interface ItemDelta {
  readonly pk: string;
  readonly sk: string;
  /** Lowest / highest index (in the Lambda event's Records) of the records folded into this delta. */
  readonly firstRecord: number;
  readonly lastRecord: number;
  /** The item's attributes after this delta, given its current attributes (undefined: a new item). */
  merge(current: Item | undefined): Item;
}

function num(item: Item | undefined, name: string): number {
  const v = item?.[name];
  return v && 'N' in v && v.N !== undefined ? Number(v.N) : 0;
}

function optNum(item: Item | undefined, name: string): number | undefined {
  const v = item?.[name];
  return v && 'N' in v && v.N !== undefined ? Number(v.N) : undefined;
}

function bin(item: Item | undefined, name: string): Uint8Array | undefined {
  const v = item?.[name];
  return v && 'B' in v && v.B !== undefined ? v.B : undefined;
}

const N = (n: number): AttributeValue => ({ N: String(n) });
const S = (s: string): AttributeValue => ({ S: s });

export function ttlSecondsFor(windowStartMs: number, windowSizeMs: number, retentionSeconds: number): number {
  return Math.ceil((windowStartMs + windowSizeMs) / 1000) + retentionSeconds;
}

/** The cell's dimension values by name, as the item's `d` map. */
function dimensionsAttr(cell: CellDelta): AttributeValue {
  const dims: Record<string, AttributeValue> = {};
  for (let d = 0; d < cell.metric.dimensionNames.length; d++)
    dims[cell.metric.dimensionNames[d]] = S(cell.dimensionValues[d]);
  return { M: dims };
}

/** The delta of one aggregation cell. */
export function cellItemDelta(cell: CellDelta): ItemDelta {
  if (cell.metric.kind === 'state') return levelItemDelta(cell);
  const { metric, window } = cell;
  const pk = counterPk(metric.name, cell.dimensionValues);
  const sk = counterSk(window.label, cell.windowStartMs);
  return {
    pk,
    sk,
    firstRecord: cell.firstRecord,
    lastRecord: cell.lastRecord,
    merge(current) {
      const item: Item = {
        [Attr.metric]: S(metric.name),
        [Attr.dimensions]: dimensionsAttr(cell),
        [Attr.windowLabel]: S(window.label),
        [Attr.windowStartMs]: N(cell.windowStartMs),
        [Attr.windowSizeMs]: N(window.sizeMs),
        [Attr.count]: N(num(current, Attr.count) + cell.count),
        // Key of the WINDOW_INDEX GSI (the groups of a window); counter items only, so stats items stay
        // out of it. The same value on every write of the item: the index is written once, at creation.
        [Attr.windowGroup]: S(windowGroupKey(metric.name, window.label, cell.windowStartMs)),
        [Attr.ttl]: N(ttlSecondsFor(cell.windowStartMs, window.sizeMs, window.ttlSeconds)),
      };
      if (metric.needsValue) {
        item[Attr.sum] = N(num(current, Attr.sum) + cell.sum);
        const oldMin = optNum(current, Attr.min);
        const oldMax = optNum(current, Attr.max);
        item[Attr.min] = N(oldMin === undefined ? cell.min : Math.min(oldMin, cell.min));
        item[Attr.max] = N(oldMax === undefined ? cell.max : Math.max(oldMax, cell.max));
      }
      if (cell.hll) {
        const stored = bin(current, Attr.hll);
        const merged = stored ? HyperLogLog.deserialize(stored) : new HyperLogLog(cell.hll.precision);
        merged.merge(cell.hll);
        item[Attr.hll] = { B: merged.serialize() };
      }
      if (cell.sketch) {
        const stored = bin(current, Attr.quantiles);
        const merged = stored ? DDSketch.deserialize(stored) : new DDSketch();
        merged.merge(cell.sketch);
        item[Attr.quantiles] = { B: merged.serialize() };
      }
      return item;
    },
  };
}

/** The delta of one reject-statistics bucket. */
export function statsItemDelta(stats: StatsDelta): ItemDelta {
  const pk = statsPk(stats.metricName);
  const sk = counterSk(stats.window.label, stats.windowStartMs);
  return {
    pk,
    sk,
    firstRecord: stats.firstRecord,
    lastRecord: stats.lastRecord,
    merge(current) {
      const item: Item = {
        [Attr.metric]: S(stats.metricName),
        [Attr.windowLabel]: S(stats.window.label),
        [Attr.windowStartMs]: N(stats.windowStartMs),
        [Attr.windowSizeMs]: N(stats.window.sizeMs),
        [Attr.ttl]: N(ttlSecondsFor(stats.windowStartMs, stats.window.sizeMs, stats.window.ttlSeconds)),
      };
      let total = num(current, Attr.count);
      // Keep reasons counted by earlier batches that this batch did not see.
      if (current)
        for (const key of Object.keys(current)) if (key.startsWith(Attr.rejectPrefix)) item[key] = current[key];
      for (const [reason, n] of Object.entries(stats.counts)) {
        const key = Attr.rejectPrefix + reason;
        item[key] = N(num(current, key) + n);
        if (reason !== FOLDED_STAT) total += n;
      }
      item[Attr.count] = N(total);
      return item;
    },
  };
}

/**
 * The delta of one `state` metric group: its level item (sk `level#1970-01-01T00:00:00.000Z`) holds the
 * items currently in the group (`c`) and the sum of their values (`s`), moved by this batch's -1/+1s.
 * Cumulative and without `ttl`: a level is the sum of every change since the stream began, so per-window
 * deltas summed at read time would need every window kept forever, and one item reads in one GetItem.
 * Exact under redelivery like every counter item: the writer's per-shard progress in the item skips an
 * applied batch, and a partly applied one is recomputed from its checkpoint. Counts may go negative
 * (a REMOVE of an item created before the stream's retention), so they are not clamped. `g` puts every
 * group of the metric in one partition of the WINDOW_INDEX GSI, read back by CounterReader#levels.
 */
export function levelItemDelta(cell: CellDelta): ItemDelta {
  const { metric, window } = cell;
  const pk = counterPk(metric.name, cell.dimensionValues);
  const sk = counterSk(window.label, 0);
  return {
    pk,
    sk,
    firstRecord: cell.firstRecord,
    lastRecord: cell.lastRecord,
    merge(current) {
      const item: Item = {
        [Attr.metric]: S(metric.name),
        [Attr.dimensions]: dimensionsAttr(cell),
        [Attr.windowLabel]: S(window.label),
        [Attr.count]: N(num(current, Attr.count) + cell.count),
        [Attr.windowGroup]: S(windowGroupKey(metric.name, window.label, 0)),
      };
      if (metric.needsValue) item[Attr.sum] = N(roundSum(num(current, Attr.sum) + cell.sum));
      return item;
    },
  };
}

/** Sums of decimal amounts drift by 1e-13 after thousands of +x/-x moves: keep 9 significant decimals. */
function roundSum(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
