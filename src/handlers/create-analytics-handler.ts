/**
 * The analytics handler's wiring: a Middy-wrapped batch handler for Kinesis and DynamoDB Streams events
 * (and their tumbling-window variants), built once per cold start from explicit dependencies.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { RuntimeConfig } from '../config.js';
import { CounterWriter } from '../sink/counter-writer.js';
import { FailureDestination } from '../sink/failure-destination.js';
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
  logger?: Logger;
  metrics?: Metrics;
  /** Each batch's summary, after its writes settled (the local runner's status line). */
  onBatch?: (summary: BatchSummary) => void;
}

/** Builds the handler from explicit dependencies (tests, the local runner) or from the environment. */
export function createAnalyticsHandler(deps: AnalyticsDependencies) {
  const { config } = deps;
  const logger = deps.logger ?? new Logger({ serviceName: 'streamtally' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'streamtally', serviceName: 'streamtally' });
  const processor = new StreamProcessor({
    config: config.metrics,
    writer: new CounterWriter({
      client: deps.dynamodb,
      tableName: config.countersTable,
      concurrency: config.writeConcurrency,
    }),
    failureDestination: config.failureQueueUrl
      ? new FailureDestination({ client: deps.sqs, queueUrl: config.failureQueueUrl })
      : undefined,
    maxDecompressedBytes: config.maxDecompressedBytes,
    failureLedger: new FailureLedger({ client: deps.dynamodb, tableName: config.countersTable }),
    onBatch: deps.onBatch,
  });
  let warnedNoLane = false;

  const processBatch = async (event: StreamEvent, context: Context): Promise<StreamResponse> => {
    const deadlineMs = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - config.deadlineMarginMs);
    const { response, summary } = await processor.process(event, deadlineMs);
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
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
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
  metrics.addMetric('WriteFailures', MetricUnit.Count, s.writes.failed + s.failureDestination.failed);
}
