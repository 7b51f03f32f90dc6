// The dirty-size probe's rule: while the loop waits for the next checkpoint, it reads how much memory the
// workload has touched since the last dump (src/process/dirty-probe.ts: the accessed bits, which neither
// stop nor freeze it) at instants `period` apart, and starts the checkpoint as soon as the one started on a
// reading would hold the aim (or sooner, when waiting for the next reading would take it past the band),
// instead of only at the interval the policy chose. No interval policy can keep a whole burst in band
// (README, "policy-ceiling"); a reading during the interval can. Pure: the loop (and the simulator, from its
// model's rate integral) supplies the times and readings.

import type { Band } from '../model/policy.js';
import type { ProbeTrigger } from '../model/record.js';
import type { TargetRule } from '../policy/defaults.js';
import { targetBytes } from '../policy/predictive-arithmetic.js';

/** The probe's settings (config section `probe`, resolved). */
export interface ProbeSettings {
  /** The period between readings is the interval in force / 8, clamped to [minPeriodMs, maxPeriodMs]. */
  minPeriodMs: number;
  maxPeriodMs: number;
  /** At the deadline, while the estimate is still under the floor, wait on (reading on) up to the band's max interval. */
  defer: boolean;
  /** Where in the band the aim lies (the predictive policy's own target rule; geometric otherwise). */
  target: TargetRule;
}

/** Why a probed wait ended: the estimate reached the aim, or the floor after the deadline, or time ran out. */
export type { ProbeTrigger } from '../model/record.js';

/** One wait's plan, in the probe's own units (reading bytes): rewritten in place by the loop for each wait. */
export interface ProbePlan {
  /** The previous checkpoint's start: the next checkpoint holds the writes since (about) then. */
  fromMs: number;
  /** When the accessed bits were cleared (once CRIU let go): the readings hold the writes since then. */
  seenFromMs: number;
  /** When the wait began: the first reading comes at the first tick after it. */
  beganMs: number;
  periodMs: number;
  /** The policy's deadline: the previous start + the interval in force. */
  deadlineMs: number;
  /** The deadline, or with `defer` the previous start + the band's max interval when that is later. */
  latestMs: number;
  /**
   * The aim and the floor over the learned ratio: what a reading scaled to the whole window (readingScale)
   * must reach (estimate = reading × scale × learned ratio).
   */
  aimLevel: number;
  floorLevel: number;
  /** The band's edges over the learned ratio. */
  lminLevel: number;
  lmaxLevel: number;
  /**
   * The time from a reading to the freeze of the checkpoint started on it (learned by the loop: the rest of
   * the loop, CRIU's start-up, the freezing). What the workload writes then is in that checkpoint but in no
   * reading: on real CRIU under load a 1500 pages/s burst wrote 0.4-1.1 MiB there against a 2 MiB aim.
   */
  lagMs: number;
  /** The wait's previous reading and its instant (at first the reset, which reads 0): the rate since then. */
  lastAtMs: number;
  lastReading: number;
}

/**
 * What a reading taken at atMs is multiplied by to cover the checkpoint that would start on it. That
 * checkpoint holds the writes from the previous one's freeze to its own, about fromMs to atMs (a start comes
 * a few ms after its reading, and each freeze as long after its start); the reading holds only those since
 * the reset, after the previous dump (CRIU's wall: 0.1-1 s here). The rate taken as constant over the window:
 * (atMs − fromMs) / (atMs − seenFromMs). Taken at the reading's instant, not at the deadline: with v2 resting
 * at 8 s and the probe starting at 1.7 s, the deadline's 8 / (8 − 0.7) counted 1.1× what 1.7 / 1.0 counts.
 */
export function readingScale(plan: ProbePlan, atMs: number): number {
  const seen = atMs - plan.seenFromMs;
  const window = atMs - plan.fromMs;
  return seen > 0 && window > seen ? window / seen : 1;
}

/** The reading at atMs whose scaled value is `level` (level / readingScale): what the rule compares with. */
export function readingFor(plan: ProbePlan, level: number, atMs: number): number {
  const seen = atMs - plan.seenFromMs;
  const window = atMs - plan.fromMs;
  return seen > 0 && window > seen ? (level * seen) / window : level;
}

/** The reading period for an interval: interval / 8, within [minPeriodMs, maxPeriodMs]. */
export function probePeriodMs(intervalMs: number, settings: ProbeSettings): number {
  return Math.min(Math.max(intervalMs / 8, settings.minPeriodMs), settings.maxPeriodMs);
}

/** The size the probe aims at: the band's target (sqrt(lmin·lmax) for the geometric rule). */
export function probeAimBytes(band: Band, settings: ProbeSettings): number {
  return targetBytes(band, settings.target);
}

/**
 * Past the deadline a wait ends once the estimate reaches lmin × FLOOR_MARGIN (or the aim, if that is lower).
 * At lmin itself the estimates ran high: on real CRIU five checkpoints started there (band [1, 4] MiB) stored
 * 0.93-0.99 MiB for estimates 1.04-1.09× as large. In `remusd compare` (issue 11's workload, --probe) 1.1
 * raised v2 from 97.1 % to 97.2 % in band and the threshold rule from 94.0 % to 94.8 %.
 */
export const FLOOR_MARGIN = 1.1;

/** The size at which a deferred wait ends: lmin × FLOOR_MARGIN, never above the aim. */
export function probeFloorBytes(band: Band, settings: ProbeSettings): number {
  return Math.min(band.lminBytes * FLOOR_MARGIN, probeAimBytes(band, settings));
}

/** The learned lag (plan.lagMs) is the median of the newest PROBE_LAG_WINDOW, each within [0, PROBE_LAG_MAX_MS]. */
export const PROBE_LAG_WINDOW = 5;
export const PROBE_LAG_MAX_MS = 2000;

/** A blank plan, for the loop to rewrite. */
export function blankPlan(): ProbePlan {
  return {
    fromMs: 0,
    seenFromMs: 0,
    beganMs: 0,
    periodMs: 1,
    deadlineMs: 0,
    latestMs: 0,
    aimLevel: 0,
    floorLevel: 0,
    lminLevel: 0,
    lmaxLevel: 0,
    lagMs: 0,
    lastAtMs: 0,
    lastReading: 0,
  };
}

/**
 * The next instant after afterMs at which to read: the next tick fromMs + k·period, or the deadline, or the
 * latest, whichever comes first (never past the latest).
 */
export function nextInstant(plan: ProbePlan, afterMs: number): number {
  const { fromMs, periodMs, deadlineMs, latestMs } = plan;
  let k = Math.floor((afterMs - fromMs) / periodMs) + 1;
  if (fromMs + periodMs * k <= afterMs) k += 1; // rounding: a tick at afterMs itself is not after it
  let next = fromMs + periodMs * k;
  if (deadlineMs > afterMs && deadlineMs < next) next = deadlineMs;
  return Math.min(next, latestMs);
}

/** The rate (reading bytes per ms) from the wait's previous reading to this one: readings never fall. */
export function readingRate(plan: ProbePlan, nowMs: number, reading: number): number {
  const ms = nowMs - plan.lastAtMs;
  return ms > 0 && reading > plan.lastReading ? (reading - plan.lastReading) / ms : 0;
}

/**
 * What the checkpoint started on a reading at atMs would hold, in reading units (× the learned ratio: the
 * estimate): the reading scaled to the whole window, plus what the rate writes in the lag to the freeze.
 */
export function predictedLevel(plan: ProbePlan, atMs: number, reading: number, rate: number): number {
  return reading * readingScale(plan, atMs) + rate * plan.lagMs;
}

/**
 * Whether a reading at nowMs starts the checkpoint, and why; undefined: read again at nextMs (the loop's next
 * reading: the next instant, or later after the probe's rest). `aim`: the checkpoint started now reaches the
 * aim; or the one started on the next reading would leave the band (past lmax at the rate since the previous
 * reading) while this one is in it, or leaves it by less, compared as the band is, geometrically (lmin / now
 * against next / lmax). Waiting for the aim alone let a burst overshoot by a whole gap between readings: on
 * real CRIU under load 1500 pages/s added ~2.3 MiB in 0.4 s, past a [1, 4] MiB band from under its 2 MiB
 * aim. Starting early only then leaves every start at a steady rate where it was (a gap's writes within
 * lmax − aim): centring those on the aim too cost 10-14 % more checkpoints in `remusd compare` (README).
 */
export function triggerAt(plan: ProbePlan, nowMs: number, reading: number, nextMs: number): ProbeTrigger | undefined {
  const rate = readingRate(plan, nowMs, reading);
  const now = predictedLevel(plan, nowMs, reading, rate);
  const aim = plan.aimLevel;
  if (now >= aim) return 'aim';
  if (nextMs > nowMs && now > 0) {
    const next = predictedLevel(plan, nextMs, reading + rate * (nextMs - nowMs), rate);
    if (next > plan.lmaxLevel && (now >= plan.lminLevel || now * next > plan.lminLevel * plan.lmaxLevel)) return 'aim';
  }
  if (nowMs >= plan.deadlineMs) {
    if (plan.latestMs <= plan.deadlineMs) return 'deadline';
    if (now >= plan.floorLevel) return 'floor';
  }
  return nowMs >= plan.latestMs ? 'max' : undefined;
}

/** A reading that did not start the checkpoint: the next one's rate is counted from it. */
export function noteReading(plan: ProbePlan, atMs: number, reading: number): void {
  plan.lastAtMs = atMs;
  plan.lastReading = reading;
}

/** When a wait ends, why, and the reading it ended on. */
export interface ProbeStart {
  atMs: number;
  trigger: ProbeTrigger;
  reading: number;
}

/**
 * The wait as supervise() runs it when readings take no time (the simulator's virtual clock): read at each
 * instant (nextInstant) until triggerAt says start. Rewrites `out`.
 */
export function waitByInstants(plan: ProbePlan, readingAt: (tMs: number) => number, out: ProbeStart): ProbeStart {
  for (let at = nextInstant(plan, plan.beganMs); ;) {
    const reading = readingAt(at);
    const next = nextInstant(plan, at);
    const trigger = triggerAt(plan, at, reading, next);
    if (trigger !== undefined) {
      out.atMs = at;
      out.trigger = trigger;
      out.reading = reading;
      return out;
    }
    noteReading(plan, at, reading);
    at = next;
  }
}
