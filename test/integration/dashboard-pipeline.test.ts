/**
 * The dashboard end to end, as a user sees it: `npm start -- --no-demo` as a child process, a known set of
 * clickstream events pushed with the producer, the counters table checked against the reference model,
 * then the printed dashboard URL opened in headless Chromium (playwright-core). The numbers on the page
 * (rolling totals of the selected group, the top table of the latest window) must equal what the model
 * predicts for exactly the span or window the page says it shows (`data-from-ms`/`data-to-ms` on the
 * rolling tiles, `data-window-start-ms` on the top table), so that a minute turning over mid-test
 * changes the expectation, not the verdict. Saves test-results/dashboard-pipeline.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { KinesisProducer } from '../../src/producer/kinesis-producer.js';
import defaultConfig from '../../streamtally.config.json' with { type: 'json' };
import type { StreamtallyConfig } from '../../src/core/types.js';
import { diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { referenceCounters, type ModelCell, type ModelEvent } from '../helpers/reference-model.js';
import { ROOT, RunnerProcess, waitFor as waitForBase } from '../helpers/runner.js';

/** The parts of the page's DOM the snapshot callback (run in the browser) uses; tsconfig has no DOM lib. */
interface DomNode {
  textContent: string | null;
  className: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}
declare const document: {
  getElementById(id: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
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
const COUNTERS_DEADLINE_MS = 45_000;
const PAGE_DEADLINE_MS = 25_000;
const MIN = 60_000;
const SPANS = [1, 5, 15, 60];
const EXTRAS = ['sum', 'min', 'max', 'mean'] as const;
const GROUP = ['DE', '/home'];
const GROUP_NAME = GROUP.join(' · ');
const intFormat = new Intl.NumberFormat('en-US');
const numFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

interface TileSnapshot {
  span: number;
  fromMs: string | null;
  toMs: string | null;
  values: Record<string, string | null>;
}
interface PageSnapshot {
  tiles: TileSnapshot[];
  topWindow: string | null;
  topStartMs: string | null;
  rows: Array<{ name: string | null; count: string | null; selected: boolean }>;
  live: string;
}

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing)
  console.warn(`dashboard-pipeline.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);

let runner: RunnerProcess | undefined;

function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<T> {
  return waitForBase(what, probe, timeoutMs, () => `${detail()}\nrunner output:\n${runner?.output ?? ''}`);
}

/** Reads every number the assertions need in one synchronous pass, so they all come from the same refresh. */
function snapshot(page: Page): Promise<PageSnapshot> {
  return page.evaluate(
    ({ spans, fields }) => {
      const text = (id: string): string | null => document.getElementById(id)?.textContent ?? null;
      const tiles = spans.map((span) => {
        const tile = document.getElementById('rolling-' + span);
        const values: Record<string, string | null> = { count: text('rolling-' + span + '-count') };
        for (const f of fields) values[f] = text('rolling-' + span + '-' + f);
        return {
          span,
          fromMs: tile?.getAttribute('data-from-ms') ?? null,
          toMs: tile?.getAttribute('data-to-ms') ?? null,
          values,
        };
      });
      const top = document.getElementById('top');
      const rows = Array.from(document.querySelectorAll('#top tbody tr')).map((row) => ({
        name: row.querySelector('td.name')?.textContent ?? null,
        count: row.querySelector('td.num')?.textContent ?? null,
        selected: row.className === 'selected',
      }));
      return {
        tiles,
        topWindow: top?.getAttribute('data-window') ?? null,
        topStartMs: top?.getAttribute('data-window-start-ms') ?? null,
        rows,
        live: document.getElementById('live')?.className ?? '',
      };
    },
    { spans: SPANS, fields: [...EXTRAS, 'p50', 'p95', 'p99'] },
  );
}

describe.skipIf(chromiumMissing)('dashboard in headless Chromium against `npm start` (child process)', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    runner = await RunnerProcess.start(['--no-demo', '--log-level', 'ERROR']);
  }, 130_000);

  afterAll(async () => {
    await browser?.close();
    await runner?.kill();
  }, 30_000);

  it('shows the pushed events with the numbers the reference model predicts', async () => {
    // Arrange: the runner's endpoints and dashboard address, as printed.
    const { endpoints, streamName, dashboardUrl } = runner as RunnerProcess;
    expect(endpoints.kinesis).toMatch(/^http:\/\/127\.0\.0\.1:/);

    // 150 page views over 9 country/page groups and 6 purchases, event times from the current minute
    // back to 3 minutes ago (most in the current minute), latencies and amounts known.
    const now = Date.now();
    const events: ModelEvent[] = [];
    const records = [];
    for (let i = 0; i < 156; i++) {
      const purchase = i >= 150;
      const minutesBack = [0, 0, 0, 1, 2, 3][i % 6];
      const event = {
        type: purchase ? 'purchase' : 'page_view',
        ts: new Date(now - minutesBack * MIN - ((i * 1237) % 20_000)).toISOString(),
        user: { id: `u-${i % 23}`, plan: i % 4 === 0 ? 'pro' : 'free' },
        country: ['DE', 'DE', 'US', 'DE', 'FR', 'US', 'DE'][i % 7],
        page: ['/home', '/home', '/cart', '/pricing', '/home'][i % 5],
        latencyMs: 20 + ((i * 37) % 400),
        amount: purchase ? 10 + (i % 4) * 2.5 : undefined,
      };
      events.push({ event, arrivalMs: now });
      records.push({ partitionKey: `k-${i % 8}`, data: JSON.stringify(event) });
    }
    const kinesis = new KinesisClient(clientConfig({ endpoint: endpoints.kinesis }));
    const producer = new KinesisProducer({ client: kinesis, streamName });
    expect((await producer.put(records)).sent).toBe(records.length);
    kinesis.destroy();

    // The counters table equals the reference model before the page is looked at.
    const model = referenceCounters(defaultConfig as StreamtallyConfig, events);
    const dynamodb = localDynamoClient(endpoints.dynamodb);
    let diffs: string[] = [];
    await waitFor(
      'counters equal to the reference model',
      async () => {
        diffs = diffCounters(await scanCounters(dynamodb, endpoints.counters), model);
        return diffs.length === 0 ? true : undefined;
      },
      COUNTERS_DEADLINE_MS,
      () => `diffs:\n${diffs.slice(0, 20).join('\n')}`,
    );
    dynamodb.destroy();

    const pageViewsOfGroup = events.filter(({ event }) => {
      const e = event as { type: string; country: string; page: string };
      return e.type === 'page_view' && e.country === GROUP[0] && e.page === GROUP[1];
    }).length;
    expect(pageViewsOfGroup).toBeGreaterThan(10);

    /** The model's cells of page_views for one window label, by window start. */
    const cellsOf = (label: string, dims?: string[]): Array<{ cell: ModelCell; startMs: number; dims: string[] }> =>
      [...model.values()]
        .filter((c) => c.pk.startsWith('page_views#') && c.sk.startsWith(label + '#'))
        .map((cell) => ({
          cell,
          startMs: Date.parse(cell.sk.slice(label.length + 1)),
          dims: cell.pk.slice('page_views#'.length).split('|'),
        }))
        .filter((c) => !dims || c.dims.join('|') === dims.join('|'));

    /** What one rolling tile must show for the span it says it covers: 1m buckets starting in [from, to]. */
    const expectedTile = (fromMs: number, toMs: number): Record<string, string> => {
      const cells = cellsOf('1m', GROUP)
        .filter((c) => c.startMs >= fromMs && c.startMs <= toMs)
        .map((c) => c.cell);
      const count = cells.reduce((n, c) => n + c.count, 0);
      if (count === 0) return { count: '0' };
      const sum = cells.reduce((n, c) => n + c.sum, 0);
      return {
        count: intFormat.format(count),
        sum: numFormat.format(sum),
        min: numFormat.format(Math.min(...cells.map((c) => c.min))),
        max: numFormat.format(Math.max(...cells.map((c) => c.max))),
        mean: numFormat.format(sum / count),
      };
    };
    /** What the top table must list for the window it says it shows: every group's count, biggest first. */
    const expectedRows = (label: string, startMs: number): Array<{ name: string; count: string }> =>
      cellsOf(label)
        .filter((c) => c.startMs === startMs)
        .sort((a, b) => b.cell.count - a.cell.count)
        .map((c) => ({ name: c.dims.join(' · '), count: intFormat.format(c.cell.count) }));

    /** Mismatches between the page and the model for the spans and window the page shows (empty when equal). */
    const compare = (snap: PageSnapshot, windowLabel: string): string[] => {
      const out: string[] = [];
      for (const tile of snap.tiles) {
        if (!tile.fromMs || !tile.toMs) {
          out.push(`tile ${tile.span}: no span yet`);
          continue;
        }
        const want = expectedTile(Number(tile.fromMs), Number(tile.toMs));
        for (const [field, value] of Object.entries(want))
          if (tile.values[field] !== value)
            out.push(`tile ${tile.span} ${field}: page ${tile.values[field]}, model ${value}`);
      }
      if (snap.topWindow !== windowLabel || !snap.topStartMs)
        out.push(`top table shows window ${snap.topWindow}, want ${windowLabel}`);
      else {
        const want = expectedRows(windowLabel, Number(snap.topStartMs));
        const got = snap.rows.map(({ name, count }) => ({ name, count }));
        // Ties may come in either order: compare as sets, and check the order separately.
        const key = (r: { name: string | null; count: string | null }): string => `${r.name}=${r.count}`;
        if ([...got.map(key)].sort().join(', ') !== [...want.map(key)].sort().join(', '))
          out.push(
            `top ${windowLabel}@${snap.topStartMs}: page [${got.map(key).join(', ')}], model [${want.map(key).join(', ')}]`,
          );
      }
      return out;
    };

    // Act: open the printed address, pick the metric, the group and the window like a user would.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(dashboardUrl);
    await page.selectOption('#metric', 'page_views');
    await page
      .locator(`#group option[value='${JSON.stringify(GROUP)}']`)
      .waitFor({ state: 'attached', timeout: PAGE_DEADLINE_MS });
    await page.selectOption('#group', JSON.stringify(GROUP));
    await page.selectOption('#window', '1m');

    // Assess: poll until one refresh shows exactly the model's numbers for what it covers.
    let snap: PageSnapshot | undefined;
    let mismatches: string[] = [];
    const settle = (windowLabel: string): Promise<PageSnapshot> =>
      waitFor(
        `the page to show the model's numbers (${windowLabel} window)`,
        async () => {
          snap = await snapshot(page);
          mismatches = compare(snap, windowLabel);
          return mismatches.length === 0 ? snap : undefined;
        },
        PAGE_DEADLINE_MS,
        () => `mismatches:\n${mismatches.join('\n')}\nlast snapshot: ${JSON.stringify(snap)}`,
      );

    const minute = await settle('1m');
    expect(await page.locator('#metric').inputValue()).toBe('page_views');
    expect(await page.locator('#group option:checked').textContent()).toBe(GROUP_NAME);
    expect(minute.live).toBe('live ok');
    // Every pushed page view of the group is under 4 minutes old: the last hour holds all of them, exactly.
    expect(minute.tiles.find((t) => t.span === 60)?.values.count).toBe(intFormat.format(pageViewsOfGroup));
    // Percentiles come from merged DDSketches (about 1% relative error): ordered and within min..max.
    for (const tile of minute.tiles.filter((t) => t.values.count !== '0')) {
      const [p50, p95, p99, min, max] = ['p50', 'p95', 'p99', 'min', 'max'].map((f) =>
        Number(tile.values[f]?.replace(/,/g, '')),
      );
      expect(p50).toBeLessThanOrEqual(p95);
      expect(p95).toBeLessThanOrEqual(p99);
      expect(p50).toBeGreaterThanOrEqual(min * 0.98);
      expect(p99).toBeLessThanOrEqual(max * 1.02);
    }
    // The top table of the latest 1m window: the selected group's row is marked when it has events.
    const selectedRow = minute.rows.find((r) => r.selected);
    const latestMinute = expectedRows('1m', Number(minute.topStartMs)).find((r) => r.name === GROUP_NAME);
    expect(selectedRow ? { name: selectedRow.name, count: selectedRow.count } : undefined).toEqual(latestMinute);

    const shotDir = join(ROOT, 'test-results');
    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: join(shotDir, 'dashboard-pipeline.png'), fullPage: true });

    // The latest hour window (which holds the pushed events unless the hour turned over since): the whole
    // table matches the model's hour buckets, the selected group's row included, biggest first.
    await page.selectOption('#window', '1h');
    const hour = await settle('1h');
    const hourRow = hour.rows.find((r) => r.selected);
    const latestHour = expectedRows('1h', Number(hour.topStartMs)).find((r) => r.name === GROUP_NAME);
    expect(hourRow ? { name: hourRow.name, count: hourRow.count } : undefined).toEqual(latestHour);
    const counts = hour.rows.map((r) => Number(r.count?.replace(/,/g, '')));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(pageErrors).toEqual([]);
  }, 150_000);
});
