/**
 * The metric set of the fault-injection suites (exactness*.test.ts): every aggregate kind (count, sum, min,
 * max, a quantile, a distinct count), two window sizes and a filter, over the clickstream events.
 */
import type { MetricConfig, StreamtallyConfig } from '../../src/core/types.js';

/** `each` is merged into every metric (e.g. `{ allowedLateness: '2h' }`). */
export function exactnessMetrics(each: Partial<MetricConfig> = {}): StreamtallyConfig {
  return {
    metrics: [
      {
        name: 'views',
        filter: [{ field: 'type', equals: 'page_view' }],
        eventTime: { field: 'ts', format: 'iso8601' },
        dimensions: ['country', 'page'],
        value: 'latencyMs',
        aggregates: ['count', 'sum', 'min', 'max', 'p95'],
        windows: ['1m', '5m'],
        ...each,
      },
      {
        name: 'users',
        eventTime: { field: 'ts', format: 'iso8601' },
        dimensions: ['user.plan'],
        distinctField: 'user.id',
        aggregates: ['count', 'distinct'],
        windows: ['1m'],
        ...each,
      },
      {
        name: 'sales',
        filter: [{ field: 'type', in: ['purchase'] }],
        eventTime: { field: 'ts', format: 'iso8601' },
        dimensions: ['country'],
        value: 'amount',
        aggregates: ['count', 'sum', 'max', 'min'],
        windows: ['1m'],
        ...each,
      },
    ],
  };
}
