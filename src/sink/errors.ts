/** Errors of the DynamoDB counter sink and the failure destination. */

export class SinkError extends Error {
  override name = 'SinkError';
}

/** A write that still failed after retries within the time left. */
export class CounterWriteError extends SinkError {
  override name = 'CounterWriteError';
}

/** The failure destination (SQS) did not take a rejected record. */
export class FailureDestinationError extends SinkError {
  override name = 'FailureDestinationError';
}

/** A counter item changed under us more often than we are willing to retry (a very hot item). */
export class ContentionError extends SinkError {
  override name = 'ContentionError';
}

/** The store of records too large for a failure-queue message (S3, or a local directory) did not take one. */
export class RecordStoreError extends SinkError {
  override name = 'RecordStoreError';
}

/** The time left ran out before a write could start: nothing was attempted, Lambda re-delivers it. */
export class DeadlineError extends SinkError {
  override name = 'DeadlineError';
}

/** The failure ledger of a failed attempt could not be recorded (see failure-ledger.ts). */
export class FailureLedgerError extends SinkError {
  override name = 'FailureLedgerError';
}
