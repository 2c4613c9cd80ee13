/**
 * A small in-process SQS server speaking the SQS JSON protocol (awsJson1_0 with query-compatible
 * errors), the one `@aws-sdk/client-sqs` v3 uses: `POST /` with `X-Amz-Target: AmazonSQS.<Op>`.
 *
 * Why it exists: `npm start` must run the product on one machine with only Node and npm, and there
 * is no SQS server on npm (kinesis-local and dynalite cover Kinesis and DynamoDB). The product's
 * failure destination is an SQS queue, so `npm start` needs *something* that the real client can
 * create, send to and read from. It is used by `npm start` only: the integration claims the product
 * makes about SQS behaviour are tested against moto_server, not against this.
 *
 * Operations: CreateQueue, GetQueueUrl, GetQueueAttributes, ListQueues, SendMessage,
 * SendMessageBatch, ReceiveMessage, DeleteMessage, DeleteMessageBatch, PurgeQueue. Anything else
 * is answered with a 400 `UnsupportedOperation` naming the operation.
 *
 * State is in memory; with `dataDir`, each queue's creation, sends, deletes and purges are appended
 * to `<dataDir>/sqs-<queue>.jsonl` and replayed on start, so unconsumed messages survive a restart.
 *
 * Limits (deliberate, keep them in mind before trusting it for anything but a local run):
 * - No signature checking, no IAM, one account (000000000000) and one region (us-east-1).
 * - Visibility timeout is honoured (per receive or queue attribute); in-flight state is not
 *   persisted, so after a restart every undeleted message is visible again (at-least-once holds).
 * - Message size is checked against MaximumMessageSize (default 262144 bytes, body only). An
 *   oversized entry in SendMessageBatch is reported in `Failed`; real SQS may instead reject the
 *   whole batch with BatchRequestTooLong when the total exceeds the limit.
 * - DelaySeconds is honoured; MessageRetentionPeriod, redrive policies, dead-letter queues, FIFO
 *   deduplication and message-group ordering semantics are not (FIFO queues are plain in-order queues).
 * - MessageAttributes are stored and returned, but MD5OfMessageAttributes is not computed.
 * - WaitTimeSeconds is honoured up to 20 s, by polling; ListQueues does not paginate.
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { LOOPBACK, listenOnLoopback, type LocalServer } from '../aws/servers.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const MAX_WAIT_SECONDS = 20;
const MAX_BATCH_ENTRIES = 10;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$|^[A-Za-z0-9_-]{1,75}\.fifo$/;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;

const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  DelaySeconds: '0',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
};

export interface StartLocalSqsOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** When given, queues and their messages are journalled here and reloaded on start. */
  dataDir?: string;
}

type MessageAttributes = Record<string, unknown>;

interface StoredMessage {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receipt?: string;
  messageAttributes?: MessageAttributes;
}

interface Queue {
  name: string;
  attributes: Record<string, string>;
  createdAt: number;
  messages: StoredMessage[];
}

type JournalEntry =
  | { op: 'create'; attributes: Record<string, string>; at: number }
  | { op: 'send'; id: string; body: string; sentAt: number; visibleAt: number; messageAttributes?: MessageAttributes }
  | { op: 'delete'; id: string }
  | { op: 'purge' };

class SqsError extends Error {
  override name = 'SqsError';

  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const queueMissing = (): SqsError =>
  new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
const invalid = (message: string): SqsError => new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
const missing = (name: string): SqsError =>
  new SqsError('MissingParameter', 'MissingParameter', `The request must contain the parameter ${name}.`);

const journalPath = (dataDir: string, queue: string): string => join(dataDir, `sqs-${queue}.jsonl`);
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

type Body = Record<string, unknown>;

function str(body: Body, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw missing(key);
  return value;
}

function intIn(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw invalid(`Value ${String(value)} for parameter ${name} is invalid. Must be between ${min} and ${max}.`);
  return n;
}

function stringMap(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('Attributes must be a map of strings.');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = String(v);
  return out;
}

function entriesOf(body: Body): Body[] {
  const entries = body.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsError(
      'EmptyBatchRequest',
      'AWS.SimpleQueueService.EmptyBatchRequest',
      'There should be at least one entry in the request.',
    );
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const ids = new Set<string>();
  for (const entry of entries as Body[]) {
    const id = entry.Id;
    if (typeof id !== 'string' || !BATCH_ID.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'AWS.SimpleQueueService.InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id))
      throw new SqsError(
        'BatchEntryIdsNotDistinct',
        'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
        `Id ${id} repeated.`,
      );
    ids.add(id);
  }
  return entries as Body[];
}

export async function startLocalSqs(options: StartLocalSqsOptions = {}): Promise<LocalServer> {
  const queues = new Map<string, Queue>();
  const dataDir = options.dataDir;
  let baseUrl = '';
  let closed = false;

  const journal = (queue: string, entry: JournalEntry): void => {
    if (dataDir) appendFileSync(journalPath(dataDir, queue), `${JSON.stringify(entry)}\n`);
  };

  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    for (const file of readdirSync(dataDir)) {
      const match = /^sqs-(.+)\.jsonl$/.exec(file);
      if (!match || !QUEUE_NAME.test(match[1])) continue;
      let queue: Queue | undefined;
      for (const line of readFileSync(join(dataDir, file), 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          continue; // a torn last line from a crash: skip it
        }
        if (entry.op === 'create') {
          queue ??= { name: match[1], attributes: entry.attributes, createdAt: entry.at, messages: [] };
        } else if (!queue) {
          continue;
        } else if (entry.op === 'send') {
          queue.messages.push({
            id: entry.id,
            body: entry.body,
            md5: md5(entry.body),
            sentAt: entry.sentAt,
            visibleAt: entry.visibleAt,
            receiveCount: 0,
            ...(entry.messageAttributes ? { messageAttributes: entry.messageAttributes } : {}),
          });
        } else if (entry.op === 'delete') {
          queue.messages = queue.messages.filter((m) => m.id !== entry.id);
        } else {
          queue.messages = [];
        }
      }
      if (queue) queues.set(queue.name, queue);
    }
  }

  const queueUrl = (name: string): string => `${baseUrl}/${ACCOUNT}/${name}`;

  const byName = (name: string): Queue => {
    const queue = queues.get(name);
    if (!queue) throw queueMissing();
    return queue;
  };

  const byUrl = (body: Body): Queue => {
    const url = str(body, 'QueueUrl');
    const name = url.replace(/\/+$/, '').split('/').pop() ?? '';
    return byName(name);
  };

  const attributeNumber = (queue: Queue, name: string): number =>
    Number(queue.attributes[name] ?? DEFAULT_ATTRIBUTES[name]);

  const enqueue = (queue: Queue, entry: Body): { MessageId: string; MD5OfMessageBody: string } => {
    const body = entry.MessageBody;
    if (typeof body !== 'string' || body === '') throw missing('MessageBody');
    const maxSize = attributeNumber(queue, 'MaximumMessageSize');
    const size = Buffer.byteLength(body, 'utf8');
    if (size > maxSize)
      throw invalid(
        `One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes (was ${size}).`,
      );
    const delay = intIn(entry.DelaySeconds, 'DelaySeconds', 0, 900, attributeNumber(queue, 'DelaySeconds'));
    const now = Date.now();
    const attrs = entry.MessageAttributes as MessageAttributes | undefined;
    const message: StoredMessage = {
      id: randomUUID(),
      body,
      md5: md5(body),
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      ...(attrs && Object.keys(attrs).length > 0 ? { messageAttributes: attrs } : {}),
    };
    queue.messages.push(message);
    journal(queue.name, {
      op: 'send',
      id: message.id,
      body,
      sentAt: now,
      visibleAt: message.visibleAt,
      ...(message.messageAttributes ? { messageAttributes: message.messageAttributes } : {}),
    });
    return { MessageId: message.id, MD5OfMessageBody: message.md5 };
  };

  const removeByReceipt = (queue: Queue, handle: unknown): void => {
    if (typeof handle !== 'string' || handle === '') throw missing('ReceiptHandle');
    const id = handle.split(':')[0];
    if (!/^[0-9a-f-]{36}$/.test(id)) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
      );
    }
    const before = queue.messages.length;
    queue.messages = queue.messages.filter((m) => m.id !== id);
    if (queue.messages.length !== before) journal(queue.name, { op: 'delete', id });
  };

  const receive = (queue: Queue, max: number, visibility: number, body: Body): Body[] => {
    const now = Date.now();
    const out: Body[] = [];
    const wantedAttrs = [
      ...((body.AttributeNames as string[] | undefined) ?? []),
      ...((body.MessageSystemAttributeNames as string[] | undefined) ?? []),
    ];
    const wantedMessageAttrs = (body.MessageAttributeNames as string[] | undefined) ?? [];
    for (const m of queue.messages) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.receiveCount += 1;
      m.firstReceivedAt ??= now;
      m.visibleAt = now + visibility * 1000;
      m.receipt = `${m.id}:${randomUUID()}`;
      const msg: Body = { MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: m.md5, Body: m.body };
      if (wantedAttrs.length > 0) {
        const all: Record<string, string> = {
          SenderId: ACCOUNT,
          SentTimestamp: String(m.sentAt),
          ApproximateReceiveCount: String(m.receiveCount),
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
        };
        msg.Attributes = wantedAttrs.includes('All')
          ? all
          : Object.fromEntries(Object.entries(all).filter(([k]) => wantedAttrs.includes(k)));
      }
      if (m.messageAttributes && wantedMessageAttrs.length > 0) {
        const pick = Object.entries(m.messageAttributes).filter(([k]) =>
          wantedMessageAttrs.some(
            (w) => w === 'All' || w === '.*' || w === k || (w.endsWith('.*') && k.startsWith(w.slice(0, -1))),
          ),
        );
        if (pick.length > 0) msg.MessageAttributes = Object.fromEntries(pick);
      }
      out.push(msg);
    }
    return out;
  };

  const handlers: Record<string, (body: Body) => Promise<Body> | Body> = {
    CreateQueue(body) {
      const name = str(body, 'QueueName');
      if (!QUEUE_NAME.test(name)) {
        throw invalid(
          'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length (a FIFO name ends in .fifo).',
        );
      }
      const attributes = stringMap(body.Attributes);
      const existing = queues.get(name);
      if (existing) {
        const differs = Object.entries(attributes).some(
          ([k, v]) => (existing.attributes[k] ?? DEFAULT_ATTRIBUTES[k]) !== v,
        );
        if (differs) {
          throw new SqsError(
            'QueueNameExists',
            'QueueAlreadyExists',
            `A queue already exists with the same name and a different value for attribute(s) ${Object.keys(attributes).join(', ')}`,
          );
        }
        return { QueueUrl: queueUrl(name) };
      }
      const at = Date.now();
      queues.set(name, { name, attributes, createdAt: at, messages: [] });
      journal(name, { op: 'create', attributes, at });
      return { QueueUrl: queueUrl(name) };
    },
    GetQueueUrl(body) {
      const name = str(body, 'QueueName');
      byName(name);
      return { QueueUrl: queueUrl(name) };
    },
    GetQueueAttributes(body) {
      const queue = byUrl(body);
      const now = Date.now();
      const inFlight = queue.messages.filter((m) => m.visibleAt > now && m.receiveCount > 0).length;
      const delayed = queue.messages.filter((m) => m.visibleAt > now && m.receiveCount === 0).length;
      const created = String(Math.floor(queue.createdAt / 1000));
      const all: Record<string, string> = {
        ...DEFAULT_ATTRIBUTES,
        ...queue.attributes,
        QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue.name}`,
        ApproximateNumberOfMessages: String(queue.messages.length - inFlight - delayed),
        ApproximateNumberOfMessagesNotVisible: String(inFlight),
        ApproximateNumberOfMessagesDelayed: String(delayed),
        CreatedTimestamp: created,
        LastModifiedTimestamp: created,
      };
      const names = (body.AttributeNames as string[] | undefined) ?? [];
      const picked = names.includes('All')
        ? all
        : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
      return Object.keys(picked).length > 0 ? { Attributes: picked } : {};
    },
    ListQueues(body) {
      const prefix = typeof body.QueueNamePrefix === 'string' ? body.QueueNamePrefix : '';
      const urls = [...queues.keys()]
        .filter((n) => n.startsWith(prefix))
        .sort()
        .map(queueUrl);
      return urls.length > 0 ? { QueueUrls: urls } : {};
    },
    SendMessage(body) {
      return enqueue(byUrl(body), body);
    },
    SendMessageBatch(body) {
      const queue = byUrl(body);
      const Successful: Body[] = [];
      const Failed: Body[] = [];
      for (const entry of entriesOf(body)) {
        try {
          Successful.push({ Id: entry.Id, ...enqueue(queue, entry) });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: err.type, Message: err.message });
        }
      }
      return { Successful, Failed };
    },
    async ReceiveMessage(body) {
      const queue = byUrl(body);
      const max = intIn(body.MaxNumberOfMessages, 'MaxNumberOfMessages', 1, 10, 1);
      const visibility = intIn(
        body.VisibilityTimeout,
        'VisibilityTimeout',
        0,
        43_200,
        attributeNumber(queue, 'VisibilityTimeout'),
      );
      const wait = intIn(
        body.WaitTimeSeconds,
        'WaitTimeSeconds',
        0,
        MAX_WAIT_SECONDS,
        attributeNumber(queue, 'ReceiveMessageWaitTimeSeconds'),
      );
      const deadline = Date.now() + wait * 1000;
      let messages = receive(queue, max, visibility, body);
      while (messages.length === 0 && !closed && Date.now() < deadline && queues.get(queue.name) === queue) {
        await new Promise((r) => setTimeout(r, 50));
        messages = receive(queue, max, visibility, body);
      }
      return messages.length > 0 ? { Messages: messages } : {};
    },
    DeleteMessage(body) {
      removeByReceipt(byUrl(body), body.ReceiptHandle);
      return {};
    },
    ChangeMessageVisibility(body) {
      // Used by `npm run replay` to hand back the messages it keeps (or only looked at, in a dry run).
      const queue = byUrl(body);
      const handle = body.ReceiptHandle;
      if (typeof handle !== 'string' || handle === '') throw missing('ReceiptHandle');
      const message = queue.messages.find((m) => m.receipt === handle);
      if (!message)
        throw new SqsError(
          'ReceiptHandleIsInvalid',
          'ReceiptHandleIsInvalid',
          `The input receipt handle "${handle}" is not a valid receipt handle.`,
        );
      message.visibleAt = Date.now() + intIn(body.VisibilityTimeout, 'VisibilityTimeout', 0, 43_200, 0) * 1000;
      return {};
    },
    DeleteMessageBatch(body) {
      const queue = byUrl(body);
      const Successful: Body[] = [];
      const Failed: Body[] = [];
      for (const entry of entriesOf(body)) {
        try {
          removeByReceipt(queue, entry.ReceiptHandle);
          Successful.push({ Id: entry.Id });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: err.type, Message: err.message });
        }
      }
      return { Successful, Failed };
    },
    PurgeQueue(body) {
      const queue = byUrl(body);
      queue.messages = [];
      journal(queue.name, { op: 'purge' });
      return {};
    },
  };

  const send = (res: ServerResponse, status: number, payload: Body, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
      ...headers,
    });
    res.end(text);
  };

  const sendError = (res: ServerResponse, err: SqsError): void => {
    send(
      res,
      err.status,
      { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
      {
        'x-amzn-query-error': `${err.queryCode};${err.status >= 500 ? 'Receiver' : 'Sender'}`,
      },
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : target;
    if (req.method !== 'POST') {
      send(res, 200, { service: 'local-sqs', queues: queues.size });
      return;
    }
    const handler = Object.hasOwn(handlers, operation) ? handlers[operation] : undefined;
    if (!handler) {
      sendError(
        res,
        new SqsError(
          'UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `local-sqs does not implement the operation ${operation || '(no X-Amz-Target header)'}.`,
        ),
      );
      return;
    }
    let body: Body;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Body;
    } catch {
      sendError(
        res,
        new SqsError('InvalidParameterValue', 'InvalidParameterValue', 'The request body is not a JSON object.'),
      );
      return;
    }
    try {
      send(res, 200, await handler(body));
    } catch (err) {
      if (err instanceof SqsError) sendError(res, err);
      else sendError(res, new SqsError('InternalError', 'InternalError', `local-sqs: ${(err as Error).message}`, 500));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new SqsError('InternalError', 'InternalError', String(err), 500));
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port);
  baseUrl = `http://${LOOPBACK}:${port}`;

  return {
    name: 'local-sqs',
    endpoint: baseUrl,
    async stop() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
