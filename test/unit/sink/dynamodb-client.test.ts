/**
 * The DynamoDB client settings of the sink (issue 15): the middleware stack is resolved once per command
 * class, and middleware added before the first send (X-Ray capture, the tests' fault injectors) still sees
 * every request. No request leaves the process: an initialize-step middleware answers each one.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoDBClient, GetItemCommand, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_CLIENT_SETTINGS } from '../../../src/sink/dynamodb-client.js';

function answeringClient(settings: DynamoDBClientConfig): { client: DynamoDBClient; seen: string[] } {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...settings,
  });
  const seen: string[] = [];
  client.middlewareStack.add(
    () => async (args) => {
      seen.push((args.input as { Key: { pk: { S: string } } }).Key.pk.S);
      return { output: { $metadata: {} }, response: {} };
    },
    { step: 'initialize', name: 'answerInProcess' },
  );
  return { client, seen };
}

const get = (pk: string): GetItemCommand =>
  new GetItemCommand({ TableName: 'counters', Key: { pk: { S: pk }, sk: { S: '1m#x' } } });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('DYNAMODB_CLIENT_SETTINGS', () => {
  it('resolves the middleware stack once per command class, where the SDK default resolves it per send', async () => {
    // Prepare
    const resolve = vi.spyOn(GetItemCommand.prototype, 'resolveMiddleware');
    const cached = answeringClient(DYNAMODB_CLIENT_SETTINGS);
    const plain = answeringClient({});

    // Act
    for (const pk of ['a', 'b', 'c']) await cached.client.send(get(pk));
    const cachedResolutions = resolve.mock.calls.length;
    for (const pk of ['a', 'b', 'c']) await plain.client.send(get(pk));

    // Assess
    expect(cachedResolutions).toBe(1);
    expect(resolve.mock.calls.length - cachedResolutions).toBe(3);
  });

  it('runs middleware added before the first send on every request, with each command its own input', async () => {
    // Prepare
    const { client, seen } = answeringClient(DYNAMODB_CLIENT_SETTINGS);

    // Act
    await Promise.all(['a', 'b', 'c', 'd'].map((pk) => client.send(get(pk))));

    // Assess
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });
});
