import { CollapsingLowestDenseStore } from './dense-store.js';
import { SketchArgumentError, SketchMismatchError, SketchValueError } from './errors.js';
import { ByteReader, varintSize, writeVarint, zigzag, unzigzag } from './varint.js';

/** 1 % relative error: p99 of a 200 ms latency is reported within 198..202 ms. */
export const DDSKETCH_DEFAULT_ALPHA = 0.01;
/**
 * Bins per store (positive and negative). At alpha = 0.01 this spans a max/min ratio of gamma^2048 ~ 6e17
 * (1 ns to 19 years) before any collapsing; 16 KB of counts per store at most.
 */
export const DDSKETCH_DEFAULT_MAX_BINS = 2048;
/** Upper bound on maxBins, also enforced on deserialized bytes so a hostile blob cannot force a huge allocation. */
export const DDSKETCH_MAX_MAX_BINS = 1 << 16;
/** First byte of every serialized DDSketch ('D'), so a HyperLogLog blob is rejected by name. */
export const DDSKETCH_KIND_BYTE = 0x44;
export const DDSKETCH_FORMAT_VERSION = 1;
/** Bin indexes of finite doubles stay far below this for any alpha >= 1e-9; larger ones mean corrupt bytes. */
const MAX_ABS_INDEX = 2 ** 40;
// Smallest positive normal double; magnitudes below MIN_NORMAL * gamma are counted in the zero bin, as in Datadog's sketches-java.
const MIN_NORMAL = 2.2250738585072014e-308;

/** Where a serialized store's bins sit in the bytes, found by the validating pass of mergeSerialized. */
interface StoreLayout {
  start: number;
  lo: number;
  hi: number;
}

/**
 * DDSketch (Masson, Rim, Lee, VLDB 2019): a quantile sketch with a relative-error guarantee, mergeable
 * exactly. Values map to bins by `index = ceil(log_gamma(|v|))` with `gamma = (1 + alpha) / (1 - alpha)`;
 * a bin reports `2 gamma^i / (1 + gamma)`, within `alpha` of every value in it. Positive and negative
 * values have their own store; values of magnitude below ~2.2e-308 * gamma (including 0) share a zero count.
 *
 * Accuracy contract: `quantile(q)` is within relative error `alpha` of the value of rank
 * `floor(q * (count - 1))` in the sorted input, as long as no bins were collapsed. Results are also
 * clamped to the exact `[min, max]`, and `quantile(0)` / `quantile(1)` are the exact min / max.
 *
 * Collapsing: each store keeps at most `maxBins` bins. When the index range would exceed that, the bins
 * of the smallest magnitudes are folded into the lowest kept bin: positive values near zero (low
 * quantiles) and negative values near zero (the top quantiles of an all-negative input) then lose the
 * guarantee and read as the lowest kept bin's value, i.e. too large in magnitude. High-magnitude quantiles
 * (p90, p99 of latencies) keep the guarantee. With the defaults this needs a max/min ratio above ~6e17.
 *
 * Counts are positive integers (exact up to 2^53); `add` throws {@link SketchValueError} for NaN and
 * +/-Infinity, which have no quantile meaning, so callers reject such events explicitly. `sum` is a
 * float64 running sum: merge order can change its last bits, unlike the bins, count, min and max, which
 * are exact and order-independent.
 *
 * @example
 * ```ts
 * const latencyMs = new DDSketch(0.01);
 * latencyMs.add(12.5);
 * latencyMs.add(250, 3);
 * latencyMs.quantile(0.99); // ~250 (within 1 %)
 * const stored = latencyMs.serialize();
 * other.mergeSerialized(stored);
 * ```
 */
export class DDSketch {
  /** alpha: the guaranteed relative error of quantiles. */
  readonly relativeAccuracy: number;
  readonly maxBins: number;
  readonly gamma: number;
  private readonly multiplier: number;
  private readonly logGamma: number;
  private readonly binValueFactor: number;
  private readonly minIndexable: number;
  private readonly positive: CollapsingLowestDenseStore;
  private readonly negative: CollapsingLowestDenseStore;
  private zeroCount: number;
  private totalCount: number;
  private runningSum: number;
  private minValue: number;
  private maxValue: number;

  constructor(relativeAccuracy: number = DDSKETCH_DEFAULT_ALPHA, maxBins: number = DDSKETCH_DEFAULT_MAX_BINS) {
    if (!(relativeAccuracy >= 1e-9 && relativeAccuracy < 1)) {
      throw new SketchArgumentError(`DDSketch relative accuracy must be in [1e-9, 1), got ${relativeAccuracy}.`);
    }
    if (!Number.isInteger(maxBins) || maxBins < 1 || maxBins > DDSKETCH_MAX_MAX_BINS) {
      throw new SketchArgumentError(`DDSketch maxBins must be an integer in [1, ${DDSKETCH_MAX_MAX_BINS}], got ${maxBins}.`);
    }
    this.relativeAccuracy = relativeAccuracy;
    this.maxBins = maxBins;
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
    this.multiplier = 1 / this.logGamma;
    this.binValueFactor = 2 / (1 + this.gamma);
    this.minIndexable = MIN_NORMAL * this.gamma;
    this.positive = new CollapsingLowestDenseStore(maxBins);
    this.negative = new CollapsingLowestDenseStore(maxBins);
    this.zeroCount = 0;
    this.totalCount = 0;
    this.runningSum = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = Number.NEGATIVE_INFINITY;
  }

  /**
   * Records `value` `count` times. Throws {@link SketchValueError} for NaN or +/-Infinity values and for a
   * count that is not a positive safe integer; the sketch is unchanged then.
   */
  add(value: number, count = 1): void {
    // hot path: one Math.log per value (~10 ns), no allocation; the bin range widens only for new extremes.
    if (!Number.isFinite(value)) throw nonFiniteValue(value);
    if (count !== 1 && !(count > 0 && Number.isSafeInteger(count))) throw invalidCount(count);
    if (value > this.minIndexable) this.positive.add(Math.ceil(Math.log(value) * this.multiplier), count);
    else if (value < -this.minIndexable) this.negative.add(Math.ceil(Math.log(-value) * this.multiplier), count);
    else this.zeroCount += count;
    this.totalCount += count;
    this.runningSum += value * count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /** Number of values recorded. */
  get count(): number {
    return this.totalCount;
  }

  /** Sum of the values recorded (0 when empty). */
  get sum(): number {
    return this.runningSum;
  }

  /** Exact smallest value recorded; NaN when empty. */
  get min(): number {
    return this.totalCount === 0 ? Number.NaN : this.minValue;
  }

  /** Exact largest value recorded; NaN when empty. */
  get max(): number {
    return this.totalCount === 0 ? Number.NaN : this.maxValue;
  }

  /** True when nothing has been recorded since construction or the last reset. */
  isEmpty(): boolean {
    return this.totalCount === 0;
  }

  /**
   * Estimated value at quantile `q` in [0, 1] (0.99 for p99); NaN when the sketch is empty.
   * Throws {@link SketchArgumentError} for q outside [0, 1].
   *
   * @example
   * ```ts
   * const p95 = sketch.quantile(0.95);
   * ```
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new SketchArgumentError(`Quantile must be in [0, 1], got ${q}.`);
    if (this.totalCount === 0) return Number.NaN;
    const rank = q * (this.totalCount - 1);
    // The extreme ranks are known exactly, even when low bins collapsed.
    if (rank === 0) return this.minValue;
    if (rank === this.totalCount - 1) return this.maxValue;
    const neg = this.negative;
    const pos = this.positive;
    let value = 0;
    if (rank < neg.total) {
      let seen = 0;
      for (let i = neg.maxIndex; i >= neg.minIndex; i--) {
        seen += neg.countAt(i);
        if (seen > rank) {
          value = -this.binValue(i);
          break;
        }
      }
    } else if (rank >= neg.total + this.zeroCount) {
      let seen = neg.total + this.zeroCount;
      for (let i = pos.minIndex; i <= pos.maxIndex; i++) {
        seen += pos.countAt(i);
        if (seen > rank) {
          value = this.binValue(i);
          break;
        }
      }
    }
    if (value < this.minValue) return this.minValue;
    if (value > this.maxValue) return this.maxValue;
    return value;
  }

  /**
   * Adds `other`'s bins, counts, sum, min and max to this sketch. Throws {@link SketchMismatchError} when the
   * relative accuracies differ. Bins beyond this sketch's `maxBins` collapse as described on the class.
   */
  merge(other: DDSketch): void {
    this.checkAlpha(other.relativeAccuracy);
    if (other.totalCount === 0) return;
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zeroCount += other.zeroCount;
    this.totalCount += other.totalCount;
    this.runningSum += other.runningSum;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /**
   * Merges a sketch straight from its serialized bytes. The bytes are validated completely before this
   * sketch changes, so a corrupt blob ({@link SketchFormatError}) or a different alpha
   * ({@link SketchMismatchError}) leaves it intact.
   *
   * @example
   * ```ts
   * sketch.mergeSerialized(item.latencySketch); // Uint8Array from a DynamoDB binary attribute
   * ```
   */
  mergeSerialized(bytes: Uint8Array): void {
    const reader = new ByteReader(bytes, 'DDSketch');
    const alpha = readHeader(reader);
    this.checkAlpha(alpha);
    const maxBins = reader.varint('maxBins');
    if (maxBins < 1 || maxBins > DDSKETCH_MAX_MAX_BINS) reader.fail(`maxBins ${maxBins} out of range`);
    const min = reader.f64('min');
    const max = reader.f64('max');
    const sum = reader.f64('sum');
    const zeroCount = reader.varint('zero count');
    const posLayout: StoreLayout = { start: 0, lo: 0, hi: 0 };
    const negLayout: StoreLayout = { start: 0, lo: 0, hi: 0 };
    const posTotal = scanStore(reader, maxBins, posLayout);
    const negTotal = scanStore(reader, maxBins, negLayout);
    reader.expectEnd();
    const count = zeroCount + posTotal + negTotal;
    checkSummary(reader, count, min, max, sum);
    if (count === 0) return;

    applyStore(reader, posLayout, posTotal, this.positive);
    applyStore(reader, negLayout, negTotal, this.negative);
    this.zeroCount += zeroCount;
    this.totalCount += count;
    this.runningSum += sum;
    if (min < this.minValue) this.minValue = min;
    if (max > this.maxValue) this.maxValue = max;
  }

  /** Forgets everything recorded; keeps the allocated bins for reuse (zero-filled). */
  reset(): void {
    this.positive.reset();
    this.negative.reset();
    this.zeroCount = 0;
    this.totalCount = 0;
    this.runningSum = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = Number.NEGATIVE_INFINITY;
  }

  /** Same alpha and identical bins (positive, negative, zero); ignores sum, min, max and maxBins. */
  sameBins(other: DDSketch): boolean {
    return (
      this.relativeAccuracy === other.relativeAccuracy &&
      this.zeroCount === other.zeroCount &&
      sameStore(this.positive, other.positive) &&
      sameStore(this.negative, other.negative)
    );
  }

  /** Number of non-empty bins over both stores (the main driver of serialized size). */
  binCount(): number {
    return this.positive.nonEmptyBins() + this.negative.nonEmptyBins();
  }

  /**
   * Compact bytes: `'D'`, format version, alpha (float64), maxBins (varint), min, max, sum (float64),
   * the zero count (varint), then each store (positive, negative) as a varint bin count, the first bin
   * index (zigzag varint) and its count, then (index gap, count) varint pairs. About 3 bytes per non-empty
   * bin: a few hundred bytes for a typical latency distribution, under 13 KB for 2 x 2048 bins with
   * counts below 2^21.
   */
  serialize(): Uint8Array {
    const size = 2 + 8 + varintSize(this.maxBins) + 24 + varintSize(this.zeroCount) + storeSize(this.positive) + storeSize(this.negative);
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    out[0] = DDSKETCH_KIND_BYTE;
    out[1] = DDSKETCH_FORMAT_VERSION;
    view.setFloat64(2, this.relativeAccuracy, true);
    let pos = writeVarint(out, 10, this.maxBins);
    view.setFloat64(pos, this.minValue, true);
    view.setFloat64(pos + 8, this.maxValue, true);
    view.setFloat64(pos + 16, this.runningSum, true);
    pos = writeVarint(out, pos + 24, this.zeroCount);
    pos = writeStore(out, pos, this.positive);
    writeStore(out, pos, this.negative);
    return out;
  }

  /**
   * Rebuilds a sketch from {@link DDSketch.serialize} output (same alpha and maxBins).
   * Throws {@link SketchFormatError} for anything that is not a valid serialized DDSketch.
   */
  static deserialize(bytes: Uint8Array): DDSketch {
    const reader = new ByteReader(bytes, 'DDSketch');
    const alpha = readHeader(reader);
    const maxBins = reader.varint('maxBins');
    if (maxBins < 1 || maxBins > DDSKETCH_MAX_MAX_BINS) reader.fail(`maxBins ${maxBins} out of range`);
    const sketch = new DDSketch(alpha, maxBins);
    sketch.mergeSerialized(bytes);
    return sketch;
  }

  private binValue(index: number): number {
    return Math.exp(index * this.logGamma) * this.binValueFactor;
  }

  private checkAlpha(alpha: number): void {
    if (alpha !== this.relativeAccuracy) {
      throw new SketchMismatchError(
        `Cannot merge a DDSketch with relative accuracy ${alpha} into one with ${this.relativeAccuracy}: ` +
          'their bins have different boundaries. Use one alpha per metric.',
      );
    }
  }
}

function nonFiniteValue(value: number): SketchValueError {
  return new SketchValueError(`DDSketch cannot record ${value}: values must be finite numbers. Reject the event as invalid_value.`);
}

function invalidCount(count: number): SketchValueError {
  return new SketchValueError(`DDSketch count must be a positive integer up to 2^53 - 1, got ${count}.`);
}

function readHeader(reader: ByteReader): number {
  const kind = reader.byte('kind');
  if (kind !== DDSKETCH_KIND_BYTE) reader.fail(`kind byte 0x${kind.toString(16)} is not a DDSketch ('D')`);
  const version = reader.byte('version');
  if (version !== DDSKETCH_FORMAT_VERSION) reader.fail(`unsupported format version ${version} (this build reads ${DDSKETCH_FORMAT_VERSION})`);
  const alpha = reader.f64('alpha');
  if (!(alpha >= 1e-9 && alpha < 1)) reader.fail(`relative accuracy ${alpha} out of range`);
  return alpha;
}

function checkSummary(reader: ByteReader, count: number, min: number, max: number, sum: number): void {
  if (count > Number.MAX_SAFE_INTEGER) reader.fail('total count exceeds 2^53 - 1');
  if (count === 0) {
    if (min !== Number.POSITIVE_INFINITY || max !== Number.NEGATIVE_INFINITY || sum !== 0) reader.fail('empty sketch with a min, max or sum');
  } else if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max) || Number.isNaN(sum)) {
    reader.fail('min, max or sum inconsistent with a non-empty sketch');
  }
}

/** Validating pass over one serialized store: records its layout, returns its total count. */
function scanStore(reader: ByteReader, maxBins: number, layout: StoreLayout): number {
  const n = reader.varint('bin count');
  if (n > maxBins) reader.fail(`${n} bins in a store limited to ${maxBins}`);
  layout.start = reader.pos;
  if (n === 0) return 0;
  let index = unzigzag(reader.varint('first bin index'));
  if (Math.abs(index) > MAX_ABS_INDEX) reader.fail(`bin index ${index} out of range`);
  layout.lo = index;
  let total = reader.varint('bin count value');
  if (total === 0) reader.fail('empty bin stored');
  for (let k = 1; k < n; k++) {
    const gap = reader.varint('bin index gap');
    if (gap === 0) reader.fail('bin indexes are not strictly increasing');
    index += gap;
    const c = reader.varint('bin count value');
    if (c === 0) reader.fail('empty bin stored');
    total += c;
  }
  if (index - layout.lo + 1 > maxBins) reader.fail(`bin range ${layout.lo}..${index} wider than maxBins ${maxBins}`);
  layout.hi = index;
  return total;
}

/** Second pass: the bytes were validated by {@link scanStore}, so reads cannot fail here. */
function applyStore(reader: ByteReader, layout: StoreLayout, total: number, store: CollapsingLowestDenseStore): void {
  if (total === 0) return;
  reader.pos = layout.start;
  store.prepareRange(layout.lo, layout.hi);
  let index = layout.lo;
  reader.varint('first bin index');
  store.addPrepared(index, reader.varint('bin count value'));
  while (index < layout.hi) {
    index += reader.varint('bin index gap');
    store.addPrepared(index, reader.varint('bin count value'));
  }
}

function storeSize(store: CollapsingLowestDenseStore): number {
  if (store.total === 0) return 1;
  let size = 0;
  let n = 0;
  let prev = 0;
  for (let i = store.minIndex; i <= store.maxIndex; i++) {
    const c = store.countAt(i);
    if (c === 0) continue;
    size += (n === 0 ? varintSize(zigzag(i)) : varintSize(i - prev)) + varintSize(c);
    prev = i;
    n++;
  }
  return varintSize(n) + size;
}

function writeStore(out: Uint8Array, pos: number, store: CollapsingLowestDenseStore): number {
  const n = store.nonEmptyBins();
  pos = writeVarint(out, pos, n);
  let first = true;
  let prev = 0;
  for (let i = store.minIndex; n > 0 && i <= store.maxIndex; i++) {
    const c = store.countAt(i);
    if (c === 0) continue;
    pos = writeVarint(out, pos, first ? zigzag(i) : i - prev);
    pos = writeVarint(out, pos, c);
    prev = i;
    first = false;
  }
  return pos;
}

function sameStore(a: CollapsingLowestDenseStore, b: CollapsingLowestDenseStore): boolean {
  if (a.total !== b.total) return false;
  if (a.total === 0) return true;
  const lo = Math.min(a.minIndex, b.minIndex);
  const hi = Math.max(a.maxIndex, b.maxIndex);
  for (let i = lo; i <= hi; i++) if (a.countAt(i) !== b.countAt(i)) return false;
  return true;
}
