/** Shapes returned by the counters read library (CounterReader) and served as JSON by the read API. */
import type { AggregateName } from '../core/types.js';

/** Rolling spans the dashboard offers, in minutes. */
export const ROLLING_MINUTES = [1, 5, 15, 60] as const;
export type RollingMinutes = (typeof ROLLING_MINUTES)[number];

/** Quantile aggregates and the rank each one reads from a DDSketch. */
export const QUANTILE_RANKS: Readonly<Record<'p50' | 'p90' | 'p95' | 'p99', number>> = {
  p50: 0.5,
  p90: 0.9,
  p95: 0.95,
  p99: 0.99,
};
export type QuantileName = keyof typeof QUANTILE_RANKS;

/**
 * Aggregated values of one bucket (or of several merged). `count` is always there; every other field is
 * present exactly when the metric configures that aggregate and the stored items carry the data for it
 * (`mean` is derived as sum / count).
 */
export interface AggregateValues {
  count: number;
  sum?: number;
  min?: number;
  max?: number;
  mean?: number;
  /** HyperLogLog estimate of distinct values of the metric's `distinctField`. */
  distinct?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
}

/** One stored window of one group. */
export interface SeriesPoint extends AggregateValues {
  windowStartMs: number;
}

export interface SeriesResult {
  metric: string;
  windowLabel: string;
  windowSizeMs: number;
  dimensionValues: string[];
  fromMs: number;
  toMs: number;
  /** Stored windows overlapping [fromMs, toMs), oldest first. Windows without events have no item and are absent. */
  points: SeriesPoint[];
}

export interface RollingResult extends AggregateValues {
  metric: string;
  dimensionValues: string[];
  minutes: RollingMinutes;
  /** The finest window of the metric, whose buckets were merged. */
  windowLabel: string;
  /** Start of the oldest bucket that may be included (inclusive) and the reading time (inclusive). */
  fromMs: number;
  toMs: number;
  /** How many stored buckets were merged. */
  buckets: number;
}

export interface TopEntry {
  /** All dimension values of the group, or just the one chosen by `dimensionIndex`. */
  dimensionValues: string[];
  count: number;
  sum?: number;
}

export interface TopResult {
  metric: string;
  windowLabel: string;
  windowStartMs: number;
  /** Dimension names the entries are grouped by. */
  dimensions: string[];
  /** Number of distinct entries before the limit was applied. */
  groups: number;
  entries: TopEntry[];
}

/** One group of a roll-up: all of the metric's aggregates over the items rolled into it. */
export interface RollupEntry extends AggregateValues {
  /** The value of the rolled-up dimension (one value), or [] for the total over all groups. */
  dimensionValues: string[];
  /** Counter items (groups of every dimension) merged into this entry. */
  groups: number;
}

/** Totals over all groups of one window, and (with a dimension) the roll-up to that dimension. */
export interface RollupResult {
  metric: string;
  windowLabel: string;
  windowStartMs: number;
  /** The dimension rolled up to, or null for the total only. */
  dimension: string | null;
  /** Counter items (groups) the window holds. */
  groups: number;
  total: RollupEntry;
  /** By the dimension's values, highest count first; empty without a dimension. */
  entries: RollupEntry[];
  /** DynamoDB calls this read made: Query pages on the byWindowKeys GSI and BatchGetItem calls. */
  reads: { queries: number; batchGets: number };
}

export interface StatsBucket {
  windowStartMs: number;
  rejected: number;
  late: number;
  folded: number;
}

export interface StatsResult {
  metric: string;
  windowLabel: string;
  fromMs: number;
  toMs: number;
  /** Records not counted for any reason other than lateness. */
  rejected: number;
  /** Events older than their window's end plus the allowed lateness (`too_late`). */
  late: number;
  /** Events counted into the `__other__` group because the window had maxGroupsPerWindow groups already. */
  folded: number;
  /** Count per reason name (`invalid_json`, `too_late`, `folded`, ...). */
  byReason: Record<string, number>;
  buckets: StatsBucket[];
}

export interface WindowSummary {
  label: string;
  sizeMs: number;
  /**
   * Set by the read API in window flush mode (./window-cadence.ts): about how often this window size is
   * written, and the oldest its counts get (a window is written once it has closed). Absent: written with
   * every batch.
   */
  writtenEverySeconds?: number;
  maxAgeSeconds?: number;
  /** Written while open too (no larger than the flush interval): the current window fills as it goes. */
  writtenWhileOpen?: boolean;
}

export interface MetricSummary {
  name: string;
  /** `state`: levels (items per group now, read with `levels`), no windows. Absent means `events`. */
  kind?: 'events' | 'state';
  dimensions: string[];
  aggregates: AggregateName[];
  /** Finest first. */
  windows: WindowSummary[];
  value?: string;
  distinctField?: string;
  /** Which stream feeds it: kinesis, dynamodb or both. */
  source: 'kinesis' | 'dynamodb' | 'both';
  /** Set by a read API that knows (the local runner): whether a running source feeds it, and if not, why. */
  live?: boolean;
  liveReason?: string;
}

/** A caller asked for something the configuration or the layout cannot answer. Maps to HTTP 400. */
export class ReadArgumentError extends Error {
  override name = 'ReadArgumentError';
  /** Which argument was wrong (`metric`, `window`, `dims`, ...). */
  readonly parameter: string;
  /** What would have been accepted, when that is a short list. */
  readonly allowed?: ReadonlyArray<string | number>;

  constructor(parameter: string, message: string, allowed?: ReadonlyArray<string | number>) {
    super(message);
    this.parameter = parameter;
    this.allowed = allowed;
  }
}

/** A stored item could not be read as the layout says (bad number, undecodable sketch). */
export class CounterItemError extends Error {
  override name = 'CounterItemError';
}

/** DynamoDB refused or failed a read; the SDK error is the cause. */
export class CounterReadError extends Error {
  override name = 'CounterReadError';
}

/** One group of a `state` metric: how many items are in it now, and the sum (and mean) of their values. */
export interface LevelEntry {
  dimensionValues: string[];
  count: number;
  sum?: number;
  mean?: number;
}

/** The current levels of a `state` metric, highest count first; groups at 0 are left out. */
export interface LevelsResult {
  metric: string;
  kind: 'state';
  dimensions: string[];
  /** Items over every group (the table's items the metric follows). */
  total: number;
  levels: LevelEntry[];
}
