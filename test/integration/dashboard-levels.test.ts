/**
 * Order-state levels end to end, as a user sees them: `npm start` as a child process with its demo
 * writing order changes (new orders, status moves, `SET note`, deletes) into the orders table on AWS's
 * DynamoDB Local, the DynamoDB Streams event source emulated, and the dashboard in headless Chromium.
 * Once the demo stops (--orders-limit), the page's "orders_by_status" card must show, for every status,
 * the number of orders the table holds in it (a consistent Scan of the table the demo wrote: the
 * reference model), with and without --chaos crashes (retries and bisection). Saves
 * test-results/dashboard-levels[-chaos].png. Skips with the reason where Chromium or Java 17+ is missing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { chromium, type Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { javaRuntime } from '../../src/local/aws/servers.js';
import { localDynamoClient } from '../helpers/counters-table.js';
import { ROOT, RunnerProcess, waitFor } from '../helpers/runner.js';

interface DomNode {
  getAttribute(name: string): string | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<DomNode> };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const ORDERS_TABLE = 'streamtally-dev-orders';
const ORDER_CHANGES = 150;
const LEVELS_DEADLINE_MS = 60_000;

const skipReason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install -y chromium)`
  : javaRuntime().unavailableReason;
if (skipReason) console.warn(`dashboard-levels.test.ts skipped: ${skipReason}`);

/** Orders per status in the table now: the reference the levels must equal. */
async function tableLevels(endpoint: string): Promise<Record<string, number>> {
  const client = localDynamoClient(endpoint);
  const out: Record<string, number> = {};
  try {
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: ORDERS_TABLE, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const status = item.status?.S ?? '__none__';
        out[status] = (out[status] ?? 0) + 1;
      }
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
  } finally {
    client.destroy();
  }
  return out;
}

describe.skipIf(skipReason !== undefined)('order-state levels on the dashboard (npm start, DynamoDB Local)', () => {
  let runner: RunnerProcess | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    await runner?.kill();
  }, 30_000);

  it.each([
    ['', []],
    ['-chaos', ['--chaos', '3']],
  ])(
    'levels equal the orders in the table after the demo wrote them%s',
    async (suffix, extra) => {
      // Prepare: the demo writes ORDER_CHANGES order changes, few clickstream events, then stops.
      runner = await RunnerProcess.start([
        '--rate',
        '1',
        '--orders-rate',
        '25',
        '--orders-limit',
        String(ORDER_CHANGES),
        '--log-level',
        'ERROR',
        ...extra,
      ]);
      expect(runner.output).toMatch(/emulating \S+ <- dynamodb /);
      expect(runner.output).not.toMatch(/not emulated/);
      await waitFor(
        'the demo orders to finish',
        () => (/demo orders: done/.test(runner!.output) ? true : undefined),
        60_000,
        () => runner!.output,
      );
      const model = await tableLevels(runner.endpoints.dynamodb);
      expect(Object.values(model).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
      expect(Object.keys(model).length, 'orders in more than one status').toBeGreaterThan(1);

      // Act: open the dashboard.
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const page = await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      await page.goto(runner.dashboardUrl);

      // Assess: the card shows each status's level, as the table holds it.
      let shown: Record<string, number> = {};
      await waitFor(
        'the page to show the table levels',
        async () => {
          shown = await page.evaluate(() => {
            const out: Record<string, number> = {};
            for (const row of Array.from(
              document.querySelectorAll('[data-level-metric="orders_by_status"] tr[data-level-group]'),
            ))
              out[row.getAttribute('data-level-group') ?? ''] = Number(row.getAttribute('data-level-count'));
            return out;
          });
          return JSON.stringify(Object.entries(shown).sort()) === JSON.stringify(Object.entries(model).sort())
            ? true
            : undefined;
        },
        LEVELS_DEADLINE_MS,
        () => `page ${JSON.stringify(shown)}\nmodel ${JSON.stringify(model)}\n${runner!.output.slice(-3000)}`,
      );
      expect(shown).toEqual(model);
      // Visible as text too: the count cell of each row.
      for (const [status, count] of Object.entries(model))
        expect(
          await page
            .locator(`[data-level-metric="orders_by_status"] tr[data-level-group="${status}"] td.level-count`)
            .textContent(),
        ).toBe(new Intl.NumberFormat('en-US').format(count));
      const shotDir = join(ROOT, 'test-results');
      mkdirSync(shotDir, { recursive: true });
      await page.screenshot({ path: join(shotDir, `dashboard-levels${suffix}.png`), fullPage: true });
      expect(pageErrors).toEqual([]);
      await runner.interrupt();
      expect(runner.stoppedCleanly, runner.output).toBe(true);
    },
    240_000,
  );
});
