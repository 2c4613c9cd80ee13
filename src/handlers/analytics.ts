/**
 * The analytics function (template.yaml: AnalyticsFunction, handler `analytics.handler`).
 * Cold start: configuration is validated here, so a bad value fails the init with a message naming it.
 * Metric definitions come from the SSM parameter named by STREAMTALLY_CONFIG_SSM_PARAMETER when it is set
 * (read once, here), else from STREAMTALLY_CONFIG_FILE or the bundled file.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { loadRemoteMetricDefinitions, loadRuntimeConfig } from '../config.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../sink/dynamodb-client.js';
import { createAnalyticsHandler } from './create-analytics-handler.js';

const tracer = new Tracer({ serviceName: 'streamtally' });
const remote = await loadRemoteMetricDefinitions(process.env, () => tracer.captureAWSv3Client(new SSMClient({})));

export const handler = createAnalyticsHandler({
  config: loadRuntimeConfig(process.env, remote),
  dynamodb: tracer.captureAWSv3Client(new DynamoDBClient({ ...DYNAMODB_CLIENT_SETTINGS })),
  sqs: tracer.captureAWSv3Client(new SQSClient({})),
  tracer,
});
