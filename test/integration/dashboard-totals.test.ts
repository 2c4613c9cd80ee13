/**
 * The dashboard's totals, roll-ups, last complete window and empty states, in a real headless Chromium
 * (playwright-core) served by the local read server over dynalite, on counters the real handler wrote.
 * Totals and roll-ups must equal a reference model of the events. Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

import { existsSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../src/core/metric-config.js';
import type { StreamtallyConfig } from '../../src/core/types.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { startReadServer, type ReadServer } from '../../src/local/read-server.js';
import { mulberry32 } from '../../src/samples/prng.js';
import { createCountersTable, localDynamoClient } from '../helpers/counters-table.js';
import { kinesisRecord, lambdaContext, sequenceNumber } from '../helpers/kinesis-batch.js';
import { referenceCounters, type ModelCell, type ModelEvent } from '../helpers/reference-model.js';
import { waitFor } from '../helpers/runner.js';

/** The parts of the page's DOM the callbacks below (run in the browser) use; tsconfig has no DOM lib. */
interface CanvasNode {
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}
declare const document: {
  getElementById(id: string): {
    textContent: string | null;
    hidden: boolean;
    querySelector(selector: string): CanvasNode | null;
  } | null;
  querySelector(selector: string): { href: string } | null;
};

/** data-drawn of a chart (app.js recordDrawn): [series label, value, x, y], x and y in canvas pixels. */
type Drawn = Array<[label: string, value: number, x: number, y: number]>;

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const WAIT_MS = 20_000;
const MIN = 60_000;
const TABLE = 'dashboard-totals';
const CONFIG: StreamtallyConfig = {
  metrics: [
    {
      name: 'views',
      eventTime: { field: 'ts', format: 'iso8601' },
      dimensions: ['country', 'page'],
      value: 'latencyMs',
      aggregates: ['count', 'sum', 'min', 'max', 'mean', 'p95'],
      windows: ['1m'],
    },
    { name: 'signups', filter: [{ field: 'type', equals: 'signup' }], aggregates: ['count'], windows: ['1m'] },
    {
      name: 'orders',
      source: 'dynamodb',
      dimensions: ['status'],
      aggregates: ['count'],
      windows: ['1m'],
    },
  ],
};

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing)
  console.log(`dashboard-totals.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);

describe.skipIf(chromiumMissing)('dashboard totals, roll-ups and empty states', () => {
  let dynalite: LocalServer;
  let server: ReadServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const nowMs = Date.now();
  const currentStart = nowMs - (nowMs % MIN);
  const previousStart = currentStart - MIN;
  const events: ModelEvent[] = [];
  const fmt = (n: number, int = false): string =>
    int
      ? new Intl.NumberFormat('en-US').format(n)
      : new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(n);

  beforeAll(async () => {
    dynalite = await startDynalite();
    const client = localDynamoClient(dynalite.endpoint);
    await createCountersTable(client, TABLE);
    const handler = createAnalyticsHandler({
      config: {
        countersTable: TABLE,
        failureQueueUrl: undefined,
        metrics: compileConfig(CONFIG),
        metricsSource: 'test',
        maxDecompressedBytes: 1 << 20,
        writeConcurrency: 8,
        deadlineMarginMs: 1000,
      },
      dynamodb: client,
      sqs: new SQSClient({ region: 'us-east-1' }),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    const random = mulberry32(11);
    const records = [];
    // 300 events in the last complete minute, 40 in the current one (so far).
    for (let i = 0; i < 340; i++) {
      const start = i < 300 ? previousStart : currentStart;
      const ts = start + Math.floor(random() * (i < 300 ? 59_000 : Math.max(1, nowMs - currentStart)));
      const event = {
        type: 'view',
        ts: new Date(ts).toISOString(),
        country: ['DE', 'US', 'FR', 'JP'][Math.floor(random() * random() * 4)],
        page: ['/home', '/cart', '/docs'][Math.floor(random() * 3)],
        latencyMs: 5 + Math.floor(random() * 400),
      };
      events.push({ event, arrivalMs: nowMs });
      records.push(kinesisRecord('shardId-000000000000', sequenceNumber(0, i + 1), JSON.stringify(event), nowMs));
    }
    // One group with one bucket only: its value lines have a single point.
    const solo = {
      type: 'view',
      ts: new Date(previousStart + 1_000).toISOString(),
      country: 'IS',
      page: '/solo',
      latencyMs: 250,
    };
    events.push({ event: solo, arrivalMs: nowMs });
    records.push(kinesisRecord('shardId-000000000000', sequenceNumber(0, 341), JSON.stringify(solo), nowMs));
    const out = (await handler({ Records: records }, lambdaContext(30_000) as never)) as {
      batchItemFailures: unknown[];
    };
    expect(out.batchItemFailures).toEqual([]);
    server = await startReadServer({
      client,
      tableName: TABLE,
      metrics: compileConfig(CONFIG),
      clock: () => nowMs,
      logger: new Logger({ serviceName: 'streamtally-test', logLevel: 'SILENT' }),
      sourceStatus: { kinesis: null, dynamodb: 'dynalite has no DynamoDB Streams' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1360, height: 1100 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dynalite?.stop();
  });

  /** The model's totals of `views` for one window start, by the dimension at `index` ('' = all groups). */
  function model(startMs: number, index: number | undefined): Map<string, ModelCell> {
    const out = new Map<string, ModelCell>();
    for (const cell of referenceCounters(CONFIG, events).values()) {
      if (!cell.pk.startsWith('views#') || cell.sk !== `1m#${new Date(startMs).toISOString()}`) continue;
      const key = index === undefined ? '' : cell.pk.slice('views#'.length).split('|')[index];
      const into = out.get(key) ?? { pk: key, sk: cell.sk, count: 0, sum: 0, min: Infinity, max: -Infinity };
      into.count += cell.count;
      into.sum += cell.sum;
      into.min = Math.min(into.min, cell.min);
      into.max = Math.max(into.max, cell.max);
      out.set(key, into);
    }
    return out;
  }

  /** What a chart says it drew, once `ready` holds for it (polled: the page refreshes on its own). */
  function drawnBy(chart: string, ready: (d: Drawn) => boolean): Promise<Drawn> {
    let last: string | null = null;
    return waitFor(
      `#${chart} data-drawn`,
      async () => {
        last = await page.locator('#' + chart).getAttribute('data-drawn');
        const drawn = last === null ? [] : (JSON.parse(last) as Drawn);
        return ready(drawn) ? drawn : undefined;
      },
      WAIT_MS,
      () => `last data-drawn: ${last}`,
    );
  }

  /**
   * Inked pixels in the (2 * half + 1)^2 box of a chart's canvas around (x, y), canvas pixels: not
   * transparent (the canvas has no background) and not near white (the grid lines are #eef0f3). Read in
   * one task, so never half a redraw.
   */
  function inkAt(chart: string, x: number, y: number, half: number): Promise<number> {
    return page.evaluate(
      ([id, cx, cy, h]) => {
        const canvas = document.getElementById(id)?.querySelector('canvas');
        if (!canvas) return -1;
        const { data } = canvas.getContext('2d').getImageData(cx - h, cy - h, 2 * h + 1, 2 * h + 1);
        let ink = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3] >= 64 && 255 - Math.min(data[i], data[i + 1], data[i + 2]) > 40) ink++;
        return ink;
      },
      [chart, x, y, half] as const,
    );
  }

  async function showGroup(dims: string[]): Promise<void> {
    await page.goto(server.url + '/#metric=views&window=1m&group=' + encodeURIComponent(JSON.stringify(dims)));
    await page.reload(); // a hash-only navigation does not reload the page
  }

  async function cell(name: string, field: string): Promise<string | null> {
    return page.locator(`#totals tbody tr[data-name="${name}"] td[data-field="${field}"]`).textContent();
  }

  it('totals over all groups and the roll-up to each dimension equal the model; the current count beside them', async () => {
    // Act
    await page.goto(server.url + '/#metric=views&window=1m');
    const total = model(previousStart, undefined).get('') as ModelCell;
    await page.waitForFunction(
      (want) => document.getElementById('totals')?.textContent?.includes(want) ?? false,
      fmt(total.count, true),
      { timeout: WAIT_MS },
    );

    // Assess: the total row, then every country
    expect(await page.locator('#totals').getAttribute('data-window-start-ms')).toBe(String(previousStart));
    expect(await cell('all groups', 'count')).toBe(fmt(total.count, true));
    expect(await cell('all groups', 'sum')).toBe(fmt(total.sum));
    expect(await cell('all groups', 'min')).toBe(fmt(total.min));
    expect(await cell('all groups', 'max')).toBe(fmt(total.max));
    expect(await cell('all groups', 'mean')).toBe(fmt(total.sum / total.count));
    const now = model(currentStart, undefined).get('') as ModelCell;
    expect(await cell('all groups', 'now')).toBe(fmt(now.count, true));
    for (const [country, m] of model(previousStart, 0)) {
      expect(await cell(country, 'count')).toBe(fmt(m.count, true));
      expect(await cell(country, 'sum')).toBe(fmt(m.sum));
      expect(await cell(country, 'max')).toBe(fmt(m.max));
    }

    // Act: roll up by page instead
    await page.selectOption('#rollup-dimension', 'page');
    await page.waitForFunction(
      () => document.getElementById('totals')?.textContent?.includes('/home') ?? false,
      undefined,
      {
        timeout: WAIT_MS,
      },
    );

    // Assess
    for (const [p, m] of model(previousStart, 1)) {
      expect(await cell(p, 'count')).toBe(fmt(m.count, true));
      expect(await cell(p, 'min')).toBe(fmt(m.min));
    }
    expect(pageErrors).toEqual([]);
  });

  it('Top shows the last complete window beside the current one', async () => {
    const groups = [...referenceCounters(CONFIG, events).values()].filter(
      (c) => c.pk.startsWith('views#') && c.sk === `1m#${new Date(previousStart).toISOString()}`,
    );
    groups.sort((a, b) => b.count - a.count);
    await page.waitForFunction(() => (document.getElementById('top-prev')?.textContent ?? '').length > 0, undefined, {
      timeout: WAIT_MS,
    });
    expect(await page.locator('#top-prev').getAttribute('data-window-start-ms')).toBe(String(previousStart));
    expect(await page.locator('#top').getAttribute('data-window-start-ms')).toBe(String(currentStart));
    expect(await page.locator('#top-prev tbody tr').first().locator('td.num').textContent()).toBe(
      fmt(groups[0].count, true),
    );
    expect(await page.locator('#top-prev tbody tr').count()).toBe(Math.min(10, groups.length));
  });

  it('a group with exactly one bucket is visibly drawn: its bar and its value points are on the canvas', async () => {
    // Act: IS · /solo has one event, in the last complete minute, and nothing else
    await showGroup(['IS', '/solo']);
    const counts = await drawnBy('count-chart', (d) => d.some(([, v]) => v > 0));
    const values = await drawnBy('values-chart', (d) => d.some(([label]) => label === 'mean'));

    // Assess: one bar of height 1, inked on the canvas inside the bar and not in an empty bucket beside it
    const bars = counts.filter(([, v]) => v > 0);
    expect(bars).toHaveLength(1);
    const [, count, barX, barTop] = bars[0];
    expect(count).toBe(1);
    const empty = counts.find(([, v, x]) => v === 0 && Math.abs(x - barX) > 60);
    expect(empty).toBeDefined();
    expect(await inkAt('count-chart', barX, barTop + 12, 3)).toBeGreaterThanOrEqual(25);
    expect(await inkAt('count-chart', empty?.[2] ?? 0, barTop + 12, 3)).toBe(0);

    // Assess: each value line has one value (a line through one point draws nothing), and its point is drawn
    for (const label of ['sum', 'mean', 'p95', 'max', 'min'])
      expect(values.filter(([l]) => l === label).map(([, v]) => Math.round(v))).toEqual([250]);
    const [, , x, y] = values.find(([l]) => l === 'mean') as Drawn[number];
    expect(await inkAt('values-chart', x, y, 3)).toBeGreaterThanOrEqual(20);
    expect(await inkAt('values-chart', x - 60, y, 3)).toBe(0);

    // Act: a narrow screen, where 60 buckets are too dense for uPlot's own rule to show points
    await page.setViewportSize({ width: 600, height: 1100 });
    try {
      const narrow = await drawnBy('values-chart', (d) => d.some(([l, , nx]) => l === 'mean' && nx < x - 100));
      // Assess: the one point is still drawn
      const [, , nx, ny] = narrow.find(([l]) => l === 'mean') as Drawn[number];
      expect(await inkAt('values-chart', nx, ny, 3)).toBeGreaterThanOrEqual(20);
    } finally {
      await page.setViewportSize({ width: 1360, height: 1100 });
    }
    expect(pageErrors).toEqual([]);
  });

  it('charts the sum on an axis of its own, so the per-event values keep their height', async () => {
    // Prepare: the busiest group of the last complete minute, and its sums in the model
    const cells = [...referenceCounters(CONFIG, events).values()].filter((c) => c.pk.startsWith('views#'));
    const busiest = cells
      .filter((c) => c.sk === `1m#${new Date(previousStart).toISOString()}`)
      .sort((a, b) => b.count - a.count)[0];
    const dims = busiest.pk.slice('views#'.length).split('|');
    const sums = cells
      .filter((c) => c.pk === busiest.pk)
      .map((c) => c.sum)
      .sort((a, b) => a - b);

    // Act
    await showGroup(dims);
    const values = await drawnBy('values-chart', (d) => d.filter(([l]) => l === 'sum').length === sums.length);

    // Assess: the sums charted are the model's, on the right-hand axis (three axes), named in the legend
    const charted = values.filter(([l]) => l === 'sum');
    expect(charted.map(([, v]) => v).sort((a, b) => a - b)).toEqual(sums);
    expect(await page.locator('#values-chart .u-axis').count()).toBe(3);
    expect(await page.locator('#values-chart .u-legend').textContent()).toContain('sum');
    // Both scales run from zero to 1.1 x their largest value: the largest sum and the largest max sit at
    // the same height. On one shared axis the max (a few hundred ms) would lie flat near zero instead.
    const topOf = (label: string): number =>
      values.filter(([l]) => l === label).reduce((best, d) => (d[1] > best[1] ? d : best))[3];
    expect(Math.abs(topOf('sum') - topOf('max'))).toBeLessThanOrEqual(2);
    expect(pageErrors).toEqual([]);
  });

  it('empty states say why: no data yet, a group that matches nothing, a source that is not emulated', async () => {
    // No data yet: a kinesis metric nothing has been counted for
    await page.selectOption('#metric', 'signups');
    await page.waitForFunction(() => document.getElementById('totals-empty')?.hidden === false, undefined, {
      timeout: WAIT_MS,
    });
    expect(await page.locator('#totals-empty').textContent()).toMatch(
      /^No data yet: nothing has been counted for signups/,
    );
    expect(await page.locator('#top-empty').textContent()).toMatch(/^No data yet/);
    await expect
      .poll(() => page.locator('#count-empty').textContent(), { timeout: WAIT_MS })
      .toMatch(/^No data yet: nothing has been counted for signups/);

    // Not emulated: a DynamoDB Streams metric while the local runner has no Streams
    await page.selectOption('#metric', 'orders');
    await page.waitForFunction(
      () => (document.getElementById('totals-empty')?.textContent ?? '').includes('not emulated'),
      undefined,
      { timeout: WAIT_MS },
    );
    expect(await page.locator('#totals-empty').textContent()).toBe(
      'No data: the dynamodb source of orders is not emulated here (dynalite has no DynamoDB Streams).',
    );
    expect(await page.locator('#top-empty').textContent()).toMatch(/^No data: the dynamodb source of orders is not/);
    await expect.poll(() => page.locator('#count-empty').textContent(), { timeout: WAIT_MS }).toMatch(/not emulated/);

    // A group that matches nothing, while other groups have data
    await page.goto(server.url + '/#metric=views&window=1m&group=' + encodeURIComponent('["XX","/nowhere"]'));
    await page.reload(); // a hash-only navigation does not reload the page
    await page.waitForFunction(
      () => (document.getElementById('count-empty')?.textContent ?? '').startsWith('The group'),
      undefined,
      { timeout: WAIT_MS },
    );
    expect(await page.locator('#count-empty').textContent()).toMatch(/^The group XX · \/nowhere matches nothing/);
    expect(await page.locator('#totals-empty').isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('serves a favicon, and the page links it', async () => {
    const res = await fetch(server.url + '/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(await res.text()).toMatch(/^<svg /);
    // The icon the browser asks for (the page's <link rel="icon">) answers the same file.
    const linked = await page.evaluate(() => document.querySelector('link[rel="icon"]')?.href ?? '');
    const icon = await fetch(linked);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
  });
});
