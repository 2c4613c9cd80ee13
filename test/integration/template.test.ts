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
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '../../src/local/aws/aws-clients.js';
import { createLocalResources, DEFAULT_LOCAL_NAMES } from '../../src/local/aws/resources.js';
import { motoAvailable, startDynalite, startMoto, type LocalServer } from '../../src/local/aws/servers.js';
import { loadTemplate } from '../../src/local/template/template.js';
import { LEGACY_TOP_INDEX, WINDOW_INDEX } from '../../src/sink/layout.js';
import { counterItem, createCountersTable } from '../helpers/counters-table.js';

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

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * The translated template as CloudFormation would see it for one set of parameter values: conditions
 * evaluated, `Fn::If` chosen, `AWS::NoValue` dropped, resources and outputs whose condition is false removed,
 * and `Ref` of a parameter replaced by its value. References to resources stay as they are.
 */
function materialize(cfn: Json, given: Record<string, string>): Json {
  const values: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(cfn.Parameters as Json)) {
    const raw = name in given ? given[name] : p.Default;
    values[name] = p.Type === 'Number' ? Number(raw) : p.Type === 'CommaDelimitedList' ? String(raw).split(',') : raw;
  }
  const conditions = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    if (!conditions.has(name)) conditions.set(name, Boolean(walk(cfn.Conditions[name])));
    return conditions.get(name) as boolean;
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk).filter((v) => v !== NO_VALUE);
    if (!node || typeof node !== 'object') return node;
    const obj = node as Json;
    const [key] = Object.keys(obj);
    if (Object.keys(obj).length === 1) {
      const arg = obj[key];
      if (key === 'Ref' && arg === 'AWS::NoValue') return NO_VALUE;
      if (key === 'Ref' && arg in values) return values[arg];
      if (key === 'Condition' && typeof arg === 'string') return condition(arg);
      if (key === 'Fn::If') return walk(condition(arg[0]) ? arg[1] : arg[2]);
      if (key === 'Fn::Equals') return JSON.stringify(walk(arg[0])) === JSON.stringify(walk(arg[1]));
      if (key === 'Fn::Not') return !walk(arg[0]);
      if (key === 'Fn::And') return arg.every((c: unknown) => walk(c));
      if (key === 'Fn::Or') return arg.some((c: unknown) => walk(c));
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(obj)) {
      const w = walk(v);
      if (w !== NO_VALUE) out[k] = w;
    }
    return out;
  };
  const keep = (section: Json | undefined): Json =>
    Object.fromEntries(
      Object.entries(section ?? {})
        .filter(([, r]) => typeof r.Condition !== 'string' || condition(r.Condition))
        .map(([id, r]) => [id, walk(r)]),
    );
  return { ...cfn, Resources: keep(cfn.Resources), Outputs: keep(cfn.Outputs) };
}

function translate(params: Record<string, string> = {}): Json {
  const args = [resolve(ROOT, 'scripts/sam-translate.py'), TEMPLATE_PATH];
  for (const [k, v] of Object.entries(params)) args.push('--param', `${k}=${v}`);
  const run = spawnSync('python3', args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`sam-translate.py failed (${run.status}): ${run.stderr}`);
  return materialize(JSON.parse(run.stdout), params);
}

const ofType = (resources: Json, type: string): Array<[string, Json]> =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as Array<[string, Json]>;
const arnOf = (logicalId: string, attribute = 'Arn'): Json => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** action -> every resource it is granted on, per role; asserts Allow only and no managed policies. */
function grantsOf(resources: Json): Map<string, Map<string, unknown[]>> {
  const grants = new Map<string, Map<string, unknown[]>>();
  for (const [id, role] of ofType(resources, 'AWS::IAM::Role')) {
    expect(role.Properties.ManagedPolicyArns ?? [], id).toEqual([]);
    const byAction = new Map<string, unknown[]>();
    for (const policy of role.Properties.Policies) {
      for (const statement of policy.PolicyDocument.Statement) {
        expect(statement.Effect).toBe('Allow');
        const actions: string[] = [statement.Action].flat();
        const targets: unknown[] = [statement.Resource].flat();
        for (const action of actions) byAction.set(action, [...(byAction.get(action) ?? []), ...targets]);
      }
    }
    grants.set(id, byAction);
  }
  return grants;
}

/** X-Ray's write actions have no resource-level permissions: the only grants allowed on "*". */
const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const PUBLIC_ROUTES = ['GET /', 'GET /api/assets/{proxy+}', 'GET /api/auth-config', 'GET /favicon.ico'];
const KINESIS_READ = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
];
const DDB_STREAM_READ = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'];

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
  const typed = (type: string): Array<[string, Json]> => ofType(resources, type);

  beforeAll(() => {
    cfn = translate();
    resources = cfn.Resources;
  });

  it('produces plain CloudFormation', () => {
    expect(cfn.Transform).toBeUndefined();
    expect(typed('AWS::Serverless::Function')).toEqual([]);
    expect(
      typed('AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['AnalyticsFunction', 'ReadApiFunction']);
  });

  it('wires both event source mappings to the live alias, with every delivery setting', () => {
    const mappings = typed('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings).toHaveLength(2);
    const kinesis = mappings.find((m) => m.EventSourceArn['Fn::GetAtt'][0] === 'EventsStream');
    const dynamodb = mappings.find((m) => m.EventSourceArn['Fn::GetAtt'][0] === 'OrdersTable');
    expect(kinesis?.EventSourceArn).toEqual(arnOf('EventsStream'));
    expect(dynamodb?.EventSourceArn).toEqual(arnOf('OrdersTable', 'StreamArn'));
    expect(resources.AnalyticsFunctionAliaslive.Properties).toMatchObject({
      Name: 'live',
      FunctionName: { Ref: 'AnalyticsFunction' },
    });
    for (const m of [kinesis, dynamodb]) {
      // The alias, never the unqualified function ($LATEST): a canary shifts whole invocations.
      expect(m?.FunctionName).toEqual({ Ref: 'AnalyticsFunctionAliaslive' });
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
    // Only with WindowFlush true (default false) does the Kinesis source get a tumbling window (the
    // translation here resolves conditions with the parameters given).
    expect(kinesis).not.toHaveProperty('TumblingWindowInSeconds');
    expect(cfn.Parameters.WindowFlush.Default).toBe('false');
    const flushed = ofType(
      translate({ WindowFlush: 'true', FlushIntervalSeconds: '60' }).Resources,
      'AWS::Lambda::EventSourceMapping',
    )
      .map(([, r]) => r.Properties)
      .find((m) => m.EventSourceArn['Fn::GetAtt'][0] === 'EventsStream');
    expect(flushed?.TumblingWindowInSeconds).toBe(900);
    // ParallelizationFactor is a parameter that only allows 1 (in-order per shard).
    expect(cfn.Parameters.ParallelizationFactor.AllowedValues).toEqual([1]);
  });

  it('deploys both functions on nodejs22.x / arm64, traced, with their explicit roles and log groups', () => {
    for (const [id, fn] of typed('AWS::Lambda::Function')) {
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.Role, id).toEqual(arnOf(`${id}Role`));
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
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
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      // No SSM parameter by default: the bundled definitions.
      STREAMTALLY_CONFIG_SSM_PARAMETER: '',
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
      expect(resources[id].Properties.RetentionInDays).toBe(30);
  });

  it('reserves concurrency for the read function, and for the analytics function when asked to', () => {
    expect(resources.ReadApiFunction.Properties.ReservedConcurrentExecutions).toBe(5);
    // -1 (default): the analytics function uses the account pool; its concurrency is bounded by the shards anyway.
    expect(resources.AnalyticsFunction.Properties.ReservedConcurrentExecutions).toBeUndefined();
    const reserved = translate({ AnalyticsReservedConcurrency: '8', ReadApiReservedConcurrency: '3' }).Resources;
    expect(reserved.AnalyticsFunction.Properties.ReservedConcurrentExecutions).toBe(8);
    expect(reserved.ReadApiFunction.Properties.ReservedConcurrentExecutions).toBe(3);
    expect(cfn.Parameters.AnalyticsReservedConcurrency.Description).toMatch(
      /open Kinesis shards x ParallelizationFactor/,
    );
  });

  it('rolls out new versions through CodeDeploy with the error, not-durable and 5xx alarms as rollback triggers', () => {
    const groups = Object.fromEntries(
      typed('AWS::CodeDeploy::DeploymentGroup').map(([id, g]) => [id, g.Properties] as const),
    );
    expect(Object.keys(groups).sort()).toEqual(['AnalyticsFunctionDeploymentGroup', 'ReadApiFunctionDeploymentGroup']);
    const alarmsOf = (id: string): unknown[] => groups[id].AlarmConfiguration.Alarms.map((a: Json) => a.Name);
    expect(alarmsOf('AnalyticsFunctionDeploymentGroup')).toEqual([{ Ref: 'ErrorsAlarm' }, { Ref: 'NotDurableAlarm' }]);
    expect(alarmsOf('ReadApiFunctionDeploymentGroup')).toEqual([
      { Ref: 'ReadApiErrorsAlarm' },
      { Ref: 'ReadApi5xxAlarm' },
    ]);
    for (const g of Object.values(groups)) {
      expect(g.AlarmConfiguration.Enabled).toBe(true);
      expect(g.AutoRollbackConfiguration.Events).toContain('DEPLOYMENT_STOP_ON_ALARM');
      expect(g.ServiceRoleArn).toEqual(arnOf('CodeDeployRole'));
      expect(g.DeploymentConfigName['Fn::Sub'][1]).toEqual({ ConfigName: 'Canary10Percent5Minutes' });
    }
    for (const id of ['AnalyticsFunctionAliaslive', 'ReadApiFunctionAliaslive'])
      expect(resources[id].UpdatePolicy.CodeDeployLambdaAliasUpdate.DeploymentGroupName.Ref).toMatch(
        /DeploymentGroup$/,
      );
    // The deployment type is a parameter: linear and all-at-once too.
    for (const type of ['Linear10PercentEvery1Minute', 'AllAtOnce']) {
      const group = translate({ DeploymentType: type }).Resources.AnalyticsFunctionDeploymentGroup.Properties;
      expect(group.DeploymentConfigName['Fn::Sub'][1]).toEqual({ ConfigName: type });
    }
    // The not-durable alarm watches the handler's own metric (src/handlers/create-analytics-handler.ts).
    expect(resources.NotDurableAlarm.Properties).toMatchObject({
      Namespace: 'streamtally',
      MetricName: 'WriteFailures',
      Dimensions: [{ Name: 'service', Value: 'streamtally' }],
    });
  });

  it('grants least privilege: no "*" action, "*" resources only for X-Ray, no managed policies', () => {
    const grants = grantsOf(resources);
    expect([...grants.keys()].sort()).toEqual(['AnalyticsFunctionRole', 'CodeDeployRole', 'ReadApiFunctionRole']);
    for (const [role, byAction] of grants) {
      for (const [action, targets] of byAction) {
        expect(action, `${role}: ${action}`).not.toContain('*');
        if (XRAY_ACTIONS.includes(action)) expect(targets, `${role}: ${action}`).toEqual(['*']);
        else for (const target of targets) expect(JSON.stringify(target), `${role} ${action}`).not.toBe('"*"');
      }
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
    for (const action of KINESIS_READ) expect(analytics.get(action), action).toEqual([arnOf('EventsStream')]);
    for (const action of DDB_STREAM_READ)
      expect(analytics.get(action), action).toEqual([arnOf('OrdersTable', 'StreamArn')]);
    expect(analytics.get('dynamodb:ListStreams')).toEqual([{ 'Fn::Sub': '${OrdersTable.Arn}/stream/*' }]);
    expect(analytics.get('logs:PutLogEvents')).toEqual([arnOf('AnalyticsLogGroup')]);
    expect(analytics.has('cloudwatch:PutMetricData')).toBe(false);
    expect(analytics.has('dynamodb:DeleteItem')).toBe(false);
    expect(analytics.has('dynamodb:Scan')).toBe(false);
    expect(analytics.has('kms:Decrypt')).toBe(false);
    expect(analytics.has('ssm:GetParameter')).toBe(false);
    for (const action of XRAY_ACTIONS) expect(analytics.get(action)).toEqual(['*']);

    const readApi = grants.get('ReadApiFunctionRole') as Map<string, unknown[]>;
    // Series: Query on the table; a window's groups: Query on the keys-only index, BatchGetItem of the
    // values. Nothing else (no GetItem, no Scan), and no Query on the legacy byWindow index.
    expect([...readApi.keys()].filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
    ]);
    expect(readApi.get('dynamodb:BatchGetItem')).toEqual([arnOf('CountersTable')]);
    expect(readApi.get('dynamodb:Query')).toEqual([
      arnOf('CountersTable'),
      { 'Fn::Sub': `\${CountersTable.Arn}/index/${WINDOW_INDEX.name}` },
    ]);
    expect(readApi.has('dynamodb:Scan')).toBe(false);

    // CodeDeploy: alias shifts on these two functions, alarm states of the rollback alarms, nothing else.
    const codeDeploy = grants.get('CodeDeployRole') as Map<string, unknown[]>;
    expect([...codeDeploy.keys()].sort()).toEqual([
      'cloudwatch:DescribeAlarms',
      'lambda:GetAlias',
      'lambda:GetProvisionedConcurrencyConfig',
      'lambda:UpdateAlias',
    ]);
    expect(codeDeploy.get('cloudwatch:DescribeAlarms')).toEqual(
      ['ErrorsAlarm', 'NotDurableAlarm', 'ReadApiErrorsAlarm', 'ReadApi5xxAlarm'].map((a) => arnOf(a)),
    );
    expect(resources.CodeDeployRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'codedeploy.amazonaws.com',
    });
  });

  describe('the read API', () => {
    const routes = (res: Json): Record<string, Json> =>
      Object.fromEntries(ofType(res, 'AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, r.Properties]));

    it('puts the JWT authorizer on every data route; only the page, its assets and the sign-in settings are open', () => {
      const byKey = routes(resources);
      expect(Object.keys(byKey).sort()).toEqual([...PUBLIC_ROUTES, 'GET /api/{proxy+}'].sort());
      for (const [key, route] of Object.entries(byKey)) {
        expect(route.Target, key).toEqual({ 'Fn::Sub': 'integrations/${ReadApiIntegration}' });
        if (PUBLIC_ROUTES.includes(key)) {
          expect(route.AuthorizationType, key).toBe('NONE');
          expect(route.AuthorizerId, key).toBeUndefined();
        } else {
          expect(route.AuthorizationType, key).toBe('JWT');
          expect(route.AuthorizerId, key).toEqual({ Ref: 'ReadApiAuthorizer' });
        }
      }
      // No catch-all ($default) route that would bypass the authorizer.
      expect(Object.keys(byKey)).not.toContain('$default');
      expect(resources.ReadApiAuthorizer.Properties).toEqual({
        ApiId: { Ref: 'ReadApi' },
        Name: 'oidc-jwt',
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: arnOf('UserPool', 'ProviderURL'), Audience: [{ Ref: 'UserPoolClient' }] },
      });
      expect(cfn.Outputs.ReadApiIsPublic).toBeUndefined();
    });

    it('creates a Cognito user pool (admin-created users) and a public code + PKCE client for the dashboard', () => {
      expect(resources.UserPool.Properties.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
      expect(resources.UserPoolClient.Properties).toMatchObject({
        GenerateSecret: false,
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['code'],
        SupportedIdentityProviders: ['COGNITO'],
        CallbackURLs: [{ 'Fn::Sub': 'https://${ReadApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/' }],
      });
      expect(resources.UserPoolClient.Properties.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
      expect(resources.UserPoolDomain).toBeDefined();
      expect(resources.ReadApiFunction.Properties.Environment.Variables).toMatchObject({
        READ_API_AUTH: 'JWT',
        OIDC_ISSUER: arnOf('UserPool', 'ProviderURL'),
        OIDC_CLIENT_ID: { Ref: 'UserPoolClient' },
      });
      for (const id of ['UserPoolId', 'UserPoolClientId', 'SignInDomain']) expect(cfn.Outputs[id], id).toBeDefined();
    });

    it('uses an existing issuer and audience instead of Cognito when given', () => {
      const own = translate({
        OidcIssuer: 'https://login.example.com/',
        OidcAudience: 'streamtally-api,other-aud',
        OidcClientId: 'spa-client',
      });
      for (const id of ['UserPool', 'UserPoolClient', 'UserPoolDomain']) expect(own.Resources[id], id).toBeUndefined();
      expect(own.Resources.ReadApiAuthorizer.Properties.JwtConfiguration).toEqual({
        Issuer: 'https://login.example.com/',
        Audience: ['streamtally-api', 'other-aud'],
      });
      expect(routes(own.Resources)['GET /api/{proxy+}'].AuthorizationType).toBe('JWT');
      expect(own.Resources.ReadApiFunction.Properties.Environment.Variables).toMatchObject({
        OIDC_ISSUER: 'https://login.example.com/',
        OIDC_CLIENT_ID: 'spa-client',
      });
      expect(own.Outputs.UserPoolId).toBeUndefined();
    });

    it('ReadApiAuth=NONE opens the data route explicitly and emits a warning output', () => {
      const open = translate({ ReadApiAuth: 'NONE' });
      expect(open.Resources.ReadApiAuthorizer).toBeUndefined();
      expect(open.Resources.UserPool).toBeUndefined();
      expect(routes(open.Resources)['GET /api/{proxy+}'].AuthorizationType).toBe('NONE');
      expect(open.Outputs.ReadApiIsPublic.Description).toBe('WARNING');
      expect(open.Outputs.ReadApiIsPublic.Value).toMatch(/anyone with ApiUrl can read every counter/);
    });

    it('throttles the stage, logs access, integrates the live alias and allows only this API to invoke it', () => {
      const stage = resources.ReadApiStage.Properties;
      expect(stage.StageName).toBe('$default');
      expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
      expect(stage.AccessLogSettings.DestinationArn).toEqual(arnOf('ReadApiAccessLogGroup'));
      expect(resources.ReadApiIntegration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { Ref: 'ReadApiFunctionAliaslive' },
        PayloadFormatVersion: '2.0',
      });
      const permissions = typed('AWS::Lambda::Permission').map(([, p]) => p.Properties);
      expect(permissions).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { Ref: 'ReadApiFunctionAliaslive' },
          Principal: 'apigateway.amazonaws.com',
          SourceArn: { 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ReadApi}/*' },
        },
      ]);
    });

    it('has no CORS unless origins are given', () => {
      expect(resources.ReadApi.Properties.CorsConfiguration).toBeUndefined();
      const cors = translate({ CorsAllowedOrigins: 'https://a.example,https://b.example' }).Resources.ReadApi
        .Properties;
      expect(cors.CorsConfiguration).toEqual({
        AllowOrigins: { 'Fn::Split': [',', 'https://a.example,https://b.example'] },
        AllowMethods: ['GET'],
        AllowHeaders: ['authorization'],
        MaxAge: 600,
      });
    });
  });

  describe('bring your own sources', () => {
    const KINESIS_ARN = 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks';
    const TABLE_STREAM_ARN = 'arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/2026-01-01T00:00:00.000';
    const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff';
    let own: Json;
    beforeAll(() => {
      own = translate({
        ExistingKinesisStreamArn: KINESIS_ARN,
        ExistingTableStreamArn: TABLE_STREAM_ARN,
        SourceKmsKeyArn: KEY_ARN,
      });
    });

    it('creates no demo stream or table, and maps exactly the given ARNs', () => {
      expect(own.Resources.EventsStream).toBeUndefined();
      expect(own.Resources.OrdersTable).toBeUndefined();
      expect(resources.EventsStream.Condition).toBe('CreateEventsStream');
      expect(resources.OrdersTable.Condition).toBe('CreateOrdersTable');
      const arns = ofType(own.Resources, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties.EventSourceArn);
      expect(arns.sort()).toEqual([KINESIS_ARN, TABLE_STREAM_ARN].sort());
      expect(own.Outputs.StreamArn.Value).toBe(KINESIS_ARN);
      expect(own.Outputs.OrdersTableName).toBeUndefined();
      expect(JSON.stringify(own.Resources)).not.toMatch(/"EventsStream"|"OrdersTable"/);
    });

    it('grants read on exactly those ARNs, and kms:Decrypt on exactly the given key', () => {
      const analytics = grantsOf(own.Resources).get('AnalyticsFunctionRole') as Map<string, unknown[]>;
      for (const action of KINESIS_READ) expect(analytics.get(action), action).toEqual([KINESIS_ARN]);
      for (const action of DDB_STREAM_READ) expect(analytics.get(action), action).toEqual([TABLE_STREAM_ARN]);
      expect(analytics.get('dynamodb:ListStreams')).toEqual([
        { 'Fn::Join': ['', [{ 'Fn::Select': [0, { 'Fn::Split': ['/stream/', TABLE_STREAM_ARN] }] }, '/stream/*']] },
      ]);
      expect(analytics.get('kms:Decrypt')).toEqual([KEY_ARN]);
    });

    it('rejects malformed ARNs through the parameters AllowedPattern', () => {
      const pattern = new RegExp(cfn.Parameters.ExistingKinesisStreamArn.AllowedPattern);
      expect(pattern.test(KINESIS_ARN)).toBe(true);
      expect(pattern.test('')).toBe(true);
      expect(pattern.test('clicks')).toBe(false);
      expect(new RegExp(cfn.Parameters.ExistingTableStreamArn.AllowedPattern).test(TABLE_STREAM_ARN)).toBe(true);
      expect(new RegExp(cfn.Parameters.SourceKmsKeyArn.AllowedPattern).test(KEY_ARN)).toBe(true);
    });
  });

  it('stores MetricDefinitions in one SSM parameter that both functions may read, and nothing else', () => {
    const defs = translate({ MetricDefinitions: '{"metrics":[]}', MetricDefinitionsRevision: '2' });
    const name = { 'Fn::Sub': '/streamtally/${Stage}/metric-definitions' };
    expect(defs.Resources.MetricDefinitionsParameter.Properties).toMatchObject({
      Name: name,
      Type: 'String',
      Value: '{"metrics":[]}',
    });
    expect(resources.MetricDefinitionsParameter).toBeUndefined();
    const grants = grantsOf(defs.Resources);
    const arn = {
      'Fn::Sub':
        'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/streamtally/${Stage}/metric-definitions',
    };
    for (const role of ['AnalyticsFunctionRole', 'ReadApiFunctionRole']) {
      expect(grants.get(role)?.get('ssm:GetParameter'), role).toEqual([arn]);
      const env = defs.Resources[role.replace(/Role$/, '')].Properties.Environment.Variables;
      expect(env.STREAMTALLY_CONFIG_SSM_PARAMETER, role).toEqual(name);
      expect(env.STREAMTALLY_CONFIG_REVISION, role).toBe('2');
    }
  });

  it('KeepLegacyTopIndex=true keeps the old byWindow index beside the new one for one deploy, and reads it', () => {
    // Prepare / Act: the upgrade deploy of a stack created before byWindowKeys.
    const upgrade = translate({ KeepLegacyTopIndex: 'true' }).Resources;

    // Assess: one index more than the default (DynamoDB adds or drops one per update), c defined for it,
    // and the reader on the complete old index (plus Query on both) while the new one is backfilled.
    const counters = upgrade.CountersTable.Properties;
    expect(counters.GlobalSecondaryIndexes.map((i: Json) => i.IndexName)).toEqual([
      WINDOW_INDEX.name,
      LEGACY_TOP_INDEX,
    ]);
    expect(counters.GlobalSecondaryIndexes[1]).toEqual({
      IndexName: LEGACY_TOP_INDEX,
      KeySchema: [
        { AttributeName: 'g', KeyType: 'HASH' },
        { AttributeName: 'c', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['d', 's'] },
    });
    expect(counters.AttributeDefinitions).toContainEqual({ AttributeName: 'c', AttributeType: 'N' });
    expect(upgrade.ReadApiFunction.Properties.Environment.Variables.COUNTERS_WINDOW_INDEX).toBe(LEGACY_TOP_INDEX);
    expect(grantsOf(upgrade).get('ReadApiFunctionRole')?.get('dynamodb:Query')).toEqual([
      arnOf('CountersTable'),
      { 'Fn::Sub': `\${CountersTable.Arn}/index/${WINDOW_INDEX.name}` },
      { 'Fn::Sub': `\${CountersTable.Arn}/index/${LEGACY_TOP_INDEX}` },
    ]);
  });

  it('has the tables, queue, alarms and dashboard the design asks for', () => {
    const counters = resources.CountersTable.Properties;
    expect(counters.BillingMode).toBe('PAY_PER_REQUEST');
    expect(counters.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(counters.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // The sparse GSI behind CounterReader top/rollup/levels, as layout.ts describes it: g = <metric>#<window>#
    // <start>, no sort key, KEYS_ONLY, so nothing a counter update changes is in the index.
    expect(counters.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'g', AttributeType: 'S' },
    ]);
    expect(counters.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: WINDOW_INDEX.name,
        KeySchema: [{ AttributeName: WINDOW_INDEX.partitionKey, KeyType: 'HASH' }],
        Projection: { ProjectionType: WINDOW_INDEX.projection },
      },
    ]);
    const readEnv = resources.ReadApiFunction.Properties.Environment.Variables;
    expect(readEnv.COUNTERS_WINDOW_INDEX).toBe(WINDOW_INDEX.name);
    expect(resources.OrdersTable.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(resources.FailureQueue.Properties).toMatchObject({
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });

    const alarms = typed('AWS::CloudWatch::Alarm');
    const byId = Object.fromEntries(alarms);
    const byMetric = new Map(
      alarms
        .filter(([, a]) => a.Properties.MetricName)
        .map(([, a]) => [`${a.Properties.Namespace}/${a.Properties.MetricName}`, a.Properties]),
    );
    expect([...byMetric.keys()].sort()).toEqual([
      'AWS/ApiGateway/5xx',
      'AWS/Lambda/Errors',
      'AWS/Lambda/IteratorAge',
      'AWS/Lambda/Throttles',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'streamtally/WriteConflicts',
      'streamtally/WriteFailures',
    ]);
    expect(byMetric.get('AWS/Lambda/IteratorAge')).toMatchObject({
      Threshold: 60000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byMetric.get('AWS/SQS/ApproximateNumberOfMessagesVisible')).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byMetric.get('AWS/ApiGateway/5xx')?.Dimensions).toEqual([
      { Name: 'ApiId', Value: { Ref: 'ReadApi' } },
      { Name: 'Stage', Value: '$default' },
    ]);
    // Counter-table throttling: reads + writes of the counters table.
    const throttled = byId.CountersThrottleAlarm.Properties.Metrics as Json[];
    expect(
      throttled
        .map((m) => m.MetricStat?.Metric.MetricName)
        .filter(Boolean)
        .sort(),
    ).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
    for (const m of throttled.filter((x) => x.MetricStat))
      expect(m.MetricStat.Metric.Dimensions).toEqual([{ Name: 'TableName', Value: { Ref: 'CountersTable' } }]);
    expect(resources.AlarmTopic).toBeUndefined(); // HasAlarmEmail is false by default

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
        'SignInDomain',
        'StreamArn',
        'StreamName',
        'UserPoolClientId',
        'UserPoolId',
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
      'CodeDeployRole',
    ]) {
      expect(resources[id].Properties.Tags, id).toContainEqual({ Key: 'Application', Value: 'streamtally' });
    }
    for (const id of ['AnalyticsFunction', 'ReadApiFunction']) {
      expect(resources[id].Properties.Tags, id).toContainEqual({ Key: 'Application', Value: 'streamtally' });
    }
    expect(resources.ReadApi.Properties.Tags).toMatchObject({ Application: 'streamtally' });
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

  it('adds byWindowKeys to a counters table kept from before it (an old --data-dir), and reads through it', async () => {
    // Prepare: a fresh server with the counters table as the previous layout created it (byWindow only).
    await moto.reset();
    await createCountersTable(clients.dynamodb, DEFAULT_LOCAL_NAMES.countersTable, 'legacy');
    const old = counterItem({ metric: 'm', dimensionNames: ['k'], dims: ['a'], window: '1m', startMs: 0, count: 3 });
    await clients.dynamodb.send(new PutItemCommand({ TableName: DEFAULT_LOCAL_NAMES.countersTable, Item: old }));

    // Act
    const warnings: string[] = [];
    await createLocalResources(template, clients, { onWarning: (m) => warnings.push(m) });

    // Assess: the new index exists and is ACTIVE, the old one is left, the warning names what was added,
    // and the item written before the index existed is listed by it (DynamoDB backfills a new GSI).
    const { Table } = await clients.dynamodb.send(
      new DescribeTableCommand({ TableName: DEFAULT_LOCAL_NAMES.countersTable }),
    );
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.IndexStatus]).sort()).toEqual([
      [LEGACY_TOP_INDEX, 'ACTIVE'],
      [WINDOW_INDEX.name, 'ACTIVE'],
    ]);
    expect(warnings).toEqual([expect.stringContaining(`${DEFAULT_LOCAL_NAMES.countersTable}/${WINDOW_INDEX.name}`)]);
    const listed = await clients.dynamodb.send(
      new QueryCommand({
        TableName: DEFAULT_LOCAL_NAMES.countersTable,
        IndexName: WINDOW_INDEX.name,
        KeyConditionExpression: 'g = :g',
        ExpressionAttributeValues: { ':g': old.g },
      }),
    );
    expect(listed.Items?.map((i) => i.pk.S)).toEqual([old.pk.S]);
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
