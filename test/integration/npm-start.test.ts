/**
 * `npm start` end to end, as a user runs it: the runner as a child process, events pushed with the
 * producer (a poison record among them, invocations that crash after writing), counters checked against
 * the reference model, the poison record in the failure destination, and a clean exit on SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig } from '../../src/local/aws-clients.js';
import { KinesisProducer } from '../../src/local/producer.js';
import defaultConfig from '../../streamtally.config.json' with { type: 'json' };
import type { StreamtallyConfig } from '../../src/core/types.js';
import { diffCounters, localDynamoClient, scanCounters } from '../support/counters-table.js';
import { referenceCounters, type ModelEvent } from '../support/reference-model.js';

const ROOT = resolve(import.meta.dirname, '../..');
const START_DEADLINE_MS = 120_000;

let child: ChildProcess;
let output = '';
let exitCode: number | null | undefined;
let exitSignal: NodeJS.Signals | null = null;

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; runner output:\n${output}\n${last ? String(last) : ''}`);
}

beforeAll(async () => {
  child = spawn('npm', ['start', '--', '--no-demo', '--chaos', '4', '--log-level', 'ERROR'], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  // 'close' fires once every process holding the output pipes (npm, tsx, the runner) has gone.
  child.on('close', (code, signal) => {
    exitCode = code;
    exitSignal = signal;
  });
  await waitFor('the dashboard line', () => (/dashboard: http:\/\/127\.0\.0\.1:\d+\//.test(output) ? true : undefined), START_DEADLINE_MS);
}, START_DEADLINE_MS + 10_000);

afterAll(async () => {
  if (child?.pid && exitCode === undefined) process.kill(-child.pid, 'SIGKILL');
});

describe('npm start -- --no-demo (child process)', () => {
  it('counts pushed events exactly, keeps the poison record in the failure destination, and stops cleanly on SIGINT', async () => {
    const endpoints = Object.fromEntries([...(/endpoints: (.*)/.exec(output)?.[1] ?? '').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    expect(endpoints.kinesis).toMatch(/^http:\/\/127\.0\.0\.1:/);
    const streamName = /--stream (\S+)/.exec(output)?.[1] as string;

    // Push a known set of events, with a poison record in the middle.
    const kinesis = new KinesisClient(clientConfig({ endpoint: endpoints.kinesis }));
    const producer = new KinesisProducer({ client: kinesis, streamName });
    const now = Date.now();
    const events: ModelEvent[] = [];
    const records = [];
    for (let i = 0; i < 240; i++) {
      const event = { type: i % 10 === 0 ? 'purchase' : 'page_view', ts: new Date(now - (i % 50) * 1000).toISOString(), user: { id: `u-${i % 37}`, plan: i % 5 === 0 ? 'pro' : 'free' }, page: `/p/${i % 6}`, country: ['DE', 'US', 'FR'][i % 3], latencyMs: (i * 7) % 400, amount: i % 10 === 0 ? 10.5 + (i % 4) : undefined };
      events.push({ event, arrivalMs: now });
      records.push({ partitionKey: `k-${i % 8}`, data: JSON.stringify(event) });
      if (i === 120) records.push({ partitionKey: 'poison', data: 'this is not JSON {' });
    }
    const summary = await producer.put(records);
    expect(summary.sent).toBe(records.length);

    // Counters equal the reference model (page_views, purchases, distinct_users counts) once processed.
    const dynamodb = localDynamoClient(endpoints.dynamodb);
    const expected = referenceCounters(defaultConfig as StreamtallyConfig, events);
    let diffs: string[] = [];
    await waitFor('counters equal to the reference model', async () => {
      diffs = diffCounters(await scanCounters(dynamodb, endpoints.counters), expected);
      return diffs.length === 0 ? true : undefined;
    }, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\ndiffs:\n${diffs.slice(0, 20).join('\n')}`);
    });
    expect(output).toMatch(/counter writes \d+/);

    // The poison record is in the failure destination with its data.
    const sqs = new SQSClient(clientConfig({ endpoint: endpoints.sqs }));
    const bodies: string[] = [];
    await waitFor('the poison record in the failure queue', async () => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: endpoints.failures, MaxNumberOfMessages: 10 }));
      for (const m of out.Messages ?? []) bodies.push(m.Body ?? '');
      return bodies.some((b) => b.includes(Buffer.from('this is not JSON {').toString('base64'))) ? true : undefined;
    }, 30_000);

    // Ctrl-C: the terminal sends SIGINT to the whole foreground process group (npm, tsx, node).
    process.kill(-(child.pid as number), 'SIGINT');
    await waitFor('the runner to exit', () => (exitCode === undefined ? undefined : true), 30_000);
    // npm itself ends by the SIGINT it received (code null), as in a terminal; the runner under it must
    // have stopped everything and exited by itself.
    expect(exitCode === 0 || (exitCode === null && exitSignal === 'SIGINT')).toBe(true);
    expect(output).toContain('stopped.');
    await waitFor('kinesis-local to be gone', async () => {
      try {
        await fetch(`${endpoints.kinesis}/healthcheck`);
        return undefined;
      } catch {
        return true;
      }
    }, 15_000);
    kinesis.destroy();
    dynamodb.destroy();
    sqs.destroy();
  }, 200_000);
});
