/**
 * The dashboard in a real headless Chromium (playwright-core), served by the local read server over a
 * real DynamoDB API (dynalite) seeded in the counters layout. Saves a screenshot to docs/dashboard.png.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { compileConfig } from '../../src/core/metric-config.js';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { startReadServer, type ReadServer } from '../../src/local/read-server.js';
import { Attr, counterSk, statsPk } from '../../src/sink/layout.js';
import { DDSketch } from '../../src/core/sketch/ddsketch.js';
import { HyperLogLog } from '../../src/core/sketch/hyperloglog.js';
import type { MetricConfig } from '../../src/core/types.js';
import { counterItem, createCountersTable } from '../helpers/counters-table.js';

/** The page's `document`, as the callbacks below (run in the browser) use it; tsconfig has no DOM lib. */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WAIT_MS = 20_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const TABLE = 'counters-dashboard-test';
const METRICS: MetricConfig[] = [
  {
    name: 'page_views',
    dimensions: ['country', 'page'],
    value: 'latencyMs',
    aggregates: ['count', 'sum', 'max', 'mean', 'p50', 'p95', 'p99'],
    windows: ['1m', '5m', '1h'],
  },
  { name: 'signups', distinctField: 'user.id', aggregates: ['count', 'distinct'], windows: ['1m', '1h'] },
];
const GROUPS: Array<[string[], number]> = [
  [['DE', '/home'], 1],
  [['US', '/home'], 0.7],
  [['FR', '/cart'], 0.5],
  [['DE', '/cart'], 0.35],
  [['JP', '/pricing'], 0.2],
];

interface Bucket {
  count: number;
  sum: number;
  max: number;
  sketch?: DDSketch;
  hll?: HyperLogLog;
}

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing) console.log(`dashboard.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);

describe.skipIf(chromiumMissing)('dashboard in headless Chromium', () => {
  let dynalite: LocalServer;
  let client: DynamoDBClient;
  let server: ReadServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  /** The read server's clock: fixed, so that rolling totals cannot shift under the assertions. */
  const nowMs = Date.now();
  const minuteStart = nowMs - (nowMs % MIN);
  let expectedLast5 = 0;
  let expectedDistinct5 = 0;

  const put = (item: Record<string, AttributeValue>): Promise<unknown> =>
    client.send(new PutItemCommand({ TableName: TABLE, Item: item }));

  /** One bucket as the writer stores it (counterItem runs the writer's merge, `g` for top() included). */
  async function putBucket(metric: string, dims: string[], window: string, startMs: number, b: Bucket): Promise<void> {
    const dimensionNames = METRICS.find((m) => m.name === metric)?.dimensions ?? [];
    const values = b.sum > 0 ? { sum: b.sum, max: b.max } : {};
    await put(
      counterItem({
        metric,
        dimensionNames,
        dims,
        window,
        startMs,
        count: b.count,
        ...values,
        sketch: b.sketch,
        hll: b.hll,
      }),
    );
  }

  /** Adds minute bucket `b` into the coarser bucket for `key`, merging sketches. */
  function rollUp(into: Map<string, Bucket>, key: string, b: Bucket): void {
    const acc = into.get(key) ?? {
      count: 0,
      sum: 0,
      max: 0,
      sketch: b.sketch ? new DDSketch() : undefined,
      hll: b.hll ? new HyperLogLog() : undefined,
    };
    acc.count += b.count;
    acc.sum += b.sum;
    acc.max = Math.max(acc.max, b.max);
    if (b.sketch) acc.sketch?.merge(b.sketch);
    if (b.hll) acc.hll?.merge(b.hll);
    into.set(key, acc);
  }

  beforeAll(async () => {
    // Prepare: an hour of minute buckets per group (a smooth, varied curve), rolled up to 5m and 1h.
    dynalite = await startDynalite();
    client = new DynamoDBClient(clientConfig({ endpoint: dynalite.endpoint }));
    await createCountersTable(client, TABLE);
    const coarse = new Map<string, Bucket>();
    const writes: Array<Promise<void>> = [];
    for (const [dims, weight] of GROUPS) {
      for (let k = 0; k < 60; k++) {
        const startMs = minuteStart - k * MIN;
        const count = Math.max(
          1,
          Math.round(weight * (40 + 25 * Math.sin((60 - k) / 6) + 10 * Math.cos((60 - k) / 2.3))),
        );
        const sketch = new DDSketch();
        let sum = 0;
        let max = 0;
        for (let j = 0; j < count; j++) {
          const latency = 20 + ((j * 37 + k * 11) % 90) + (j % 10 === 0 ? 150 : 0);
          sketch.add(latency);
          sum += latency;
          max = Math.max(max, latency);
        }
        const b: Bucket = { count, sum, max, sketch };
        if (dims[0] === 'DE' && dims[1] === '/home' && k < 5) expectedLast5 += count;
        writes.push(putBucket('page_views', dims, '1m', startMs, b));
        rollUp(coarse, JSON.stringify([dims, '5m', startMs - (startMs % (5 * MIN))]), b);
        rollUp(coarse, JSON.stringify([dims, '1h', startMs - (startMs % HOUR)]), b);
      }
    }
    for (const [key, b] of coarse) {
      const [dims, window, startMs] = JSON.parse(key) as [string[], string, number];
      writes.push(putBucket('page_views', dims, window, startMs, b));
    }
    // signups: user ids overlap from one minute to the next, so distinct over 5 minutes < the sum.
    const union = new HyperLogLog();
    for (let k = 0; k < 30; k++) {
      const hll = new HyperLogLog();
      for (let u = k * 20; u < k * 20 + 50; u++) hll.addNumber(u);
      if (k < 5) union.merge(hll);
      writes.push(putBucket('signups', [], '1m', minuteStart - k * MIN, { count: 50, sum: 0, max: 0, hll }));
    }
    expectedDistinct5 = Math.round(union.estimate());
    const stats = (metric: string, startMs: number, reasons: Record<string, number>): Promise<unknown> => {
      const item: Record<string, AttributeValue> = {
        [Attr.pk]: { S: statsPk(metric) },
        [Attr.sk]: { S: counterSk('1m', startMs) },
      };
      for (const [r, n] of Object.entries(reasons)) item[Attr.rejectPrefix + r] = { N: String(n) };
      return put(item);
    };
    await Promise.all([
      ...writes,
      stats('page_views', minuteStart, { too_late: 3, invalid_value: 2 }),
      stats('page_views', minuteStart - 7 * MIN, { too_late: 1 }),
      stats('__all__', minuteStart - 2 * MIN, { invalid_json: 4 }),
    ]);

    server = await startReadServer({
      client,
      tableName: TABLE,
      metrics: compileConfig({ metrics: METRICS }),
      clock: () => nowMs,
      logger: new Logger({ serviceName: 'streamtally-test', logLevel: 'SILENT' }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    client?.destroy();
    await dynalite?.stop();
  });

  it('shows rolling totals, charts, top groups and reject counts, and refreshes on its own', async () => {
    // Act
    await page.goto(server.url + '/');
    const fmt = new Intl.NumberFormat('en-US');
    await page.waitForFunction(
      (expected) => document.getElementById('rolling-5-count')?.textContent === expected,
      fmt.format(expectedLast5),
      { timeout: WAIT_MS },
    );

    // Assess
    expect(await page.locator('#metric').inputValue()).toBe('page_views');
    expect(await page.locator('#group option:checked').textContent()).toBe('DE · /home');
    expect(await page.locator('#count-chart canvas').count()).toBe(1);
    expect(await page.locator('#values-chart canvas').count()).toBe(1);
    await page.waitForFunction(() => document.querySelectorAll('#top tbody tr').length === 5, undefined, {
      timeout: WAIT_MS,
    });
    expect(await page.locator('#top tbody tr').first().locator('td.name').textContent()).toBe('DE · /home');
    expect(await page.locator('#stats-late').textContent()).toBe('4');
    expect(await page.locator('#stats-rejected').textContent()).toBe('2');
    expect(await page.locator('#stats-all').textContent()).toBe('4');
    const p95 = await page.locator('#rolling-5-p95').textContent();
    expect(Number(p95?.replace(/,/g, ''))).toBeGreaterThan(20);
    expect(await page.locator('#live').getAttribute('class')).toBe('live ok');

    // A refresh happens without any user action: the "updated" stamp changes.
    const stamp = await page.locator('#updated').textContent();
    await page.waitForFunction((before) => document.getElementById('updated')?.textContent !== before, stamp, {
      timeout: WAIT_MS,
    });

    const shotDir = join(ROOT, 'test-results');
    mkdirSync(shotDir, { recursive: true });
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    const png = await page.screenshot({ fullPage: true });
    const { writeFileSync } = await import('node:fs');
    if (process.env.UPDATE_SCREENSHOTS === '1') writeFileSync(join(ROOT, 'docs', 'dashboard.png'), png); // the README image changes only on purpose
    writeFileSync(join(shotDir, 'dashboard.png'), png);
    expect(pageErrors).toEqual([]);
  });

  it('switching metric shows its distinct count merged over the span', async () => {
    // Act
    await page.selectOption('#metric', 'signups');
    await page.waitForFunction(
      (expected) => document.getElementById('rolling-5-distinct')?.textContent === expected,
      new Intl.NumberFormat('en-US').format(expectedDistinct5),
      {
        timeout: WAIT_MS,
      },
    );

    // Assess
    expect(await page.locator('#rolling-5-count').textContent()).toBe('250');
    expect(await page.locator('#group-label').isHidden()).toBe(true);
    expect(await page.locator('#values-title').textContent()).toBe('Distinct user.id per window');
    expect(page.url()).toContain('metric=signups');
    await page.screenshot({ path: join(ROOT, 'test-results', 'dashboard-signups.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
