/**
 * Settings for every DynamoDB client that the sink and the read API send through. The handlers, the local
 * runner, the tests and the handler benchmark all spread them into their client config, so a benchmark
 * measures the same client that production uses.
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

export const DYNAMODB_CLIENT_SETTINGS = Object.freeze({
  /**
   * The client resolves its middleware stack once per command class instead of on every send (the SDK
   * default builds and sorts the stack again for each request). Measured: the handler uses 15% less CPU per
   * 10,000-record batch (bench/README.md, issue 15). The catch: middleware added after the first send of a
   * command class is ignored. Everything of ours adds it when the client is built (the X-Ray capture, the
   * tests' fault injectors).
   */
  cacheMiddleware: true,
} as const satisfies DynamoDBClientConfig);
