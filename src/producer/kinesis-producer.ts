/**
 * Pushes records to a Kinesis data stream with PutRecords: calls packed up to the service limits,
 * records that fail inside a successful call retried with exponential backoff and full jitter,
 * order per partition key kept across retries, oversized records rejected before sending, and an
 * optional steady rate. Used by `npm run produce` and by `npm start`'s demo producer.
 *
 * The error classes live here rather than in a shared `errors.ts` because this module is their
 * only thrower.
 */
import { PutRecordsCommand, type PutRecordsCommandOutput, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';

/** PutRecords accepts at most 500 records per call (Kinesis API reference, PutRecords). */
export const MAX_PUT_RECORDS = 500;
/** At most 5 MiB per PutRecords call, data blobs and partition keys together (Kinesis API reference, PutRecords). */
export const MAX_PUT_BYTES = 5 * 1024 * 1024;
/** At most 1 MiB per record, data blob (before base64) plus partition key (Kinesis Data Streams quotas). */
export const MAX_RECORD_BYTES = 1024 * 1024;
/**
 * Partition keys are 1 to 256 characters (Kinesis API reference, PutRecordsRequestEntry). Counted in
 * UTF-16 code units, as the KPL does: stricter than code points for keys outside the BMP, never looser.
 */
export const MAX_PARTITION_KEY_LENGTH = 256;
/**
 * Per-record error codes worth retrying: the two that PutRecords documents, plus KMS throttling on
 * encrypted streams. Any other code (KMS access or key-state errors) fails the record at once.
 */
export const RETRYABLE_RECORD_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'KMSThrottlingException',
]);
/** Whole-call errors that the SDK gave up on but that may pass later; the call's records are retried. */
const RETRYABLE_CALL_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

const DEFAULT_MAX_ATTEMPTS = 8;
const DEFAULT_BASE_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 5_000;
/** Like the KPL's RecordMaxBufferedTime default: wait up to this long to fill a call when a rate is set. */
const DEFAULT_LINGER_MS = 100;
/**
 * put() settles records in windows of this many, so the pending list that is rescanned for each
 * call stays small however many records a caller passes. Ten calls' worth keeps retries mixed in
 * with fresh records.
 */
const PUT_WINDOW_RECORDS = 10 * MAX_PUT_RECORDS;
/** Per-record details kept in a summary; counts stay exact beyond it. Bounds memory on long runs. */
export const MAX_REPORTED_DETAILS = 100;
/** Longest single sleep while waiting for the rate, so an abort is noticed promptly. */
const MAX_RATE_WAIT_MS = 250;

export interface ProducerRecord {
  partitionKey: string;
  /** Strings are sent as UTF-8. */
  data: Uint8Array | string;
  /** Where the record came from (e.g. its NDJSON line), echoed in the summary's details. */
  line?: number;
}

/** An input that a source could not turn into a record (e.g. a line that is not JSON); counted, not sent. */
export interface SkippedInput {
  skipped: true;
  line: number;
  reason: string;
}

export type UnsendableReason = 'oversized' | 'invalid_partition_key';

/** A record refused before sending: it could never succeed. */
export interface UnsendableRecord {
  /** Position in the input (the put() array, or the produce() source), counted from 0. */
  index: number;
  line?: number;
  reason: UnsendableReason;
  message: string;
}

/** A record that was sent but not accepted, after its last attempt. */
export interface FailedRecord {
  index: number;
  line?: number;
  partitionKey: string;
  errorCode: string;
  errorMessage: string;
  attempts: number;
}

export interface PutSummary {
  /** Records accepted by Kinesis. */
  sent: number;
  /** Records not accepted after their last attempt (or at once, for a non-retryable error code). */
  failed: number;
  failedByCode: Record<string, number>;
  /** The first {@link MAX_REPORTED_DETAILS} failures. */
  failures: FailedRecord[];
  /** Records over {@link MAX_RECORD_BYTES}, rejected without sending. */
  oversized: number;
  /** Records whose partition key is empty or longer than {@link MAX_PARTITION_KEY_LENGTH}, rejected without sending. */
  invalidPartitionKey: number;
  /** The first {@link MAX_REPORTED_DETAILS} rejections. */
  rejected: UnsendableRecord[];
  /** Inputs the source reported as skipped (produce() only). */
  skipped: number;
  skippedInputs: SkippedInput[];
  /** PutRecords calls made, including retries. */
  calls: number;
  /** Record re-sends (one record sent three times counts two). */
  retries: number;
  /**
   * Records accepted in the same call after an earlier record with the same key failed there and
   * was retried, so they landed before it. Kinesis does not stop a call at a failed record, so this
   * can only be prevented with `oneRecordPerKeyPerCall`; it is counted so it is never silent.
   */
  outOfOrder: number;
  elapsedMs: number;
}

export type ProducerProgress = Readonly<
  Pick<
    PutSummary,
    'sent' | 'failed' | 'oversized' | 'invalidPartitionKey' | 'skipped' | 'calls' | 'retries' | 'elapsedMs'
  >
>;

/** The one client method the producer uses; a `KinesisClient` fits. */
export interface PutRecordsSender {
  send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput>;
}

export interface KinesisProducerOptions {
  client: PutRecordsSender;
  streamName: string;
  /** Attempts per record, the first one included. Default 8. */
  maxAttempts?: number;
  /** Backoff before retry round n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))) (full jitter). Default 100. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Put at most one record per partition key in each call. Then a failed record can never be
   * overtaken by a later one with its key (see {@link PutSummary.outOfOrder}), at the cost of one
   * call per record when all records share a key. Default false.
   */
  oneRecordPerKeyPerCall?: boolean;
  /** Called after every PutRecords call with running totals. */
  onProgress?: (progress: ProducerProgress) => void;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export interface ProduceOptions {
  /** Records per second; unset means as fast as calls complete. */
  ratePerSec?: number;
  /** Stop taking records from the source after this long. */
  durationMs?: number;
  /** Stop after taking this many records (skipped inputs not counted). */
  maxRecords?: number;
  /** With a rate, wait up to this long to fill a call. Default 100. */
  lingerMs?: number;
  /** Stop taking records; records already taken are still settled. */
  signal?: AbortSignal;
}

/** Base class of the producer's errors. */
export class ProducerError extends Error {
  override name = 'ProducerError';
}

/** The stream does not exist (PutRecords answered ResourceNotFoundException). */
export class StreamNotFoundError extends ProducerError {
  override name = 'StreamNotFoundError';
  readonly streamName: string;

  constructor(streamName: string, options?: ErrorOptions) {
    super(`stream ${streamName} not found: create it, or check the stream name, region and endpoint`, options);
    this.streamName = streamName;
  }
}

/** A PutRecords call failed as a whole with an error that retrying will not fix (access, validation, endpoint). */
export class PutRecordsCallError extends ProducerError {
  override name = 'PutRecordsCallError';
}

/** One record's outcome in a call. */
interface CallResult {
  errorCode?: string;
  errorMessage?: string;
  retryable?: boolean;
}

const ACCEPTED: CallResult = Object.freeze({});

interface PendingRecord {
  index: number;
  line: number | undefined;
  partitionKey: string;
  data: Uint8Array;
  bytes: number;
  attempts: number;
}

export function emptySummary(): PutSummary {
  return {
    sent: 0,
    failed: 0,
    failedByCode: {},
    failures: [],
    oversized: 0,
    invalidPartitionKey: 0,
    rejected: [],
    skipped: 0,
    skippedInputs: [],
    calls: 0,
    retries: 0,
    outOfOrder: 0,
    elapsedMs: 0,
  };
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @example
 * const client = new KinesisClient(clientConfig({ endpoint: 'http://127.0.0.1:4567' }));
 * const producer = new KinesisProducer({ client, streamName: 'clicks' });
 * const summary = await producer.put([{ partitionKey: 'u-1', data: '{"type":"click"}' }]);
 * if (summary.failed > 0) console.error(summary.failedByCode);
 */
export class KinesisProducer {
  private readonly client: PutRecordsSender;
  private readonly streamName: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly oneRecordPerKeyPerCall: boolean;
  private readonly onProgress: ((progress: ProducerProgress) => void) | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: KinesisProducerOptions) {
    if (!options.streamName)
      throw new ProducerError('streamName is empty: pass the name of the Kinesis stream to write to');
    this.client = options.client;
    this.streamName = options.streamName;
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS));
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS);
    this.maxDelayMs = Math.max(this.baseDelayMs, options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
    this.oneRecordPerKeyPerCall = options.oneRecordPerKeyPerCall ?? false;
    this.onProgress = options.onProgress;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /**
   * Sends `records` and resolves when each one is accepted, rejected or out of attempts.
   * A record is never sent while an earlier record with the same partition key awaits a retry.
   * After its last attempt a record is given up (reported in `failures`) and later records with its
   * key go ahead: order among the delivered records is still kept.
   *
   * @throws {StreamNotFoundError} when the stream does not exist.
   * @throws {PutRecordsCallError} when a call fails with an error that retrying cannot fix.
   * @example
   * const summary = await producer.put(events.map((e) => ({ partitionKey: e.user.id, data: JSON.stringify(e) })));
   */
  async put(records: readonly ProducerRecord[]): Promise<PutSummary> {
    const summary = emptySummary();
    const startedAt = this.now();
    for (let start = 0; start < records.length; start += PUT_WINDOW_RECORDS) {
      await this.settle(
        records,
        start,
        Math.min(records.length, start + PUT_WINDOW_RECORDS),
        start,
        summary,
        startedAt,
      );
    }
    summary.elapsedMs = this.now() - startedAt;
    return summary;
  }

  /**
   * Takes records from `source` (at `ratePerSec` if given) until it ends, `durationMs` passes,
   * `maxRecords` are taken or `signal` aborts, and sends them with {@link put}'s guarantees.
   * {@link SkippedInput} items are counted in the summary.
   *
   * @example
   * const summary = await producer.produce(toRecords(clickstreamEvents()), { ratePerSec: 100, durationMs: 60_000 });
   */
  async produce(
    source: AsyncIterable<ProducerRecord | SkippedInput> | Iterable<ProducerRecord | SkippedInput>,
    options: ProduceOptions = {},
  ): Promise<PutSummary> {
    const {
      ratePerSec,
      durationMs,
      maxRecords = Number.POSITIVE_INFINITY,
      lingerMs = DEFAULT_LINGER_MS,
      signal,
    } = options;
    if (ratePerSec !== undefined && !(ratePerSec > 0))
      throw new ProducerError(`ratePerSec must be positive, got ${ratePerSec}`);
    const summary = emptySummary();
    const startedAt = this.now();
    const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    const batch: ProducerRecord[] = [];
    let taken = 0;
    let lastFlushAt = startedAt;
    let exhausted = false;
    try {
      while (!exhausted && taken < maxRecords && !signal?.aborted) {
        const elapsedMs = this.now() - startedAt;
        if (durationMs !== undefined && elapsedMs >= durationMs) break;
        let budget = Math.min(MAX_PUT_RECORDS, maxRecords - taken);
        if (ratePerSec !== undefined) {
          // The n-th record (from 0) is due at n / rate seconds; take all that are due now.
          const due = Math.floor((elapsedMs * ratePerSec) / 1_000) + 1 - taken;
          const lingering = due < budget && this.now() - lastFlushAt < lingerMs;
          if (due <= 0 || lingering) {
            const nextDueMs = due <= 0 ? (taken * 1_000) / ratePerSec - elapsedMs : lastFlushAt + lingerMs - this.now();
            const untilEndMs = durationMs === undefined ? Number.POSITIVE_INFINITY : durationMs - elapsedMs;
            await this.sleep(Math.max(1, Math.min(nextDueMs, untilEndMs, MAX_RATE_WAIT_MS)));
            continue;
          }
          budget = Math.min(budget, due);
        }
        while (batch.length < budget) {
          const next = await iterator.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          const item = next.value;
          if ('skipped' in item) {
            summary.skipped++;
            if (summary.skippedInputs.length < MAX_REPORTED_DETAILS) summary.skippedInputs.push(item);
          } else {
            batch.push(item);
          }
        }
        lastFlushAt = this.now();
        if (batch.length > 0) {
          await this.settle(batch, 0, batch.length, taken, summary, startedAt);
          taken += batch.length;
          batch.length = 0;
        }
      }
    } finally {
      if (!exhausted) await iterator.return?.();
    }
    summary.elapsedMs = this.now() - startedAt;
    return summary;
  }

  /** Validates records[from, to) and sends them until each is accepted, rejected or out of attempts. */
  private async settle(
    records: readonly ProducerRecord[],
    from: number,
    to: number,
    baseIndex: number,
    summary: PutSummary,
    startedAt: number,
  ): Promise<void> {
    let pending: PendingRecord[] = [];
    for (let i = from; i < to; i++) {
      const entry = this.validate(records[i], baseIndex + i - from, summary);
      if (entry) pending.push(entry);
    }
    let failedRounds = 0;
    while (pending.length > 0) {
      if (failedRounds > 0) await this.sleep(this.backoffMs(failedRounds));
      const { batch, rest } = selectBatch(pending, this.oneRecordPerKeyPerCall);
      const results = await this.send(batch);
      summary.calls++;
      const retry: PendingRecord[] = [];
      let retriedKeys: Set<string> | undefined;
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i];
        entry.attempts++;
        const result = results[i];
        if (result.errorCode === undefined) {
          summary.sent++;
          if (retriedKeys?.has(entry.partitionKey)) summary.outOfOrder++;
        } else if (result.retryable && entry.attempts < this.maxAttempts) {
          retry.push(entry);
          (retriedKeys ??= new Set()).add(entry.partitionKey);
        } else {
          recordFailure(summary, entry, result.errorCode, result.errorMessage);
        }
      }
      summary.retries += retry.length;
      pending = mergeByIndex(retry, rest);
      failedRounds = retry.length > 0 ? failedRounds + 1 : 0;
      this.onProgress?.({
        sent: summary.sent,
        failed: summary.failed,
        oversized: summary.oversized,
        invalidPartitionKey: summary.invalidPartitionKey,
        skipped: summary.skipped,
        calls: summary.calls,
        retries: summary.retries,
        elapsedMs: this.now() - startedAt,
      });
    }
  }

  private validate(record: ProducerRecord, index: number, summary: PutSummary): PendingRecord | undefined {
    const { partitionKey, line } = record;
    if (
      typeof partitionKey !== 'string' ||
      partitionKey.length === 0 ||
      partitionKey.length > MAX_PARTITION_KEY_LENGTH
    ) {
      summary.invalidPartitionKey++;
      const length = typeof partitionKey === 'string' ? partitionKey.length : 0;
      reject(summary, {
        index,
        line,
        reason: 'invalid_partition_key',
        message: `partition key has ${length} characters; Kinesis needs 1 to ${MAX_PARTITION_KEY_LENGTH}`,
      });
      return undefined;
    }
    const data = typeof record.data === 'string' ? Buffer.from(record.data, 'utf8') : record.data;
    const bytes = data.byteLength + Buffer.byteLength(partitionKey, 'utf8');
    if (bytes > MAX_RECORD_BYTES) {
      summary.oversized++;
      reject(summary, {
        index,
        line,
        reason: 'oversized',
        message: `${bytes} bytes of data and partition key, over the ${MAX_RECORD_BYTES}-byte (1 MiB) record limit`,
      });
      return undefined;
    }
    return { index, line, partitionKey, data, bytes, attempts: 0 };
  }

  /** Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): spreads retries of many producers apart. */
  private backoffMs(round: number): number {
    const capMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (round - 1));
    return Math.floor(this.random() * capMs);
  }

  /** One PutRecords call; a retryable whole-call failure is reported as that error for every record. */
  private async send(batch: readonly PendingRecord[]): Promise<CallResult[]> {
    const entries: PutRecordsRequestEntry[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) entries[i] = { PartitionKey: batch[i].partitionKey, Data: batch[i].data };
    let output: PutRecordsCommandOutput;
    try {
      output = await this.client.send(new PutRecordsCommand({ StreamName: this.streamName, Records: entries }));
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ResourceNotFoundException') throw new StreamNotFoundError(this.streamName, { cause: err });
      if (!isRetryableCallError(err, code)) {
        throw new PutRecordsCallError(
          `PutRecords to stream ${this.streamName} failed: ${code}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      const message = err instanceof Error ? err.message : String(err);
      return batch.map(() => ({ errorCode: code, errorMessage: message, retryable: true }));
    }
    const results = output.Records ?? [];
    if (results.length !== batch.length) {
      throw new PutRecordsCallError(
        `PutRecords to stream ${this.streamName} returned ${results.length} results for ${batch.length} records; cannot tell which were stored`,
      );
    }
    return results.map((result) =>
      result.ErrorCode
        ? {
            errorCode: result.ErrorCode,
            errorMessage: result.ErrorMessage ?? '',
            retryable: RETRYABLE_RECORD_ERRORS.has(result.ErrorCode),
          }
        : ACCEPTED,
    );
  }
}

/**
 * The next call's records, in input order: up to the count and byte limits, stopping at the first
 * record that does not fit so no record passes an earlier one. A key whose first pending record is
 * a retry (or any key, with `onePerKey`) contributes one record; its later records wait.
 */
function selectBatch(
  pending: readonly PendingRecord[],
  onePerKey: boolean,
): { batch: PendingRecord[]; rest: PendingRecord[] } {
  const batch: PendingRecord[] = [];
  const rest: PendingRecord[] = [];
  const closedKeys = new Set<string>();
  let bytes = 0;
  let i = 0;
  for (; i < pending.length; i++) {
    const entry = pending[i];
    if (closedKeys.has(entry.partitionKey)) {
      rest.push(entry);
      continue;
    }
    if (batch.length === MAX_PUT_RECORDS || bytes + entry.bytes > MAX_PUT_BYTES) break;
    batch.push(entry);
    bytes += entry.bytes;
    if (onePerKey || entry.attempts > 0) closedKeys.add(entry.partitionKey);
  }
  for (; i < pending.length; i++) rest.push(pending[i]);
  return { batch, rest };
}

function mergeByIndex(a: readonly PendingRecord[], b: readonly PendingRecord[]): PendingRecord[] {
  if (a.length === 0) return b as PendingRecord[];
  const merged: PendingRecord[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) merged[k++] = a[i].index < b[j].index ? a[i++] : b[j++];
  while (i < a.length) merged[k++] = a[i++];
  while (j < b.length) merged[k++] = b[j++];
  return merged;
}

function reject(summary: PutSummary, rejected: UnsendableRecord): void {
  if (rejected.line === undefined) delete rejected.line;
  if (summary.rejected.length < MAX_REPORTED_DETAILS) summary.rejected.push(rejected);
}

function recordFailure(summary: PutSummary, entry: PendingRecord, code: string, message: string | undefined): void {
  summary.failed++;
  summary.failedByCode[code] = (summary.failedByCode[code] ?? 0) + 1;
  if (summary.failures.length < MAX_REPORTED_DETAILS) {
    const failure: FailedRecord = {
      index: entry.index,
      partitionKey: entry.partitionKey,
      errorCode: code,
      errorMessage: message ?? '',
      attempts: entry.attempts,
    };
    if (entry.line !== undefined) failure.line = entry.line;
    summary.failures.push(failure);
  }
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const { name, code } = err as { name?: unknown; code?: unknown };
    if (typeof code === 'string' && code.startsWith('E')) return code;
    if (typeof name === 'string' && name !== 'Error') return name;
    if (typeof code === 'string') return code;
  }
  return 'UnknownError';
}

function isRetryableCallError(err: unknown, code: string): boolean {
  if (RETRYABLE_CALL_ERRORS.has(code)) return true;
  const { $retryable, $metadata } = (err ?? {}) as { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return Boolean($retryable) || ($metadata?.httpStatusCode ?? 0) >= 500;
}
