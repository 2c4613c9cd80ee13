/**
 * The analytics handler's wiring: a Middy-wrapped batch handler for Kinesis and DynamoDB Streams events
 * (and their tumbling-window variants), built once per cold start from explicit dependencies.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { RuntimeConfig } from '../config.js';
import { CounterWriter } from '../sink/counter-writer.js';
import { FailureDestination } from '../sink/failure-destination.js';
import { GroupAdmission } from '../sink/group-admission.js';
import { DirectoryRecordStore, S3RecordStore, type RecordStore } from '../sink/record-store.js';
import { FailureLedger } from '../sink/failure-ledger.js';
import {
  StreamProcessor,
  type BatchSummary,
  type StreamEvent,
  type StreamResponse,
} from '../pipeline/stream-processor.js';

export interface AnalyticsDependencies {
  config: RuntimeConfig;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  /** For FAILURE_BUCKET; created from the environment when not given. */
  s3?: S3Client;
  logger?: Logger;
  metrics?: Metrics;
  /** X-Ray (Tracing: Active); off outside Lambda. Capture the SDK clients with it where they are created. */
  tracer?: Tracer;
  /** Each batch's summary, after its writes settled (the local runner's status line). */
  onBatch?: (summary: BatchSummary) => void;
}

/**
 * The response is returned this long before the Lambda deadline at the latest, writes in flight or not:
 * more than Middy's timeoutEarlyInMillis (5 ms), room for logging and the response itself.
 */
export const RETURN_MARGIN_MS = 150;

/** Builds the handler from explicit dependencies (tests, the local runner) or from the environment. */
export function createAnalyticsHandler(deps: AnalyticsDependencies) {
  const { config } = deps;
  const logger = deps.logger ?? new Logger({ serviceName: 'streamtally' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'streamtally', serviceName: 'streamtally' });
  const tracer = deps.tracer ?? new Tracer({ serviceName: 'streamtally' });
  const processor = new StreamProcessor({
    config: config.metrics,
    writer: new CounterWriter({
      client: deps.dynamodb,
      tableName: config.countersTable,
      concurrency: config.writeConcurrency,
    }),
    admission: new GroupAdmission({ client: deps.dynamodb, tableName: config.countersTable }),
    failureDestination: config.failureQueueUrl
      ? new FailureDestination({ client: deps.sqs, queueUrl: config.failureQueueUrl, store: recordStoreOf(deps) })
      : undefined,
    maxDecompressedBytes: config.maxDecompressedBytes,
    maxBatchDecompressedBytes: config.maxBatchDecompressedBytes,
    failureLedger: new FailureLedger({ client: deps.dynamodb, tableName: config.countersTable }),
    onBatch: deps.onBatch,
    windowFlush: config.windowFlush,
    windowStateLimits: {
      ...(config.windowFlushGraceSeconds === undefined ? {} : { graceMs: config.windowFlushGraceSeconds * 1000 }),
      ...(config.windowFlushCarrySeconds === undefined ? {} : { carryMs: config.windowFlushCarrySeconds * 1000 }),
      ...(config.windowFlushFreshUpToSeconds === undefined
        ? {}
        : { freshUpToMs: config.windowFlushFreshUpToSeconds * 1000 }),
    },
  });
  let warnedNoLane = false;

  const processBatch = async (event: StreamEvent, context: Context): Promise<StreamResponse> => {
    // No write starts within deadlineMarginMs of the end; the response goes RETURN_MARGIN_MS before it,
    // ahead of Middy's own timeout (timeoutEarlyInMillis, 5 ms by default), which would throw instead.
    const now = Date.now();
    const remainingMs = context.getRemainingTimeInMillis();
    // At most half the time left is kept back, so a function whose timeout is under the margin still progresses.
    const deadlineMs = now + Math.max(0, remainingMs - Math.min(config.deadlineMarginMs, remainingMs / 2));
    const returnByMs = now + Math.max(0, remainingMs - RETURN_MARGIN_MS);
    const { response, summary } = await processor.process(event, deadlineMs, returnByMs);
    if (summary.source === 'dynamodb' && summary.lane === undefined && !warnedNoLane) {
      warnedNoLane = true;
      logger.warn(
        'DynamoDB Streams event without shardId: counters from it are at-least-once. Set TumblingWindowInSeconds on the event source (template.yaml does) so Lambda names the shard and writes stay exact.',
      );
    }
    report(logger, metrics, summary);
    if (processor.lastUndeliveredRejects.length > 0) {
      logger.warn('rejected records (no FAILURE_QUEUE_URL configured, so they are kept only in this log)', {
        rejects: processor.lastUndeliveredRejects,
      });
    }
    if (summary.windowFinal) logger.info('tumbling window closed', { window: event.window, state: response.state });
    return response;
  };

  return middy(processBatch)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** Where records too large for a queue message go: FAILURE_BUCKET (S3), else FAILURE_DIRECTORY (local). */
function recordStoreOf(deps: AnalyticsDependencies): RecordStore | undefined {
  const { failureBucket, failureDirectory } = deps.config;
  if (failureBucket) return new S3RecordStore({ client: deps.s3 ?? new S3Client({}), bucket: failureBucket });
  if (failureDirectory) return new DirectoryRecordStore(failureDirectory);
  return undefined;
}

function report(logger: Logger, metrics: Metrics, s: BatchSummary): void {
  logger.info('batch', {
    source: s.source,
    shard: s.lane,
    recordsIn: s.recordsIn,
    eventsIn: s.eventsIn,
    eventsCounted: s.eventsCounted,
    rejected: s.rejected,
    rejectedByReason: s.rejectedByReason,
    late: s.late,
    counterItems: s.counterItems,
    counterWrites: s.writes.written,
    alreadyApplied: s.writes.alreadyApplied,
    partlyApplied: s.writes.partlyApplied,
    conflicts: s.writes.conflicts,
    retries: s.writes.retries + (s.failureDestination.errors.length > 0 ? 1 : 0),
    sentToFailureDestination: s.failureDestination.sent,
    checkpoint: s.checkpoint ?? null,
  });
  for (const err of [...s.writes.errors, ...s.failureDestination.errors])
    logger.error('batch item not durable; Lambda will re-deliver from the checkpoint', err);
  if (s.ledger instanceof Error) logger.error('failure ledger not recorded', s.ledger);
  metrics.addMetric('RecordsIn', MetricUnit.Count, s.recordsIn);
  metrics.addMetric('EventsCounted', MetricUnit.Count, s.eventsCounted);
  metrics.addMetric('Rejected', MetricUnit.Count, s.rejected);
  metrics.addMetric('Late', MetricUnit.Count, s.late);
  metrics.addMetric('CounterWrites', MetricUnit.Count, s.writes.written);
  metrics.addMetric('DuplicateDeliveriesSkipped', MetricUnit.Count, s.writes.alreadyApplied);
  // Not durable: the NotDurableAlarm (a rollback trigger of the deployment) watches this one.
  metrics.addMetric('WriteFailures', MetricUnit.Count, s.writes.failed + s.failureDestination.failed);
  metrics.addMetric('WriteConflicts', MetricUnit.Count, s.writes.conflicts);
}
