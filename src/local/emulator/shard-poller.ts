/**
 * One shard, one poller, one batch in flight (ParallelizationFactor 1): reads in order, gathers batches
 * (BatchSize, batching window, 6 MB), invokes, and applies Lambda's failure rules: partial batch response,
 * retries, bisection, maximum record age, the on-failure destination, and tumbling windows.
 */
import { randomUUID } from 'node:crypto';
import {
  CLOSED_SHARD_EMPTY_READS_TO_END,
  EVENT_ENVELOPE_BYTES,
  IDLE_POLL_INTERVAL_MS,
  MAX_WINDOW_STATE_BYTES,
  READ_ERROR_BACKOFF_MS,
} from './constants.js';
import { ExpiredIteratorError } from './errors.js';
import type { ResolvedEsmSettings } from './esm-settings.js';
import { buildFailureRecord, type FailureCondition, type OnFailureDestination } from './on-failure-destination.js';
import { invokeHandler, type InvocationOutcome } from './invoker.js';
import type { ResolvedFunctionSettings } from './lambda-context.js';
import type { Sleeper } from './sleeper.js';
import { windowEventFields, windowFor, type WindowBounds } from './tumbling-window.js';
import type {
  Clock,
  EmulatorLogger,
  EmulatorStats,
  IteratorPosition,
  SourceRecord,
  StreamHandler,
  StreamReader,
} from './types.js';

export interface ShardPollerDeps {
  readonly reader: StreamReader;
  readonly shardId: string;
  readonly streamArn: string;
  readonly startPosition: IteratorPosition;
  readonly settings: ResolvedEsmSettings;
  readonly fn: ResolvedFunctionSettings;
  readonly handler: StreamHandler;
  readonly destination: OnFailureDestination | undefined;
  readonly stats: EmulatorStats;
  readonly clock: Clock;
  readonly log: EmulatorLogger;
  readonly sleeper: Sleeper;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** MAX_INVOKE_PAYLOAD_BYTES unless a test scales it down. */
  readonly payloadLimitBytes: number;
  /** The shard's EndingSequenceNumber from the latest shard listing (undefined while open). */
  readonly endingSequenceNumber: () => string | undefined;
  readonly onCheckpoint: (shardId: string, sequenceNumber: string) => void;
  readonly onIteratorAge: (shardId: string, millisBehindLatest: number) => void;
}

/** A run of records invoked together; halves of a bisected batch are segments too. */
interface Segment {
  records: SourceRecord[];
  retries: number;
  invokeCount: number;
  functionError: boolean;
  requestId: string;
}

interface OpenWindow {
  bounds: WindowBounds;
  state: Record<string, unknown>;
}

export class ShardPoller {
  readonly #d: ShardPollerDeps;
  readonly #windowMs: number;
  #iterator: string | undefined;
  #ended: boolean;
  #buffer: SourceRecord[];
  #bufferBytes: number;
  /** Clock time when the oldest buffered record was read (the batching window runs from there). */
  #bufferSinceMs: number;
  #lastReadCount: number;
  #lastFetchedSeq: string | undefined;
  #checkpoint: string | undefined;
  #emptyReadsWhileClosed: number;
  #window: OpenWindow | undefined;
  #readyResolve: () => void;
  /** Resolves once the poller holds its first iterator (or gave up because it is stopping). */
  readonly ready: Promise<void>;

  constructor(deps: ShardPollerDeps, checkpoint: string | undefined) {
    this.#d = deps;
    this.#windowMs = deps.settings.tumblingWindowMs;
    this.#iterator = undefined;
    this.#ended = false;
    this.#buffer = [];
    this.#bufferBytes = 0;
    this.#bufferSinceMs = 0;
    this.#lastReadCount = 0;
    this.#lastFetchedSeq = checkpoint;
    this.#checkpoint = checkpoint;
    this.#emptyReadsWhileClosed = 0;
    this.#window = undefined;
    this.#readyResolve = () => {};
    this.ready = new Promise((resolve) => {
      this.#readyResolve = resolve;
    });
  }

  get shardId(): string {
    return this.#d.shardId;
  }

  /** Poll until the shard is fully processed (resolves true) or the emulator stops (false). */
  async run(): Promise<boolean> {
    try {
      await this.#acquireIterator(
        this.#checkpoint ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.#checkpoint } : this.#d.startPosition,
      );
    } finally {
      this.#readyResolve();
    }
    const sleeper = this.#d.sleeper;
    while (!sleeper.stopped) {
      if (
        !this.#ended &&
        this.#iterator &&
        this.#buffer.length < this.#d.settings.batchSize &&
        this.#bufferBytes < this.#d.payloadLimitBytes
      ) {
        await this.#readOnce();
        if (sleeper.stopped) break;
      }
      if (this.#windowMs > 0 && this.#window && (await this.#closeWindowIfDue())) continue;
      if (this.#isBatchReady()) {
        await this.#processBatch(this.#takeBatch());
        continue;
      }
      if (this.#ended && this.#buffer.length === 0) {
        if (this.#window) {
          await this.#finalInvoke(false);
          if (this.#window) continue; // stopped before the final invoke succeeded
        }
        return true;
      }
      if (this.#lastReadCount > 0 && !this.#ended) continue; // more may be waiting: read again at once
      await sleeper.sleep(this.#idleDelayMs());
    }
    return false;
  }

  #idleDelayMs(): number {
    let delay = IDLE_POLL_INTERVAL_MS;
    if (this.#buffer.length > 0 && this.#d.settings.batchingWindowMs > 0) {
      delay = Math.min(
        delay,
        Math.max(1, this.#bufferSinceMs + this.#d.settings.batchingWindowMs - this.#d.clock.now()),
      );
    }
    return delay;
  }

  async #acquireIterator(position: IteratorPosition): Promise<void> {
    while (!this.#d.sleeper.stopped) {
      try {
        this.#iterator = await this.#d.reader.getIterator(this.#d.shardId, position);
        if (!this.#iterator) this.#ended = true;
        return;
      } catch (err) {
        this.#d.log('warn', `GetShardIterator failed for ${this.#d.shardId}; retrying`, { error: err });
        await this.#d.sleeper.sleep(READ_ERROR_BACKOFF_MS);
      }
    }
  }

  async #readOnce(): Promise<void> {
    const d = this.#d;
    let result;
    try {
      result = await d.reader.read(
        d.shardId,
        this.#iterator as string,
        Math.max(1, d.settings.batchSize - this.#buffer.length),
      );
    } catch (err) {
      this.#lastReadCount = 0;
      if (err instanceof ExpiredIteratorError) {
        const from = this.#lastFetchedSeq;
        await this.#acquireIterator(from ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: from } : d.startPosition);
        return;
      }
      d.log('warn', `GetRecords failed for ${d.shardId}; retrying`, { error: err });
      await d.sleeper.sleep(READ_ERROR_BACKOFF_MS);
      return;
    }
    const records = result.records;
    const n = records.length;
    if (n > 0 && this.#buffer.length === 0) this.#bufferSinceMs = d.clock.now();
    for (let i = 0; i < n; i++) {
      this.#buffer.push(records[i]);
      this.#bufferBytes += records[i].payloadBytes;
    }
    d.stats.recordsIn += n;
    this.#lastReadCount = n;
    if (n > 0) this.#lastFetchedSeq = records[n - 1].sequenceNumber;
    this.#iterator = result.nextIterator;
    if (!this.#iterator) this.#ended = true;
    const behind = result.millisBehindLatest ?? (n > 0 ? Math.max(0, d.clock.now() - records[n - 1].arrivalMs) : 0);
    d.onIteratorAge(d.shardId, behind);
    // moto never ends a closed shard; see CLOSED_SHARD_EMPTY_READS_TO_END.
    if (n === 0 && !this.#ended && !result.millisBehindLatest && d.endingSequenceNumber() !== undefined) {
      this.#emptyReadsWhileClosed++;
      if (this.#emptyReadsWhileClosed >= CLOSED_SHARD_EMPTY_READS_TO_END) {
        d.log('debug', `${d.shardId} is closed and returns no more records; treating it as fully read`);
        this.#ended = true;
      }
    } else if (n > 0) {
      this.#emptyReadsWhileClosed = 0;
    }
  }

  #isBatchReady(): boolean {
    const buffer = this.#buffer;
    if (buffer.length === 0) return false;
    const s = this.#d.settings;
    if (
      buffer.length >= s.batchSize ||
      this.#bufferBytes >= this.#d.payloadLimitBytes ||
      this.#ended ||
      s.batchingWindowMs === 0
    )
      return true;
    if (
      this.#windowMs > 0 &&
      windowFor(buffer[buffer.length - 1].arrivalMs, this.#windowMs).startMs !==
        windowFor(buffer[0].arrivalMs, this.#windowMs).startMs
    ) {
      return true; // the head window can get no more records: arrival times only grow along a shard
    }
    return this.#d.clock.now() - this.#bufferSinceMs >= s.batchingWindowMs;
  }

  /** Up to BatchSize records, at most 6 MB of event, and (with tumbling windows) from one window only. */
  #takeBatch(): SourceRecord[] {
    const buffer = this.#buffer;
    const limit = this.#d.settings.batchSize;
    const headWindow = this.#windowMs > 0 ? windowFor(buffer[0].arrivalMs, this.#windowMs).startMs : 0;
    let bytes = EVENT_ENVELOPE_BYTES;
    let n = 0;
    while (n < buffer.length && n < limit) {
      const r = buffer[n];
      if (n > 0 && bytes + r.payloadBytes > this.#d.payloadLimitBytes) break;
      if (this.#windowMs > 0 && windowFor(r.arrivalMs, this.#windowMs).startMs !== headWindow) break;
      bytes += r.payloadBytes;
      n++;
    }
    const batch = buffer.splice(0, n);
    this.#bufferBytes -= bytes - EVENT_ENVELOPE_BYTES;
    return batch;
  }

  #commit(sequenceNumber: string): void {
    this.#checkpoint = sequenceNumber;
    this.#d.onCheckpoint(this.#d.shardId, sequenceNumber);
  }

  async #processBatch(batch: SourceRecord[]): Promise<void> {
    const d = this.#d;
    const s = d.settings;
    d.stats.batches++;
    if (this.#windowMs > 0) {
      const bounds = windowFor(batch[0].arrivalMs, this.#windowMs);
      if (!this.#window || this.#window.bounds.startMs !== bounds.startMs) this.#window = { bounds, state: {} };
    }
    const work: Segment[] = [{ records: batch, retries: 0, invokeCount: 0, functionError: false, requestId: '' }];
    while (work.length > 0) {
      // Stopping mid-batch leaves the rest after the checkpoint; a restart reads it again.
      if (d.sleeper.stopped) return;
      const seg = work[0];
      if (s.maximumRecordAgeMs >= 0) {
        const now = d.clock.now();
        let expired = 0;
        while (expired < seg.records.length && now - seg.records[expired].arrivalMs > s.maximumRecordAgeMs) expired++;
        if (expired > 0) {
          await this.#discard(seg, seg.records.slice(0, expired), 'RecordAgeExceeded');
          seg.records = seg.records.slice(expired);
          if (seg.records.length === 0) {
            work.shift();
            continue;
          }
        }
      }
      const outcome = await this.#invoke(seg.records, false, false);
      seg.invokeCount++;
      seg.requestId = outcome.requestId;
      if (outcome.kind === 'success') {
        this.#commit(seg.records[seg.records.length - 1].sequenceNumber);
        work.shift();
        if (this.#window && outcome.state) {
          this.#window.state = outcome.state;
          if (Buffer.byteLength(JSON.stringify(outcome.state)) > MAX_WINDOW_STATE_BYTES) await this.#finalInvoke(true);
        }
        continue;
      }
      d.stats.failures++;
      if (outcome.kind === 'partial') {
        // Checkpoint just before the lowest reported record; it and everything after it go again.
        if (outcome.failedIndex > 0) {
          this.#commit(seg.records[outcome.failedIndex - 1].sequenceNumber);
          seg.records = seg.records.slice(outcome.failedIndex);
        }
        if (this.#window && outcome.state) this.#window.state = outcome.state;
        seg.functionError = false;
        d.log('info', `${d.shardId}: partial batch failure, redelivering from ${seg.records[0].sequenceNumber}`);
      } else {
        seg.functionError = true;
        d.log('warn', `${d.shardId}: invocation ${outcome.requestId} failed: ${outcome.error.message}`, {
          error: outcome.error,
        });
        if (s.bisectBatchOnFunctionError && seg.records.length > 1) {
          // Splitting does not consume the retry quota (Lambda docs): both halves keep the count so far.
          const half = Math.ceil(seg.records.length / 2);
          const first: Segment = { ...seg, records: seg.records.slice(0, half) };
          const second: Segment = { ...seg, records: seg.records.slice(half) };
          work.splice(0, 1, first, second);
          d.stats.bisections++;
          continue;
        }
      }
      seg.retries++;
      if (s.maximumRetryAttempts >= 0 && seg.retries > s.maximumRetryAttempts) {
        await this.#discard(seg, seg.records, 'RetryAttemptsExhausted');
        work.shift();
        continue;
      }
      d.stats.retries++;
      await d.sleeper.sleep(this.#retryDelayMs(seg.retries));
    }
  }

  #retryDelayMs(retry: number): number {
    return Math.min(this.#d.retryMaxDelayMs, this.#d.retryBaseDelayMs * 2 ** Math.min(retry - 1, 20));
  }

  async #invoke(records: SourceRecord[], isFinal: boolean, terminatedEarly: boolean): Promise<InvocationOutcome> {
    const d = this.#d;
    const eventRecords = new Array<Record<string, unknown>>(records.length);
    const indexBySequenceNumber = new Map<string, number>();
    for (let i = 0; i < records.length; i++) {
      eventRecords[i] = records[i].eventRecord;
      indexBySequenceNumber.set(records[i].sequenceNumber, i);
    }
    const envelope: Record<string, unknown> = { Records: eventRecords };
    const windowed = this.#window !== undefined;
    if (this.#window) {
      Object.assign(
        envelope,
        windowEventFields(this.#window.bounds, this.#window.state, d.shardId, d.streamArn, isFinal, terminatedEarly),
      );
    }
    // Lambda hands the function a freshly parsed event: a handler that mutates it cannot touch our retries.
    const event: unknown = JSON.parse(JSON.stringify(envelope));
    d.stats.invocations++;
    return invokeHandler(d.handler, event, d.fn, d.clock, {
      reportBatchItemFailures: d.settings.reportBatchItemFailures,
      windowed,
      indexBySequenceNumber,
    });
  }

  /** Close the open window once the buffer moved past it, or it ended in time and the shard is caught up. */
  async #closeWindowIfDue(): Promise<boolean> {
    const open = this.#window as OpenWindow;
    const buffer = this.#buffer;
    const due =
      buffer.length > 0
        ? windowFor(buffer[0].arrivalMs, this.#windowMs).startMs !== open.bounds.startMs
        : this.#lastReadCount === 0 && this.#d.clock.now() >= open.bounds.endMs;
    if (!due) return false;
    await this.#finalInvoke(false);
    return true;
  }

  /**
   * The final invoke of a window: no records, `isFinalInvokeForWindow`. Lambda suspends the shard until it
   * succeeds, so it is retried until then (or until stop). With `terminatedEarly` (state over 1 MB) the same
   * window goes on with a fresh state.
   */
  async #finalInvoke(terminatedEarly: boolean): Promise<void> {
    const d = this.#d;
    let retry = 0;
    while (!d.sleeper.stopped) {
      const outcome = await this.#invoke([], true, terminatedEarly);
      if (outcome.kind === 'success') {
        if (terminatedEarly && this.#window) this.#window.state = {};
        else this.#window = undefined;
        return;
      }
      d.stats.failures++;
      d.stats.retries++;
      retry++;
      d.log('warn', `${d.shardId}: final window invocation ${outcome.requestId} failed; retrying`, {
        error: outcome.kind === 'error' ? outcome.error : undefined,
      });
      await d.sleeper.sleep(this.#retryDelayMs(retry));
    }
  }

  async #discard(seg: Segment, records: SourceRecord[], condition: FailureCondition): Promise<void> {
    const d = this.#d;
    d.stats.recordsDiscarded += records.length;
    this.#commit(records[records.length - 1].sequenceNumber);
    const failure = buildFailureRecord({
      kind: d.reader.kind,
      requestId: seg.requestId || randomUUID(),
      functionArn: d.fn.functionArn,
      condition,
      approximateInvokeCount: seg.invokeCount,
      functionError: seg.functionError,
      shardId: d.shardId,
      streamArn: d.streamArn,
      records,
      nowMs: d.clock.now(),
    });
    if (!d.destination) {
      d.log('warn', `${d.shardId}: ${condition}; skipped ${records.length} records with no OnFailure destination`, {
        failure,
      });
      return;
    }
    try {
      await d.destination.send(failure);
      d.stats.sentToDlq++;
      d.log(
        'warn',
        `${d.shardId}: ${condition}; sent ${records.length} records' batch info to the OnFailure destination`,
        { failure },
      );
    } catch (err) {
      d.log('error', `${d.shardId}: ${condition}; the OnFailure destination rejected the batch info, records skipped`, {
        failure,
        error: err,
      });
    }
  }
}
