/**
 * FlushIntervalSeconds (issue 15): one parameter that says how old the dashboard may be, from which
 * the event source settings follow through the template's Freshness mapping; WindowFlush adds a tumbling
 * window of the same length to the Kinesis source and tells the function to carry deltas in its state.
 * Expectations come from an untagged reading of template.yaml's Mappings, not from a copy of the values.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadTemplate, type StreamEventSourceSpec } from '../../../../src/local/template/template.js';

const TEMPLATE_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../template.yaml');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const raw: Record<string, any> = parse(readFileSync(TEMPLATE_PATH, 'utf8'), { logLevel: 'silent' });
const freshness: Record<
  string,
  {
    BatchSize: number;
    BatchingWindowSeconds: number;
    WindowFlushBatchingSeconds: number;
    WindowFlushCarrySeconds: number;
    WindowFlushGraceSeconds: number;
    WindowFlushLagSeconds: number;
  }
> = raw.Mappings.Freshness;

function sourcesOf(overrides: Record<string, string | number>): {
  kinesis: StreamEventSourceSpec;
  dynamodb: StreamEventSourceSpec;
  env: Record<string, unknown>;
} {
  const template = loadTemplate(TEMPLATE_PATH, { parameterOverrides: overrides });
  const fn = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
  if (!fn) throw new Error('AnalyticsFunction missing from template.yaml');
  const kinesis = fn.streamEventSources.find((s) => s.type === 'kinesis');
  const dynamodb = fn.streamEventSources.find((s) => s.type === 'dynamodb');
  if (!kinesis || !dynamodb) throw new Error('AnalyticsFunction must have a Kinesis and a DynamoDB source');
  return { kinesis, dynamodb, env: fn.environment };
}

describe('FlushIntervalSeconds', () => {
  it('offers exactly the intervals the Freshness mapping has, and Lambda limits every entry', () => {
    // Prepare / Act
    const allowed = (raw.Parameters.FlushIntervalSeconds.AllowedValues as number[]).map(String).sort();
    // Assess
    expect(Object.keys(freshness).sort()).toEqual(allowed);
    for (const [interval, entry] of Object.entries(freshness)) {
      expect(entry.BatchSize, interval).toBeGreaterThanOrEqual(1);
      expect(entry.BatchSize, interval).toBeLessThanOrEqual(10_000); // Kinesis / DynamoDB Streams ESM maximum
      expect(entry.BatchingWindowSeconds, interval).toBeLessThanOrEqual(300); // MaximumBatchingWindowInSeconds maximum
      // "At most this old": a batch never waits longer than the interval for more records.
      expect(entry.BatchingWindowSeconds, interval).toBeLessThanOrEqual(Number(interval));
      // Window flush: a level's carry time plus the lag of two batch intervals (the mapping's comment) = the interval.
      expect(entry.WindowFlushLagSeconds, interval).toBe(2 * entry.WindowFlushBatchingSeconds);
      expect(entry.WindowFlushCarrySeconds + entry.WindowFlushLagSeconds, interval).toBe(Number(interval));
      // A window's grace for late records is short against its own size (1m is the finest window size).
      expect(entry.WindowFlushGraceSeconds, interval).toBeGreaterThanOrEqual(1);
      expect(entry.WindowFlushGraceSeconds, interval).toBeLessThan(60);
    }
  });

  it.each(Object.keys(freshness))('sets batch size and batching window of both sources at %s s', (interval) => {
    // Act
    const { kinesis, dynamodb, env } = sourcesOf({ FlushIntervalSeconds: Number(interval) });
    // Assess
    for (const source of [kinesis, dynamodb]) {
      expect(source.batchSize).toBe(freshness[interval].BatchSize);
      expect(source.maximumBatchingWindowSeconds).toBe(freshness[interval].BatchingWindowSeconds);
    }
    expect(kinesis.tumblingWindowSeconds).toBeUndefined();
    expect(env.WINDOW_FLUSH).toBe('false');
  });

  it('with WindowFlush, gives the Kinesis source a 900 s tumbling window and the function its carry times', () => {
    // Act
    const { kinesis, dynamodb, env } = sourcesOf({ FlushIntervalSeconds: 60, WindowFlush: 'true' });
    // Assess
    expect(kinesis.tumblingWindowSeconds).toBe(900); // Lambda's maximum TumblingWindowInSeconds
    expect(kinesis.maximumBatchingWindowSeconds).toBe(freshness['60'].WindowFlushBatchingSeconds);
    expect(dynamodb.tumblingWindowSeconds).toBe(60); // DynamoDB Streams keeps its shard-naming window
    expect(env.WINDOW_FLUSH).toBe('true');
    expect(env.WINDOW_FLUSH_CARRY_SECONDS).toBe(String(freshness['60'].WindowFlushCarrySeconds));
    expect(env.WINDOW_FLUSH_GRACE_SECONDS).toBe(String(freshness['60'].WindowFlushGraceSeconds));
  });

  it.each([
    ...Object.keys(freshness).map((interval) => ({ FlushIntervalSeconds: Number(interval), WindowFlush: 'true' })),
    { FlushIntervalSeconds: 60, WindowFlush: 'false' },
  ])('tells the read function the window flush schedule the analytics function runs (%o)', (overrides) => {
    // Act
    const { kinesis, dynamodb, env } = sourcesOf(overrides);
    const read = loadTemplate(TEMPLATE_PATH, { parameterOverrides: overrides }).functions.find(
      (f) => f.logicalId === 'ReadApiFunction',
    );
    // Assess: the same variables, and the tumbling window each source actually has
    for (const name of [
      'WINDOW_FLUSH',
      'WINDOW_FLUSH_CARRY_SECONDS',
      'WINDOW_FLUSH_GRACE_SECONDS',
      'WINDOW_FLUSH_FRESH_UP_TO_SECONDS',
    ])
      expect(read?.environment[name], name).toBe(env[name]);
    // ... and the lag (2 batching windows) after a window is due until it is written, which the analytics
    // function does not need to be told (core/window-flush-age.ts windowFlushMaxAgeMs).
    expect(read?.environment.WINDOW_FLUSH_SLACK_SECONDS).toBe(
      String(freshness[String(overrides.FlushIntervalSeconds)].WindowFlushLagSeconds),
    );
    expect(read?.environment.KINESIS_TUMBLING_WINDOW_SECONDS).toBe(String(kinesis.tumblingWindowSeconds ?? ''));
    expect(read?.environment.DYNAMODB_TUMBLING_WINDOW_SECONDS).toBe(String(dynamodb.tumblingWindowSeconds ?? ''));
  });

  it('rejects an interval outside the mapping, naming the parameter', () => {
    expect(() => sourcesOf({ FlushIntervalSeconds: 30 })).toThrow(/FlushIntervalSeconds = 30 is not one of/);
    expect(() => sourcesOf({ WindowFlush: 'yes' })).toThrow(/WindowFlush = yes is not one of/);
  });
});
