/**
 * Generator library for sample Lambda events: clickstream JSON, NDJSON, KPL aggregates, CloudWatch Logs
 * subscription data, DynamoDB order changes, and the Kinesis / DynamoDB Streams events (plain and
 * tumbling-window) that carry them. Deterministic for a seed: the `events/` files, the tests, the
 * benchmark, `npm run events`, and the demo producer of `npm start` and `npm run produce` all use it. ARNs use the documentation account 123456789012, us-east-1.
 */
import { gzipSync } from 'node:zlib';
import type {
  DynamoDBRecord,
  DynamoDBStreamEvent,
  KinesisStreamEvent,
  KinesisStreamRecord,
  KinesisStreamTumblingWindowEvent,
} from 'aws-lambda';
import type { AttributeMap, AttributeValue, DynamoDbEventName } from '../core/types.js';
import { aggregateKplRecords, type KplEntry } from '../sources/kpl-encode.js';
import { mulberry32 as createRng, type Rng } from './prng.js';

export const SAMPLE_ACCOUNT_ID = '123456789012';
export const SAMPLE_REGION = 'us-east-1';
export const SAMPLE_STREAM_ARN = `arn:aws:kinesis:${SAMPLE_REGION}:${SAMPLE_ACCOUNT_ID}:stream/streamtally-clickstream`;
export const SAMPLE_TABLE_NAME = 'streamtally-orders';
export const SAMPLE_TABLE_STREAM_ARN = `arn:aws:dynamodb:${SAMPLE_REGION}:${SAMPLE_ACCOUNT_ID}:table/${SAMPLE_TABLE_NAME}/stream/2026-01-15T09:30:00.000`;
export const SAMPLE_ROLE_ARN = `arn:aws:iam::${SAMPLE_ACCOUNT_ID}:role/streamtally-analytics-role`;
export const DEFAULT_SHARD_ID = 'shardId-000000000000';
/** 2026-03-02T10:00:00Z: a fixed start so that generated files do not change from run to run. */
export const DEFAULT_START_MS = Date.UTC(2026, 2, 2, 10, 0, 0);
/** KPL's default `AggregationMaxSize` (amazon-kinesis-producer default_config.properties): 51,200 bytes. */
export const KPL_DEFAULT_AGGREGATION_MAX_BYTES = 51_200;
/** Kinesis sequence numbers are 56 decimal digits in the events Lambda delivers. */
const KINESIS_SEQUENCE_DIGITS = 56;
/** Shaped like a real one (56 digits, leading 49); steps of at most 1e18 keep it at 56 digits for any batch. */
const KINESIS_SEQUENCE_START = BigInt('49659875234618293400217368345012901234567890123456789012');
/** DynamoDB Streams sequence numbers as seen in practice (21 to 40 digits; 26 here). */
const DYNAMODB_SEQUENCE_DIGITS = 26;

/** The project's seeded PRNG (mulberry32), under the name the generators here use. */
export { createRng, type Rng };

export function pick<T>(rng: Rng, values: ReadonlyArray<T>): T {
  return values[Math.floor(rng() * values.length)];
}

export function randomInt(rng: Rng, min: number, maxInclusive: number): number {
  return min + Math.floor(rng() * (maxInclusive - min + 1));
}

/** A UUID-shaped id drawn from the PRNG (so that it is reproducible, unlike `randomUUID`). */
export function seededUuid(rng: Rng): string {
  let hex = '';
  for (let k = 0; k < 32; k++) hex += Math.floor(rng() * 16).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------------
// Clickstream
// ---------------------------------------------------------------------------------------------------

export type ClickEventType = 'page_view' | 'click' | 'add_to_cart' | 'purchase';

export interface ClickEvent {
  type: ClickEventType;
  /** ISO-8601 UTC, millisecond precision. */
  ts: string;
  user: { id: string; plan: 'free' | 'pro' | 'enterprise' };
  page: string;
  country: string;
  latencyMs: number;
  /** Null for direct traffic. */
  referrer: string | null;
  device: { kind: 'desktop' | 'mobile' | 'tablet'; browser: string };
  /** Page title: sometimes non-ASCII, sometimes with quotes or a tab that JSON must escape. */
  title: string;
  /** Purchases only. */
  amount?: number;
}

const PAGES = [
  '/',
  '/pricing',
  '/pricing',
  '/docs/getting-started',
  '/products/boots-42',
  '/products/jacket-7',
  '/blog/serverless-counters',
  '/checkout',
  '/account',
];
const TITLES = [
  'Pricing',
  'Home',
  'Preise – Übersicht',
  'Wanderstiefel „Alpin“',
  'Docs: "Getting started"',
  'Tarifs\tet options',
  'ホーム',
  'Café ☕ menu',
  'Checkout 🛒',
];
const COUNTRIES = ['DE', 'DE', 'US', 'US', 'US', 'FR', 'GB', 'JP', 'BR', 'IN', 'CH', 'SE'];
const REFERRERS = [null, null, 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://t.co/x1y2z3'];
const BROWSERS = ['Chrome 133', 'Firefox 135', 'Safari 18.3', 'Edge 133'];
const DEVICES = ['desktop', 'desktop', 'mobile', 'mobile', 'tablet'] as const;
const PLANS = ['free', 'free', 'free', 'pro', 'enterprise'] as const;

/** A clickstream event of about 200 bytes of JSON, at `timeMs`. */
export function generateClickEvent(rng: Rng, timeMs: number): ClickEvent {
  const roll = rng();
  const type: ClickEventType =
    roll < 0.65 ? 'page_view' : roll < 0.88 ? 'click' : roll < 0.96 ? 'add_to_cart' : 'purchase';
  // Long-tailed latency: mostly tens of ms, sometimes seconds.
  const latencyMs = Math.max(
    1,
    Math.round(20 + 60 * rng() + (rng() < 0.05 ? 2_000 * rng() : 0) + -40 * Math.log(1 - rng())),
  );
  const event: ClickEvent = {
    type,
    ts: new Date(timeMs).toISOString(),
    user: { id: `u-${randomInt(rng, 1, 5_000)}`, plan: pick(rng, PLANS) },
    page: type === 'purchase' ? '/checkout' : pick(rng, PAGES),
    country: pick(rng, COUNTRIES),
    latencyMs,
    referrer: pick(rng, REFERRERS),
    device: { kind: pick(rng, DEVICES), browser: pick(rng, BROWSERS) },
    title: pick(rng, TITLES),
  };
  if (type === 'purchase') event.amount = Math.round(500 + rng() * 25_000) / 100;
  return event;
}

/** `count` click events spaced `stepMs` apart (with jitter) from `startMs`. */
export function generateClickEvents(rng: Rng, count: number, startMs: number, stepMs = 250): ClickEvent[] {
  const events = new Array<ClickEvent>(count);
  for (let k = 0; k < count; k++)
    events[k] = generateClickEvent(rng, startMs + k * stepMs + Math.floor(rng() * stepMs));
  return events;
}

export interface ClickstreamOptions {
  /** PRNG seed; the same seed and clock give the same events. */
  seed?: number;
  /** Event time source; defaults to the wall clock, so dashboards show "now". */
  now?: () => number;
}

/** Seed of `ClickstreamGenerator` when none is given. */
export const DEFAULT_CLICKSTREAM_SEED = 42;

/**
 * Live clickstream for producers: `generateClickEvent` at the clock's current time, one event per
 * `next()`, from one seeded PRNG.
 *
 * @example
 * const events = new ClickstreamGenerator({ seed: 7 });
 * const line = JSON.stringify(events.next()); // {"type":"page_view","ts":"2026-...","user":{"id":"u-311",...
 */
export class ClickstreamGenerator {
  private readonly rng: Rng;
  private readonly now: () => number;

  constructor(options: ClickstreamOptions = {}) {
    this.rng = createRng(options.seed ?? DEFAULT_CLICKSTREAM_SEED);
    this.now = options.now ?? Date.now;
  }

  next(): ClickEvent {
    return generateClickEvent(this.rng, this.now());
  }
}

/**
 * An endless sequence of live clickstream events (stop with `break`, or a count or duration in the consumer).
 *
 * @example
 * for (const event of clickstreamEvents({ seed: 1 })) { if (++n > 10) break; console.log(event); }
 */
export function* clickstreamEvents(options: ClickstreamOptions = {}): Generator<ClickEvent, never> {
  const generator = new ClickstreamGenerator(options);
  while (true) yield generator.next();
}

export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Newline-delimited JSON: one line per value, trailing newline included. */
export function ndjsonBytes(values: ReadonlyArray<unknown>): Buffer {
  let text = '';
  for (let k = 0; k < values.length; k++) text += `${JSON.stringify(values[k])}\n`;
  return Buffer.from(text, 'utf8');
}

// ---------------------------------------------------------------------------------------------------
// Kinesis
// ---------------------------------------------------------------------------------------------------

/**
 * Increasing 56-digit Kinesis sequence numbers for one shard. Real ones start `49` and grow by large,
 * irregular steps; so do these.
 */
export class KinesisSequence {
  private value: bigint;

  public constructor(
    private readonly rng: Rng,
    start: bigint = KINESIS_SEQUENCE_START,
  ) {
    this.value = start;
  }

  public next(): string {
    this.value += BigInt(1 + Math.floor(this.rng() * 1_000_000)) * 1_000_000_000_000n;
    return this.value.toString().padStart(KINESIS_SEQUENCE_DIGITS, '0');
  }
}

export interface KinesisEventOptions {
  rng: Rng;
  shardId?: string;
  streamArn?: string;
  /** Arrival time of the first record; later ones arrive `arrivalStepMs` apart. Defaults to DEFAULT_START_MS. */
  arrivalStartMs?: number;
  arrivalStepMs?: number;
  /** One per payload; defaults to `u-<n>` keys drawn from the PRNG. */
  partitionKeys?: ReadonlyArray<string>;
  sequence?: KinesisSequence;
}

/** A Kinesis stream event as Lambda delivers it, one record per payload. */
export function makeKinesisEvent(
  payloads: ReadonlyArray<Uint8Array>,
  options: KinesisEventOptions,
): KinesisStreamEvent {
  const rng = options.rng;
  const shardId = options.shardId ?? DEFAULT_SHARD_ID;
  const streamArn = options.streamArn ?? SAMPLE_STREAM_ARN;
  const arrivalStartMs = options.arrivalStartMs ?? DEFAULT_START_MS;
  const arrivalStepMs = options.arrivalStepMs ?? 40;
  const sequence = options.sequence ?? new KinesisSequence(rng);
  const records = new Array<KinesisStreamRecord>(payloads.length);
  for (let k = 0; k < payloads.length; k++) {
    const sequenceNumber = sequence.next();
    const payload = payloads[k];
    records[k] = {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: options.partitionKeys?.[k] ?? `u-${randomInt(rng, 1, 5_000)}`,
        sequenceNumber,
        data: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
        approximateArrivalTimestamp: (arrivalStartMs + k * arrivalStepMs) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: SAMPLE_ROLE_ARN,
      awsRegion: SAMPLE_REGION,
      eventSourceARN: streamArn,
    };
  }
  return { Records: records };
}

export interface TumblingWindowOptions {
  /** Window start; defaults to the arrival of the first record floored to `windowSeconds`. */
  windowStartMs?: number;
  windowSeconds?: number;
  state?: Record<string, unknown>;
  isFinalInvokeForWindow?: boolean;
  isWindowTerminatedEarly?: boolean;
}

/** The tumbling-window fields Lambda adds to a stream event when `TumblingWindowInSeconds` is set. */
export function tumblingWindowFields(
  options: TumblingWindowOptions & { shardId?: string; eventSourceARN: string; firstArrivalMs: number },
): {
  window: { start: string; end: string };
  state: Record<string, unknown>;
  shardId?: string;
  eventSourceARN: string;
  isFinalInvokeForWindow: boolean;
  isWindowTerminatedEarly: boolean;
} {
  const windowMs = (options.windowSeconds ?? 60) * 1000;
  const start = options.windowStartMs ?? Math.floor(options.firstArrivalMs / windowMs) * windowMs;
  const fields = {
    window: { start: new Date(start).toISOString(), end: new Date(start + windowMs).toISOString() },
    state: options.state ?? {},
    ...(options.shardId === undefined ? {} : { shardId: options.shardId }),
    eventSourceARN: options.eventSourceARN,
    isFinalInvokeForWindow: options.isFinalInvokeForWindow ?? false,
    isWindowTerminatedEarly: options.isWindowTerminatedEarly ?? false,
  };
  return fields;
}

export function makeKinesisTumblingWindowEvent(
  payloads: ReadonlyArray<Uint8Array>,
  options: KinesisEventOptions & TumblingWindowOptions,
): KinesisStreamTumblingWindowEvent & { shardId: string; eventSourceARN: string } {
  const event = makeKinesisEvent(payloads, options);
  const shardId = options.shardId ?? DEFAULT_SHARD_ID;
  const fields = tumblingWindowFields({
    ...options,
    shardId,
    eventSourceARN: options.streamArn ?? SAMPLE_STREAM_ARN,
    firstArrivalMs: options.arrivalStartMs ?? DEFAULT_START_MS,
  });
  return { Records: event.Records, ...fields, shardId };
}

/** KPL aggregates of the given events, packed as the KPL does (default 51,200-byte aggregates). */
export function kplPayloads(
  events: ReadonlyArray<unknown>,
  partitionKeys: ReadonlyArray<string>,
  maxAggregateBytes = KPL_DEFAULT_AGGREGATION_MAX_BYTES,
): { payloads: Buffer[]; partitionKeys: string[] } {
  const entries: KplEntry[] = new Array<KplEntry>(events.length);
  for (let k = 0; k < events.length; k++)
    entries[k] = { partitionKey: partitionKeys[k % partitionKeys.length], data: jsonBytes(events[k]) };
  const aggregates = aggregateKplRecords(entries, maxAggregateBytes);
  return { payloads: aggregates.map((a) => a.data), partitionKeys: aggregates.map((a) => a.partitionKey) };
}

export interface CloudWatchLogsOptions {
  rng: Rng;
  logGroup?: string;
  logStream?: string;
  messageType?: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
}

/** Gzip CloudWatch Logs subscription data, as a subscription filter writes it to Kinesis. */
export function cloudWatchLogsPayload(
  messages: ReadonlyArray<{ timestampMs: number; message: string }>,
  options: CloudWatchLogsOptions,
): Buffer {
  const rng = options.rng;
  const control = options.messageType === 'CONTROL_MESSAGE';
  const envelope = {
    messageType: control ? 'CONTROL_MESSAGE' : 'DATA_MESSAGE',
    owner: control ? 'CloudwatchLogs' : SAMPLE_ACCOUNT_ID,
    logGroup: control ? '' : (options.logGroup ?? '/aws/lambda/checkout-api'),
    logStream: control ? '' : (options.logStream ?? `2026/03/02/[$LATEST]${seededUuid(rng).replace(/-/g, '')}`),
    subscriptionFilters: control ? [] : ['streamtally-json-logs'],
    logEvents: control
      ? [
          {
            id: '',
            timestamp: messages[0]?.timestampMs ?? DEFAULT_START_MS,
            message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.',
          },
        ]
      : messages.map((m) => ({
          id: cloudWatchEventId(rng, m.timestampMs),
          timestamp: m.timestampMs,
          message: m.message,
        })),
  };
  return gzipSync(jsonBytes(envelope));
}

/** CloudWatch Logs event ids are 56-digit decimal strings that start with the timestamp's digits. */
function cloudWatchEventId(rng: Rng, timestampMs: number): string {
  let id = String(timestampMs);
  while (id.length < 56) id += String(Math.floor(rng() * 10));
  return id;
}

// ---------------------------------------------------------------------------------------------------
// DynamoDB
// ---------------------------------------------------------------------------------------------------

/** Plain JS -> DynamoDB typed JSON (strings S, numbers N, booleans BOOL, null NULL, objects M, arrays L). */
export function toAttributeValue(value: unknown): AttributeValue {
  if (value === null || value === undefined) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (typeof value === 'object') return { M: toAttributeMap(value as Record<string, unknown>) };
  throw new TypeError(`cannot express a ${typeof value} as a DynamoDB attribute value`);
}

export function toAttributeMap(object: Record<string, unknown>): AttributeMap {
  const map: AttributeMap = {};
  for (const key of Object.keys(object)) map[key] = toAttributeValue(object[key]);
  return map;
}

export interface Order {
  orderId: string;
  status: 'PENDING' | 'PAID' | 'SHIPPED' | 'DELIVERED' | 'CANCELLED';
  amount: number;
  currency: string;
  country: string;
  customerId: string;
  createdAt: string;
  items: number;
  coupon: string | null;
}

/** One change of an item, in the terms of DynamoDB Streams. */
export interface ItemChange {
  eventName: DynamoDbEventName;
  keys: AttributeMap;
  newImage?: AttributeMap;
  oldImage?: AttributeMap;
  /** When DynamoDB recorded the change. */
  createdMs: number;
  /** Set for deletes by TTL (userIdentity `dynamodb.amazonaws.com`). */
  byTtl?: boolean;
}

const ORDER_NEXT_STATUS: Readonly<Record<Order['status'], Order['status'] | undefined>> = {
  PENDING: 'PAID',
  PAID: 'SHIPPED',
  SHIPPED: 'DELIVERED',
  DELIVERED: undefined,
  CANCELLED: undefined,
};

export function generateOrder(rng: Rng, timeMs: number): Order {
  return {
    orderId: `ord-${seededUuid(rng).slice(0, 13)}`,
    status: 'PENDING',
    amount: Math.round(900 + rng() * 40_000) / 100,
    currency: 'EUR',
    country: pick(rng, COUNTRIES),
    customerId: `c-${randomInt(rng, 1, 2_000)}`,
    createdAt: new Date(timeMs).toISOString(),
    items: randomInt(rng, 1, 6),
    coupon: rng() < 0.2 ? 'SPRING26' : null,
  };
}

/**
 * `count` changes of an orders table: new orders (INSERT), status moves PENDING -> PAID -> SHIPPED ->
 * DELIVERED or a cancel (MODIFY), and deletes of finished orders, some by TTL (REMOVE).
 */
export function generateOrderChanges(rng: Rng, count: number, startMs: number, stepMs = 500): ItemChange[] {
  const open: Order[] = [];
  const changes: ItemChange[] = [];
  for (let k = 0; k < count; k++) {
    const timeMs = startMs + k * stepMs + Math.floor(rng() * stepMs);
    const roll = rng();
    if (open.length === 0 || roll < 0.45) {
      const order = generateOrder(rng, timeMs);
      open.push(order);
      changes.push({
        eventName: 'INSERT',
        keys: { orderId: { S: order.orderId } },
        newImage: toAttributeMap({ ...order }),
        createdMs: timeMs,
      });
      continue;
    }
    const index = Math.floor(rng() * open.length);
    const order = open[index];
    const next = rng() < 0.08 ? 'CANCELLED' : ORDER_NEXT_STATUS[order.status];
    if (next === undefined || roll > 0.92) {
      open.splice(index, 1);
      changes.push({
        eventName: 'REMOVE',
        keys: { orderId: { S: order.orderId } },
        oldImage: toAttributeMap({ ...order }),
        createdMs: timeMs,
        byTtl: rng() < 0.5,
      });
      continue;
    }
    const updated: Order = { ...order, status: next };
    open[index] = updated;
    changes.push({
      eventName: 'MODIFY',
      keys: { orderId: { S: order.orderId } },
      newImage: toAttributeMap({ ...updated }),
      oldImage: toAttributeMap({ ...order }),
      createdMs: timeMs,
    });
  }
  return changes;
}

/** Increasing DynamoDB Streams sequence numbers. */
export class DynamoDbSequence {
  private value: bigint;

  public constructor(
    private readonly rng: Rng,
    start = 44_215_845_000_000_017_450_439_091n,
  ) {
    this.value = start;
  }

  public next(): string {
    this.value += BigInt(1 + Math.floor(this.rng() * 100_000));
    return this.value.toString().padStart(DYNAMODB_SEQUENCE_DIGITS, '0');
  }
}

export interface DynamoDbEventOptions {
  rng: Rng;
  streamArn?: string;
  sequence?: DynamoDbSequence;
}

/** A DynamoDB Streams event as Lambda delivers it (NEW_AND_OLD_IMAGES; creation time in whole seconds). */
export function makeDynamoDbEvent(
  changes: ReadonlyArray<ItemChange>,
  options: DynamoDbEventOptions,
): DynamoDBStreamEvent {
  const sequence = options.sequence ?? new DynamoDbSequence(options.rng);
  const records = new Array<DynamoDBRecord>(changes.length);
  for (let k = 0; k < changes.length; k++) {
    const change = changes[k];
    const record: DynamoDBRecord = {
      eventID: seededUuid(options.rng).replace(/-/g, ''),
      eventName: change.eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: SAMPLE_REGION,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(change.createdMs / 1000),
        Keys: change.keys,
        ...(change.newImage === undefined ? {} : { NewImage: change.newImage }),
        ...(change.oldImage === undefined ? {} : { OldImage: change.oldImage }),
        SequenceNumber: sequence.next(),
        SizeBytes: approximateItemBytes(change),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      } as DynamoDBRecord['dynamodb'],
      eventSourceARN: options.streamArn ?? SAMPLE_TABLE_STREAM_ARN,
    };
    if (change.byTtl === true) record.userIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
    records[k] = record;
  }
  return { Records: records };
}

export function makeDynamoDbTumblingWindowEvent(
  changes: ReadonlyArray<ItemChange>,
  options: DynamoDbEventOptions & TumblingWindowOptions,
): DynamoDBStreamEvent & ReturnType<typeof tumblingWindowFields> {
  const event = makeDynamoDbEvent(changes, options);
  const fields = tumblingWindowFields({
    ...options,
    eventSourceARN: options.streamArn ?? SAMPLE_TABLE_STREAM_ARN,
    firstArrivalMs: changes[0]?.createdMs ?? DEFAULT_START_MS,
  });
  return { Records: event.Records, ...fields };
}

function approximateItemBytes(change: ItemChange): number {
  return (
    Buffer.byteLength(JSON.stringify(change.keys)) +
    Buffer.byteLength(JSON.stringify(change.newImage ?? {})) +
    Buffer.byteLength(JSON.stringify(change.oldImage ?? {}))
  );
}

/**
 * A change record as Kinesis Data Streams for DynamoDB writes it into the stream: JSON with
 * `eventSource: "aws:dynamodb"` and `ApproximateCreationDateTime` in milliseconds.
 */
export function dynamoDbCdcPayload(change: ItemChange, rng: Rng, tableName = SAMPLE_TABLE_NAME): Buffer {
  return jsonBytes({
    awsRegion: SAMPLE_REGION,
    eventID: seededUuid(rng),
    eventName: change.eventName,
    userIdentity: change.byTtl === true ? { type: 'Service', principalId: 'dynamodb.amazonaws.com' } : null,
    recordFormat: 'application/json',
    tableName,
    dynamodb: {
      ApproximateCreationDateTime: change.createdMs,
      Keys: change.keys,
      ...(change.newImage === undefined ? {} : { NewImage: change.newImage }),
      ...(change.oldImage === undefined ? {} : { OldImage: change.oldImage }),
      SizeBytes: approximateItemBytes(change),
      ApproximateCreationDateTimePrecision: 'MILLISECOND',
    },
    eventSource: 'aws:dynamodb',
  });
}

// ---------------------------------------------------------------------------------------------------
// The committed sample events (events/*.json)
// ---------------------------------------------------------------------------------------------------

/** Structured application logs, as a service would write them to CloudWatch Logs. */
function applicationLogLine(rng: Rng, timeMs: number): string {
  const click = generateClickEvent(rng, timeMs);
  return JSON.stringify({
    level: rng() < 0.9 ? 'INFO' : 'WARN',
    timestamp: click.ts,
    service: 'checkout-api',
    message: 'request completed',
    path: click.page,
    status: rng() < 0.95 ? 200 : 503,
    latencyMs: click.latencyMs,
    country: click.country,
    user: click.user,
    xray_trace_id: `1-${Math.floor(timeMs / 1000).toString(16)}-${seededUuid(rng).replace(/-/g, '').slice(0, 24)}`,
  });
}

/** Bytes that start like gzip but are not: what a truncated or mangled upload looks like. */
function gzipGarbage(rng: Rng): Buffer {
  const bytes = Buffer.alloc(48);
  bytes[0] = 0x1f;
  bytes[1] = 0x8b;
  bytes[2] = 0x08;
  for (let k = 3; k < bytes.length; k++) bytes[k] = Math.floor(rng() * 256);
  return bytes;
}

/** Uncompressed size of the gzip bomb in the poison sample: over the 16 MiB default cap, ~20 KB gzip. */
export const SAMPLE_GZIP_BOMB_BYTES = 20 * 1024 * 1024;

/**
 * Every sample event under `events/`, by file name. Deterministic except for gzip bytes, which depend
 * on the zlib build (the decompressed content does not).
 */
export function buildSampleEvents(): Record<string, unknown> {
  const start = DEFAULT_START_MS;
  const samples: Record<string, unknown> = {};

  let rng = createRng(1);
  const clicks = generateClickEvents(rng, 5, start);
  samples['kinesis-clickstream.json'] = makeKinesisEvent(clicks.map(jsonBytes), {
    rng,
    partitionKeys: clicks.map((c) => c.user.id),
  });

  rng = createRng(2);
  const poison: Buffer[] = [
    jsonBytes(generateClickEvent(rng, start)),
    Buffer.from('<html><body>502 Bad Gateway</body></html>', 'utf8'),
    jsonBytes(generateClickEvent(rng, start + 300)),
    gzipGarbage(rng),
    jsonBytes(generateClickEvent(rng, start + 700)),
    gzipSync(Buffer.alloc(SAMPLE_GZIP_BOMB_BYTES), { level: 9 }),
    Buffer.from('{"type":"page_view","ts":"2026-03-02T10:00:01.000Z","user":{"id":"u-7"', 'utf8'),
    jsonBytes(generateClickEvent(rng, start + 1100)),
  ];
  samples['kinesis-poison.json'] = makeKinesisEvent(poison, { rng });

  rng = createRng(3);
  const kplClicks = generateClickEvents(rng, 7, start);
  const aggregated = kplPayloads(
    kplClicks,
    kplClicks.map((c) => c.user.id),
    900,
  );
  const unaggregated = generateClickEvent(rng, start + 2_000);
  samples['kinesis-kpl.json'] = makeKinesisEvent([...aggregated.payloads, jsonBytes(unaggregated)], {
    rng,
    partitionKeys: [...aggregated.partitionKeys, unaggregated.user.id],
  });

  rng = createRng(4);
  const logLines: Array<{ timestampMs: number; message: string }> = [];
  for (let k = 0; k < 4; k++)
    logLines.push({ timestampMs: start + k * 1_250, message: applicationLogLine(rng, start + k * 1_250) });
  samples['kinesis-cloudwatch-logs.json'] = makeKinesisEvent(
    [
      cloudWatchLogsPayload(logLines, { rng }),
      cloudWatchLogsPayload([{ timestampMs: start, message: '' }], { rng, messageType: 'CONTROL_MESSAGE' }),
    ],
    { rng, partitionKeys: ['2b5bb0b2f6b8e1f3d7f1d1b6a0b6e0d4', '7c9a0f7d1c6e4b1e9f1e5a1b9d7c3e21'] },
  );

  rng = createRng(5);
  const windowClicks = generateClickEvents(rng, 4, start + 61_000);
  samples['kinesis-tumbling-window.json'] = makeKinesisTumblingWindowEvent(windowClicks.map(jsonBytes), {
    rng,
    arrivalStartMs: start + 61_500,
    windowSeconds: 60,
    partitionKeys: windowClicks.map((c) => c.user.id),
  });

  rng = createRng(6);
  const lines: Buffer[] = [];
  for (let k = 0; k < 3; k++) lines.push(ndjsonBytes(generateClickEvents(rng, 4, start + k * 1_000)));
  samples['kinesis-ndjson.json'] = makeKinesisEvent(lines, { rng });

  rng = createRng(7);
  const orderChanges = generateOrderChanges(rng, 9, start);
  samples['dynamodb-orders.json'] = makeDynamoDbEvent(orderChanges, { rng });

  rng = createRng(8);
  const windowChanges = generateOrderChanges(rng, 5, start + 120_000);
  samples['dynamodb-tumbling-window.json'] = makeDynamoDbTumblingWindowEvent(windowChanges, {
    rng,
    windowSeconds: 300,
  });

  rng = createRng(9);
  const cdcChanges = generateOrderChanges(rng, 4, start);
  samples['kinesis-dynamodb-cdc.json'] = makeKinesisEvent(
    cdcChanges.map((c) => dynamoDbCdcPayload(c, rng)),
    { rng, shardId: 'shardId-000000000001', partitionKeys: cdcChanges.map((c) => (c.keys.orderId as { S: string }).S) },
  );
  return samples;
}
