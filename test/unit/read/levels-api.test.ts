/**
 * GET /api/levels: the levels of a `state` metric read back through the read API's handler from a real
 * DynamoDB API (dynalite); event routes refuse a state metric and /api/levels refuses an events metric.
 */
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Aggregator } from '../../../src/core/aggregator.js';
import { compileConfig } from '../../../src/core/metric-config.js';
import { DASHBOARD_ASSETS } from '../../../src/dashboard/assets.js';
import { startDynalite, type LocalServer } from '../../../src/local/aws/servers.js';
import { CounterReader } from '../../../src/read/counter-reader.js';
import { createReadApiHandler, type ReadApiHandler } from '../../../src/read/read-api.js';
import { cellItemDelta } from '../../../src/sink/item-delta.js';
import { Attr } from '../../../src/sink/layout.js';
import { OrderChangeGenerator } from '../../../src/samples/order-changes.js';
import { createCountersTable, localDynamoClient } from '../../helpers/counters-table.js';
import type { LevelsResult } from '../../../src/read/types.js';

const TABLE = 'counters-levels';
const config = compileConfig({
  metrics: [
    { name: 'orders', kind: 'state', dimensions: ['status'], value: 'amount', aggregates: ['count', 'sum', 'mean'] },
    { name: 'plain', aggregates: ['count'], windows: ['1m'] },
  ],
});
let server: LocalServer;
let client: DynamoDBClient;
let handler: ReadApiHandler;
const generator = new OrderChangeGenerator({ seed: 3, targetLiveOrders: 30 });

beforeAll(async () => {
  server = await startDynalite();
  client = localDynamoClient(server.endpoint);
  await createCountersTable(client, TABLE);
  // One batch of 200 changes -> one level item per status, written as the writer would merge them.
  const agg = new Aggregator(config);
  agg.begin();
  for (let i = 0; i < 200; i++) {
    const c = generator.next();
    agg.ingestImage(c.eventName, c.newImage, c.oldImage, i, c.createdMs, c.createdMs);
  }
  for (const cell of agg.cells()) {
    const delta = cellItemDelta(cell);
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { [Attr.pk]: { S: delta.pk }, [Attr.sk]: { S: delta.sk }, ...delta.merge(undefined) },
      }),
    );
  }
  const silent = new Logger({ logLevel: 'SILENT' });
  const reader = new CounterReader({ client, tableName: TABLE, metrics: config });
  handler = createReadApiHandler({ reader, assets: DASHBOARD_ASSETS, clock: () => 0, logger: silent }, silent);
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

async function get(
  path: string,
  query: Record<string, string>,
): Promise<{ status: number; body: LevelsResult & { parameter?: string } }> {
  const res = (await handler(
    {
      version: '2.0',
      rawPath: path,
      queryStringParameters: query,
      requestContext: { http: { method: 'GET' }, requestId: 'r' },
    } as unknown as APIGatewayProxyEventV2,
    { awsRequestId: 'r', functionName: 'f' } as Context,
  )) as APIGatewayProxyStructuredResultV2;
  return { status: res.statusCode ?? 0, body: JSON.parse(String(res.body)) };
}

it('returns every status level with sum and mean, equal to the live orders', async () => {
  const res = await get('/api/levels', { metric: 'orders' });
  expect(res.status).toBe(200);
  expect(res.body.kind).toBe('state');
  const counts = Object.fromEntries(res.body.levels.map((l) => [l.dimensionValues[0], l.count]));
  expect(counts).toEqual(generator.statusCounts());
  expect(res.body.total).toBe(generator.liveOrders);
  const amounts = generator.statusAmounts();
  for (const l of res.body.levels) {
    expect(l.sum).toBeCloseTo(amounts[l.dimensionValues[0]], 6);
    expect(l.mean).toBeCloseTo((l.sum ?? Number.NaN) / l.count, 9);
  }
  const sorted = res.body.levels.map((l) => l.count);
  expect(sorted).toEqual([...sorted].sort((a: number, b: number) => b - a));
});

it('answers 400 naming the metric parameter for the wrong kind on each route', async () => {
  expect(await get('/api/levels', { metric: 'plain' })).toMatchObject({ status: 400, body: { parameter: 'metric' } });
  expect(await get('/api/series', { metric: 'orders' })).toMatchObject({ status: 400, body: { parameter: 'metric' } });
  expect(await get('/api/rolling', { metric: 'orders' })).toMatchObject({ status: 400, body: { parameter: 'metric' } });
  expect(await get('/api/top', { metric: 'orders' })).toMatchObject({ status: 400, body: { parameter: 'metric' } });
});
