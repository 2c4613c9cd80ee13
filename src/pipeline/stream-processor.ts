/**
 * One Lambda batch from a stream, end to end: decode -> aggregate -> coalesced idempotent writes and
 * rejects to the failure destination -> partial batch response. No Middy, no environment: the handler
 * builds one processor per cold start and passes it the event.
 */
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { Aggregator } from '../core/aggregator.js';
import type { CompiledConfig } from '../core/metric-config.js';
import {
  DynamoDbRecordDecoder,
  KinesisRecordDecoder,
  rawDataOf,
  sequenceNumberOf,
  shardIdOf,
} from '../sources/index.js';
import { deltaKey, type CounterWriter, type WriteResult } from '../sink/counter-writer.js';
import type { FailureDestination, RejectedRecordMessage, SendResult } from '../sink/failure-destination.js';
import type { FailureLedger } from '../sink/failure-ledger.js';
import { cellItemDelta, statsItemDelta, type ItemDelta } from '../sink/item-delta.js';
import { padSequence } from '../sink/layout.js';

type StreamRecord = KinesisStreamRecord | DynamoDBRecord;

/** The parts of a Lambda stream event the processor reads (plain or tumbling-window). */
export interface StreamEvent {
  Records: StreamRecord[];
  window?: { start: string; end: string };
  state?: Record<string, unknown>;
  shardId?: string;
  eventSourceARN?: string;
  isFinalInvokeForWindow?: boolean;
  isWindowTerminatedEarly?: boolean;
}

export interface StreamResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
  state?: Record<string, unknown>;
}

/** What one batch did: logged as one line and emitted as metrics by the handler. */
export interface BatchSummary {
  source: 'kinesis' | 'dynamodb' | 'none';
  lane: string | undefined;
  recordsIn: number;
  eventsIn: number;
  eventsCounted: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  late: number;
  counterItems: number;
  writes: WriteResult;
  failureDestination: SendResult;
  checkpoint: string | undefined;
  /** On a failed attempt: whether the failure ledger (for a later replay) was recorded, and why not. */
  ledger: 'recorded' | Error | undefined;
  windowFinal: boolean;
}

export interface ProcessorOptions {
  config: CompiledConfig;
  writer: CounterWriter;
  /** Where rejected records go; undefined only for local experiments (they are then returned for logging). */
  failureDestination: FailureDestination | undefined;
  maxDecompressedBytes: number;
  /** Where a failed attempt records what it left durable, for `npm run replay`; undefined: not recorded. */
  failureLedger?: FailureLedger;
  /** Called with each batch's summary once its writes settled (the local runner's status line uses it). */
  onBatch?: (summary: BatchSummary) => void;
}

const NO_SEND: SendResult = { sent: 0, failed: 0, firstFailedRecord: -1, errors: [] };

export class StreamProcessor {
  private readonly config: CompiledConfig;
  private readonly aggregator: Aggregator;
  private recomputeAggregator: Aggregator | undefined;
  private readonly kinesisDecoder: KinesisRecordDecoder;
  private readonly dynamoDecoder = new DynamoDbRecordDecoder();
  private readonly writer: CounterWriter;
  private readonly failureDestination: FailureDestination | undefined;
  private readonly onBatch: ((summary: BatchSummary) => void) | undefined;
  private readonly failureLedger: FailureLedger | undefined;
  /** The batch in progress; the next one starts after it (see `process`). */
  private tail: Promise<void> = Promise.resolve();
  /** Rejects of the last batch when no failure destination is configured. */
  lastUndeliveredRejects: RejectedRecordMessage[] = [];

  constructor(options: ProcessorOptions) {
    this.config = options.config;
    this.aggregator = new Aggregator(options.config);
    this.kinesisDecoder = new KinesisRecordDecoder({ maxDecompressedBytes: options.maxDecompressedBytes });
    this.writer = options.writer;
    this.failureDestination = options.failureDestination;
    this.onBatch = options.onBatch;
    this.failureLedger = options.failureLedger;
  }

  /**
   * One batch at a time per processor, as in a Lambda execution environment. The local runner invokes the
   * same module for several shards at once; batches then queue here, because a batch's deltas hold the
   * aggregator's pooled sketches until its writes finish, and the next batch's `begin()` resets them.
   */
  process(event: StreamEvent, deadlineMs: number): Promise<{ response: StreamResponse; summary: BatchSummary }> {
    const run = this.tail.then(() => this.processNow(event, deadlineMs));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async processNow(
    event: StreamEvent,
    deadlineMs: number,
  ): Promise<{ response: StreamResponse; summary: BatchSummary }> {
    const records = event.Records ?? [];
    const source = records.length === 0 ? 'none' : 'kinesis' in records[0] ? 'kinesis' : 'dynamodb';
    const lane = event.shardId ?? (records.length > 0 ? shardIdOf(records[0]) : undefined);

    const aggregator = this.aggregator;
    this.decodeInto(aggregator, records);
    const deltas: ItemDelta[] = [];
    for (const cell of aggregator.cells()) deltas.push(cellItemDelta(cell));
    for (const stats of aggregator.statistics()) deltas.push(statsItemDelta(stats));

    const positions: Array<string | undefined> = new Array(records.length);
    const positionOf = (i: number): string => (positions[i] ??= padSequence(sequenceNumberOf(records[i]) ?? String(i)));

    const messages = this.rejectMessages(records, aggregator);
    const [writes, sent] = await Promise.all([
      this.writer.write({
        deltas,
        lane,
        positionOf,
        recordCount: records.length,
        recompute: (from) => this.recompute(records, from),
        deadlineMs,
      }),
      this.failureDestination && messages.length > 0
        ? this.failureDestination.send(messages, deadlineMs)
        : Promise.resolve(NO_SEND),
    ]);
    this.lastUndeliveredRejects = this.failureDestination ? [] : messages;

    // Report at the lowest record whose effect is not durable; Lambda re-delivers from there.
    let failedAt = -1;
    if (writes.firstFailedRecord >= 0) failedAt = writes.firstFailedRecord;
    if (sent.firstFailedRecord >= 0 && (failedAt < 0 || sent.firstFailedRecord < failedAt))
      failedAt = sent.firstFailedRecord;
    const checkpoint = failedAt >= 0 ? sequenceNumberOf(records[failedAt]) : undefined;
    const response: StreamResponse = {
      batchItemFailures: checkpoint !== undefined ? [{ itemIdentifier: checkpoint }] : [],
    };
    let ledger: BatchSummary['ledger'];
    if (checkpoint !== undefined && lane !== undefined && this.failureLedger) {
      // Cold path (failed attempts only): what this attempt left durable, for a replay if Lambda gives up.
      const entries = new Map<string, string | null>();
      for (let i = 0; i < deltas.length; i++)
        entries.set(deltaKey(deltas[i].pk, deltas[i].sk), writes.durableThrough[i] ?? null);
      try {
        await this.failureLedger.record(
          { lane, checkpoint: positionOf(failedAt), end: positionOf(records.length - 1), entries },
          deadlineMs,
        );
        ledger = 'recorded';
      } catch (err) {
        ledger = err as Error;
      }
    }

    const rejectedByReason: Record<string, number> = {};
    const rejects = aggregator.rejected();
    for (let i = 0; i < rejects.length; i++)
      rejectedByReason[rejects[i].reasonName] = (rejectedByReason[rejects[i].reasonName] ?? 0) + 1;
    const summary: BatchSummary = {
      source,
      lane,
      recordsIn: records.length,
      eventsIn: aggregator.eventsIn,
      eventsCounted: aggregator.eventsCounted,
      rejected: rejects.length,
      rejectedByReason,
      late: (rejectedByReason.too_late ?? 0) + (rejectedByReason.too_early ?? 0),
      counterItems: deltas.length,
      writes,
      failureDestination: sent,
      checkpoint,
      ledger,
      windowFinal: event.isFinalInvokeForWindow === true,
    };
    if (event.window) response.state = nextWindowState(event.state, summary);
    this.onBatch?.(summary);
    return { response, summary };
  }

  private decodeInto(aggregator: Aggregator, records: ReadonlyArray<StreamRecord>): void {
    aggregator.begin();
    if (records.length === 0) return;
    if ('kinesis' in records[0]) this.kinesisDecoder.decode(records as KinesisStreamRecord[], aggregator);
    else this.dynamoDecoder.decode(records as DynamoDBRecord[], aggregator);
  }

  /** Deltas of records[from..] only, with record indexes of the whole batch: for partly applied items. */
  private recompute(records: ReadonlyArray<StreamRecord>, from: number): ReadonlyMap<string, ItemDelta> {
    this.recomputeAggregator ??= new Aggregator(this.config);
    const aggregator = this.recomputeAggregator;
    this.decodeInto(aggregator, records.slice(from));
    const out = new Map<string, ItemDelta>();
    const shift = (d: ItemDelta): void => {
      out.set(deltaKey(d.pk, d.sk), {
        pk: d.pk,
        sk: d.sk,
        firstRecord: d.firstRecord + from,
        lastRecord: d.lastRecord + from,
        merge: d.merge,
      });
    };
    for (const cell of aggregator.cells()) shift(cellItemDelta(cell));
    for (const stats of aggregator.statistics()) shift(statsItemDelta(stats));
    return out;
  }

  private rejectMessages(records: ReadonlyArray<StreamRecord>, aggregator: Aggregator): RejectedRecordMessage[] {
    const rejects = aggregator.rejected();
    if (rejects.length === 0) return [];
    const byRecord = new Map<number, RejectedRecordMessage>();
    for (let i = 0; i < rejects.length; i++) {
      const r = rejects[i];
      let message = byRecord.get(r.recordIndex);
      if (!message) {
        const record = records[r.recordIndex];
        message = {
          source: 'streamtally',
          reasons: [],
          recordIndex: r.recordIndex,
          shardId: shardIdOf(record),
          sequenceNumber: sequenceNumberOf(record) ?? '',
          eventSourceARN: record.eventSourceARN,
          record: rawDataOf(record),
        };
        byRecord.set(r.recordIndex, message);
      }
      message.reasons.push({
        reason: r.reasonName,
        metric: r.metricIndex >= 0 ? this.config.metrics[r.metricIndex].name : undefined,
        detail: r.detail,
      });
    }
    return [...byRecord.values()];
  }
}

/** Running totals carried between the invocations of one Lambda tumbling window. */
export function nextWindowState(
  previous: Record<string, unknown> | undefined,
  summary: BatchSummary,
): Record<string, unknown> {
  const prev = previous ?? {};
  const n = (key: string): number => (typeof prev[key] === 'number' ? (prev[key] as number) : 0);
  return {
    invocations: n('invocations') + 1,
    recordsIn: n('recordsIn') + summary.recordsIn,
    eventsCounted: n('eventsCounted') + summary.eventsCounted,
    rejected: n('rejected') + summary.rejected,
    counterWrites: n('counterWrites') + summary.writes.written,
  };
}
