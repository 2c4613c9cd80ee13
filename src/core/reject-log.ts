/**
 * What a batch did not count, and why: one entry per event and metric for the failure destination, and
 * counts per metric, reason and arrival bucket for the `__stats__` items. Cold path.
 */
import type { CompiledMetric, CompiledWindow } from './metric-config.js';
import { REJECT_REASON_NAMES, type RejectReason } from './types.js';

/** Stats counter name for events folded into `__other__` over a metric's group cap. */
export const FOLDED_STAT = 'folded';
/** Metric name of the statistics of records no metric could read (undecodable ones). */
export const UNATTRIBUTED = '__all__';
/** Window used to bucket reject statistics that belong to no metric. */
export const UNATTRIBUTED_STATS_WINDOW: CompiledWindow = { label: '1m', sizeMs: 60_000, ttlSeconds: 7 * 86_400 };

/** Reject statistics of one metric (or `__all__`) in one arrival bucket. */
export interface StatsDelta {
  metricName: string;
  window: CompiledWindow;
  windowStartMs: number;
  /** Per reject reason name, plus `folded` for events folded into `__other__` over the group cap. */
  counts: Record<string, number>;
  firstRecord: number;
  lastRecord: number;
}

/** Details kept per (record, reason, metric): the first few say enough, and the message stays bounded. */
export const MAX_DETAILS_PER_REASON = 3;
/** Longest detail kept, in UTF-16 code units (details quote field paths and values). */
export const MAX_DETAIL_CHARS = 300;

/**
 * The events of one record not counted in one metric (or in any: `metricIndex` -1) for one reason, for
 * the failure destination: how many, and the first few details. Memory per record is bounded by its
 * reasons and metrics, not by its events (a 1 MB NDJSON record can hold half a million lines).
 */
export interface RejectEntry {
  recordIndex: number;
  reason: RejectReason;
  reasonName: string;
  metricIndex: number;
  /** The first detail. */
  detail: string;
  /** Events of the record rejected for this reason and metric. */
  count: number;
  /** The first MAX_DETAILS_PER_REASON details. */
  details: string[];
}

export class RejectLog {
  private readonly metrics: ReadonlyArray<CompiledMetric>;
  readonly entries: RejectEntry[] = [];
  /** Events rejected (the sum of the entries' counts). */
  total = 0;
  private readonly byKey = new Map<string, RejectEntry>();
  private readonly stats = new Map<string, StatsDelta>();

  constructor(metrics: ReadonlyArray<CompiledMetric>) {
    this.metrics = metrics;
  }

  clear(): void {
    this.entries.length = 0;
    // Map#clear allocates a new backing table even when empty (~150 B per batch in the bench): skip it then.
    if (this.byKey.size > 0) this.byKey.clear();
    this.total = 0;
    if (this.stats.size > 0) this.stats.clear();
  }

  reject(recordIndex: number, reason: RejectReason, metricIndex: number, detail: string, arrivalMs: number): void {
    const reasonName = REJECT_REASON_NAMES[reason];
    const text = detail.length > MAX_DETAIL_CHARS ? detail.slice(0, MAX_DETAIL_CHARS) + '...' : detail;
    const key = `${recordIndex}:${reason}:${metricIndex}`;
    const entry = this.byKey.get(key);
    if (entry) {
      entry.count++;
      if (entry.details.length < MAX_DETAILS_PER_REASON) entry.details.push(text);
    } else {
      const created = { recordIndex, reason, reasonName, metricIndex, detail: text, count: 1, details: [text] };
      this.entries.push(created);
      this.byKey.set(key, created);
    }
    this.total++;
    this.count(recordIndex, metricIndex, reasonName, arrivalMs);
  }

  /** Counts `name` for the metric (or `__all__`) in the bucket of its finest window holding `arrivalMs`. */
  count(recordIndex: number, metricIndex: number, name: string, arrivalMs: number): void {
    const metric = metricIndex >= 0 ? this.metrics[metricIndex] : undefined;
    // A `state` metric has no windows: its statistics use the unattributed 1m buckets.
    const window = metric && metric.windows.length > 0 ? metric.windows[0] : UNATTRIBUTED_STATS_WINDOW;
    const windowStartMs = Math.floor(arrivalMs / window.sizeMs) * window.sizeMs;
    const metricName = metric ? metric.name : UNATTRIBUTED;
    const key = `${metricName}\u0000${windowStartMs}`;
    let stats = this.stats.get(key);
    if (!stats) {
      stats = { metricName, window, windowStartMs, counts: {}, firstRecord: recordIndex, lastRecord: recordIndex };
      this.stats.set(key, stats);
    }
    stats.counts[name] = (stats.counts[name] ?? 0) + 1;
    if (recordIndex < stats.firstRecord) stats.firstRecord = recordIndex;
    if (recordIndex > stats.lastRecord) stats.lastRecord = recordIndex;
  }

  statistics(): StatsDelta[] {
    return [...this.stats.values()];
  }
}
