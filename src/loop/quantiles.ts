// Streaming quantiles in constant memory: a histogram of log-spaced buckets, each RESOLUTION wide in
// relative terms, so a quantile is off by at most ±0.25 % of its value whatever the run's length. A day of
// simulated checkpoints (10^6 and more) fits in a few thousand buckets; an array of every value would not
// (and Math.min(...values) over 200k values overflowed the stack).

/** Relative width of a bucket: values within 0.5 % of each other share one. */
const RESOLUTION = 1.005;
const LOG_RESOLUTION = Math.log(RESOLUTION);

/** Count, mean, min, max and approximate quantiles of a stream of numbers ≥ 0. */
export class QuantileSketch {
  // Bucket counts in one dense array: bucket `key` at index key − #lowKey, grown to cover each new key. A
  // Map cost a hash lookup per value: 5 sketches per simulated checkpoint made a fifth of a simulation's time.
  #counts = new Float64Array(0);
  #lowKey = 0;
  #zeros = 0;
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  // The last value's bucket: many streams repeat a value (a modelled frozen time, an overhead of 0).
  #lastValue = Number.NaN;
  #lastKey = 0;

  /** Adds a value (negative values count as 0). */
  add(value: number): void {
    this.#count += 1;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    if (!(value > 0)) {
      this.#zeros += 1;
      return;
    }
    if (value !== this.#lastValue) {
      this.#lastValue = value;
      this.#lastKey = Math.round(Math.log(value) / LOG_RESOLUTION);
    }
    this.#addToBucket(this.#lastKey, 1);
  }

  /** Adds every value of another sketch. */
  merge(other: QuantileSketch): void {
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#zeros += other.#zeros;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
    const counts = other.#counts;
    counts.forEach((n, i) => {
      if (n > 0) this.#addToBucket(other.#lowKey + i, n);
    });
  }

  get count(): number {
    return this.#count;
  }

  get mean(): number {
    return this.#count === 0 ? Number.NaN : this.#sum / this.#count;
  }

  get min(): number {
    return this.#count === 0 ? Number.NaN : this.#min;
  }

  get max(): number {
    return this.#count === 0 ? Number.NaN : this.#max;
  }

  /** The q-quantile (0 ≤ q ≤ 1), within ±0.25 % of a value of the stream's, clamped to [min, max]. */
  quantile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    // The rank of the q-quantile, as simple-statistics counts it (nearest rank, 1-based).
    const rank = Math.max(1, Math.ceil(q * this.#count));
    if (rank <= this.#zeros) return Math.max(0, this.#min);
    let seen = this.#zeros;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i] ?? 0;
      seen += n;
      if (n > 0 && seen >= rank) return Math.min(this.#max, Math.max(this.#min, RESOLUTION ** (this.#lowKey + i)));
    }
    return this.#max;
  }

  #addToBucket(key: number, n: number): void {
    let at = key - this.#lowKey;
    if (at < 0 || at >= this.#counts.length) at = this.#grow(key);
    this.#counts[at] = (this.#counts[at] ?? 0) + n;
  }

  // Makes room for key, with slack on the side it grew (keys of doubles span at most ~±150 000): returns its index.
  #grow(key: number): number {
    const old = this.#counts;
    const oldLow = this.#lowKey;
    const oldHigh = oldLow + old.length - 1;
    const empty = old.length === 0;
    const low = empty ? key - 64 : Math.min(oldLow, key - (key < oldLow ? old.length + 64 : 0));
    const high = empty ? key + 64 : Math.max(oldHigh, key + (key > oldHigh ? old.length + 64 : 0));
    const counts = new Float64Array(high - low + 1);
    if (!empty) counts.set(old, oldLow - low);
    this.#counts = counts;
    this.#lowKey = low;
    return key - low;
  }
}
