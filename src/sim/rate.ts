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
export function scheduleOfPhases(phases: readonly { pagesPerSecond: number; durationMs: number }[], cycle: boolean): RateSchedule {
  if (phases.length === 0) throw new RangeError('a rate schedule needs at least one phase');
  let at = 0;
  const segments = phases.map(({ pagesPerSecond, durationMs }, i) => {
    if (!(pagesPerSecond >= 0) || !Number.isFinite(pagesPerSecond)) throw new RangeError(`phase ${i + 1}: rate ${pagesPerSecond} pages/s must be a finite number ≥ 0`);
    if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`phase ${i + 1}: duration ${durationMs} ms must be finite and > 0`);
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
  return t1 <= t0 ? 0 : cumulative(schedule, t1) - cumulative(schedule, t0);
}

// Writes in [0, t).
function cumulative(schedule: RateSchedule, t: number): number {
  if (t <= 0) return 0;
  const { segments } = schedule;
  const last = segments[segments.length - 1]!;
  const period = last.endMs;
  if (schedule.cycle) return Math.floor(t / period) * within(segments, period) + within(segments, t % period);
  return within(segments, Math.min(t, period)) + Math.max(0, t - period) * last.pagesPerMs;
}

// Writes in [0, x) within one pass of the segments. A plain loop: the simulator calls this a few times per
// checkpoint, and a reduce with a fresh closure each time was most of what a simulation allocated.
function within(segments: readonly RateSegment[], x: number): number {
  let sum = 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    sum += s.pagesPerMs * Math.max(0, Math.min(x, s.endMs) - s.startMs);
  }
  return sum;
}
