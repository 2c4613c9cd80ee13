/**
 * Runtime configuration, parsed and validated once at cold start into a frozen object.
 * A bad value fails the cold start with a message that names it and says what to fix.
 */
import { readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import { parse as parseYaml, parseDocument } from 'yaml';
import { GetParameterCommand, type GetParameterCommandOutput } from '@aws-sdk/client-ssm';
import { ConfigError, type ConfigProblem } from './core/errors.js';
import { compileConfig, type CompiledConfig } from './core/metric-config.js';
import type { StreamtallyConfig, WindowFlushSchedule } from './core/types.js';
import defaultMetricDefinitions from '../streamtally.config.json' with { type: 'json' };
import { DEFAULT_MAX_BATCH_DECOMPRESSED_BYTES, DEFAULT_MAX_DECOMPRESSED_BYTES } from './sources/constants.js';
import { DEFAULT_WRITE_CONCURRENCY } from './sink/counter-writer.js';

export { DEFAULT_MAX_BATCH_DECOMPRESSED_BYTES, DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_WRITE_CONCURRENCY };

/**
 * Upper bounds of the environment's limits. MAX_DECOMPRESSED_BYTES is one gunzip output buffer: zlib's
 * maxOutputLength accepts at most buffer.constants.MAX_LENGTH (4 GiB on Node 20, 2^53-1 on Node 22), and a
 * record of more than 1 GiB is beyond any Lambda's memory budget, so 1 GiB is the bound on both.
 */
export const MAX_DECOMPRESSED_BYTES_LIMIT = Math.min(1024 * 1024 * 1024, bufferConstants.MAX_LENGTH);
/** The batch budget is spent one output buffer at a time; 8 GiB of gunzip is minutes of CPU, past any timeout. */
export const MAX_BATCH_DECOMPRESSED_BYTES_LIMIT = 8 * 1024 * 1024 * 1024;
/** More parallel writes than this gain nothing against one table from one function instance. */
export const MAX_WRITE_CONCURRENCY = 256;
/** Lambda's longest timeout, 15 minutes (Lambda quotas). */
export const MAX_DEADLINE_MARGIN_MS = 900_000;
/** Time kept back from the Lambda deadline for the response and logging. */
export const DEFAULT_DEADLINE_MARGIN_MS = 3_000;

/** What the read API needs: the same table and metric definitions the analytics function uses. */
export interface ReadRuntimeConfig {
  readonly countersTable: string;
  readonly metrics: CompiledConfig;
  readonly metricsSource: string;
  /** Set in window flush mode (see {@link loadWindowFlushSchedule}): the read API says how old coarse windows are. */
  readonly windowFlushSchedule?: WindowFlushSchedule;
  /**
   * COUNTERS_WINDOW_INDEX: the GSI that lists a window's groups, when not the layout's own (template.yaml
   * sets `byWindow` while KeepLegacyTopIndex is true, during the upgrade from that index). Read API only.
   */
  readonly countersWindowIndex?: string;
}

export interface RuntimeConfig extends ReadRuntimeConfig {
  readonly failureQueueUrl: string | undefined;
  /** S3 bucket for rejected records too large for a queue message (FAILURE_BUCKET). */
  readonly failureBucket?: string | undefined;
  /** Local alternative to the bucket (FAILURE_DIRECTORY): npm start and tests. */
  readonly failureDirectory?: string | undefined;
  readonly maxDecompressedBytes: number;
  /** Decompression budget of one batch (MAX_BATCH_DECOMPRESSED_BYTES), at least maxDecompressedBytes. */
  readonly maxBatchDecompressedBytes?: number;
  readonly writeConcurrency: number;
  readonly deadlineMarginMs: number;
  /** WINDOW_FLUSH: carry deltas in tumbling-window state and write once per window (template WindowFlush). */
  readonly windowFlush?: boolean;
  /**
   * WINDOW_FLUSH_GRACE_SECONDS: a carried metric window is written once the carried records reach its end
   * plus this many seconds; WINDOW_FLUSH_CARRY_SECONDS: a carried level (state metric) once carried this
   * long (the cadence rule: windowFlushDueAtMs in src/pipeline/window-state.ts). Unset: at the window's end.
   */
  readonly windowFlushGraceSeconds?: number;
  readonly windowFlushCarrySeconds?: number;
  /** WINDOW_FLUSH_FRESH_UP_TO_SECONDS (= FlushIntervalSeconds): windows up to this size are written while open too. */
  readonly windowFlushFreshUpToSeconds?: number;
}

/** Reads a metric definitions file (JSON or YAML) and compiles it; errors name the file and the field. */
export function loadMetricDefinitions(
  path: string | undefined,
  cwd = process.cwd(),
): { compiled: CompiledConfig; source: string; definitions: StreamtallyConfig } {
  if (!path)
    return {
      compiled: compileConfig(defaultMetricDefinitions, 'bundled streamtally.config.json'),
      source: 'bundled streamtally.config.json',
      definitions: defaultMetricDefinitions as StreamtallyConfig,
    };
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [
        {
          path: 'STREAMTALLY_CONFIG_FILE',
          message: `cannot read ${file}: ${(err as Error).message}; point it at a JSON or YAML metric definitions file`,
        },
      ],
      'environment',
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    // JSON.parse keeps the last of two equal keys without a word; the YAML parser (JSON is YAML 1.2) names them.
    if (extname(file) === '.json') {
      parsed = JSON.parse(text);
      const duplicate = parseDocument(text, { uniqueKeys: true }).errors.find((e) => e.code === 'DUPLICATE_KEY');
      if (duplicate) throw new Error(`${duplicate.message.split('\n')[0]} (a key appears twice in one object)`);
    } else parsed = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(
      [
        {
          path: file,
          message: `is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
        },
      ],
      'metric definitions',
      { cause: err },
    );
  }
  return { compiled: compileConfig(parsed, file), source: file, definitions: parsed as StreamtallyConfig };
}

// ------------------------------------------------------------------------------------------------
// Metric definitions from SSM Parameter Store (a deploy changes them without a rebuild)
// ------------------------------------------------------------------------------------------------

export type LoadedMetricDefinitions = ReturnType<typeof loadMetricDefinitions>;

/** The one SSM call this needs; an SSMClient (real, or captured by the tracer) satisfies it. */
export interface ParameterReader {
  send(command: GetParameterCommand): Promise<GetParameterCommandOutput>;
}

/**
 * Reads the metric definitions from the SSM parameter named by STREAMTALLY_CONFIG_SSM_PARAMETER (JSON or
 * YAML text) and compiles them with the same validation, and the same messages, as the bundled file.
 * Resolves to undefined when the variable is empty: the caller then falls back to STREAMTALLY_CONFIG_FILE
 * or the bundled streamtally.config.json. Called once per cold start, before {@link loadRuntimeConfig}.
 * @example
 * const remote = await loadRemoteMetricDefinitions(process.env, () => new SSMClient({}));
 * const config = loadRuntimeConfig(process.env, remote);
 */
export async function loadRemoteMetricDefinitions(
  env: NodeJS.ProcessEnv,
  client: () => ParameterReader,
): Promise<LoadedMetricDefinitions | undefined> {
  const name = env.STREAMTALLY_CONFIG_SSM_PARAMETER;
  if (!name) return undefined;
  const source = `ssm:${name}`;
  let text: string | undefined;
  try {
    const out = await client().send(new GetParameterCommand({ Name: name }));
    text = out.Parameter?.Value;
  } catch (err) {
    const why = (err as { name?: string }).name === 'ParameterNotFound' ? 'does not exist' : (err as Error).message;
    throw new ConfigError(
      [
        {
          path: 'STREAMTALLY_CONFIG_SSM_PARAMETER',
          message: `cannot read SSM parameter ${name}: ${why}; create it (template.yaml does, from MetricDefinitions) or clear the variable to use the bundled definitions`,
        },
      ],
      'environment',
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text ?? ''); // YAML is a superset of JSON: either form reads here.
  } catch (err) {
    throw new ConfigError(
      [{ path: source, message: `is not valid JSON or YAML: ${(err as Error).message}` }],
      'metric definitions',
      {
        cause: err,
      },
    );
  }
  return { compiled: compileConfig(parsed, source), source, definitions: parsed as StreamtallyConfig };
}

function positiveInt(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  problems: ConfigProblem[],
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > max) {
    problems.push({ path: name, message: `must be a positive integer, at most ${max} (got ${JSON.stringify(raw)})` });
    return fallback;
  }
  return n;
}

/** Lambda's largest TumblingWindowInSeconds (a quota): no carry or grace time of a window can exceed it. */
const MAX_TUMBLING_WINDOW_SECONDS = 900;

function optionalPositiveInt(env: NodeJS.ProcessEnv, name: string, problems: ConfigProblem[]): number | undefined {
  if (env[name] === undefined || env[name] === '') return undefined;
  return positiveInt(env, name, 0, problems, MAX_TUMBLING_WINDOW_SECONDS) || undefined;
}

function booleanFlag(env: NodeJS.ProcessEnv, name: string, problems: ConfigProblem[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  problems.push({ path: name, message: `must be "true" or "false" (got ${JSON.stringify(raw)})` });
  return false;
}

function countersTableOf(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): string {
  const countersTable = env.COUNTERS_TABLE ?? '';
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(countersTable)) {
    problems.push({
      path: 'COUNTERS_TABLE',
      message: countersTable
        ? `"${countersTable}" is not a valid DynamoDB table name`
        : 'is not set: name the DynamoDB counters table (template.yaml sets it)',
    });
  }
  return countersTable;
}

function metricsOf(
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  remote?: LoadedMetricDefinitions,
): { compiled: CompiledConfig; source: string } | undefined {
  if (remote) return remote;
  try {
    return loadMetricDefinitions(env.STREAMTALLY_CONFIG_FILE || undefined);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems)
      problems.push({
        path: `${env.STREAMTALLY_CONFIG_FILE ? 'STREAMTALLY_CONFIG_FILE' : 'streamtally.config.json'} ${p.path}`,
        message: p.message,
      });
    return undefined;
  }
}

/**
 * The window flush schedule the read function is told (template.yaml sets these from the same parameters
 * as the analytics function's): WINDOW_FLUSH (`true` / `false`), WINDOW_FLUSH_CARRY_SECONDS,
 * WINDOW_FLUSH_SLACK_SECONDS, WINDOW_FLUSH_GRACE_SECONDS, WINDOW_FLUSH_FRESH_UP_TO_SECONDS, and the tumbling window of each source, KINESIS_TUMBLING_WINDOW_SECONDS and
 * DYNAMODB_TUMBLING_WINDOW_SECONDS (empty: that source has none). Undefined unless WINDOW_FLUSH is true.
 */
export function loadWindowFlushSchedule(env: NodeJS.ProcessEnv): WindowFlushSchedule | undefined {
  const problems: ConfigProblem[] = [];
  const schedule = windowFlushScheduleOf(env, problems);
  if (problems.length > 0) throw new ConfigError(problems, 'configuration');
  return schedule;
}

function windowFlushScheduleOf(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): WindowFlushSchedule | undefined {
  if (!booleanFlag(env, 'WINDOW_FLUSH', problems)) return undefined;
  const kinesis = optionalPositiveInt(env, 'KINESIS_TUMBLING_WINDOW_SECONDS', problems);
  const dynamodb = optionalPositiveInt(env, 'DYNAMODB_TUMBLING_WINDOW_SECONDS', problems);
  return Object.freeze({
    carrySeconds: optionalPositiveInt(env, 'WINDOW_FLUSH_CARRY_SECONDS', problems),
    slackSeconds: optionalPositiveInt(env, 'WINDOW_FLUSH_SLACK_SECONDS', problems) ?? 0,
    graceSeconds: optionalPositiveInt(env, 'WINDOW_FLUSH_GRACE_SECONDS', problems) ?? 0,
    freshUpToSeconds: optionalPositiveInt(env, 'WINDOW_FLUSH_FRESH_UP_TO_SECONDS', problems) ?? 0,
    tumblingSeconds: Object.freeze({
      ...(kinesis === undefined ? {} : { kinesis }),
      ...(dynamodb === undefined ? {} : { dynamodb }),
    }),
  });
}

/**
 * The read API's configuration: COUNTERS_TABLE (required) and STREAMTALLY_CONFIG_FILE, read exactly as
 * {@link loadRuntimeConfig} reads them, so the dashboard lists the metrics the analytics function counts;
 * in window flush mode also its schedule ({@link loadWindowFlushSchedule}); COUNTERS_WINDOW_INDEX (optional)
 * names the GSI that lists a window's groups.
 */
export function loadReadRuntimeConfig(
  env: NodeJS.ProcessEnv = process.env,
  remote?: LoadedMetricDefinitions,
): ReadRuntimeConfig {
  const problems: ConfigProblem[] = [];
  const countersTable = countersTableOf(env, problems);
  const windowFlushSchedule = windowFlushScheduleOf(env, problems);
  const countersWindowIndex = env.COUNTERS_WINDOW_INDEX || undefined;
  if (countersWindowIndex !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(countersWindowIndex))
    problems.push({
      path: 'COUNTERS_WINDOW_INDEX',
      message: `"${countersWindowIndex}" is not a valid DynamoDB index name; leave it unset for the default index`,
    });
  const metrics = metricsOf(env, problems, remote);
  if (problems.length > 0 || !metrics) throw new ConfigError(problems, 'configuration');
  return Object.freeze({
    countersTable,
    metrics: metrics.compiled,
    metricsSource: metrics.source,
    windowFlushSchedule,
    ...(countersWindowIndex ? { countersWindowIndex } : {}),
  });
}

/**
 * Environment: COUNTERS_TABLE (required), FAILURE_QUEUE_URL (the failure destination; without it rejected
 * records are only logged), FAILURE_BUCKET (S3, for rejected records too large for a queue message) or
 * FAILURE_DIRECTORY (the same, locally), STREAMTALLY_CONFIG_FILE (JSON/YAML metric definitions; default: the bundled
 * streamtally.config.json), MAX_DECOMPRESSED_BYTES, MAX_BATCH_DECOMPRESSED_BYTES, WRITE_CONCURRENCY, DEADLINE_MARGIN_MS,
 * WINDOW_FLUSH (`true` / `false`, default false), WINDOW_FLUSH_GRACE_SECONDS, WINDOW_FLUSH_CARRY_SECONDS.
 */
export function loadRuntimeConfig(
  env: NodeJS.ProcessEnv = process.env,
  remote?: LoadedMetricDefinitions,
): RuntimeConfig {
  const problems: ConfigProblem[] = [];
  const countersTable = countersTableOf(env, problems);
  const failureQueueUrl = env.FAILURE_QUEUE_URL || undefined;
  if (failureQueueUrl !== undefined && !/^https?:\/\/\S+$/.test(failureQueueUrl)) {
    problems.push({
      path: 'FAILURE_QUEUE_URL',
      message: `must be an SQS queue URL (got ${JSON.stringify(failureQueueUrl)})`,
    });
  }
  const failureBucket = env.FAILURE_BUCKET || undefined;
  if (failureBucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(failureBucket))
    problems.push({
      path: 'FAILURE_BUCKET',
      message: `must be an S3 bucket name (got ${JSON.stringify(failureBucket)}); template.yaml sets it to FailureBucket`,
    });
  const failureDirectory = env.FAILURE_DIRECTORY || undefined;
  const maxDecompressedBytes = positiveInt(
    env,
    'MAX_DECOMPRESSED_BYTES',
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    problems,
    MAX_DECOMPRESSED_BYTES_LIMIT,
  );
  const maxBatchDecompressedBytes = positiveInt(
    env,
    'MAX_BATCH_DECOMPRESSED_BYTES',
    Math.max(DEFAULT_MAX_BATCH_DECOMPRESSED_BYTES, maxDecompressedBytes),
    problems,
    MAX_BATCH_DECOMPRESSED_BYTES_LIMIT,
  );
  if (maxBatchDecompressedBytes < maxDecompressedBytes)
    problems.push({
      path: 'MAX_BATCH_DECOMPRESSED_BYTES',
      message: `must be at least MAX_DECOMPRESSED_BYTES (${maxDecompressedBytes}): a batch must have room for one whole record`,
    });
  const writeConcurrency = positiveInt(
    env,
    'WRITE_CONCURRENCY',
    DEFAULT_WRITE_CONCURRENCY,
    problems,
    MAX_WRITE_CONCURRENCY,
  );
  const deadlineMarginMs = positiveInt(
    env,
    'DEADLINE_MARGIN_MS',
    DEFAULT_DEADLINE_MARGIN_MS,
    problems,
    MAX_DEADLINE_MARGIN_MS,
  );
  const windowFlush = booleanFlag(env, 'WINDOW_FLUSH', problems);
  const windowFlushGraceSeconds = optionalPositiveInt(env, 'WINDOW_FLUSH_GRACE_SECONDS', problems);
  const windowFlushCarrySeconds = optionalPositiveInt(env, 'WINDOW_FLUSH_CARRY_SECONDS', problems);
  const windowFlushFreshUpToSeconds = optionalPositiveInt(env, 'WINDOW_FLUSH_FRESH_UP_TO_SECONDS', problems);
  const metrics = metricsOf(env, problems, remote);
  if (problems.length > 0 || !metrics) throw new ConfigError(problems, 'configuration');
  return Object.freeze({
    countersTable,
    failureQueueUrl,
    failureBucket,
    failureDirectory,
    windowFlush,
    windowFlushGraceSeconds,
    windowFlushCarrySeconds,
    windowFlushFreshUpToSeconds,
    metrics: metrics.compiled,
    metricsSource: metrics.source,
    maxDecompressedBytes,
    maxBatchDecompressedBytes,
    writeConcurrency,
    deadlineMarginMs,
  });
}
