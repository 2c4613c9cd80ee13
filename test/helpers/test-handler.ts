/**
 * The analytics handler as the integration suites build it: the deployed handler's factory with silent
 * logs and metrics and the defaults below, which a suite overrides with `config` (failure queue, write
 * concurrency, window flush...).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { RuntimeConfig } from '../../src/config.js';
import type { CompiledConfig } from '../../src/core/metric-config.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';

export function testAnalyticsHandler(options: {
  table: string;
  metrics: CompiledConfig;
  dynamodb: DynamoDBClient;
  /** Default: a client that is never called (no failure queue configured). */
  sqs?: SQSClient;
  /** For the failure bucket (config.failureBucket). */
  s3?: S3Client;
  config?: Partial<RuntimeConfig>;
}): ReturnType<typeof createAnalyticsHandler> {
  return createAnalyticsHandler({
    config: {
      countersTable: options.table,
      failureQueueUrl: undefined,
      metrics: options.metrics,
      metricsSource: 'test',
      maxDecompressedBytes: 1 << 20,
      writeConcurrency: 8,
      deadlineMarginMs: 1000,
      ...options.config,
    },
    dynamodb: options.dynamodb,
    sqs: options.sqs ?? new SQSClient({ region: 'us-east-1' }),
    ...(options.s3 ? { s3: options.s3 } : {}),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test' }),
  });
}
