/**
 * Creates, on local AWS-API servers (kinesis-local, dynalite, moto, LocalStack), the stream(s), tables
 * and queue(s) that template.yaml describes, with the template's settings. Idempotent: resources that
 * already exist are reused, so `npm start` can run again over persisted data.
 *
 * Local servers differ from AWS; where one lacks a feature the template uses (dynalite has no DynamoDB
 * Streams and no UpdateTimeToLive) the resource is still created, the gap is reported once through
 * `onWarning`, and `capabilities` says what is missing so the caller can skip, e.g., the DynamoDB
 * event source.
 *
 * @example
 * const template = loadTemplate();
 * const local = await createLocalResources(template, createAwsClients({ endpoint }), { onWarning: console.warn });
 * const env = local.environmentFor(template.functions[0]); // { COUNTERS_TABLE: 'streamtally-dev-counters', ... }
 */
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type {
  FunctionSpec,
  KinesisStreamSpec,
  LocalTemplate,
  QueueSpec,
  ResourceRef,
  SecondaryIndexSpec,
  TableSpec,
} from '../template/template.js';

/**
 * Physical names template.yaml gives its resources with the default parameters (Stage=dev). The unit
 * test of the template loader checks that the template still resolves to exactly these.
 */
export const DEFAULT_LOCAL_NAMES = Object.freeze({
  eventsStream: 'streamtally-dev-events',
  ordersTable: 'streamtally-dev-orders',
  countersTable: 'streamtally-dev-counters',
  failureQueue: 'streamtally-dev-failures',
});

/** Local servers create resources in milliseconds; allow for a loaded CI machine. */
const ACTIVE_TIMEOUT_MS = 30_000;
const ACTIVE_POLL_MS = 50;
/** Kinesis default retention (hours); anything above needs IncreaseStreamRetentionPeriod. */
const KINESIS_BASE_RETENTION_HOURS = 24;
/** Local stand-in for provisioned tables; capacity has no meaning on local servers. */
const LOCAL_PROVISIONED_THROUGHPUT = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };

export class LocalResourceError extends Error {
  override name = 'LocalResourceError';
}

export interface LocalResourceClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
}

export interface LocalStream {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly openShardCount: number | undefined;
}

export interface LocalTable {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Undefined when the template has no stream for this table, or the server has no DynamoDB Streams. */
  readonly streamArn: string | undefined;
  /** Whether the TTL attribute is active on the server (false on dynalite). */
  readonly ttlEnabled: boolean;
}

export interface LocalQueue {
  readonly logicalId: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

export interface LocalCapabilities {
  /** The DynamoDB endpoint keeps streams for tables that ask for one. */
  dynamodbStreams: boolean;
  /** The DynamoDB endpoint supports UpdateTimeToLive. */
  timeToLive: boolean;
}

export interface LocalResources {
  readonly streams: Readonly<Record<string, LocalStream>>;
  readonly tables: Readonly<Record<string, LocalTable>>;
  readonly queues: Readonly<Record<string, LocalQueue>>;
  readonly capabilities: Readonly<LocalCapabilities>;
  /** Every gap reported, one message per kind. */
  readonly warnings: ReadonlyArray<string>;
  /** What `!Ref` / `!GetAtt` of a created resource gives (`Ref` of a queue is its URL, as in CloudFormation). */
  resolve(ref: ResourceRef): string;
  /** A function's environment with resource references replaced by the local names, URLs and ARNs. */
  /** `overrides` replace variables before resolution (e.g. FAILURE_BUCKET, a bucket not created locally). */
  environmentFor(fn: FunctionSpec, overrides?: Readonly<Record<string, string>>): Record<string, string>;
}

export interface CreateLocalResourcesOptions {
  /** Called once per kind of gap (e.g. "no DynamoDB Streams"); defaults to console.warn. */
  onWarning?: (message: string) => void;
}

function errorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { name?: unknown; __type?: unknown; Code?: unknown };
  // moto and dynalite sometimes leave the SDK's `name` generic; the wire type still says what it is.
  const wire = typeof e.__type === 'string' ? e.__type.slice(e.__type.lastIndexOf('#') + 1) : '';
  return typeof e.name === 'string' && e.name !== 'Error' && e.name !== 'UnknownError'
    ? e.name
    : wire || String(e.Code ?? '');
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new LocalResourceError(
        `${what} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS} ms; is the local server overloaded?`,
      );
    await new Promise((r) => setTimeout(r, ACTIVE_POLL_MS));
  }
}

class Warnings {
  readonly messages: string[] = [];
  private readonly subjects = new Map<string, string[]>();

  constructor(private readonly sink: (message: string) => void) {}

  /** Collects subjects per kind; `flush` reports each kind once. */
  add(kind: string, subject: string): void {
    const list = this.subjects.get(kind) ?? [];
    list.push(subject);
    this.subjects.set(kind, list);
  }

  flush(): void {
    for (const [kind, subjects] of this.subjects) {
      const message = kind.replace('{subjects}', subjects.join(', '));
      this.messages.push(message);
      this.sink(message);
    }
    this.subjects.clear();
  }
}

const NO_DYNAMODB_STREAMS =
  'The DynamoDB endpoint has no DynamoDB Streams (dynalite ignores StreamSpecification): {subjects} created without a stream, so its DynamoDB event source cannot run locally. Use moto_server or LocalStack for it.';
const NO_TTL =
  'The DynamoDB endpoint has no UpdateTimeToLive (dynalite): TTL is off on {subjects}, so counter items do not expire locally.';
const NO_RETENTION =
  'The Kinesis endpoint rejected IncreaseStreamRetentionPeriod: {subjects} keeps the server default retention.';
const NO_STREAM_TAGS = 'The Kinesis endpoint rejected AddTagsToStream: {subjects} created without tags.';
const ADDED_INDEXES =
  'Existing local tables lacked indexes template.yaml declares (an older --data-dir): added {subjects}. Indexes the template no longer declares are left in place.';

async function createStream(client: KinesisClient, spec: KinesisStreamSpec, warnings: Warnings): Promise<LocalStream> {
  let created = true;
  try {
    await client.send(
      new CreateStreamCommand({
        StreamName: spec.name,
        ...(spec.streamMode === 'PROVISIONED' ? { ShardCount: spec.shardCount } : {}),
        StreamModeDetails: { StreamMode: spec.streamMode },
      }),
    );
  } catch (err) {
    if (errorName(err) !== 'ResourceInUseException') {
      throw new LocalResourceError(`CreateStream ${spec.name} failed: ${(err as Error).message}`, { cause: err });
    }
    created = false;
  }
  const summary = await until(`Kinesis stream ${spec.name}`, async () => {
    const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: spec.name }));
    return out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? out.StreamDescriptionSummary : undefined;
  });
  if (spec.retentionHours > KINESIS_BASE_RETENTION_HOURS && (summary.RetentionPeriodHours ?? 0) < spec.retentionHours) {
    try {
      await client.send(
        new IncreaseStreamRetentionPeriodCommand({ StreamName: spec.name, RetentionPeriodHours: spec.retentionHours }),
      );
    } catch {
      warnings.add(NO_RETENTION, spec.name);
    }
  }
  if (created && Object.keys(spec.tags).length > 0) {
    try {
      await client.send(new AddTagsToStreamCommand({ StreamName: spec.name, Tags: { ...spec.tags } }));
    } catch {
      warnings.add(NO_STREAM_TAGS, spec.name);
    }
  }
  return Object.freeze({
    logicalId: spec.logicalId,
    name: spec.name,
    arn: summary.StreamARN ?? '',
    openShardCount: summary.OpenShardCount,
  });
}

/** The table's and its indexes' key attributes, each once (CreateTable rejects unused or repeated ones). */
function attributeDefinitions(spec: TableSpec): Array<{ AttributeName: string; AttributeType: 'S' | 'N' | 'B' }> {
  const types = new Map<string, 'S' | 'N' | 'B'>();
  for (const k of spec.keySchema) types.set(k.name, k.attributeType);
  for (const index of spec.globalSecondaryIndexes) for (const k of index.keySchema) types.set(k.name, k.attributeType);
  return [...types].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

function indexDefinition(spec: TableSpec, index: SecondaryIndexSpec): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: index.keySchema.map((k) => ({ AttributeName: k.name, KeyType: k.keyType })),
    Projection: {
      ProjectionType: index.projectionType,
      ...(index.projectionType === 'INCLUDE' ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}),
    },
    ...(spec.billingMode === 'PROVISIONED' ? { ProvisionedThroughput: LOCAL_PROVISIONED_THROUGHPUT } : {}),
  };
}

/**
 * A table kept from an earlier run (npm start --data-dir) may predate an index of the template (the layout
 * replaced byWindow with byWindowKeys): create each missing one, one UpdateTable at a time as DynamoDB
 * requires, and wait until it is ACTIVE (backfilled), so the reader never queries an index that is not there.
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  spec: TableSpec,
  table: TableDescription,
  warnings: Warnings,
): Promise<TableDescription> {
  const existing = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  let current = table;
  for (const index of spec.globalSecondaryIndexes) {
    if (existing.has(index.name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: spec.name,
        AttributeDefinitions: attributeDefinitions(spec).filter((d) =>
          index.keySchema.some((k) => k.name === d.AttributeName),
        ),
        GlobalSecondaryIndexUpdates: [{ Create: indexDefinition(spec, index) }],
      }),
    );
    current = await until(`DynamoDB index ${spec.name}/${index.name}`, async () => {
      const out = await client.send(new DescribeTableCommand({ TableName: spec.name }));
      const state = out.Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.name);
      return out.Table?.TableStatus === 'ACTIVE' && state?.IndexStatus === 'ACTIVE' ? out.Table : undefined;
    });
    warnings.add(ADDED_INDEXES, `${spec.name}/${index.name}`);
  }
  return current;
}

async function createTable(
  client: DynamoDBClient,
  spec: TableSpec,
  warnings: Warnings,
  capabilities: LocalCapabilities,
): Promise<LocalTable> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: spec.name,
        AttributeDefinitions: attributeDefinitions(spec),
        KeySchema: spec.keySchema.map((k) => ({ AttributeName: k.name, KeyType: k.keyType })),
        BillingMode: spec.billingMode,
        ...(spec.billingMode === 'PROVISIONED' ? { ProvisionedThroughput: LOCAL_PROVISIONED_THROUGHPUT } : {}),
        ...(spec.globalSecondaryIndexes.length > 0
          ? { GlobalSecondaryIndexes: spec.globalSecondaryIndexes.map((index) => indexDefinition(spec, index)) }
          : {}),
        ...(spec.streamViewType
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: spec.streamViewType } }
          : {}),
        ...(Object.keys(spec.tags).length > 0
          ? { Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })) }
          : {}),
      }),
    );
  } catch (err) {
    if (errorName(err) !== 'ResourceInUseException') {
      throw new LocalResourceError(`CreateTable ${spec.name} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  const described: TableDescription = await until(`DynamoDB table ${spec.name}`, async () => {
    const out = await client.send(new DescribeTableCommand({ TableName: spec.name }));
    return out.Table?.TableStatus === 'ACTIVE' ? out.Table : undefined;
  });
  const table = await addMissingIndexes(client, spec, described, warnings);
  const streamArn = spec.streamViewType ? table.LatestStreamArn : undefined;
  if (spec.streamViewType && !streamArn) {
    capabilities.dynamodbStreams = false;
    warnings.add(NO_DYNAMODB_STREAMS, spec.name);
  }
  let ttlEnabled = false;
  if (spec.ttlAttribute) ttlEnabled = await enableTtl(client, spec, warnings, capabilities);
  return Object.freeze({
    logicalId: spec.logicalId,
    name: spec.name,
    arn: table.TableArn ?? '',
    streamArn,
    ttlEnabled,
  });
}

async function enableTtl(
  client: DynamoDBClient,
  spec: TableSpec,
  warnings: Warnings,
  capabilities: LocalCapabilities,
): Promise<boolean> {
  const attribute = spec.ttlAttribute as string;
  try {
    const current = await client.send(new DescribeTimeToLiveCommand({ TableName: spec.name }));
    const status = current.TimeToLiveDescription?.TimeToLiveStatus;
    if ((status === 'ENABLED' || status === 'ENABLING') && current.TimeToLiveDescription?.AttributeName === attribute)
      return true;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: spec.name,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
    return true;
  } catch (err) {
    if (errorName(err) !== 'UnknownOperationException') {
      throw new LocalResourceError(`UpdateTimeToLive on ${spec.name} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    capabilities.timeToLive = false;
    warnings.add(NO_TTL, spec.name);
    return false;
  }
}

async function createQueue(client: SQSClient, spec: QueueSpec): Promise<LocalQueue> {
  const attributes: Record<string, string> = {};
  if (spec.messageRetentionSeconds !== undefined)
    attributes.MessageRetentionPeriod = String(spec.messageRetentionSeconds);
  if (spec.visibilityTimeoutSeconds !== undefined) attributes.VisibilityTimeout = String(spec.visibilityTimeoutSeconds);
  if (spec.sqsManagedSse) attributes.SqsManagedSseEnabled = 'true';
  if (spec.fifo) attributes.FifoQueue = 'true';
  let url: string | undefined;
  try {
    const out = await client.send(
      new CreateQueueCommand({
        QueueName: spec.name,
        Attributes: attributes,
        ...(Object.keys(spec.tags).length > 0 ? { tags: { ...spec.tags } } : {}),
      }),
    );
    url = out.QueueUrl;
  } catch (err) {
    // An existing queue with other attributes (e.g. created by an older template): reuse it as it is.
    if (!/QueueAlreadyExists|QueueNameExists/.test(errorName(err))) {
      throw new LocalResourceError(`CreateQueue ${spec.name} failed: ${(err as Error).message}`, { cause: err });
    }
    url = (await client.send(new GetQueueUrlCommand({ QueueName: spec.name }))).QueueUrl;
  }
  if (!url) throw new LocalResourceError(`CreateQueue ${spec.name} returned no QueueUrl.`);
  const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Object.freeze({ logicalId: spec.logicalId, name: spec.name, url, arn: attrs.Attributes?.QueueArn ?? '' });
}

/**
 * Creates every stream, table and queue of the template (reusing existing ones) and reports, once per
 * kind, what the local servers cannot do.
 */
export async function createLocalResources(
  template: LocalTemplate,
  clients: LocalResourceClients,
  options: CreateLocalResourcesOptions = {},
): Promise<LocalResources> {
  const warnings = new Warnings(options.onWarning ?? ((m) => console.warn(`streamtally: ${m}`)));
  const capabilities: LocalCapabilities = { dynamodbStreams: true, timeToLive: true };
  const streams: Record<string, LocalStream> = {};
  const tables: Record<string, LocalTable> = {};
  const queues: Record<string, LocalQueue> = {};

  // Sequential on purpose: a handful of resources, and local servers answer in milliseconds.
  for (const spec of template.streams) streams[spec.logicalId] = await createStream(clients.kinesis, spec, warnings);
  for (const spec of template.tables)
    tables[spec.logicalId] = await createTable(clients.dynamodb, spec, warnings, capabilities);
  for (const spec of template.queues) queues[spec.logicalId] = await createQueue(clients.sqs, spec);
  warnings.flush();

  const resolve = (ref: ResourceRef): string => {
    const id = ref.ref;
    const attribute = ref.attribute;
    const stream = streams[id];
    if (stream) {
      if (attribute === undefined) return stream.name;
      if (attribute === 'Arn') return stream.arn;
    }
    const table = tables[id];
    if (table) {
      if (attribute === undefined) return table.name;
      if (attribute === 'Arn') return table.arn;
      if (attribute === 'StreamArn' && table.streamArn) return table.streamArn;
    }
    const queue = queues[id];
    if (queue) {
      if (attribute === undefined) return queue.url;
      if (attribute === 'Arn') return queue.arn;
      if (attribute === 'QueueName') return queue.name;
      if (attribute === 'QueueUrl') return queue.url;
    }
    throw new LocalResourceError(
      `Cannot resolve ${attribute ? `!GetAtt ${id}.${attribute}` : `!Ref ${id}`} locally: only streams, tables and queues are created (and a table's StreamArn needs DynamoDB Streams).`,
    );
  };

  return Object.freeze({
    streams: Object.freeze(streams),
    tables: Object.freeze(tables),
    queues: Object.freeze(queues),
    capabilities: Object.freeze(capabilities),
    warnings: Object.freeze([...warnings.messages]),
    resolve,
    environmentFor(fn: FunctionSpec, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
      const env: Record<string, string> = {};
      const declared = (template.document.Resources ?? {}) as Record<string, { Type?: unknown } | undefined>;
      for (const [key, value] of Object.entries(fn.environment)) {
        if (key in overrides) env[key] = overrides[key];
        else if (typeof value === 'string') env[key] = value;
        // No S3 locally: a variable naming a bucket stays unset (the local stack keeps such objects in a directory).
        else if (declared[value.ref]?.Type !== 'AWS::S3::Bucket') env[key] = resolve(value);
      }
      return env;
    },
  });
}
