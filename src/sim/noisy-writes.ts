// The noisy workload model's hot path: the writes of a window, Σ over its noise slots of the rate integral's
// writes in the slot × the slot's lognormal factor, in one method that calls nothing V8 would leave out of line
// in steady state. A simulated checkpoint's window overlaps ~5 noise slots of 100 ms: walked through calls to
// RateIntegral.cumulative and a factor cache's at() (neither inlined once the loop's inlining budget was spent,
// each number they returned a new heap object), that was ~2.6 k instructions of 11.3 k per checkpoint (now ~1.8 k).
//
// The numbers are the same to the last bit as the walk over those calls (a fast-check property in
// test/sim/noisy-writes.test.ts compares them): the cumulative writes are RateIntegral's formula for a cycling
// schedule of a whole-number period (its `inPlace` layout), the factors lognormalFactorAt's, each drawn once into
// a direct-mapped cache (a window asks again for the slot it shares with the one before). Any other schedule
// takes RateIntegral's own cumulative().

import { lognormalFactorAt } from './random.js';
import type { RateIntegral } from './rate.js';

/** Σ over the noise slots that [t0, t1) overlaps of the integral's writes there × the slot's factor. */
export class NoisyWrites {
  readonly #integral: RateIntegral;
  readonly #seed: number;
  readonly #sigma: number;
  // RateIntegral's prepared numbers when its formula can be written in place here, per segment i: [3i] its start,
  // [3i + 1] the writes before it, [3i + 2] its rate (one array: one map and bounds check per slot, not three).
  readonly #segments: Float64Array;
  // [whole, period, limit, slotMs]: writes in one pass, its length, the times below which the formula is written
  // in place (2⁵² in place, −∞ when not: a number compared, where a boolean field costs V8 a generic truth test),
  // and the noise slot's length.
  readonly #numbers: Float64Array;
  // The newest factors, direct-mapped by slot index: [2·(k & 63)] the index k, [2·(k & 63) + 1] its factor.
  readonly #cache = new Float64Array(128).fill(Number.NaN);
  // [time, writes before it] of the last window's end: the next window most often starts there.
  readonly #carried = new Float64Array([Number.NaN, 0]);

  constructor(integral: RateIntegral, slotMs: number, seed: number, sigma: number) {
    this.#integral = integral;
    this.#seed = seed;
    this.#sigma = sigma;
    const layout = integral.inPlace;
    const n = layout?.starts.length ?? 1;
    this.#segments = new Float64Array(3 * n);
    for (let i = 0; i < n && layout !== undefined; i++) {
      this.#segments[3 * i] = layout.starts[i] ?? 0;
      this.#segments[3 * i + 1] = layout.before[i] ?? 0;
      this.#segments[3 * i + 2] = layout.rates[i] ?? 0;
    }
    this.#numbers = new Float64Array([
      layout?.whole ?? 0,
      layout?.period ?? 1,
      layout === undefined ? Number.NEGATIVE_INFINITY : 2 ** 52,
      slotMs,
    ]);
  }

  /** The factor of slot k: lognormalFactorAt(seed, k, sigma), through the cache. */
  factorAt(k: number): number {
    const cache = this.#cache;
    const at = 2 * (k & 63);
    if (cache[at] !== k) {
      cache[at] = k;
      cache[at + 1] = lognormalFactorAt(this.#seed, k, this.#sigma);
    }
    return cache[at + 1] ?? Number.NaN;
  }

  /** The noisy writes in [t0, t1) (t0 ≥ 0). */
  between(t0: number, t1: number): number {
    const integral = this.#integral;
    const seed = this.#seed;
    const sigma = this.#sigma;
    const segments = this.#segments;
    const numbers = this.#numbers;
    const whole = numbers[0] ?? 0;
    const period = numbers[1] ?? 1;
    const limit = numbers[2] ?? Number.NEGATIVE_INFINITY;
    const slotMs = numbers[3] ?? 1;
    const last = segments.length / 3 - 1;
    const cache = this.#cache;
    const carried = this.#carried;
    let from = carried[0] ?? Number.NaN;
    let writesBefore = carried[1] ?? 0;
    let sum = 0;
    for (let k = Math.floor(t0 / slotMs); k * slotMs < t1; k++) {
      const a = Math.max(t0, k * slotMs);
      const b = Math.min(t1, (k + 1) * slotMs);
      if (b > a) {
        // Only a window's first slot, when the window does not start where the last one ended.
        if (a !== from) writesBefore = integral.cumulative(a);
        // integral.cumulative(b): whole passes, then the part of one (RateIntegral's #cumulativeOf and #within).
        let upTo: number;
        if (!(b < limit)) upTo = integral.cumulative(b);
        else if (b <= 0) upTo = 0;
        else {
          const n = Math.floor(b / period);
          const r0 = b - n * period;
          const r = r0 >= 0 ? r0 : b - (n - 1) * period;
          let lo = 0;
          let hi = last;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if ((segments[3 * mid] ?? 0) <= r) lo = mid;
            else hi = mid - 1;
          }
          const at = 3 * lo;
          upTo = n * whole + ((segments[at + 1] ?? 0) + (segments[at + 2] ?? 0) * Math.max(0, r - (segments[at] ?? 0)));
        }
        // The slot's factor, from the cache or drawn into it (lognormalFactorAt).
        const at = 2 * (k & 63);
        if (cache[at] !== k) {
          cache[at] = k;
          cache[at + 1] = lognormalFactorAt(seed, k, sigma);
        }
        sum += (upTo - writesBefore) * (cache[at + 1] ?? Number.NaN);
        from = b;
        writesBefore = upTo;
      }
    }
    carried[0] = from;
    carried[1] = writesBefore;
    return sum;
  }
}
