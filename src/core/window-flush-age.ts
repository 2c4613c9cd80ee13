/**
 * How old a count can be in window flush mode, shared by the writer's cadence rule
 * (src/pipeline/window-state.ts windowFlushDueAtMs) and the read API, which tells the dashboard.
 *
 * A time window is written once, when the carried records reach its end plus the grace (late records
 * still join it), at the latest at the tumbling window's end (its final invocation writes everything);
 * a level (a `state` metric, window size 0, never closes) once carried `carryMs`. The flush is decided on
 * the incoming state, which the next invocation writes: add the lag, two batching windows. Open windows are
 * not written in part, so the newest window of each size on the dashboard is the last one that closed;
 * except a window no larger than the flush interval (`freshUpToMs`), which waiting for its close would
 * make older than the interval promises: it is written every `carryMs` while open too, and at its close.
 */
export interface WindowFlushAgeSettings {
  /** A time window is written once the carried records reach its end plus this. */
  readonly graceMs: number;
  /** A level is written once carried this long. */
  readonly carryMs: number;
  /** From due to durable: two batching windows. */
  readonly lagMs: number;
  /** The source's TumblingWindowInSeconds, in ms. */
  readonly tumblingWindowMs: number;
  /** Windows up to this size (FlushIntervalSeconds) are also written while open, every `carryMs`. */
  readonly freshUpToMs?: number;
}

/** A window of `sizeMs` is written while open too (every carryMs), not only once it has closed. */
export function writtenWhileOpen(sizeMs: number, settings: Pick<WindowFlushAgeSettings, 'freshUpToMs'>): boolean {
  return sizeMs > 0 && sizeMs <= (settings.freshUpToMs ?? 0);
}

/**
 * The oldest a count of a window of `sizeMs` gets before it is in the table.
 * @example
 * windowFlushMaxAgeMs(60_000, { graceMs: 2_000, carryMs: 50_000, lagMs: 10_000, tumblingWindowMs: 900_000 }); // 72_000
 */
export function windowFlushMaxAgeMs(sizeMs: number, settings: WindowFlushAgeSettings): number {
  let carried = sizeMs <= 0 ? settings.carryMs : Math.min(sizeMs + settings.graceMs, settings.tumblingWindowMs);
  if (writtenWhileOpen(sizeMs, settings)) carried = Math.min(carried, settings.carryMs);
  return carried + settings.lagMs;
}

/** How often a window of `sizeMs` is written: once per window, at least once per tumbling window. */
export function windowFlushWrittenEveryMs(sizeMs: number, settings: WindowFlushAgeSettings): number {
  if (sizeMs <= 0) return settings.carryMs + settings.lagMs;
  const once = Math.min(sizeMs, settings.tumblingWindowMs);
  return writtenWhileOpen(sizeMs, settings) ? Math.min(once, settings.carryMs + settings.lagMs) : once;
}
