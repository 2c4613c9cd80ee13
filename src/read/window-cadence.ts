/**
 * How often window flush mode writes each window size, for the dashboard's "how old can this be". It
 * follows the flush rule of src/pipeline/window-state.ts (WindowDeltas.dueSizes) and the template's
 * Freshness mapping: a size's carried deltas are due once they span max(carry, size - slack) seconds of
 * arrival time and are written by the next invocation, the slack later (two batches); and everything
 * carried is written at the tumbling window's end. So a window size is written about every
 * max(carry + slack, size) seconds, and at least once per tumbling window.
 */
import type { MetricSource, WindowFlushSchedule } from '../core/types.js';

const SOURCES_OF: Readonly<Record<MetricSource, ReadonlyArray<'kinesis' | 'dynamodb'>>> = {
  kinesis: ['kinesis'],
  dynamodb: ['dynamodb'],
  both: ['kinesis', 'dynamodb'],
};

/**
 * Seconds between two writes of a window size of a metric fed by `source`, the slowest of its sources;
 * undefined when none of them carries deltas in a tumbling window (then every batch writes).
 * @example
 * writtenEverySeconds(300_000, 'kinesis', { carrySeconds: 40, slackSeconds: 20, tumblingSeconds: { kinesis: 900 } }); // 300
 */
export function writtenEverySeconds(
  windowSizeMs: number,
  source: MetricSource,
  schedule: WindowFlushSchedule,
): number | undefined {
  let every: number | undefined;
  for (const s of SOURCES_OF[source]) {
    const tumblingSeconds = schedule.tumblingSeconds[s];
    if (tumblingSeconds === undefined) continue;
    const dueSeconds = Math.max((schedule.carrySeconds ?? Infinity) + schedule.slackSeconds, windowSizeMs / 1000);
    every = Math.max(every ?? 0, Math.min(tumblingSeconds, dueSeconds));
  }
  return every;
}

/** The finest cadence window flush promises (FlushIntervalSeconds: carry + slack); undefined without a carry time. */
export function flushIntervalSeconds(schedule: WindowFlushSchedule): number | undefined {
  return schedule.carrySeconds === undefined ? undefined : schedule.carrySeconds + schedule.slackSeconds;
}
