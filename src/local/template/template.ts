/**
 * Reads template.yaml (AWS SAM) for the local runner: the stream(s), tables, queue(s) and, for each
 * function, its handler, environment and every stream event source setting, so that `npm start` runs
 * exactly what `sam deploy` deploys. Parameter defaults (or overrides) are resolved, as are the
 * intrinsic functions the template uses (`!Ref`, `!Sub`, `!If`, `!GetAtt`, ...); references to
 * resources whose physical id only exists after creation (a queue URL, an ARN) stay as
 * {@link ResourceRef} and are resolved by `createLocalResources` (src/local/aws/resources.ts).
 *
 * @example
 * const template = loadTemplate();                         // ./template.yaml, default parameters
 * const [stream] = template.streams;                       // { name: 'streamtally-dev-events', shardCount: 2, ... }
 * const fn = template.functions.find((f) => f.logicalId === 'AnalyticsFunction');
 * for (const source of fn.streamEventSources) console.log(source.type, source.batchSize);
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type Tags, type ScalarTag, type CollectionTag, type YAMLMap, type YAMLSeq } from 'yaml';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A reference to a resource of the template whose value is only known once it exists. */
export interface ResourceRef {
  readonly ref: string;
  /** `Fn::GetAtt` attribute (`Arn`, `StreamArn`, ...); undefined for `Ref`. */
  readonly attribute?: string;
}

/** A template value after intrinsic resolution: plain JSON, with resource references left in place. */
export type TemplateValue =
  string | number | boolean | null | ResourceRef | TemplateValue[] | { [key: string]: TemplateValue };

export interface ParameterSpec {
  readonly name: string;
  readonly type: string;
  /** Default or override, coerced (`Number` parameters become numbers). */
  readonly value: string | number | string[] | undefined;
  readonly allowedValues?: ReadonlyArray<string | number>;
}

export interface KinesisStreamSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly streamMode: 'PROVISIONED' | 'ON_DEMAND';
  /** Undefined in ON_DEMAND mode, where the service picks the shard count. */
  readonly shardCount: number | undefined;
  readonly retentionHours: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface KeyAttributeSpec {
  readonly name: string;
  readonly keyType: 'HASH' | 'RANGE';
  /** `S`, `N` or `B`, from AttributeDefinitions. */
  readonly attributeType: 'S' | 'N' | 'B';
}

export interface SecondaryIndexSpec {
  readonly name: string;
  /** HASH (and RANGE) keys, with their types from the table's AttributeDefinitions. */
  readonly keySchema: ReadonlyArray<KeyAttributeSpec>;
  readonly projectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  /** NonKeyAttributes of an INCLUDE projection (empty otherwise). */
  readonly nonKeyAttributes: ReadonlyArray<string>;
}

export interface TableSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly keySchema: ReadonlyArray<KeyAttributeSpec>;
  /** GlobalSecondaryIndexes, created with the table (empty when there are none). */
  readonly globalSecondaryIndexes: ReadonlyArray<SecondaryIndexSpec>;
  readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  /** StreamViewType when the table has a stream. */
  readonly streamViewType: 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY' | undefined;
  /** The TTL attribute when TimeToLiveSpecification is enabled. */
  readonly ttlAttribute: string | undefined;
  readonly pointInTimeRecovery: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

export interface QueueSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly messageRetentionSeconds: number | undefined;
  readonly visibilityTimeoutSeconds: number | undefined;
  readonly sqsManagedSse: boolean;
  readonly fifo: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * One stream event source of a function, with Lambda's documented defaults filled in where the
 * template leaves a setting out (AWS::Lambda::EventSourceMapping).
 */
export interface StreamEventSourceSpec {
  /** The event's key under `Events`. */
  readonly name: string;
  readonly type: 'kinesis' | 'dynamodb';
  /**
   * Logical id of the stream (Kinesis) or of the table whose stream is read (DynamoDB); '' when the
   * template points the event at an existing stream by ARN (e.g. the ExistingKinesisStreamArn parameter).
   */
  readonly sourceLogicalId: string;
  /** The stream ARN when the event names one directly instead of a resource of the template. */
  readonly sourceArn: string | undefined;
  readonly enabled: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  readonly startingPositionTimestamp: number | undefined;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly parallelizationFactor: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1 means retry until the record expires. */
  readonly maximumRetryAttempts: number;
  /** -1 means no limit (up to the stream's retention). */
  readonly maximumRecordAgeSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly functionResponseTypes: ReadonlyArray<string>;
  /** Logical id of the on-failure destination (queue or topic), if any. */
  readonly onFailureLogicalId: string | undefined;
  /** Seconds; undefined when the mapping has no tumbling window. */
  readonly tumblingWindowSeconds: number | undefined;
  /** Lambda event-filtering patterns (JSON strings), empty when there is no filter. */
  readonly filterPatterns: ReadonlyArray<string>;
}

export interface HttpEventSpec {
  /** The event's key under `Events`, or the logical id of an AWS::ApiGatewayV2::Route. */
  readonly name: string;
  readonly method: string;
  readonly path: string;
  /** `JWT`, `NONE`, ... for AWS::ApiGatewayV2::Route (resolved with the parameters); undefined for SAM events. */
  readonly authorization?: string;
}

export interface FunctionSpec {
  readonly logicalId: string;
  /** As in the template, e.g. `analytics.handler`. */
  readonly handler: string;
  /** Name of the exported function, e.g. `handler`. */
  readonly handlerExport: string;
  /** Absolute path of the TypeScript entry point (esbuild EntryPoints, else `<CodeUri>/<module>.ts`). */
  readonly entryPoint: string;
  readonly runtime: string | undefined;
  readonly architectures: ReadonlyArray<string>;
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  /** Environment variables; a value that names a resource (table, queue) is a {@link ResourceRef}. */
  readonly environment: Readonly<Record<string, string | ResourceRef>>;
  readonly streamEventSources: ReadonlyArray<StreamEventSourceSpec>;
  readonly httpEvents: ReadonlyArray<HttpEventSpec>;
}

export interface LocalTemplate {
  readonly path: string | undefined;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  readonly streams: ReadonlyArray<KinesisStreamSpec>;
  readonly tables: ReadonlyArray<TableSpec>;
  readonly queues: ReadonlyArray<QueueSpec>;
  readonly functions: ReadonlyArray<FunctionSpec>;
  /** Physical name of a stream, table or queue by logical id (what `!Ref` gives, except for queues: their name, not URL). */
  physicalName(logicalId: string): string;
  /** The document as parsed, with intrinsics in their long form (`{ "Ref": ... }`). */
  readonly document: Readonly<Record<string, unknown>>;
}

export interface TemplateOptions {
  /** Parameter values that replace the defaults (as `sam deploy --parameter-overrides` would). */
  parameterOverrides?: Readonly<Record<string, string | number>>;
  region?: string;
  accountId?: string;
  stackName?: string;
  /** Directory that CodeUri and EntryPoints are relative to; defaults to the template's directory. */
  baseDir?: string;
}

/** Lambda's defaults for Kinesis / DynamoDB Streams event source mappings (AWS::Lambda::EventSourceMapping docs). */
const ESM_DEFAULT_BATCH_SIZE = 100;
const ESM_DEFAULT_RETRY_ATTEMPTS = -1;
const ESM_DEFAULT_RECORD_AGE_SECONDS = -1;
/** AWS::Serverless::Function defaults (SAM docs). */
const SAM_DEFAULT_MEMORY_MB = 128;
const SAM_DEFAULT_TIMEOUT_SECONDS = 3;
/** Kinesis keeps data 24 h unless RetentionPeriodHours says otherwise. */
const KINESIS_DEFAULT_RETENTION_HOURS = 24;

export const DEFAULT_TEMPLATE_PATH = resolvePath(dirname(fileURLToPath(import.meta.url)), '../../../template.yaml');

// ------------------------------------------------------------------------------------------------
// YAML with CloudFormation short-form tags
// ------------------------------------------------------------------------------------------------

/** Short-form tag -> long-form key. `!Ref` and `!Condition` are not `Fn::` functions. */
const INTRINSICS: ReadonlyArray<readonly [string, string]> = [
  ['Ref', 'Ref'],
  ['Condition', 'Condition'],
  ['GetAtt', 'Fn::GetAtt'],
  ['Sub', 'Fn::Sub'],
  ['If', 'Fn::If'],
  ['Equals', 'Fn::Equals'],
  ['Not', 'Fn::Not'],
  ['And', 'Fn::And'],
  ['Or', 'Fn::Or'],
  ['Select', 'Fn::Select'],
  ['Join', 'Fn::Join'],
  ['Split', 'Fn::Split'],
  ['FindInMap', 'Fn::FindInMap'],
  ['Base64', 'Fn::Base64'],
  ['Cidr', 'Fn::Cidr'],
  ['GetAZs', 'Fn::GetAZs'],
  ['ImportValue', 'Fn::ImportValue'],
  ['Transform', 'Fn::Transform'],
  ['ToJsonString', 'Fn::ToJsonString'],
  ['Length', 'Fn::Length'],
];

function cloudFormationTags(): Tags {
  const tags: Array<ScalarTag | CollectionTag> = [];
  for (const [short, long] of INTRINSICS) {
    const tag = `!${short}`;
    tags.push({
      tag,
      identify: () => false,
      resolve: (value: string) => {
        // `!GetAtt Res.Attr` is the one short form whose scalar needs splitting (at the first dot).
        if (long === 'Fn::GetAtt') {
          const dot = value.indexOf('.');
          return { [long]: dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
        }
        return { [long]: value };
      },
    } as ScalarTag);
    tags.push({
      tag,
      collection: 'seq',
      identify: () => false,
      resolve: (seq: YAMLSeq) => ({ [long]: seq.toJSON() }),
    } as unknown as CollectionTag);
    tags.push({
      tag,
      collection: 'map',
      identify: () => false,
      resolve: (map: YAMLMap) => ({ [long]: map.toJSON() }),
    } as unknown as CollectionTag);
  }
  return tags;
}

/** Parses CloudFormation YAML, turning short-form tags into the long JSON form (`!Ref X` -> `{ Ref: 'X' }`). */
export function parseCloudFormationYaml(text: string): Record<string, unknown> {
  const doc: unknown = parse(text, {
    customTags: cloudFormationTags(),
    prettyErrors: true,
    uniqueKeys: true,
    maxAliasCount: 100,
  });
  if (!isRecord(doc))
    throw new TemplateError(
      'template.yaml is not a YAML mapping: expected Resources, Parameters, ... at the top level.',
    );
  return doc;
}

// ------------------------------------------------------------------------------------------------
// Intrinsic resolution
// ------------------------------------------------------------------------------------------------

const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
type Resolved = TemplateValue | typeof NO_VALUE;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isResourceRef(value: unknown): value is ResourceRef {
  return (
    isRecord(value) &&
    typeof value.ref === 'string' &&
    Object.keys(value).every((k) => k === 'ref' || k === 'attribute')
  );
}

class Resolver {
  private readonly conditionCache = new Map<string, boolean>();
  private readonly resolvingNames = new Set<string>();

  constructor(
    private readonly doc: Record<string, unknown>,
    private readonly parameters: Readonly<Record<string, ParameterSpec>>,
    private readonly pseudo: Readonly<Record<string, string>>,
  ) {}

  private get resources(): Record<string, unknown> {
    return isRecord(this.doc.Resources) ? this.doc.Resources : {};
  }

  value(node: unknown, where: string): Resolved {
    if (Array.isArray(node)) {
      const out: TemplateValue[] = [];
      for (let i = 0; i < node.length; i++) {
        const v = this.value(node[i], `${where}[${i}]`);
        if (v !== NO_VALUE) out.push(v);
      }
      return out;
    }
    if (!isRecord(node)) return node as TemplateValue;
    const keys = Object.keys(node);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], node[keys[0]], where);
    }
    const out: Record<string, TemplateValue> = {};
    for (const key of keys) {
      const v = this.value(node[key], `${where}.${key}`);
      if (v !== NO_VALUE) out[key] = v;
    }
    return out;
  }

  condition(name: string): boolean {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const conditions = isRecord(this.doc.Conditions) ? this.doc.Conditions : {};
    if (!(name in conditions)) throw new TemplateError(`Condition "${name}" is used but not defined under Conditions.`);
    const result = this.value(conditions[name], `Conditions.${name}`);
    if (typeof result !== 'boolean') throw new TemplateError(`Condition "${name}" does not evaluate to true or false.`);
    this.conditionCache.set(name, result);
    return result;
  }

  private ref(name: string, where: string): Resolved {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in this.pseudo) return this.pseudo[name];
    const param = this.parameters[name];
    if (param) {
      if (param.value === undefined)
        throw new TemplateError(`${where}: parameter "${name}" has no Default; pass it in parameterOverrides.`);
      return param.value;
    }
    if (name in this.resources) return { ref: name };
    throw new TemplateError(`${where}: !Ref ${name} names neither a parameter nor a resource.`);
  }

  /** What `!Ref` of a named resource gives, where that is a name we can know before it exists. */
  physicalName(logicalId: string): string | undefined {
    const resource = this.resources[logicalId];
    if (!isRecord(resource) || !isRecord(resource.Properties)) return undefined;
    const prop = NAME_PROPERTY[String(resource.Type)];
    if (!prop || resource.Properties[prop] === undefined) return undefined;
    if (this.resolvingNames.has(logicalId))
      throw new TemplateError(`Resources.${logicalId}: its name refers to itself.`);
    this.resolvingNames.add(logicalId);
    try {
      const name = this.value(resource.Properties[prop], `Resources.${logicalId}.Properties.${prop}`);
      return typeof name === 'string' ? name : undefined;
    } finally {
      this.resolvingNames.delete(logicalId);
    }
  }

  private subVariable(name: string, where: string): string | undefined {
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) {
      return undefined; // `${Res.Attr}`: an attribute, known only once the resource exists
    }
    const v = this.ref(name, where);
    if (v === NO_VALUE) return '';
    if (isResourceRef(v)) return this.refAsString(v.ref);
    return Array.isArray(v) ? v.join(',') : String(v);
  }

  private refAsString(logicalId: string): string | undefined {
    const resource = this.resources[logicalId];
    // `!Ref` of a queue is its URL, which depends on the endpoint; leave it unresolved.
    if (isRecord(resource) && resource.Type === 'AWS::SQS::Queue') return undefined;
    return this.physicalName(logicalId);
  }

  private intrinsic(fn: string, arg: unknown, where: string): Resolved {
    switch (fn) {
      case 'Ref':
        return this.ref(String(arg), where);
      case 'Condition':
        return this.condition(String(arg));
      case 'Fn::GetAtt': {
        const parts = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return { ref: parts[0], attribute: parts.slice(1).join('.') };
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? [String(arg[0]), isRecord(arg[1]) ? arg[1] : {}] : [String(arg), {}];
        let unresolved = false;
        const out = text
          .replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
            let v: string | undefined;
            if (name in vars) {
              const r = this.value((vars as Record<string, unknown>)[name], where);
              v = r === NO_VALUE ? '' : isResourceRef(r) ? this.refAsString(r.ref) : String(r);
            } else {
              v = this.subVariable(name, where);
            }
            if (v === undefined) unresolved = true;
            return v ?? '';
          })
          .replace(/\$\{!/g, '${');
        // A string that needs a runtime attribute keeps its long form for the caller to see.
        return unresolved ? ({ 'Fn::Sub': arg } as unknown as TemplateValue) : out;
      }
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3)
          throw new TemplateError(`${where}: !If takes [condition, then, else].`);
        return this.condition(String(arg[0])) ? this.value(arg[1], where) : this.value(arg[2], where);
      }
      case 'Fn::Equals': {
        if (!Array.isArray(arg) || arg.length !== 2) throw new TemplateError(`${where}: !Equals takes two values.`);
        // CloudFormation compares parameter values as strings (a Number parameter `2` equals '2').
        const [a, b] = [this.value(arg[0], where), this.value(arg[1], where)];
        return typeof a === 'object' || typeof b === 'object'
          ? JSON.stringify(a) === JSON.stringify(b)
          : String(a) === String(b);
      }
      case 'Fn::Not':
        return !this.bool(Array.isArray(arg) ? arg[0] : arg, where);
      case 'Fn::And':
        return (arg as unknown[]).every((c) => this.bool(c, where));
      case 'Fn::Or':
        return (arg as unknown[]).some((c) => this.bool(c, where));
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = this.value(list, where);
        if (!Array.isArray(items)) throw new TemplateError(`${where}: !Select needs a list.`);
        return items[Number(this.value(index, where))] ?? NO_VALUE;
      }
      case 'Fn::Join': {
        const [sep, list] = arg as [string, unknown];
        const items = this.value(list, where);
        if (!Array.isArray(items)) throw new TemplateError(`${where}: !Join needs a list.`);
        return items.map((i) => (isResourceRef(i) ? (this.refAsString(i.ref) ?? '') : String(i))).join(sep);
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return String(this.value(text, where)).split(sep);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as unknown[]).map((a) => this.value(a, where));
        const mappings = isRecord(this.doc.Mappings) ? this.doc.Mappings : {};
        const found = (mappings as Record<string, Record<string, Record<string, unknown>>>)[String(map)]?.[
          String(top)
        ]?.[String(second)];
        if (found === undefined)
          throw new TemplateError(
            `${where}: !FindInMap [${String(map)}, ${String(top)}, ${String(second)}] is not in Mappings.`,
          );
        return this.value(found, where);
      }
      case 'Fn::Base64':
        return Buffer.from(String(this.value(arg, where)), 'utf8').toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.pseudo['AWS::Region']}${z}`);
      default:
        // Fn::ImportValue, Fn::Cidr, Fn::Transform, ...: nothing local to resolve them against.
        return { [fn]: arg } as unknown as TemplateValue;
    }
  }

  private bool(node: unknown, where: string): boolean {
    const v = this.value(node, where);
    if (typeof v !== 'boolean') throw new TemplateError(`${where}: expected a condition (true / false).`);
    return v;
  }
}

/** Which property holds the physical name of each resource type the local runner creates. */
const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::Kinesis::Stream': 'Name',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SNS::Topic': 'TopicName',
};

// ------------------------------------------------------------------------------------------------
// Model
// ------------------------------------------------------------------------------------------------

function readParameters(
  doc: Record<string, unknown>,
  overrides: Readonly<Record<string, string | number>>,
): Record<string, ParameterSpec> {
  const declared = isRecord(doc.Parameters) ? doc.Parameters : {};
  for (const name of Object.keys(overrides)) {
    if (!(name in declared))
      throw new TemplateError(`Parameter override "${name}" is not declared under Parameters in template.yaml.`);
  }
  const out: Record<string, ParameterSpec> = {};
  for (const [name, raw] of Object.entries(declared)) {
    if (!isRecord(raw)) throw new TemplateError(`Parameters.${name} must be a mapping with at least Type.`);
    const type = String(raw.Type ?? 'String');
    const given = name in overrides ? overrides[name] : raw.Default;
    let value: ParameterSpec['value'];
    if (given === undefined || given === null) value = undefined;
    else if (type === 'Number') {
      value = Number(given);
      if (!Number.isFinite(value))
        throw new TemplateError(`Parameter ${name} is a Number but its value is ${JSON.stringify(given)}.`);
    } else if (type === 'CommaDelimitedList' || type.startsWith('List<'))
      value = String(given)
        .split(',')
        .map((s) => s.trim());
    else value = String(given);
    const allowed = Array.isArray(raw.AllowedValues) ? (raw.AllowedValues as Array<string | number>) : undefined;
    if (allowed && value !== undefined && !Array.isArray(value) && !allowed.some((a) => String(a) === String(value))) {
      throw new TemplateError(
        `Parameter ${name} = ${String(value)} is not one of its AllowedValues (${allowed.join(', ')}).`,
      );
    }
    out[name] = Object.freeze({
      name,
      type,
      value,
      ...(allowed ? { allowedValues: Object.freeze([...allowed]) } : {}),
    });
  }
  return out;
}

function tagsOf(props: Record<string, TemplateValue>): Record<string, string> {
  const tags = props.Tags;
  const out: Record<string, string> = {};
  if (Array.isArray(tags)) {
    for (const t of tags) if (isRecord(t)) out[String(t.Key)] = String(t.Value);
  } else if (isRecord(tags)) {
    for (const [k, v] of Object.entries(tags)) out[k] = String(v);
  }
  return out;
}

function num(value: TemplateValue | undefined, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (typeof value === 'object' || !Number.isFinite(n))
    throw new TemplateError(`${where}: expected a number, got ${JSON.stringify(value)}.`);
  return n;
}

function bool(value: TemplateValue | undefined, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  return value === true || value === 'true';
}

/** The logical id a `!Ref X` / `!GetAtt X.Attr` points at. */
function targetOf(value: TemplateValue | undefined, where: string): string {
  if (isResourceRef(value)) return value.ref;
  throw new TemplateError(
    `${where}: expected !Ref or !GetAtt of a resource in this template, got ${JSON.stringify(value)}.`,
  );
}

/** Deep-merges SAM Globals into a function's properties (maps merge, scalars and lists are replaced). */
function mergeGlobals(globals: Record<string, unknown>, props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...globals };
  for (const [k, v] of Object.entries(props)) {
    const g = out[k];
    out[k] =
      isRecord(g) && isRecord(v) && !Object.keys(v).some((key) => key === 'Ref' || key.startsWith('Fn::'))
        ? mergeGlobals(g, v)
        : v;
  }
  return out;
}

function readStreamEventSource(
  name: string,
  type: 'kinesis' | 'dynamodb',
  p: Record<string, TemplateValue>,
  where: string,
): StreamEventSourceSpec {
  const startingPosition = String(p.StartingPosition ?? '');
  if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST' && startingPosition !== 'AT_TIMESTAMP') {
    throw new TemplateError(
      `${where}.StartingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP (got ${JSON.stringify(p.StartingPosition)}).`,
    );
  }
  const responseTypes = Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes.map(String) : [];
  const destination =
    isRecord(p.DestinationConfig) && isRecord(p.DestinationConfig.OnFailure)
      ? p.DestinationConfig.OnFailure.Destination
      : undefined;
  const filters = isRecord(p.FilterCriteria) && Array.isArray(p.FilterCriteria.Filters) ? p.FilterCriteria.Filters : [];
  const tumbling = num(p.TumblingWindowInSeconds, `${where}.TumblingWindowInSeconds`);
  const arn = typeof p.Stream === 'string' && p.Stream.startsWith('arn:') ? p.Stream : undefined;
  return Object.freeze({
    name,
    type,
    sourceLogicalId: arn === undefined ? targetOf(p.Stream, `${where}.Stream`) : '',
    sourceArn: arn,
    enabled: bool(p.Enabled, true),
    startingPosition,
    startingPositionTimestamp: num(p.StartingPositionTimestamp, `${where}.StartingPositionTimestamp`),
    batchSize: num(p.BatchSize, `${where}.BatchSize`) ?? ESM_DEFAULT_BATCH_SIZE,
    maximumBatchingWindowSeconds: num(p.MaximumBatchingWindowInSeconds, `${where}.MaximumBatchingWindowInSeconds`) ?? 0,
    parallelizationFactor: num(p.ParallelizationFactor, `${where}.ParallelizationFactor`) ?? 1,
    bisectBatchOnFunctionError: bool(p.BisectBatchOnFunctionError, false),
    maximumRetryAttempts: num(p.MaximumRetryAttempts, `${where}.MaximumRetryAttempts`) ?? ESM_DEFAULT_RETRY_ATTEMPTS,
    maximumRecordAgeSeconds:
      num(p.MaximumRecordAgeInSeconds, `${where}.MaximumRecordAgeInSeconds`) ?? ESM_DEFAULT_RECORD_AGE_SECONDS,
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    functionResponseTypes: Object.freeze(responseTypes),
    onFailureLogicalId:
      destination === undefined ? undefined : targetOf(destination, `${where}.DestinationConfig.OnFailure.Destination`),
    tumblingWindowSeconds: tumbling === undefined || tumbling === 0 ? undefined : tumbling,
    filterPatterns: Object.freeze(filters.map((f) => (isRecord(f) ? String(f.Pattern) : String(f)))),
  });
}

/** `!Ref Fn`, `!Ref Fn.Alias`, `!GetAtt Fn.Arn`, or `!Sub '...${Fn.Alias}...'`: the function's logical id. */
function functionOf(uri: unknown): string | undefined {
  if (!isRecord(uri)) return undefined;
  if (typeof uri.Ref === 'string') return uri.Ref.split('.')[0];
  if (Array.isArray(uri['Fn::GetAtt'])) return String(uri['Fn::GetAtt'][0]);
  const sub = uri['Fn::Sub'];
  const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? String(sub[0]) : '';
  return /\$\{([A-Za-z0-9]+)(?:\.(?:Alias|Arn))?\}\/invocations/.exec(text)?.[1];
}

/**
 * HTTP API routes declared as plain AWS::ApiGatewayV2::Route resources, by the function their
 * integration invokes (`Target: !Sub integrations/${Integration}`, `IntegrationUri: !Ref Fn.Alias`).
 */
function readApiRoutes(resources: Record<string, unknown>, resolver: Resolver): Map<string, HttpEventSpec[]> {
  const byFunction = new Map<string, HttpEventSpec[]>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::ApiGatewayV2::Route' || !isRecord(resource.Properties)) continue;
    if (typeof resource.Condition === 'string' && !resolver.condition(resource.Condition)) continue;
    const props = resource.Properties;
    const target = isRecord(props.Target) ? props.Target['Fn::Sub'] : undefined;
    const integrationId =
      typeof target === 'string' ? /^integrations\/\$\{([A-Za-z0-9]+)\}$/.exec(target)?.[1] : undefined;
    const integration = integrationId ? resources[integrationId] : undefined;
    const fn =
      isRecord(integration) && isRecord(integration.Properties)
        ? functionOf(integration.Properties.IntegrationUri)
        : undefined;
    if (!fn) continue;
    const routeKey = String(resolver.value(props.RouteKey, `Resources.${logicalId}.Properties.RouteKey`));
    const space = routeKey.indexOf(' ');
    const authorization = resolver.value(
      props.AuthorizationType ?? 'NONE',
      `Resources.${logicalId}.Properties.AuthorizationType`,
    );
    const list = byFunction.get(fn) ?? [];
    list.push(
      Object.freeze({
        name: logicalId,
        method: space < 0 ? 'ANY' : routeKey.slice(0, space).toUpperCase(),
        path: space < 0 ? routeKey : routeKey.slice(space + 1),
        authorization: String(authorization),
      }),
    );
    byFunction.set(fn, list);
  }
  return byFunction;
}

function readFunction(
  logicalId: string,
  props: Record<string, TemplateValue>,
  metadata: Record<string, unknown>,
  baseDir: string,
  routes: ReadonlyArray<HttpEventSpec> = [],
): FunctionSpec {
  const where = `Resources.${logicalId}.Properties`;
  const handler = String(props.Handler ?? '');
  const dot = handler.lastIndexOf('.');
  if (dot <= 0)
    throw new TemplateError(
      `${where}.Handler must look like "<module>.<export>", got ${JSON.stringify(props.Handler)}.`,
    );
  const codeUri = typeof props.CodeUri === 'string' ? props.CodeUri : '.';
  const build = isRecord(metadata.BuildProperties) ? metadata.BuildProperties : {};
  const entryPoints = Array.isArray(build.EntryPoints) ? build.EntryPoints.map(String) : [];
  const entryPoint = resolvePath(baseDir, codeUri, entryPoints[0] ?? `${handler.slice(0, dot)}.ts`);

  const environment: Record<string, string | ResourceRef> = {};
  const vars = isRecord(props.Environment) && isRecord(props.Environment.Variables) ? props.Environment.Variables : {};
  for (const [k, v] of Object.entries(vars)) {
    if (isResourceRef(v)) environment[k] = v;
    else if (typeof v === 'object' && v !== null) {
      throw new TemplateError(
        `${where}.Environment.Variables.${k} cannot be resolved locally (${JSON.stringify(v)}); use a literal, !Ref or !GetAtt.`,
      );
    } else environment[k] = String(v);
  }

  const streamEventSources: StreamEventSourceSpec[] = [];
  const httpEvents: HttpEventSpec[] = [...routes];
  const events = isRecord(props.Events) ? props.Events : {};
  for (const [name, event] of Object.entries(events)) {
    if (!isRecord(event)) continue;
    const p = isRecord(event.Properties) ? (event.Properties as Record<string, TemplateValue>) : {};
    const evWhere = `${where}.Events.${name}.Properties`;
    if (event.Type === 'Kinesis') streamEventSources.push(readStreamEventSource(name, 'kinesis', p, evWhere));
    else if (event.Type === 'DynamoDB') streamEventSources.push(readStreamEventSource(name, 'dynamodb', p, evWhere));
    else if (event.Type === 'HttpApi' || event.Type === 'Api') {
      httpEvents.push(
        Object.freeze({ name, method: String(p.Method ?? 'ANY').toUpperCase(), path: String(p.Path ?? '/') }),
      );
    }
  }

  return Object.freeze({
    logicalId,
    handler,
    handlerExport: handler.slice(dot + 1),
    entryPoint,
    runtime: props.Runtime === undefined ? undefined : String(props.Runtime),
    architectures: Object.freeze(Array.isArray(props.Architectures) ? props.Architectures.map(String) : ['x86_64']),
    memorySizeMb: num(props.MemorySize, `${where}.MemorySize`) ?? SAM_DEFAULT_MEMORY_MB,
    timeoutSeconds: num(props.Timeout, `${where}.Timeout`) ?? SAM_DEFAULT_TIMEOUT_SECONDS,
    environment: Object.freeze(environment),
    streamEventSources: Object.freeze(streamEventSources),
    httpEvents: Object.freeze(httpEvents),
  });
}

/** Builds the local model from template text. */
export function parseTemplate(text: string, options: TemplateOptions & { path?: string } = {}): LocalTemplate {
  const doc = parseCloudFormationYaml(text);
  const parameters = readParameters(doc, options.parameterOverrides ?? {});
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const pseudo: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': options.stackName ?? 'streamtally-local',
    'AWS::StackId': `arn:aws:cloudformation:${region}:${accountId}:stack/${options.stackName ?? 'streamtally-local'}/local`,
    'AWS::NotificationARNs': '',
  };
  const resolver = new Resolver(doc, parameters, pseudo);
  const baseDir = options.baseDir ?? (options.path ? dirname(resolvePath(options.path)) : process.cwd());
  const resources = isRecord(doc.Resources) ? doc.Resources : {};
  const globals = isRecord(doc.Globals) && isRecord(doc.Globals.Function) ? doc.Globals.Function : {};

  const streams: KinesisStreamSpec[] = [];
  const tables: TableSpec[] = [];
  const queues: QueueSpec[] = [];
  const functions: FunctionSpec[] = [];
  const names = new Map<string, string>();
  const routes = readApiRoutes(resources, resolver);

  const nameOf = (logicalId: string, suffix: string): string => {
    const name = resolver.physicalName(logicalId) ?? `${pseudo['AWS::StackName']}-${suffix}`;
    names.set(logicalId, name);
    return name;
  };

  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource)) continue;
    if (typeof resource.Condition === 'string' && !resolver.condition(resource.Condition)) continue;
    const where = `Resources.${logicalId}.Properties`;
    const rawProps = isRecord(resource.Properties) ? resource.Properties : {};
    const props = (type: string): Record<string, TemplateValue> => {
      const merged = type === 'AWS::Serverless::Function' ? mergeGlobals(globals, rawProps) : rawProps;
      return resolver.value(merged, where) as Record<string, TemplateValue>;
    };
    switch (resource.Type) {
      case 'AWS::Kinesis::Stream': {
        const p = props(resource.Type);
        const mode = isRecord(p.StreamModeDetails) ? String(p.StreamModeDetails.StreamMode) : 'PROVISIONED';
        if (mode !== 'PROVISIONED' && mode !== 'ON_DEMAND')
          throw new TemplateError(
            `${where}.StreamModeDetails.StreamMode must be PROVISIONED or ON_DEMAND, got ${mode}.`,
          );
        const shardCount = num(p.ShardCount, `${where}.ShardCount`);
        if (mode === 'PROVISIONED' && shardCount === undefined)
          throw new TemplateError(`${where}.ShardCount is required in PROVISIONED mode.`);
        streams.push(
          Object.freeze({
            logicalId,
            name: nameOf(logicalId, logicalId),
            streamMode: mode,
            shardCount: mode === 'ON_DEMAND' ? undefined : shardCount,
            retentionHours:
              num(p.RetentionPeriodHours, `${where}.RetentionPeriodHours`) ?? KINESIS_DEFAULT_RETENTION_HOURS,
            tags: Object.freeze(tagsOf(p)),
          }),
        );
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const p = props(resource.Type);
        const definitions = new Map<string, string>();
        for (const d of Array.isArray(p.AttributeDefinitions) ? p.AttributeDefinitions : []) {
          if (isRecord(d)) definitions.set(String(d.AttributeName), String(d.AttributeType));
        }
        const keySchemaOf = (schema: unknown, at: string): KeyAttributeSpec[] => {
          const keys: KeyAttributeSpec[] = [];
          for (const k of Array.isArray(schema) ? schema : []) {
            if (!isRecord(k)) continue;
            const attr = String(k.AttributeName);
            const attributeType = definitions.get(attr);
            if (attributeType !== 'S' && attributeType !== 'N' && attributeType !== 'B') {
              throw new TemplateError(`${at}: key "${attr}" has no S/N/B entry in AttributeDefinitions.`);
            }
            keys.push(Object.freeze({ name: attr, keyType: String(k.KeyType) as 'HASH' | 'RANGE', attributeType }));
          }
          if (keys.length === 0) throw new TemplateError(`${at} is empty.`);
          return keys;
        };
        const keySchema = keySchemaOf(p.KeySchema, `${where}.KeySchema`);
        const globalSecondaryIndexes: SecondaryIndexSpec[] = [];
        const gsis = Array.isArray(p.GlobalSecondaryIndexes) ? p.GlobalSecondaryIndexes : [];
        for (let i = 0; i < gsis.length; i++) {
          const gsi: unknown = gsis[i];
          const at = `${where}.GlobalSecondaryIndexes[${i}]`;
          if (!isRecord(gsi) || typeof gsi.IndexName !== 'string') throw new TemplateError(`${at} needs an IndexName.`);
          const projection = isRecord(gsi.Projection) ? gsi.Projection : {};
          const projectionType =
            projection.ProjectionType === undefined ? 'KEYS_ONLY' : String(projection.ProjectionType);
          if (projectionType !== 'ALL' && projectionType !== 'KEYS_ONLY' && projectionType !== 'INCLUDE') {
            throw new TemplateError(
              `${at}.Projection.ProjectionType must be ALL, KEYS_ONLY or INCLUDE, got ${JSON.stringify(projectionType)}.`,
            );
          }
          const nonKey = Array.isArray(projection.NonKeyAttributes) ? projection.NonKeyAttributes.map(String) : [];
          globalSecondaryIndexes.push(
            Object.freeze({
              name: gsi.IndexName,
              keySchema: Object.freeze(keySchemaOf(gsi.KeySchema, `${at}.KeySchema`)),
              projectionType,
              nonKeyAttributes: Object.freeze(projectionType === 'INCLUDE' ? nonKey : []),
            }),
          );
        }
        const stream = isRecord(p.StreamSpecification) ? p.StreamSpecification : undefined;
        const ttl = isRecord(p.TimeToLiveSpecification) ? p.TimeToLiveSpecification : undefined;
        const pitr = isRecord(p.PointInTimeRecoverySpecification) ? p.PointInTimeRecoverySpecification : undefined;
        tables.push(
          Object.freeze({
            logicalId,
            name: nameOf(logicalId, logicalId),
            keySchema: Object.freeze(keySchema),
            globalSecondaryIndexes: Object.freeze(globalSecondaryIndexes),
            billingMode: p.BillingMode === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
            streamViewType: stream ? (String(stream.StreamViewType) as TableSpec['streamViewType']) : undefined,
            ttlAttribute: ttl && bool(ttl.Enabled, false) ? String(ttl.AttributeName) : undefined,
            pointInTimeRecovery: pitr ? bool(pitr.PointInTimeRecoveryEnabled, false) : false,
            tags: Object.freeze(tagsOf(p)),
          }),
        );
        break;
      }
      case 'AWS::SQS::Queue': {
        const p = props(resource.Type);
        const fifo = bool(p.FifoQueue, false);
        queues.push(
          Object.freeze({
            logicalId,
            name: nameOf(logicalId, fifo ? `${logicalId}.fifo` : logicalId),
            messageRetentionSeconds: num(p.MessageRetentionPeriod, `${where}.MessageRetentionPeriod`),
            visibilityTimeoutSeconds: num(p.VisibilityTimeout, `${where}.VisibilityTimeout`),
            sqsManagedSse: bool(p.SqsManagedSseEnabled, false),
            fifo,
            tags: Object.freeze(tagsOf(p)),
          }),
        );
        break;
      }
      case 'AWS::Serverless::Function': {
        const metadata = isRecord(resource.Metadata) ? resource.Metadata : {};
        functions.push(readFunction(logicalId, props(resource.Type), metadata, baseDir, routes.get(logicalId)));
        break;
      }
      default:
        break;
    }
  }

  return Object.freeze({
    path: options.path,
    parameters: Object.freeze(parameters),
    streams: Object.freeze(streams),
    tables: Object.freeze(tables),
    queues: Object.freeze(queues),
    functions: Object.freeze(functions),
    physicalName(logicalId: string): string {
      const name = names.get(logicalId);
      if (name === undefined)
        throw new TemplateError(`"${logicalId}" is not a stream, table or queue of template.yaml.`);
      return name;
    },
    document: doc,
  });
}

/** Reads and models template.yaml (default: the one at the repository root). */
export function loadTemplate(path: string = DEFAULT_TEMPLATE_PATH, options: TemplateOptions = {}): LocalTemplate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TemplateError(`Cannot read the SAM template at ${path}; run from the repository root or pass its path.`, {
      cause: err,
    });
  }
  try {
    return parseTemplate(text, { ...options, path });
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
}
