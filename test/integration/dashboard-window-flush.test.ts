/**
 * Window flush mode on the dashboard (issue 15): each window is written once it has closed (5m once per
 * 5 minutes, 1h at the latest once per 900 s tumbling window), and the page must say how far behind each
 * can be. `npm start -- --window-flush --flush-interval 60` as a child process tells its read server the
 * schedule through the template's read function variables (WINDOW_FLUSH...), as the deployed stack does;
 * the read API serves it, and headless Chromium (playwright-core) shows it. Without window flush (a read
 * server told nothing, as in the default deployment) no note shows. Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMetricDefinitions } from '../../src/config.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { startReadServer, type ReadServer } from '../../src/local/read-server.js';
import { createCountersTable, localDynamoClient } from '../helpers/counters-table.js';
import { ROOT, RunnerProcess } from '../helpers/runner.js';

declare const document: { getElementById(id: string): { textContent: string | null; hidden: boolean } | null };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const WAIT_MS = 20_000;

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing)
  console.warn(`dashboard-window-flush.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);

/** Picks a window of the selected metric and waits until the page has applied it (the hash follows). */
async function showWindow(page: Page, label: string): Promise<void> {
  await page.selectOption('#window', label);
  await page.waitForFunction((l) => location.hash.includes('window=' + l), label, { timeout: WAIT_MS });
}
declare const location: { hash: string };

describe.skipIf(chromiumMissing)('dashboard in window flush mode', () => {
  let runner: RunnerProcess | undefined;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    runner = await RunnerProcess.start([
      '--no-demo',
      '--window-flush',
      '--flush-interval',
      '60',
      '--log-level',
      'ERROR',
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  }, 130_000);

  afterAll(async () => {
    await browser?.close();
    await runner?.kill();
  }, 30_000);

  it('npm start tells the read API the schedule of the template: each window says how often it is written', async () => {
    // Act
    const res = await fetch(new URL('api/metrics', (runner as RunnerProcess).dashboardUrl));
    const body = (await res.json()) as {
      metrics: Array<{
        name: string;
        windows: Array<{ label: string; writtenEverySeconds?: number; maxAgeSeconds?: number }>;
      }>;
      windowFlush: { intervalSeconds: number; tumblingSeconds: Record<string, number> } | null;
    };

    // Assess: FlushIntervalSeconds=60 through the Freshness mapping; the sources' tumbling windows
    expect(body.windowFlush).toMatchObject({ intervalSeconds: 60, tumblingSeconds: { kinesis: 900, dynamodb: 60 } });
    const pageViews = body.metrics.find((m) => m.name === 'page_views');
    expect(pageViews?.windows.map((w) => [w.label, w.writtenEverySeconds, w.maxAgeSeconds])).toEqual([
      ['1m', 60, 60],
      ['5m', 300, 312],
      ['1h', 900, 910],
    ]);
  });

  it('shows how far behind each window can be while it is shown, the coarse ones written less often', async () => {
    // Act
    await page.goto((runner as RunnerProcess).dashboardUrl + '#metric=page_views&window=1m');
    await page.waitForFunction(() => document.getElementById('metric')?.textContent?.includes('page_views'), null, {
      timeout: WAIT_MS,
    });

    // Assess: 1m (no larger than the 60 s interval) is written while open too: at most the interval behind
    await expect
      .poll(() => page.locator('#window-age').textContent(), { timeout: WAIT_MS })
      .toBe(
        '1m windows are written every 60 s, the current one included (window flush mode): counts are up to 60 s behind.',
      );

    // Act / Assess: 5m, then 1h
    await showWindow(page, '5m');
    await expect
      .poll(() => page.locator('#window-age').textContent(), { timeout: WAIT_MS })
      .toBe(
        '5m windows are written once they close, every 5 min (window flush mode): counts are up to 5 min 12 s behind, and the current window fills in when it is written.',
      );
    expect(await page.locator('#window-age').isVisible()).toBe(true);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'dashboard-window-flush.png') });
    await showWindow(page, '1h');
    await expect
      .poll(() => page.locator('#window-age').textContent(), { timeout: WAIT_MS })
      .toBe(
        '1h windows are written once they close, every 15 min (window flush mode): counts are up to 15 min 10 s behind, and the current window fills in when it is written.',
      );
    expect(await page.locator('#window-age').getAttribute('data-written-every-s')).toBe('900');
    expect(await page.locator('#window-age').getAttribute('data-max-age-s')).toBe('910');
  });
});

describe.skipIf(chromiumMissing)('dashboard without window flush', () => {
  let dynalite: LocalServer;
  let server: ReadServer;
  let browser: Browser;

  beforeAll(async () => {
    dynalite = await startDynalite();
    const client = localDynamoClient(dynalite.endpoint);
    await createCountersTable(client, 'window-flush-off');
    server = await startReadServer({
      client,
      tableName: 'window-flush-off',
      metrics: loadMetricDefinitions(undefined).compiled,
      logger: new Logger({ serviceName: 'streamtally-test', logLevel: 'SILENT' }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dynalite?.stop();
  });

  it('shows no note on a coarse window: every batch writes every window', async () => {
    // Act
    const page = await browser.newPage();
    await page.goto(server.url + '/#metric=page_views&window=1h');
    await page.waitForFunction(
      () => (document.getElementById('updated')?.textContent ?? '').startsWith('updated'),
      null,
      {
        timeout: WAIT_MS,
      },
    );
    // Assess
    expect(await page.locator('#window').inputValue()).toBe('1h');
    expect(await page.locator('#window-age').isHidden()).toBe(true);
  });
});
