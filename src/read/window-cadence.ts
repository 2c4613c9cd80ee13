/**
 * How often window flush mode writes each window size and how old its counts can get, for the dashboard.
 * The rule is the writer's (src/pipeline/window-state.ts windowFlushDueAtMs), shared through
 * src/core/window-flush-age.ts: a window is written once, when it has closed plus the grace, at the latest
 * at its source's tumbling window's end, the lag (two batching windows) later; a window larger than the
 * flush interval is not written while it is open, so its current window shows nothing until it closes,
 * while one no larger than the interval is also written while open, as fresh as the interval.
 */
import type { MetricSource, WindowFlushSchedule } from '../core/types.js';
import {
  windowFlushMaxAgeMs,
  windowFlushWrittenEveryMs,
  writtenWhileOpen,
  type WindowFlushAgeSettings,
} from '../core/window-flush-age.js';

const SOURCES_OF: Readonly<Record<MetricSource, ReadonlyArray<'kinesis' | 'dynamodb'>>> = {
  kinesis: ['kinesis'],
  dynamodb: ['dynamodb'],
  both: ['kinesis', 'dynamodb'],
};

export interface WindowCadence {
  /** About how often this window size is written. */
  writtenEverySeconds: number;
  /** The oldest a count of this window size gets before it is in the table. */
  maxAgeSeconds: number;
  /** Written while open too (no larger than the flush interval), so the current window fills as it goes. */
  writtenWhileOpen: boolean;
}

/**
 * The cadence of a window size of a metric fed by `source`, the slowest of its sources; undefined when
 * none of them carries deltas in a tumbling window (then every batch writes every window).
 * @example
 * windowCadence(300_000, 'kinesis', { carrySeconds: 50, slackSeconds: 10, graceSeconds: 2, freshUpToSeconds: 60, tumblingSeconds: { kinesis: 900 } });
 * // { writtenEverySeconds: 300, maxAgeSeconds: 312, writtenWhileOpen: false }
 */
export function windowCadence(
  windowSizeMs: number,
  source: MetricSource,
  schedule: WindowFlushSchedule,
): WindowCadence | undefined {
  let cadence: WindowCadence | undefined;
  for (const s of SOURCES_OF[source]) {
    const tumblingSeconds = schedule.tumblingSeconds[s];
    if (tumblingSeconds === undefined) continue;
    const settings: WindowFlushAgeSettings = {
      graceMs: schedule.graceSeconds * 1000,
      // Without a carry time a level is written at the tumbling window's end.
      carryMs: (schedule.carrySeconds ?? tumblingSeconds) * 1000,
      lagMs: schedule.slackSeconds * 1000,
      tumblingWindowMs: tumblingSeconds * 1000,
      freshUpToMs: schedule.freshUpToSeconds * 1000,
    };
    const every = Math.round(windowFlushWrittenEveryMs(windowSizeMs, settings) / 1000);
    const age = Math.round(windowFlushMaxAgeMs(windowSizeMs, settings) / 1000);
    cadence = {
      writtenEverySeconds: Math.max(cadence?.writtenEverySeconds ?? 0, every),
      maxAgeSeconds: Math.max(cadence?.maxAgeSeconds ?? 0, age),
      writtenWhileOpen: (cadence?.writtenWhileOpen ?? true) && writtenWhileOpen(windowSizeMs, settings),
    };
  }
  return cadence;
}

/** The finest cadence window flush promises (FlushIntervalSeconds: carry + slack); undefined without a carry time. */
export function flushIntervalSeconds(schedule: WindowFlushSchedule): number | undefined {
  return schedule.carrySeconds === undefined ? undefined : schedule.carrySeconds + schedule.slackSeconds;
}
