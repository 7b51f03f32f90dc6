// The predictive rule (v2; the class doc of predictive.ts says it step by step), deciding in place: the state
// is rewritten and one decision is reused, so that a simulation deciding millions of times allocates nothing
// per decision (the pure form, a new state object, window array and decision each time, was ~0.9 KB of the
// ~1.7 KB a simulated checkpoint allocated). PredictivePolicy.decide() is this, on a copy of its state.

import type { Band, Decision, Observation, PolicyDecider } from '../model/policy.js';
import { assertBand, clampSide, directionFrom, startingMs } from './bounds.js';
import type { TargetRule } from './defaults.js';
import { hedgeMs, RateWindow, SAME_SIZE, targetBytes, workingSetAfter } from './predictive-arithmetic.js';
import { PredictiveDecision, type Note } from './predictive-reasons.js';
import type { PredictiveState } from './predictive.js';
import { sizeIntent, ThresholdPolicy } from './threshold.js';

/** The rule v2 falls back to when its estimate points against the size just seen (step 6). */
const SAFETY_NET = new ThresholdPolicy();

/** A hedge over the whole band keeps this ratio from its edges (noise 0.2 moves a 200 ms size by ~14 %, log-sd). */
const HEDGE_MARGIN = 1.1;

/** Per decision, the remembered burst shrinks by this factor: it halves in 64 decisions without one. */
const BURST_DECAY = 2 ** (-1 / 64);

/** The numbers of a state before any observation (PredictivePolicy.initialState's). */
export const MEMORY_BEFORE_ANY: Readonly<Omit<PredictiveState, 'logRates' | 'pending'>> = {
  workingSetPages: null,
  olderMs: Number.NaN,
  olderPages: Number.NaN,
  newerMs: Number.NaN,
  newerPages: Number.NaN,
  burstPages: 0,
};

/** The predictive policy's parameters, as the decider reads them. */
export interface PredictiveParameters {
  readonly window: number;
  readonly change: number;
  readonly deadband: number;
  readonly target: TargetRule;
}

/**
 * PredictiveState's numbers, rewritten in place (the working set and the two previous observations). Numbers
 * only, NaN for none: a field that went from null to a number the first time a run saw the dirty set saturate
 * changed the object's hidden class, and threw the decider's optimized code away in the middle of a simulation
 * (one round of 7 in `npm run bench simulator` at 0.7× the others).
 */
interface Memory {
  workingSetPages: number;
  olderMs: number;
  olderPages: number;
  newerMs: number;
  newerPages: number;
  burstPages: number;
}

/** The predictive rule from a state on, deciding in place (see PolicyDecider). */
export class PredictiveDecider implements PolicyDecider<PredictiveState> {
  readonly #p: PredictiveParameters;
  readonly #logChange: number;
  /** The estimate's rates since the last change; and, while a rise waits for confirmation, the rates before it. */
  #rates: RateWindow;
  #pending: RateWindow;
  #hasPending = false;
  readonly #memory: Memory;
  #decision = new PredictiveDecision();
  /** The state as an object, while no decision has changed it since (state() returns it then). */
  #snapshot: PredictiveState | undefined;

  constructor(parameters: PredictiveParameters, state: PredictiveState) {
    this.#p = parameters;
    this.#logChange = Math.log(parameters.change);
    this.#rates = new RateWindow(parameters.window);
    this.#pending = new RateWindow(parameters.window);
    this.#memory = {
      workingSetPages: Number.NaN,
      olderMs: Number.NaN,
      olderPages: Number.NaN,
      newerMs: Number.NaN,
      newerPages: Number.NaN,
      burstPages: 0,
    };
    this.reset(state);
  }

  /** Goes on from this state instead (the pure decide() reuses one decider so). */
  reset(state: PredictiveState): void {
    const needed = Math.max(state.logRates.length, state.pending?.length ?? 0);
    if (needed > this.#rates.capacity) this.#rates = new RateWindow(needed);
    if (needed > this.#pending.capacity) this.#pending = new RateWindow(needed);
    this.#rates.load(state.logRates);
    this.#hasPending = state.pending !== null;
    if (state.pending !== null) this.#pending.load(state.pending);
    const memory = this.#memory;
    memory.workingSetPages = state.workingSetPages ?? Number.NaN;
    memory.olderMs = state.olderMs;
    memory.olderPages = state.olderPages;
    memory.newerMs = state.newerMs;
    memory.newerPages = state.newerPages;
    memory.burstPages = state.burstPages;
    this.#snapshot = state;
  }

  /** decide(), into a decision of its own (a value the caller may keep), not the one rewritten each time. */
  decideAfresh(observation: Observation, band: Band): Decision {
    this.#decision = new PredictiveDecision();
    return this.decide(observation, band);
  }

  state(): PredictiveState {
    const memory = this.#memory;
    this.#snapshot ??= {
      logRates: this.#rates.toArray(),
      pending: this.#hasPending ? this.#pending.toArray() : null,
      workingSetPages: Number.isNaN(memory.workingSetPages) ? null : memory.workingSetPages,
      olderMs: memory.olderMs,
      olderPages: memory.olderPages,
      newerMs: memory.newerMs,
      newerPages: memory.newerPages,
      burstPages: memory.burstPages,
    };
    return this.#snapshot;
  }

  decide(observation: Observation, band: Band): Decision {
    const d = this.#decision;
    d.begin(observation.intervalMs, band);
    this.#aim(observation, band, d);
    const intent = sizeIntent(observation, band);
    const from = startingMs(observation, band);
    // Step 6: no shorter interval after a checkpoint that started before its interval was up (the dirty-size
    // probe started it at its aim) with its size in band: the probe keeps the sizes in band at this interval,
    // and the window was cut where the writes ran fastest, so its rate overstates the workload's.
    const byEstimate = d.rule === 'aimed' || d.rule === 'hedged';
    if (byEstimate && intent === 'hold' && observation.elapsedMs < from && d.nextIntervalMs < from) {
      d.decided('early', from, directionFrom(observation.intervalMs, from, from));
      return d;
    }
    // Step 6: never against the size just seen.
    const next = d.nextIntervalMs;
    if ((intent === 'shrink' && next > from) || (intent === 'grow' && next < from))
      d.overruledBy(SAFETY_NET.evaluate(observation, band));
    return d;
  }

  // Steps 1 to 5, into d.
  #aim(observation: Observation, band: Band, d: PredictiveDecision): void {
    assertBand(band);
    const startMs = startingMs(observation, band);
    const { elapsedMs, pagesWritten: pages, pageSize, sizeBytes } = observation;
    d.startMs = startMs;
    d.elapsedMs = elapsedMs;
    d.pages = pages;
    d.pageSize = pageSize;
    d.sizeBytes = sizeBytes;
    if (
      !(
        Number.isFinite(elapsedMs) &&
        elapsedMs > 0 &&
        Number.isFinite(pages) &&
        pages >= 0 &&
        Number.isFinite(pageSize) &&
        pageSize > 0
      )
    ) {
      d.decided('unusable', startMs, directionFrom(observation.intervalMs, startMs, startMs));
      return; // the state is left as it was
    }
    this.#snapshot = undefined;
    const p = this.#p;
    const memory = this.#memory;
    const rates = this.#rates;
    const logRate = Math.log(Math.max(pages, 0.5) / elapsedMs);
    const inBand = sizeIntent(observation, band) === 'hold' && sizeBytes > 0;
    const workingSetPages = workingSetAfter(memory, elapsedMs, pages, p.change);
    let burstPages = memory.burstPages * BURST_DECAY;

    // Steps 1 and 2: which rates the estimate is made of (each mean taken once: a simulation decides millions).
    const oldMean = rates.count > 0 ? rates.mean() : 0;
    const farFromOld = rates.count > 0 && Math.abs(logRate - oldMean) > this.#logChange;
    d.outlierLogRate = rates.newest;
    d.logRate = logRate;
    d.oldMean = oldMean;
    // What happened to the estimate (its words are written when the reason is read).
    let note: Note = '';
    // A change first seen in this observation (its window may hold some of the old rate too), and the rate before it.
    let changed: 'up' | 'down' | undefined;
    let before = 0;
    if (this.#hasPending) {
      const pending = this.#pending;
      const pendingMean = pending.count > 0 ? pending.mean() : 0;
      const stillAbove = pending.count > 0 && logRate - pendingMean > this.#logChange;
      if (inBand && stillAbove && rates.count === 1 && memory.newerMs < startMs) {
        // The rise was seen on a checkpoint that started before its interval was up: the dirty-size probe
        // started it as a burst reached the aim, and the rest of that burst is in this window. One more.
        rates.push(logRate, p.window);
        d.previousElapsedMs = memory.newerMs;
        d.before = Math.exp(pendingMean);
        d.change = p.change;
        this.#remember(workingSetPages, burstPages, elapsedMs, pages);
        d.decided('unconfirmed', startMs, directionFrom(observation.intervalMs, startMs, startMs));
        return;
      }
      if (!farFromOld) {
        rates.push(logRate, p.window);
        note = 'confirmed';
      } else if (!(pending.count > 0 && Math.abs(logRate - pendingMean) > this.#logChange)) {
        // The rates from before the rise come back, with this one.
        this.#swapWindows();
        this.#rates.push(logRate, p.window);
        // The outlier is the observation before this one.
        if (!Number.isNaN(memory.newerMs))
          burstPages = Math.max(burstPages, memory.newerPages - Math.exp(pendingMean) * memory.newerMs);
        note = 'outlier';
      } else {
        before = Math.exp(oldMean);
        changed = logRate > oldMean ? 'up' : 'down';
        note = 'again';
      }
    } else if (farFromOld) {
      if (inBand && logRate > oldMean) {
        // Hold until the next checkpoint confirms: the old rates wait aside, the new one alone is the estimate.
        this.#restartFrom(logRate, true);
        this.#remember(workingSetPages, burstPages, elapsedMs, pages);
        d.change = p.change;
        d.decided('awaiting', startMs, directionFrom(observation.intervalMs, startMs, startMs));
        return;
      }
      before = Math.exp(oldMean);
      changed = logRate > oldMean ? 'up' : 'down';
      note = 'changed';
    } else if (!inBand && rates.count > 0) {
      // Out of band without a change of rate: the estimate failed (it lags a drift, or the size saturated
      // above lmax), so it starts over from the newest rate.
      rates.only(logRate);
      note = 'restarted';
    } else {
      rates.push(logRate, p.window);
    }
    // A rise may be a burst: the next observation may still restore the rates from before it.
    if (changed !== undefined) this.#restartFrom(logRate, changed === 'up');
    else this.#hasPending = false;
    this.#remember(workingSetPages, burstPages, elapsedMs, pages);
    const estimate = this.#rates;
    const ratePerMs = Math.exp(estimate.mean());
    d.note = note;
    d.ratePerMs = ratePerMs;
    d.used = estimate.count;
    const targetOfBand = targetBytes(band, p.target);
    // Headroom for the bursts seen: aim low enough that the largest recent burst on top of the aim stays
    // under lmax, but never below halfway (geometrically) from lmin to the target.
    const goalBytes = Math.min(
      targetOfBand,
      Math.max(band.lmaxBytes - burstPages * pageSize, Math.sqrt(Math.max(band.lminBytes, 1) * targetOfBand)),
    );
    d.goalBytes = goalBytes;

    // Step 3: a saturated working set no larger than lmax: the longest interval costs least.
    if (
      !Number.isNaN(workingSetPages) &&
      workingSetPages * pageSize <= band.lmaxBytes &&
      pages * SAME_SIZE >= workingSetPages
    ) {
      d.workingSetPages = workingSetPages;
      d.decided('saturated', band.maxMs, directionFrom(observation.intervalMs, startMs, band.maxMs));
      return;
    }
    // Step 4: the deadband.
    const predictedBytes = ratePerMs * startMs * pageSize;
    const low = Math.max(band.lminBytes, Math.min(goalBytes, targetOfBand / p.deadband));
    const high = Math.min(band.lmaxBytes, goalBytes * p.deadband);
    d.predictedBytes = predictedBytes;
    d.low = low;
    d.high = high;
    if (inBand && predictedBytes >= low && predictedBytes <= high) {
      d.decided('deadband', startMs, directionFrom(observation.intervalMs, startMs, startMs));
      return;
    }
    // Step 5 just after a change: if one interval keeps both the old and the newest rate inside the deadband,
    // take it (the next checkpoint tells which rate holds; a burst then costs no move back).
    if (changed !== undefined) {
      const hedge =
        hedgeMs(before, ratePerMs, low, high, pageSize) ??
        hedgeMs(before, ratePerMs, band.lminBytes * HEDGE_MARGIN, band.lmaxBytes / HEDGE_MARGIN, pageSize);
      if (hedge !== undefined) {
        const nextMs = clamped(Math.round(hedge.ms), band);
        d.before = before;
        d.hedgeLowBytes = hedge.lowBytes;
        d.hedgeHighBytes = hedge.highBytes;
        d.decided('hedged', nextMs, directionFrom(observation.intervalMs, startMs, nextMs));
        return;
      }
    }
    // Step 5: aim; just after a change, towards the deadband's edge on the side the newest rate errs towards.
    const aimBytes =
      changed === 'up' ? Math.sqrt(low * goalBytes) : changed === 'down' ? Math.sqrt(high * goalBytes) : goalBytes;
    const desiredMs = aimBytes / (ratePerMs * pageSize);
    const rounded = Math.round(desiredMs);
    const nextMs = clamped(rounded, band);
    d.side = changed;
    d.aimBytes = aimBytes;
    d.desiredMs = desiredMs;
    d.clampedTo = clampSide(rounded, band);
    d.decided('aimed', nextMs, directionFrom(observation.intervalMs, startMs, nextMs));
  }

  // The estimate restarts from one rate; after a rise the rates before it are kept aside (pending).
  #restartFrom(logRate: number, keepOld: boolean): void {
    if (keepOld) this.#swapWindows();
    this.#hasPending = keepOld;
    this.#rates.only(logRate);
  }

  #swapWindows(): void {
    const rates = this.#rates;
    this.#rates = this.#pending;
    this.#pending = rates;
  }

  // The state's numbers after a usable observation, which becomes the newer one (and the newer one the older).
  #remember(workingSetPages: number, burstPages: number, elapsedMs: number, pages: number): void {
    const memory = this.#memory;
    memory.workingSetPages = workingSetPages;
    memory.olderMs = memory.newerMs;
    memory.olderPages = memory.newerPages;
    memory.newerMs = elapsedMs;
    memory.newerPages = pages;
    memory.burstPages = burstPages;
  }
}

// clampToBand's ms, with no object made.
function clamped(ms: number, band: Band): number {
  const side = clampSide(ms, band);
  return side === 'min' ? band.minMs : side === 'max' ? band.maxMs : ms;
}
