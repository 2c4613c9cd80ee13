/** Errors of the replay (src/replay). */

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** The stream no longer holds (all of) a range: past its retention, or the shard or stream is gone. */
export class RangeUnavailableError extends ReplayError {
  override name = 'RangeUnavailableError';
  /** The stream said, or showed, that the records aged out (its retention), rather than some other loss. */
  readonly pastRetention: boolean;

  constructor(message: string, options: ErrorOptions & { pastRetention?: boolean } = {}) {
    super(message, options);
    this.pastRetention = options.pastRetention ?? false;
  }
}
