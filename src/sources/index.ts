/**
 * Source adapters: Lambda events (Kinesis, DynamoDB Streams, their tumbling-window variants) -> `EventSink`.
 */
export {
  KinesisRecordDecoder,
  decodeKinesisRecords,
  type KinesisDecoderOptions,
  type KinesisDecodeStats,
} from './kinesis.js';
export {
  DynamoDbRecordDecoder,
  decodeDynamoDbRecords,
  type DynamoDbDecoderOptions,
  type DynamoDbDecodeStats,
} from './dynamodb.js';
export { lambdaDynamoDbRecord } from './dynamodb-stream-record.js';
export { KplReader, hasKplMagic } from './kpl.js';
export { encodeKplAggregate, aggregateKplRecords, type KplEntry, type KplAggregate } from './kpl-encode.js';
export { GzipDecoder, hasGzipMagic, type GunzipStatus } from './gzip.js';
export {
  sequenceNumberOf,
  shardIdOf,
  rawDataOf,
  isKinesisRecord,
  type RawRecordData,
  type KinesisRawData,
  type DynamoDbRawData,
} from './record-meta.js';
export { SourceConfigError, KplFormatError, KplEncodeError, ProtobufFormatError } from './errors.js';
export * from './constants.js';
