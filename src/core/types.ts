/**
 * Shared contracts of the pure core. Nothing here imports AWS, Middy, Node I/O, the clock or the
 * environment: adapters in `src/sources` and `src/sink` translate to and from these shapes.
 */

/** Where an event came from; a metric declares which of these it counts. */
export type MetricSource = 'kinesis' | 'dynamodb' | 'both';

/**
 * Window flush mode as the analytics function runs it (template WindowFlush, src/pipeline/window-state.ts):
 * its WINDOW_FLUSH_CARRY_SECONDS and WINDOW_FLUSH_SLACK_SECONDS, and the TumblingWindowInSeconds of each
 * source whose event source mapping has one (a source without one is written per batch). The read side
 * derives from it how often each window size is written.
 */
export interface WindowFlushSchedule {
  /** Undefined: a window size is written only at the tumbling window's end. */
  readonly carrySeconds: number | undefined;
  /** From due to written: two batching windows (template Freshness WindowFlushLagSeconds). */
  readonly slackSeconds: number;
  /** A time window is written once the carried records reach its end plus this (WindowFlushGraceSeconds). */
  readonly graceSeconds: number;
  /** Windows up to this size are written while open too (WINDOW_FLUSH_FRESH_UP_TO_SECONDS = the interval). */
  readonly freshUpToSeconds: number;
  readonly tumblingSeconds: Readonly<Partial<Record<'kinesis' | 'dynamodb', number>>>;
}

/** How the event-time field is written. */
export type TimeFormat = 'iso8601' | 'epoch_s' | 'epoch_ms';

export type AggregateName = 'count' | 'sum' | 'min' | 'max' | 'mean' | 'distinct' | 'p50' | 'p90' | 'p95' | 'p99';

export type DynamoDbEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/** One filter clause; all clauses of a metric must hold (logical AND). */
export interface FilterConfig {
  /** Dotted path into the event (for DynamoDB records: into the new image, or the old one for REMOVE). */
  field?: string;
  equals?: string | number | boolean | null;
  in?: ReadonlyArray<string | number | boolean | null>;
  exists?: boolean;
  /** DynamoDB records only: the change types to count. */
  eventName?: ReadonlyArray<DynamoDbEventName>;
  /**
   * DynamoDB records only: holds when at least one of these attributes (dotted paths into the images)
   * differs between the old and the new image, a missing attribute counting as a value of its own. So an
   * INSERT or a REMOVE "changes" the attributes it has, and `SET note = ...` does not change `status`.
   */
  changed?: ReadonlyArray<string>;
}

/**
 * What a metric counts. `events` (the default): events per time window. `state`: DynamoDB items currently
 * in each group (e.g. orders per status): INSERT +1 to the new image's group, MODIFY -1/+1 only when the
 * group changed, REMOVE -1 from the old image's group; `sum` is the sum of the value field over those
 * items. A state metric has no windows: it keeps one level per group.
 */
export type MetricKind = 'events' | 'state';

/** A metric as the user writes it in the config file. Durations are strings such as `30s`, `5m`, `1h`, `7d`. */
export interface MetricConfig {
  name: string;
  kind?: MetricKind;
  source?: MetricSource;
  filter?: ReadonlyArray<FilterConfig>;
  eventTime?: { field: string; format: TimeFormat };
  dimensions?: ReadonlyArray<string>;
  value?: string;
  distinctField?: string;
  aggregates: ReadonlyArray<AggregateName>;
  /** Required for `events` metrics; not allowed for `state` ones. */
  windows?: ReadonlyArray<string>;
  allowedLateness?: string;
  futureSkew?: string;
  /** Window label (as in `windows`) -> how long its counter items live, e.g. `{ "1m": "2d", "1h": "90d" }`. */
  retention?: Readonly<Record<string, string>>;
  maxGroupsPerWindow?: number;
}

export interface StreamtallyConfig {
  metrics: ReadonlyArray<MetricConfig>;
}

/** Why a record (or one event inside it) was not counted. Values are stable: they appear in logs and metrics. */
export const RejectReason = {
  /** Not valid JSON (or not valid NDJSON for one of its lines). */
  InvalidJson: 1,
  /** Base64, gzip or KPL framing could not be decoded, or an MD5 check failed. */
  Undecodable: 2,
  /** Decompressed size over the configured cap (gzip bomb guard). */
  TooLarge: 3,
  /** The event-time field is missing in a form that cannot fall back, or unparseable. */
  InvalidEventTime: 4,
  /** The value field is missing or not a finite number where the metric needs one. */
  InvalidValue: 5,
  /** A dimension is an object or an array. */
  InvalidDimension: 6,
  /** Event time older than its window's end plus the allowed lateness. */
  TooLate: 7,
  /** Event time further ahead of arrival than the allowed future skew. */
  TooEarly: 8,
  /** A DynamoDB record without the image the metric reads. */
  MissingImage: 9,
  /** A DynamoDB image value a metric reads is not typed JSON (`{ "S": ... }` missing or of the wrong type). */
  InvalidImage: 10,
  /**
   * The counter item's key would exceed DynamoDB's limit (partition key 2048 bytes): a dimension value is
   * too long. Rejected whole rather than truncated, so no two values ever share a counter.
   */
  KeyTooLong: 11,
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

export const REJECT_REASON_NAMES: Readonly<Record<RejectReason, string>> = {
  1: 'invalid_json',
  2: 'undecodable',
  3: 'too_large',
  4: 'invalid_event_time',
  5: 'invalid_value',
  6: 'invalid_dimension',
  7: 'too_late',
  8: 'too_early',
  9: 'missing_image',
  10: 'invalid_image',
  11: 'key_too_long',
};

/** A DynamoDB attribute value in the typed JSON of streams (`{ "S": "x" }`, `{ "N": "1" }`, ...). */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: string | Uint8Array }
  | { BOOL: boolean }
  | { NULL: true }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: Array<string | Uint8Array> };

export type AttributeMap = Record<string, AttributeValue>;

/** `eventSource` of a DynamoDB change record, in DynamoDB Streams and in Kinesis Data Streams for DynamoDB. */
export const DYNAMODB_EVENT_SOURCE = 'aws:dynamodb';

/**
 * What a source adapter feeds: decoded payloads, each tagged with the index of the Lambda record it came
 * from (sub-records of a KPL aggregate and lines of NDJSON share their parent's index).
 * Implemented by the core's aggregator.
 */
export interface EventSink {
  /**
   * One decoded payload holding one JSON value or several separated by whitespace (NDJSON).
   * `fallbackTimeMs` is used when a metric has no event-time field or the event lacks it
   * (Kinesis arrival time, or a CloudWatch Logs event's timestamp).
   */
  ingestJson(
    bytes: Uint8Array,
    start: number,
    end: number,
    recordIndex: number,
    fallbackTimeMs: number,
    arrivalMs: number,
  ): void;
  /** A DynamoDB change (from DynamoDB Streams, or carried in Kinesis). */
  ingestImage(
    eventName: DynamoDbEventName,
    newImage: AttributeMap | undefined,
    oldImage: AttributeMap | undefined,
    recordIndex: number,
    fallbackTimeMs: number,
    arrivalMs: number,
  ): void;
  /**
   * The record (or a part of it) could not be decoded at all. `arrivalMs` (the record's arrival time)
   * buckets the reject statistics; without it the latest arrival seen is used.
   */
  reject(recordIndex: number, reason: RejectReason, detail: string, arrivalMs?: number): void;
}
