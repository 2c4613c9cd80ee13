/**
 * Writes item changes (INSERT / MODIFY / REMOVE with their images, as src/samples/order-changes.ts makes
 * them) into a DynamoDB table with the real API calls an application makes: PutItem for a new item,
 * UpdateItem `SET` / `REMOVE` of only the attributes that differ for a change, DeleteItem for a delete.
 * The table's stream then carries exactly these changes. Used by the demo in `npm start` and by
 * `npm run produce -- --orders`.
 */
import {
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { AttributeMap, DynamoDbEventName } from '../core/types.js';
import { attributeValuesEqual } from '../core/image-change.js';
import { ProducerError } from './kinesis-producer.js';

/** One change of one item; `keys` are its key attributes. */
export interface ItemWrite {
  eventName: DynamoDbEventName;
  keys: AttributeMap;
  newImage?: AttributeMap;
  oldImage?: AttributeMap;
}

export interface ItemWriterProgress {
  /** Changes applied, per change type. */
  inserts: number;
  modifies: number;
  removes: number;
  elapsedMs: number;
}

export interface ItemWriterOptions {
  client: DynamoDBClient;
  tableName: string;
  onProgress?: (progress: Readonly<ItemWriterProgress>) => void;
  now?: () => number;
}

export interface WriteLoopOptions {
  /** Changes per second (default: as fast as the table answers). */
  ratePerSec?: number;
  maxChanges?: number;
  signal?: AbortSignal;
}

const av = (map: AttributeMap): Record<string, AttributeValue> => map as Record<string, AttributeValue>;

/**
 * @example
 * const writer = new ItemChangeWriter({ client, tableName: 'orders' });
 * const orders = new OrderChangeGenerator();
 * await writer.writeAll((function* () { for (;;) yield orders.next(); })(), { ratePerSec: 10, maxChanges: 100 });
 */
export class ItemChangeWriter {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly onProgress: ((p: Readonly<ItemWriterProgress>) => void) | undefined;
  private readonly now: () => number;
  readonly progress: ItemWriterProgress = { inserts: 0, modifies: 0, removes: 0, elapsedMs: 0 };

  constructor(options: ItemWriterOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.onProgress = options.onProgress;
    this.now = options.now ?? Date.now;
  }

  /** Applies one change. A MODIFY that changes no attribute is skipped (DynamoDB Streams would omit it too). */
  async apply(change: ItemWrite): Promise<void> {
    const TableName = this.tableName;
    if (change.eventName === 'INSERT') {
      if (!change.newImage) throw new ProducerError('an INSERT needs its newImage');
      await this.client.send(new PutItemCommand({ TableName, Item: av(change.newImage) }));
      this.progress.inserts++;
    } else if (change.eventName === 'REMOVE') {
      await this.client.send(new DeleteItemCommand({ TableName, Key: av(change.keys) }));
      this.progress.removes++;
    } else {
      if (!change.newImage) throw new ProducerError('a MODIFY needs its newImage');
      const update = updateExpression(change.keys, change.oldImage ?? {}, change.newImage);
      if (update === undefined) return;
      await this.client.send(new UpdateItemCommand({ TableName, Key: av(change.keys), ...update }));
      this.progress.modifies++;
    }
  }

  /**
   * Applies changes from `source` in order (one at a time: changes of one item must land in order), at
   * `ratePerSec`, until the source ends, `maxChanges` are applied or `signal` aborts.
   */
  async writeAll(source: Iterator<ItemWrite>, options: WriteLoopOptions = {}): Promise<ItemWriterProgress> {
    const { ratePerSec, maxChanges = Number.POSITIVE_INFINITY, signal } = options;
    if (ratePerSec !== undefined && !(ratePerSec > 0))
      throw new ProducerError(`ratePerSec must be positive, got ${ratePerSec}`);
    const started = this.now();
    let taken = 0;
    while (taken < maxChanges && !signal?.aborted) {
      if (ratePerSec !== undefined) {
        const waitMs = (taken * 1_000) / ratePerSec - (this.now() - started);
        if (waitMs > 0) await sleep(waitMs, signal);
        if (signal?.aborted) break;
      }
      const next = source.next();
      if (next.done) break;
      await this.apply(next.value);
      taken++;
      this.progress.elapsedMs = this.now() - started;
      this.onProgress?.(this.progress);
    }
    this.progress.elapsedMs = this.now() - started;
    return this.progress;
  }
}

/** `SET` the attributes that differ (and are not keys), `REMOVE` those the new image lacks. */
function updateExpression(
  keys: AttributeMap,
  oldImage: AttributeMap,
  newImage: AttributeMap,
):
  | {
      UpdateExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues?: Record<string, AttributeValue>;
    }
  | undefined {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  let n = 0;
  for (const name of Object.keys(newImage)) {
    if (name in keys || attributeValuesEqual(oldImage[name], newImage[name])) continue;
    names[`#a${n}`] = name;
    values[`:v${n}`] = newImage[name] as AttributeValue;
    sets.push(`#a${n} = :v${n}`);
    n++;
  }
  for (const name of Object.keys(oldImage)) {
    if (name in keys || name in newImage) continue;
    names[`#a${n}`] = name;
    removes.push(`#a${n}`);
    n++;
  }
  if (n === 0) return undefined;
  const parts = [
    sets.length > 0 ? `SET ${sets.join(', ')}` : '',
    removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
  ];
  return {
    UpdateExpression: parts.filter(Boolean).join(' '),
    ExpressionAttributeNames: names,
    ...(sets.length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
