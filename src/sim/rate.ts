// Piecewise-constant write rates and their integral: how many page writes happen between two times.
// Both the synthetic phases (which cycle, like the bundled dirtier's) and trace replays (which hold their
// last rate past the end) are built from this.

/** One stretch of constant rate: [startMs, endMs), in pages per millisecond. */
export interface RateSegment {
  startMs: number;
  endMs: number;
  pagesPerMs: number;
}

/** A rate over time: contiguous segments from 0, cycling forever or holding the last rate after the end. */
export interface RateSchedule {
  segments: readonly RateSegment[];
  /** true: the segments repeat (period = the last end); false: the last segment's rate holds forever. */
  cycle: boolean;
}

/** Builds a schedule from phases of (pages per second, duration ms), laid end to end from 0. */
export function scheduleOfPhases(
  phases: readonly { pagesPerSecond: number; durationMs: number }[],
  cycle: boolean,
): RateSchedule {
  if (phases.length === 0) throw new RangeError('a rate schedule needs at least one phase');
  let at = 0;
  const segments = phases.map(({ pagesPerSecond, durationMs }, i) => {
    if (!(pagesPerSecond >= 0) || !Number.isFinite(pagesPerSecond))
      throw new RangeError(`phase ${i + 1}: rate ${pagesPerSecond} pages/s must be a finite number ≥ 0`);
    if (!(durationMs > 0) || !Number.isFinite(durationMs))
      throw new RangeError(`phase ${i + 1}: duration ${durationMs} ms must be finite and > 0`);
    const segment = { startMs: at, endMs: at + durationMs, pagesPerMs: pagesPerSecond / 1000 };
    at += durationMs;
    return segment;
  });
  return { segments, cycle };
}

/** The first and last segments of a schedule; throws a RangeError for one with none. */
export function endsOf(schedule: RateSchedule): { first: RateSegment; last: RateSegment } {
  const { segments } = schedule;
  const first = segments[0];
  const last = segments.at(-1);
  if (first === undefined || last === undefined) throw new RangeError('a rate schedule needs at least one segment');
  return { first, last };
}

/** The rate in force at time t (pages/ms); 0 before time 0, and in a gap between segments. */
export function rateAt(schedule: RateSchedule, t: number): number {
  const { last } = endsOf(schedule);
  const end = last.endMs;
  if (t < 0) return 0;
  const at = schedule.cycle ? t % end : t;
  if (at >= end) return last.pagesPerMs;
  return schedule.segments.find((s) => at >= s.startMs && at < s.endMs)?.pagesPerMs ?? 0;
}

/** Page writes in [t0, t1): the integral of the rate (0 for times before 0). */
export function writesBetween(schedule: RateSchedule, t0: number, t1: number): number {
  return integralOf(schedule).between(t0, t1);
}

/**
 * A cycling schedule's integral as numbers: cumulative(t) for 0 < t < 2⁵² is n·whole + before[i] + rates[i]·max(0,
 * r − starts[i]), where n = ⌊t/period⌋, r = t − n·period (t − (n − 1)·period if that is negative), and i is the
 * last segment with starts[i] ≤ r.
 */
export interface InPlaceIntegral {
  readonly starts: Float64Array;
  readonly rates: Float64Array;
  readonly before: Float64Array;
  readonly whole: number;
  readonly period: number;
}

/**
 * A schedule's integral, prepared once: the writes before each segment's start (summed in segment order, as
 * a plain sum over the segments would, so results are the same to the last bit) and a binary search for the
 * segment of a time. A trace replay has one segment per record: summing them all on every call made a
 * checkpoint cost O(records).
 */
export class RateIntegral {
  readonly #starts: Float64Array;
  readonly #rates: Float64Array;
  /** #before[i]: writes in [0, start of segment i). */
  readonly #before: Float64Array;
  /** Writes in one whole pass, and the rate after the last segment. */
  readonly #whole: number;
  readonly #lastRate: number;
  readonly #period: number;
  /** The period is a whole number of ms (> 0): remainder()'s exact path applies (checked once, here). */
  readonly #wholePeriod: boolean;
  readonly #cycle: boolean;
  /** Segments laid end to end from 0 (as scheduleOfPhases and traces build them); else the plain sum. */
  readonly #segments: readonly RateSegment[] | undefined;
  // The last time asked for and the writes before it: the simulator asks for each boundary twice in a row.
  #memoT = Number.NaN;
  #memoWrites = 0;

  constructor(schedule: RateSchedule) {
    const { segments } = schedule;
    const n = segments.length;
    this.#starts = new Float64Array(n);
    this.#rates = new Float64Array(n);
    this.#before = new Float64Array(n);
    const { last } = endsOf(schedule);
    let sum = 0;
    let contiguous = true;
    let previousEnd = 0;
    for (const [i, s] of segments.entries()) {
      if (s.startMs !== previousEnd || !(s.endMs >= s.startMs)) contiguous = false;
      previousEnd = s.endMs;
      this.#starts[i] = s.startMs;
      this.#rates[i] = s.pagesPerMs;
      this.#before[i] = sum;
      sum += s.pagesPerMs * Math.max(0, s.endMs - s.startMs);
    }
    this.#whole = sum;
    this.#lastRate = last.pagesPerMs;
    this.#period = last.endMs;
    this.#wholePeriod = isWholePeriod(last.endMs);
    this.#cycle = schedule.cycle;
    this.#segments = contiguous ? undefined : segments;
  }

  /**
   * The prepared arrays, for a caller that computes cumulative() in place (src/sim/noisy-writes.ts) when the
   * schedule cycles with a whole-number period over segments laid end to end; undefined for any other.
   */
  get inPlace(): InPlaceIntegral | undefined {
    if (!this.#cycle || !this.#wholePeriod || this.#segments !== undefined) return undefined;
    return { starts: this.#starts, rates: this.#rates, before: this.#before, whole: this.#whole, period: this.#period };
  }

  /** Page writes in [t0, t1). */
  between(t0: number, t1: number): number {
    if (t1 <= t0) return 0;
    // t0 first: it is most often the t1 of the call before (the next noise slot, the next checkpoint's window).
    const before = this.#cumulative(t0);
    return this.#cumulative(t1) - before;
  }

  /**
   * Page writes in [0, t): between(t0, t1) is cumulative(t1) − cumulative(t0), to the last bit. For a caller that
   * walks a run of adjacent windows and carries each end's value to the next window (no memo to read or write).
   */
  cumulative(t: number): number {
    return this.#cumulativeOf(t);
  }

  // Writes in [0, t), from the memo when t is the time asked last (a pure function of t: the same number).
  #cumulative(t: number): number {
    if (t === this.#memoT) return this.#memoWrites;
    const writes = this.#cumulativeOf(t);
    this.#memoT = t;
    this.#memoWrites = writes;
    return writes;
  }

  // Writes in [0, t): whole passes, then the part of one. The passes' count is remainder()'s n, taken once, and
  // the period's test is made once, in the constructor.
  #cumulativeOf(t: number): number {
    if (t <= 0) return 0;
    const period = this.#period;
    if (!this.#cycle) return this.#within(Math.min(t, period)) + Math.max(0, t - period) * this.#lastRate;
    const n = Math.floor(t / period);
    const r = this.#wholePeriod && t < 2 ** 52 ? wholeRemainder(t, period, n) : t % period;
    return n * this.#whole + this.#within(r);
  }

  // Writes in [0, x) within one pass (0 ≤ x ≤ period): the segments before x's, then part of x's.
  #within(x: number): number {
    if (this.#segments !== undefined) return plainWithin(this.#segments, x);
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      // mid lies in (lo, hi] within the arrays: a check on each probe of a search run several times per checkpoint.
      // oxlint-disable-next-line typescript/no-non-null-assertion
      if (starts[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    // lo is a segment's index (0 ≤ lo < n, the three arrays have n or n + 1 entries).
    // oxlint-disable-next-line typescript/no-non-null-assertion
    return this.#before[lo]! + this.#rates[lo]! * Math.max(0, x - starts[lo]!);
  }
}

/**
 * t % period, to the last bit, without the C call V8 makes for a double `%` (fmod: a tenth of the workload
 * model's time) when the period is a whole number and 0 ≤ t < 2⁵²: then n·period is exact, and so is t − n·period
 * whenever it is the remainder (both are multiples of t's last bit, and it is smaller than t). Only n could be
 * one too many, if t/period rounded up to a whole number (not seen in 5·10⁶ random tries, nor just below
 * multiples; guarded all the same): then the remainder is t − (n − 1)·period, exact likewise. Any other t or
 * period: `%` itself.
 */
export function remainder(t: number, period: number): number {
  if (!(t >= 0 && t < 2 ** 52 && isWholePeriod(period))) return t % period;
  return wholeRemainder(t, period, Math.floor(t / period));
}

// remainder()'s exact path, given n = ⌊t/period⌋ (0 ≤ t < 2⁵², period whole).
function wholeRemainder(t: number, period: number, n: number): number {
  const r = t - n * period;
  return r >= 0 ? r : t - (n - 1) * period;
}

// Whether remainder()'s exact path applies to this period.
function isWholePeriod(period: number): boolean {
  return Number.isSafeInteger(period) && period > 0;
}

// Writes in [0, x) within one pass of any segments, summed one by one.
function plainWithin(segments: readonly RateSegment[], x: number): number {
  let sum = 0;
  for (const s of segments) sum += s.pagesPerMs * Math.max(0, Math.min(x, s.endMs) - s.startMs);
  return sum;
}

// One prepared integral per schedule object (schedules are immutable once built).
const integrals = new WeakMap<RateSchedule, RateIntegral>();

/** The prepared integral of a schedule, made on first use. */
export function integralOf(schedule: RateSchedule): RateIntegral {
  let integral = integrals.get(schedule);
  if (integral === undefined) {
    integral = new RateIntegral(schedule);
    integrals.set(schedule, integral);
  }
  return integral;
}
