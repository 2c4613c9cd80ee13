/**
 * Read cost of a dashboard refresh, from the items the cost benchmark's simulated table ends with (the
 * writer's own items, progress attributes included), by DynamoDB's read rules: a Query reads 0.5 RRU
 * (eventually consistent) per started 4 KB of the index entries it returns, per 1 MB page; BatchGetItem
 * reads 0.5 RRU per item per started 4 KB of the whole item (a projection does not make it cheaper).
 *
 * What depends on the window index is the dashboard's top and totals panels (src/dashboard/app.js): per
 * refresh (every 5 s) one /api/window read (CounterReader.windowView: Top and the roll-up from the same
 * items) of the current and one of the last complete window of the selected window size (the finest by
 * default), and every 30 s two top() of the coarsest window for the group list.
 * The series, rolling and stats reads (one Query of one group each) do not touch the index and are not
 * counted here. "Before" models the byWindow index this replaced (INCLUDE d, s, sorted by count): top()
 * read its `limit` entries, the tie and a Select COUNT Query of the partition; rollup() read the partition
 * and, for metrics with min, max, distinct or quantiles, the items with BatchGetItem.
 */
import type { CompiledConfig, CompiledMetric } from '../src/core/metric-config.js';
import type { Item } from '../src/sink/item-delta.js';
import { READ_UNIT_BYTES, itemSizeBytes } from '../src/sink/item-size.js';
import { Attr, windowGroupKey, windowIndexEntry } from '../src/sink/layout.js';

/** DynamoDB's page limit for Query (1 MB of items read before any filter). */
const QUERY_PAGE_BYTES = 1024 * 1024;
const BATCH_GET_KEYS = 100;
/** An eventually consistent read costs half a strongly consistent one. */
const EVENTUAL = 0.5;
/** The dashboard's refresh period and the group list's (src/dashboard/app.js REFRESH_MS, GROUPS_REFRESH_MS). */
export const REFRESH_SECONDS = 5;
const GROUPS_REFRESH_SECONDS = 30;
const TOP_LIMIT = 10;

export interface WindowRead {
  groups: number;
  queries: number;
  batchGets: number;
  rru: number;
}

export interface DashboardReadRow {
  rate: number;
  shards: number;
  metric: string;
  /** The selected (finest) window and the coarsest one, with their group counts in the simulated table. */
  window: string;
  groups: number;
  coarsest: string;
  coarsestGroups: number;
  /** Index-dependent reads of one refresh (the coarsest window's group list amortised over its 30 s). */
  queries: number;
  batchGets: number;
  rru: number;
  /** The same with the byWindow index this replaced (modelled, see the file comment). */
  rruBefore: number;
  usdPerRefresh: number;
}

function queryRru(entryBytes: number): { pages: number; rru: number } {
  const pages = Math.max(1, Math.ceil(entryBytes / QUERY_PAGE_BYTES));
  return { pages, rru: EVENTUAL * Math.max(1, Math.ceil(entryBytes / READ_UNIT_BYTES)) };
}

function itemsRru(items: ReadonlyArray<Item>): number {
  let rru = 0;
  for (const item of items) rru += EVENTUAL * Math.max(1, Math.ceil(itemSizeBytes(item) / READ_UNIT_BYTES));
  return rru;
}

/** CounterReader's read of one window now: the keys from byWindowKeys, the items by BatchGetItem. */
export function windowRead(items: ReadonlyArray<Item>): WindowRead {
  let keyBytes = 0;
  for (const item of items) keyBytes += itemSizeBytes(windowIndexEntry(item) ?? {});
  const q = queryRru(keyBytes);
  return {
    groups: items.length,
    queries: q.pages,
    batchGets: Math.ceil(items.length / BATCH_GET_KEYS),
    rru: q.rru + itemsRru(items),
  };
}

/** The legacy index entry: keys, g, c and the projected d and s. */
function legacyEntryBytes(item: Item): number {
  const entry: Item = {};
  for (const name of [Attr.pk, Attr.sk, Attr.windowGroup, Attr.count, Attr.dimensions, Attr.sum])
    if (item[name]) entry[name] = item[name];
  return itemSizeBytes(entry);
}

function legacyReads(items: ReadonlyArray<Item>, metric: CompiledMetric): { top: number; rollup: number } {
  const entries = items.map(legacyEntryBytes).sort((a, b) => a - b);
  const all = entries.reduce((n, b) => n + b, 0);
  const firstLimit = entries.slice(0, TOP_LIMIT).reduce((n, b) => n + b, 0);
  // Limit page, then (more groups than the limit) the tie Query and the Select COUNT over the partition.
  const top = queryRru(firstLimit).rru + (items.length > TOP_LIMIT ? EVENTUAL + queryRru(all).rru : 0);
  const needsItems = metric.aggregates.some((a) => ['min', 'max', 'distinct', 'p50', 'p90', 'p95', 'p99'].includes(a));
  const rollup = queryRru(all).rru + (needsItems ? itemsRru(items) : 0);
  return { top, rollup };
}

/** The dashboard's index-dependent reads per refresh, per metric, for the table a cost run ended with. */
export function dashboardReadRows(
  rate: number,
  shards: number,
  table: ReadonlyMap<string, Item>,
  config: CompiledConfig,
  endMs: number,
  usdPerMillionRru: number,
): DashboardReadRow[] {
  const byGroup = new Map<string, Item[]>();
  for (const item of table.values()) {
    const g = item[Attr.windowGroup]?.S;
    if (g === undefined) continue;
    const list = byGroup.get(g) ?? [];
    list.push(item);
    byGroup.set(g, list);
  }
  const rows: DashboardReadRow[] = [];
  for (const metric of config.metrics) {
    if (metric.windows.length === 0) continue;
    const fine = metric.windows[0];
    const coarse = metric.windows[metric.windows.length - 1];
    const windowOf = (sizeMs: number, back: number): number => Math.floor(endMs / sizeMs) * sizeMs - back * sizeMs;
    // The last two complete windows stand for "previous" and "current" (a full one: the upper bound).
    const current = byGroup.get(windowGroupKey(metric.name, fine.label, windowOf(fine.sizeMs, 1))) ?? [];
    const previous = byGroup.get(windowGroupKey(metric.name, fine.label, windowOf(fine.sizeMs, 2))) ?? [];
    const coarseStart = Math.floor((endMs - 1) / coarse.sizeMs) * coarse.sizeMs;
    const coarsest = byGroup.get(windowGroupKey(metric.name, coarse.label, coarseStart)) ?? [];
    const coarsestPrevious = byGroup.get(windowGroupKey(metric.name, coarse.label, coarseStart - coarse.sizeMs)) ?? [];
    const amortised = REFRESH_SECONDS / GROUPS_REFRESH_SECONDS;
    const now = [current, previous].map(windowRead);
    const list = [coarsest, coarsestPrevious].map(windowRead);
    // One windowView() per window gives Top and Totals (before it, top() and rollup() read it twice).
    const rru = now.reduce((n, r) => n + r.rru, 0) + amortised * list.reduce((n, r) => n + r.rru, 0);
    const before = [current, previous].map((items) => legacyReads(items, metric));
    const beforeList = [coarsest, coarsestPrevious].map((items) => legacyReads(items, metric).top);
    rows.push({
      rate,
      shards,
      metric: metric.name,
      window: fine.label,
      groups: current.length,
      coarsest: coarse.label,
      coarsestGroups: coarsest.length,
      queries: now.reduce((n, r) => n + r.queries, 0) + amortised * list.reduce((n, r) => n + r.queries, 0),
      batchGets: now.reduce((n, r) => n + r.batchGets, 0) + amortised * list.reduce((n, r) => n + r.batchGets, 0),
      rru,
      rruBefore: before.reduce((n, b) => n + b.top + b.rollup, 0) + amortised * beforeList.reduce((n, b) => n + b, 0),
      usdPerRefresh: (rru * usdPerMillionRru) / 1e6,
    });
  }
  return rows;
}

export function formatDashboardReadTable(rows: ReadonlyArray<DashboardReadRow>): string {
  const head = [
    'events/s',
    'shards',
    'metric',
    'groups (window)',
    'groups (coarsest)',
    'Query/refresh',
    'BatchGetItem/refresh',
    'RRU/refresh',
    'before',
    '$/refresh',
    '$/hour at 5 s',
  ];
  const cells = rows.map((r) => {
    const usd = r.usdPerRefresh;
    return [
      String(r.rate),
      String(r.shards),
      r.metric,
      `${r.groups} (${r.window})`,
      `${r.coarsestGroups} (${r.coarsest})`,
      r.queries.toFixed(2),
      r.batchGets.toFixed(2),
      r.rru.toFixed(1),
      r.rruBefore.toFixed(1),
      usd.toExponential(2),
      (usd * (3600 / REFRESH_SECONDS)).toFixed(4),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c === 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
    '',
    `Dashboard refresh (every ${REFRESH_SECONDS} s, one metric, its finest window): one /api/window read (Top and roll-up) of the current and of the previous window, plus the 30 s group list (2 top of the coarsest window) amortised; eventually consistent; the series, rolling and stats Queries (no index) are not included. "before": the byWindow index this replaced, modelled. Groups from the table at the end of the 60 s window flush run (the 1h window holds its 15 minutes).`,
  ].join('\n');
}
