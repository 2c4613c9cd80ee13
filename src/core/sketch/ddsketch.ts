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
/**
 * Smallest accepted alpha: bin indexes of finite doubles then stay within +/-3.6e8, so they fit the int32
 * that `add` truncates them to (`| 0` keeps them Smis: no HeapNumber per call).
 */
export const DDSKETCH_MIN_ALPHA = 1e-6;
/** No finite double maps beyond this at alpha >= 1e-6; larger indexes mean corrupt bytes. */
const MAX_ABS_INDEX = 2 ** 31 - 1;
// Smallest positive normal double; magnitudes below MIN_NORMAL * gamma are counted in the zero bin, as in Datadog's sketches-java.
const MIN_NORMAL = 2.2250738585072014e-308;

// Slots of DDSketch.stats.
const COUNT = 0;
const ZERO = 1;
const SUM = 2;
const MIN = 3;
const MAX = 4;

/** Where a serialized store's bins sit in the bytes, found by the validating pass of mergeSerialized. */
interface StoreLayout {
  start: number;
  mode: number;
  lo: number;
  hi: number;
  /** Sparse: number of bins; dense: span. */
  n: number;
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
  /**
   * count, zero count, sum, min, max. A Float64Array rather than number fields: V8 boxes a double
   * field on every write in this class (measured: one 16-byte HeapNumber per add, a scavenge every
   * ~100k adds); typed-array stores never allocate.
   */
  private readonly stats: Float64Array;

  constructor(relativeAccuracy: number = DDSKETCH_DEFAULT_ALPHA, maxBins: number = DDSKETCH_DEFAULT_MAX_BINS) {
    if (!(relativeAccuracy >= DDSKETCH_MIN_ALPHA && relativeAccuracy < 1)) {
      throw new SketchArgumentError(
        `DDSketch relative accuracy must be in [${DDSKETCH_MIN_ALPHA}, 1), got ${relativeAccuracy}.`,
      );
    }
    if (!Number.isInteger(maxBins) || maxBins < 1 || maxBins > DDSKETCH_MAX_MAX_BINS) {
      throw new SketchArgumentError(
        `DDSketch maxBins must be an integer in [1, ${DDSKETCH_MAX_MAX_BINS}], got ${maxBins}.`,
      );
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
    this.stats = new Float64Array(5);
    this.stats[MIN] = Number.POSITIVE_INFINITY;
    this.stats[MAX] = Number.NEGATIVE_INFINITY;
  }

  /**
   * Records `value` `count` times. Throws {@link SketchValueError} for NaN or +/-Infinity values and for a
   * count that is not a positive safe integer; the sketch is unchanged then.
   */
  add(value: number, count = 1): void {
    // hot path: one Math.log per value, no allocation (0 scavenges over 2e7 adds); the range widens only for new extremes.
    if (!Number.isFinite(value)) throw nonFiniteValue(value);
    if (count !== 1 && !(count > 0 && Number.isSafeInteger(count))) throw invalidCount(count);
    if (value > this.minIndexable) this.positive.add(Math.ceil(Math.log(value) * this.multiplier) | 0, count);
    else if (value < -this.minIndexable) this.negative.add(Math.ceil(Math.log(-value) * this.multiplier) | 0, count);
    else {
      this.stats[ZERO] += count;
      if (value === 0) value = 0; // -0 -> 0, so min and max do not depend on the order of adds
    }
    const stats = this.stats;
    stats[COUNT] += count;
    stats[SUM] += value * count;
    if (value < stats[MIN]) stats[MIN] = value;
    if (value > stats[MAX]) stats[MAX] = value;
  }

  /** Number of values recorded. */
  get count(): number {
    return this.stats[COUNT];
  }

  /** Sum of the values recorded (0 when empty). */
  get sum(): number {
    return this.stats[SUM];
  }

  /** Exact smallest value recorded; NaN when empty. */
  get min(): number {
    return this.stats[COUNT] === 0 ? Number.NaN : this.stats[MIN];
  }

  /** Exact largest value recorded; NaN when empty. */
  get max(): number {
    return this.stats[COUNT] === 0 ? Number.NaN : this.stats[MAX];
  }

  /** True when nothing has been recorded since construction or the last reset. */
  isEmpty(): boolean {
    return this.stats[COUNT] === 0;
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
    if (this.stats[COUNT] === 0) return Number.NaN;
    const rank = q * (this.stats[COUNT] - 1);
    // The extreme ranks are known exactly, even when low bins collapsed.
    if (rank === 0) return this.stats[MIN];
    if (rank === this.stats[COUNT] - 1) return this.stats[MAX];
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
    } else if (rank >= neg.total + this.stats[ZERO]) {
      let seen = neg.total + this.stats[ZERO];
      for (let i = pos.minIndex; i <= pos.maxIndex; i++) {
        seen += pos.countAt(i);
        if (seen > rank) {
          value = this.binValue(i);
          break;
        }
      }
    }
    if (value < this.stats[MIN]) return this.stats[MIN];
    if (value > this.stats[MAX]) return this.stats[MAX];
    return value;
  }

  /**
   * Adds `other`'s bins, counts, sum, min and max to this sketch. Throws {@link SketchMismatchError} when the
   * relative accuracies differ. Bins beyond this sketch's `maxBins` collapse as described on the class.
   */
  merge(other: DDSketch): void {
    this.checkAlpha(other.relativeAccuracy);
    if (other.stats[COUNT] === 0) return;
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.stats[ZERO] += other.stats[ZERO];
    this.stats[COUNT] += other.stats[COUNT];
    this.stats[SUM] += other.stats[SUM];
    if (other.stats[MIN] < this.stats[MIN]) this.stats[MIN] = other.stats[MIN];
    if (other.stats[MAX] > this.stats[MAX]) this.stats[MAX] = other.stats[MAX];
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
    const posLayout: StoreLayout = { start: 0, mode: 0, lo: 0, hi: 0, n: 0 };
    const negLayout: StoreLayout = { start: 0, mode: 0, lo: 0, hi: 0, n: 0 };
    const posTotal = scanStore(reader, maxBins, posLayout);
    const negTotal = scanStore(reader, maxBins, negLayout);
    reader.expectEnd();
    const count = zeroCount + posTotal + negTotal;
    checkSummary(reader, count, min, max, sum);
    if (count === 0) return;

    applyStore(reader, posLayout, posTotal, this.positive);
    applyStore(reader, negLayout, negTotal, this.negative);
    this.stats[ZERO] += zeroCount;
    this.stats[COUNT] += count;
    this.stats[SUM] += sum;
    if (min < this.stats[MIN]) this.stats[MIN] = min;
    if (max > this.stats[MAX]) this.stats[MAX] = max;
  }

  /** Forgets everything recorded; keeps the allocated bins for reuse (zero-filled). */
  reset(): void {
    this.positive.reset();
    this.negative.reset();
    this.stats.fill(0);
    this.stats[MIN] = Number.POSITIVE_INFINITY;
    this.stats[MAX] = Number.NEGATIVE_INFINITY;
  }

  /** Same alpha and identical bins (positive, negative, zero); ignores sum, min, max and maxBins. */
  sameBins(other: DDSketch): boolean {
    return (
      this.relativeAccuracy === other.relativeAccuracy &&
      this.stats[ZERO] === other.stats[ZERO] &&
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
   * the zero count (varint), then each store (positive, negative): an encoding byte, the first index
   * (zigzag varint), then whichever is smaller: the varint counts of the whole index span (dense), or
   * the number of non-empty bins and (index gap, count) varint pairs (sparse). About 2 bytes per bin:
   * ~1 KB for 100,000 latency-like values; at most 12.3 KB for two full 2,048-bin stores while every
   * bin count stays below 2^21 (2 M), 8.2 KB below 2^14. Deterministic: equal sketches give equal bytes.
   */
  serialize(): Uint8Array {
    const size =
      2 +
      8 +
      varintSize(this.maxBins) +
      24 +
      varintSize(this.stats[ZERO]) +
      storeSize(this.positive) +
      storeSize(this.negative);
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    out[0] = DDSKETCH_KIND_BYTE;
    out[1] = DDSKETCH_FORMAT_VERSION;
    view.setFloat64(2, this.relativeAccuracy, true);
    let pos = writeVarint(out, 10, this.maxBins);
    view.setFloat64(pos, this.stats[MIN], true);
    view.setFloat64(pos + 8, this.stats[MAX], true);
    view.setFloat64(pos + 16, this.stats[SUM], true);
    pos = writeVarint(out, pos + 24, this.stats[ZERO]);
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
  return new SketchValueError(
    `DDSketch cannot record ${value}: values must be finite numbers. Reject the event as invalid_value.`,
  );
}

function invalidCount(count: number): SketchValueError {
  return new SketchValueError(`DDSketch count must be a positive integer up to 2^53 - 1, got ${count}.`);
}

function readHeader(reader: ByteReader): number {
  const kind = reader.byte('kind');
  if (kind !== DDSKETCH_KIND_BYTE) reader.fail(`kind byte 0x${kind.toString(16)} is not a DDSketch ('D')`);
  const version = reader.byte('version');
  if (version !== DDSKETCH_FORMAT_VERSION)
    reader.fail(`unsupported format version ${version} (this build reads ${DDSKETCH_FORMAT_VERSION})`);
  const alpha = reader.f64('alpha');
  if (!(alpha >= DDSKETCH_MIN_ALPHA && alpha < 1)) reader.fail(`relative accuracy ${alpha} out of range`);
  return alpha;
}

function checkSummary(reader: ByteReader, count: number, min: number, max: number, sum: number): void {
  if (count > Number.MAX_SAFE_INTEGER) reader.fail('total count exceeds 2^53 - 1');
  if (count === 0) {
    if (min !== Number.POSITIVE_INFINITY || max !== Number.NEGATIVE_INFINITY || sum !== 0)
      reader.fail('empty sketch with a min, max or sum');
  } else if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max)) {
    // The sum is not checked: values near +/-1.8e308 can overflow it to Infinity or NaN legitimately,
    // and rejecting it would make the stored item unreadable.
    reader.fail('min or max inconsistent with a non-empty sketch');
  }
}

const STORE_EMPTY = 0;
/** (index gap, count) pairs: smallest when bins are scattered. */
const STORE_SPARSE = 1;
/** One count per index of the range, zeros included: smallest for the contiguous body of a distribution. */
const STORE_DENSE = 2;

/** Validating pass over one serialized store: records its layout, returns its total count. */
function scanStore(reader: ByteReader, maxBins: number, layout: StoreLayout): number {
  const mode = reader.byte('store encoding');
  layout.start = reader.pos;
  if (mode === STORE_EMPTY) return 0;
  if (mode !== STORE_SPARSE && mode !== STORE_DENSE) reader.fail(`unknown store encoding ${mode}`);
  const first = unzigzag(reader.varint('first bin index'));
  if (Math.abs(first) > MAX_ABS_INDEX) reader.fail(`bin index ${first} out of range`);
  const n = reader.varint(mode === STORE_SPARSE ? 'bin count' : 'bin span');
  if (n < 1 || n > maxBins) reader.fail(`${n} bins in a store limited to ${maxBins}`);
  let last = first;
  let total = 0;
  let c = 0;
  for (let k = 0; k < n; k++) {
    if (mode === STORE_SPARSE && k > 0) {
      const gap = reader.varint('bin index gap');
      if (gap === 0) reader.fail('bin indexes are not strictly increasing');
      last += gap;
    }
    c = reader.varint('bin count value');
    if (c === 0 && (mode === STORE_SPARSE || k === 0)) reader.fail('empty bin stored at the edge of a store');
    total += c;
  }
  if (c === 0) reader.fail('empty bin stored at the edge of a store');
  if (mode === STORE_DENSE) last = first + n - 1;
  if (last - first + 1 > maxBins) reader.fail(`bin range ${first}..${last} wider than maxBins ${maxBins}`);
  layout.mode = mode;
  layout.lo = first;
  layout.hi = last;
  layout.n = n;
  return total;
}

/** Second pass: the bytes were validated by {@link scanStore}, so reads cannot fail here. */
function applyStore(reader: ByteReader, layout: StoreLayout, total: number, store: CollapsingLowestDenseStore): void {
  if (total === 0) return;
  reader.pos = layout.start;
  store.prepareRange(layout.lo, layout.hi);
  reader.varint('first bin index');
  reader.varint('bin count');
  let index = layout.lo;
  for (let k = 0; k < layout.n; k++) {
    if (k > 0) index += layout.mode === STORE_SPARSE ? reader.varint('bin index gap') : 1;
    const c = reader.varint('bin count value');
    if (c !== 0) store.addPrepared(index, c);
  }
}

/** First and last non-empty index of a non-empty store, in module scratch (no allocation). */
let edgeLo = 0;
let edgeHi = 0;
function findEdges(store: CollapsingLowestDenseStore): void {
  edgeLo = store.minIndex;
  while (store.countAt(edgeLo) === 0) edgeLo++;
  edgeHi = store.maxIndex;
  while (store.countAt(edgeHi) === 0) edgeHi--;
}

function sparseSize(store: CollapsingLowestDenseStore): number {
  let size = varintSize(zigzag(edgeLo)) + varintSize(store.nonEmptyBins());
  let prev = edgeLo;
  for (let i = edgeLo; i <= edgeHi; i++) {
    const c = store.countAt(i);
    if (c === 0) continue;
    size += (i === edgeLo ? 0 : varintSize(i - prev)) + varintSize(c);
    prev = i;
  }
  return size;
}

function denseSize(store: CollapsingLowestDenseStore): number {
  let size = varintSize(zigzag(edgeLo)) + varintSize(edgeHi - edgeLo + 1);
  for (let i = edgeLo; i <= edgeHi; i++) size += varintSize(store.countAt(i));
  return size;
}

/** Encoded size of a store, mode byte included, using the smaller encoding. */
function storeSize(store: CollapsingLowestDenseStore): number {
  if (store.total === 0) return 1;
  findEdges(store);
  return 1 + Math.min(sparseSize(store), denseSize(store));
}

function writeStore(out: Uint8Array, pos: number, store: CollapsingLowestDenseStore): number {
  if (store.total === 0) {
    out[pos] = STORE_EMPTY;
    return pos + 1;
  }
  findEdges(store);
  const dense = denseSize(store) <= sparseSize(store);
  out[pos++] = dense ? STORE_DENSE : STORE_SPARSE;
  pos = writeVarint(out, pos, zigzag(edgeLo));
  pos = writeVarint(out, pos, dense ? edgeHi - edgeLo + 1 : store.nonEmptyBins());
  let prev = edgeLo;
  for (let i = edgeLo; i <= edgeHi; i++) {
    const c = store.countAt(i);
    if (dense) {
      pos = writeVarint(out, pos, c);
    } else if (c !== 0) {
      if (i !== edgeLo) pos = writeVarint(out, pos, i - prev);
      pos = writeVarint(out, pos, c);
      prev = i;
    }
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
