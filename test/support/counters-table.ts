/** Counters-table helpers for integration tests, over a real DynamoDB-API server. */
import { CreateTableCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DynamoDBClient as Client } from '@aws-sdk/client-dynamodb';
import type { ModelCell } from './reference-model.js';

export function localDynamoClient(endpoint: string, maxAttempts = 3): DynamoDBClient {
  return new Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, requestHandler: new NodeHttpHandler(), maxAttempts });
}

export async function createCountersTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** Every counter item (not the `__stats__` ones) as model cells, keyed `pk\u0000sk`. */
export async function scanCounters(client: DynamoDBClient, tableName: string): Promise<Map<string, ModelCell>> {
  const out = new Map<string, ModelCell>();
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const pk = item.pk.S as string;
      if (pk.startsWith('__stats__')) continue;
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
      diffs.push(`${want.pk} ${want.sk}: table c=${got.count} s=${got.sum} mn=${got.min} mx=${got.max}, model c=${want.count} s=${want.sum} mn=${want.min} mx=${want.max}`);
    }
  }
  for (const [key, got] of actual) if (!expected.has(key)) diffs.push(`unexpected ${got.pk} ${got.sk} c=${got.count}`);
  return diffs;
}
