/**
 * Shared by the replay suites (exactness-replay*.test.ts): a counters table whose writes can be made to
 * fail, the failure queue read and handed back, and `npm run replay` as a child process that can be
 * SIGKILLed right after its Nth PutItem reached the table (before it heard back).
 */
import { spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface CounterWriteFaults {
  /** -1: off; else let this many counter PutItems through, then refuse every one (a 400: known not landed). */
  failCounterWritesAfter: number;
  seen: number;
  /** Refuse the failure ledger's writes too (a whole-table outage). */
  failLedger: boolean;
}

/** Arms `faults` on the handler's client: counter-item PutItems fail once armed (the ledger's only with failLedger). */
export function injectCounterWriteFaults(client: DynamoDBClient, failLedger = false): CounterWriteFaults {
  const faults: CounterWriteFaults = { failCounterWritesAfter: -1, seen: 0, failLedger };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutItemCommand' && faults.failCounterWritesAfter >= 0) {
        const pk = String((args.input as { Item?: { pk?: { S?: string } } }).Item?.pk?.S ?? '');
        const isLedger = pk.startsWith('__ledger__');
        if ((!isLedger || faults.failLedger) && (isLedger || faults.seen++ >= faults.failCounterWritesAfter)) {
          // As the SDK reports DynamoDB's refusal: a 400 answer, so the write is known not to have landed.
          throw Object.assign(new Error('injected AccessDeniedException on PutItem'), {
            name: 'AccessDeniedException',
            $metadata: { httpStatusCode: 400 },
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'replayTestFaults' },
  );
  return faults;
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string | (() => string),
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Visible and in-flight messages of the queue. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Reads every message of the queue (hiding each), then hands every one back (visibility 0). */
export async function peekQueue(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  const handles: string[] = [];
  for (;;) {
    const page =
      (
        await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
        )
      ).Messages ?? [];
    if (page.length === 0) break;
    for (const m of page) {
      bodies.push(m.Body as string);
      handles.push(m.ReceiptHandle as string);
    }
  }
  for (const ReceiptHandle of handles)
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle, VisibilityTimeout: 0 }));
  return bodies;
}

/** Rejects whose record lies inside a dropped range (`KinesisBatchInfo` / `DDBStreamBatchInfo`): where a range replay and a reject replay meet. */
export function rejectsInsideRanges(bodies: ReadonlyArray<string>): number {
  const parsed = bodies.map((b) => JSON.parse(b) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  const ranges = parsed
    .map((m) => m.KinesisBatchInfo ?? m.DDBStreamBatchInfo)
    .filter((info) => info !== undefined)
    .map((info) => [BigInt(info.startSequenceNumber), BigInt(info.endSequenceNumber)]);
  return parsed.filter(
    (m) =>
      m.source === 'streamtally' &&
      ranges.some(([a, b]) => BigInt(m.sequenceNumber) >= a && BigInt(m.sequenceNumber) <= b),
  ).length;
}

/** Sends the same messages again (a duplicate delivery, an operator's second run). */
export async function resend(sqs: SQSClient, queueUrl: string, bodies: ReadonlyArray<string>): Promise<void> {
  for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

/** Every item of the table, raw (progress attributes and all), for "nothing changed" checks. */
export async function rawTable(client: DynamoDBClient, table: string): Promise<string> {
  const out = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return JSON.stringify((out.Items ?? []).map((i) => JSON.stringify(i)).sort());
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ReplayTarget {
  queueUrl: string;
  table: string;
  configFile: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  kinesisEndpoint?: string;
  s3Endpoint?: string;
}

/** `npm run replay` as a child process (node --import tsx src/cli/replay.ts); `killAfterPuts` SIGKILLs it after that many PutItem calls landed. */
export async function replayCli(target: ReplayTarget, extra: string[] = [], killAfterPuts = 0): Promise<CliRun> {
  let dynamoEndpoint = target.dynamodbEndpoint;
  let proxy: Server | undefined;
  let puts = 0;
  let child: ReturnType<typeof spawn> | undefined;
  if (killAfterPuts > 0) {
    // A proxy in front of the table: the Nth PutItem reaches it, then the replay dies before it hears back.
    const upstream = new URL(target.dynamodbEndpoint);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const isPut = String(req.headers['x-amz-target'] ?? '').endsWith('.PutItem');
        const up = request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (upRes) => {
            const body: Buffer[] = [];
            upRes.on('data', (c: Buffer) => body.push(c));
            upRes.on('end', () => {
              if (isPut && ++puts >= killAfterPuts) {
                child?.kill('SIGKILL');
                res.destroy();
                return;
              }
              res.writeHead(upRes.statusCode ?? 500, upRes.headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy?.listen(0, '127.0.0.1', () => r()));
    const address = proxy.address();
    dynamoEndpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }
  // One process (node with tsx's loader), so SIGKILL kills the replay itself, not a wrapper around it.
  const args = [
    '--import',
    'tsx',
    'src/cli/replay.ts',
    '--queue-url',
    target.queueUrl,
    '--table',
    target.table,
    '--config',
    target.configFile,
    '--dynamodb-endpoint',
    dynamoEndpoint,
    '--sqs-endpoint',
    target.sqsEndpoint,
    ...(target.kinesisEndpoint ? ['--kinesis-endpoint', target.kinesisEndpoint] : []),
    ...(target.s3Endpoint ? ['--s3-endpoint', target.s3Endpoint] : []),
    ...extra,
  ];
  try {
    return await new Promise<CliRun>((resolve, reject) => {
      child = spawn(process.execPath, args, {
        cwd: process.cwd(),
        env: { ...process.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  } finally {
    proxy?.close();
  }
}
