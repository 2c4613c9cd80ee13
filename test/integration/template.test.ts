/**
 * template.yaml against real tools: cfn-lint, the SAM translator (offline SAM -> CloudFormation), and
 * moto_server (the stream, tables and queue created from the parsed template with the real SDK clients).
 * Each tier skips, with the reason printed, where its tool is not installed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeStreamSummaryCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '../../src/local/aws/aws-clients.js';
import { createLocalResources, DEFAULT_LOCAL_NAMES } from '../../src/local/aws/resources.js';
import { motoAvailable, startDynalite, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import { loadTemplate } from '../../src/local/template/template.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TEMPLATE_PATH = resolve(ROOT, 'template.yaml');

const succeeds = (cmd: string, args: string[]): boolean =>
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 }).status === 0;
const hasCfnLint = succeeds('cfn-lint', ['--version']);
const hasSamTranslator = succeeds('python3', ['-c', 'import samtranslator']);
const hasMoto = motoAvailable();
if (!hasCfnLint) console.warn('template.test: cfn-lint not on PATH, skipping the lint check (pip install cfn-lint).');
if (!hasSamTranslator)
  console.warn(
    'template.test: python3 cannot import samtranslator, skipping the translation checks (pip install aws-sam-translator).',
  );
if (!hasMoto)
  console.warn("template.test: moto_server not on PATH, skipping resource creation (pip install 'moto[server]').");

describe('cfn-lint', () => {
  it.skipIf(!hasCfnLint)('finds nothing in template.yaml', () => {
    // Act: cfn-lint runs the Serverless transform itself, so this validates the generated resources too.
    const run = spawnSync('cfn-lint', [TEMPLATE_PATH], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    // Assess
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.skipIf(!hasSamTranslator)('SAM translation (scripts/sam-translate.py)', () => {
  let cfn: Json;
  let resources: Json;
  /** Resolves `{ Ref: Param }` to the parameter's default, as CloudFormation would at deploy time. */
  const param = (value: unknown): unknown => {
    if (value && typeof value === 'object' && 'Ref' in value) {
      const p = cfn.Parameters?.[(value as { Ref: string }).Ref];
      if (p) return p.Type === 'Number' ? Number(p.Default) : p.Default;
    }
    if (value && typeof value === 'object' && 'Fn::If' in value) {
      const [condition, then, otherwise] = (value as { 'Fn::If': [string, unknown, unknown] })['Fn::If'];
      const [left, right] = cfn.Conditions[condition]['Fn::Equals'].map(param);
      return param(String(left) === String(right) ? then : otherwise);
    }
    if (value && typeof value === 'object' && 'Fn::FindInMap' in value) {
      const [map, top, second] = (value as { 'Fn::FindInMap': unknown[] })['Fn::FindInMap'].map(param);
      return cfn.Mappings?.[String(map)]?.[String(top)]?.[String(second)];
    }
    return value;
  };
  const ofType = (type: string): Array<[string, Json]> =>
    Object.entries(resources).filter(([, r]) => r.Type === type) as Array<[string, Json]>;
  const arnOf = (logicalId: string, attribute = 'Arn'): Json => ({ 'Fn::GetAtt': [logicalId, attribute] });

  beforeAll(() => {
    const run = spawnSync('python3', [resolve(ROOT, 'scripts/sam-translate.py'), TEMPLATE_PATH], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (run.status !== 0) throw new Error(`sam-translate.py failed (${run.status}): ${run.stderr}`);
    cfn = JSON.parse(run.stdout);
    resources = cfn.Resources;
  });

  it('produces plain CloudFormation', () => {
    expect(cfn.Transform).toBeUndefined();
    expect(ofType('AWS::Serverless::Function')).toEqual([]);
    expect(
      ofType('AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['AnalyticsFunction', 'ReadApiFunction']);
  });

  it('wires both event source mappings with every delivery setting', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings).toHaveLength(2);
    const kinesis = mappings.find((m) => m.EventSourceArn['Fn::GetAtt'][0] === 'EventsStream');
    const dynamodb = mappings.find((m) => m.EventSourceArn['Fn::GetAtt'][0] === 'OrdersTable');
    expect(kinesis?.EventSourceArn).toEqual(arnOf('EventsStream'));
    expect(dynamodb?.EventSourceArn).toEqual(arnOf('OrdersTable', 'StreamArn'));
    for (const m of [kinesis, dynamodb]) {
      expect(m?.FunctionName).toEqual({ Ref: 'AnalyticsFunction' });
      expect(m?.Enabled).toBe(true);
      expect(m?.StartingPosition).toBe('TRIM_HORIZON');
      // FlushIntervalSeconds (default 5) picks both through the Freshness mapping.
      expect(param(m?.BatchSize)).toBe(500);
      expect(param(m?.MaximumBatchingWindowInSeconds)).toBe(5);
      expect(param(m?.ParallelizationFactor)).toBe(1);
      expect(m?.BisectBatchOnFunctionError).toBe(true);
      expect(m?.MaximumRetryAttempts).toBeGreaterThanOrEqual(0);
      expect(m?.MaximumRecordAgeInSeconds).toBeGreaterThanOrEqual(60);
      expect(m?.FunctionResponseTypes).toContain('ReportBatchItemFailures');
      // SAM's internal `Type: SQS` hint is stripped; only the destination ARN reaches CloudFormation.
      expect(m?.DestinationConfig).toEqual({ OnFailure: { Destination: arnOf('FailureQueue') } });
    }
    expect(dynamodb?.TumblingWindowInSeconds).toBe(60);
    // Only with WindowFlush true (default false) does the Kinesis source get a tumbling window.
    expect(kinesis?.TumblingWindowInSeconds).toEqual({ 'Fn::If': ['UseWindowFlush', 900, { Ref: 'AWS::NoValue' }] });
    expect(cfn.Parameters.WindowFlush.Default).toBe('false');
    // ParallelizationFactor is a parameter that only allows 1 (in-order per shard).
    expect(cfn.Parameters.ParallelizationFactor.AllowedValues).toEqual([1]);
  });

  it('deploys both functions on nodejs22.x / arm64 with their explicit roles and log groups', () => {
    for (const [id, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.Role, id).toEqual(arnOf(`${id}Role`));
      expect(fn.Properties.LoggingConfig.LogGroup, id).toEqual({
        Ref: id === 'AnalyticsFunction' ? 'AnalyticsLogGroup' : 'ReadApiLogGroup',
      });
    }
    const analytics = resources.AnalyticsFunction.Properties;
    expect(analytics.Handler).toBe('analytics.handler');
    expect(analytics.Environment.Variables).toMatchObject({
      COUNTERS_TABLE: { Ref: 'CountersTable' },
      FAILURE_QUEUE_URL: { Ref: 'FailureQueue' },
      POWERTOOLS_SERVICE_NAME: 'streamtally',
      POWERTOOLS_METRICS_NAMESPACE: 'streamtally',
      POWERTOOLS_LOG_LEVEL: { Ref: 'LogLevel' },
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(resources.AnalyticsFunction.Metadata).toMatchObject({
      BuildMethod: 'esbuild',
      BuildProperties: {
        EntryPoints: ['src/handlers/analytics.ts'],
        Format: 'esm',
        OutExtension: ['.js=.mjs'],
        Sourcemap: true,
      },
    });
    expect(resources.ReadApiFunction.Properties.Handler).toBe('read-api.handler');
    for (const id of ['AnalyticsLogGroup', 'ReadApiLogGroup'])
      expect(resources[id].Properties.RetentionInDays).toEqual({ Ref: 'LogRetentionDays' });
  });

  it('grants least privilege: no "*" actions or resources, no managed policies, each action on its own ARN', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual(['AnalyticsFunctionRole', 'ReadApiFunctionRole']);
    /** action -> the resources it is granted on, per role */
    const grants = new Map<string, Map<string, unknown[]>>();
    for (const [id, role] of roles) {
      expect(role.Properties.ManagedPolicyArns ?? [], id).toEqual([]);
      const byAction = new Map<string, unknown[]>();
      for (const policy of role.Properties.Policies) {
        for (const statement of policy.PolicyDocument.Statement) {
          expect(statement.Effect).toBe('Allow');
          const actions: string[] = [statement.Action].flat();
          const targets: unknown[] = [statement.Resource].flat();
          for (const action of actions) {
            expect(action, `${id}: ${action}`).not.toContain('*');
            byAction.set(action, [...(byAction.get(action) ?? []), ...targets]);
          }
          for (const target of targets) expect(JSON.stringify(target), `${id} ${actions.join(',')}`).not.toBe('"*"');
        }
      }
      grants.set(id, byAction);
    }
    const analytics = grants.get('AnalyticsFunctionRole') as Map<string, unknown[]>;
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
    ]) {
      expect(analytics.get(action), action).toEqual([arnOf('CountersTable')]);
    }
    expect(analytics.get('sqs:SendMessage')).toEqual([arnOf('FailureQueue')]);
    for (const action of [
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:DescribeStream',
      'kinesis:DescribeStreamSummary',
      'kinesis:ListShards',
    ]) {
      expect(analytics.get(action), action).toEqual([arnOf('EventsStream')]);
    }
    for (const action of ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream']) {
      expect(analytics.get(action), action).toEqual([arnOf('OrdersTable', 'StreamArn')]);
    }
    expect(analytics.get('dynamodb:ListStreams')).toEqual([{ 'Fn::Sub': '${OrdersTable.Arn}/stream/*' }]);
    expect(analytics.get('logs:PutLogEvents')).toEqual([arnOf('AnalyticsLogGroup')]);
    expect(analytics.has('cloudwatch:PutMetricData')).toBe(false);
    expect(analytics.has('dynamodb:DeleteItem')).toBe(false);
    expect(analytics.has('dynamodb:Scan')).toBe(false);

    const readApi = grants.get('ReadApiFunctionRole') as Map<string, unknown[]>;
    // top() Queries the byWindow GSI: Query on the table and that index, and no Scan anywhere.
    expect([...readApi.keys()].filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
    ]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:BatchGetItem'])
      expect(readApi.get(action)).toEqual([arnOf('CountersTable')]);
    expect(readApi.get('dynamodb:Query')).toEqual([
      arnOf('CountersTable'),
      { 'Fn::Sub': '${CountersTable.Arn}/index/byWindow' },
    ]);
    expect(readApi.has('dynamodb:Scan')).toBe(false);
  });

  it('serves GET / and GET /api/{proxy+} through the HTTP API', () => {
    const [[, api]] = ofType('AWS::ApiGatewayV2::Api');
    const paths = Object.keys(api.Properties.Body.paths).sort();
    expect(paths).toEqual(['/', '/api/{proxy+}']);
    for (const path of paths) expect(Object.keys(api.Properties.Body.paths[path])).toEqual(['get']);
  });

  it('has the tables, queue, alarms and dashboard the design asks for', () => {
    const counters = resources.CountersTable.Properties;
    expect(counters.BillingMode).toBe('PAY_PER_REQUEST');
    expect(counters.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(counters.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // The sparse GSI behind CounterReader.top(): g = <metric>#<window>#<start>, sorted by the count c.
    expect(counters.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'g', AttributeType: 'S' },
      { AttributeName: 'c', AttributeType: 'N' },
    ]);
    expect(counters.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byWindow',
        KeySchema: [
          { AttributeName: 'g', KeyType: 'HASH' },
          { AttributeName: 'c', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['d', 's'] },
      },
    ]);
    expect(resources.OrdersTable.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(resources.FailureQueue.Properties).toMatchObject({
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });

    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const byMetric = new Map(alarms.map((a) => [`${a.Namespace}/${a.MetricName}`, a]));
    expect([...byMetric.keys()].sort()).toEqual([
      'AWS/Lambda/Errors',
      'AWS/Lambda/IteratorAge',
      'AWS/Lambda/Throttles',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
    ]);
    expect(byMetric.get('AWS/Lambda/IteratorAge')).toMatchObject({
      Threshold: 60000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byMetric.get('AWS/SQS/ApproximateNumberOfMessagesVisible')).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(resources.AlarmTopic.Condition).toBe('HasAlarmEmail');

    const body = JSON.stringify(resources.Dashboard.Properties.DashboardBody);
    for (const metric of ['IteratorAge', 'Invocations', 'Errors', 'RecordsIn', 'Rejected', 'CounterWrites'])
      expect(body).toContain(metric);
  });

  it('exports every output the README and the producer rely on', () => {
    expect(Object.keys(cfn.Outputs).sort()).toEqual(
      [
        'ApiUrl',
        'CountersTableName',
        'DashboardUrl',
        'FailureQueueUrl',
        'OrdersTableName',
        'StreamArn',
        'StreamName',
      ].sort(),
    );
  });

  it('tags every taggable resource it declares with Application: streamtally', () => {
    for (const id of [
      'EventsStream',
      'OrdersTable',
      'CountersTable',
      'FailureQueue',
      'AnalyticsFunctionRole',
      'ReadApiFunctionRole',
    ]) {
      expect(resources[id].Properties.Tags, id).toContainEqual({ Key: 'Application', Value: 'streamtally' });
    }
    for (const id of ['AnalyticsFunction', 'ReadApiFunction']) {
      expect(resources[id].Properties.Tags, id).toContainEqual({ Key: 'Application', Value: 'streamtally' });
    }
  });
});

describe.skipIf(!hasMoto)('createLocalResources against moto_server', () => {
  const template = loadTemplate(TEMPLATE_PATH);
  let moto: LocalServer & { reset(): Promise<void> };
  let clients: AwsClients;

  beforeAll(async () => {
    moto = await startMoto();
    clients = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' });
  });
  afterAll(async () => {
    for (const c of Object.values(clients ?? {})) c.destroy();
    await moto?.stop();
  });

  it('creates the stream, tables and queue with the template settings, and again without change', async () => {
    // Act
    const warnings: string[] = [];
    const local = await createLocalResources(template, clients, { onWarning: (m) => warnings.push(m) });
    const again = await createLocalResources(template, clients, { onWarning: (m) => warnings.push(m) });

    // Assess: nothing missing on moto, and the second run reuses what the first created.
    expect(warnings).toEqual([]);
    expect(local.capabilities).toEqual({ dynamodbStreams: true, timeToLive: true });
    expect(again.streams.EventsStream.arn).toBe(local.streams.EventsStream.arn);
    expect(again.tables.OrdersTable.streamArn).toBe(local.tables.OrdersTable.streamArn);
    expect(again.queues.FailureQueue.url).toBe(local.queues.FailureQueue.url);

    // Stream: name and shard count from the template.
    const [streamSpec] = template.streams;
    expect(streamSpec.name).toBe(DEFAULT_LOCAL_NAMES.eventsStream);
    const summary = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamSpec.name }));
    expect(summary.StreamDescriptionSummary?.OpenShardCount).toBe(streamSpec.shardCount);
    expect(summary.StreamDescriptionSummary?.StreamModeDetails?.StreamMode).toBe(streamSpec.streamMode);
    const shards = await clients.kinesis.send(new ListShardsCommand({ StreamName: streamSpec.name }));
    expect(shards.Shards).toHaveLength(streamSpec.shardCount as number);

    // Tables: key schema, stream and TTL as declared.
    for (const spec of template.tables) {
      const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: spec.name }));
      expect(Table?.KeySchema).toEqual(spec.keySchema.map((k) => ({ AttributeName: k.name, KeyType: k.keyType })));
      const keys = [...spec.keySchema, ...spec.globalSecondaryIndexes.flatMap((index) => index.keySchema)];
      const definitions = [
        ...new Map(keys.map((k) => [k.name, { AttributeName: k.name, AttributeType: k.attributeType }])).values(),
      ];
      expect(Table?.AttributeDefinitions).toEqual(definitions);
      expect(
        Table?.GlobalSecondaryIndexes?.map((index) => ({
          name: index.IndexName,
          keys: index.KeySchema,
          projection: index.Projection,
        })) ?? [],
      ).toEqual(
        spec.globalSecondaryIndexes.map((index) => ({
          name: index.name,
          keys: index.keySchema.map((k) => ({ AttributeName: k.name, KeyType: k.keyType })),
          projection: {
            ProjectionType: index.projectionType,
            ...(index.projectionType === 'INCLUDE' ? { NonKeyAttributes: index.nonKeyAttributes } : {}),
          },
        })),
      );
      if (spec.streamViewType) {
        expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: spec.streamViewType });
        expect(local.tables[spec.logicalId].streamArn).toBe(Table?.LatestStreamArn);
      }
      const ttl = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: spec.name }));
      if (spec.ttlAttribute) {
        expect(ttl.TimeToLiveDescription).toMatchObject({
          AttributeName: spec.ttlAttribute,
          TimeToLiveStatus: 'ENABLED',
        });
      } else {
        expect(ttl.TimeToLiveDescription?.TimeToLiveStatus ?? 'DISABLED').toBe('DISABLED');
      }
    }
    expect(local.tables.CountersTable.name).toBe(DEFAULT_LOCAL_NAMES.countersTable);
    expect(local.tables.OrdersTable.name).toBe(DEFAULT_LOCAL_NAMES.ordersTable);

    // Queue: retention and SSE.
    const [queueSpec] = template.queues;
    const attrs = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: local.queues.FailureQueue.url, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes?.MessageRetentionPeriod).toBe(String(queueSpec.messageRetentionSeconds));
    expect(attrs.Attributes?.SqsManagedSseEnabled).toBe('true');
    expect(attrs.Attributes?.QueueArn).toBe(local.queues.FailureQueue.arn);
    expect(local.queues.FailureQueue.name).toBe(DEFAULT_LOCAL_NAMES.failureQueue);

    // The function's environment resolves to what was created.
    const analytics = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
    expect(local.environmentFor(analytics as NonNullable<typeof analytics>)).toMatchObject({
      COUNTERS_TABLE: DEFAULT_LOCAL_NAMES.countersTable,
      FAILURE_QUEUE_URL: local.queues.FailureQueue.url,
    });
    expect(local.resolve({ ref: 'OrdersTable', attribute: 'StreamArn' })).toBe(local.tables.OrdersTable.streamArn);
  });

  describe('with dynalite for DynamoDB (what `npm start` uses)', () => {
    let dynalite: LocalServer;
    let dynaliteClients: AwsClients;
    beforeAll(async () => {
      dynalite = await startDynalite();
      dynaliteClients = createAwsClients({ endpoint: dynalite.endpoint, region: 'us-east-1' });
    });
    afterAll(async () => {
      for (const c of Object.values(dynaliteClients ?? {})) c.destroy();
      await dynalite?.stop();
    });

    it('creates the tables anyway and reports the missing Streams and TTL once each', async () => {
      // Prepare
      const warnings: string[] = [];
      const mixed = { kinesis: clients.kinesis, sqs: clients.sqs, dynamodb: dynaliteClients.dynamodb };
      // Act
      const local = await createLocalResources(template, mixed, { onWarning: (m) => warnings.push(m) });
      // Assess
      expect(warnings).toHaveLength(2);
      expect(warnings.filter((w) => w.includes('no DynamoDB Streams'))).toHaveLength(1);
      expect(warnings.filter((w) => w.includes('no UpdateTimeToLive'))).toHaveLength(1);
      expect(local.warnings).toEqual(warnings);
      expect(local.capabilities).toEqual({ dynamodbStreams: false, timeToLive: false });
      expect(local.tables.OrdersTable.streamArn).toBeUndefined();
      expect(local.tables.CountersTable.ttlEnabled).toBe(false);
      const { Table } = await dynaliteClients.dynamodb.send(
        new DescribeTableCommand({ TableName: DEFAULT_LOCAL_NAMES.countersTable }),
      );
      expect(Table?.KeySchema?.map((k) => k.AttributeName)).toEqual(['pk', 'sk']);
      expect(() => local.resolve({ ref: 'OrdersTable', attribute: 'StreamArn' })).toThrow(/needs DynamoDB Streams/);
    });
  });
});
