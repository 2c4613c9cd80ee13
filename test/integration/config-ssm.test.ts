/**
 * Metric definitions from SSM Parameter Store (template.yaml: MetricDefinitions -> MetricDefinitionsParameter,
 * STREAMTALLY_CONFIG_SSM_PARAMETER), read by src/config.ts with the real SSM client from moto_server.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadReadRuntimeConfig, loadRemoteMetricDefinitions, loadRuntimeConfig } from '../../src/config.js';
import { ConfigError } from '../../src/core/errors.js';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { motoAvailable, startMoto, type LocalServer } from '../../src/local/aws/servers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn('[skip] metric definitions from SSM: moto_server is not on PATH (pip install "moto[server]")');

describe.skipIf(!HAS_MOTO)('metric definitions from an SSM parameter (moto_server)', () => {
  let moto: LocalServer;
  let ssm: SSMClient;
  const put = (Name: string, Value: string): Promise<unknown> =>
    ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite: true }));

  beforeAll(async () => {
    moto = await startMoto();
    ssm = new SSMClient(clientConfig({ endpoint: moto.endpoint }));
  });
  afterAll(async () => {
    ssm?.destroy();
    await moto?.stop();
  });

  it('both functions read the parameter instead of the bundled file', async () => {
    // Prepare: one metric the bundled file does not have.
    const name = '/streamtally/test/metric-definitions';
    await put(
      name,
      JSON.stringify({
        metrics: [{ name: 'checkout_latency', value: 'ms', aggregates: ['count', 'p95'], windows: ['1m'] }],
      }),
    );
    const env = { COUNTERS_TABLE: 'counters', STREAMTALLY_CONFIG_SSM_PARAMETER: name };
    // Act
    const remote = await loadRemoteMetricDefinitions(env, () => ssm);
    const analytics = loadRuntimeConfig(env, remote);
    const read = loadReadRuntimeConfig(env, remote);
    // Assess
    expect(analytics.metricsSource).toBe(`ssm:${name}`);
    expect(analytics.metrics.metrics.map((m) => m.name)).toEqual(['checkout_latency']);
    expect(read.metrics.metrics.map((m) => m.name)).toEqual(['checkout_latency']);
  });

  it('accepts the bundled streamtally.config.json as the parameter value, unchanged', async () => {
    const name = '/streamtally/test/bundled-copy';
    const text = readFileSync(resolve(ROOT, 'streamtally.config.json'), 'utf8');
    await put(name, text);
    const remote = await loadRemoteMetricDefinitions({ STREAMTALLY_CONFIG_SSM_PARAMETER: name }, () => ssm);
    const bundled = loadRuntimeConfig({ COUNTERS_TABLE: 'counters' });
    expect(remote?.compiled.metrics.map((m) => m.name)).toEqual(bundled.metrics.metrics.map((m) => m.name));
  });

  it('validates at cold start with the same messages as the file, naming the parameter', async () => {
    const name = '/streamtally/test/bad';
    await put(name, JSON.stringify({ metrics: [{ name: 'x', windows: ['soon'] }] }));
    const err = await loadRemoteMetricDefinitions({ STREAMTALLY_CONFIG_SSM_PARAMETER: name }, () => ssm).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/metrics\[0\]\.windows\[0\]: must be a duration/);
    expect((err as Error).message).toContain(`ssm:${name}`);
  });

  it('a missing parameter fails the cold start and says what to do', async () => {
    const err = await loadRemoteMetricDefinitions(
      { STREAMTALLY_CONFIG_SSM_PARAMETER: '/streamtally/nope' },
      () => ssm,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /STREAMTALLY_CONFIG_SSM_PARAMETER: cannot read SSM parameter \/streamtally\/nope: does not exist/,
    );
  });

  it('without the variable, nothing is fetched and the bundled file is used', async () => {
    let calls = 0;
    const remote = await loadRemoteMetricDefinitions({ STREAMTALLY_CONFIG_SSM_PARAMETER: '' }, () => {
      calls++;
      return ssm;
    });
    expect(remote).toBeUndefined();
    expect(calls).toBe(0);
    expect(loadRuntimeConfig({ COUNTERS_TABLE: 'counters' }, remote).metricsSource).toBe(
      'bundled streamtally.config.json',
    );
  });
});
