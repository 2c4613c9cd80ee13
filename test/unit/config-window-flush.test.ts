/** WINDOW_FLUSH (template parameter WindowFlush): "true" or "false", anything else fails the cold start. */
import { describe, expect, it } from 'vitest';
import { loadReadRuntimeConfig, loadRuntimeConfig } from '../../src/config.js';
import { ConfigError } from '../../src/core/errors.js';

const BASE = { COUNTERS_TABLE: 'streamtally-dev-counters' };

describe('WINDOW_FLUSH', () => {
  it('is off unless set to "true"', () => {
    expect(loadRuntimeConfig(BASE).windowFlush).toBe(false);
    expect(loadRuntimeConfig({ ...BASE, WINDOW_FLUSH: 'false' }).windowFlush).toBe(false);
    expect(loadRuntimeConfig({ ...BASE, WINDOW_FLUSH: 'true' }).windowFlush).toBe(true);
  });

  it('names the variable and the allowed values when it is anything else', () => {
    let caught: unknown;
    try {
      loadRuntimeConfig({ ...BASE, WINDOW_FLUSH: 'yes' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      { path: 'WINDOW_FLUSH', message: 'must be "true" or "false" (got "yes")' },
    ]);
  });
});

describe('WINDOW_FLUSH_GRACE_SECONDS / WINDOW_FLUSH_CARRY_SECONDS', () => {
  it('are read as positive integers, unset by default', () => {
    expect(loadRuntimeConfig(BASE).windowFlushGraceSeconds).toBeUndefined();
    expect(loadRuntimeConfig(BASE).windowFlushCarrySeconds).toBeUndefined();
    const config = loadRuntimeConfig({ ...BASE, WINDOW_FLUSH_GRACE_SECONDS: '2', WINDOW_FLUSH_CARRY_SECONDS: '50' });
    expect([config.windowFlushGraceSeconds, config.windowFlushCarrySeconds]).toEqual([2, 50]);
  });

  it('name the variable when a value is not a positive integer', () => {
    expect(() => loadRuntimeConfig({ ...BASE, WINDOW_FLUSH_CARRY_SECONDS: 'soon' })).toThrow(
      /WINDOW_FLUSH_CARRY_SECONDS/,
    );
    expect(() => loadRuntimeConfig({ ...BASE, WINDOW_FLUSH_GRACE_SECONDS: '-1' })).toThrow(
      /WINDOW_FLUSH_GRACE_SECONDS/,
    );
  });
});

describe('the read function: loadReadRuntimeConfig windowFlushSchedule', () => {
  it('is undefined unless WINDOW_FLUSH is "true"; a source without a tumbling window is left out', () => {
    expect(loadReadRuntimeConfig(BASE).windowFlushSchedule).toBeUndefined();
    expect(
      loadReadRuntimeConfig({ ...BASE, WINDOW_FLUSH: 'false', KINESIS_TUMBLING_WINDOW_SECONDS: '900' })
        .windowFlushSchedule,
    ).toBeUndefined();
    expect(
      loadReadRuntimeConfig({
        ...BASE,
        WINDOW_FLUSH: 'true',
        WINDOW_FLUSH_CARRY_SECONDS: '40',
        WINDOW_FLUSH_SLACK_SECONDS: '20',
        KINESIS_TUMBLING_WINDOW_SECONDS: '',
        DYNAMODB_TUMBLING_WINDOW_SECONDS: '60',
      }).windowFlushSchedule,
    ).toEqual({
      carrySeconds: 40,
      slackSeconds: 20,
      graceSeconds: 0,
      freshUpToSeconds: 0,
      tumblingSeconds: { dynamodb: 60 },
    });
  });

  it('names the variable when a tumbling window is not 1 to 900 seconds', () => {
    expect(() =>
      loadReadRuntimeConfig({ ...BASE, WINDOW_FLUSH: 'true', KINESIS_TUMBLING_WINDOW_SECONDS: '3600' }),
    ).toThrow(/KINESIS_TUMBLING_WINDOW_SECONDS: must be a positive integer, at most 900/);
  });
});
