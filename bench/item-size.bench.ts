/**
 * Counter item sizes by DynamoDB's rules (src/sink/item-size.ts), for the items the demo config writes:
 * a count-only item, a count/sum/max item, a quantile item (DDSketch) and a distinct-count item
 * (HyperLogLog), at growing numbers of values per cell, with the per-shard progress of 1 and 4 shards.
 * Target (issue 15): a sketch item at about 500 distinct values and 600 values stays within 3 write units.
 */
import type { CellDelta } from '../src/core/aggregator.js';
import { DDSketch } from '../src/core/sketch/ddsketch.js';
import { HyperLogLog } from '../src/core/sketch/hyperloglog.js';
import { cellItemDelta, type Item } from '../src/sink/item-delta.js';
import { itemSizeBytes, writeUnits } from '../src/sink/item-size.js';
import { Attr, padSequence } from '../src/sink/layout.js';
import { createRng, generateClickEvent } from '../src/samples/sample-events.js';
import { demoConfig } from './cost.bench.js';

export const ITEM_SIZE_TARGET_WRU = 3;
const VALUES_PER_CELL = [1, 60, 600, 6_000] as const;

export interface ItemSizeRow {
  metric: string;
  window: string;
  values: number;
  distinct: number;
  shards: number;
  bytes: number;
  writeUnits: number;
  sketchBytes: number;
}

function itemFor(cell: CellDelta, shards: number): Item {
  const item = cellItemDelta(cell).merge(undefined);
  item[Attr.pk] = { S: cellItemDelta(cell).pk };
  item[Attr.sk] = { S: cellItemDelta(cell).sk };
  item[Attr.version] = { N: '123456' };
  for (let s = 0; s < shards; s++)
    item[`${Attr.progressPrefix}shardId-${String(s).padStart(12, '0')}`] = {
      S: padSequence('49' + '5'.repeat(54)),
    };
  return item;
}

export function runItemSizeBenchmark(): ItemSizeRow[] {
  const config = demoConfig();
  const rows: ItemSizeRow[] = [];
  for (const metric of config.metrics) {
    const window = metric.windows[metric.windows.length - 1];
    for (const values of VALUES_PER_CELL) {
      const rng = createRng(values);
      const hll = metric.hasDistinct ? new HyperLogLog() : null;
      const sketch = metric.hasQuantiles ? new DDSketch() : null;
      let sum = 0;
      let max = Number.NEGATIVE_INFINITY;
      let min = Number.POSITIVE_INFINITY;
      const users = new Set<string>();
      for (let i = 0; i < values; i++) {
        const e = generateClickEvent(rng, Date.UTC(2026, 2, 2, 10));
        // ~500 distinct users among 600 values, as in the target: ids drawn from 5/6 as many users.
        const id = `u-${Math.floor(rng() * Math.max(1, (values * 5) / 3))}`;
        users.add(id);
        const bytes = new TextEncoder().encode(id);
        hll?.addBytes(bytes, 0, bytes.length);
        sketch?.add(e.latencyMs);
        sum += e.latencyMs;
        if (e.latencyMs > max) max = e.latencyMs;
        if (e.latencyMs < min) min = e.latencyMs;
      }
      const cell: CellDelta = {
        metric,
        window,
        windowStartMs: Date.UTC(2026, 2, 2, 10),
        dimensionValues: metric.dimensionNames.map((d) => (d === 'page' ? '/docs/getting-started' : 'enterprise')),
        count: values,
        sum,
        min,
        max,
        hll,
        sketch,
        firstRecord: 0,
        lastRecord: values - 1,
      };
      for (const shards of [1, 4]) {
        const item = itemFor(cell, shards);
        const bytes = itemSizeBytes(item);
        rows.push({
          metric: metric.name,
          window: window.label,
          values,
          distinct: metric.hasDistinct ? users.size : 0,
          shards,
          bytes,
          writeUnits: writeUnits(bytes),
          sketchBytes: (item[Attr.hll]?.B?.byteLength ?? 0) + (item[Attr.quantiles]?.B?.byteLength ?? 0),
        });
      }
    }
  }
  return rows;
}

export function formatItemSizeTable(rows: ReadonlyArray<ItemSizeRow>): string {
  const head = ['metric', 'window', 'values', 'distinct', 'shards', 'item bytes', 'sketch bytes', 'WRU'];
  const cells = rows.map((r) => [
    r.metric,
    r.window,
    String(r.values),
    String(r.distinct),
    String(r.shards),
    String(r.bytes),
    String(r.sketchBytes),
    String(r.writeUnits),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
    '',
    `Target: a sketch item at about 500 distinct values and 600 values within ${ITEM_SIZE_TARGET_WRU} WRU. Progress attributes (p:<shard>, 64-digit positions) are 86 B per shard.`,
  ].join('\n');
}

export function itemSizeJsonLines(rows: ReadonlyArray<ItemSizeRow>): string[] {
  return rows.map((r) => JSON.stringify({ section: 'item-size', ...r }));
}
