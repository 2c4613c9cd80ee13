/**
 * `state` metrics: items currently in each group of a DynamoDB table (orders per status), and the
 * `changed` filter clause. Levels summed over any split of the changes into batches equal the live items
 * of the generator that made the changes (the reference model).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator, type CellDelta } from '../../../src/core/aggregator.js';
import { ConfigError } from '../../../src/core/errors.js';
import { compileConfig, LEVEL_WINDOW } from '../../../src/core/metric-config.js';
import type { AttributeMap, MetricConfig } from '../../../src/core/types.js';
import { OrderChangeGenerator, type OrderChange } from '../../../src/samples/order-changes.js';

const ORDERS_BY_STATUS: MetricConfig = {
  name: 'orders_by_status',
  kind: 'state',
  source: 'dynamodb',
  dimensions: ['status'],
  value: 'amount',
  aggregates: ['count', 'sum', 'mean'],
};
const STATUS_CHANGES: MetricConfig = {
  name: 'status_changes',
  source: 'dynamodb',
  filter: [{ eventName: ['MODIFY'] }, { changed: ['status'] }],
  dimensions: ['status'],
  aggregates: ['count'],
  windows: ['1m'],
};
const NOW = Date.parse('2026-11-30T10:00:00.000Z');

function aggregator(...metrics: MetricConfig[]): Aggregator {
  return new Aggregator(compileConfig({ metrics }));
}

function ingest(agg: Aggregator, changes: ReadonlyArray<OrderChange>): CellDelta[] {
  agg.begin();
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    agg.ingestImage(c.eventName, c.newImage, c.oldImage, i, NOW, NOW);
  }
  return agg.cells();
}

/** Levels as the level items would hold them: every batch's deltas summed per group. */
function applyLevels(levels: Map<string, { count: number; sum: number }>, cells: ReadonlyArray<CellDelta>): void {
  for (const cell of cells) {
    if (cell.metric.kind !== 'state') continue;
    const key = cell.dimensionValues.join('|');
    const level = levels.get(key) ?? { count: 0, sum: 0 };
    level.count += cell.count;
    level.sum += cell.sum;
    levels.set(key, level);
  }
}

function nonZero(levels: Map<string, { count: number; sum: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, level] of levels) if (level.count !== 0) out[key] = level.count;
  return out;
}

const order = (status: string, amount: number, extra: Record<string, AttributeMap[string]> = {}): AttributeMap => ({
  orderId: { S: 'o-1' },
  status: { S: status },
  amount: { N: String(amount) },
  ...extra,
});

describe('state metric: orders per status', () => {
  it('INSERT adds to the new group, MODIFY moves between groups, SET note moves nothing, REMOVE takes away', () => {
    // Prepare
    const agg = aggregator(ORDERS_BY_STATUS);
    const changes = [
      { eventName: 'INSERT', newImage: order('PENDING', 10) },
      { eventName: 'MODIFY', oldImage: order('PENDING', 10), newImage: order('PAID', 10) },
      { eventName: 'MODIFY', oldImage: order('PAID', 10), newImage: order('PAID', 10, { note: { S: 'x' } }) },
      { eventName: 'MODIFY', oldImage: order('PAID', 10), newImage: order('PAID', 12.5) },
    ] as OrderChange[];
    // Act
    const cells = ingest(agg, changes);
    const levels = new Map<string, { count: number; sum: number }>();
    applyLevels(levels, cells);
    // Assess
    expect(cells.every((c) => c.window === LEVEL_WINDOW)).toBe(true);
    expect(levels.get('PENDING')).toEqual({ count: 0, sum: 0 });
    expect(levels.get('PAID')).toEqual({ count: 1, sum: 12.5 });
    // Act: the order goes away
    applyLevels(levels, ingest(agg, [{ eventName: 'REMOVE', oldImage: order('PAID', 12.5) } as OrderChange]));
    // Assess
    expect(levels.get('PAID')).toEqual({ count: 0, sum: 0 });
  });

  it('keeps a group whose moves cancel out within a batch, so its write records the batch', () => {
    // Prepare: +1 then -1 in PENDING within one batch
    const agg = aggregator(ORDERS_BY_STATUS);
    // Act
    const cells = ingest(agg, [
      { eventName: 'INSERT', newImage: order('PENDING', 5) },
      { eventName: 'REMOVE', oldImage: order('PENDING', 5) },
    ] as OrderChange[]);
    // Assess
    const pending = cells.find((c) => c.dimensionValues[0] === 'PENDING');
    expect(pending).toMatchObject({ count: 0, sum: 0, firstRecord: 0, lastRecord: 1 });
  });

  it('a MODIFY without OldImage is a missing_image reject, not a guess', () => {
    // Prepare
    const agg = aggregator(ORDERS_BY_STATUS);
    // Act
    const cells = ingest(agg, [{ eventName: 'MODIFY', newImage: order('PAID', 1) } as OrderChange]);
    // Assess
    expect(cells).toEqual([]);
    expect(agg.rejected().map((r) => r.reasonName)).toEqual(['missing_image']);
  });

  it('an image whose dimension is a map is not a member; the change into it is rejected', () => {
    // Prepare
    const agg = aggregator(ORDERS_BY_STATUS);
    const bad: AttributeMap = { ...order('PAID', 1), status: { M: { code: { S: 'PAID' } } } };
    // Act
    const levels = new Map<string, { count: number; sum: number }>();
    applyLevels(levels, ingest(agg, [{ eventName: 'INSERT', newImage: order('PENDING', 1) } as OrderChange]));
    applyLevels(
      levels,
      ingest(agg, [{ eventName: 'MODIFY', oldImage: order('PENDING', 1), newImage: bad } as OrderChange]),
    );
    // Assess
    expect(nonZero(levels)).toEqual({});
    expect(agg.rejected().map((r) => r.reasonName)).toEqual(['invalid_dimension']);
  });

  it('a new image that is not typed JSON is an invalid_image reject; the item leaves its old group once', () => {
    // Prepare: an order whose new status is a bare string, not {"S": ...}
    const agg = aggregator(ORDERS_BY_STATUS);
    const untyped = { ...order('PAID', 1), status: 'PAID' } as unknown as AttributeMap;
    const levels = new Map<string, { count: number; sum: number }>();
    applyLevels(levels, ingest(agg, [{ eventName: 'INSERT', newImage: order('PENDING', 1) } as OrderChange]));
    // Act
    applyLevels(
      levels,
      ingest(agg, [{ eventName: 'MODIFY', oldImage: order('PENDING', 1), newImage: untyped } as OrderChange]),
    );
    // Assess
    expect(nonZero(levels)).toEqual({});
    expect(agg.rejected().map((r) => r.reasonName)).toEqual(['invalid_image']);
  });

  it('a REMOVE whose old image is not typed JSON is rejected and moves nothing', () => {
    // Prepare
    const agg = aggregator(ORDERS_BY_STATUS);
    const untyped = { ...order('PENDING', 1), amount: 5 } as unknown as AttributeMap;
    // Act
    const cells = ingest(agg, [{ eventName: 'REMOVE', oldImage: untyped } as OrderChange]);
    // Assess
    expect(cells.filter((c) => c.count !== 0)).toEqual([]);
    expect(agg.rejected().map((r) => r.reasonName)).toEqual(['invalid_image']);
  });

  it('levels over any split into batches equal the live orders of the generator (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 20 }),
        (seed, count, sizes) => {
          // Prepare
          const generator = new OrderChangeGenerator({ seed, startMs: NOW, targetLiveOrders: 40 });
          const changes: OrderChange[] = [];
          for (let i = 0; i < count; i++) changes.push(generator.next());
          const agg = aggregator(ORDERS_BY_STATUS, STATUS_CHANGES);
          const levels = new Map<string, { count: number; sum: number }>();
          // Act
          for (let at = 0, b = 0; at < changes.length; b++) {
            const size = sizes[b % sizes.length];
            applyLevels(levels, ingest(agg, changes.slice(at, at + size)));
            at += size;
          }
          // Assess
          expect(nonZero(levels)).toEqual(generator.statusCounts());
          const amounts = generator.statusAmounts();
          for (const [status, level] of levels) expect(level.sum).toBeCloseTo(amounts[status] ?? 0, 6);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('changed filter', () => {
  it('counts MODIFYs that change status, not those that set a note', () => {
    // Prepare
    const agg = aggregator(STATUS_CHANGES);
    // Act
    const cells = ingest(agg, [
      { eventName: 'INSERT', newImage: order('PENDING', 1) },
      { eventName: 'MODIFY', oldImage: order('PENDING', 1), newImage: order('PAID', 1) },
      { eventName: 'MODIFY', oldImage: order('PAID', 1), newImage: order('PAID', 1, { note: { S: 'n' } }) },
      { eventName: 'MODIFY', oldImage: order('PAID', 1), newImage: order('PAID', 2) },
    ] as OrderChange[]);
    // Assess
    expect(cells.map((c) => [c.dimensionValues[0], c.count])).toEqual([['PAID', 1]]);
  });

  it('treats a missing attribute as a value: an INSERT changes what it has', () => {
    // Prepare
    const agg = aggregator({ ...STATUS_CHANGES, name: 'any_status_change', filter: [{ changed: ['status'] }] });
    // Act
    const cells = ingest(agg, [
      { eventName: 'INSERT', newImage: order('PENDING', 1) },
      { eventName: 'INSERT', newImage: { orderId: { S: 'no-status' } } },
    ] as OrderChange[]);
    // Assess
    expect(cells.map((c) => [c.dimensionValues[0], c.count])).toEqual([['PENDING', 1]]);
  });
});

describe('config', () => {
  it.each([
    [{ ...ORDERS_BY_STATUS, windows: ['1m'] }, 'metrics[0].windows'],
    [{ ...ORDERS_BY_STATUS, source: 'kinesis' }, 'metrics[0].source'],
    [{ ...ORDERS_BY_STATUS, aggregates: ['count', 'p95'] }, 'metrics[0].aggregates[1]'],
    [{ ...ORDERS_BY_STATUS, filter: [{ eventName: ['INSERT'] }] }, 'metrics[0].filter[0].eventName'],
    [{ ...ORDERS_BY_STATUS, filter: [{ changed: ['status'] }] }, 'metrics[0].filter[0].changed'],
    [{ ...ORDERS_BY_STATUS, kind: 'levels' }, 'metrics[0].kind'],
    [{ ...STATUS_CHANGES, filter: [{ changed: [] }] }, 'metrics[0].filter[0].changed'],
    [{ ...STATUS_CHANGES, source: 'kinesis', filter: [{ changed: ['status'] }] }, 'metrics[0].filter[0].changed'],
  ])('rejects %j at %s', (metric, path) => {
    // Act
    let error: unknown;
    try {
      compileConfig({ metrics: [metric] });
    } catch (err) {
      error = err;
    }
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path)).toContain(path);
  });

  it('a state metric compiles without windows and defaults to source dynamodb', () => {
    const { metrics } = compileConfig({ metrics: [{ ...ORDERS_BY_STATUS, source: undefined }] });
    expect(metrics[0]).toMatchObject({ kind: 'state', source: 'dynamodb', windows: [] });
  });
});
