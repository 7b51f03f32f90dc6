// Seeded workload models: how many distinct pages a process dirties between two checkpoint starts.
//
// pages(t0, t1) = min(round(writes(t0, t1)), W), where
//   writes(t0, t1) = ∫ rate(t)·noise(t) dt + burst writes in [t0, t1)
//   rate(t)        a piecewise-constant schedule (phases, or a replayed trace)
//   noise(t)       a lognormal factor with mean 1 and log-sd `noise`, constant within each `noiseSlotMs`
//                  slot and drawn from (seed, slot): a pure function of time, whatever is asked when
//   bursts         each `burst.durationMs` slot is a burst with probability durationMs / everyMs (seeded),
//                  adding `burst.pagesPerSecond` during it
//   W              the working set: the dirty set saturates there. The bundled dirtier writes its buffer
//                  sequentially (src/workload/dirtier.c), so its dirty set is exactly min(writes, W).
// Times are ms since the workload started; nothing here reads a clock.

import { integralOf, type RateSchedule } from './rate.js';
import { stepsOfSchedule, type NextStep } from './scorecard.js';
import { NoisyWrites } from './noisy-writes.js';
import { BurstSlots } from './burst-slots.js';
import { deriveSeed } from './random.js';

/** A dirty-page model: the simulation asks it what a checkpoint at t1 would find dirty since t0. */
export interface Workload {
  /** Distinct pages dirtied in [t0, t1) (ms since the workload started). */
  pages(t0: number, t1: number): number;
  /** The working set W (pages): pages() never exceeds it. Infinity: no cap. */
  readonly workingSetPages: number;
  /** How long the model has data for (a trace's length); undefined for models that run forever. */
  readonly naturalDurationMs: number | undefined;
  /** The writes in [t0, t1) before rounding to pages (at most W): what the probe's model reads. */
  writesBetween?(t0: number, t1: number): number;
  /** One line for people: what this workload is. */
  readonly description: string;
  /** The steps of its base rate (×2 or more), for the scorecard; noise and bursts are not steps. */
  readonly nextStep?: NextStep;
  /** Every change of its rate: the steps, and where bursts begin and end (noise is not a change). */
  readonly nextChange?: NextStep;
}

/** Occasional bursts of extra writes. */
export interface BurstSpec {
  pagesPerSecond: number;
  durationMs: number;
  /** Mean time between burst starts (≥ durationMs). */
  everyMs: number;
}

/** Everything a workload model is made of. */
export interface WorkloadSpec {
  schedule: RateSchedule;
  /** Working set in pages; default Infinity (no cap). */
  workingSetPages?: number;
  /** Log-standard-deviation of the multiplicative noise; default 0 (none). */
  noise?: number;
  /** Length of a noise slot, ms; default 100. */
  noiseSlotMs?: number;
  bursts?: BurstSpec;
  seed?: number;
  naturalDurationMs?: number;
  description?: string;
}

const NOISE_STREAM = 1;
const BURST_STREAM = 2;

/** Builds a workload model; throws a RangeError for a parameter out of range. */
export function createWorkload(spec: WorkloadSpec): Workload {
  const cap = spec.workingSetPages ?? Number.POSITIVE_INFINITY;
  const sigma = spec.noise ?? 0;
  const slotMs = spec.noiseSlotMs ?? 100;
  const seed = spec.seed ?? 0;
  if (!(cap > 0)) throw new RangeError(`working set ${cap} pages must be > 0`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`noise ${sigma} must be a finite number ≥ 0`);
  if (!(slotMs > 0) || !Number.isFinite(slotMs)) throw new RangeError(`noise slot ${slotMs} ms must be finite and > 0`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed ${seed} must be an integer`);
  const bursts = spec.bursts;
  if (bursts !== undefined) {
    if (!(bursts.pagesPerSecond >= 0)) throw new RangeError(`burst rate ${bursts.pagesPerSecond} pages/s must be ≥ 0`);
    if (!(bursts.durationMs > 0)) throw new RangeError(`burst duration ${bursts.durationMs} ms must be > 0`);
    if (!(bursts.everyMs >= bursts.durationMs) || !Number.isFinite(bursts.everyMs)) {
      throw new RangeError(
        `bursts every ${bursts.everyMs} ms must be finite and at least their duration (${bursts.durationMs} ms)`,
      );
    }
  }
  const noiseSeed = deriveSeed(seed, NOISE_STREAM);
  const burstSeed = deriveSeed(seed, BURST_STREAM);
  const integral = integralOf(spec.schedule);

  // The noisy part sums over the noise slots that [t0, t1) overlaps, clipped to it, in one method (noisy-writes.ts:
  // the simulator asks once per checkpoint, and nothing in its walk is a call that returns a boxed number).
  const noisy = new NoisyWrites(integral, slotMs, noiseSeed, sigma);
  const baseWrites = (t0: number, t1: number): number =>
    sigma === 0 ? integral.between(t0, t1) : noisy.between(t0, t1);
  // Bursts: the writes of a window and the next edge, each compiled on its own (burst-slots.ts).
  const burstSlots = bursts === undefined ? undefined : new BurstSlots(bursts, burstSeed);
  const burstWrites = (t0: number, t1: number): number => (burstSlots === undefined ? 0 : burstSlots.between(t0, t1));

  const nextStep = stepsOfSchedule(spec.schedule);
  // The next start or end of a burst after t (bursts are whole slots of burst.durationMs).
  const nextBurstEdge = (t: number): number | undefined => burstSlots?.nextEdge(t);

  return {
    writesBetween: (t0, t1) =>
      Math.min(Math.max(0, baseWrites(Math.max(0, t0), t1) + burstWrites(Math.max(0, t0), t1)), cap),
    // Never below +0: the integral's rounding error can make an empty window -1e-12 pages, which rounds to -0.
    pages: (t0, t1) =>
      Math.min(Math.max(0, Math.round(baseWrites(Math.max(0, t0), t1) + burstWrites(Math.max(0, t0), t1))), cap),
    workingSetPages: cap,
    naturalDurationMs: spec.naturalDurationMs,
    description: spec.description ?? 'synthetic workload',
    nextStep,
    nextChange: bursts === undefined ? nextStep : (t) => earliest(nextStep(t), nextBurstEdge(t)),
  };
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
