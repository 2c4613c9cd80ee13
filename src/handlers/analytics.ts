/**
 * The analytics function (template.yaml: AnalyticsFunction, handler `analytics.handler`).
 * Cold start: configuration is validated here, so a bad value fails the init with a message naming it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadRuntimeConfig } from '../config.js';
import { createAnalyticsHandler } from './create-analytics-handler.js';

export const handler = createAnalyticsHandler({
  config: loadRuntimeConfig(),
  dynamodb: new DynamoDBClient({}),
  sqs: new SQSClient({}),
});
