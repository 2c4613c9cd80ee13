/** Counters-table helpers for integration tests, over a real DynamoDB-API server. */
import {
  CreateTableCommand,
  ScanCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DynamoDBClient as Client } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { CellDelta } from '../../src/core/aggregator.js';
import type { CompiledMetric } from '../../src/core/metric-config.js';
import { parseDurationMs } from '../../src/core/duration.js';
import type { DDSketch } from '../../src/core/sketch/ddsketch.js';
import type { HyperLogLog } from '../../src/core/sketch/hyperloglog.js';
import { Attr, LEGACY_TOP_INDEX, WINDOW_INDEX } from '../../src/sink/layout.js';
import { cellItemDelta } from '../../src/sink/item-delta.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../../src/sink/dynamodb-client.js';
import type { ModelCell } from './reference-model.js';

export function localDynamoClient(endpoint: string, maxAttempts = 3): DynamoDBClient {
  return new Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts,
    ...DYNAMODB_CLIENT_SETTINGS,
  });
}

/** The index the layout replaced, as stacks created before byWindowKeys have it (template.yaml KeepLegacyTopIndex). */
const LEGACY_INDEX: GlobalSecondaryIndex = {
  IndexName: LEGACY_TOP_INDEX,
  KeySchema: [
    { AttributeName: Attr.windowGroup, KeyType: 'HASH' },
    { AttributeName: Attr.count, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [Attr.dimensions, Attr.sum] },
};

/**
 * A counters table like template.yaml's CountersTable (template.test.ts checks it against WINDOW_INDEX too).
 * `indexes`: 'current' (the template's), 'legacy' (only the old byWindow, as an old stack or --data-dir has
 * it) or 'both' (the upgrade deploy).
 */
export async function createCountersTable(
  client: DynamoDBClient,
  tableName: string,
  indexes: 'current' | 'legacy' | 'both' = 'current',
): Promise<void> {
  const current: GlobalSecondaryIndex = {
    IndexName: WINDOW_INDEX.name,
    KeySchema: [{ AttributeName: WINDOW_INDEX.partitionKey, KeyType: 'HASH' }],
    Projection: { ProjectionType: WINDOW_INDEX.projection },
  };
  const legacy = indexes !== 'current';
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: Attr.pk, AttributeType: 'S' },
        { AttributeName: Attr.sk, AttributeType: 'S' },
        { AttributeName: WINDOW_INDEX.partitionKey, AttributeType: 'S' },
        ...(legacy ? [{ AttributeName: Attr.count, AttributeType: 'N' as const }] : []),
      ],
      KeySchema: [
        { AttributeName: Attr.pk, KeyType: 'HASH' },
        { AttributeName: Attr.sk, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes:
        indexes === 'current' ? [current] : indexes === 'legacy' ? [LEGACY_INDEX] : [current, LEGACY_INDEX],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** What a test seeds into one counter item; the writer's own merge turns it into the stored item. */
export interface SeedCell {
  metric: string;
  /** Dimension names of the metric, in declared order (the `d` map). */
  dimensionNames: ReadonlyArray<string>;
  dims: ReadonlyArray<string>;
  window: string;
  startMs: number;
  count: number;
  /** Given: the metric has a value, and sum (and min/max, when given) are stored. */
  sum?: number;
  min?: number;
  max?: number;
  hll?: HyperLogLog;
  sketch?: DDSketch;
  /** Retention after the window ends; default one day. */
  ttlSeconds?: number;
}

/**
 * One counter item exactly as CounterWriter stores a new one: `cellItemDelta(cell).merge(undefined)` (so
 * `g`, `d`, `ttl` and the aggregates come from the writer's code), plus the keys and version it adds.
 */
export function counterItem(seed: SeedCell): Record<string, AttributeValue> {
  const delta = cellItemDelta(seedCellDelta(seed));
  const item = delta.merge(undefined);
  // The writer stores min and max for every value metric; a seed without them stands for an item lacking them.
  if (seed.sum !== undefined && seed.min === undefined) delete item[Attr.min];
  if (seed.sum !== undefined && seed.max === undefined) delete item[Attr.max];
  item[Attr.pk] = { S: delta.pk };
  item[Attr.sk] = { S: delta.sk };
  item[Attr.version] = { N: '1' };
  return item;
}

/** The aggregator's CellDelta for a seed: feed it to cellItemDelta (and CounterWriter) like a batch would. */
export function seedCellDelta(seed: SeedCell): CellDelta {
  const needsValue = seed.sum !== undefined;
  const cell: CellDelta = {
    // merge() reads only name, dimensionNames and needsValue of the compiled metric.
    metric: { name: seed.metric, dimensionNames: [...seed.dimensionNames], needsValue } as unknown as CompiledMetric,
    window: { label: seed.window, sizeMs: parseDurationMs(seed.window), ttlSeconds: seed.ttlSeconds ?? 86_400 },
    windowStartMs: seed.startMs,
    dimensionValues: [...seed.dims],
    count: seed.count,
    sum: seed.sum ?? 0,
    min: seed.min ?? 0,
    max: seed.max ?? 0,
    hll: seed.hll ?? null,
    sketch: seed.sketch ?? null,
    firstRecord: 0,
    lastRecord: 0,
  };
  return cell;
}

/** Every counter item (not the `__stats__` ones) as model cells, keyed `pk\u0000sk`. */
export async function scanCounters(client: DynamoDBClient, tableName: string): Promise<Map<string, ModelCell>> {
  const out = new Map<string, ModelCell>();
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const pk = item.pk.S as string;
      if (pk.startsWith('__stats__') || pk.startsWith('__groups__') || pk.startsWith('__ledger__')) continue; // reject stats, group admissions, failure ledgers
      const sk = item.sk.S as string;
      out.set(`${pk}\u0000${sk}`, {
        pk,
        sk,
        count: Number(item.c?.N ?? 0),
        sum: item.s ? Number(item.s.N) : 0,
        min: item.mn ? Number(item.mn.N) : Infinity,
        max: item.mx ? Number(item.mx.N) : -Infinity,
      });
    }
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return out;
}

/** Human-readable differences between the table and the model (empty when equal). */
export function diffCounters(actual: Map<string, ModelCell>, expected: Map<string, ModelCell>): string[] {
  const diffs: string[] = [];
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (!got) diffs.push(`missing ${want.pk} ${want.sk}`);
    else if (got.count !== want.count || got.sum !== want.sum || got.min !== want.min || got.max !== want.max) {
      diffs.push(
        `${want.pk} ${want.sk}: table c=${got.count} s=${got.sum} mn=${got.min} mx=${got.max}, model c=${want.count} s=${want.sum} mn=${want.min} mx=${want.max}`,
      );
    }
  }
  for (const [key, got] of actual) if (!expected.has(key)) diffs.push(`unexpected ${got.pk} ${got.sk} c=${got.count}`);
  return diffs;
}
