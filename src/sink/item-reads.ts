/**
 * Strongly consistent reads of items by key, for the read-modify-writes of the sink (counter items and
 * group admissions): one GetItem, or BatchGetItem in chunks of 100 keys with the unprocessed keys re-asked.
 */
import {
  BatchGetItemCommand,
  GetItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DeadlineError } from './errors.js';
import { Attr, deltaKey, MAX_BATCH_GET_KEYS } from './layout.js';
import { withRetry } from './retry.js';

export { deltaKey, MAX_BATCH_GET_KEYS };

type Item = Record<string, AttributeValue>;

export interface ItemReadOptions {
  deadlineMs: number;
  /** What the items are, for the deadline message ("counter items", "admission items"). */
  what: string;
  onRetry?: () => void;
  /** Thrown when keys are still unprocessed once the deadline passed (default: the next round's DeadlineError). */
  unprocessedAtDeadline?: (count: number) => Error;
}

export async function readItemConsistently(
  client: DynamoDBClient,
  tableName: string,
  pk: string,
  sk: string,
): Promise<Item | undefined> {
  const out = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { [Attr.pk]: { S: pk }, [Attr.sk]: { S: sk } },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

/** The items that exist among `keys`, by {@link deltaKey}; no read starts after the deadline. */
export async function readItemsConsistently(
  client: DynamoDBClient,
  tableName: string,
  keys: ReadonlyArray<{ pk: string; sk: string }>,
  options: ItemReadOptions,
): Promise<Map<string, Item>> {
  const { deadlineMs, onRetry } = options;
  const found = new Map<string, Item>();
  for (let i = 0; i < keys.length; i += MAX_BATCH_GET_KEYS) {
    let chunk: Item[] = keys
      .slice(i, i + MAX_BATCH_GET_KEYS)
      .map((k) => ({ [Attr.pk]: { S: k.pk }, [Attr.sk]: { S: k.sk } }));
    while (chunk.length > 0) {
      if (Date.now() >= deadlineMs)
        throw new DeadlineError(`the deadline passed before ${chunk.length} ${options.what} could be read`);
      const out = await withRetry(
        () =>
          client.send(
            new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: chunk, ConsistentRead: true } } }),
          ),
        onRetry ? { deadlineMs, onRetry } : { deadlineMs },
      );
      for (const item of out.Responses?.[tableName] ?? [])
        found.set(deltaKey(item[Attr.pk].S as string, item[Attr.sk].S as string), item);
      const unprocessed = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
      if (unprocessed.length > 0) {
        if (options.unprocessedAtDeadline && Date.now() >= deadlineMs)
          throw options.unprocessedAtDeadline(unprocessed.length);
        onRetry?.();
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
      }
      chunk = unprocessed;
    }
  }
  return found;
}
