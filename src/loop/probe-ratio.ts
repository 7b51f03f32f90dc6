// The dirty-size probe's learned ratio: bytes a checkpoint stored per byte of the (scaled) reading it started
// on. Reads set the accessed bits too, so a workload that reads as much as it writes settles near 1/2. The
// ratio is the median of the newest RATIO_WINDOW checkpoints', not a running mean: on real CRIU the old rule
// (the geometric mean of the old ratio and the newest) dropped from ~1 to 1/8 on one checkpoint, the
// dirtier's first check of its memory (all 16 MiB read in one wait), and the next checkpoint stored 8.6 MiB
// against a 2 MiB aim. One odd checkpoint does not move a median of five; a real change moves it after three.

import { RecentMedian } from './recent-median.js';

/** How many of the newest ratios the median is taken over (odd: the median is one of them). */
export const RATIO_WINDOW = 5;

/** Each checkpoint's ratio is clamped to this range: a reading that saw almost nothing, or almost all. */
export const RATIO_MIN = 1 / 64;
export const RATIO_MAX = 4;

/** The learned ratio: starts at 1 (the window full of 1s), then the median of the newest RATIO_WINDOW. */
export class LearnedRatio {
  readonly #median = new RecentMedian(1, RATIO_MIN, RATIO_MAX, RATIO_WINDOW);

  /** Bytes stored per byte of scaled reading, as learned so far. */
  get value(): number {
    return this.#median.value;
  }

  /**
   * A measured checkpoint stored `storedBytes`; the reading it started on, scaled to its window, was
   * `scaledReading` bytes. Either not positive (nothing read, nothing stored): nothing is learned.
   */
  observe(storedBytes: number, scaledReading: number): void {
    if (!(storedBytes > 0) || !(scaledReading > 0)) return;
    this.#median.add(storedBytes / scaledReading);
  }
}
