/**
 * Event source mapping settings, named as in the SAM `Kinesis` / `DynamoDB` event properties, parsed once
 * into a frozen object with Lambda's defaults.
 */
import {
  DEFAULT_BATCH_SIZE,
  MAX_BATCH_SIZE,
  MAX_BATCHING_WINDOW_SECONDS,
  MAX_RECORD_AGE_SECONDS,
  MAX_RETRY_ATTEMPTS,
  MAX_TUMBLING_WINDOW_SECONDS,
  MIN_RECORD_AGE_SECONDS,
} from './constants.js';
import { EsmSettingsError } from './errors.js';
import type { SourceKind } from './types.js';

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** The SAM event properties the emulator understands (template.yaml `Events.<name>.Properties`). */
export interface EventSourceMappingSettings {
  StartingPosition: StartingPosition;
  /** With AT_TIMESTAMP: Unix time in seconds (SAM `StartingPositionTimestamp`). */
  StartingPositionTimestamp?: number;
  BatchSize?: number;
  MaximumBatchingWindowInSeconds?: number;
  ParallelizationFactor?: number;
  BisectBatchOnFunctionError?: boolean;
  /** -1 = retry until the record expires. */
  MaximumRetryAttempts?: number;
  /** -1 = no age limit. */
  MaximumRecordAgeInSeconds?: number;
  FunctionResponseTypes?: string[];
  /** `Destination` is an SQS queue URL or ARN. */
  DestinationConfig?: { OnFailure?: { Destination?: string; Type?: string } };
  TumblingWindowInSeconds?: number;
  Enabled?: boolean;
  FilterCriteria?: unknown;
}

export interface ResolvedEsmSettings {
  readonly startingPosition: StartingPosition;
  readonly startingPositionTimestampMs: number | undefined;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1 = infinite. */
  readonly maximumRetryAttempts: number;
  /** -1 = infinite. */
  readonly maximumRecordAgeMs: number;
  readonly reportBatchItemFailures: boolean;
  readonly onFailureDestination: string | undefined;
  /** 0 = no tumbling window. */
  readonly tumblingWindowMs: number;
  readonly enabled: boolean;
}

export interface ResolveOptions {
  /**
   * Accept MaximumRecordAgeInSeconds below Lambda's minimum of 60 s, so tests and demos can watch records
   * expire without waiting a minute. Off by default: the template must stay deployable.
   */
  allowShortRecordAge?: boolean;
}

function integerIn(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new EsmSettingsError(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

/**
 * Validate settings and apply Lambda's defaults.
 *
 * @example
 * const settings = resolveEsmSettings({ StartingPosition: 'TRIM_HORIZON', BatchSize: 50 }, 'kinesis');
 * settings.maximumRetryAttempts; // -1
 */
export function resolveEsmSettings(
  input: EventSourceMappingSettings,
  kind: SourceKind,
  options: ResolveOptions = {},
): ResolvedEsmSettings {
  const position = input.StartingPosition;
  if (position !== 'TRIM_HORIZON' && position !== 'LATEST' && position !== 'AT_TIMESTAMP') {
    throw new EsmSettingsError(
      `StartingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP; got ${JSON.stringify(position)}.`,
    );
  }
  let startingPositionTimestampMs: number | undefined;
  if (position === 'AT_TIMESTAMP') {
    if (kind === 'dynamodb') {
      throw new EsmSettingsError(
        'StartingPosition AT_TIMESTAMP is only valid for Kinesis; DynamoDB Streams supports TRIM_HORIZON and LATEST.',
      );
    }
    const ts = input.StartingPositionTimestamp;
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
      throw new EsmSettingsError(
        'StartingPosition AT_TIMESTAMP needs StartingPositionTimestamp (Unix time in seconds).',
      );
    }
    startingPositionTimestampMs = Math.round(ts * 1000);
  }
  const parallelization = input.ParallelizationFactor ?? 1;
  if (parallelization !== 1) {
    throw new EsmSettingsError(
      `ParallelizationFactor ${JSON.stringify(parallelization)} is not emulated: only 1 is supported. streamtally's ` +
        'exactly-once counters rely on one batch in flight per shard, processed in sequence-number order; with a ' +
        'higher factor Lambda runs several batches of a shard at once (in order only per partition key). Set ParallelizationFactor: 1.',
    );
  }
  if (input.FilterCriteria !== undefined) {
    throw new EsmSettingsError(
      'FilterCriteria is not emulated; remove it from the event, or filter inside the function (streamtally metric filters).',
    );
  }
  const responseTypes = input.FunctionResponseTypes ?? [];
  if (!Array.isArray(responseTypes) || responseTypes.some((t) => t !== 'ReportBatchItemFailures')) {
    throw new EsmSettingsError(
      `FunctionResponseTypes may only contain ReportBatchItemFailures; got ${JSON.stringify(responseTypes)}.`,
    );
  }
  const retries = integerIn('MaximumRetryAttempts', input.MaximumRetryAttempts, -1, MAX_RETRY_ATTEMPTS, -1);
  const minAge = options.allowShortRecordAge ? 1 : MIN_RECORD_AGE_SECONDS;
  const age = integerIn('MaximumRecordAgeInSeconds', input.MaximumRecordAgeInSeconds, -1, MAX_RECORD_AGE_SECONDS, -1);
  if (age !== -1 && age < minAge) {
    throw new EsmSettingsError(
      `MaximumRecordAgeInSeconds must be -1 (no limit) or from ${minAge} to ${MAX_RECORD_AGE_SECONDS}; got ${age}.`,
    );
  }
  const destination = input.DestinationConfig?.OnFailure?.Destination;
  if (destination !== undefined && (typeof destination !== 'string' || destination === '')) {
    throw new EsmSettingsError('DestinationConfig.OnFailure.Destination must be an SQS queue URL or ARN.');
  }
  if (destination?.startsWith('arn:aws:sns:')) {
    throw new EsmSettingsError(
      'An SNS on-failure destination is not emulated; use an SQS queue (the emulator sends the same JSON record to it).',
    );
  }
  return Object.freeze({
    startingPosition: position,
    startingPositionTimestampMs,
    batchSize: integerIn('BatchSize', input.BatchSize, 1, MAX_BATCH_SIZE, DEFAULT_BATCH_SIZE),
    batchingWindowMs:
      integerIn(
        'MaximumBatchingWindowInSeconds',
        input.MaximumBatchingWindowInSeconds,
        0,
        MAX_BATCHING_WINDOW_SECONDS,
        0,
      ) * 1000,
    bisectBatchOnFunctionError: input.BisectBatchOnFunctionError === true,
    maximumRetryAttempts: retries,
    maximumRecordAgeMs: age === -1 ? -1 : age * 1000,
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    onFailureDestination: destination,
    tumblingWindowMs:
      integerIn('TumblingWindowInSeconds', input.TumblingWindowInSeconds, 0, MAX_TUMBLING_WINDOW_SECONDS, 0) * 1000,
    enabled: input.Enabled !== false,
  });
}
