// The dirty-size probe's rule: while the loop waits for the next checkpoint, it reads how much memory the
// workload has touched since the last dump (src/process/dirty-probe.ts: the accessed bits, which neither
// stop nor freeze it) at instants `period` apart, and starts the checkpoint as soon as the estimate reaches
// the aim, instead of only at the interval the policy chose. No interval policy can keep a whole burst in
// band (README, "policy-ceiling"); a reading during the interval can. Pure: the loop supplies the times and
// readings, and the simulator the times at which a modelled reading first reaches a level.

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

/** A blank plan, for the loop to rewrite. */
export function blankPlan(): ProbePlan {
  return { fromMs: 0, seenFromMs: 0, beganMs: 0, periodMs: 1, deadlineMs: 0, latestMs: 0, aimLevel: 0, floorLevel: 0 };
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

/** Whether a reading at nowMs starts the checkpoint, and why; undefined: read again at the next instant. */
export function triggerAt(plan: ProbePlan, nowMs: number, reading: number): ProbeTrigger | undefined {
  if (reading >= readingFor(plan, plan.aimLevel, nowMs)) return 'aim';
  if (nowMs >= plan.deadlineMs) {
    if (plan.latestMs <= plan.deadlineMs) return 'deadline';
    if (reading >= readingFor(plan, plan.floorLevel, nowMs)) return 'floor';
  }
  return nowMs >= plan.latestMs ? 'max' : undefined;
}

/** When a wait ends and why, as reading at each instant (nextInstant, triggerAt) would end it. */
export interface ProbeStart {
  atMs: number;
  trigger: ProbeTrigger;
}

/** A reading that never falls between two resets (writes only add up), as the simulator models it. */
export interface RisingReading {
  /** The earliest time, at most untilMs, at which the reading reaches bytes; Infinity if none. */
  reachesAt(bytes: number, untilMs: number): number;
}

/**
 * Where the instant-by-instant rule ends for a reading that never falls, from the times it first reaches a
 * level. The simulator computes those from its rate integral instead of reading at every tick; a property
 * test (test/loop/probe-rule.test.ts) holds the two equal. Rewrites `out`.
 */
export function firstTrigger(plan: ProbePlan, reading: RisingReading, out: ProbeStart): ProbeStart {
  const { beganMs, deadlineMs, latestMs } = plan;
  const aim = firstMeeting(plan, plan.aimLevel, nextInstant(plan, beganMs), reading);
  const deferring = latestMs > deadlineMs;
  // The floor counts only past the deadline while deferring, and only if the aim is not met first.
  const floor =
    deferring && aim > deadlineMs
      ? firstMeeting(plan, plan.floorLevel, firstInstantFrom(plan, deadlineMs), reading)
      : Number.POSITIVE_INFINITY;
  const end = deferring ? latestMs : deadlineMs;
  if (aim <= floor && aim <= end) {
    out.atMs = aim;
    out.trigger = 'aim';
  } else if (floor <= end) {
    out.atMs = floor;
    out.trigger = 'floor';
  } else {
    out.atMs = end;
    out.trigger = deferring ? 'max' : 'deadline';
  }
  return out;
}

// The first instant from `at` on whose reading reaches readingFor(level) there, or Infinity by the latest. The
// needed reading rises with time (the unseen share of the window shrinks), so an instant before the reading
// reaches what the current one needs cannot meet its own, higher need: jump there (a few jumps per wait).
function firstMeeting(plan: ProbePlan, level: number, at: number, reading: RisingReading): number {
  const { latestMs } = plan;
  for (let instant = at; instant <= latestMs;) {
    const reached = reading.reachesAt(readingFor(plan, level, instant), latestMs);
    if (reached <= instant) return instant;
    if (!(reached <= latestMs) || instant >= latestMs) break;
    const next = firstInstantFrom(plan, reached);
    instant = next > instant ? next : nextInstant(plan, instant);
  }
  return Number.POSITIVE_INFINITY;
}

// The first reading instant at or after x (after the wait began), or Infinity past the latest.
function firstInstantFrom(plan: ProbePlan, x: number): number {
  const { fromMs, periodMs, beganMs, deadlineMs, latestMs } = plan;
  if (!(x <= latestMs)) return Number.POSITIVE_INFINITY;
  const first = nextInstant(plan, beganMs);
  if (x <= first) return first;
  // The tick at or after x, as nextInstant writes ticks (fromMs + period·k), k corrected for rounding.
  let k = Math.ceil((x - fromMs) / periodMs);
  if (fromMs + periodMs * (k - 1) >= x) k -= 1;
  if (fromMs + periodMs * k < x) k += 1;
  let tick = fromMs + periodMs * k;
  if (deadlineMs >= x && deadlineMs < tick) tick = deadlineMs;
  return Math.min(tick, latestMs);
}
