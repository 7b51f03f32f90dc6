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
  /** The previous checkpoint's start: the readings cover the writes since (about) then. */
  fromMs: number;
  /** When the wait began: the first reading comes at the first tick after it. */
  beganMs: number;
  periodMs: number;
  /** The policy's deadline: the previous start + the interval in force. */
  deadlineMs: number;
  /** The deadline, or with `defer` the previous start + the band's max interval when that is later. */
  latestMs: number;
  /** The reading at which the estimate reaches the aim, and the floor (reading × learned ratio = estimate). */
  aimReading: number;
  floorReading: number;
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
  return { fromMs: 0, beganMs: 0, periodMs: 1, deadlineMs: 0, latestMs: 0, aimReading: 0, floorReading: 0 };
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
  if (reading >= plan.aimReading) return 'aim';
  if (nowMs >= plan.deadlineMs) {
    if (plan.latestMs <= plan.deadlineMs) return 'deadline';
    if (reading >= plan.floorReading) return 'floor';
  }
  return nowMs >= plan.latestMs ? 'max' : undefined;
}

/** When a wait ends and why, as reading at each instant (nextInstant, triggerAt) would end it. */
export interface ProbeStart {
  atMs: number;
  trigger: ProbeTrigger;
}

/**
 * For a reading that never falls (writes only add up between two dumps): where the instant-by-instant rule
 * ends, from the times the reading first reaches aimReading and floorReading (Infinity: never by the latest).
 * The simulator computes those times from its rate integral instead of reading at every tick; a property
 * test (test/loop/probe-rule.test.ts) holds the two equal. Rewrites `out`.
 */
export function firstTrigger(plan: ProbePlan, aimAtMs: number, floorAtMs: number, out: ProbeStart): ProbeStart {
  const { deadlineMs, latestMs } = plan;
  const aim = firstInstantFrom(plan, aimAtMs);
  const deferring = latestMs > deadlineMs;
  const floor = deferring ? firstInstantFrom(plan, Math.max(floorAtMs, deadlineMs)) : Number.POSITIVE_INFINITY;
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
