/** Replay: brings back what Lambda gave up on, exactly once (see replayer.ts and the README). */
export { Replayer, DEFAULT_VISIBILITY_TIMEOUT_SECONDS, MAX_RECEIVE_MESSAGES, type ReplayOptions } from './replayer.js';
export {
  parseFailureMessage,
  type ParsedMessage,
  type RejectMessage,
  type StreamFailureRecordBatchInfo,
} from './messages.js';
export { readDynamoDbRange, readKinesisRange, toLambdaRecord, type RangeRequest } from './range-reader.js';
export { ReplayError, RangeUnavailableError } from './errors.js';
export type { MessageOutcome, ReplaySummary, MessageKind } from './types.js';
