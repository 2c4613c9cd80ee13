/**
 * Limits and magic values of the record formats the source adapters read. Each one names its source.
 */

/** First four bytes of a KPL aggregated record (amazon-kinesis-producer, aggregation-format.md). */
export const KPL_MAGIC: readonly [number, number, number, number] = [0xf3, 0x89, 0x9a, 0xc2];
export const KPL_MAGIC_LENGTH = 4;
/** A KPL aggregated record ends with the MD5 digest of its protobuf bytes (aggregation-format.md). */
export const KPL_MD5_LENGTH = 16;

/** First two bytes of a gzip member (RFC 1952, section 2.3.1). */
export const GZIP_ID1 = 0x1f;
export const GZIP_ID2 = 0x8b;

/**
 * Largest Kinesis record payload by default: 1 MiB for data plus partition key (Kinesis Data Streams
 * quotas, PutRecord/PutRecords). A stream can be configured for larger records; the encoder takes a cap.
 */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;

/** Kinesis partition keys are 1 to 256 Unicode characters (PutRecord API reference). */
export const KINESIS_MAX_PARTITION_KEY_CHARS = 256;

/**
 * Default cap on what one gzip record may expand to. CloudWatch Logs batches are at most 1 MiB of
 * uncompressed log events (PutLogEvents quota) plus the envelope, so 16 MiB leaves room and still stops a
 * gzip bomb long before Lambda's memory does.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

/**
 * Default decompression budget of one batch (MAX_BATCH_DECOMPRESSED_BYTES): gunzip runs at a few hundred
 * MB/s, so 64 MiB is a fraction of a second of CPU, and a batch of gzip bombs cannot run past the timeout.
 */
export const DEFAULT_MAX_BATCH_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Initial size of the scratch buffer that base64 data is decoded into; grown by doubling. */
export const INITIAL_SCRATCH_BYTES = 64 * 1024;

/** Initial number of sub-records the KPL reader has room for; grown by doubling. */
export const INITIAL_KPL_SUB_RECORDS = 64;

export { DYNAMODB_EVENT_SOURCE } from '../core/types.js';

/** CloudWatch Logs subscription envelope `messageType` values (CloudWatch Logs subscriptions guide). */
export const CWL_DATA_MESSAGE = 'DATA_MESSAGE';
export const CWL_CONTROL_MESSAGE = 'CONTROL_MESSAGE';
