/**
 * Mergeable sketches for the aggregator: {@link HyperLogLog} for distinct counts and {@link DDSketch}
 * for quantiles. Both are sized once, reset with `fill(0)`, merge exactly (commutative, associative) and
 * serialize to compact bytes for DynamoDB binary attributes.
 */
export {
  HyperLogLog,
  HLL_DEFAULT_PRECISION,
  HLL_MIN_PRECISION,
  HLL_MAX_PRECISION,
  HLL_KIND_BYTE,
  HLL_FORMAT_VERSION,
} from './hyperloglog.js';
export {
  DDSketch,
  DDSKETCH_DEFAULT_ALPHA,
  DDSKETCH_DEFAULT_MAX_BINS,
  DDSKETCH_MAX_MAX_BINS,
  DDSKETCH_MIN_ALPHA,
  DDSKETCH_KIND_BYTE,
  DDSKETCH_FORMAT_VERSION,
} from './ddsketch.js';
export {
  SketchError,
  SketchArgumentError,
  SketchValueError,
  SketchFormatError,
  SketchMismatchError,
} from './errors.js';
