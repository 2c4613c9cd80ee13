/**
 * Benchmark input: realistic clickstream events (sample-events generator: ~200 bytes of JSON with a
 * nested object, a null, non-ASCII titles and escaped quotes or tabs) packed as a Lambda Kinesis event.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import {
  DEFAULT_SHARD_ID,
  DEFAULT_START_MS,
  KinesisSequence,
  createRng,
  generateClickEvents,
  jsonBytes,
  makeKinesisEvent,
} from '../src/samples/sample-events.js';

/** Event times 20 ms apart: 10,000 records span 200 s, i.e. several 1m and 5m windows. */
export const EVENT_STEP_MS = 20;
/** Every record arrives this long after its window of events began: well inside the allowed lateness. */
export const ARRIVAL_DELAY_MS = 2 * EVENT_STEP_MS;

export interface BenchBatch {
  event: KinesisStreamEvent;
  records: KinesisStreamRecord[];
  /** Decoded JSON bytes of all records. */
  payloadBytes: number;
  /** Escaped or non-ASCII payloads, to show the input is not all plain ASCII. */
  nonAsciiRecords: number;
  escapedRecords: number;
}

/** `count` records from a fixed seed: the same input on every run. */
export function buildBatch(count: number, seed = 20_260_302): BenchBatch {
  const rng = createRng(seed);
  const events = generateClickEvents(rng, count, DEFAULT_START_MS, EVENT_STEP_MS);
  const payloads = events.map(jsonBytes);
  let payloadBytes = 0;
  let nonAsciiRecords = 0;
  let escapedRecords = 0;
  for (const p of payloads) {
    payloadBytes += p.length;
    if (p.some((b) => b >= 0x80)) nonAsciiRecords++;
    if (p.includes(0x5c)) escapedRecords++;
  }
  const event = makeKinesisEvent(payloads, {
    rng,
    arrivalStartMs: DEFAULT_START_MS + ARRIVAL_DELAY_MS,
    arrivalStepMs: EVENT_STEP_MS,
    partitionKeys: events.map((e) => e.user.id),
  });
  return { event, records: event.Records, payloadBytes, nonAsciiRecords, escapedRecords };
}

/**
 * The same records with fresh, higher sequence numbers: what the next delivery of new data looks like
 * to the idempotent writer (a re-sent batch with the old numbers would be skipped as already applied).
 */
export function withFreshSequenceNumbers(
  records: ReadonlyArray<KinesisStreamRecord>,
  sequence: KinesisSequence,
  shardId = DEFAULT_SHARD_ID,
): KinesisStreamEvent {
  const out = new Array<KinesisStreamRecord>(records.length);
  for (let k = 0; k < records.length; k++) {
    const sequenceNumber = sequence.next();
    const r = records[k];
    out[k] = { ...r, eventID: `${shardId}:${sequenceNumber}`, kinesis: { ...r.kinesis, sequenceNumber } };
  }
  return { Records: out };
}
