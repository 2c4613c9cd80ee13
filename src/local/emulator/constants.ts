/** Limits and defaults of Lambda event source mappings for streams, each with its source. */

/** Invocation payload limit for synchronous invokes (Lambda quotas: 6 MB request). */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Bytes the event envelope adds around the records (`{"Records":[...]}` plus window fields); generous. */
export const EVENT_ENVELOPE_BYTES = 4 * 1024;
/** CreateEventSourceMapping: BatchSize default for Kinesis and DynamoDB Streams. */
export const DEFAULT_BATCH_SIZE = 100;
/** CreateEventSourceMapping: BatchSize maximum for Kinesis and DynamoDB Streams. */
export const MAX_BATCH_SIZE = 10_000;
/** CreateEventSourceMapping: MaximumBatchingWindowInSeconds range 0..300. */
export const MAX_BATCHING_WINDOW_SECONDS = 300;
/** CreateEventSourceMapping: MaximumRetryAttempts range -1 (infinite)..10000. */
export const MAX_RETRY_ATTEMPTS = 10_000;
/** CreateEventSourceMapping: MaximumRecordAgeInSeconds range -1 (infinite) or 60..604800. */
export const MIN_RECORD_AGE_SECONDS = 60;
export const MAX_RECORD_AGE_SECONDS = 604_800;
/** CreateEventSourceMapping: TumblingWindowInSeconds range 0..900. */
export const MAX_TUMBLING_WINDOW_SECONDS = 900;
/** Lambda tumbling windows: state is limited to 1 MB per shard; beyond it the window ends early. */
export const MAX_WINDOW_STATE_BYTES = 1024 * 1024;
/** Kinesis GetRecords: at most 10,000 records a call. */
export const KINESIS_MAX_GET_RECORDS = 10_000;
/** DynamoDB Streams GetRecords: at most 1,000 records a call. */
export const DYNAMODB_STREAMS_MAX_GET_RECORDS = 1_000;

/**
 * Idle poll interval per shard. Lambda polls each Kinesis shard once per second (DynamoDB Streams 4 times
 * a second); locally we poll faster so a developer sees results at once. Loopback calls are cheap.
 */
export const IDLE_POLL_INTERVAL_MS = 200;
/** How often the shard list is refreshed to find children of split or merged shards. */
export const SHARD_DISCOVERY_INTERVAL_MS = 1_000;
/** Back-off after a failed GetRecords / GetShardIterator call (throttling, connection reset). */
export const READ_ERROR_BACKOFF_MS = 1_000;
/**
 * moto_server never ends a closed parent shard (TOOLCHAIN.md): GetRecords keeps returning an iterator.
 * A shard that is closed (has an EndingSequenceNumber) and returns this many empty reads in a row is
 * treated as fully read. Real Kinesis and kinesis-local end it properly with no NextShardIterator.
 */
export const CLOSED_SHARD_EMPTY_READS_TO_END = 5;
/** Retry back-off after a failed invocation: base * 2^(retry-1), capped. Lambda backs off similarly. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 200;
export const DEFAULT_RETRY_MAX_DELAY_MS = 5_000;

/** Lambda function defaults (CreateFunction): timeout 3 s, memory 128 MB. */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3;
export const DEFAULT_FUNCTION_MEMORY_MB = 128;
/** The account id the emulator puts in ARNs it makes up (function, role). */
export const FAKE_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';
