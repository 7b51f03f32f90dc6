// The bookkeeping every policy shares: checking the band, bringing the interval in force into it, and
// clamping and naming a proposed change. Policies write only their rule on top of these.

import type { Band, Decision, DecisionKind, Observation } from '../model/policy.js';
import { formatMs } from '../units/units.js';

/** Throws a RangeError for a band no policy can work within; the config validator never produces one. */
export function assertBand(band: Band): void {
  const { lminBytes, lmaxBytes, minMs, maxMs } = band;
  if (!(Number.isFinite(minMs) && Number.isFinite(maxMs) && minMs > 0 && minMs <= maxMs)) {
    throw new RangeError(`band: interval bounds must satisfy 0 < minMs ≤ maxMs (got ${minMs}, ${maxMs})`);
  }
  if (!(Number.isFinite(lminBytes) && Number.isFinite(lmaxBytes) && lminBytes >= 0 && lminBytes <= lmaxBytes)) {
    throw new RangeError(`band: sizes must satisfy 0 ≤ lminBytes ≤ lmaxBytes (got ${lminBytes}, ${lmaxBytes})`);
  }
}

/** A value clamped into the band's interval bounds, and which bound stopped it, if any. */
export interface Clamped {
  ms: number;
  clampedTo: 'min' | 'max' | null;
}

/** Clamps into [band.minMs, band.maxMs] (NaN counts as min: when in doubt, checkpoint more often). */
export function clampToBand(ms: number, band: Band): Clamped {
  const clampedTo = clampSide(ms, band);
  return { ms: clampedTo === 'min' ? band.minMs : clampedTo === 'max' ? band.maxMs : ms, clampedTo };
}

/** Which bound clampToBand stops ms at, if any (no object made: for deciding in place). */
export function clampSide(ms: number, band: Band): Clamped['clampedTo'] {
  if (Number.isNaN(ms) || ms < band.minMs) return 'min';
  return ms > band.maxMs ? 'max' : null;
}

/** The interval a policy starts from: the one in force, brought into the band, with a note when it was not. */
export interface Start {
  ms: number;
  /** Empty, or " (interval in force 50 ms was below min 100 ms)": a reload can move the band under it. */
  note: string;
}

/** The interval in force, brought into the band (NaN counts as min: when in doubt, checkpoint more often). */
export function startingInterval(observation: Observation, band: Band): Start {
  return { ms: startingMs(observation, band), note: startNote(observation.intervalMs, band) };
}

/** Start.note for an interval in force (raw): empty when it lies in the band. */
export function startNote(raw: number, band: Band): string {
  if (Number.isNaN(raw)) return ` (interval in force NaN, using min ${formatMs(band.minMs)})`;
  if (raw < band.minMs) return ` (interval in force ${formatMs(raw)} was below min ${formatMs(band.minMs)})`;
  if (raw > band.maxMs) return ` (interval in force ${formatMs(raw)} was above max ${formatMs(band.maxMs)})`;
  return '';
}

/** startingInterval's ms alone: what a policy compares against, with no note to write and no object to make. */
export function startingMs(observation: Observation, band: Band): number {
  const raw = observation.intervalMs;
  if (Number.isNaN(raw) || raw < band.minMs) return band.minMs;
  return raw > band.maxMs ? band.maxMs : raw;
}

/** The decision kind is what happens to the interval in force: shorter is shrink, longer is grow. */
export function directionOf(observation: Observation, start: Start, nextMs: number): DecisionKind {
  return directionFrom(observation.intervalMs, start.ms, nextMs);
}

/** directionOf from numbers: the interval in force (raw, maybe NaN), the one started from, the next. */
export function directionFrom(inForceMs: number, startMs: number, nextMs: number): DecisionKind {
  const from = Number.isNaN(inForceMs) ? startMs : inForceMs;
  if (nextMs < from) return 'shrink';
  if (nextMs > from) return 'grow';
  return 'hold';
}

/**
 * A decision whose reason is written only when it is read, then kept. A long simulation never reads most of
 * them, and writing them cost more than deciding: formatBytes alone was 17 % of a simulation's CPU profile.
 * A class, not an object literal with a getter: V8 builds such literals on a slow path (~2 µs each, measured,
 * against ~30 ns for this).
 */
class LazyDecision implements Decision {
  readonly nextIntervalMs: number;
  readonly decision: DecisionKind;
  #explain: (() => string) | undefined;
  #reason: string;

  constructor(nextIntervalMs: number, kind: DecisionKind, explain: () => string, suffix: string) {
    this.nextIntervalMs = nextIntervalMs;
    this.decision = kind;
    this.#explain = explain;
    this.#reason = suffix;
  }

  get reason(): string {
    if (this.#explain !== undefined) {
      this.#reason = this.#explain() + this.#reason;
      this.#explain = undefined; // what it captured can go
    }
    return this.#reason;
  }

  toJSON(): Decision {
    return { nextIntervalMs: this.nextIntervalMs, decision: this.decision, reason: this.reason };
  }
}

/** A decision whose reason, explain() then suffix, is written when it is first read (see LazyDecision). */
export function decided(nextIntervalMs: number, kind: DecisionKind, explain: () => string, suffix = ''): Decision {
  return new LazyDecision(nextIntervalMs, kind, explain, suffix);
}
