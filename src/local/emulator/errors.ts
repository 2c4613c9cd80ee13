/** Errors of the event-source-mapping emulator: one class per failure, `name` set, `cause` passed on. */

/** A setting in the event source mapping (template.yaml) is invalid or not emulated. */
export class EsmSettingsError extends Error {
  override name = 'EsmSettingsError';
}

/** The stream could not be found or read (SDK errors are translated here, at the adapter). */
export class StreamSourceError extends Error {
  override name = 'StreamSourceError';
}

/** The on-failure destination rejected a record or is not supported. */
export class OnFailureDestinationError extends Error {
  override name = 'OnFailureDestinationError';
}

/** The function ran longer than its timeout, as Lambda reports it: `Task timed out after N seconds`. */
export class FunctionTimeoutError extends Error {
  override name = 'FunctionTimeoutError';
}

/** The function's response is not one Lambda accepts (bad itemIdentifier, missing window state). */
export class InvalidFunctionResponseError extends Error {
  override name = 'InvalidFunctionResponseError';
}

/** A deprecated callback-style context method was called; the emulator only supports async handlers. */
export class UnsupportedContextMethodError extends Error {
  override name = 'UnsupportedContextMethodError';
}

/** A shard iterator expired (5 minutes unused) or points at trimmed data; the poller gets a new one. */
export class ExpiredIteratorError extends Error {
  override name = 'ExpiredIteratorError';
}
