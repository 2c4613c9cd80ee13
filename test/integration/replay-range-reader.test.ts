/**
 * readKinesisRange (the replay's reader of a dropped batch) against real kinesis-local: a range in a parent
 * shard closed by a split is read to its end and no further; a range the shard cannot give whole, or whose
 * first record is gone, is an error the replay reports (and keeps the message for). Prepare / Act / Assess.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients, type AwsClients } from '../../src/local/aws/aws-clients.js';
import { startKinesisLocal, type LocalServer } from '../../src/local/aws/servers.js';
import { RangeUnavailableError, readKinesisRange } from '../../src/replay/index.js';

let server: LocalServer;
let clients: AwsClients;
let streamArn: string;
let parentShard: string;
let parentSeqs: string[];

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function put(stream: string, n: number, prefix: string): Promise<string[]> {
  const out = await clients.kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: Array.from({ length: n }, (_, i) => ({ Data: Buffer.from(`${prefix}${i}`), PartitionKey: `k${i}` })),
    }),
  );
  return (out.Records ?? []).map((r) => r.SequenceNumber as string);
}

beforeAll(async () => {
  server = await startKinesisLocal();
  clients = createAwsClients({ endpoint: server.endpoint });
  const stream = 'replay-reader';
  await clients.kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  await waitFor(
    async () =>
      (await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary
        ?.StreamStatus === 'ACTIVE',
    'the stream',
  );
  streamArn = (await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
    .StreamDescriptionSummary?.StreamARN as string;
  parentSeqs = await put(stream, 10, 'parent-');
  parentShard = ((await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [])[0]
    .ShardId as string;
  await clients.kinesis.send(
    new SplitShardCommand({
      StreamName: stream,
      ShardToSplit: parentShard,
      NewStartingHashKey: (2n ** 127n).toString(),
    }),
  );
  await waitFor(async () => {
    const shards = (await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    return shards.filter((s) => s.ParentShardId).length === 2;
  }, 'the child shards');
  await put(stream, 6, 'child-');
}, 60_000);

afterAll(async () => {
  clients?.kinesis.destroy();
  await server?.stop();
});

describe('readKinesisRange', () => {
  it('reads a range of a closed parent shard up to its last record, in the Lambda record shape', async () => {
    // Act
    const records = await readKinesisRange(
      clients.kinesis,
      {
        streamArn,
        shardId: parentShard,
        startSequenceNumber: parentSeqs[3],
        endSequenceNumber: parentSeqs[9],
        expectedRecords: 7,
      },
      'us-east-1',
    );

    // Assess
    expect(records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString())).toEqual(
      [3, 4, 5, 6, 7, 8, 9].map((i) => `parent-${i}`),
    );
    expect(records[0].eventID).toBe(`${parentShard}:${parentSeqs[3]}`);
    expect(records[0].eventSourceARN).toBe(streamArn);
  });

  it('a range the shard ends before reaching is unavailable (the message is kept)', async () => {
    const beyond = (BigInt(parentSeqs[9]) + 1n).toString();
    await expect(
      readKinesisRange(
        clients.kinesis,
        {
          streamArn,
          shardId: parentShard,
          startSequenceNumber: parentSeqs[5],
          endSequenceNumber: beyond,
          expectedRecords: 0,
        },
        'us-east-1',
      ),
    ).rejects.toThrow(RangeUnavailableError);
  });

  it('a batch size that does not match what the shard holds is unavailable', async () => {
    await expect(
      readKinesisRange(
        clients.kinesis,
        {
          streamArn,
          shardId: parentShard,
          startSequenceNumber: parentSeqs[0],
          endSequenceNumber: parentSeqs[2],
          expectedRecords: 4,
        },
        'us-east-1',
      ),
    ).rejects.toThrow(/gave 3 records/);
  });

  it('a shard that does not exist is unavailable, naming it', async () => {
    await expect(
      readKinesisRange(
        clients.kinesis,
        {
          streamArn,
          shardId: 'shardId-000000000099',
          startSequenceNumber: parentSeqs[0],
          endSequenceNumber: parentSeqs[1],
          expectedRecords: 2,
        },
        'us-east-1',
      ),
    ).rejects.toThrow(/shardId-000000000099 .*cannot be read/);
  });
});
