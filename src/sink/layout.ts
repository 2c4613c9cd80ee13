/**
 * The counters table layout, shared by the writer (sink), the read library and the dashboard.
 *
 * One item per (metric, dimension values, window size, window start):
 *   pk  = `<metric>#<v1>|<v2>|...`   (dimension values in the metric's declared order, escaped)
 *   sk  = `<window label>#<window start, ISO-8601 UTC>`, e.g. `1m#2026-11-26T20:09:00.000Z`
 * so a dashboard reads one time series with one Query (pk = ..., sk BETWEEN ...), and ISO strings sort
 * in time order.
 *
 * Per-metric reject statistics live beside the counters under pk `__stats__#<metric>` (and
 * `__stats__#__all__` for records no metric could read), bucketed by the metric's finest window of the
 * record's arrival time.
 *
 * Every counter item (not the `__stats__` ones) also carries
 *   g   = `<metric>#<window label>#<window start, ISO-8601 UTC>` (see {@link windowGroupKey})
 * the partition key of the sparse, KEYS_ONLY GSI {@link WINDOW_INDEX}: the groups of one metric-window are
 * one index partition, listed by a Query and read with BatchGetItem (CounterReader). `g` is set when the
 * item is created and never changes, and the index holds nothing else that does, so DynamoDB writes the
 * index once per item (1 WRU at creation) and never on the item's later updates.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** Attribute names. Short, since they are stored in every item. */
export const Attr = {
  pk: 'pk',
  sk: 'sk',
  metric: 'm',
  dimensions: 'd',
  windowLabel: 'w',
  windowStartMs: 'ws',
  windowSizeMs: 'wms',
  count: 'c',
  /**
   * Partition key of the {@link WINDOW_INDEX} GSI, on counter and level items only: {@link windowGroupKey}.
   * Constant for the item's life: a change would be a delete and a put in the index (2 WRU).
   */
  windowGroup: 'g',
  sum: 's',
  min: 'mn',
  max: 'mx',
  hll: 'h',
  quantiles: 'q',
  version: 'v',
  ttl: 'ttl',
  /** Prefix of the per-lane (per-shard) progress attributes: `p:<lane>` holds the highest applied position. */
  progressPrefix: 'p:',
  /** Prefix of reject-reason counters in stats items: `r:<reason>`. */
  rejectPrefix: 'r:',
} as const;

export const STATS_PK_PREFIX = '__stats__#';
export const ALL_METRICS = '__all__';

const DIMENSION_SEPARATOR = '|';

function escapeKeyPart(value: string): string {
  return value.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\|/g, '%7C');
}

function unescapeKeyPart(value: string): string {
  return value.replace(/%7C/g, '|').replace(/%23/g, '#').replace(/%25/g, '%');
}

export function counterPk(metric: string, dimensionValues: ReadonlyArray<string>): string {
  let pk = metric + '#';
  for (let i = 0; i < dimensionValues.length; i++) {
    if (i > 0) pk += DIMENSION_SEPARATOR;
    pk += escapeKeyPart(dimensionValues[i]);
  }
  return pk;
}

export function parseCounterPk(pk: string): { metric: string; dimensionValues: string[] } {
  const hash = pk.indexOf('#');
  const metric = pk.slice(0, hash);
  const rest = pk.slice(hash + 1);
  return { metric, dimensionValues: rest.length === 0 ? [] : rest.split(DIMENSION_SEPARATOR).map(unescapeKeyPart) };
}

export function statsPk(metric: string): string {
  return STATS_PK_PREFIX + metric;
}

export function counterSk(windowLabel: string, windowStartMs: number): string {
  return windowLabel + '#' + new Date(windowStartMs).toISOString();
}

export function parseCounterSk(sk: string): { windowLabel: string; windowStartMs: number } {
  const hash = sk.indexOf('#');
  return { windowLabel: sk.slice(0, hash), windowStartMs: Date.parse(sk.slice(hash + 1)) };
}

/**
 * The GSI that lists the items of one metric-window: partition key `g` ({@link windowGroupKey}), no sort
 * key, KEYS_ONLY (the table keys pk and sk, nothing that a counter update changes). template.yaml's
 * CountersTable, the local tables and the cost bench's index model all follow this description.
 */
export const WINDOW_INDEX = {
  name: 'byWindowKeys',
  partitionKey: Attr.windowGroup,
  projection: 'KEYS_ONLY',
} as const;

/**
 * The index WINDOW_INDEX replaced: partition `g`, sort key `c` (the count), INCLUDE `d`, `s`. Every counter
 * write changed its key (a delete and a put in the index, 2 WRU per write). A stack deployed before keeps
 * it for one deploy (template.yaml KeepLegacyTopIndex), and the reader can list a window through it as well.
 */
export const LEGACY_TOP_INDEX = 'byWindow';

/**
 * The entry an item has in {@link WINDOW_INDEX}: the table keys and `g` (KEYS_ONLY), or undefined when the
 * item has no `g` (stats items: the index is sparse). DynamoDB writes the index only when this changes.
 */
export function windowIndexEntry(
  item: Readonly<Record<string, AttributeValue>>,
): Record<string, AttributeValue> | undefined {
  const g = item[WINDOW_INDEX.partitionKey];
  if (g === undefined) return undefined;
  return { [Attr.pk]: item[Attr.pk], [Attr.sk]: item[Attr.sk], [WINDOW_INDEX.partitionKey]: g };
}

/** The `g` attribute of a counter item: `<metric>#<window label>#<ISO window start>`, one per metric-window. */
export function windowGroupKey(metric: string, windowLabel: string, windowStartMs: number): string {
  return metric + '#' + counterSk(windowLabel, windowStartMs);
}

/**
 * Width of a zero-padded position. Kinesis sequence numbers have up to 56 decimal digits today
 * (128-bit values fit in 39), DynamoDB Streams ones fewer; padding to 64 keeps string order = numeric order.
 */
export const POSITION_DIGITS = 64;

/** A sequence number zero-padded so that DynamoDB's (and JS's) string order is numeric order. */
export function padSequence(sequenceNumber: string): string {
  return sequenceNumber.length >= POSITION_DIGITS
    ? sequenceNumber
    : '0'.repeat(POSITION_DIGITS - sequenceNumber.length) + sequenceNumber;
}

/** Map key of an item by its table key (pk, sk), for the sink's and the reader's batched reads. */
export function deltaKey(pk: string, sk: string): string {
  return pk + '\u0000' + sk;
}

/** BatchGetItem takes at most 100 keys per call (DynamoDB quota). */
export const MAX_BATCH_GET_KEYS = 100;
