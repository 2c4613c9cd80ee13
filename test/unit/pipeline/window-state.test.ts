/**
 * The cadence rule of window flush mode (issue 15): when a carried window is written and how old its
 * counts can get, and reading a carried state of the previous format (a deploy meets in-flight states).
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../../src/core/metric-config.js';
import { padSequence } from '../../../src/sink/layout.js';
import { WindowDeltas, windowFlushDueAtMs, type WindowFlushCadence } from '../../../src/pipeline/window-state.js';
import { windowFlushMaxAgeMs } from '../../../src/core/window-flush-age.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const CADENCE: WindowFlushCadence = { graceMs: 2_000, carryMs: 50_000 };

describe('windowFlushDueAtMs', () => {
  it('writes a time window once the carried records reach its end plus the grace', () => {
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 5_000, CADENCE)).toBe(T0 + MINUTE + 2_000);
    expect(windowFlushDueAtMs({ sizeMs: 5 * MINUTE, startMs: T0 }, T0, CADENCE)).toBe(T0 + 5 * MINUTE + 2_000);
  });

  it('writes a window re-opened by late records with the next window of its size that closes', () => {
    // The 10:00 window was written at 10:01:02; a record of it arriving at 10:01:30 waits for 10:02:02.
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 90_000, CADENCE)).toBe(T0 + 2 * MINUTE + 2_000);
    // Exactly on a boundary: due at once.
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 2 * MINUTE + 2_000, CADENCE)).toBe(
      T0 + 2 * MINUTE + 2_000,
    );
  });

  it('writes a level (size 0, never closes) once carried carryMs', () => {
    expect(windowFlushDueAtMs({ sizeMs: 0, startMs: 0 }, T0 + 7, CADENCE)).toBe(T0 + 7 + 50_000);
  });
});

describe('windowFlushDueAtMs with freshUpToMs (windows no larger than the flush interval)', () => {
  const FRESH: WindowFlushCadence = { ...CADENCE, freshUpToMs: MINUTE };
  it('writes such a window once carried carryMs, open or re-opened, or at its close if that is sooner', () => {
    // First carried record at 10:00:05: due at 10:00:55, before its close at 10:01:02.
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 5_000, FRESH)).toBe(T0 + 55_000);
    // First carried record at 10:00:30 (the rest after a write): due at its close, 10:01:02.
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 30_000, FRESH)).toBe(T0 + MINUTE + 2_000);
    // Re-opened by a late record at 10:01:30: with the next 1m close, 10:02:02, sooner than carryMs (10:02:20).
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 90_000, FRESH)).toBe(T0 + 2 * MINUTE + 2_000);
    // ... at 10:01:05: carryMs later (10:01:55), sooner than the next close.
    expect(windowFlushDueAtMs({ sizeMs: MINUTE, startMs: T0 }, T0 + 65_000, FRESH)).toBe(T0 + 115_000);
    // A 5m window is larger than the interval: its close, as without freshUpToMs.
    expect(windowFlushDueAtMs({ sizeMs: 5 * MINUTE, startMs: T0 }, T0, FRESH)).toBe(T0 + 5 * MINUTE + 2_000);
  });

  it('keeps such a window as fresh as the interval: carry + 2 batching windows', () => {
    const settings = { ...FRESH, lagMs: 2 * 5_000, tumblingWindowMs: 900_000 }; // 2 batching windows of 5 s
    expect(windowFlushMaxAgeMs(MINUTE, settings)).toBe(60_000);
    expect(windowFlushMaxAgeMs(5 * MINUTE, settings)).toBe(312_000);
  });
});

describe('windowFlushMaxAgeMs', () => {
  const settings = { ...CADENCE, lagMs: 2 * 5_000, tumblingWindowMs: 900_000 }; // 2 batching windows of 5 s
  it('is the window plus the grace plus two batching windows, at most the tumbling window for coarse ones', () => {
    expect(windowFlushMaxAgeMs(MINUTE, settings)).toBe(72_000);
    expect(windowFlushMaxAgeMs(5 * MINUTE, settings)).toBe(312_000);
    expect(windowFlushMaxAgeMs(60 * MINUTE, settings)).toBe(910_000);
    expect(windowFlushMaxAgeMs(0, settings)).toBe(60_000); // a level: carry + 2 batches = the interval
  });
});

describe('WindowDeltas.fromState', () => {
  const config = compileConfig({
    metrics: [{ name: 'views', dimensions: ['page'], aggregates: ['count'], windows: ['1m', '5m'] }],
  });

  it('reads format 1 (first record per window size) as a start for each window of that size', () => {
    // Prepare: what the previous release returned, two 1m windows and one 5m window carried.
    const state = {
      carried: {
        v: 1,
        last: '900',
        lastArrivalMs: T0 + 70_000,
        since: { [String(MINUTE)]: ['100', T0 + 1_000], [String(5 * MINUTE)]: ['100', T0 + 1_000] },
        cells: [
          ['views', '1m', T0, ['/a'], 3, 0, null, null, null, null],
          ['views', '1m', T0 + MINUTE, ['/a'], 2, 0, null, null, null, null],
          ['views', '5m', T0, ['/a'], 5, 0, null, null, null, null],
        ],
        stats: [],
      },
    };
    // Act
    const carried = WindowDeltas.fromState(state, config);
    const due = carried.dueWindows(CADENCE);
    const flush = carried.flush(due);
    // Assess: only the closed 10:00 1m window is due; it is written from the format-1 start to the state's last.
    expect(due).toEqual([`${MINUTE}:${T0}`]);
    expect(flush.cells.map((c) => [c.window.label, c.windowStartMs, c.count])).toEqual([['1m', T0, 3]]);
    expect([flush.positionOf(0), flush.positionOf(flush.recordCount - 1)]).toEqual([
      padSequence('100'),
      padSequence('900'),
    ]);
    expect(carried.windows()).toHaveLength(3);
  });
});
