/**
 * What `sam build` produces: each function bundled by esbuild with the BuildProperties template.yaml
 * declares, then the bundle loaded like Lambda loads it and invoked on a sample batch against dynalite.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { loadTemplate } from '../../src/local/template/template.js';
import { createCountersTable, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { lambdaContext } from '../helpers/kinesis-batch.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface BuildProperties {
  EntryPoints: string[];
  Format?: 'esm' | 'cjs';
  OutExtension?: string[];
  Target?: string;
  Sourcemap?: boolean;
  Minify?: boolean;
  Banner?: string[];
}

function keyValues(list: string[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

/** Bundles one function as SAM's esbuild builder would, from the template's own settings. */
async function bundle(logicalId: string, outdir: string): Promise<string> {
  const resources = loadTemplate().document.Resources as Record<
    string,
    { Metadata?: { BuildMethod?: string; BuildProperties?: BuildProperties } }
  >;
  const metadata = resources[logicalId].Metadata;
  expect(metadata?.BuildMethod).toBe('esbuild');
  const props = metadata?.BuildProperties as BuildProperties;
  const outExtension = keyValues(props.OutExtension);
  await build({
    absWorkingDir: ROOT,
    entryPoints: props.EntryPoints,
    bundle: true,
    platform: 'node',
    format: props.Format ?? 'cjs',
    target: props.Target,
    sourcemap: props.Sourcemap,
    minify: props.Minify,
    outExtension,
    banner: keyValues(props.Banner),
    outdir,
    logLevel: 'silent',
  });
  const entry = props.EntryPoints[0].replace(/^.*\//, '').replace(/\.ts$/, '');
  return join(outdir, entry + (outExtension['.js'] ?? '.js'));
}

let dynalite: LocalServer;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite?.stop();
});

describe('bundles built with template.yaml esbuild settings (what sam build makes)', () => {
  it('the analytics bundle loads like Lambda loads it and counts a sample batch', async () => {
    const file = await bundle('AnalyticsFunction', mkdtempSync(join(tmpdir(), 'streamtally-bundle-')));
    const client = localDynamoClient(dynalite.endpoint);
    await createCountersTable(client, 'bundle-counters');
    Object.assign(process.env, {
      COUNTERS_TABLE: 'bundle-counters',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const mod = (await import(pathToFileURL(file).href)) as {
      handler: (e: unknown, c: unknown) => Promise<{ batchItemFailures: unknown[] }>;
    };
    const event = JSON.parse(readFileSync(join(ROOT, 'events/kinesis-clickstream.json'), 'utf8'));
    const response = await mod.handler(event, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await scanCounters(client, 'bundle-counters')).size).toBeGreaterThan(0);
  });

  it('the read API bundle loads and serves the dashboard page', async () => {
    const file = await bundle('ReadApiFunction', mkdtempSync(join(tmpdir(), 'streamtally-bundle-')));
    const mod = (await import(pathToFileURL(file).href)) as {
      handler: (
        e: unknown,
        c: unknown,
      ) => Promise<{ statusCode: number; body: string; headers?: Record<string, string> }>;
    };
    const event = {
      version: '2.0',
      routeKey: 'GET /',
      rawPath: '/',
      rawQueryString: '',
      headers: {},
      requestContext: {
        http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
        requestId: 'r1',
        routeKey: 'GET /',
        stage: '$default',
        timeEpoch: Date.now(),
      },
      isBase64Encoded: false,
    };
    const response = await mod.handler(event, lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('streamtally');
  });
});
