/**
 * The plain-CloudFormation part of template.yaml (the stream, both tables, the queue, with their real
 * properties) deployed as a stack into moto_server through the CloudFormation API, then a batch run through
 * the handler against the stack's physical resources.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { loadRemoteMetricDefinitions, loadRuntimeConfig } from '../../src/config.js';
import { createAnalyticsHandler } from '../../src/handlers/create-analytics-handler.js';
import type { StreamResponse } from '../../src/pipeline/stream-processor.js';
import { clientConfig } from '../../src/local/aws/aws-clients.js';
import { motoAvailable, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import { loadTemplate } from '../../src/local/template/template.js';
import { scanCounters } from '../helpers/counters-table.js';
import { lambdaContext } from '../helpers/kinesis-batch.js';
import { waitFor } from '../helpers/runner.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PLAIN_RESOURCES = ['EventsStream', 'OrdersTable', 'CountersTable', 'FailureQueue', 'MetricDefinitionsParameter'];
const HAS_MOTO = motoAvailable();
if (!HAS_MOTO)
  console.warn('[skip] CloudFormation deploy into moto: moto_server is not on PATH (pip install "moto[server]")');

/** The stream, tables and queue of template.yaml as a plain CloudFormation template (no transform). */
function plainCloudFormation(): Record<string, unknown> {
  const doc = loadTemplate().document as {
    Parameters: Record<string, unknown>;
    Conditions?: Record<string, unknown>;
    Resources: Record<string, unknown>;
  };
  const resources: Record<string, unknown> = {};
  for (const id of PLAIN_RESOURCES) {
    expect(doc.Resources[id], `template.yaml declares ${id}`).toBeDefined();
    resources[id] = doc.Resources[id];
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: doc.Parameters,
    Conditions: doc.Conditions,
    Resources: resources,
  };
}

describe.skipIf(!HAS_MOTO)('template.yaml plain resources as a CloudFormation stack in moto_server', () => {
  let moto: LocalServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('deploys the stream, tables and queue, and a batch through the handler lands in them', async () => {
    const cfg = clientConfig({ endpoint: moto.endpoint });
    const cloudformation = new CloudFormationClient(cfg);
    const kinesis = new KinesisClient(cfg);
    const dynamodb = new DynamoDBClient(cfg);
    const sqs = new SQSClient(cfg);

    await cloudformation.send(
      new CreateStackCommand({
        StackName: 'streamtally-test',
        TemplateBody: JSON.stringify(plainCloudFormation()),
        Parameters: [{ ParameterKey: 'Stage', ParameterValue: 'cfn' }],
      }),
    );
    const status = await waitFor(
      'the stack to finish',
      async () => {
        const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: 'streamtally-test' })))
          .Stacks?.[0];
        return stack?.StackStatus?.endsWith('_COMPLETE') || stack?.StackStatus?.endsWith('_FAILED')
          ? stack.StackStatus
          : undefined;
      },
      60_000,
    );
    expect(status).toBe('CREATE_COMPLETE');
    const physical = Object.fromEntries(
      (
        (await cloudformation.send(new ListStackResourcesCommand({ StackName: 'streamtally-test' })))
          .StackResourceSummaries ?? []
      )
        // moto lists a resource whose Condition is false with an empty logical id; it creates nothing for it.
        .filter((r) => r.LogicalResourceId)
        .map((r) => [r.LogicalResourceId, r.PhysicalResourceId as string]),
    );
    // MetricDefinitionsParameter exists only with MetricDefinitions (see the next case).
    expect(Object.keys(physical).sort()).toEqual(['CountersTable', 'EventsStream', 'FailureQueue', 'OrdersTable']);

    // The resources carry the template's settings.
    const stream = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'streamtally-cfn-events' })))
      .StreamDescriptionSummary;
    expect(stream?.OpenShardCount).toBe(loadTemplate().parameters.ShardCount.value);
    const orders = (await dynamodb.send(new DescribeTableCommand({ TableName: 'streamtally-cfn-orders' }))).Table;
    expect(orders?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const counters = (await dynamodb.send(new DescribeTableCommand({ TableName: 'streamtally-cfn-counters' }))).Table;
    expect(counters?.KeySchema?.map((k) => k.AttributeName)).toEqual(['pk', 'sk']);

    // A batch through the handler against the stack's resources (Ref of a queue is its URL).
    const env = { COUNTERS_TABLE: physical.CountersTable, FAILURE_QUEUE_URL: physical.FailureQueue };
    expect(env.COUNTERS_TABLE).toBe('streamtally-cfn-counters');
    const handler = createAnalyticsHandler({
      config: loadRuntimeConfig(env),
      dynamodb,
      sqs,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    const event = JSON.parse(readFileSync(resolve(ROOT, 'events/kinesis-poison.json'), 'utf8'));
    const response = (await handler(event, lambdaContext(30_000) as never)) as StreamResponse;
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await scanCounters(dynamodb, env.COUNTERS_TABLE)).size).toBeGreaterThan(0);
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env.FAILURE_QUEUE_URL, MaxNumberOfMessages: 10 }),
    );
    expect((received.Messages ?? []).length).toBeGreaterThan(0);
    expect(JSON.parse(received.Messages![0].Body as string).reasons.length).toBeGreaterThan(0);
  }, 120_000);

  it('with existing stream ARNs and MetricDefinitions: no demo stream or table, and the handler counts with the SSM definitions', async () => {
    // Prepare
    const cfg = clientConfig({ endpoint: moto.endpoint });
    const cloudformation = new CloudFormationClient(cfg);
    const dynamodb = new DynamoDBClient(cfg);
    const kinesis = new KinesisClient(cfg);
    const ssm = new SSMClient(cfg);
    const definitions = { metrics: [{ name: 'byo_events', aggregates: ['count'], windows: ['1m'] }] };
    // Act
    await cloudformation.send(
      new CreateStackCommand({
        StackName: 'streamtally-byo',
        TemplateBody: JSON.stringify(plainCloudFormation()),
        Parameters: [
          { ParameterKey: 'Stage', ParameterValue: 'byo' },
          {
            ParameterKey: 'ExistingKinesisStreamArn',
            ParameterValue: 'arn:aws:kinesis:us-east-1:123456789012:stream/clicks',
          },
          {
            ParameterKey: 'ExistingTableStreamArn',
            ParameterValue: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000',
          },
          { ParameterKey: 'MetricDefinitions', ParameterValue: JSON.stringify(definitions) },
        ],
      }),
    );
    const status = await waitFor(
      'the stack to finish',
      async () => {
        const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: 'streamtally-byo' })))
          .Stacks?.[0];
        return stack?.StackStatus?.endsWith('_COMPLETE') || stack?.StackStatus?.endsWith('_FAILED')
          ? stack.StackStatus
          : undefined;
      },
      60_000,
    );
    // Assess
    expect(status).toBe('CREATE_COMPLETE');
    const physical = Object.fromEntries(
      (
        (await cloudformation.send(new ListStackResourcesCommand({ StackName: 'streamtally-byo' })))
          .StackResourceSummaries ?? []
      )
        // moto lists a resource whose Condition is false with an empty logical id; it creates nothing for it.
        .filter((r) => r.LogicalResourceId)
        .map((r) => [r.LogicalResourceId, r.PhysicalResourceId as string]),
    );
    expect(Object.keys(physical).sort()).toEqual(['CountersTable', 'FailureQueue', 'MetricDefinitionsParameter']);
    const streams = await kinesis.send(new ListStreamsCommand({}));
    expect(streams.StreamNames ?? []).not.toContain('streamtally-byo-events');
    const tables = await dynamodb.send(new ListTablesCommand({}));
    expect(tables.TableNames ?? []).not.toContain('streamtally-byo-orders');

    // Both functions' loader reads the definitions from the stack's parameter (as template.yaml wires it).
    const env = {
      COUNTERS_TABLE: physical.CountersTable,
      FAILURE_QUEUE_URL: physical.FailureQueue,
      STREAMTALLY_CONFIG_SSM_PARAMETER: '/streamtally/byo/metric-definitions',
    };
    const remote = await loadRemoteMetricDefinitions(env, () => ssm);
    const config = loadRuntimeConfig(env, remote);
    expect(config.metrics.metrics.map((m) => m.name)).toEqual(['byo_events']);
    const handler = createAnalyticsHandler({
      config,
      dynamodb,
      sqs: new SQSClient(cfg),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    const event = JSON.parse(readFileSync(resolve(ROOT, 'events/kinesis-poison.json'), 'utf8'));
    expect(await handler(event, lambdaContext(30_000) as never)).toEqual({ batchItemFailures: [] });
    const cells = await scanCounters(dynamodb, env.COUNTERS_TABLE);
    expect([...cells.keys()].some((k) => k.startsWith('byo_events'))).toBe(true);
  }, 120_000);
});
