/**
 * The metric definitions every benchmark case runs: three metrics with two dimensions each over two
 * window sizes (count, sum, min, max), and one metric with a distinct count of `user.id` and p95.
 */
import { compileConfig, type CompiledConfig } from '../src/core/metric-config.js';
import type { StreamtallyConfig } from '../src/core/types.js';

export const BENCH_METRIC_DEFINITIONS: StreamtallyConfig = {
  metrics: [
    {
      name: 'page_views',
      filter: [{ field: 'type', equals: 'page_view' }],
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country', 'page'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'min', 'max'],
      windows: ['1m', '5m'],
    },
    {
      name: 'interactions',
      filter: [{ field: 'type', in: ['click', 'add_to_cart'] }],
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['device.kind', 'country'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'min', 'max'],
      windows: ['1m', '5m'],
    },
    {
      name: 'purchases',
      filter: [{ field: 'type', equals: 'purchase' }],
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country', 'user.plan'],
      value: 'amount',
      aggregates: ['count', 'sum', 'min', 'max'],
      windows: ['1m', '5m'],
    },
    {
      name: 'users_latency',
      filter: [{ field: 'user.id', exists: true }],
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['device.browser'],
      value: 'latencyMs',
      distinctField: 'user.id',
      aggregates: ['count', 'sum', 'min', 'max', 'distinct', 'p95'],
      windows: ['1m', '5m'],
    },
  ],
};

export function compileBenchConfig(): CompiledConfig {
  return compileConfig(BENCH_METRIC_DEFINITIONS, 'bench/bench-config.ts');
}

/**
 * Only count, sum, min and max (the three metrics above without distinct or quantiles): the config where
 * the conventional code does exactly what the config asks and nothing more (issue 15).
 */
export function compileCountSumMinMaxConfig(): CompiledConfig {
  return compileConfig(
    {
      metrics: BENCH_METRIC_DEFINITIONS.metrics.filter(
        (m) => !m.distinctField && m.aggregates.every((a) => ['count', 'sum', 'min', 'max'].includes(a)),
      ),
    },
    'bench/bench-config.ts (count/sum/min/max)',
  );
}
