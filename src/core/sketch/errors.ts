/**
 * Errors of the sketch layer. Each failure has its own class so callers can map it: a
 * {@link SketchValueError} is bad input data (count it as `invalid_value`), a {@link SketchFormatError}
 * or {@link SketchMismatchError} is bad stored state, a {@link SketchArgumentError} is a programming or
 * configuration mistake.
 */

/** Base class of every error thrown by `src/core/sketch`. */
export class SketchError extends Error {
  override name = 'SketchError';
}

/** A constructor parameter or query argument is out of its documented range (precision, alpha, maxBins, q). */
export class SketchArgumentError extends SketchError {
  override name = 'SketchArgumentError';
}

/** A value or count given to `add` cannot be recorded (NaN, +/-Infinity, a count that is not a positive integer). */
export class SketchValueError extends SketchError {
  override name = 'SketchValueError';
}

/** Serialized bytes are truncated, corrupt, of another sketch kind or of an unknown format version. */
export class SketchFormatError extends SketchError {
  override name = 'SketchFormatError';
}

/** Two sketches cannot be merged because their parameters differ (HyperLogLog precision, DDSketch alpha). */
export class SketchMismatchError extends SketchError {
  override name = 'SketchMismatchError';
}
