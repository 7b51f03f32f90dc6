// How well a policy kept the size in the band, by the four measures of issue 11, from records as they
// stream by (constant memory). Steps of the workload's rate are given from outside: the phases of a
// synthetic workload or of the bundled dirtier (see stepsOfSchedule), never guessed from the sizes.
//
//   in band      share of the measured checkpoints whose size was in their band: chain starts and the
//                first `warmup` checkpoints of a run are not counted
//   back in band after each step of the rate: the checkpoints it took, counting those whose window
//                [start − elapsed, start) began after the step, up to the first in band (1 = at once);
//                a step followed by the next before any checkpoint saw it is not counted, one still out
//                of band when the next comes is "never", and one still out of band when the run ends
//                (a trace's last step, say) is "at end": it may have come back later
//   reversals    moves (shrink/grow) opposite to the previous move, as a share of the decisions; the first
//                move after a change of the workload's rate (a step, or a burst beginning or ending) is not
//                counted: the workload changed, not the policy's mind
//   overruns     checkpoints that took longer than their interval

import type { CheckpointFacts, CheckpointRecord } from '../model/record.js';
import { factsOfRecord } from '../loop/summary.js';
import { inBand } from '../loop/status-line.js';
import { endsOf, type RateSchedule, type RateSegment } from './rate.js';

/** When the next step of the workload's rate comes after t (ms since the run started), or undefined. */
export type NextStep = (t: number) => number | undefined;

/** What the scorecard says about one or more runs. */
export interface PolicyScore {
  /** Measured checkpoints: not chain starts, not among the first `warmup` of a run. */
  measured: number;
  inBandShare: number;
  /** Steps of the rate seen, and after how many checkpoints the size was back in band for each. */
  steps: number;
  /**
   * mean and max over the steps that came back (NaN when none did), withinTwo of those in ≤ 2 checkpoints;
   * never: still out of band at the next step; atEnd: still out of band when the run ended.
   */
  backInBand: { mean: number; max: number; withinTwo: number; never: number; atEnd: number };
  decisions: number;
  reversals: number;
  reversalShare: number;
  overruns: number;
}

/** Scores records as they arrive; one instance per policy, startRun() before each run's records. */
export class Scorecard {
  #measured = 0;
  #inBand = 0;
  #decisions = 0;
  #reversals = 0;
  #overruns = 0;
  // After how many checkpoints each step was back in band: kept as sums, so memory stays constant.
  #recovered = 0;
  #recoveredTotal = 0;
  #recoveredMax = 0;
  #recoveredWithinTwo = 0;
  #never = 0;
  #atEnd = 0;
  // Per run:
  #nextStep: NextStep = () => undefined;
  #nextChange: NextStep = () => undefined;
  #origin = 0;
  #index = 0;
  #lastMove: 'shrink' | 'grow' | undefined;
  #stepForMoves: number | undefined;
  #stepForRecovery: number | undefined;
  #firstMovePending = false;
  #tracking: number | undefined; // checkpoints counted since the step being tracked

  constructor(private readonly warmup = 3) {}

  /**
   * Starts a run whose rate steps are given by nextStep, and every change of rate (steps and bursts) by
   * nextChange (ms since the run's first checkpoint).
   */
  startRun(nextStep: NextStep, nextChange: NextStep = nextStep): void {
    this.#endTracking();
    this.#nextStep = nextStep;
    this.#nextChange = nextChange;
    this.#index = 0;
    this.#lastMove = undefined;
    this.#firstMovePending = false;
    this.#stepForMoves = nextChange(Number.NEGATIVE_INFINITY);
    this.#stepForRecovery = nextStep(Number.NEGATIVE_INFINITY);
  }

  add(record: CheckpointRecord): void {
    this.addFacts(factsOfRecord(record));
  }

  /** As add, from a checkpoint's numbers (what the simulator hands over without building records). */
  addFacts(facts: CheckpointFacts): void {
    const { startMs } = facts;
    if (this.#index === 0) this.#origin = startMs;
    this.#index += 1;
    const t = startMs - this.#origin;
    if (facts.overrun) this.#overruns += 1;
    while (this.#stepForMoves !== undefined && this.#stepForMoves < t) {
      this.#firstMovePending = true;
      this.#stepForMoves = this.#nextChange(this.#stepForMoves);
    }
    if (facts.chainStart || Number.isNaN(facts.elapsedMs)) return; // no dirty set, no decision of the policy's
    const windowStart = t - facts.elapsedMs;
    while (this.#stepForRecovery !== undefined && this.#stepForRecovery <= windowStart) {
      this.#closeTracking();
      this.#tracking = 0;
      this.#stepForRecovery = this.#nextStep(this.#stepForRecovery);
    }
    const sizeInBand = inBand(facts.sizeBytes, facts.band);
    if (this.#index > this.warmup) {
      this.#measured += 1;
      if (sizeInBand) this.#inBand += 1;
    }
    if (this.#tracking !== undefined) {
      this.#tracking += 1;
      if (sizeInBand) {
        this.#recovered += 1;
        this.#recoveredTotal += this.#tracking;
        this.#recoveredMax = Math.max(this.#recoveredMax, this.#tracking);
        if (this.#tracking <= 2) this.#recoveredWithinTwo += 1;
        this.#tracking = undefined;
      }
    }
    this.#decisions += 1;
    if (facts.decision === 'hold') return;
    if (this.#firstMovePending) this.#firstMovePending = false;
    else if (this.#lastMove !== undefined && facts.decision !== this.#lastMove) this.#reversals += 1;
    this.#lastMove = facts.decision;
  }

  score(): PolicyScore {
    this.#endTracking();
    const steps = this.#recovered + this.#never + this.#atEnd;
    return {
      measured: this.#measured,
      inBandShare: this.#measured === 0 ? Number.NaN : this.#inBand / this.#measured,
      steps,
      backInBand: {
        mean: this.#recovered === 0 ? Number.NaN : this.#recoveredTotal / this.#recovered,
        max: this.#recovered === 0 ? Number.NaN : this.#recoveredMax,
        withinTwo: this.#recoveredWithinTwo,
        never: this.#never,
        atEnd: this.#atEnd,
      },
      decisions: this.#decisions,
      reversals: this.#reversals,
      reversalShare: this.#decisions === 0 ? 0 : this.#reversals / this.#decisions,
      overruns: this.#overruns,
    };
  }

  // A step still tracked when the next one comes was never back in band, if a checkpoint saw it at all (two
  // steps inside one checkpoint's window are one change as far as any policy could see).
  #closeTracking(): void {
    if (this.#tracking !== undefined && this.#tracking > 0) this.#never += 1;
    this.#tracking = undefined;
  }

  // A step still tracked when the run ends was not back in band yet: it may have been later.
  #endTracking(): void {
    if (this.#tracking !== undefined && this.#tracking > 0) this.#atEnd += 1;
    this.#tracking = undefined;
  }
}

/**
 * The steps of a schedule: the boundaries where the rate changes by at least ×factor either way (cycling
 * schedules step at their wrap too, when the last and first rates differ that much).
 */
export function stepsOfSchedule(schedule: RateSchedule, factor = 2): NextStep {
  const { segments } = schedule;
  const { first, last } = endsOf(schedule);
  const boundaries: number[] = [];
  const differs = (a: number, b: number) => Math.max(a, b) >= factor * Math.min(a, b) && Math.max(a, b) > 0;
  let previous: RateSegment | undefined;
  for (const segment of segments) {
    if (previous !== undefined && differs(previous.pagesPerMs, segment.pagesPerMs)) boundaries.push(segment.startMs);
    previous = segment;
  }
  const period = last.endMs;
  if (schedule.cycle && segments.length > 1 && differs(last.pagesPerMs, first.pagesPerMs)) boundaries.push(period);
  if (boundaries.length === 0) return () => undefined;
  return (t) => {
    if (!schedule.cycle) return boundaries.find((b) => b > t);
    const base = Number.isFinite(t) ? Math.max(0, Math.floor(t / period)) * period : 0;
    for (let k = 0; k < 2; k++) {
      const found = boundaries.find((b) => base + k * period + b > t);
      if (found !== undefined) return base + k * period + found;
    }
    return undefined;
  };
}
