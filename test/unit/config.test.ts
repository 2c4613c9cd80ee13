/** Runtime configuration: parsed once at cold start; a bad value fails with a message naming it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadReadRuntimeConfig, loadRuntimeConfig } from '../../src/config.js';
import { ConfigError } from '../../src/core/errors.js';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadRuntimeConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('loadRuntimeConfig', () => {
  it('accepts the template environment and freezes the result, with the bundled metric definitions', () => {
    const config = loadRuntimeConfig({
      COUNTERS_TABLE: 'streamtally-dev-counters',
      FAILURE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/streamtally-dev-failures',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.metrics.metrics.map((m) => m.name)).toContain('page_views');
    expect(config.metricsSource).toBe('bundled streamtally.config.json');
  });

  it('lists every bad environment value, each named, in one error', () => {
    const problems = problemsOf({
      MAX_DECOMPRESSED_BYTES: 'lots',
      FAILURE_QUEUE_URL: 'my-queue',
      WRITE_CONCURRENCY: '-3',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^COUNTERS_TABLE: is not set/),
        expect.stringMatching(/^FAILURE_QUEUE_URL: must be an SQS queue URL/),
        expect.stringMatching(/^MAX_DECOMPRESSED_BYTES: must be a positive integer/),
        expect.stringMatching(/^WRITE_CONCURRENCY: must be a positive integer/),
      ]),
    );
  });

  it('reads YAML metric definitions from STREAMTALLY_CONFIG_FILE and names the bad field in them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamtally-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'metrics:\n  - name: views\n    aggregates: [count]\n    windows: [1m]\n');
    expect(
      loadRuntimeConfig({ COUNTERS_TABLE: 'counters', STREAMTALLY_CONFIG_FILE: good }).metrics.metrics[0].name,
    ).toBe('views');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'metrics:\n  - name: views\n    aggregates: [count]\n    windows: [fortnight]\n');
    expect(problemsOf({ COUNTERS_TABLE: 'counters', STREAMTALLY_CONFIG_FILE: bad })).toEqual([
      expect.stringMatching(/^STREAMTALLY_CONFIG_FILE metrics\[0\]\.windows\[0\]: must be a duration/),
    ]);
    expect(problemsOf({ COUNTERS_TABLE: 'counters', STREAMTALLY_CONFIG_FILE: join(dir, 'missing.json') })).toEqual([
      expect.stringMatching(/cannot read .*missing\.json/),
    ]);
  });

  it('the deployed handler module fails its cold start on a bad environment, naming the variable', async () => {
    const saved = process.env.COUNTERS_TABLE;
    delete process.env.COUNTERS_TABLE;
    try {
      await expect(import('../../src/handlers/analytics.js')).rejects.toThrow(/COUNTERS_TABLE: is not set/);
    } finally {
      if (saved !== undefined) process.env.COUNTERS_TABLE = saved;
    }
  });
});

describe('loadReadRuntimeConfig', () => {
  it('takes COUNTERS_WINDOW_INDEX when set (the upgrade deploy), absent otherwise, and names a bad one', () => {
    // Prepare
    const base = { COUNTERS_TABLE: 'streamtally-dev-counters' };
    // Act
    const plain = loadReadRuntimeConfig(base);
    const upgrade = loadReadRuntimeConfig({ ...base, COUNTERS_WINDOW_INDEX: 'byWindow' });
    const bad = ((): unknown => {
      try {
        return loadReadRuntimeConfig({ ...base, COUNTERS_WINDOW_INDEX: 'by window!' });
      } catch (err) {
        return err;
      }
    })();
    // Assess
    expect(plain.countersWindowIndex).toBeUndefined();
    expect(upgrade.countersWindowIndex).toBe('byWindow');
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).problems).toEqual([
      expect.objectContaining({ path: 'COUNTERS_WINDOW_INDEX', message: expect.stringMatching(/not a valid/) }),
    ]);
  });
});
