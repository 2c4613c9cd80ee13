/** WINDOW_FLUSH (template parameter WindowFlush): "true" or "false", anything else fails the cold start. */
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../../src/config.js';
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
