/**
 * `npm run produce -- --orders` as a user runs it, against a real DynamoDB-API server (dynalite, so no Java
 * is needed): order changes land in the table, and the status counts it prints are the table's.
 */
import { spawn } from 'node:child_process';
import { CreateTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { localDynamoClient } from '../helpers/counters-table.js';
import { ROOT } from '../helpers/runner.js';

let server: LocalServer;
beforeAll(async () => {
  server = await startDynalite();
});
afterAll(async () => {
  await server?.stop();
});

function produce(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/produce.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

test('writes order changes and prints the status counts the table now holds', async () => {
  // Prepare
  const client = localDynamoClient(server.endpoint);
  await client.send(
    new CreateTableCommand({
      TableName: 'orders',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
    }),
  );
  // Act
  const run = await produce([
    '--orders',
    '--endpoint',
    server.endpoint,
    '--table',
    'orders',
    '--rate',
    '500',
    '--count',
    '80',
  ]);
  // Assess
  expect(run.code, run.err).toBe(0);
  expect(run.out).toMatch(/changes\s+80 in .*: \d+ new, \d+ updated, \d+ deleted/);
  const printed = Object.fromEntries(
    [...(/per status: (.*)/.exec(run.out)?.[1] ?? '').matchAll(/([A-Z]+) (\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
  const items = (await client.send(new ScanCommand({ TableName: 'orders' }))).Items ?? [];
  const inTable: Record<string, number> = {};
  for (const item of items) inTable[item.status.S as string] = (inTable[item.status.S as string] ?? 0) + 1;
  expect(items.length).toBeGreaterThan(0);
  expect(printed).toEqual(inTable);
  expect(
    items.some((i) => i.note !== undefined),
    'some orders got a note (SET note)',
  ).toBe(true);
  client.destroy();
});

test('a missing table is exit 1 with the fix; --orders with --stream is usage and exit 2', async () => {
  const missing = await produce(['--orders', '--endpoint', server.endpoint, '--table', 'nope', '--count', '1']);
  expect(missing.code).toBe(1);
  expect(missing.err).toContain('table nope not found');
  const both = await produce(['--orders', '--stream', 's']);
  expect(both.code).toBe(2);
  expect(both.err).toContain('--orders writes to a DynamoDB table');
});
