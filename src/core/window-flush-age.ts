/**
 * How old a count can be in window flush mode, shared by the writer's cadence rule
 * (src/pipeline/window-state.ts windowFlushDueAtMs) and the read API, which tells the dashboard.
 *
 * A time window is written once, when the carried records reach its end plus the grace (late records
 * still join it), at the latest at the tumbling window's end (its final invocation writes everything);
 * a level (a `state` metric, window size 0, never closes) once carried `carryMs`. The flush is decided on
 * the incoming state, which the next invocation writes: add the lag, two batching windows. Open windows are
 * not written in part, so the newest window of each size on the dashboard is the last one that closed.
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
}

/**
 * The oldest a count of a window of `sizeMs` gets before it is in the table.
 * @example
 * windowFlushMaxAgeMs(60_000, { graceMs: 2_000, carryMs: 50_000, lagMs: 10_000, tumblingWindowMs: 900_000 }); // 72_000
 */
export function windowFlushMaxAgeMs(sizeMs: number, settings: WindowFlushAgeSettings): number {
  const carried = sizeMs <= 0 ? settings.carryMs : Math.min(sizeMs + settings.graceMs, settings.tumblingWindowMs);
  return carried + settings.lagMs;
}

/** How often a window of `sizeMs` is written: once per window, at least once per tumbling window. */
export function windowFlushWrittenEveryMs(sizeMs: number, settings: WindowFlushAgeSettings): number {
  return sizeMs <= 0 ? settings.carryMs + settings.lagMs : Math.min(sizeMs, settings.tumblingWindowMs);
}
