/**
 * local-sqs (the SQS server `npm start` uses) driven by the real @aws-sdk/client-sqs, which speaks the
 * SQS JSON protocol and checks body MD5s on send and receive. Claims about real SQS behaviour are
 * tested on moto_server elsewhere; this only checks that the real client works against local-sqs.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs } from '../../src/local/local-sqs/local-sqs-server.js';
import type { LocalServer } from '../../src/local/aws/servers.js';

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
const makeClient = (endpoint: string): SQSClient =>
  new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

/** Receives until the queue is empty, deleting each message right after it is received. */
async function drain(client: SQSClient, QueueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return bodies;
    for (const m of messages) {
      expect(m.MD5OfBody).toBe(md5(m.Body ?? ''));
      bodies.push(m.Body ?? '');
      await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

let server: LocalServer;
let client: SQSClient;
let dir: string;

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  dir = mkdtempSync(join(tmpdir(), 'local-sqs-'));
  server = await startLocalSqs();
  client = makeClient(server.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('local-sqs with the real SQS client', () => {
  it('binds to loopback on a free port', () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.endpoint).not.toMatch(/:0$/);
  });

  it('CreateQueue is idempotent and the queue reports its ARN and creation attributes', async () => {
    const Attributes = { MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' };
    const first = await client.send(new CreateQueueCommand({ QueueName: 'failures', Attributes }));
    const second = await client.send(new CreateQueueCommand({ QueueName: 'failures', Attributes }));
    expect(first.QueueUrl).toBe(`${server.endpoint}/000000000000/failures`);
    expect(second.QueueUrl).toBe(first.QueueUrl);
    expect((await client.send(new GetQueueUrlCommand({ QueueName: 'failures' }))).QueueUrl).toBe(first.QueueUrl);
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: first.QueueUrl, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes).toMatchObject({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:failures',
      ApproximateNumberOfMessages: '0',
      MessageRetentionPeriod: '1209600',
      SqsManagedSseEnabled: 'true',
    });
    const listed = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'fail' }));
    expect(listed.QueueUrls).toEqual([first.QueueUrl]);
  });

  it('a batch of 10 and a single send are all received back exactly once', async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'roundtrip' }));
    const bodies = Array.from({ length: 10 }, (_, i) => JSON.stringify({ record: i, note: 'ünïcode ✓' }));
    const batch = await client.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: bodies.map((MessageBody, i) => ({ Id: `e${i}`, MessageBody })),
      }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    expect(batch.Successful?.map((s) => s.Id)).toEqual(bodies.map((_, i) => `e${i}`));
    for (const [i, s] of (batch.Successful ?? []).entries()) expect(s.MD5OfMessageBody).toBe(md5(bodies[i]));
    const single = await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'single' }));
    expect(single.MD5OfMessageBody).toBe(md5('single'));
    expect(new Set([...(batch.Successful ?? []).map((s) => s.MessageId), single.MessageId]).size).toBe(11);

    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('11');

    const received = await drain(client, QueueUrl!);
    expect(received.sort()).toEqual([...bodies, 'single'].sort());
    const after = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    expect(after.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });

  it('a received message is invisible for its visibility timeout, then comes back', async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'visibility' }));
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'again' }));
    const first = await client.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 1 }));
    expect(first.Messages?.map((m) => m.Body)).toEqual(['again']);
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    const second = await client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        WaitTimeSeconds: 3,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(second.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['again', '2']]);
    const del = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [{ Id: 'a', ReceiptHandle: second.Messages![0].ReceiptHandle }],
      }),
    );
    expect(del.Successful?.map((s) => s.Id)).toEqual(['a']);
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'purged' }));
    await client.send(new PurgeQueueCommand({ QueueUrl }));
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
  });

  it('an entry over 256 KiB is reported in Failed while the rest of the batch is sent', async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'too-large' }));
    const big = 'x'.repeat(256 * 1024 + 1);
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'ok', MessageBody: 'small' },
          { Id: 'big', MessageBody: big },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['ok']);
    expect(out.Failed).toHaveLength(1);
    expect(out.Failed?.[0]).toMatchObject({ Id: 'big', SenderFault: true });
    expect(await drain(client, QueueUrl!)).toEqual(['small']);
    await expect(client.send(new SendMessageCommand({ QueueUrl, MessageBody: big }))).rejects.toThrow(
      /shorter than 262144/,
    );
  });

  it('a missing queue raises QueueDoesNotExist; an unknown operation names itself', async () => {
    const missingUrl = `${server.endpoint}/000000000000/nope`;
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    await expect(client.send(new SendMessageCommand({ QueueUrl: missingUrl, MessageBody: 'x' }))).rejects.toMatchObject(
      { name: 'QueueDoesNotExist' },
    );
    await expect(client.send(new ReceiveMessageCommand({ QueueUrl: missingUrl }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });

    const res = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'AmazonSQS.TagQueue', 'Content-Type': 'application/x-amz-json-1.0' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-query-error')).toBe('AWS.SimpleQueueService.UnsupportedOperation;Sender');
    const body = (await res.json()) as { __type: string; message: string };
    expect(body.__type).toBe('com.amazonaws.sqs#UnsupportedOperation');
    expect(body.message).toContain('TagQueue');
  });

  it('with dataDir, queues and undeleted messages survive a restart; deleted ones do not', async () => {
    const dataDir = join(dir, 'data');
    let persistent = await startLocalSqs({ dataDir });
    let c = makeClient(persistent.endpoint);
    try {
      const { QueueUrl } = await c.send(
        new CreateQueueCommand({ QueueName: 'durable', Attributes: { MessageRetentionPeriod: '86400' } }),
      );
      await c.send(
        new SendMessageBatchCommand({ QueueUrl, Entries: ['a', 'b', 'c'].map((b) => ({ Id: b, MessageBody: b })) }),
      );
      const got = await c.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
      expect(got.Messages?.map((m) => m.Body)).toEqual(['a']);
      await c.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages![0].ReceiptHandle }));
      // 'b' is received but not deleted: in flight when the server stops, visible again after.
      await c.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    } finally {
      c.destroy();
      await persistent.stop();
    }

    persistent = await startLocalSqs({ dataDir });
    c = makeClient(persistent.endpoint);
    try {
      const { QueueUrl } = await c.send(new GetQueueUrlCommand({ QueueName: 'durable' }));
      expect(QueueUrl).toBe(`${persistent.endpoint}/000000000000/durable`);
      const attrs = await c.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['MessageRetentionPeriod', 'ApproximateNumberOfMessages'],
        }),
      );
      expect(attrs.Attributes).toEqual({ MessageRetentionPeriod: '86400', ApproximateNumberOfMessages: '2' });
      expect((await drain(c, QueueUrl!)).sort()).toEqual(['b', 'c']);
    } finally {
      c.destroy();
      await persistent.stop();
    }
  });
});
