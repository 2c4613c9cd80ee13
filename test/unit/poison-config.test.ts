/**
 * Defect 6 of issue 11: bad configuration must fail at start, naming the field, instead of starting and
 * failing later (a typo silently ignored, a huge duration that throws at write time, a cap zlib refuses).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../../src/config.js';
import { ConfigError } from '../../src/core/errors.js';
import { compileConfig } from '../../src/core/metric-config.js';
import { GzipDecoder } from '../../src/sources/gzip.js';

const base = { name: 'm', aggregates: ['count'], windows: ['1m'] };

function problemsOfMetric(metric: Record<string, unknown>): string[] {
  try {
    compileConfig({ metrics: [{ ...base, ...metric }] });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

function problemsOfEnv(env: NodeJS.ProcessEnv): string[] {
  try {
    loadRuntimeConfig({ COUNTERS_TABLE: 'streamtally-dev-counters', ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe('defect 6: configuration that starts and fails later', () => {
  it('an unknown key in a filter clause is named with its path', () => {
    expect(problemsOfMetric({ filter: [{ field: 'type', equals: 'x', fomat: 'iso8601' }] })).toEqual([
      expect.stringMatching(/^metrics\[0\]\.filter\[0\]\.fomat: unknown key/),
    ]);
    expect(problemsOfMetric({ source: 'dynamodb', filter: [{ eventName: ['INSERT'], field: 'x' }] })).toEqual([
      expect.stringMatching(/^metrics\[0\]\.filter\[0\]\.field: unknown key/),
    ]);
  });

  it('an unknown key in eventTime is named with its path', () => {
    expect(problemsOfMetric({ eventTime: { field: 'ts', fomat: 'epoch_ms' } })).toEqual([
      expect.stringMatching(/^metrics\[0\]\.eventTime\.fomat: unknown key/),
    ]);
  });

  it('futureSkew, allowedLateness and retention have upper bounds', () => {
    expect(problemsOfMetric({ futureSkew: '100000000d' })).toEqual([
      expect.stringMatching(/^metrics\[0\]\.futureSkew: must be at most 1d/),
    ]);
    expect(problemsOfMetric({ allowedLateness: '100000000d' })).toEqual([
      expect.stringMatching(/^metrics\[0\]\.allowedLateness: must be at most 365d/),
    ]);
    expect(problemsOfMetric({ retention: { '1m': '100000d' } })).toEqual([
      expect.stringMatching(/^metrics\[0\]\.retention\.1m: must be at most 3650d/),
    ]);
    expect(problemsOfMetric({ futureSkew: '1d', allowedLateness: '365d', retention: { '1m': '3650d' } })).toEqual([]);
  });

  it('MAX_DECOMPRESSED_BYTES beyond what zlib accepts is refused at start, on this Node', () => {
    // Beyond buffer.constants.MAX_LENGTH zlib throws ERR_OUT_OF_RANGE on every call (Node 20: 4 GiB).
    const tooBig = String(2 ** 32 + 1);
    expect(problemsOfEnv({ MAX_DECOMPRESSED_BYTES: tooBig })).toEqual([
      expect.stringMatching(/^MAX_DECOMPRESSED_BYTES: must be a positive integer, at most 1073741824/),
    ]);
    // The bound itself works with zlib here.
    const limit = loadRuntimeConfig({
      COUNTERS_TABLE: 'streamtally-dev-counters',
      MAX_DECOMPRESSED_BYTES: '1073741824',
    });
    const gzip = new GzipDecoder(limit.maxDecompressedBytes);
    const data = gzipSync('{"a":1}');
    expect(gzip.decode(data, 0, data.length)).toBe(0);
    expect(problemsOfEnv({ MAX_DECOMPRESSED_BYTES: '1e3' })).toHaveLength(1);
    expect(problemsOfEnv({ MAX_BATCH_DECOMPRESSED_BYTES: '1000' })).toEqual([
      expect.stringMatching(/^MAX_BATCH_DECOMPRESSED_BYTES: must be at least MAX_DECOMPRESSED_BYTES/),
    ]);
  });

  it('a JSON config with a duplicate key is refused, naming the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamtally-config-'));
    const file = join(dir, 'dup.json');
    writeFileSync(
      file,
      '{"metrics": [{"name": "a", "aggregates": ["count"], "windows": ["1m"],\n "windows": ["5m"]}]}',
    );
    const problems = problemsOfEnv({ STREAMTALLY_CONFIG_FILE: file });
    expect(problems).toEqual([expect.stringMatching(/unique.*line 2/)]);
    const yamlFile = join(dir, 'dup.yaml');
    writeFileSync(yamlFile, 'metrics:\n  - name: a\n    name: b\n    aggregates: [count]\n    windows: [1m]\n');
    expect(problemsOfEnv({ STREAMTALLY_CONFIG_FILE: yamlFile })).toEqual([expect.stringMatching(/unique/)]);
  });
});
