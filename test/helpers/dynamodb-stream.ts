/** Reads a whole DynamoDB stream back (one shard, as DynamoDB Local keeps for a small table), shaped as Lambda delivers it. */
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { expect } from 'vitest';
import { DynamoDbStreamReader } from '../../src/local/emulator/dynamodb-stream-reader.js';

export async function readWholeDynamoDbStream(
  streams: DynamoDBStreamsClient,
  streamArn: string,
): Promise<{ records: DynamoDBRecord[]; shardId: string }> {
  const reader = new DynamoDbStreamReader(streams, { stream: streamArn, region: 'us-east-1' });
  await reader.open();
  const shards = await reader.listShards();
  expect(shards.length, 'DynamoDB Local keeps one shard for a small table').toBe(1);
  const records: DynamoDBRecord[] = [];
  let iterator = await reader.getIterator(shards[0].shardId, { type: 'TRIM_HORIZON' });
  while (iterator) {
    const page = await reader.read(shards[0].shardId, iterator, 1000);
    for (const r of page.records) records.push(r.eventRecord as unknown as DynamoDBRecord);
    if (page.records.length === 0) break;
    iterator = page.nextIterator;
  }
  return { records, shardId: shards[0].shardId };
}
