/**
 * The failure ledger: what a failed attempt of a batch left durable, for the replay of that batch.
 *
 * When an attempt ends with batchItemFailures at checkpoint C (the lowest record not durable), Lambda
 * re-delivers from C, and when its retries run out it drops the range starting at C and sends only
 * (shard, C, end) to the on-failure destination. Some counter items of that range may already hold their
 * records (written by an attempt before it gave up). Per-item progress (`p:<shard>`) tells which, but only
 * until the live pipeline, which goes on with later records, writes the item again. So every failed
 * attempt records here, keyed by (shard, C), each item's position of that shard as known after the
 * attempt. The replay (src/replay) reads it back for items whose progress has since moved past the range.
 *
 * Item: pk `__ledger__#<shard>`, sk = C zero-padded, `e` = the attempt's last position, `l` = gzip'd JSON
 * `[[itemKey, position | '' (none) | null (unknown)], ...]`, `ttl`. Written only on failed attempts.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FailureLedgerError } from './errors.js';
import { Attr } from './layout.js';
import { withRetry } from './retry.js';

export const LEDGER_PK_PREFIX = '__ledger__#';
/** Kept as long as Kinesis can keep a record (365 days, the maximum retention), plus a day. */
export const LEDGER_TTL_SECONDS = 366 * 86_400;
/** DynamoDB's item size limit (400 KB), less room for the keys. */
export const MAX_LEDGER_BYTES = 390 * 1024;

/** itemKey (`pk\u0000sk`) -> position held ('' none, null unknown). */
export type LedgerEntries = Map<string, string | null>;

export interface LedgerRecord {
  lane: string;
  /** Zero-padded checkpoint position: the first record of the range Lambda would drop. */
  checkpoint: string;
  /** Zero-padded position of the attempt's last record. */
  end: string;
  entries: LedgerEntries;
}

export function ledgerPk(lane: string): string {
  return LEDGER_PK_PREFIX + lane;
}

export class FailureLedger {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /**
   * Merges this attempt's knowledge into the entry at (lane, checkpoint): a later attempt's value for an
   * item replaces an earlier one (positions only grow, and each attempt re-reads items consistently).
   */
  async record(record: LedgerRecord, deadlineMs: number): Promise<void> {
    try {
      const previous = await withRetry(() => this.read(record.lane, record.checkpoint), { deadlineMs });
      const merged: LedgerEntries = previous ? new Map(previous.entries) : new Map();
      for (const [key, position] of record.entries) merged.set(key, position);
      const body = gzipSync(JSON.stringify([...merged]));
      if (body.length > MAX_LEDGER_BYTES)
        throw new FailureLedgerError(
          `the ledger of ${merged.size} items is ${body.length} bytes, over the ${MAX_LEDGER_BYTES}-byte item limit; lower BatchSize`,
        );
      await withRetry(
        () =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: {
                [Attr.pk]: { S: ledgerPk(record.lane) },
                [Attr.sk]: { S: record.checkpoint },
                e: { S: previous && previous.end > record.end ? previous.end : record.end },
                l: { B: body },
                [Attr.ttl]: { N: String(Math.floor(Date.now() / 1000) + LEDGER_TTL_SECONDS) },
              },
            }),
          ),
        { deadlineMs },
      );
    } catch (err) {
      throw new FailureLedgerError(
        `Recording the failure ledger of ${record.lane} at ${record.checkpoint.replace(/^0+/, '')} in table ${this.tableName} failed: ${(err as Error).message}. A replay of this range will keep its message if an item's progress has moved on.`,
        { cause: err },
      );
    }
  }

  /** The entry at (lane, checkpoint), or undefined. */
  async read(lane: string, checkpoint: string): Promise<LedgerRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [Attr.pk]: { S: ledgerPk(lane) }, [Attr.sk]: { S: checkpoint } },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const bytes = out.Item.l?.B;
    const entries: LedgerEntries = new Map(
      bytes ? (JSON.parse(gunzipSync(bytes).toString('utf8')) as Array<[string, string | null]>) : [],
    );
    return { lane, checkpoint, end: out.Item.e?.S ?? '', entries };
  }
}
