/**
 * Brings back what Lambda gave up on, counting each record exactly once. See the README's "Replay" section.
 *
 * A dropped range (shard S, first F, last E) is applied per counter item, from the first record the item
 * does not hold yet. What an item holds of the range comes from its progress `p:S` when that still says
 * (absent or < F: none; within [F, E]: through it), else from the failure ledger the failed attempt recorded
 * at (S, F) (src/sink/failure-ledger.ts). The rest is written under a lane of the replay's own,
 * `replay:S:F`, so a second replay, or a rerun after a crash, finds it applied. A reject is replayed under
 * `reject:S:<its sequence number>`, only for the metrics that rejected it. A message is deleted only once
 * every write it needs is durable; one that cannot be replayed exactly is kept and reported.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { Aggregator } from '../core/aggregator.js';
import type { CompiledConfig } from '../core/metric-config.js';
import { CounterWriter } from '../sink/counter-writer.js';
import { FailureDestination, rejectedRecordMessages, type RejectedRecordMessage } from '../sink/failure-destination.js';
import { FailureLedger } from '../sink/failure-ledger.js';
import type { RecordStore } from '../sink/record-store.js';
import { cellItemDelta, statsItemDelta, type ItemDelta } from '../sink/item-delta.js';
import { deltaKey, readItemsConsistently } from '../sink/item-reads.js';
import { Attr, padSequence, parseCounterPk, STATS_PK_PREFIX } from '../sink/layout.js';
import { withRetry } from '../sink/retry.js';
import {
  DynamoDbRecordDecoder,
  KinesisRecordDecoder,
  rawDataOf,
  sequenceNumberOf,
  shardIdOf,
} from '../sources/index.js';
import { RangeUnavailableError, ReplayError } from './errors.js';
import { parseFailureMessage, type RejectMessage, type StreamFailureRecordBatchInfo } from './messages.js';
import { readDynamoDbRange, readKinesisRange, type RangeRequest } from './range-reader.js';
import type { MessageOutcome, ReplaySummary } from './types.js';

type StreamRecord = KinesisStreamRecord | DynamoDBRecord;

/** A record's zero-padded position (Kinesis or DynamoDB Streams sequence number), as the writer compares it. */
function positionOf(record: StreamRecord): string {
  return padSequence(sequenceNumberOf(record) ?? '0');
}

/** ReceiveMessage takes at most 10 (SQS quota). */
export const MAX_RECEIVE_MESSAGES = 10;
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 300;
/** Time a replay's writes of one message may take before they count as failed (the message is kept). */
export const MESSAGE_DEADLINE_MS = 120_000;
/** Lane names of the replay's writes: `replay:<shard>:<first sequence number>`, `reject:<shard>:<sequence number>`. */
export const REPLAY_LANE = 'replay';
export const REJECT_LANE = 'reject';

export interface ReplayOptions {
  config: CompiledConfig;
  dynamodb: DynamoDBClient;
  kinesis: KinesisClient;
  /** Reads DynamoDB Streams ranges (`DDBStreamBatchInfo`); without it they are kept, saying so. */
  dynamodbStreams?: DynamoDBStreamsClient;
  /** Reads rejects kept in the failure bucket (`recordObject: "s3://..."`); without it they are kept, saying so. */
  s3?: S3Client;
  /**
   * Where rejects found inside a replayed range that are too large for a queue message are kept, as the live
   * sink keeps them (the failure bucket); without it their messages say to read them from the stream.
   */
  recordStore?: RecordStore;
  sqs: SQSClient;
  countersTable: string;
  queueUrl: string;
  region: string;
  /** Print what would be replayed; write, send and delete nothing. */
  dryRun?: boolean;
  /** Stop after this many messages (0: until the queue is empty). */
  maxMessages?: number;
  visibilityTimeoutSeconds?: number;
  maxDecompressedBytes?: number;
  writeConcurrency?: number;
  /** Called once per message, after its outcome is settled (the CLI prints progress from it). */
  onMessage?: (outcome: MessageOutcome, index: number) => void;
}

export class Replayer {
  private readonly o: ReplayOptions;
  private readonly writer: CounterWriter;
  private readonly ledger: FailureLedger;
  private readonly rejectsOut: FailureDestination;

  constructor(options: ReplayOptions) {
    this.o = options;
    this.writer = new CounterWriter({
      client: options.dynamodb,
      tableName: options.countersTable,
      concurrency: options.writeConcurrency,
    });
    this.ledger = new FailureLedger({ client: options.dynamodb, tableName: options.countersTable });
    this.rejectsOut = new FailureDestination({
      client: options.sqs,
      queueUrl: options.queueUrl,
      store: options.recordStore,
    });
  }

  /** Reads the queue until it is empty (or `maxMessages`), replaying each message. */
  async run(): Promise<ReplaySummary> {
    const summary: ReplaySummary = {
      messages: 0,
      replayed: 0,
      kept: 0,
      recordsReplayed: 0,
      pastRetention: 0,
      outcomes: [],
    };
    const seen = new Set<string>();
    const handBack: Message[] = [];
    const max = this.o.maxMessages ?? 0;
    try {
      for (;;) {
        if (max > 0 && summary.messages >= max) break;
        const out = await this.o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.o.queueUrl,
            MaxNumberOfMessages:
              max > 0 ? Math.min(MAX_RECEIVE_MESSAGES, max - summary.messages) : MAX_RECEIVE_MESSAGES,
            VisibilityTimeout: this.o.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
            WaitTimeSeconds: 0,
          }),
        );
        const messages = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId as string));
        if (messages.length === 0) break;
        for (const message of messages) {
          seen.add(message.MessageId as string);
          const outcome = await this.replayMessage(message);
          summary.messages++;
          summary.outcomes.push(outcome);
          if (outcome.action === 'replayed') {
            summary.replayed++;
            summary.recordsReplayed += outcome.records;
          } else {
            summary.kept++;
            if (outcome.pastRetention) summary.pastRetention++;
            handBack.push(message);
          }
          this.o.onMessage?.(outcome, summary.messages);
        }
      }
    } finally {
      // Kept (and dry-run) messages become visible again now rather than after the visibility timeout.
      for (const message of handBack) {
        await this.o.sqs
          .send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: this.o.queueUrl,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            }),
          )
          .catch(() => undefined); // it then reappears when its visibility timeout ends
      }
    }
    return summary;
  }

  /** One message: replayed and deleted, or kept with the reason. */
  async replayMessage(message: Message): Promise<MessageOutcome> {
    const parsed = parseFailureMessage(message.Body);
    const base = { messageId: message.MessageId as string, records: 0, itemsWritten: 0, itemsAlreadyApplied: 0 };
    let outcome: MessageOutcome;
    try {
      if (parsed.kind === 'unknown') return { ...base, kind: 'unknown', action: 'kept', reason: parsed.reason };
      outcome =
        parsed.kind === 'range'
          ? await this.replayRange(parsed.batch, base)
          : await this.replayReject(parsed.reject, base);
    } catch (err) {
      return {
        ...base,
        kind: parsed.kind,
        ...(parsed.kind === 'range'
          ? { batch: parsed.batch, shardId: parsed.batch.shardId }
          : parsed.kind === 'reject'
            ? { shardId: parsed.reject.shardId }
            : {}),
        action: 'kept',
        reason: err instanceof ReplayError ? err.message : `failed: ${(err as Error).message}`,
      };
    }
    if (outcome.action === 'replayed') {
      await withRetry(
        () =>
          this.o.sqs.send(
            new DeleteMessageCommand({ QueueUrl: this.o.queueUrl, ReceiptHandle: message.ReceiptHandle }),
          ),
        { deadlineMs: Date.now() + MESSAGE_DEADLINE_MS },
      );
    }
    return outcome;
  }

  private async replayRange(
    batch: StreamFailureRecordBatchInfo,
    base: Omit<MessageOutcome, 'kind' | 'action'>,
  ): Promise<MessageOutcome> {
    const head = { ...base, kind: 'range' as const, shardId: batch.shardId, batch };
    let records: StreamRecord[];
    try {
      records = await this.readRange(batch.source, {
        streamArn: batch.streamArn,
        shardId: batch.shardId,
        startSequenceNumber: batch.startSequenceNumber,
        endSequenceNumber: batch.endSequenceNumber,
        expectedRecords: batch.batchSize,
      });
    } catch (err) {
      if (err instanceof RangeUnavailableError)
        return { ...head, action: 'kept', reason: err.message, pastRetention: err.pastRetention };
      throw err;
    }
    // The lane is the shard for both sources: Kinesis names it in each record, DynamoDB Streams in the
    // tumbling-window event (event.shardId), which is the shard the on-failure record names.
    const lane = batch.shardId;
    const start = padSequence(batch.startSequenceNumber);
    const end = padSequence(batch.endSequenceNumber);
    const positions = records.map(positionOf);

    // What each item of the range already holds, from its live progress or else the failure ledger.
    const whole = this.aggregate(records, lane);
    const keys = whole.deltas.map((d) => deltaKey(d.pk, d.sk));
    const current = await this.readItems(whole.deltas);
    const ledger = await this.ledger.read(lane, start);
    const heldThrough = new Map<string, string>();
    const unknown: string[] = [];
    for (const key of keys) {
      const progress = current.get(key)?.[Attr.progressPrefix + lane]?.S;
      if (progress === undefined || progress < start) heldThrough.set(key, '');
      else if (progress <= end) heldThrough.set(key, progress);
      else {
        const known = ledger?.entries.get(key);
        if (typeof known === 'string') heldThrough.set(key, known < start ? '' : known);
        else unknown.push(key.replace('\u0000', ' '));
      }
    }
    if (unknown.length > 0)
      return {
        ...head,
        records: records.length,
        action: 'kept',
        reason: `${unknown.length} counter items (e.g. ${unknown[0]}) were written by later batches of ${lane} and the failure ledger does not say whether they hold this range; replaying could count twice`,
      };

    // Records of the range a reject replay already counted into an item (lane `reject:<shard>:<seq>`).
    const rejectLanePrefix = Attr.progressPrefix + REJECT_LANE + ':' + lane + ':';
    const excludedOf = (key: string): string[] => {
      const item = current.get(key);
      const out: string[] = [];
      if (item)
        for (const name of Object.keys(item)) {
          if (!name.startsWith(rejectLanePrefix)) continue;
          const position = padSequence(name.slice(rejectLanePrefix.length));
          if (position >= start && position <= end) out.push(position);
        }
      return out.sort();
    };

    // Group items by what they hold; each group is applied from its first missing record on.
    const groups = new Map<string, { through: string; excluded: Set<string>; keys: Set<string> }>();
    for (const [key, through] of heldThrough) {
      const excluded = excludedOf(key).filter((position) => position > through);
      const id = `${through}|${excluded.join(',')}`;
      let group = groups.get(id);
      if (!group) groups.set(id, (group = { through, excluded: new Set(excluded), keys: new Set() }));
      group.keys.add(key);
    }
    let written = 0;
    let already = 0;
    let missing = 0;
    for (const { through, excluded, keys: group } of groups.values()) {
      const sub = records.filter((_, i) => positions[i] > through && !excluded.has(positions[i]));
      if (sub.length === 0) {
        already += group.size;
        continue;
      }
      const part = this.aggregate(sub, lane);
      const deltas = part.deltas.filter((d) => group.has(deltaKey(d.pk, d.sk)));
      missing += deltas.length;
      if (this.o.dryRun) continue;
      // The lane names what the items held before (T): a reject replay counts a record q of the range
      // into an item unless this lane already did (T < q <= its progress).
      const replayLane = `${REPLAY_LANE}:${lane}:${batch.startSequenceNumber}:${through.replace(/^0+/, '') || '0'}`;
      const result = await this.writer.write({
        deltas,
        lane: replayLane,
        positionOf: (i) => positionOf(sub[i]),
        recordCount: sub.length,
        recompute: (fromRecord) => this.recompute(sub, fromRecord, lane),
        deadlineMs: Date.now() + MESSAGE_DEADLINE_MS,
      });
      if (result.failed > 0)
        throw new ReplayError(
          `${result.failed} counter writes failed (${result.errors[0]?.message}); the message is kept for the next run`,
        );
      written += result.written + result.partlyApplied;
      already += result.alreadyApplied + (group.size - deltas.length);
    }
    if (!this.o.dryRun && whole.rejects.length > 0) {
      // Rejects in the range go to the failure destination as the live pipeline would have sent them.
      const sent = await this.rejectsOut.send(whole.rejects, Date.now() + MESSAGE_DEADLINE_MS);
      if (sent.failed > 0) throw new ReplayError(`${sent.failed} rejects of the range could not be sent to the queue`);
    }
    if (this.o.dryRun)
      return {
        ...head,
        records: records.length,
        action: 'would-replay',
        reason: `${records.length} records, ${missing} counter items to apply (${keys.length - missing} already hold them), ${whole.rejects.length} rejects`,
        itemsWritten: missing,
        itemsAlreadyApplied: keys.length - missing,
      };
    return {
      ...head,
      records: records.length,
      action: 'replayed',
      itemsWritten: written,
      itemsAlreadyApplied: already,
    };
  }

  private async replayReject(
    reject: RejectMessage,
    base: Omit<MessageOutcome, 'kind' | 'action'>,
  ): Promise<MessageOutcome> {
    const head = { ...base, kind: 'reject' as const, shardId: reject.shardId, records: 1 };
    let record: StreamRecord | undefined;
    try {
      record = await this.rejectedRecord(reject);
    } catch (err) {
      if (err instanceof RangeUnavailableError)
        return { ...head, action: 'kept', reason: err.message, pastRetention: err.pastRetention };
      throw err;
    }
    if (!record)
      return { ...head, action: 'kept', reason: 'the reject carries neither its record nor a readable pointer' };
    const all = reject.reasons.some((r) => r.metric === undefined);
    const metrics = new Set(reject.reasons.map((r) => r.metric).filter((m): m is string => m !== undefined));
    const metricIndexes = new Set<number>();
    this.o.config.metrics.forEach((m, i) => {
      if (all || metrics.has(m.name)) metricIndexes.add(i);
    });
    const result = this.aggregate([record], reject.shardId);
    const still = result.rejectEntries.filter((r) => r.metricIndex < 0 || metricIndexes.has(r.metricIndex));
    if (still.length > 0)
      return {
        ...head,
        action: 'kept',
        reason: `still rejected (${still[0].reasonName}: ${still[0].detail}); fix the cause (the metric definitions or the producer) and replay again`,
      };
    if (result.eventsIn > 1)
      return {
        ...head,
        action: 'kept',
        reason: `the record holds ${result.eventsIn} events and the reject does not say which were counted; replaying it could count twice`,
      };
    const names = new Set([...metricIndexes].map((i) => this.o.config.metrics[i].name));
    const position = padSequence(reject.sequenceNumber);
    const candidates = result.deltas.filter(
      (d) => !d.pk.startsWith(STATS_PK_PREFIX) && names.has(parseCounterPk(d.pk).metric),
    );
    // A range replay (lane `replay:<shard>:<first>`) may already have counted this record into an item.
    const current = await this.readItems(candidates);
    const rangePrefix = Attr.progressPrefix + REPLAY_LANE + ':' + (reject.shardId ?? 'unknown') + ':';
    const deltas = candidates.filter((d) => {
      const item = current.get(deltaKey(d.pk, d.sk));
      if (!item) return true;
      for (const [name, value] of Object.entries(item)) {
        if (!name.startsWith(rangePrefix)) continue;
        const [first, heldBefore] = name.slice(rangePrefix.length).split(':');
        if (padSequence(first) <= position && padSequence(heldBefore ?? '0') < position && (value.S ?? '') >= position)
          return false;
      }
      return true;
    });
    if (this.o.dryRun)
      return {
        ...head,
        action: 'would-replay',
        reason: `counts now: ${deltas.length} counter items`,
        itemsWritten: deltas.length,
      };
    const written = await this.writer.write({
      deltas,
      lane: `${REJECT_LANE}:${reject.shardId ?? 'unknown'}:${reject.sequenceNumber}`,
      positionOf: () => position,
      recordCount: 1,
      recompute: () => new Map(),
      deadlineMs: Date.now() + MESSAGE_DEADLINE_MS,
    });
    if (written.failed > 0)
      throw new ReplayError(
        `${written.failed} counter writes failed (${written.errors[0]?.message}); kept for the next run`,
      );
    return { ...head, action: 'replayed', itemsWritten: written.written, itemsAlreadyApplied: written.alreadyApplied };
  }

  /** The reject's record: inline, at its pointer (the failure bucket or a local file), or read back from the stream. */
  private async rejectedRecord(reject: RejectMessage): Promise<StreamRecord | undefined> {
    let raw = reject.record as Record<string, unknown> | undefined;
    if (!raw && reject.pointer) {
      const stored = JSON.parse(await this.readPointer(reject.pointer)) as Record<string, unknown>;
      raw = (stored.record as Record<string, unknown> | undefined) ?? stored;
    }
    if (!raw && reject.shardId && reject.eventSourceARN) {
      const source = reject.eventSourceARN.includes(':dynamodb:') ? 'dynamodb' : 'kinesis';
      const [r] = await this.readRange(source, {
        streamArn: reject.eventSourceARN,
        shardId: reject.shardId,
        startSequenceNumber: reject.sequenceNumber,
        endSequenceNumber: reject.sequenceNumber,
        expectedRecords: 1,
      });
      return r;
    }
    if (!raw) return undefined;
    if (raw.source === 'dynamodb') return raw.record as DynamoDBRecord;
    const shardId = (raw.shardId as string | undefined) ?? reject.shardId ?? 'unknown';
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: raw.partitionKey as string,
        sequenceNumber: raw.sequenceNumber as string,
        data: raw.data as string,
        approximateArrivalTimestamp: raw.approximateArrivalTimestamp as number,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${raw.sequenceNumber as string}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/streamtally-replay',
      awsRegion: this.o.region,
      eventSourceARN: (raw.eventSourceARN as string | undefined) ?? reject.eventSourceARN ?? '',
    };
  }

  /** A dropped range from its stream, with the client of its source. */
  private readRange(source: 'kinesis' | 'dynamodb', range: RangeRequest): Promise<StreamRecord[]> {
    if (source === 'kinesis') return readKinesisRange(this.o.kinesis, range, this.o.region);
    if (!this.o.dynamodbStreams)
      throw new ReplayError('DynamoDB Streams ranges need a DynamoDB Streams client (ReplayOptions.dynamodbStreams)');
    return readDynamoDbRange(this.o.dynamodbStreams, range, this.o.region);
  }

  /** The text of a reject kept outside the queue: s3://bucket/key, file:// or a local path. */
  private async readPointer(pointer: string): Promise<string> {
    if (pointer.startsWith('s3://')) {
      const slash = pointer.indexOf('/', 5);
      const bucket = pointer.slice(5, slash < 0 ? undefined : slash);
      const key = slash < 0 ? '' : pointer.slice(slash + 1);
      if (!this.o.s3)
        throw new ReplayError(`the reject is kept in ${pointer}; give the replay an S3 client (ReplayOptions.s3)`);
      try {
        const out = await withRetry(
          () => (this.o.s3 as S3Client).send(new GetObjectCommand({ Bucket: bucket, Key: key })),
          {
            deadlineMs: Date.now() + MESSAGE_DEADLINE_MS,
          },
        );
        return await (out.Body as { transformToString(): Promise<string> }).transformToString();
      } catch (err) {
        const name = (err as { name?: string }).name ?? '';
        const fix =
          name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound'
            ? 'it was deleted or expired (the failure bucket keeps objects 14 days): put the object back at that key and replay again, or, while the stream still retains the record, remove recordObject from the message so the replay reads it from the stream by shard and sequence number'
            : name === 'AccessDenied' || name === 'Forbidden'
              ? "let the replaying identity s3:GetObject on the bucket's rejected/* objects and replay again"
              : 'check the bucket and the --s3-endpoint, then replay again';
        throw new ReplayError(
          `the reject's record object s3://${bucket}/${key} (bucket ${bucket}, key ${key}) could not be read: ${name || 'error'}: ${(err as Error).message}; ${fix}`,
          { cause: err },
        );
      }
    }
    if (!/^(file:|\/|\.)/.test(pointer))
      throw new ReplayError(
        `the reject points to ${pointer}, which this replay cannot read (s3://, file:// and local paths only)`,
      );
    return readFile(pointer.startsWith('file:') ? fileURLToPath(pointer) : pointer, 'utf8');
  }

  /**
   * Decodes records with a fresh aggregator (its deltas own their sketches until written). `lane` names the
   * shard of DynamoDB records in their rejects, as the live pipeline does (their records do not name it).
   */
  private aggregate(
    records: ReadonlyArray<StreamRecord>,
    lane: string | undefined,
  ): {
    deltas: ItemDelta[];
    rejects: RejectedRecordMessage[];
    rejectEntries: ReturnType<Aggregator['rejected']>;
    eventsIn: number;
  } {
    const aggregator = new Aggregator(this.o.config);
    aggregator.begin();
    if (records.length > 0) {
      if ('kinesis' in records[0])
        new KinesisRecordDecoder({ maxDecompressedBytes: this.o.maxDecompressedBytes ?? 64 << 20 }).decode(
          records as KinesisStreamRecord[],
          aggregator,
        );
      else new DynamoDbRecordDecoder().decode(records as DynamoDBRecord[], aggregator);
    }
    const deltas: ItemDelta[] = [];
    for (const cell of aggregator.cells()) deltas.push(cellItemDelta(cell));
    for (const stats of aggregator.statistics()) deltas.push(statsItemDelta(stats));
    const rejects = rejectedRecordMessages(
      aggregator.rejected(),
      this.o.config.metrics.map((m) => m.name),
      (i) => ({
        shardId: shardIdOf(records[i]) ?? lane,
        sequenceNumber: sequenceNumberOf(records[i]) ?? '',
        eventSourceARN: records[i].eventSourceARN,
        record: rawDataOf(records[i]),
      }),
    );
    return {
      deltas,
      rejects,
      rejectEntries: aggregator.rejected(),
      eventsIn: aggregator.eventsIn,
    };
  }

  private recompute(records: ReadonlyArray<StreamRecord>, from: number, lane: string): ReadonlyMap<string, ItemDelta> {
    const out = new Map<string, ItemDelta>();
    for (const d of this.aggregate(records.slice(from), lane).deltas)
      out.set(deltaKey(d.pk, d.sk), { ...d, firstRecord: d.firstRecord + from, lastRecord: d.lastRecord + from });
    return out;
  }

  /** The counter items of `deltas` as they are now (strongly consistent, batched: src/sink/item-reads.ts). */
  private readItems(deltas: ReadonlyArray<ItemDelta>): Promise<Map<string, Record<string, AttributeValue>>> {
    return readItemsConsistently(this.o.dynamodb, this.o.countersTable, deltas, {
      deadlineMs: Date.now() + MESSAGE_DEADLINE_MS,
      what: 'counter items',
    });
  }
}
