/**
 * What the counters table's index costs per write, measured on AWS's own DynamoDB Local (the real SDK, the
 * real CounterWriter): every PutItem / UpdateItem the writer sends asks for ReturnConsumedCapacity INDEXES.
 * The keys-only byWindowKeys index (g, never changed) is written once per item, when the item is created,
 * and never on the item's later updates; the legacy byWindow index (sorted by the count) beside it pays a
 * delete and a put on every update. The cost bench's model (item-size.ts indexWriteUnits) must agree.
 * Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { GetItemCommand, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { javaRuntime, startDynamoDbLocal, type LocalServer } from '../../src/local/aws/servers.js';
import { CounterWriter } from '../../src/sink/counter-writer.js';
import { cellItemDelta, type Item } from '../../src/sink/item-delta.js';
import { indexWriteUnits } from '../../src/sink/item-size.js';
import { Attr, LEGACY_TOP_INDEX, WINDOW_INDEX, padSequence } from '../../src/sink/layout.js';
import { createCountersTable, localDynamoClient, seedCellDelta } from '../helpers/counters-table.js';

const JAVA = javaRuntime();
if (JAVA.unavailableReason)
  console.warn(`window-index-cost.test.ts skipped: DynamoDB Local needs Java (${JAVA.unavailableReason})`);

const TABLE = 'index-cost-counters';
const W = Date.parse('2026-11-26T12:00:00.000Z');

describe.skipIf(JAVA.unavailableReason !== undefined)('index write cost on DynamoDB Local', () => {
  let server: LocalServer;
  const client = (): ReturnType<typeof localDynamoClient> => localDynamoClient(server.endpoint);

  beforeAll(async () => {
    server = await startDynamoDbLocal();
    // The template's table, plus the legacy index beside it (the KeepLegacyTopIndex upgrade deploy).
    await createCountersTable(client(), TABLE, 'both');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('byWindowKeys: 1 WRU when the writer creates an item, 0 on its updates; the model agrees', async () => {
    // Prepare: the real writer on a client that asks every write for its consumed capacity per index.
    const dynamodb = client();
    const consumed: ConsumedCapacity[] = [];
    dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        const write = context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand';
        if (write) (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'INDEXES';
        const out = await next(args);
        const capacity = (out.output as { ConsumedCapacity?: ConsumedCapacity }).ConsumedCapacity;
        if (write && capacity) consumed.push(capacity);
        return out;
      },
      { step: 'initialize', name: 'consumedCapacityPerIndex' },
    );
    const writer = new CounterWriter({ client: dynamodb, tableName: TABLE });
    const seed = { metric: 'views', dimensionNames: ['country'], dims: ['DE'], window: '1m', startMs: W };
    let record = 0;
    const writeBatch = async (count: number, sum: number): Promise<{ before?: Item; after?: Item }> => {
      const key = { [Attr.pk]: { S: 'views#DE' }, [Attr.sk]: { S: `1m#${new Date(W).toISOString()}` } };
      const before = (await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: key, ConsistentRead: true })))
        .Item;
      const delta = cellItemDelta(seedCellDelta({ ...seed, count, sum, min: 1, max: sum }));
      record++;
      const result = await writer.write({
        deltas: [delta],
        lane: 'shardId-000000000000',
        positionOf: () => padSequence(String(record)),
        recordCount: 1,
        recompute: () => new Map(),
        deadlineMs: Date.now() + 20_000,
      });
      expect(result.written).toBe(1);
      const after = (await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: key, ConsistentRead: true })))
        .Item;
      return { before, after };
    };

    // Act: one batch creates the item, two more update its count, sum, max and progress.
    const writes = [await writeBatch(3, 30), await writeBatch(2, 40), await writeBatch(5, 90)];

    // Assess
    const perIndex = (name: string): number[] =>
      consumed.map((c) => c.GlobalSecondaryIndexes?.[name]?.CapacityUnits ?? 0);
    expect(consumed).toHaveLength(3);
    expect(perIndex(WINDOW_INDEX.name)).toEqual([1, 0, 0]);
    expect(perIndex(LEGACY_TOP_INDEX)).toEqual([1, 2, 2]);
    expect(writes.map((w) => indexWriteUnits(w.before, w.after))).toEqual(perIndex(WINDOW_INDEX.name));
  });
});
