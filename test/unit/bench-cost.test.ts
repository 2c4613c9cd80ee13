/**
 * The cost benchmark reads its freshness settings from template.yaml (through the local template reader)
 * and its metrics from the pinned copy of the demo config, so neither is a second copy that can drift.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { demoConfig, freshnessSettings } from '../../bench/cost.bench.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const raw: Record<string, any> = parse(readFileSync(new URL('../../template.yaml', import.meta.url), 'utf8'), {
  logLevel: 'silent',
});

describe('cost benchmark inputs', () => {
  it('runs every plain interval up to the batching limit and every window flush interval from 60 s', () => {
    const { settings, memorySizeMb } = freshnessSettings();
    const mapping = raw.Mappings.Freshness as Record<string, { BatchSize: number; BatchingWindowSeconds: number }>;
    for (const s of settings) {
      expect(s.batchSize).toBe(mapping[String(s.flushIntervalSeconds)].BatchSize);
      if (!s.windowFlush)
        expect(s.batchingWindowSeconds).toBe(mapping[String(s.flushIntervalSeconds)].BatchingWindowSeconds);
      else expect([s.tumblingWindowSeconds, s.carrySeconds !== undefined]).toEqual([900, true]);
    }
    expect(settings.filter((s) => s.windowFlush).map((s) => s.flushIntervalSeconds)).toEqual([60, 300, 900]);
    expect(memorySizeMb).toBe(raw.Globals.Function.MemorySize ?? raw.Resources.AnalyticsFunction.Properties.MemorySize);
  });

  it('pins the Kinesis metrics of the demo config at 422d27f: page_views, distinct_users, purchases', () => {
    expect(demoConfig().metrics.map((m) => `${m.name}:${m.windows.map((w) => w.label).join('/')}`)).toEqual([
      'page_views:1m/5m/1h',
      'distinct_users:1m/1h',
      'purchases:1m/1h',
    ]);
  });
});
