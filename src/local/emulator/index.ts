/** Event-source-mapping emulator: Lambda's Kinesis / DynamoDB Streams polling, locally. */
export { EventSourceMappingEmulator, type EventSourceMappingEmulatorOptions } from './event-source-mapping-emulator.js';
export {
  resolveEsmSettings,
  type EventSourceMappingSettings,
  type ResolvedEsmSettings,
  type StartingPosition,
} from './esm-settings.js';
export {
  SqsOnFailureDestination,
  buildFailureRecord,
  type OnFailureDestination,
  type StreamFailureRecord,
  type StreamBatchInfo,
  type FailureCondition,
} from './on-failure-destination.js';
export {
  createLambdaContext,
  resolveFunctionSettings,
  type FunctionSettings,
  type ResolvedFunctionSettings,
} from './lambda-context.js';
export { windowFor, windowIso } from './tumbling-window.js';
export * from './errors.js';
export { IDLE_POLL_INTERVAL_MS, MAX_INVOKE_PAYLOAD_BYTES } from './constants.js';
export type {
  EmulatorStats,
  EmulatorLogger,
  LogLevel,
  Clock,
  StreamHandler,
  StreamHandlerResponse,
  SourceKind,
} from './types.js';
