import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DEFAULT_TEMPLATE_PATH,
  TemplateError,
  loadTemplate,
  parseCloudFormationYaml,
  parseTemplate,
  type StreamEventSourceSpec,
} from '../../../../src/local/template/template.js';
import { DEFAULT_LOCAL_NAMES } from '../../../../src/local/aws/resources.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TEMPLATE_PATH = resolve(ROOT, 'template.yaml');

/**
 * An independent reading of template.yaml: the `yaml` package without CloudFormation tags, so
 * `!Ref BatchSize` reads as the plain string 'BatchSize'. Expectations come from here (or from the
 * parameter defaults it names), never from a second copy of the values.
 */
type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const raw: Raw = parse(readFileSync(TEMPLATE_PATH, 'utf8'), { logLevel: 'silent' });
const params: Raw = raw.Parameters;
const defaultOf = (name: string): unknown => {
  const p = params[name];
  if (p.Type === 'CommaDelimitedList') return String(p.Default).split(',');
  return p.Type === 'Number' ? Number(p.Default) : p.Default;
};
/**
 * A raw property value: a parameter name (from `!Ref Param`) becomes that parameter's default, and a
 * `!FindInMap [Map, !Ref Param, Key]` (read untagged as a list) becomes the mapping's entry for it.
 */
const expectedValue = (value: unknown): unknown => {
  if (Array.isArray(value) && value.length === 3 && typeof value[0] === 'string' && value[0] in (raw.Mappings ?? {}))
    return raw.Mappings[value[0]][String(expectedValue(value[1]))][String(value[2])];
  // `!If [Cond, a, b]` where Cond is `!Equals [!Ref Param, literal]`.
  if (
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'string' &&
    value[0] in (raw.Conditions ?? {})
  ) {
    const [left, right] = raw.Conditions[value[0]] as [unknown, unknown];
    const chosen = String(expectedValue(left)) === String(expectedValue(right)) ? value[1] : value[2];
    return chosen === 'AWS::NoValue' ? undefined : expectedValue(chosen);
  }
  return typeof value === 'string' && value in params ? defaultOf(value) : value;
};
const stage = String(defaultOf('Stage'));

describe('loadTemplate on the real template.yaml', () => {
  // Prepare / Act once: every case reads the same model.
  const template = loadTemplate(TEMPLATE_PATH);

  it('finds the default template path at the repository root', () => {
    expect(DEFAULT_TEMPLATE_PATH).toBe(TEMPLATE_PATH);
  });

  it('resolves parameter defaults with their types', () => {
    for (const [name, p] of Object.entries(params)) {
      expect(template.parameters[name].value, name).toEqual(defaultOf(name));
      expect(template.parameters[name].type, name).toBe(p.Type);
    }
    expect(template.parameters.ParallelizationFactor.allowedValues).toEqual(params.ParallelizationFactor.AllowedValues);
  });

  it('reads the Kinesis stream with its name, mode, shard count, retention and tags', () => {
    const rawStream = raw.Resources.EventsStream.Properties;
    expect(template.streams).toHaveLength(1);
    const [stream] = template.streams;
    expect(stream.logicalId).toBe('EventsStream');
    expect(stream.name).toBe(rawStream.Name.replace('${Stage}', stage));
    expect(stream.streamMode).toBe(defaultOf('StreamMode'));
    expect(stream.shardCount).toBe(defaultOf('ShardCount'));
    expect(stream.retentionHours).toBe(defaultOf('RetentionHours'));
    expect(stream.tags.Application).toBe('streamtally');
  });

  it('reads both tables: key schema with attribute types, stream view, TTL attribute, PITR', () => {
    expect(template.tables.map((t) => t.logicalId).sort()).toEqual(['CountersTable', 'OrdersTable']);
    for (const table of template.tables) {
      const p = raw.Resources[table.logicalId].Properties;
      const definitions = expectedValue(p.AttributeDefinitions) as Raw[]; // CountersTable's is an !If
      const types = new Map(definitions.map((d: Raw) => [d.AttributeName, d.AttributeType]));
      expect(table.name).toBe(p.TableName.replace('${Stage}', stage));
      expect(table.keySchema).toEqual(
        p.KeySchema.map((k: Raw) => ({
          name: k.AttributeName,
          keyType: k.KeyType,
          attributeType: types.get(k.AttributeName),
        })),
      );
      expect(table.billingMode).toBe(p.BillingMode);
      expect(table.streamViewType).toBe(p.StreamSpecification?.StreamViewType);
      expect(table.ttlAttribute).toBe(
        p.TimeToLiveSpecification?.Enabled ? p.TimeToLiveSpecification.AttributeName : undefined,
      );
      expect(table.pointInTimeRecovery).toBe(p.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled === true);
    }
    const counters = template.tables.find((t) => t.logicalId === 'CountersTable');
    expect(counters?.keySchema.map((k) => `${k.name}:${k.keyType}:${k.attributeType}`)).toEqual([
      'pk:HASH:S',
      'sk:RANGE:S',
    ]);
    expect(counters?.ttlAttribute).toBe('ttl');
    expect(counters?.globalSecondaryIndexes).toEqual([
      {
        name: 'byWindowKeys',
        keySchema: [{ name: 'g', keyType: 'HASH', attributeType: 'S' }],
        projectionType: 'KEYS_ONLY',
        nonKeyAttributes: [],
      },
    ]);
    // The upgrade setting adds the legacy index (and its `c` definition) through Fn::If in both lists.
    const upgrade = loadTemplate(TEMPLATE_PATH, { parameterOverrides: { KeepLegacyTopIndex: 'true' } });
    expect(upgrade.tables.find((t) => t.logicalId === 'CountersTable')?.globalSecondaryIndexes[1]).toEqual({
      name: 'byWindow',
      keySchema: [
        { name: 'g', keyType: 'HASH', attributeType: 'S' },
        { name: 'c', keyType: 'RANGE', attributeType: 'N' },
      ],
      projectionType: 'INCLUDE',
      nonKeyAttributes: ['d', 's'],
    });
    expect(template.tables.find((t) => t.logicalId === 'OrdersTable')?.globalSecondaryIndexes).toEqual([]);
    expect(template.tables.find((t) => t.logicalId === 'OrdersTable')?.streamViewType).toBe('NEW_AND_OLD_IMAGES');
  });

  it('reads the failure queue with retention and SSE', () => {
    const p = raw.Resources.FailureQueue.Properties;
    expect(template.queues).toHaveLength(1);
    const [queue] = template.queues;
    expect(queue.name).toBe(p.QueueName.replace('${Stage}', stage));
    expect(queue.messageRetentionSeconds).toBe(p.MessageRetentionPeriod);
    expect(queue.messageRetentionSeconds).toBe(14 * 24 * 3600);
    expect(queue.sqsManagedSse).toBe(true);
    expect(queue.fifo).toBe(false);
  });

  it('resolves the default physical names that DEFAULT_LOCAL_NAMES promises', () => {
    expect(template.physicalName('EventsStream')).toBe(DEFAULT_LOCAL_NAMES.eventsStream);
    expect(template.physicalName('OrdersTable')).toBe(DEFAULT_LOCAL_NAMES.ordersTable);
    expect(template.physicalName('CountersTable')).toBe(DEFAULT_LOCAL_NAMES.countersTable);
    expect(template.physicalName('FailureQueue')).toBe(DEFAULT_LOCAL_NAMES.failureQueue);
    expect(() => template.physicalName('AnalyticsFunction')).toThrow(TemplateError);
  });

  it('reads each function: handler, entry point, runtime, architecture, memory, timeout (Globals merged)', () => {
    const globals = raw.Globals.Function;
    expect(template.functions.map((f) => f.logicalId).sort()).toEqual(['AnalyticsFunction', 'ReadApiFunction']);
    for (const fn of template.functions) {
      const resource = raw.Resources[fn.logicalId];
      const p = resource.Properties;
      expect(fn.handler).toBe(p.Handler);
      expect(fn.handlerExport).toBe(p.Handler.split('.').pop());
      expect(fn.entryPoint).toBe(resolve(ROOT, p.CodeUri, resource.Metadata.BuildProperties.EntryPoints[0]));
      expect(fn.runtime).toBe(p.Runtime ?? globals.Runtime);
      expect(fn.architectures).toEqual(p.Architectures ?? globals.Architectures);
      expect(fn.memorySizeMb).toBe(p.MemorySize ?? globals.MemorySize);
      expect(fn.timeoutSeconds).toBe(p.Timeout ?? globals.Timeout);
    }
    const analytics = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
    expect(analytics?.entryPoint).toBe(resolve(ROOT, 'src/handlers/analytics.ts'));
    expect(analytics?.runtime).toBe('nodejs22.x');
    expect(analytics?.architectures).toEqual(['arm64']);
  });

  it('keeps resource references in the environment and resolves parameters and literals', () => {
    const analytics = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
    const vars = raw.Resources.AnalyticsFunction.Properties.Environment.Variables;
    expect(Object.keys(analytics?.environment ?? {}).sort()).toEqual(Object.keys(vars).sort());
    expect(analytics?.environment.COUNTERS_TABLE).toEqual({ ref: 'CountersTable' });
    expect(analytics?.environment.FAILURE_QUEUE_URL).toEqual({ ref: 'FailureQueue' });
    expect(analytics?.environment.POWERTOOLS_LOG_LEVEL).toBe(defaultOf('LogLevel'));
    expect(analytics?.environment.POWERTOOLS_SERVICE_NAME).toBe(vars.POWERTOOLS_SERVICE_NAME);
    expect(analytics?.environment.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('reads every stream event source setting as the template spells it', () => {
    const analytics = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
    const events: Raw = raw.Resources.AnalyticsFunction.Properties.Events;
    expect(analytics?.streamEventSources.map((s) => s.name).sort()).toEqual(Object.keys(events).sort());
    for (const source of analytics?.streamEventSources ?? []) {
      const e = events[source.name];
      const p = e.Properties;
      expect(source.type).toBe(String(e.Type).toLowerCase());
      // `!If [CreateX, !GetAtt X.Arn, !Ref ExistingArn]` reads here as a plain list: its second item.
      const stream = Array.isArray(p.Stream) ? p.Stream[1] : p.Stream;
      expect(source.sourceLogicalId).toBe(String(stream).split('.')[0]);
      expect(source.sourceArn).toBeUndefined();
      const pairs: Array<[keyof StreamEventSourceSpec, string]> = [
        ['batchSize', 'BatchSize'],
        ['maximumBatchingWindowSeconds', 'MaximumBatchingWindowInSeconds'],
        ['startingPosition', 'StartingPosition'],
        ['parallelizationFactor', 'ParallelizationFactor'],
        ['bisectBatchOnFunctionError', 'BisectBatchOnFunctionError'],
        ['maximumRetryAttempts', 'MaximumRetryAttempts'],
        ['maximumRecordAgeSeconds', 'MaximumRecordAgeInSeconds'],
        ['tumblingWindowSeconds', 'TumblingWindowInSeconds'],
        ['enabled', 'Enabled'],
      ];
      for (const [key, prop] of pairs) expect(source[key], `${source.name}.${prop}`).toEqual(expectedValue(p[prop]));
      expect(source.functionResponseTypes).toEqual(p.FunctionResponseTypes);
      expect(source.onFailureLogicalId).toBe(String(p.DestinationConfig.OnFailure.Destination).split('.')[0]);
    }
  });

  it('has the delivery settings the exact counters rely on', () => {
    const sources = template.functions.find((f) => f.logicalId === 'AnalyticsFunction')?.streamEventSources ?? [];
    const kinesis = sources.find((s) => s.type === 'kinesis');
    const dynamodb = sources.find((s) => s.type === 'dynamodb');
    expect(kinesis?.sourceLogicalId).toBe('EventsStream');
    expect(dynamodb?.sourceLogicalId).toBe('OrdersTable');
    for (const s of [kinesis, dynamodb]) {
      expect(s?.parallelizationFactor).toBe(1);
      expect(s?.bisectBatchOnFunctionError).toBe(true);
      expect(s?.reportBatchItemFailures).toBe(true);
      expect(s?.onFailureLogicalId).toBe('FailureQueue');
      expect(s?.maximumRetryAttempts).toBeGreaterThanOrEqual(0);
      expect(s?.maximumRecordAgeSeconds).toBeGreaterThan(0);
    }
    // DynamoDB Streams records carry no shard id; only tumbling-window invocations pass `shardId`.
    expect(dynamodb?.tumblingWindowSeconds).toBeGreaterThan(0);
    expect(kinesis?.tumblingWindowSeconds).toBeUndefined();
    // Records age out of the failure queue's replay range unless Lambda gives up well within retention.
    expect((kinesis?.maximumRecordAgeSeconds ?? 0) / 3600).toBeLessThan(Number(defaultOf('RetentionHours')));
  });

  it('reads the read API function with its HTTP routes and no stream sources', () => {
    const api = template.functions.find((f) => f.logicalId === 'ReadApiFunction');
    expect(api?.streamEventSources).toEqual([]);
    // The routes are AWS::ApiGatewayV2::Route resources whose integration invokes the function's alias.
    const routeIds = Object.keys(raw.Resources).filter((id) => raw.Resources[id].Type === 'AWS::ApiGatewayV2::Route');
    expect(api?.httpEvents.map((e) => e.name).sort()).toEqual(routeIds.sort());
    expect(Object.fromEntries(api?.httpEvents.map((e) => [`${e.method} ${e.path}`, e.authorization]) ?? [])).toEqual({
      'GET /': 'NONE',
      'GET /api/assets/{proxy+}': 'NONE',
      'GET /favicon.ico': 'NONE',
      'GET /api/auth-config': 'NONE',
      'GET /api/{proxy+}': 'JWT',
    });
    expect(api?.environment.COUNTERS_TABLE).toEqual({ ref: 'CountersTable' });
  });
});

describe('parameter overrides', () => {
  it('renames resources by Stage and applies ShardCount', () => {
    const template = loadTemplate(TEMPLATE_PATH, { parameterOverrides: { Stage: 'prod', ShardCount: 4 } });
    expect(template.streams[0]).toMatchObject({ name: 'streamtally-prod-events', shardCount: 4 });
    expect(template.tables.map((t) => t.name).sort()).toEqual(['streamtally-prod-counters', 'streamtally-prod-orders']);
  });

  it('drops ShardCount in ON_DEMAND mode through !If / AWS::NoValue', () => {
    const template = loadTemplate(TEMPLATE_PATH, { parameterOverrides: { StreamMode: 'ON_DEMAND' } });
    expect(template.streams[0]).toMatchObject({ streamMode: 'ON_DEMAND', shardCount: undefined });
  });

  it('with ReadApiAuth=NONE, the data route needs no token', () => {
    const template = loadTemplate(TEMPLATE_PATH, { parameterOverrides: { ReadApiAuth: 'NONE' } });
    const api = template.functions.find((f) => f.logicalId === 'ReadApiFunction');
    expect(api?.httpEvents.find((e) => e.path === '/api/{proxy+}')?.authorization).toBe('NONE');
  });

  it('creates no demo stream or table for existing stream ARNs, and reads those ARNs instead', () => {
    // Prepare
    const kinesisArn = 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks';
    const tableStreamArn = 'arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/2026-01-01T00:00:00.000';
    // Act
    const template = loadTemplate(TEMPLATE_PATH, {
      parameterOverrides: { ExistingKinesisStreamArn: kinesisArn, ExistingTableStreamArn: tableStreamArn },
    });
    // Assess
    expect(template.streams).toEqual([]);
    expect(template.tables.map((t) => t.logicalId)).toEqual(['CountersTable']);
    const analytics = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
    expect(
      analytics?.streamEventSources.map((s) => ({ type: s.type, id: s.sourceLogicalId, arn: s.sourceArn })),
    ).toEqual([
      { type: 'kinesis', id: '', arn: kinesisArn },
      { type: 'dynamodb', id: '', arn: tableStreamArn },
    ]);
  });

  it('rejects values outside AllowedValues and undeclared parameters', () => {
    expect(() => loadTemplate(TEMPLATE_PATH, { parameterOverrides: { ParallelizationFactor: 2 } })).toThrow(
      /ParallelizationFactor = 2 is not one of its AllowedValues/,
    );
    expect(() => loadTemplate(TEMPLATE_PATH, { parameterOverrides: { Shards: 3 } })).toThrow(
      /"Shards" is not declared/,
    );
  });

  it('reports a missing template file with what to do', () => {
    expect(() => loadTemplate('/nonexistent/template.yaml')).toThrow(/Cannot read the SAM template/);
  });
});

describe('parseCloudFormationYaml short-form tags', () => {
  it('turns every short form into its long JSON form, nested included', () => {
    // Prepare
    const text = [
      'A: !Ref Param',
      'B: !GetAtt Table.StreamArn',
      'C: !GetAtt [Queue, Arn]',
      "D: !Sub 'x-${Stage}'",
      'E: !Sub ["${A}-${B}", {A: !Ref X, B: y}]',
      'F: !If [Cond, !Ref AWS::NoValue, 1]',
      "G: !Not [!Equals [!Ref P, '']]",
      'H: !Select [1, !Split [",", "a,b"]]',
      'I: !Join ["-", [a, !Ref B]]',
      'J: !FindInMap [M, k1, k2]',
      'K: !Base64 hello',
      'L: !And [!Condition C1, !Or [!Condition C2, !Condition C3]]',
      'M: !ImportValue other-stack-output',
      'N: !GetAZs ""',
    ].join('\n');
    // Act
    const doc = parseCloudFormationYaml(text);
    // Assess
    expect(doc).toEqual({
      A: { Ref: 'Param' },
      B: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
      C: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      D: { 'Fn::Sub': 'x-${Stage}' },
      E: { 'Fn::Sub': ['${A}-${B}', { A: { Ref: 'X' }, B: 'y' }] },
      F: { 'Fn::If': ['Cond', { Ref: 'AWS::NoValue' }, 1] },
      G: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'P' }, ''] }] },
      H: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b'] }] },
      I: { 'Fn::Join': ['-', ['a', { Ref: 'B' }]] },
      J: { 'Fn::FindInMap': ['M', 'k1', 'k2'] },
      K: { 'Fn::Base64': 'hello' },
      L: { 'Fn::And': [{ Condition: 'C1' }, { 'Fn::Or': [{ Condition: 'C2' }, { Condition: 'C3' }] }] },
      M: { 'Fn::ImportValue': 'other-stack-output' },
      N: { 'Fn::GetAZs': '' },
    });
  });

  it('rejects a document that is not a mapping', () => {
    expect(() => parseCloudFormationYaml('- a\n- b\n')).toThrow(TemplateError);
  });
});

describe('parseTemplate on synthetic templates', () => {
  const base = (resources: string, extra = ''): string =>
    [
      'Parameters:',
      '  Env: {Type: String, Default: qa}',
      '  Shards: {Type: Number, Default: 3}',
      '  Names: {Type: CommaDelimitedList, Default: "one,two,three"}',
      'Mappings:',
      '  Sizes: {qa: {batch: 25}}',
      'Conditions:',
      '  IsQa: !Equals [!Ref Env, qa]',
      '  IsProd: !Equals [!Ref Env, prod]',
      extra,
      'Resources:',
      resources,
    ].join('\n');

  it('evaluates !Select, !Join, !FindInMap, !If and resource Conditions', () => {
    const text = base(
      [
        '  S:',
        '    Type: AWS::Kinesis::Stream',
        '    Properties:',
        '      Name: !Join ["-", [!Select [1, !Ref Names], !Ref Env]]',
        '      ShardCount: !If [IsQa, !Ref Shards, 9]',
        '  ProdOnly:',
        '    Type: AWS::SQS::Queue',
        '    Condition: IsProd',
        '    Properties: {QueueName: prod-only}',
        '  Q:',
        '    Type: AWS::SQS::Queue',
        '    Properties: {QueueName: !Sub "${Env}-q.fifo", FifoQueue: true, VisibilityTimeout: 30}',
        '  F:',
        '    Type: AWS::Serverless::Function',
        '    Properties:',
        '      Handler: lib/main.run',
        '      CodeUri: app/',
        '      Environment: {Variables: {QUEUE: !Ref Q, STREAM_ARN: !GetAtt S.Arn, N: !FindInMap [Sizes, !Ref Env, batch]}}',
        '      Events:',
        '        K:',
        '          Type: Kinesis',
        '          Properties: {Stream: !GetAtt S.Arn, StartingPosition: LATEST}',
      ].join('\n'),
    );
    const t = parseTemplate(text, { baseDir: '/srv/project' });
    expect(t.streams[0]).toMatchObject({
      name: 'two-qa',
      shardCount: 3,
      streamMode: 'PROVISIONED',
      retentionHours: 24,
    });
    expect(t.queues.map((q) => q.name)).toEqual(['qa-q.fifo']);
    expect(t.queues[0]).toMatchObject({ fifo: true, visibilityTimeoutSeconds: 30, sqsManagedSse: false });
    const fn = t.functions[0];
    expect(fn).toMatchObject({
      handler: 'lib/main.run',
      handlerExport: 'run',
      entryPoint: '/srv/project/app/lib/main.ts',
      memorySizeMb: 128,
      timeoutSeconds: 3,
    });
    expect(fn.environment).toEqual({ QUEUE: { ref: 'Q' }, STREAM_ARN: { ref: 'S', attribute: 'Arn' }, N: '25' });
    // Lambda's documented defaults fill what the template leaves out.
    expect(fn.streamEventSources[0]).toMatchObject({
      startingPosition: 'LATEST',
      batchSize: 100,
      maximumBatchingWindowSeconds: 0,
      parallelizationFactor: 1,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      reportBatchItemFailures: false,
      onFailureLogicalId: undefined,
      tumblingWindowSeconds: undefined,
      enabled: true,
    });
  });

  it('reads FilterCriteria patterns', () => {
    const text = base(
      [
        '  T:',
        '    Type: AWS::DynamoDB::Table',
        '    Properties:',
        '      TableName: t1',
        '      AttributeDefinitions: [{AttributeName: id, AttributeType: N}]',
        '      KeySchema: [{AttributeName: id, KeyType: HASH}]',
        '      StreamSpecification: {StreamViewType: KEYS_ONLY}',
        '  F:',
        '    Type: AWS::Serverless::Function',
        '    Properties:',
        '      Handler: h.handler',
        '      Events:',
        '        D:',
        '          Type: DynamoDB',
        '          Properties:',
        '            Stream: !GetAtt T.StreamArn',
        '            StartingPosition: TRIM_HORIZON',
        '            FilterCriteria: {Filters: [{Pattern: \'{"eventName": ["INSERT"]}\'}]}',
      ].join('\n'),
    );
    const t = parseTemplate(text, { baseDir: '/x' });
    expect(t.tables[0]).toMatchObject({
      name: 't1',
      billingMode: 'PROVISIONED',
      streamViewType: 'KEYS_ONLY',
      ttlAttribute: undefined,
    });
    expect(t.functions[0].streamEventSources[0]).toMatchObject({
      type: 'dynamodb',
      sourceLogicalId: 'T',
      filterPatterns: ['{"eventName": ["INSERT"]}'],
    });
  });

  it('names the field and the fix when a setting cannot be read', () => {
    const fn = (events: string): string =>
      base(
        [
          '  F:',
          '    Type: AWS::Serverless::Function',
          '    Properties:',
          '      Handler: h.handler',
          '      Events:',
          events,
        ].join('\n'),
      );
    expect(() =>
      parseTemplate(fn('        K: {Type: Kinesis, Properties: {Stream: my-stream, StartingPosition: LATEST}}')),
    ).toThrow(/Events\.K\.Properties\.Stream: expected !Ref or !GetAtt/);
    expect(() => parseTemplate(fn('        K: {Type: Kinesis, Properties: {Stream: !GetAtt S.Arn}}'))).toThrow(
      /StartingPosition must be/,
    );
    expect(() => parseTemplate(base('  F: {Type: AWS::Serverless::Function, Properties: {Handler: nodot}}'))).toThrow(
      /Handler must look like/,
    );
    expect(() =>
      parseTemplate(base('  S: {Type: AWS::Kinesis::Stream, Properties: {Name: !Ref Missing, ShardCount: 1}}')),
    ).toThrow(/!Ref Missing names neither a parameter nor a resource/);
    expect(() =>
      parseTemplate(base('  S: {Type: AWS::Kinesis::Stream, Condition: Nope, Properties: {ShardCount: 1}}')),
    ).toThrow(/Condition "Nope"/);
  });
});
