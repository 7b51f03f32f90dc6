// The median of the newest few samples of a quantity the loop learns from each checkpoint (the probe's ratio
// and lag): one odd checkpoint does not move it, a real change does after half the window.

/** The median of the newest `window` samples (odd: the median is one of them), each clamped to [min, max]. */
export class RecentMedian {
  // The newest samples in a ring, and a scratch copy to sort: no allocation per checkpoint (the simulator makes millions).
  readonly #seen: Float64Array;
  readonly #sorted: Float64Array;
  #next = 0;
  #value: number;

  /** Starts at `initial` (the window full of it). */
  constructor(
    initial: number,
    private readonly min: number,
    private readonly max: number,
    window: number,
  ) {
    if (!(window >= 1) || window % 2 !== 1) throw new RangeError(`median window ${window} must be odd and ≥ 1`);
    this.#seen = new Float64Array(window).fill(initial);
    this.#sorted = new Float64Array(window);
    this.#value = initial;
  }

  /** The median of the newest samples. */
  get value(): number {
    return this.#value;
  }

  /** A new sample (clamped to [min, max]); NaN is ignored. */
  add(sample: number): void {
    if (Number.isNaN(sample)) return;
    const seen = this.#seen;
    seen[this.#next] = Math.min(Math.max(sample, this.min), this.max);
    this.#next = (this.#next + 1) % seen.length;
    const sorted = this.#sorted;
    sorted.set(seen);
    sorted.sort();
    this.#value = sorted[seen.length >> 1] ?? this.#value;
  }
}
