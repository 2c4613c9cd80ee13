/**
 * Real DynamoDB Streams records of order changes for the state-count suites: the order generator's
 * changes written with the SDK into a fresh table of DynamoDB Local (with a stream), read back in full with
 * GetRecords as Lambda delivers them.
 */
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import type { LocalServer } from '../../src/local/aws/servers.js';
import { ItemChangeWriter } from '../../src/producer/item-change-writer.js';
import { OrderChangeGenerator } from '../../src/samples/order-changes.js';
import { localDynamoClient } from './counters-table.js';
import { readWholeDynamoDbStream } from './dynamodb-stream.js';

export interface OrderStream {
  /** Changes the writer applied (a MODIFY that changes nothing is not written). */
  applied: number;
  records: DynamoDBRecord[];
  shardId: string;
  /** The generator after the changes: its live orders are the reference levels. */
  generator: OrderChangeGenerator;
}

/** Writes `count` order changes into a fresh orders table `table` and reads its stream back in full. */
export async function writeOrderStream(
  server: LocalServer,
  table: string,
  options: { seed: number; count: number; targetLiveOrders: number },
): Promise<OrderStream> {
  const client = localDynamoClient(server.endpoint);
  const streams = new DynamoDBStreamsClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    const generator = new OrderChangeGenerator({ seed: options.seed, targetLiveOrders: options.targetLiveOrders });
    const writer = new ItemChangeWriter({ client, tableName: table });
    for (let i = 0; i < options.count; i++) await writer.apply(generator.next());
    const arn = (await client.send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn;
    const { records, shardId } = await readWholeDynamoDbStream(streams, arn!);
    const { inserts, modifies, removes } = writer.progress;
    return { applied: inserts + modifies + removes, records, shardId, generator };
  } finally {
    client.destroy();
    streams.destroy();
  }
}
