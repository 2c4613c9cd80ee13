/**
 * Window flush mode (WINDOW_FLUSH=true): counter deltas carried in a Lambda tumbling window's `state`
 * instead of written once per batch. Each carried metric window is written once it has closed (see
 * {@link windowFlushDueAtMs}: the carried records reached its end plus a grace for late records), a level
 * (state metric) once carried WINDOW_FLUSH_CARRY_SECONDS, everything at the tumbling window's final
 * invocation, and all of it early when the state is full. So a window's items are written about once, not
 * once per flush while the window is open; `windowFlushMaxAgeMs` (src/core/window-flush-age.ts) says how old a count can get.
 *
 * Why it stays exact. Lambda hands every invocation the state the last *successful* invocation returned;
 * a failed invocation (error, timeout) is retried, or bisected, with that same state. So:
 * - A flush only ever writes a carried state as Lambda gave it to us, never something built in the same
 *   invocation. Its deltas are stamped with the range (first sequence number carried for their window
 *   since its last flush, highest sequence number the state covers) and written through the idempotent
 *   writer (per-shard progress). A retried flush therefore writes the same deltas with the same positions:
 *   items already written skip as applied, the rest are written. A window's later flush starts after its
 *   earlier one, since what is carried for it afterwards came in later batches.
 * - What of the carried state is flushed depends on the state alone (final invocation, above
 *   {@link FLUSH_CARRIED_ABOVE_BYTES}, or the windows due by the state's newest arrival), so every retry of
 *   an invocation, bisected or not, decides the same; the group cap's folds are persisted admissions, the
 *   same on every retry too. A flush that is not fully durable fails the invocation (throws): nothing of the
 *   batch has been merged into a returned state, and Lambda retries from the same state.
 * - A batch's own deltas are only merged into the returned state (never written) outside the final
 *   invocation; in the final invocation they go through today's per-batch path after the carried state
 *   is durable, whose positions are later than the state's.
 * - When a batch's deltas would push the state over {@link MAX_CARRIED_BYTES}, the invocation fails
 *   before writing anything of that batch ({@link WindowStateFullError}); Lambda bisects it (the template
 *   sets BisectBatchOnFunctionError) until a half fits. Splitting does not use up retries.
 *
 * The state is JSON (Lambda's format): sketches as base64 of their compact serialization.
 */
import type { CellDelta, StatsDelta } from '../core/aggregator.js';
import { LEVEL_WINDOW, type CompiledConfig, type CompiledMetric, type CompiledWindow } from '../core/metric-config.js';
import { DDSketch } from '../core/sketch/ddsketch.js';
import { HyperLogLog } from '../core/sketch/hyperloglog.js';
import { padSequence } from '../sink/layout.js';
import { writtenWhileOpen } from '../core/window-flush-age.js';

/** Lambda keeps at most 1 MB of tumbling-window state per shard (Lambda developer guide, "Tumbling windows"). */
export const LAMBDA_MAX_WINDOW_STATE_BYTES = 1024 * 1024;
/** Largest state we return: Lambda's limit less a margin for the running totals and Lambda's own envelope. */
export const MAX_CARRIED_BYTES = 900 * 1024;
/**
 * An incoming state above this is flushed before the batch is merged, leaving room for one more batch's
 * deltas under {@link MAX_CARRIED_BYTES}. Decided on the incoming state only, so retries decide the same.
 */
export const FLUSH_CARRIED_ABOVE_BYTES = 512 * 1024;
/** Format of the carried deltas in `state.carried` (1: first carried record per window size; still read). */
export const WINDOW_STATE_VERSION = 2;

/**
 * When a carried window is written (template mapping Freshness: WindowFlushGraceSeconds and
 * WindowFlushCarrySeconds; the function's WINDOW_FLUSH_GRACE_SECONDS and WINDOW_FLUSH_CARRY_SECONDS).
 */
export interface WindowFlushCadence {
  /** A time window is written once the carried records reach its end plus this: late records still join it. */
  graceMs: number;
  /** A level (a `state` metric's window of size 0, which never closes) is written once carried this long. */
  carryMs: number;
  /**
   * A time window of at most this size (FlushIntervalSeconds) is also written while open, once carried
   * `carryMs`: waiting for it to close would make its counts older than the flush interval promises.
   * 0 or absent: every time window is written only once it has closed.
   */
  freshUpToMs?: number;
}

/**
 * The cadence rule of window flush mode: the newest carried arrival (ms) at which a carried window is
 * written. A time window: its end plus the grace. One re-opened by records that arrived after that (late
 * records, after the window was written): with the next window of its size that closes, so late records
 * are coalesced rather than written one invocation at a time. A level: `carryMs` after its first carried
 * record. A time window no larger than `freshUpToMs` (the flush interval): the earlier of its rule and
 * `carryMs` after its first carried record, so it is written while open too and stays as fresh as the
 * interval. Pure, so that every retry of an invocation decides the same.
 */
export function windowFlushDueAtMs(
  window: { sizeMs: number; startMs: number },
  firstArrivalMs: number,
  cadence: WindowFlushCadence,
): number {
  if (window.sizeMs <= 0) return firstArrivalMs + cadence.carryMs;
  const closesAtMs = window.startMs + window.sizeMs + cadence.graceMs;
  const due =
    firstArrivalMs < closesAtMs
      ? closesAtMs
      : Math.ceil((firstArrivalMs - cadence.graceMs) / window.sizeMs) * window.sizeMs + cadence.graceMs;
  // A window no larger than the flush interval: also written once carried carryMs, open or re-opened.
  return writtenWhileOpen(window.sizeMs, cadence) ? Math.min(due, firstArrivalMs + cadence.carryMs) : due;
}

/** A corrupt or foreign `state.carried`: the message says what was wrong. */
export class WindowStateError extends Error {
  override name = 'WindowStateError';
}

/** This batch's deltas do not fit into the window state: fail so that Lambda bisects the batch. */
export class WindowStateFullError extends Error {
  override name = 'WindowStateFullError';
}

/** A flush of the carried state was not fully durable: fail so that Lambda retries with the same state. */
export class WindowFlushError extends Error {
  override name = 'WindowFlushError';
}

/** [metric, window label, window start ms, dimension values, count, sum, min|null, max|null, hll|null, sketch|null] */
type CarriedCell = [
  string,
  string,
  number,
  string[],
  number,
  number,
  number | null,
  number | null,
  string | null,
  string | null,
];
/** [metric, window label, window size ms, ttl seconds, window start ms, counts by reason] */
type CarriedStats = [string, string, number, number, number, Record<string, number>];

/** Per carried window: [size ms, start ms, first sequence number, its arrival ms] carried since its last flush. */
type CarriedSince = Array<[number, number, string, number]>;
/** Format 1: per window size (ms, as a string key), the first sequence number and arrival carried. */
type CarriedSinceV1 = Record<string, [string, number]>;

interface CarriedJson {
  v: number;
  /** Highest sequence number (unpadded) and latest arrival (ms) of the records these deltas cover. */
  last: string;
  lastArrivalMs: number;
  since: CarriedSince | CarriedSinceV1;
  cells: CarriedCell[];
  stats: CarriedStats[];
}

interface Cell {
  metric: CompiledMetric;
  window: CompiledWindow;
  windowStartMs: number;
  dimensionValues: string[];
  count: number;
  sum: number;
  min: number;
  max: number;
  hll: HyperLogLog | null;
  sketch: DDSketch | null;
}

interface Stats {
  metricName: string;
  window: CompiledWindow;
  windowStartMs: number;
  counts: Record<string, number>;
}

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** A carried metric window (its size and start): what is flushed together. Key: {@link windowKey}. */
interface CarriedWindow {
  sizeMs: number;
  startMs: number;
  /** First sequence number (unpadded) and its arrival (ms) carried for this window since its last flush. */
  firstSequence: string;
  firstArrivalMs: number;
}

const windowKey = (sizeMs: number, startMs: number): string => sizeMs + ':' + startMs;

/** Carried deltas to write in one flush, with record indexes 0..k-1 (each window's first) and k (the state's last). */
export interface CarriedFlush {
  cells: CellDelta[];
  stats: StatsDelta[];
  positionOf: (recordIndex: number) => string;
  recordCount: number;
}

/** The deltas a window has gathered so far (not yet written), merged per counter item. */
export class WindowDeltas {
  private readonly config: CompiledConfig;
  private readonly cells = new Map<string, Cell>();
  private readonly stats = new Map<string, Stats>();
  /** Per carried metric window ({@link windowKey}): where its carried records begin. */
  private readonly since = new Map<string, CarriedWindow>();
  last: string | undefined;
  lastArrivalMs = 0;

  constructor(config: CompiledConfig) {
    this.config = config;
  }

  get isEmpty(): boolean {
    return this.cells.size === 0 && this.stats.size === 0;
  }

  get itemCount(): number {
    return this.cells.size + this.stats.size;
  }

  /** Reads `state.carried` of a Lambda window event (absent: empty). Throws {@link WindowStateError}. */
  static fromState(state: Record<string, unknown> | undefined, config: CompiledConfig): WindowDeltas {
    const out = new WindowDeltas(config);
    const raw = state?.carried as CarriedJson | undefined;
    if (raw === undefined || raw === null) return out;
    if (
      typeof raw !== 'object' ||
      (raw.v !== WINDOW_STATE_VERSION && raw.v !== 1) ||
      !Array.isArray(raw.cells) ||
      !Array.isArray(raw.stats)
    )
      throw new WindowStateError(
        `window state.carried is not format ${WINDOW_STATE_VERSION} of streamtally's window flush mode (got ${JSON.stringify(raw).slice(0, 120)})`,
      );
    out.last = raw.last;
    out.lastArrivalMs = raw.lastArrivalMs;
    if (Array.isArray(raw.since))
      for (const [sizeMs, startMs, firstSequence, firstArrivalMs] of raw.since)
        out.since.set(windowKey(sizeMs, startMs), { sizeMs, startMs, firstSequence, firstArrivalMs });
    for (const c of raw.cells) {
      const metric = config.metrics.find((m) => m.name === c[0]);
      // A `state` metric's level cells carry LEVEL_WINDOW, which is not among its (empty) windows.
      const window =
        metric?.kind === 'state' && c[1] === LEVEL_WINDOW.label
          ? LEVEL_WINDOW
          : metric?.windows.find((w) => w.label === c[1]);
      // A metric or window removed from the config since the state was returned is no longer counted.
      if (!metric || !window) continue;
      out.addCell({
        metric,
        window,
        windowStartMs: c[2],
        dimensionValues: c[3],
        count: c[4],
        sum: c[5],
        min: c[6] ?? Number.POSITIVE_INFINITY,
        max: c[7] ?? Number.NEGATIVE_INFINITY,
        hll: c[8] === null ? null : HyperLogLog.deserialize(unb64(c[8])),
        sketch: c[9] === null ? null : DDSketch.deserialize(unb64(c[9])),
      });
    }
    for (const s of raw.stats)
      out.addStats({
        metricName: s[0],
        window: { label: s[1], sizeMs: s[2], ttlSeconds: s[3] },
        windowStartMs: s[4],
        counts: s[5],
      });
    if (raw.v === 1) {
      // Format 1 kept the first record per window size: it is at or before each of that size's windows' own,
      // and after their last flush, so it is a safe start for each (a deploy meets states of format 1).
      const v1 = (raw.since ?? {}) as CarriedSinceV1;
      const mark = (sizeMs: number, startMs: number): void => {
        const first = v1[String(sizeMs)];
        if (first && !out.since.has(windowKey(sizeMs, startMs)))
          out.since.set(windowKey(sizeMs, startMs), {
            sizeMs,
            startMs,
            firstSequence: first[0],
            firstArrivalMs: first[1],
          });
      };
      for (const c of out.cells.values()) mark(c.window.sizeMs, c.windowStartMs);
      for (const st of out.stats.values()) mark(st.window.sizeMs, st.windowStartMs);
    }
    return out;
  }

  /**
   * Adds one batch's deltas. The aggregator's sketches are pooled, so they are copied, not kept. A window
   * not yet carried starts at its first record in this batch (its sequence number and arrival).
   */
  addBatch(
    cells: Iterable<CellDelta>,
    stats: ReadonlyArray<StatsDelta>,
    batch: {
      sequenceOf: (recordIndex: number) => string;
      arrivalMsOf: (recordIndex: number) => number;
      lastSequence: string;
      lastArrivalMs: number;
    },
  ): void {
    // Windows this batch starts, with their first record in it (the earliest over their items).
    const starts = new Map<string, [number, number, number]>();
    const mark = (sizeMs: number, startMs: number, firstRecord: number): void => {
      const key = windowKey(sizeMs, startMs);
      if (this.since.has(key)) return;
      const have = starts.get(key);
      if (!have || firstRecord < have[2]) starts.set(key, [sizeMs, startMs, firstRecord]);
    };
    for (const cell of cells) {
      this.addCell(cell);
      mark(cell.window.sizeMs, cell.windowStartMs, cell.firstRecord);
    }
    for (const s of stats) {
      this.addStats(s);
      mark(s.window.sizeMs, s.windowStartMs, s.firstRecord);
    }
    for (const [key, [sizeMs, startMs, first]] of starts)
      this.since.set(key, {
        sizeMs,
        startMs,
        firstSequence: batch.sequenceOf(first),
        firstArrivalMs: batch.arrivalMsOf(first),
      });
    if (this.last === undefined || padSequence(batch.lastSequence) > padSequence(this.last))
      this.last = batch.lastSequence;
    if (batch.lastArrivalMs > this.lastArrivalMs) this.lastArrivalMs = batch.lastArrivalMs;
  }

  /** Every carried window (keys for {@link flush} and {@link remove}). */
  windows(): string[] {
    return [...this.since.keys()];
  }

  /**
   * The carried windows due by the state's newest arrival ({@link windowFlushDueAtMs}). Depends on the
   * carried state only, so every retry of an invocation decides the same.
   */
  dueWindows(cadence: WindowFlushCadence): string[] {
    const due: string[] = [];
    for (const [key, w] of this.since)
      if (this.lastArrivalMs >= windowFlushDueAtMs(w, w.firstArrivalMs, cadence)) due.push(key);
    return due;
  }

  /**
   * The carried deltas of `windows`, each stamped with the positions (its window's first carried record,
   * the state's last): windows sorted by their first position take record indexes 0..k-1, the state's last
   * is index k, so positions increase with the index as the writer expects. The writer skips an item that
   * already holds the state's last (this same flush, retried) and writes any other.
   */
  flush(windows: ReadonlyArray<string>): CarriedFlush {
    const order = windows
      .map((key) => this.since.get(key))
      .filter((w): w is CarriedWindow => w !== undefined)
      .map((w) => ({ key: windowKey(w.sizeMs, w.startMs), first: padSequence(w.firstSequence) }))
      .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const indexOf = new Map(order.map((w, i) => [w.key, i]));
    const last = order.length;
    const positions = [...order.map((w) => w.first), padSequence(this.last ?? '')];
    const cells: CellDelta[] = [];
    for (const c of this.cells.values()) {
      const i = indexOf.get(windowKey(c.window.sizeMs, c.windowStartMs));
      if (i !== undefined) cells.push({ ...c, firstRecord: i, lastRecord: last });
    }
    const stats: StatsDelta[] = [];
    for (const st of this.stats.values()) {
      const i = indexOf.get(windowKey(st.window.sizeMs, st.windowStartMs));
      if (i !== undefined) stats.push({ ...st, firstRecord: i, lastRecord: last });
    }
    return { cells, stats, positionOf: (i) => positions[i], recordCount: positions.length };
  }

  /** Drops what was carried for `windows` (after it was written). */
  remove(windows: ReadonlyArray<string>): void {
    const drop = new Set(windows);
    for (const [key, c] of this.cells)
      if (drop.has(windowKey(c.window.sizeMs, c.windowStartMs))) this.cells.delete(key);
    for (const [key, st] of this.stats)
      if (drop.has(windowKey(st.window.sizeMs, st.windowStartMs))) this.stats.delete(key);
    for (const key of windows) this.since.delete(key);
  }

  private addCell(cell: Omit<CellDelta, 'firstRecord' | 'lastRecord'>): void {
    const key = cellKey(cell.metric.name, cell.window.label, cell.windowStartMs, cell.dimensionValues);
    const have = this.cells.get(key);
    if (!have) {
      let hll: HyperLogLog | null = null;
      if (cell.hll) {
        hll = new HyperLogLog(cell.hll.precision);
        hll.merge(cell.hll);
      }
      let sketch: DDSketch | null = null;
      if (cell.sketch) {
        sketch = new DDSketch(cell.sketch.relativeAccuracy, cell.sketch.maxBins);
        sketch.merge(cell.sketch);
      }
      this.cells.set(key, {
        metric: cell.metric,
        window: cell.window,
        windowStartMs: cell.windowStartMs,
        dimensionValues: [...cell.dimensionValues],
        count: cell.count,
        sum: cell.sum,
        min: cell.min,
        max: cell.max,
        hll,
        sketch,
      });
      return;
    }
    have.count += cell.count;
    have.sum += cell.sum;
    if (cell.min < have.min) have.min = cell.min;
    if (cell.max > have.max) have.max = cell.max;
    if (cell.hll) {
      have.hll ??= new HyperLogLog(cell.hll.precision);
      have.hll.merge(cell.hll);
    }
    if (cell.sketch) {
      have.sketch ??= new DDSketch(cell.sketch.relativeAccuracy, cell.sketch.maxBins);
      have.sketch.merge(cell.sketch);
    }
  }

  private addStats(s: Omit<StatsDelta, 'firstRecord' | 'lastRecord'>): void {
    const key = s.metricName + '\u0000' + s.window.label + '\u0000' + s.windowStartMs;
    const have = this.stats.get(key);
    if (!have) {
      this.stats.set(key, {
        metricName: s.metricName,
        window: s.window,
        windowStartMs: s.windowStartMs,
        counts: { ...s.counts },
      });
      return;
    }
    for (const [reason, n] of Object.entries(s.counts)) have.counts[reason] = (have.counts[reason] ?? 0) + n;
  }

  /** The JSON form for `state.carried`, and its size in bytes as Lambda counts it (UTF-8 of the JSON). */
  toJson(): { json: CarriedJson; bytes: number } {
    const cells: CarriedCell[] = [];
    for (const c of this.cells.values())
      cells.push([
        c.metric.name,
        c.window.label,
        c.windowStartMs,
        c.dimensionValues,
        c.count,
        c.sum,
        Number.isFinite(c.min) ? c.min : null,
        Number.isFinite(c.max) ? c.max : null,
        c.hll ? b64(c.hll.serialize()) : null,
        c.sketch ? b64(c.sketch.serialize()) : null,
      ]);
    const stats: CarriedStats[] = [];
    for (const s of this.stats.values())
      stats.push([s.metricName, s.window.label, s.window.sizeMs, s.window.ttlSeconds, s.windowStartMs, s.counts]);
    const since: CarriedSince = [];
    for (const w of this.since.values()) since.push([w.sizeMs, w.startMs, w.firstSequence, w.firstArrivalMs]);
    const json: CarriedJson = {
      v: WINDOW_STATE_VERSION,
      last: this.last ?? '',
      lastArrivalMs: this.lastArrivalMs,
      since,
      cells,
      stats,
    };
    return { json, bytes: Buffer.byteLength(JSON.stringify(json)) };
  }
}

function cellKey(metric: string, window: string, startMs: number, dims: ReadonlyArray<string>): string {
  let key = metric + '\u0000' + window + '\u0000' + startMs;
  for (let i = 0; i < dims.length; i++) key += '\u0000' + dims[i];
  return key;
}
