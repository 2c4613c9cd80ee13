/**
 * The items of one metric-window (or of a `state` metric's levels), read through the WINDOW_INDEX GSI
 * (layout.ts): a paginated Query of the window's index partition for the items' keys (KEYS_ONLY, ~100 B
 * per key, so a 1 MB page lists thousands of groups), then BatchGetItem of up to 100 keys a call, a few
 * calls at a time, for the attributes the caller needs. The counts themselves are never in the index: it
 * would be written on every counter update (a changed sort key is a delete and a put, 2 WRU a write).
 */
import {
  BatchGetItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { Attr, deltaKey, MAX_BATCH_GET_KEYS } from '../sink/layout.js';
import { CounterReadError } from './types.js';

type Item = Record<string, AttributeValue>;

/**
 * BatchGetItem calls in flight at once for one window. 8 x 100 items of <= 4 KB is <= 3.2 MB in flight:
 * a window of 1,000 groups (maxGroupsPerWindow's usual ceiling) reads in two rounds, well inside the SDK's
 * 50 sockets, and a burst of 8 calls stays far from a table partition's 3,000 RRU/s.
 */
export const MAX_PARALLEL_BATCH_GETS = 8;
/** Rounds of re-asking UnprocessedKeys (throttling) before the read fails; with the backoff below ~6 s. */
const MAX_UNPROCESSED_ROUNDS = 8;
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 1_000;

export interface WindowItemsRequest {
  client: DynamoDBClient;
  tableName: string;
  indexName: string;
  /** The `g` value of the window ({@link windowGroupKey}). */
  group: string;
  /** Attributes to read besides pk and sk (a projection: the RRU are the same, the bytes fewer). */
  attributes: ReadonlyArray<string>;
  /**
   * Strongly consistent BatchGetItem (2x the RRU). The key list comes from a GSI, which is eventually
   * consistent either way, so this only makes the values of the groups listed current.
   */
  consistentRead: boolean;
  /** Runs one SDK call, translating its failure (CounterReader#send). */
  send: <T>(operation: string, call: () => Promise<T>) => Promise<T>;
}

export interface WindowItems {
  /** The window's items that still exist, each once, in pk order (so merged sums are the same every read). */
  items: Item[];
  /** Query pages on the index and BatchGetItem calls (retries of unprocessed keys included). */
  queries: number;
  batchGets: number;
}

export async function readWindowItems(request: WindowItemsRequest): Promise<WindowItems> {
  const { keys, queries } = await windowKeys(request);
  const chunks: Item[][] = [];
  for (let i = 0; i < keys.length; i += MAX_BATCH_GET_KEYS) chunks.push(keys.slice(i, i + MAX_BATCH_GET_KEYS));
  const items: Item[] = [];
  const counter = { batchGets: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      const got = await batchGet(request, chunk, counter);
      for (let i = 0; i < got.length; i++) items.push(got[i]);
    }
  };
  const workers: Array<Promise<void>> = [];
  for (let w = 0; w < Math.min(MAX_PARALLEL_BATCH_GETS, chunks.length); w++) workers.push(worker());
  await Promise.all(workers);
  items.sort(byPk);
  return { items, queries, batchGets: counter.batchGets };
}

/** Every key in the window's index partition, each once; Query pages until LastEvaluatedKey runs out. */
async function windowKeys(request: WindowItemsRequest): Promise<{ keys: Item[]; queries: number }> {
  const input: QueryCommandInput = {
    TableName: request.tableName,
    IndexName: request.indexName,
    KeyConditionExpression: '#g = :g',
    ProjectionExpression: '#pk, #sk',
    ExpressionAttributeNames: { '#g': Attr.windowGroup, '#pk': Attr.pk, '#sk': Attr.sk },
    ExpressionAttributeValues: { ':g': { S: request.group } },
  };
  const keys: Item[] = [];
  // An index whose key changes under updates (the legacy byWindow, sorted by count) can return an item on two
  // pages; WINDOW_INDEX cannot, but the check is one Set lookup per key.
  const seen = new Set<string>();
  let queries = 0;
  do {
    queries++;
    const page = await request.send('Query', () => request.client.send(new QueryCommand(input)));
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i++) {
      const pk = items[i][Attr.pk]?.S;
      const sk = items[i][Attr.sk]?.S;
      if (pk === undefined || sk === undefined) continue;
      const key = deltaKey(pk, sk);
      if (seen.has(key)) continue;
      seen.add(key);
      keys.push({ [Attr.pk]: { S: pk }, [Attr.sk]: { S: sk } });
    }
    input.ExclusiveStartKey = page.LastEvaluatedKey;
  } while (input.ExclusiveStartKey);
  return { keys, queries };
}

/** One chunk of <= 100 keys; unprocessed keys (throttling) are asked again with backoff and jitter. */
async function batchGet(request: WindowItemsRequest, chunk: Item[], counter: { batchGets: number }): Promise<Item[]> {
  const names: Record<string, string> = { '#pk': Attr.pk, '#sk': Attr.sk };
  const refs = ['#pk', '#sk'];
  for (let i = 0; i < request.attributes.length; i++) {
    const name = request.attributes[i];
    if (name === Attr.pk || name === Attr.sk) continue; // always read: a projection may not name a path twice
    names['#a' + i] = name;
    refs.push('#a' + i);
  }
  const projection = refs.join(', ');
  const found: Item[] = [];
  let keys = chunk;
  for (let round = 0; keys.length > 0; round++) {
    if (round === MAX_UNPROCESSED_ROUNDS)
      throw new CounterReadError(
        `BatchGetItem on counters table ${request.tableName} left ${keys.length} items of ${request.group} unprocessed after ${round} rounds (throttled); retry the read later.`,
      );
    if (round > 0) await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** round));
    counter.batchGets++;
    const requested = keys;
    const out = await request.send('BatchGetItem', () =>
      request.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [request.tableName]: {
              Keys: requested,
              ProjectionExpression: projection,
              ExpressionAttributeNames: names,
              ConsistentRead: request.consistentRead,
            },
          },
        }),
      ),
    );
    const items = out.Responses?.[request.tableName] ?? [];
    for (let i = 0; i < items.length; i++) found.push(items[i]);
    keys = (out.UnprocessedKeys?.[request.tableName]?.Keys ?? []) as Item[];
  }
  return found;
}

function byPk(a: Item, b: Item): number {
  const x = a[Attr.pk]?.S ?? '';
  const y = b[Attr.pk]?.S ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
