/**
 * One Lambda batch from a stream, end to end: decode -> aggregate -> coalesced idempotent writes and
 * rejects to the failure destination -> partial batch response. No Middy, no environment: the handler
 * builds one processor per cold start and passes it the event.
 */
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { Aggregator, type CellDelta, type StatsDelta } from '../core/aggregator.js';
import type { CompiledConfig } from '../core/metric-config.js';
import {
  DynamoDbRecordDecoder,
  KinesisRecordDecoder,
  rawDataOf,
  sequenceNumberOf,
  shardIdOf,
} from '../sources/index.js';
import { deltaKey, emptyWriteResult, type CounterWriter, type WriteResult } from '../sink/counter-writer.js';
import {
  rejectedRecordMessages,
  type FailureDestination,
  type RejectedRecordMessage,
  type SendResult,
} from '../sink/failure-destination.js';
import type { FailureLedger } from '../sink/failure-ledger.js';
import { cellItemDelta, statsItemDelta, type ItemDelta } from '../sink/item-delta.js';
import { foldCells, withFoldedStats, type FoldDecision, type GroupAdmission } from '../sink/group-admission.js';
import { padSequence } from '../sink/layout.js';
import {
  FLUSH_CARRIED_ABOVE_BYTES,
  MAX_CARRIED_BYTES,
  WindowDeltas,
  WindowFlushError,
  WindowStateFullError,
  type CarriedFlush,
  type WindowFlushCadence,
} from './window-state.js';

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
  /** Bytes gunzip produced for this batch (bounded by MAX_BATCH_DECOMPRESSED_BYTES). */
  decompressedBytes: number;
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
  /** Decides maxGroupsPerWindow folds by persisted admissions; without it capped metrics are not capped. */
  admission?: GroupAdmission;
  /** Decompression budget of a batch (see KinesisDecoderOptions.maxBatchDecompressedBytes). */
  maxBatchDecompressedBytes?: number;
  /** Where a failed attempt records what it left durable, for `npm run replay`; undefined: not recorded. */
  failureLedger?: FailureLedger;
  /** Called with each batch's summary once its writes settled (the local runner's status line uses it). */
  onBatch?: (summary: BatchSummary) => void;
  /** Window flush mode: in tumbling-window invocations, carry deltas in `state` and write at the window's end. */
  windowFlush?: boolean;
  /**
   * Window flush timing and sizes: a carried window is written by the cadence rule of
   * {@link WindowFlushCadence} (`graceMs`, `carryMs`; default: only at the tumbling window's end); the state
   * is flushed whole above `flushAboveBytes` and never returned above `maxBytes` (tests scale these down).
   */
  windowStateLimits?: Partial<WindowStateLimits>;
}

export interface WindowStateLimits extends WindowFlushCadence {
  flushAboveBytes: number;
  maxBytes: number;
}

/** Size of the carried deltas as Lambda counts state (UTF-8 of the JSON); their sketches are already base64. */
function carriedBytes(state: Record<string, unknown> | undefined): number {
  return state?.carried === undefined ? 0 : Buffer.byteLength(JSON.stringify(state.carried));
}

/** A record's arrival time (Kinesis approximateArrivalTimestamp, DynamoDB ApproximateCreationDateTime), ms. */
function arrivalMsOf(record: StreamRecord): number {
  if ('kinesis' in record) return record.kinesis.approximateArrivalTimestamp * 1000;
  return (record.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000;
}

const NO_SEND: SendResult = { sent: 0, failed: 0, firstFailedRecord: -1, errors: [] };

export class StreamProcessor {
  private readonly config: CompiledConfig;
  /** Metric names by index, for reject messages. */
  private readonly metricNames: ReadonlyArray<string>;
  private readonly aggregator: Aggregator;
  private recomputeAggregator: Aggregator | undefined;
  private readonly kinesisDecoder: KinesisRecordDecoder;
  private readonly dynamoDecoder = new DynamoDbRecordDecoder();
  private readonly writer: CounterWriter;
  private readonly admission: GroupAdmission | undefined;
  private readonly failureDestination: FailureDestination | undefined;
  private readonly onBatch: ((summary: BatchSummary) => void) | undefined;
  private readonly windowFlush: boolean;
  private readonly windowLimits: WindowStateLimits;
  private readonly failureLedger: FailureLedger | undefined;
  /** The batch in progress; the next one starts after it (see `process`). */
  private tail: Promise<void> = Promise.resolve();
  /** Rejects of the last batch when no failure destination is configured. */
  lastUndeliveredRejects: RejectedRecordMessage[] = [];

  constructor(options: ProcessorOptions) {
    this.config = options.config;
    this.metricNames = options.config.metrics.map((m) => m.name);
    this.aggregator = new Aggregator(options.config, { foldInBatch: false });
    this.admission = options.admission;
    this.kinesisDecoder = new KinesisRecordDecoder({
      maxDecompressedBytes: options.maxDecompressedBytes,
      maxBatchDecompressedBytes: options.maxBatchDecompressedBytes,
    });
    this.writer = options.writer;
    this.failureDestination = options.failureDestination;
    this.onBatch = options.onBatch;
    this.windowFlush = options.windowFlush === true;
    this.windowLimits = {
      flushAboveBytes: FLUSH_CARRIED_ABOVE_BYTES,
      maxBytes: MAX_CARRIED_BYTES,
      graceMs: Number.POSITIVE_INFINITY,
      carryMs: Number.POSITIVE_INFINITY,
      ...options.windowStateLimits,
    };
    this.failureLedger = options.failureLedger;
  }

  /**
   * One batch at a time per processor, as in a Lambda execution environment. The local runner invokes the
   * same module for several shards at once; batches then queue here, because a batch's deltas hold the
   * aggregator's pooled sketches until its writes finish, and the next batch's `begin()` resets them.
   */
  process(
    event: StreamEvent,
    deadlineMs: number,
    returnByMs = Number.POSITIVE_INFINITY,
  ): Promise<{ response: StreamResponse; summary: BatchSummary }> {
    const run = this.tail.then(() =>
      this.windowFlush && event.window && event.shardId
        ? this.processWindowFlush(event, deadlineMs)
        : this.processNow(event, deadlineMs, returnByMs),
    );
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * `deadlineMs`: no write starts after it. `returnByMs`: the response is returned by then even if writes
   * are still in flight; they count as not durable (the writes are idempotent, so one that lands later
   * is skipped on re-delivery), and the partial batch response names the lowest record not yet durable.
   */
  private async processNow(
    event: StreamEvent,
    deadlineMs: number,
    returnByMs: number,
  ): Promise<{ response: StreamResponse; summary: BatchSummary }> {
    const records = event.Records ?? [];
    const source = records.length === 0 ? 'none' : 'kinesis' in records[0] ? 'kinesis' : 'dynamodb';
    const lane = event.shardId ?? (records.length > 0 ? shardIdOf(records[0]) : undefined);

    const aggregator = this.aggregator;
    this.decodeInto(aggregator, records);
    // Records from `decodedUpTo` on were not started (the batch's decompression budget): not durable.
    const decodedUpTo = this.lastStoppedAt >= 0 ? this.lastStoppedAt : records.length;
    this.mainDecompressedBytes = this.kinesisDecoder.stats.decompressedBytes;
    const cells = aggregator.cells();
    const stats = aggregator.statistics();

    const positions: Array<string | undefined> = new Array(records.length);
    const positionOf = (i: number): string => (positions[i] ??= padSequence(sequenceNumberOf(records[i]) ?? String(i)));

    const messages = this.rejectMessages(records, aggregator, lane);
    const sentFlags = new Uint8Array(messages.length);
    // Filled in once the group cap is decided; until then nothing of the counters is durable.
    const progress: { deltas: ItemDelta[] | undefined; durable: Uint8Array } = {
      deltas: undefined,
      durable: new Uint8Array(0),
    };
    const writeCounters = async (): Promise<WriteResult> => {
      let capped: { deltas: ItemDelta[]; folded: FoldDecision };
      try {
        capped = await this.cappedDeltas(cells, stats, deadlineMs);
      } catch (err) {
        return admissionFailed(cells, err as Error);
      }
      const { deltas, folded } = capped;
      progress.durable = new Uint8Array(deltas.length);
      progress.deltas = deltas;
      return this.writer.write({
        deltas,
        lane,
        positionOf,
        recordCount: records.length,
        recompute: (from) => this.recompute(records, from, decodedUpTo, folded),
        deadlineMs,
        durable: progress.durable,
      });
    };
    const work = Promise.all([
      writeCounters(),
      this.failureDestination && messages.length > 0
        ? this.failureDestination.send(messages, deadlineMs, sentFlags)
        : Promise.resolve(NO_SEND),
    ]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outOfTime =
      returnByMs === Number.POSITIVE_INFINITY
        ? undefined
        : new Promise<'out of time'>((resolve) => {
            timer = setTimeout(() => resolve('out of time'), Math.max(0, returnByMs - Date.now()));
          });
    const settled = outOfTime ? await Promise.race([work, outOfTime]) : await work;
    if (timer) clearTimeout(timer);
    let writes: WriteResult;
    let sent: SendResult;
    if (settled === 'out of time') {
      // Hold the next batch until these writes end: their deltas use this aggregator's pooled sketches.
      this.tail = this.tail.then(() =>
        work.then(
          () => undefined,
          () => undefined,
        ),
      );
      ({ writes, sent } = notDurable(
        progress.deltas,
        progress.durable,
        messages,
        sentFlags,
        this.failureDestination !== undefined,
      ));
    } else [writes, sent] = settled;
    this.lastUndeliveredRejects = this.failureDestination ? [] : messages;

    // Report at the lowest record whose effect is not durable; Lambda re-delivers from there.
    let failedAt = -1;
    if (writes.firstFailedRecord >= 0) failedAt = writes.firstFailedRecord;
    if (sent.firstFailedRecord >= 0 && (failedAt < 0 || sent.firstFailedRecord < failedAt))
      failedAt = sent.firstFailedRecord;
    if (decodedUpTo < records.length && (failedAt < 0 || decodedUpTo < failedAt)) failedAt = decodedUpTo;
    const checkpoint = failedAt >= 0 ? sequenceNumberOf(records[failedAt]) : undefined;
    const response: StreamResponse = {
      batchItemFailures: checkpoint !== undefined ? [{ itemIdentifier: checkpoint }] : [],
    };
    let ledger: BatchSummary['ledger'];
    if (checkpoint !== undefined && lane !== undefined && this.failureLedger) {
      // Cold path (failed attempts only): what this attempt left durable, for a replay if Lambda gives up.
      const entries = new Map<string, string | null>();
      // Undefined when the response went before the group cap was decided: then no item is known durable.
      const deltas = progress.deltas ?? [];
      for (let i = 0; i < deltas.length; i++)
        entries.set(deltaKey(deltas[i].pk, deltas[i].sk), writes.durableThrough[i] ?? null);
      // The response still goes out by returnByMs (issue 11): a ledger write that would delay it is abandoned
      // (the replay then finds no ledger of this attempt and keeps the range rather than guess).
      try {
        await withinTime(
          this.failureLedger.record(
            { lane, checkpoint: positionOf(failedAt), end: positionOf(records.length - 1), entries },
            deadlineMs,
          ),
          returnByMs,
        );
        ledger = 'recorded';
      } catch (err) {
        ledger = err as Error;
      }
    }

    const rejectedByReason: Record<string, number> = {};
    const rejects = aggregator.rejected();
    for (let i = 0; i < rejects.length; i++)
      rejectedByReason[rejects[i].reasonName] = (rejectedByReason[rejects[i].reasonName] ?? 0) + rejects[i].count;
    const summary: BatchSummary = {
      source,
      lane,
      recordsIn: records.length,
      eventsIn: aggregator.eventsIn,
      eventsCounted: aggregator.eventsCounted,
      rejected: aggregator.rejectedEvents,
      rejectedByReason,
      late: (rejectedByReason.too_late ?? 0) + (rejectedByReason.too_early ?? 0),
      counterItems: progress.deltas?.length ?? 0,
      decompressedBytes: source === 'kinesis' ? this.mainDecompressedBytes : 0,
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

  /**
   * The item deltas of `cells` and `stats`, with the group cap (maxGroupsPerWindow) applied: folds decided by
   * persisted admissions, so the same on every delivery. Throws when the admissions cannot be decided.
   */
  private async cappedDeltas(
    cells: ReadonlyArray<CellDelta>,
    stats: ReadonlyArray<StatsDelta>,
    deadlineMs: number,
  ): Promise<{ deltas: ItemDelta[]; folded: FoldDecision }> {
    let folded: FoldDecision = NO_FOLDS;
    let capped = false;
    for (let i = 0; i < cells.length && !capped; i++) capped = cells[i].metric.capsGroups;
    if (capped && this.admission) folded = await this.admission.decide(cells, deadlineMs);
    const deltas: ItemDelta[] = [];
    for (const cell of foldCells(cells, folded)) deltas.push(cellItemDelta(cell));
    for (const s of withFoldedStats(stats, cells, folded)) deltas.push(statsItemDelta(s));
    return { deltas, folded };
  }

  /** Writes carried deltas (group cap applied); throws {@link WindowFlushError} unless all of it is durable. */
  private async writeCarried(part: CarriedFlush, lane: string, deadlineMs: number): Promise<WriteResult> {
    let deltas: ItemDelta[];
    try {
      ({ deltas } = await this.cappedDeltas(part.cells, part.stats, deadlineMs));
    } catch (err) {
      throw new WindowFlushError(
        `the group cap of carried counter items of ${lane} could not be decided; Lambda retries with the same state`,
        { cause: err },
      );
    }
    const flush = await this.writer.write({
      deltas,
      lane,
      positionOf: part.positionOf,
      recordCount: part.recordCount,
      recompute: () => {
        // Cannot happen: every other write of these items has positions outside this flush's.
        throw new WindowFlushError(`an item holds a position inside the carried window state of ${lane}`);
      },
      deadlineMs,
    });
    if (flush.firstFailedRecord >= 0)
      throw new WindowFlushError(
        `flushing carried counter items of ${lane} left ${flush.failed} not durable; Lambda retries with the same state`,
        { cause: flush.errors[0] },
      );
    return flush;
  }

  /**
   * Window flush mode (see window-state.ts for why it is exact): flush the carried windows that are due
   * (closed), all of them when the window ends or the carried state is full, then carry this batch's
   * deltas, or, in the final invocation, write them through the per-batch path. Anything not durable
   * throws, so Lambda retries with the same state.
   */
  private async processWindowFlush(
    event: StreamEvent,
    deadlineMs: number,
  ): Promise<{ response: StreamResponse; summary: BatchSummary }> {
    const lane = event.shardId as string;
    const records = event.Records ?? [];
    const final = event.isFinalInvokeForWindow === true;
    const carried = WindowDeltas.fromState(event.state, this.config);
    // What to flush is decided on the incoming state alone (see window-state.ts), before this batch.
    const windows =
      final || carriedBytes(event.state) > this.windowLimits.flushAboveBytes
        ? carried.windows()
        : carried.dueWindows(this.windowLimits);
    let flush: WriteResult | undefined;
    if (windows.length > 0) {
      flush = await this.writeCarried(carried.flush(windows), lane, deadlineMs);
      carried.remove(windows);
    }

    let out: { response: StreamResponse; summary: BatchSummary; carriedJson?: unknown };
    if (final || records.length === 0) {
      // The per-batch path: positions of this batch are above everything carried.
      out = await this.processNow(
        { ...event, window: undefined, state: undefined },
        deadlineMs,
        Number.POSITIVE_INFINITY,
      );
      if (out.response.batchItemFailures.length > 0)
        throw new WindowFlushError(
          `the final invocation of ${lane}'s window could not make its own records durable; Lambda retries it`,
          { cause: out.summary.writes.errors[0] ?? out.summary.failureDestination.errors[0] },
        );
    } else {
      out = await this.carryBatch(event, carried, deadlineMs);
    }
    if (flush) {
      const w = out.summary.writes;
      w.written += flush.written;
      w.alreadyApplied += flush.alreadyApplied;
      w.retries += flush.retries;
      w.conflicts += flush.conflicts;
    }
    const totals = nextWindowState(event.state, out.summary);
    out.response.state = carried.isEmpty ? totals : { ...totals, carried: out.carriedJson ?? carried.toJson().json };
    out.summary.windowFinal = final;
    return { response: out.response, summary: out.summary };
  }

  /** Merges this batch's deltas into `carried` (no counter writes); its rejects still go out now. */
  private async carryBatch(
    event: StreamEvent,
    carried: WindowDeltas,
    deadlineMs: number,
  ): Promise<{ response: StreamResponse; summary: BatchSummary; carriedJson: unknown }> {
    const records = event.Records;
    const aggregator = this.aggregator;
    this.decodeInto(aggregator, records);
    this.mainDecompressedBytes = 'kinesis' in records[0] ? this.kinesisDecoder.stats.decompressedBytes : 0;
    // A record past the batch's decompression budget was not decoded: carrying the rest would lose it,
    // so the invocation fails and Lambda retries (bisecting) with the same state.
    if (this.lastStoppedAt >= 0)
      throw new WindowStateFullError(
        `record ${this.lastStoppedAt} of ${records.length} (${event.shardId}) is past the batch's decompression budget; failing so that Lambda bisects the batch`,
      );
    carried.addBatch(aggregator.cells(), aggregator.statistics(), {
      sequenceOf: (i) => sequenceNumberOf(records[i]) ?? String(i),
      arrivalMsOf: (i) => arrivalMsOf(records[i]),
      lastSequence: sequenceNumberOf(records[records.length - 1]) ?? String(records.length - 1),
      lastArrivalMs: arrivalMsOf(records[records.length - 1]),
    });
    const { json, bytes } = carried.toJson();
    if (bytes > this.windowLimits.maxBytes)
      throw new WindowStateFullError(
        `${records.length} records of ${event.shardId} would make the window state ${bytes} bytes (limit ${this.windowLimits.maxBytes}); failing so that Lambda bisects the batch`,
      );
    const messages = this.rejectMessages(records, aggregator, event.shardId);
    const sent =
      this.failureDestination && messages.length > 0
        ? await this.failureDestination.send(messages, deadlineMs)
        : NO_SEND;
    if (sent.firstFailedRecord >= 0)
      throw new WindowFlushError(`rejected records of ${event.shardId} did not reach the failure destination`, {
        cause: sent.errors[0],
      });
    this.lastUndeliveredRejects = this.failureDestination ? [] : messages;
    const rejectedByReason: Record<string, number> = {};
    const rejects = aggregator.rejected();
    for (let i = 0; i < rejects.length; i++)
      rejectedByReason[rejects[i].reasonName] = (rejectedByReason[rejects[i].reasonName] ?? 0) + rejects[i].count;
    const summary: BatchSummary = {
      source: 'kinesis' in records[0] ? 'kinesis' : 'dynamodb',
      lane: event.shardId,
      recordsIn: records.length,
      eventsIn: aggregator.eventsIn,
      eventsCounted: aggregator.eventsCounted,
      rejected: aggregator.rejectedEvents,
      rejectedByReason,
      late: (rejectedByReason.too_late ?? 0) + (rejectedByReason.too_early ?? 0),
      counterItems: carried.itemCount,
      decompressedBytes: this.mainDecompressedBytes,
      writes: emptyWriteResult(),
      failureDestination: sent,
      checkpoint: undefined,
      windowFinal: false,
      // A carried batch never fails part-way (it throws, and Lambda retries with the same state): no ledger.
      ledger: undefined,
    };
    this.onBatch?.(summary);
    return { response: { batchItemFailures: [] }, summary, carriedJson: json };
  }

  /** Decompressed bytes of the batch's own decode (not of recomputes). */
  private mainDecompressedBytes = 0;
  /** Index of the first record the last decodeInto did not start (decompression budget), or -1. */
  private lastStoppedAt = -1;

  private decodeInto(aggregator: Aggregator, records: ReadonlyArray<StreamRecord>): void {
    aggregator.begin();
    this.lastStoppedAt = -1;
    if (records.length === 0) return;
    if ('kinesis' in records[0]) {
      this.kinesisDecoder.decode(records as KinesisStreamRecord[], aggregator);
      this.lastStoppedAt = this.kinesisDecoder.stats.stoppedAt;
    } else this.dynamoDecoder.decode(records as DynamoDBRecord[], aggregator);
  }

  /** Deltas of records[from..] only, with record indexes of the whole batch: for partly applied items. */
  private recompute(
    records: ReadonlyArray<StreamRecord>,
    from: number,
    upTo: number,
    folded: FoldDecision,
  ): ReadonlyMap<string, ItemDelta> {
    this.recomputeAggregator ??= new Aggregator(this.config, { foldInBatch: false });
    const aggregator = this.recomputeAggregator;
    // A suffix starts with more budget left than the whole batch had there, so it never stops before upTo.
    this.decodeInto(aggregator, records.slice(from, upTo));
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
    // The same folds as the whole batch: every group of a suffix was decided for the batch.
    const cells = aggregator.cells();
    for (const cell of foldCells(cells, folded)) shift(cellItemDelta(cell));
    for (const stats of withFoldedStats(aggregator.statistics(), cells, folded)) shift(statsItemDelta(stats));
    return out;
  }

  private rejectMessages(
    records: ReadonlyArray<StreamRecord>,
    aggregator: Aggregator,
    lane: string | undefined,
  ): RejectedRecordMessage[] {
    const rejects = aggregator.rejected();
    if (rejects.length === 0) return [];
    return rejectedRecordMessages(rejects, this.metricNames, (i) => {
      const record = records[i];
      return {
        // DynamoDB records do not name their shard; a tumbling-window event does (event.shardId).
        shardId: shardIdOf(record) ?? lane,
        sequenceNumber: sequenceNumberOf(record) ?? '',
        eventSourceARN: record.eventSourceARN,
        record: rawDataOf(record),
      };
    });
  }
}

const NO_FOLDS: FoldDecision = new Set<string>();

/** `work`, or a rejection once `returnByMs` has passed (the work itself is left to finish or fail). */
async function withinTime<T>(work: Promise<T>, returnByMs: number): Promise<T> {
  if (returnByMs === Number.POSITIVE_INFINITY) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('no time left to record the failure ledger before the response')),
      Math.max(0, returnByMs - Date.now()),
    );
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The group cap could not be decided (the table): nothing is written, the batch is re-delivered whole. */
function admissionFailed(cells: ReadonlyArray<CellDelta>, err: Error): WriteResult {
  return { ...emptyWriteResult(), failed: cells.length, firstFailedRecord: 0, errors: [err] };
}

/** What is not durable when the response must go before the writes ended. */
function notDurable(
  deltas: ReadonlyArray<ItemDelta> | undefined,
  durable: Uint8Array,
  messages: ReadonlyArray<RejectedRecordMessage>,
  sentFlags: Uint8Array,
  sending: boolean,
): { writes: WriteResult; sent: SendResult } {
  const error = new Error('the time left ran out with writes in flight; Lambda re-delivers from the checkpoint');
  error.name = 'DeadlineError';
  // Writes still in flight may land: nothing here is known durable through a position (the ledger says so).
  const writes = emptyWriteResult(deltas?.length ?? 0);
  writes.errors.push(error);
  if (deltas === undefined) writes.firstFailedRecord = 0; // the group cap was still being decided
  for (let i = 0; deltas !== undefined && i < deltas.length; i++) {
    if (durable[i] === 1) {
      writes.written++;
      continue;
    }
    writes.failed++;
    if (writes.firstFailedRecord < 0 || deltas[i].firstRecord < writes.firstFailedRecord)
      writes.firstFailedRecord = deltas[i].firstRecord;
  }
  const sent: SendResult = { sent: 0, failed: 0, firstFailedRecord: -1, errors: [] };
  if (sending)
    for (let i = 0; i < messages.length; i++) {
      if (sentFlags[i] === 1) {
        sent.sent++;
        continue;
      }
      sent.failed++;
      if (sent.firstFailedRecord < 0 || messages[i].recordIndex < sent.firstFailedRecord)
        sent.firstFailedRecord = messages[i].recordIndex;
    }
  return { writes, sent };
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
