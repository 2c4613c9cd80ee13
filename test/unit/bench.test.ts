/**
 * The benchmark compares like with like: on the same batch, streamtally's core and the conventional
 * baseline must produce the same counters (keys, counts, sums, min, max), and agree on distinct counts
 * and p95 within the sketches' stated accuracy. Times are never asserted here.
 */
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../bench/batch.js';
import { compileBenchConfig } from '../../bench/bench-config.js';
import { medianRatio } from '../../bench/measure.js';
import {
  BaselineCase,
  CoreCase,
  DecodeOnlyCase,
  FloorCase,
  aggregateBaseline,
  finishBaseline,
} from '../../bench/cases.js';

const RECORDS = 100;

function keyOf(metric: string, dims: ReadonlyArray<string>, window: string, windowStartMs: number): string {
  return `${metric}|${dims.join('|')}|${window}|${windowStartMs}`;
}

describe('benchmark cases', () => {
  it('core and baseline produce the same counters on the same batch', () => {
    // Prepare
    const config = compileBenchConfig();
    const batch = buildBatch(RECORDS);
    const core = new CoreCase(config);

    // Act
    core.run(batch.records);
    const coreCells = core.aggregator.cells();
    const baseline = aggregateBaseline(batch.records, config);

    // Assess
    expect(core.aggregator.rejected()).toEqual([]);
    const fromCore = new Map(
      coreCells.map((c) => [keyOf(c.metric.name, c.dimensionValues, c.window.label, c.windowStartMs), c]),
    );
    expect([...fromCore.keys()].sort()).toEqual([...baseline.keys()].sort());
    for (const [key, b] of baseline) {
      const c = fromCore.get(key)!;
      expect({ key, count: c.count, sum: c.sum, min: c.min, max: c.max }).toEqual({
        key,
        count: b.count,
        sum: b.sum,
        min: b.min,
        max: b.max,
      });
    }
    // Every metric and both window sizes are exercised, not just one easy path.
    expect(new Set(coreCells.map((c) => c.metric.name)).size).toBe(config.metrics.length);
    expect(new Set(coreCells.map((c) => c.window.label))).toEqual(new Set(['1m', '5m']));
  });

  it('distinct counts and p95 agree within HyperLogLog and DDSketch accuracy', () => {
    // Prepare
    const config = compileBenchConfig();
    const batch = buildBatch(RECORDS);
    const core = new CoreCase(config);

    // Act
    core.run(batch.records);
    const baseline = aggregateBaseline(batch.records, config);
    finishBaseline(baseline); // sorts the p95 arrays

    // Assess
    let checked = 0;
    for (const c of core.aggregator.cells()) {
      if (!c.hll || !c.sketch) continue;
      const b = baseline.get(keyOf(c.metric.name, c.dimensionValues, c.window.label, c.windowStartMs))!;
      const exactDistinct = b.distinct!.size;
      // HLL at these cardinalities (< 100) is in its small-range regime: within a few percent, and at least 1.
      expect(Math.abs(c.hll.estimate() - exactDistinct)).toBeLessThanOrEqual(Math.max(1, 0.05 * exactDistinct));
      const values = b.values!;
      const exactP95 = values[Math.floor(0.95 * (values.length - 1))];
      expect(Math.abs(c.sketch.quantile(0.95) - exactP95)).toBeLessThanOrEqual(0.01 * exactP95 + 1e-9);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('the input is realistic: escapes, non-ASCII, nulls and nested objects, no late events', () => {
    // Prepare / Act
    const batch = buildBatch(RECORDS);
    const first = JSON.parse(Buffer.from(batch.records[0].kinesis.data, 'base64').toString()) as Record<
      string,
      unknown
    >;

    // Assess
    expect(batch.escapedRecords).toBeGreaterThan(0);
    expect(batch.nonAsciiRecords).toBeGreaterThan(0);
    expect(batch.payloadBytes / RECORDS).toBeGreaterThan(180);
    expect(batch.payloadBytes / RECORDS).toBeLessThan(320);
    expect(typeof first.user).toBe('object');
    let withNull = 0;
    for (const r of batch.records) {
      expect(r.kinesis.sequenceNumber).toMatch(/^\d{56}$/);
      const event = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as Record<string, unknown> & {
        ts: string;
      };
      if (Object.values(event).includes(null)) withNull++;
      expect(r.kinesis.approximateArrivalTimestamp * 1000).toBeGreaterThanOrEqual(Date.parse(event.ts));
    }
    expect(withNull).toBeGreaterThan(0);
  });

  it('every case returns a value that depends on the input, so none can be dead code', () => {
    // Prepare
    const config = compileBenchConfig();
    const batch = buildBatch(RECORDS);
    const smaller = batch.records.slice(0, RECORDS / 2);

    // Act / Assess
    for (const c of [
      new CoreCase(config),
      new BaselineCase(config),
      new FloorCase(),
      ...(['count', 'validate', 'scan', 'json-parse'] as const).map((sink) => new DecodeOnlyCase(config, sink)),
    ]) {
      expect(c.run(batch.records)).toBeGreaterThan(0);
      expect(c.run(smaller)).not.toBe(c.run(batch.records));
    }
  });
});

describe('medianRatio', () => {
  it('takes the ratio round by round, so a slow round moves both sides and not the result', () => {
    // Round 3 ran on a loaded machine: both cases took 10x as long, their ratio stayed 2.
    const baseline = [40, 42, 400, 41, 39];
    const core = [20, 21, 200, 20, 20];
    expect(medianRatio(baseline, core)).toBeCloseTo(2, 1);
    // The ratio of the medians would pair samples of different rounds.
    expect(medianRatio([1, 10, 100], [1, 1, 1])).toBe(10);
    expect(medianRatio([3, 3, 3], [1, 2, 3])).toBe(1.5);
  });
});
