/**
 * Reads the counters table (layout: ./layout.ts) for the read API and the dashboard.
 * Nothing here writes. A group's time series is one paginated Query; a window's groups (top, rollup,
 * levels) are listed by the WINDOW_INDEX GSI and read with BatchGetItem (window-items.ts).
 */
import {
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { LEVEL_WINDOW, type CompiledConfig, type CompiledMetric } from '../core/metric-config.js';
import { FOLDED_STAT as FOLDED } from '../core/reject-log.js';
import { DDSketch } from '../core/sketch/ddsketch.js';
import { HyperLogLog } from '../core/sketch/hyperloglog.js';
import { REJECT_REASON_NAMES, type AggregateName, type RejectReason } from '../core/types.js';
import {
  ALL_METRICS,
  Attr,
  WINDOW_INDEX,
  counterPk,
  counterSk,
  parseCounterPk,
  parseCounterSk,
  statsPk,
  windowGroupKey,
} from '../sink/layout.js';
import {
  CounterItemError,
  CounterReadError,
  QUANTILE_RANKS,
  ROLLING_MINUTES,
  ReadArgumentError,
  type AggregateValues,
  type LevelEntry,
  type LevelsResult,
  type MetricSummary,
  type QuantileName,
  type RollingMinutes,
  type RollingResult,
  type RollupEntry,
  type RollupResult,
  type SeriesPoint,
  type SeriesResult,
  type StatsBucket,
  type StatsResult,
  type TopEntry,
  type TopResult,
  type WindowSummary,
} from './types.js';
import { readWindowItems } from './window-items.js';

/** A week of 1m buckets: bounds one series response (~1 MB of JSON) and the Query pages behind it. */
export const MAX_SERIES_WINDOWS = 10_080;
/** Enough for a "top N" panel; top() reads every group of the window whatever the limit (see there). */
export const MAX_TOP_LIMIT = 1_000;
const MINUTE_MS = 60_000;
const TOO_LATE = REJECT_REASON_NAMES[7];
/** The aggregator buckets `__stats__#__all__` (records no metric could read) by 1m of arrival time. */
const UNATTRIBUTED_STATS_WINDOW: WindowSummary = { label: '1m', sizeMs: MINUTE_MS };
const QUANTILE_NAMES: ReadonlyArray<QuantileName> = ['p50', 'p90', 'p95', 'p99'];
/** Counter attributes a read needs; the per-shard progress attributes (`p:*`) can be many and are skipped. */
const COUNTER_PROJECTION = [Attr.sk, Attr.count, Attr.sum, Attr.min, Attr.max, Attr.hll, Attr.quantiles];
/** What a ranking or a level shows: the count and the sum. */
const COUNT_PROJECTION = [Attr.count, Attr.sum];

export interface CounterReaderOptions {
  client: DynamoDBClient;
  tableName: string;
  /** The compiled metric definitions (src/config.ts loads them for both functions; validated once there). */
  metrics: CompiledConfig;
  /**
   * Strongly consistent reads cost twice the RCUs; the dashboard does not need them. Default false. It
   * applies to the table reads (series, rolling, stats, and the BatchGetItem of top, rollup and levels);
   * the list of a window's groups comes from a GSI, which is eventually consistent either way.
   */
  consistentRead?: boolean;
  /**
   * The GSI that lists a window's items by `g`. Default {@link WINDOW_INDEX}; a stack in the middle of the
   * upgrade from the legacy index (template.yaml KeepLegacyTopIndex) reads `byWindow` until the new one is
   * built: only the keys are read from it, which both indexes hold.
   */
  windowIndex?: string;
}

/** A metric definition reduced to what reading needs, resolved once at construction. */
interface ReadableMetric {
  summary: MetricSummary;
  windowSizeMs: Map<string, number>;
  finest: WindowSummary;
  wantsSum: boolean;
  wantsMean: boolean;
  wantsMin: boolean;
  wantsMax: boolean;
  wantsDistinct: boolean;
  quantiles: QuantileName[];
}

/** Merges buckets: sums add up, min/max fold, sketches merge. One per call; cheap enough off the hot path. */
class Accumulator {
  count = 0;
  sum: number | undefined = undefined;
  min: number | undefined = undefined;
  max: number | undefined = undefined;
  hll: HyperLogLog | undefined = undefined;
  sketch: DDSketch | undefined = undefined;
  buckets = 0;

  constructor(private readonly metric: ReadableMetric) {}

  add(item: Record<string, AttributeValue>): void {
    const m = this.metric;
    this.buckets++;
    this.count += numberAttr(item, Attr.count) ?? 0;
    const sum = numberAttr(item, Attr.sum);
    if (sum !== undefined) this.sum = (this.sum ?? 0) + sum;
    const min = numberAttr(item, Attr.min);
    if (min !== undefined && (this.min === undefined || min < this.min)) this.min = min;
    const max = numberAttr(item, Attr.max);
    if (max !== undefined && (this.max === undefined || max > this.max)) this.max = max;
    if (m.wantsDistinct) {
      const bytes = bytesAttr(item, Attr.hll);
      if (bytes) {
        const hll = decodeSketch(item, 'HyperLogLog', () => HyperLogLog.deserialize(bytes));
        if (this.hll) this.hll.merge(hll);
        else this.hll = hll;
      }
    }
    if (m.quantiles.length > 0) {
      const bytes = bytesAttr(item, Attr.quantiles);
      if (bytes) {
        const sketch = decodeSketch(item, 'DDSketch', () => DDSketch.deserialize(bytes));
        if (this.sketch) this.sketch.merge(sketch);
        else this.sketch = sketch;
      }
    }
  }

  /** Writes the configured aggregates into `out`; fields without data stay absent. */
  fill<T extends AggregateValues>(out: T): T {
    const m = this.metric;
    out.count = this.count;
    if (m.wantsSum && this.sum !== undefined) out.sum = this.sum;
    if (m.wantsMin && this.min !== undefined) out.min = this.min;
    if (m.wantsMax && this.max !== undefined) out.max = this.max;
    if (m.wantsMean && this.sum !== undefined && this.count > 0) out.mean = this.sum / this.count;
    // An HLL estimate is fractional; a count of distinct things is not.
    if (m.wantsDistinct && this.hll) out.distinct = Math.round(this.hll.estimate());
    if (this.sketch && this.count > 0) {
      for (let i = 0; i < m.quantiles.length; i++) {
        const name = m.quantiles[i];
        const value = this.sketch.quantile(QUANTILE_RANKS[name]);
        if (Number.isFinite(value)) out[name] = value;
      }
    }
    return out;
  }
}

/**
 * Read library over the counters table: time series, rolling totals, top groups, reject statistics.
 *
 * Arguments are checked against the metric definitions and rejected with a {@link ReadArgumentError}
 * naming the argument; DynamoDB failures surface as {@link CounterReadError} with the SDK error as cause.
 *
 * @example
 * const reader = new CounterReader({ client: new DynamoDBClient({}), tableName: 'counters', metrics: loadReadRuntimeConfig().metrics });
 * const { points } = await reader.series('page_views', '1m', ['DE', '/home'], Date.now() - 3_600_000, Date.now());
 * const last5 = await reader.rolling('page_views', ['DE', '/home'], 5, Date.now());
 */
export class CounterReader {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly consistentRead: boolean;
  private readonly windowIndex: string;
  private readonly metricsByName: Map<string, ReadableMetric>;
  private readonly summaries: MetricSummary[];

  constructor(opts: CounterReaderOptions) {
    this.client = opts.client;
    this.tableName = opts.tableName;
    this.consistentRead = opts.consistentRead ?? false;
    this.windowIndex = opts.windowIndex ?? WINDOW_INDEX.name;
    this.metricsByName = new Map();
    this.summaries = [];
    for (let i = 0; i < opts.metrics.metrics.length; i++) {
      const metric = readableMetric(opts.metrics.metrics[i], opts.metrics.pathTexts);
      this.metricsByName.set(metric.summary.name, metric);
      this.summaries.push(metric.summary);
    }
  }

  /** The configured metrics, with windows finest first. No I/O. */
  metrics(): MetricSummary[] {
    return this.summaries.map((s) => ({
      ...s,
      dimensions: [...s.dimensions],
      aggregates: [...s.aggregates],
      windows: s.windows.map((w) => ({ ...w })),
    }));
  }

  /**
   * The stored windows of one group that overlap [fromMs, toMs), oldest first, with ONE Query
   * (pk = group, sk BETWEEN the first and last possible window start; paginated). Windows in which nothing
   * was counted have no item and no point: callers that chart counts fill them with zero.
   */
  async series(
    metric: string,
    windowLabel: string,
    dimensionValues: ReadonlyArray<string>,
    fromMs: number,
    toMs: number,
  ): Promise<SeriesResult> {
    const m = this.metric(metric);
    const sizeMs = windowSize(m, windowLabel);
    checkDimensions(m, dimensionValues);
    checkRange(fromMs, toMs);
    if ((toMs - fromMs) / sizeMs > MAX_SERIES_WINDOWS) {
      throw new ReadArgumentError(
        'from',
        `A ${windowLabel} series spans at most ${MAX_SERIES_WINDOWS} windows; narrow from/to or pick a larger window.`,
        m.summary.windows.map((w) => w.label),
      );
    }
    const points: SeriesPoint[] = [];
    const lowStartMs = Math.max(0, fromMs - sizeMs + 1);
    if (toMs > fromMs) {
      await this.queryGroup(
        counterPk(metric, dimensionValues),
        windowLabel,
        lowStartMs,
        toMs - 1,
        COUNTER_PROJECTION,
        (item) => {
          const acc = new Accumulator(m);
          acc.add(item);
          points.push(acc.fill({ windowStartMs: windowStartOf(item), count: 0 }));
        },
      );
    }
    return { metric, windowLabel, windowSizeMs: sizeMs, dimensionValues: [...dimensionValues], fromMs, toMs, points };
  }

  /**
   * Totals over the last `lastMinutes` minutes, merged from the metric's finest buckets with one Query:
   * the buckets whose start lies in (nowMs - lastMinutes, nowMs], so the current (partial) bucket counts and
   * "the last 5 minutes" of 1m buckets is always 5 buckets. Counts and sums add up, min and max fold,
   * HyperLogLogs merge into one distinct estimate and DDSketches into one set of quantiles: a distinct count
   * over 5 minutes is not the sum of five 1-minute ones. When the finest window is longer than
   * `lastMinutes`, the result is the single bucket that contains `nowMs`.
   */
  async rolling(
    metric: string,
    dimensionValues: ReadonlyArray<string>,
    lastMinutes: RollingMinutes,
    nowMs: number,
  ): Promise<RollingResult> {
    const m = this.metric(metric);
    checkDimensions(m, dimensionValues);
    if (!ROLLING_MINUTES.includes(lastMinutes)) {
      throw new ReadArgumentError(
        'minutes',
        `Rolling totals cover one of ${ROLLING_MINUTES.join(', ')} minutes (got ${String(lastMinutes)}).`,
        ROLLING_MINUTES,
      );
    }
    checkTime('now', nowMs);
    const spanMs = Math.max(lastMinutes * MINUTE_MS, m.finest.sizeMs);
    const fromMs = Math.max(0, nowMs - spanMs + 1);
    const acc = new Accumulator(m);
    await this.queryGroup(
      counterPk(metric, dimensionValues),
      m.finest.label,
      fromMs,
      nowMs,
      COUNTER_PROJECTION,
      (item) => acc.add(item),
    );
    return acc.fill({
      metric,
      dimensionValues: [...dimensionValues],
      minutes: lastMinutes,
      windowLabel: m.finest.label,
      fromMs,
      toMs: nowMs,
      buckets: acc.buckets,
      count: 0,
    });
  }

  /**
   * The groups of one window ranked by count (ties by dimension values), optionally rolled up to one
   * dimension (`dimensionIndex`, counts of the other dimensions added up).
   *
   * Reads the window's items through the sparse KEYS_ONLY GSI (layout.ts {@link WINDOW_INDEX}, partition
   * `g` = the metric-window): its keys with one Query page per ~thousands of groups, then `c` and `s` of
   * every item with ceil(G / 100) BatchGetItem calls, ranked here. Exact at any G (ties included), and
   * the cost grows with G, not with `limit`: G x 0.5 RRU (eventually consistent, items <= 4 KB) plus the
   * key pages. The index lists a new group a moment after its first write (GSIs are eventually
   * consistent); the values are read from the table. Items written before the writer set `g` are not in
   * the index until their next write.
   */
  async top(
    metric: string,
    windowLabel: string,
    windowStartMs: number,
    dimensionIndex: number | undefined,
    limit: number,
  ): Promise<TopResult> {
    const m = this.metric(metric);
    windowSize(m, windowLabel);
    checkTime('start', windowStartMs);
    const names = checkDimensionIndex(m, dimensionIndex);
    checkTopLimit(limit);
    const { items } = await this.windowItems(windowGroupKey(metric, windowLabel, windowStartMs), COUNT_PROJECTION);
    return rankTop(m, items, { metric, windowLabel, windowStartMs }, names, dimensionIndex, limit);
  }

  /**
   * Top (by full dimension values, `topLimit`) and the roll-up to `rollupDimensionIndex` (or the total only)
   * of one window, from one read of its items: what a dashboard refresh shows of a window, at the cost of
   * one {@link rollup} instead of a top() and a rollup() (a read is charged on the item's size, not on
   * what a projection returns, so reading every attribute once costs no more than reading the count once).
   */
  async windowView(
    metric: string,
    windowLabel: string,
    windowStartMs: number,
    rollupDimensionIndex: number | undefined,
    topLimit: number,
  ): Promise<{ top: TopResult; rollup: RollupResult }> {
    const m = this.metric(metric);
    windowSize(m, windowLabel);
    checkTime('start', windowStartMs);
    const names = checkDimensionIndex(m, rollupDimensionIndex);
    checkTopLimit(topLimit);
    const read = await this.windowItems(windowGroupKey(metric, windowLabel, windowStartMs), COUNTER_PROJECTION);
    const window = { metric, windowLabel, windowStartMs };
    return {
      top: rankTop(m, read.items, window, names, undefined, topLimit),
      rollup: rollUp(m, read, window, names, rollupDimensionIndex),
    };
  }

  /**
   * The current levels of a `state` metric: every group's level item, listed by the WINDOW_INDEX
   * partition of the metric's level items (`g = <metric>#level#1970-01-01T00:00:00.000Z`) and read with
   * BatchGetItem. One item per group, so the cost is the number of groups, not of changes. The list of
   * groups is eventually consistent (a GSI): a new group shows a moment after its first write is durable.
   */
  async levels(metric: string): Promise<LevelsResult> {
    const m = this.metric(metric);
    if (m.summary.kind !== 'state')
      throw new ReadArgumentError(
        'metric',
        `Metric ${metric} counts events per window, not levels; use series, rolling or top.`,
        this.summaries.filter((s) => s.kind === 'state').map((s) => s.name),
      );
    const levels: LevelEntry[] = [];
    let total = 0;
    const { items } = await this.windowItems(windowGroupKey(metric, LEVEL_WINDOW.label, 0), COUNT_PROJECTION);
    for (const item of items) {
      const count = numberAttr(item, Attr.count) ?? 0;
      total += count;
      if (count === 0) continue;
      const entry: LevelEntry = { dimensionValues: parseCounterPk(item[Attr.pk].S as string).dimensionValues, count };
      const sum = numberAttr(item, Attr.sum);
      if (m.wantsSum && sum !== undefined) entry.sum = sum;
      if (m.wantsMean && sum !== undefined) entry.mean = sum / count;
      levels.push(entry);
    }
    levels.sort((a, b) => b.count - a.count || a.dimensionValues.join('|').localeCompare(b.dimensionValues.join('|')));
    return { metric, kind: 'state', dimensions: [...m.summary.dimensions], total, levels };
  }

  /**
   * Records not counted for `metric` (or {@link ALL_METRICS}: records no metric could read) in the stats
   * buckets overlapping [fromMs, toMs): one Query on `__stats__#<metric>` over the metric's finest window
   * (always 1m for `__all__`, as the aggregator writes it). `late` is the `too_late` reason, `folded` the
   * events counted into the `__other__` group over maxGroupsPerWindow (counted, just not in their own group),
   * `rejected` every other reason. Reason attributes `r:<name>` and `r:<code>` (numeric) are both understood.
   */
  async stats(metric: string, fromMs: number, toMs: number): Promise<StatsResult> {
    const window = metric === ALL_METRICS ? UNATTRIBUTED_STATS_WINDOW : this.metric(metric).finest;
    checkRange(fromMs, toMs);
    const byReason: Record<string, number> = {};
    const buckets: StatsBucket[] = [];
    let rejected = 0;
    let late = 0;
    let folded = 0;
    if (toMs > fromMs) {
      const lowStartMs = Math.max(0, fromMs - window.sizeMs + 1);
      await this.queryGroup(statsPk(metric), window.label, lowStartMs, toMs - 1, undefined, (item) => {
        const bucket: StatsBucket = { windowStartMs: windowStartOf(item), rejected: 0, late: 0, folded: 0 };
        for (const name of Object.keys(item)) {
          if (!name.startsWith(Attr.rejectPrefix)) continue;
          const reason = reasonName(name.slice(Attr.rejectPrefix.length));
          const count = numberAttr(item, name) ?? 0;
          byReason[reason] = (byReason[reason] ?? 0) + count;
          if (reason === TOO_LATE) bucket.late += count;
          else if (reason === FOLDED) bucket.folded += count;
          else bucket.rejected += count;
        }
        rejected += bucket.rejected;
        late += bucket.late;
        folded += bucket.folded;
        buckets.push(bucket);
      });
    }
    return { metric, windowLabel: window.label, fromMs, toMs, rejected, late, folded, byReason, buckets };
  }

  private metric(name: string): ReadableMetric {
    const m = this.metricsByName.get(name);
    if (!m)
      throw new ReadArgumentError('metric', `Unknown metric ${JSON.stringify(name)}.`, [...this.metricsByName.keys()]);
    return m;
  }

  /** One paginated Query: pk = `pk`, sk BETWEEN the keys of two window starts of `windowLabel`, in sk order. */
  private async queryGroup(
    pk: string,
    windowLabel: string,
    lowStartMs: number,
    highStartMs: number,
    projection: ReadonlyArray<string> | undefined,
    onItem: (item: Record<string, AttributeValue>) => void,
  ): Promise<void> {
    const names: Record<string, string> = { '#pk': Attr.pk, '#sk': Attr.sk };
    let projectionExpression: string | undefined;
    if (projection) {
      const refs: string[] = [];
      for (let i = 0; i < projection.length; i++) {
        names['#a' + i] = projection[i];
        refs.push('#a' + i);
      }
      projectionExpression = refs.join(', ');
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':pk': { S: pk },
        ':lo': { S: counterSk(windowLabel, lowStartMs) },
        ':hi': { S: counterSk(windowLabel, highStartMs) },
      },
      ProjectionExpression: projectionExpression,
      ConsistentRead: this.consistentRead,
    };
    do {
      const page = await this.send('Query', () => this.client.send(new QueryCommand(input)));
      const items = page.Items ?? [];
      for (let i = 0; i < items.length; i++) onItem(items[i]);
      input.ExclusiveStartKey = page.LastEvaluatedKey;
    } while (input.ExclusiveStartKey);
  }

  /**
   * Totals over all groups of one window (every aggregate: count, sum, min, max, mean; distinct and
   * quantiles by merging the stored sketches), and with `dimensionIndex` the same rolled up to that
   * dimension's values.
   *
   * Cost, for G groups: the window's keys from the WINDOW_INDEX GSI (KEYS_ONLY, ~100 B a key: one Query
   * page of 1 MB per ~10,000 groups, 0.5 RRU per 4 KB of keys), then the items with ceil(G / 100)
   * BatchGetItem calls (`reads` counts both), G x 0.5 RRU when items are <= 4 KB (eventually consistent).
   */
  async rollup(
    metric: string,
    windowLabel: string,
    windowStartMs: number,
    dimensionIndex: number | undefined,
  ): Promise<RollupResult> {
    const m = this.metric(metric);
    windowSize(m, windowLabel);
    checkTime('start', windowStartMs);
    const names = checkDimensionIndex(m, dimensionIndex);
    const read = await this.windowItems(windowGroupKey(metric, windowLabel, windowStartMs), COUNTER_PROJECTION);
    return rollUp(m, read, { metric, windowLabel, windowStartMs }, names, dimensionIndex);
  }

  /** The items of one WINDOW_INDEX partition (`g = group`), with `attributes`; see window-items.ts. */
  private windowItems(group: string, attributes: ReadonlyArray<string>): ReturnType<typeof readWindowItems> {
    return readWindowItems({
      client: this.client,
      tableName: this.tableName,
      indexName: this.windowIndex,
      group,
      attributes,
      consistentRead: this.consistentRead,
      send: (operation, call) => this.send(operation, call),
    });
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const hint =
        name === 'ResourceNotFoundException'
          ? ' Check that the counters table exists and COUNTERS_TABLE names it.'
          : '';
      throw new CounterReadError(
        `${operation} on counters table ${this.tableName} failed (${name}: ${err instanceof Error ? err.message : String(err)}).${hint}`,
        { cause: err },
      );
    }
  }
}

function checkTopLimit(limit: number): void {
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_TOP_LIMIT))
    throw new ReadArgumentError('limit', `limit must be an integer from 1 to ${MAX_TOP_LIMIT} (got ${String(limit)}).`);
}

type WindowId = Pick<TopResult, 'metric' | 'windowLabel' | 'windowStartMs'>;
type WindowRead = Awaited<ReturnType<typeof readWindowItems>>;

/** The groups of one window's items ranked by count (ties by values), or rolled to one dimension first. */
function rankTop(
  m: ReadableMetric,
  items: WindowRead['items'],
  window: WindowId,
  names: string[],
  dimensionIndex: number | undefined,
  limit: number,
): TopResult {
  const groups = new Map<string, TopEntry>();
  for (const item of items) {
    const parsed = parseCounterPk(item[Attr.pk].S as string);
    const values =
      dimensionIndex === undefined ? parsed.dimensionValues : [parsed.dimensionValues[dimensionIndex] ?? ''];
    const key = JSON.stringify(values);
    let entry = groups.get(key);
    if (!entry) {
      entry = { dimensionValues: values, count: 0 };
      groups.set(key, entry);
    }
    entry.count += numberAttr(item, Attr.count) ?? 0;
    const sum = numberAttr(item, Attr.sum);
    if (m.wantsSum && sum !== undefined) entry.sum = (entry.sum ?? 0) + sum;
  }
  const entries = [...groups.values()].sort(compareTopEntries);
  return {
    ...window,
    dimensions: dimensionIndex === undefined ? [...names] : [names[dimensionIndex]],
    groups: groups.size,
    entries: entries.slice(0, limit),
  };
}

/** Totals over one window's items and, with a dimension, the roll-up to its values (sketches merged). */
function rollUp(
  m: ReadableMetric,
  read: WindowRead,
  window: WindowId,
  names: string[],
  dimensionIndex: number | undefined,
): RollupResult {
  const total = new Accumulator(m);
  const byValue = new Map<string, { value: string; acc: Accumulator }>();
  for (const item of read.items) {
    total.add(item);
    if (dimensionIndex === undefined) continue;
    const value = parseCounterPk(item[Attr.pk].S as string).dimensionValues[dimensionIndex] ?? '';
    let entry = byValue.get(value);
    if (!entry) byValue.set(value, (entry = { value, acc: new Accumulator(m) }));
    entry.acc.add(item);
  }
  const entries: RollupEntry[] = [...byValue.values()]
    .map(({ value, acc }) => acc.fill<RollupEntry>({ dimensionValues: [value], groups: acc.buckets, count: 0 }))
    .sort((a, b) => b.count - a.count || (a.dimensionValues[0] < b.dimensionValues[0] ? -1 : 1));
  return {
    ...window,
    dimension: dimensionIndex === undefined ? null : names[dimensionIndex],
    groups: read.items.length,
    total: total.fill<RollupEntry>({ dimensionValues: [], groups: total.buckets, count: 0 }),
    entries,
    reads: { queries: read.queries, batchGets: read.batchGets },
  };
}

function readableMetric(config: CompiledMetric, pathTexts: ReadonlyArray<string>): ReadableMetric {
  // Compiled windows are validated and sorted finest first.
  const windows: WindowSummary[] = config.windows.map((w) => ({ label: w.label, sizeMs: w.sizeMs }));
  const windowSizeMs = new Map<string, number>(windows.map((w) => [w.label, w.sizeMs]));
  const aggregates: AggregateName[] = [...config.aggregates];
  const has = (a: AggregateName): boolean => aggregates.includes(a);
  const summary: MetricSummary = {
    name: config.name,
    dimensions: [...config.dimensionNames],
    aggregates,
    windows,
    source: config.source,
  };
  if (config.kind === 'state') summary.kind = 'state';
  if (config.valuePath >= 0) summary.value = pathTexts[config.valuePath];
  if (config.distinctPath >= 0) summary.distinctField = pathTexts[config.distinctPath];
  return {
    summary,
    windowSizeMs,
    finest: windows[0],
    wantsSum: has('sum'),
    wantsMean: has('mean'),
    wantsMin: has('min'),
    wantsMax: has('max'),
    wantsDistinct: has('distinct'),
    quantiles: QUANTILE_NAMES.filter(has),
  };
}

/** The metric's dimension names, when `dimensionIndex` (a roll-up to one dimension) is one of them or absent. */
function checkDimensionIndex(m: ReadableMetric, dimensionIndex: number | undefined): string[] {
  const names = m.summary.dimensions;
  if (
    dimensionIndex !== undefined &&
    !(Number.isInteger(dimensionIndex) && dimensionIndex >= 0 && dimensionIndex < names.length)
  )
    throw new ReadArgumentError(
      'dimension',
      `Metric ${m.summary.name} has ${names.length} dimension(s); pick one of them by name.`,
      names,
    );
  return names;
}

function windowSize(m: ReadableMetric, label: string): number {
  const sizeMs = m.windowSizeMs.get(label);
  if (sizeMs === undefined) {
    throw new ReadArgumentError(
      'window',
      `Metric ${m.summary.name} has no window ${JSON.stringify(label)}.`,
      m.summary.windows.map((w) => w.label),
    );
  }
  return sizeMs;
}

function checkDimensions(m: ReadableMetric, values: ReadonlyArray<string>): void {
  const names = m.summary.dimensions;
  if (!Array.isArray(values) || values.length !== names.length || values.some((v) => typeof v !== 'string')) {
    const shape = names.length === 0 ? 'none' : names.join('|');
    throw new ReadArgumentError(
      'dims',
      `Metric ${m.summary.name} needs ${names.length} dimension value(s), in this order: ${shape}.`,
      names,
    );
  }
}

function checkTime(parameter: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0)
    throw new ReadArgumentError(
      parameter,
      `${parameter} must be a time in epoch milliseconds or ISO-8601 (got ${String(ms)}).`,
    );
}

function checkRange(fromMs: number, toMs: number): void {
  checkTime('from', fromMs);
  checkTime('to', toMs);
  if (fromMs > toMs) throw new ReadArgumentError('from', `from (${fromMs}) must not be after to (${toMs}).`);
}

function compareTopEntries(a: TopEntry, b: TopEntry): number {
  if (a.count !== b.count) return b.count - a.count;
  const x = a.dimensionValues.join('\u0000');
  const y = b.dimensionValues.join('\u0000');
  return x < y ? -1 : x > y ? 1 : 0;
}

function reasonName(suffix: string): string {
  if (/^\d+$/.test(suffix)) return REJECT_REASON_NAMES[Number(suffix) as RejectReason] ?? suffix;
  return suffix;
}

function numberAttr(item: Record<string, AttributeValue>, name: string): number | undefined {
  const attr = item[name];
  if (attr === undefined) return undefined;
  const value = attr.N !== undefined ? Number(attr.N) : Number.NaN;
  if (!Number.isFinite(value)) {
    throw new CounterItemError(
      `Counter item ${item[Attr.pk]?.S ?? '?'} / ${item[Attr.sk]?.S ?? '?'}: attribute ${name} should be a finite number, got ${JSON.stringify(attr)}.`,
    );
  }
  return value;
}

function bytesAttr(item: Record<string, AttributeValue>, name: string): Uint8Array | undefined {
  return item[name]?.B;
}

function windowStartOf(item: Record<string, AttributeValue>): number {
  // The sort key is the layout's contract; `ws` is a convenience copy for filters.
  return parseCounterSk(item[Attr.sk]?.S ?? '#').windowStartMs;
}

function decodeSketch<T>(item: Record<string, AttributeValue>, kind: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw new CounterItemError(
      `Counter item ${item[Attr.pk]?.S ?? '?'} / ${item[Attr.sk]?.S ?? '?'}: its ${kind} could not be decoded.`,
      { cause: err },
    );
  }
}
