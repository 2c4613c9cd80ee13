/**
 * Window flush mode (WINDOW_FLUSH=true): counter deltas carried in a Lambda tumbling window's `state`
 * instead of written once per batch. Each window size is written on its own schedule (see
 * {@link WindowDeltas.dueSizes}: the finest about every WINDOW_FLUSH_CARRY_SECONDS, a coarse one once per
 * its own size), everything at the window's final invocation, and all of it early when the state is full.
 *
 * Why it stays exact. Lambda hands every invocation the state the last *successful* invocation returned;
 * a failed invocation (error, timeout) is retried, or bisected, with that same state. So:
 * - A flush only ever writes a carried state as Lambda gave it to us, never something built in the same
 *   invocation. Its deltas are stamped with one position, the highest sequence number the state covers,
 *   and written through the idempotent writer (per-shard progress). A retried flush therefore writes the
 *   same deltas with the same position: items already written skip as applied, the rest are written.
 * - What of the carried state is flushed depends on the state alone (final invocation, above
 *   {@link FLUSH_CARRIED_ABOVE_BYTES}, or a window size whose carried records span its carry time), so
 *   every retry of an invocation, bisected or not, decides the same. Each window size keeps the first
 *   sequence number carried since its last flush, so a later flush of the same items starts after it. A flush that is not fully durable fails the invocation (throws): nothing of the batch has been
 *   merged into a returned state, and Lambda retries from the same state.
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
import type { CompiledConfig, CompiledMetric, CompiledWindow } from '../core/metric-config.js';
import { DDSketch } from '../core/sketch/ddsketch.js';
import { HyperLogLog } from '../core/sketch/hyperloglog.js';
import { cellItemDelta, statsItemDelta, type ItemDelta } from '../sink/item-delta.js';
import { padSequence } from '../sink/layout.js';

/** Lambda keeps at most 1 MB of tumbling-window state per shard (Lambda developer guide, "Tumbling windows"). */
export const LAMBDA_MAX_WINDOW_STATE_BYTES = 1024 * 1024;
/** Largest state we return: Lambda's limit less a margin for the running totals and Lambda's own envelope. */
export const MAX_CARRIED_BYTES = 900 * 1024;
/**
 * An incoming state above this is flushed before the batch is merged, leaving room for one more batch's
 * deltas under {@link MAX_CARRIED_BYTES}. Decided on the incoming state only, so retries decide the same.
 */
export const FLUSH_CARRIED_ABOVE_BYTES = 512 * 1024;
/** Format of the carried deltas in `state.carried`. */
export const WINDOW_STATE_VERSION = 1;

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

/** Per window size (ms, as a string key): the first sequence number and arrival carried since its last flush. */
type CarriedSince = Record<string, [string, number]>;

interface CarriedJson {
  v: number;
  /** Highest sequence number (unpadded) and latest arrival (ms) of the records these deltas cover. */
  last: string;
  lastArrivalMs: number;
  since: CarriedSince;
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

/** The deltas a window has gathered so far (not yet written), merged per counter item. */
export class WindowDeltas {
  private readonly config: CompiledConfig;
  private readonly cells = new Map<string, Cell>();
  private readonly stats = new Map<string, Stats>();
  /** Per window size: first sequence number and arrival of the records carried for it. */
  private readonly since = new Map<number, [string, number]>();
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
      raw.v !== WINDOW_STATE_VERSION ||
      !Array.isArray(raw.cells) ||
      !Array.isArray(raw.stats)
    )
      throw new WindowStateError(
        `window state.carried is not format ${WINDOW_STATE_VERSION} of streamtally's window flush mode (got ${JSON.stringify(raw).slice(0, 120)})`,
      );
    out.last = raw.last;
    out.lastArrivalMs = raw.lastArrivalMs;
    for (const [size, value] of Object.entries(raw.since ?? {})) out.since.set(Number(size), value);
    for (const c of raw.cells) {
      const metric = config.metrics.find((m) => m.name === c[0]);
      const window = metric?.windows.find((w) => w.label === c[1]);
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
    return out;
  }

  /** Adds one batch's deltas. The aggregator's sketches are pooled, so they are copied, not kept. */
  addBatch(
    cells: Iterable<CellDelta>,
    stats: ReadonlyArray<StatsDelta>,
    batch: { firstSequence: string; lastSequence: string; firstArrivalMs: number; lastArrivalMs: number },
  ): void {
    const mark = (sizeMs: number): void => {
      if (!this.since.has(sizeMs)) this.since.set(sizeMs, [batch.firstSequence, batch.firstArrivalMs]);
    };
    for (const cell of cells) {
      this.addCell(cell);
      mark(cell.window.sizeMs);
    }
    for (const s of stats) {
      this.addStats(s);
      mark(s.window.sizeMs);
    }
    if (this.last === undefined || padSequence(batch.lastSequence) > padSequence(this.last))
      this.last = batch.lastSequence;
    if (batch.lastArrivalMs > this.lastArrivalMs) this.lastArrivalMs = batch.lastArrivalMs;
  }

  /** Window sizes carried (each flushes on its own). */
  sizes(): number[] {
    return [...this.since.keys()];
  }

  /**
   * Window sizes whose oldest carried record is `max(carryMs, size - slackMs)` older than the newest one:
   * the finest windows flush every `carryMs`, a coarse one no more often than its own size allows.
   * Depends on the carried state only, so every retry of an invocation decides the same.
   */
  dueSizes(carryMs: number, slackMs: number): number[] {
    const due: number[] = [];
    for (const [sizeMs, [, sinceArrivalMs]] of this.since)
      if (this.lastArrivalMs - sinceArrivalMs >= Math.max(carryMs, sizeMs - slackMs)) due.push(sizeMs);
    return due;
  }

  /** Drops what was carried for `sizes` (after it was written). */
  remove(sizes: ReadonlyArray<number>): void {
    const drop = new Set(sizes);
    for (const [key, c] of this.cells) if (drop.has(c.window.sizeMs)) this.cells.delete(key);
    for (const [key, st] of this.stats) if (drop.has(st.window.sizeMs)) this.stats.delete(key);
    for (const size of sizes) this.since.delete(size);
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
    const since: CarriedSince = {};
    for (const [size, value] of this.since) since[String(size)] = value;
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

  /**
   * The item deltas carried for `sizes`, each stamped with the positions (first carried for its size,
   * last of the state): a record index space of two (0 = first, 1 = last), so the writer skips an item
   * that already holds `last` (this same flush, retried) and writes any other.
   */
  toItemDeltas(
    sizes: ReadonlyArray<number>,
  ): Array<{ deltas: ItemDelta[]; positionOf: (recordIndex: number) => string }> {
    const last = padSequence(this.last ?? '');
    const out: Array<{ deltas: ItemDelta[]; positionOf: (recordIndex: number) => string }> = [];
    for (const size of sizes) {
      const first = padSequence(this.since.get(size)?.[0] ?? '');
      const deltas: ItemDelta[] = [];
      for (const c of this.cells.values())
        if (c.window.sizeMs === size) deltas.push(cellItemDelta({ ...c, firstRecord: 0, lastRecord: 1 }));
      for (const st of this.stats.values())
        if (st.window.sizeMs === size) deltas.push(statsItemDelta({ ...st, firstRecord: 0, lastRecord: 1 }));
      out.push({ deltas, positionOf: (i) => (i === 0 ? first : last) });
    }
    return out;
  }
}

function cellKey(metric: string, window: string, startMs: number, dims: ReadonlyArray<string>): string {
  let key = metric + '\u0000' + window + '\u0000' + startMs;
  for (let i = 0; i < dims.length; i++) key += '\u0000' + dims[i];
  return key;
}
