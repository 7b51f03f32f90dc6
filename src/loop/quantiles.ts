// Streaming quantiles in constant memory: a histogram of log-spaced buckets, each RESOLUTION wide in
// relative terms, so a quantile is off by at most ±0.25 % of its value whatever the run's length. A day of
// simulated checkpoints (10^6 and more) fits in a few thousand buckets; an array of every value would not
// (and Math.min(...values) over 200k values overflowed the stack).

/** Relative width of a bucket: values within 0.5 % of each other share one. */
const RESOLUTION = 1.005;
const LOG_RESOLUTION = Math.log(RESOLUTION);

/** Count, mean, min, max and approximate quantiles of a stream of numbers ≥ 0. */
export class QuantileSketch {
  #buckets = new Map<number, number>();
  #zeros = 0;
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

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
    const key = Math.round(Math.log(value) / LOG_RESOLUTION);
    this.#buckets.set(key, (this.#buckets.get(key) ?? 0) + 1);
  }

  /** Adds every value of another sketch. */
  merge(other: QuantileSketch): void {
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#zeros += other.#zeros;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
    for (const [key, n] of other.#buckets) this.#buckets.set(key, (this.#buckets.get(key) ?? 0) + n);
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
    const keys = [...this.#buckets.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      seen += this.#buckets.get(key)!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, RESOLUTION ** key));
    }
    return this.#max;
  }
}
