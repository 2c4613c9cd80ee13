/**
 * `npm start` end to end, as a user runs it: the runner as a child process, events pushed with the
 * producer (a poison record among them, invocations that crash after writing), counters checked against
 * the reference model, the poison record in the failure destination, and a clean exit on Ctrl-C; then a
 * second run on the same --data-dir re-reads the whole stream and the counters do not move.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { KinesisProducer, type ProducerRecord } from '../../src/producer/kinesis-producer.js';
import defaultConfig from '../../streamtally.config.json' with { type: 'json' };
import type { StreamtallyConfig } from '../../src/core/types.js';
import { diffCounters, localDynamoClient, scanCounters } from '../helpers/counters-table.js';
import { referenceCounters, type ModelCell, type ModelEvent } from '../helpers/reference-model.js';
import { RunnerProcess, waitFor } from '../helpers/runner.js';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { motoAvailable, startMoto } from '../../src/local/aws/servers.js';

const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn('[skip] npm start --endpoint <moto_server>: moto_server is not on PATH (pip install "moto[server]")');

const POISON = 'this is not JSON {';
const running: RunnerProcess[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) await r.kill();
});

async function start(args: string[]): Promise<RunnerProcess> {
  const runner = await RunnerProcess.start(args);
  running.push(runner);
  return runner;
}

function knownEvents(now: number): { records: ProducerRecord[]; events: ModelEvent[] } {
  const events: ModelEvent[] = [];
  const records: ProducerRecord[] = [];
  for (let i = 0; i < 240; i++) {
    const event = {
      type: i % 10 === 0 ? 'purchase' : 'page_view',
      ts: new Date(now - (i % 50) * 1000).toISOString(),
      user: { id: `u-${i % 37}`, plan: i % 5 === 0 ? 'pro' : 'free' },
      page: `/p/${i % 6}`,
      country: ['DE', 'US', 'FR'][i % 3],
      latencyMs: (i * 7) % 400,
      amount: i % 10 === 0 ? 10.5 + (i % 4) : undefined,
    };
    events.push({ event, arrivalMs: now });
    records.push({ partitionKey: `k-${i % 8}`, data: JSON.stringify(event) });
    if (i === 120) records.push({ partitionKey: 'poison', data: POISON });
  }
  return { records, events };
}

async function countersEqual(
  runner: RunnerProcess,
  expected: Map<string, ModelCell>,
  timeoutMs: number,
): Promise<void> {
  const dynamodb = localDynamoClient(runner.endpoints.dynamodb);
  let diffs: string[] = [];
  try {
    await waitFor(
      'counters equal to the reference model',
      async () => {
        diffs = diffCounters(await scanCounters(dynamodb, runner.endpoints.counters), expected);
        return diffs.length === 0 ? true : undefined;
      },
      timeoutMs,
      () => `diffs:\n${diffs.slice(0, 20).join('\n')}\nrunner output:\n${runner.output}`,
    );
  } finally {
    dynamodb.destroy();
  }
}

describe('npm start -- --no-demo (child process)', () => {
  it('counts pushed events exactly, keeps the poison record in the failure destination, and stops cleanly on Ctrl-C', async () => {
    const runner = await start(['--no-demo', '--chaos', '4', '--log-level', 'ERROR']);
    const { endpoints } = runner;
    expect(endpoints.kinesis).toMatch(/^http:\/\/127\.0\.0\.1:/);

    // Push a known set of events, with a poison record in the middle.
    const kinesis = new KinesisClient(clientConfig({ endpoint: endpoints.kinesis }));
    const { records, events } = knownEvents(Date.now());
    const summary = await new KinesisProducer({ client: kinesis, streamName: runner.streamName }).put(records);
    expect(summary.sent).toBe(records.length);
    kinesis.destroy();

    // Counters equal the reference model although every 4th invocation crashed after writing.
    await countersEqual(runner, referenceCounters(defaultConfig as StreamtallyConfig, events), 90_000);
    expect(runner.output).toMatch(/counter writes \d+/);

    // The poison record is in the failure destination with its data.
    const sqs = new SQSClient(clientConfig({ endpoint: endpoints.sqs }));
    const bodies: string[] = [];
    await waitFor(
      'the poison record in the failure queue',
      async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: endpoints.failures, MaxNumberOfMessages: 10 }),
        );
        for (const m of out.Messages ?? []) bodies.push(m.Body ?? '');
        return bodies.some((b) => b.includes(Buffer.from(POISON).toString('base64'))) ? true : undefined;
      },
      30_000,
    );
    sqs.destroy();

    // Ctrl-C stops everything cleanly.
    await runner.interrupt();
    expect(runner.stoppedCleanly, runner.output).toBe(true);
    await waitFor(
      'kinesis-local to be gone',
      async () => {
        try {
          await fetch(`${endpoints.kinesis}/healthcheck`);
          return undefined;
        } catch {
          return true;
        }
      },
      15_000,
    );
  }, 200_000);

  it('--data-dir keeps stream, table and queue between runs; re-reading the whole stream moves no counter', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streamtally-data-'));
    const first = await start(['--no-demo', '--data-dir', dataDir, '--log-level', 'ERROR']);
    const kinesis = new KinesisClient(clientConfig({ endpoint: first.endpoints.kinesis }));
    const { records, events } = knownEvents(Date.now());
    expect((await new KinesisProducer({ client: kinesis, streamName: first.streamName }).put(records)).sent).toBe(
      records.length,
    );
    kinesis.destroy();
    const expected = referenceCounters(defaultConfig as StreamtallyConfig, events);
    await countersEqual(first, expected, 90_000);
    // kinesis-local persists on an interval: give it a moment to write the stream to disk.
    await new Promise((r) => setTimeout(r, 2_500));
    await first.interrupt();
    expect(first.stoppedCleanly, first.output).toBe(true);

    // Second run, same data: the emulator starts at TRIM_HORIZON again and re-delivers every record.
    const second = await start(['--no-demo', '--data-dir', dataDir, '--log-level', 'ERROR']);
    await waitFor(
      'the second run to re-read the stream',
      () => {
        const m = [...second.output.matchAll(/records in (\d+)/g)].pop();
        return m && Number(m[1]) >= records.length ? true : undefined;
      },
      90_000,
      () => second.output,
    );
    await countersEqual(second, expected, 30_000);
    await second.interrupt();
    expect(second.stoppedCleanly, second.output).toBe(true);
  }, 300_000);

  it.skipIf(!HAS_MOTO)(
    '--endpoint <moto_server>: the DynamoDB Streams path runs too, orders counted per status',
    async () => {
      const moto = await startMoto();
      try {
        const runner = await start(['--no-demo', '--endpoint', moto.endpoint, '--log-level', 'ERROR']);
        expect(runner.output).toMatch(/emulating AnalyticsFunction <- dynamodb arn:aws:dynamodb:\S+\/stream\//);
        const dynamodb = new DynamoDBClient(clientConfig({ endpoint: moto.endpoint }));
        for (let i = 0; i < 6; i++) {
          await dynamodb.send(
            new PutItemCommand({
              TableName: 'streamtally-dev-orders',
              Item: { orderId: { S: `o-${i}` }, status: { S: 'new' }, amount: { N: '12.5' } },
            }),
          );
        }
        await dynamodb.send(
          new UpdateItemCommand({
            TableName: 'streamtally-dev-orders',
            Key: { orderId: { S: 'o-0' } },
            UpdateExpression: 'SET #s = :s',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':s': { S: 'paid' } },
          }),
        );
        const totals = async (): Promise<Record<string, number>> => {
          const out: Record<string, number> = {};
          for (const cell of (await scanCounters(dynamodb, runner.endpoints.counters)).values()) {
            if (cell.pk.startsWith('orders_entering_status#') && cell.sk.startsWith('1m#'))
              out[cell.pk] = (out[cell.pk] ?? 0) + cell.count;
          }
          return out;
        };
        let last: Record<string, number> = {};
        await waitFor(
          'orders counted per status',
          async () => {
            last = await totals();
            return last['orders_entering_status#new'] === 6 && last['orders_entering_status#paid'] === 1
              ? true
              : undefined;
          },
          90_000,
          () => `${JSON.stringify(last)}\n${runner.output}`,
        );
        dynamodb.destroy();
        await runner.interrupt();
        expect(runner.stoppedCleanly, runner.output).toBe(true);
      } finally {
        await moto.stop();
      }
    },
    200_000,
  );
});
