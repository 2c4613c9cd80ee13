const EMPTY = new Float64Array(0);
/** First allocation of a store: 32 bins (256 bytes) hold a typical latency distribution at alpha 0.05; more grow by doubling. */
const INITIAL_CAPACITY = 32;

/**
 * Bin counts of a DDSketch over a contiguous index range, in a `Float64Array` with an offset, grown by
 * doubling and never wider than `maxBins`. When an index would widen the range beyond `maxBins`, every
 * bin below `maxIndex - maxBins + 1` is folded into that lowest kept bin (Datadog's
 * CollapsingLowestDenseStore).
 *
 * The content is a pure function of the multiset of added indexes: bins above the collapse threshold
 * are exact and the lowest kept bin holds everything at or below it. That is what makes merging exact,
 * commutative and associative even after collapsing.
 *
 * Counts are integers held in float64, exact up to 2^53. The backing array is allocated on first use,
 * so an unused store (the negative store of a latency metric) costs nothing.
 */
export class CollapsingLowestDenseStore {
  readonly maxBins: number;
  /** Sum of all counts. */
  total: number;
  /** Lowest and highest index of the range in use; meaningful only when `total > 0`. */
  minIndex: number;
  maxIndex: number;
  private bins: Float64Array;
  /** Index held by `bins[0]`. */
  private offset: number;

  constructor(maxBins: number) {
    this.maxBins = maxBins;
    this.total = 0;
    this.minIndex = 0;
    this.maxIndex = 0;
    this.bins = EMPTY;
    this.offset = 0;
  }

  add(index: number, count: number): void {
    // hot path: one bounds check, a widening only when a new extreme bin appears.
    if (this.total === 0 || index < this.minIndex || index > this.maxIndex) {
      this.extendRange(index, index);
      if (index < this.minIndex) index = this.minIndex;
    }
    this.bins[index - this.offset] += count;
    this.total += count;
  }

  /** Count in bin `index` (0 outside the range in use). */
  countAt(index: number): number {
    if (this.total === 0 || index < this.minIndex || index > this.maxIndex) return 0;
    return this.bins[index - this.offset];
  }

  merge(other: CollapsingLowestDenseStore): void {
    if (other.total === 0) return;
    this.extendRange(other.minIndex, other.maxIndex);
    const src = other.bins;
    const srcOffset = other.offset;
    const floor = this.minIndex;
    for (let i = other.minIndex; i <= other.maxIndex; i++) {
      const c = src[i - srcOffset];
      if (c !== 0) this.bins[(i < floor ? floor : i) - this.offset] += c;
    }
    this.total += other.total;
  }

  /**
   * Prepares for a bulk add of indexes in `[lo, hi]` (from a serialized store); afterwards use
   * {@link addPrepared}, which skips the range check.
   */
  prepareRange(lo: number, hi: number): void {
    this.extendRange(lo, hi);
  }

  addPrepared(index: number, count: number): void {
    this.bins[(index < this.minIndex ? this.minIndex : index) - this.offset] += count;
    this.total += count;
  }

  reset(): void {
    this.bins.fill(0);
    this.total = 0;
    this.minIndex = 0;
    this.maxIndex = 0;
  }

  /** Number of non-empty bins. */
  nonEmptyBins(): number {
    if (this.total === 0) return 0;
    let n = 0;
    for (let i = this.minIndex - this.offset, end = this.maxIndex - this.offset; i <= end; i++)
      if (this.bins[i] !== 0) n++;
    return n;
  }

  /** Widens the range to include `[lo, hi]`, collapsing the lowest bins beyond `maxBins`. */
  private extendRange(lo: number, hi: number): void {
    const wasEmpty = this.total === 0;
    const newMax = wasEmpty || hi > this.maxIndex ? hi : this.maxIndex;
    let newMin = wasEmpty || lo < this.minIndex ? lo : this.minIndex;
    if (newMax - newMin + 1 > this.maxBins) newMin = newMax - this.maxBins + 1;
    const span = newMax - newMin + 1;
    let bins = this.bins;

    // Everything that falls below the new lowest bin is summed now, before bins move.
    let collapsed = 0;
    if (!wasEmpty) {
      const collapseEnd = Math.min(this.maxIndex, newMin - 1);
      for (let i = this.minIndex; i <= collapseEnd; i++) collapsed += bins[i - this.offset];
    }

    if (newMin >= this.offset && newMax < this.offset + bins.length) {
      // Fits where it is: zero the collapsed bins in place.
      if (collapsed !== 0 || (!wasEmpty && newMin > this.minIndex)) {
        bins.fill(0, this.minIndex - this.offset, newMin - this.offset);
        bins[newMin - this.offset] += collapsed;
      }
    } else {
      if (span > bins.length) {
        let capacity = Math.max(INITIAL_CAPACITY, bins.length * 2);
        while (capacity < span) capacity *= 2;
        bins = new Float64Array(Math.min(capacity, this.maxBins));
      }
      // Centre the range so that growth on either side is amortised.
      const newOffset = newMin - ((bins.length - span) >> 1);
      if (!wasEmpty) {
        const keepFrom = Math.max(this.minIndex, newMin);
        const keepTo = this.maxIndex;
        if (bins === this.bins) {
          if (keepFrom <= keepTo) {
            const dst = keepFrom - newOffset;
            bins.copyWithin(dst, keepFrom - this.offset, keepTo - this.offset + 1);
            bins.fill(0, 0, dst);
            bins.fill(0, dst + keepTo - keepFrom + 1);
          } else {
            bins.fill(0);
          }
        } else if (keepFrom <= keepTo) {
          bins.set(this.bins.subarray(keepFrom - this.offset, keepTo - this.offset + 1), keepFrom - newOffset);
        }
        bins[newMin - newOffset] += collapsed;
      }
      this.bins = bins;
      this.offset = newOffset;
    }
    this.minIndex = newMin;
    this.maxIndex = newMax;
  }

  /** Bins allocated (memory accounting: 8 bytes each). */
  get capacity(): number {
    return this.bins.length;
  }
}
