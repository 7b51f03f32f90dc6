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

/** The rate in force at time t (pages/ms); 0 before time 0. */
export function rateAt(schedule: RateSchedule, t: number): number {
  const { segments } = schedule;
  const end = segments[segments.length - 1]!.endMs;
  if (t < 0) return 0;
  const at = schedule.cycle ? t % end : t;
  if (at >= end) return segments[segments.length - 1]!.pagesPerMs;
  return segments.find((s) => at >= s.startMs && at < s.endMs)!.pagesPerMs;
}

/** Page writes in [t0, t1): the integral of the rate (0 for times before 0). */
export function writesBetween(schedule: RateSchedule, t0: number, t1: number): number {
  return integralOf(schedule).between(t0, t1);
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
  /** #before[i]: writes in [0, start of segment i); #before[n]: writes in one whole pass. */
  readonly #before: Float64Array;
  readonly #period: number;
  readonly #cycle: boolean;
  /** Segments laid end to end from 0 (as scheduleOfPhases and traces build them); else the plain sum. */
  readonly #segments: readonly RateSegment[] | undefined;

  constructor(schedule: RateSchedule) {
    const { segments } = schedule;
    const n = segments.length;
    this.#starts = new Float64Array(n);
    this.#rates = new Float64Array(n);
    this.#before = new Float64Array(n + 1);
    let sum = 0;
    let contiguous = true;
    for (let i = 0; i < n; i++) {
      const s = segments[i]!;
      if (s.startMs !== (i === 0 ? 0 : segments[i - 1]!.endMs) || !(s.endMs >= s.startMs)) contiguous = false;
      this.#starts[i] = s.startMs;
      this.#rates[i] = s.pagesPerMs;
      this.#before[i] = sum;
      sum += s.pagesPerMs * Math.max(0, s.endMs - s.startMs);
    }
    this.#before[n] = sum;
    this.#period = segments[n - 1]!.endMs;
    this.#cycle = schedule.cycle;
    this.#segments = contiguous ? undefined : segments;
  }

  /** Page writes in [t0, t1). */
  between(t0: number, t1: number): number {
    return t1 <= t0 ? 0 : this.#cumulative(t1) - this.#cumulative(t0);
  }

  // Writes in [0, t).
  #cumulative(t: number): number {
    if (t <= 0) return 0;
    const period = this.#period;
    const n = this.#rates.length;
    if (this.#cycle) return Math.floor(t / period) * this.#before[n]! + this.#within(t % period);
    return this.#within(Math.min(t, period)) + Math.max(0, t - period) * this.#rates[n - 1]!;
  }

  // Writes in [0, x) within one pass (0 ≤ x ≤ period): the segments before x's, then part of x's.
  #within(x: number): number {
    if (this.#segments !== undefined) return plainWithin(this.#segments, x);
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return this.#before[lo]! + this.#rates[lo]! * Math.max(0, x - starts[lo]!);
  }
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
