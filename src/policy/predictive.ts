// Aims straight at the middle of the band instead of stepping towards it: estimate the workload's dirty rate
// from the newest checkpoints (and the working set where the size stops growing), then pick the interval
// whose predicted size hits the target.

import type { Band, Decision, Observation, Policy } from '../model/policy.js';
import { assertBand, clampToBand, decided, directionOf, startingInterval, startingMs, type Start } from './bounds.js';
import { checkedParameter, type TargetRule } from './defaults.js';
import { appended, hedgeMs, mean, SAME_SIZE, workingSetAfter } from './predictive-arithmetic.js';
import {
  aimed,
  awaitingConfirmation,
  hedged,
  inDeadband,
  saturated,
  unusable,
  type Estimate,
  type Note,
} from './predictive-reasons.js';
import { sizeIntent, ThresholdPolicy } from './threshold.js';

/** The rule v2 falls back to when its estimate points against the size just seen (see the class doc, 6). */
const SAFETY_NET = new ThresholdPolicy();

/** Options of the predictive policy; defaults in POLICY_DEFAULTS. */
export interface PredictiveOptions {
  /** How many of the newest rates since the last change the estimate averages (1..64). */
  window?: number;
  /** A rate further than ×change from the estimate is a change of rate: the old rate is forgotten. */
  change?: number;
  /** In the band, hold while the size predicted for the interval in force is within ×deadband of the target. */
  deadband?: number;
  /** Where in the band to aim: geometric sqrt(lmin·lmax) or arithmetic (lmin+lmax)/2. */
  target?: TargetRule;
}

/** The policy's memory. */
export interface PredictiveState {
  /** ln of the rates (pages/ms) seen since the last change of rate, oldest first, at most `window`. */
  readonly logRates: readonly number[];
  /** A change seen while the size was in band waits for one confirmation: the estimate from before it. */
  readonly pending: readonly number[] | null;
  /** Pages at which the dirty set was seen to saturate (the working set), when it was. */
  readonly workingSetPages: number | null;
  /** The two previous usable observations (elapsed ms, pages; NaN until seen): numbers, not a list of objects. */
  readonly olderMs: number;
  readonly olderPages: number;
  readonly newerMs: number;
  readonly newerPages: number;
  /** Pages above the estimate the largest recent outlier (a burst) added, decaying; 0 when none was seen. */
  readonly burstPages: number;
}

/** A hedge over the whole band keeps this ratio from its edges (noise 0.2 moves a 200 ms size by ~14 %, log-sd). */
const HEDGE_MARGIN = 1.1;

/** Per decision, the remembered burst shrinks by this factor: it halves in 64 decisions without one. */
const BURST_DECAY = 2 ** (-1 / 64);

/** The size to aim at: geometric middle (arithmetic when lmin is 0, where the geometric one is 0). */
export function targetBytes(band: Band, rule: TargetRule): number {
  if (rule === 'geometric' && band.lminBytes > 0) return Math.sqrt(band.lminBytes * band.lmaxBytes);
  return rule === 'geometric' ? band.lmaxBytes / 2 : (band.lminBytes + band.lmaxBytes) / 2;
}

/**
 * Predictive rule (v2), each decision, with r = max(pages, ½) / elapsed (pages/ms) of the newest observation:
 * 1. change: if ln r is further than ln(change) from the estimate, the rate changed and the old rates are
 *    forgotten at once (estimate = r). A rise seen while the size is still in band waits one checkpoint for
 *    confirmation (hold): a lone burst then moves nothing. A fall never waits: a burst adds writes and never
 *    takes any away. After a rise the rates from before it are kept for one more checkpoint: if the next
 *    rate matches them, the rise was an outlier (a burst) and they are restored.
 * 2. estimate: r̂ = exp(mean of ln r over the newest `window` rates since the last change). A size out of
 *    band with no change of rate means the estimate failed (it lags a drift, or the size saturated above
 *    lmax): it restarts from r alone.
 * 3. working set: when three sizes in a row stay within ×1.1 while the elapsed time grew by ≥ ×change², the
 *    dirty set has saturated at W = the largest of them. While sizes stay at W and W·page ≤ lmax, longer intervals no
 *    longer raise the size: aim at max (the least overhead). A size above W·1.1 forgets W.
 * 4. deadband: if the size is in band and the predicted size r̂·interval lies within
 *    [max(lmin, T/deadband), min(lmax, G·deadband)], hold (T = target size, G = goal, see 7).
 * 5. aim: on the observation that revealed a change, if one interval keeps the sizes predicted from both the
 *    old estimate and the newest rate within the deadband (or else within [lmin·1.1, lmax/1.1]), take that
 *    interval (their geometric middle): the
 *    next checkpoint tells which rate holds, and a burst costs no move back. Otherwise (a step too large to
 *    hedge) and in every other case: next = A / (r̂ · page size), rounded to whole ms and clamped to [min, max], with A = T, except on
 *    the observation that revealed a change: its window may have begun at the old rate, so r̂ errs towards
 *    the old rate, and A lies halfway (geometrically) from T to the deadband edge that error pushes the next
 *    size away from (the low edge max(lmin, T/deadband) after a rise, the high one after a fall): far enough
 *    to absorb a part of that error, and inside the deadband, so that a right guess is then held. No step limit: the estimate comes from
 *    one regime of rate, so the first decision after a change is already about the new rate.
 * 6. safety: a decision never goes against the size just seen (longer while it is above lmax, shorter while it
 *    is below lmin): the estimate is then wrong (a band too narrow for the ×change tolerance, a working set
 *    just outgrown), and the threshold rule with its default factors decides instead.
 * 7. burst headroom: an outlier (1) tells how many pages a burst added above the estimate. The largest one
 *    seen (halving every 64 decisions) lowers the goal G from T to lmax − burst, but never below sqrt(lmin·T):
 *    the next burst of that size then stays under lmax where the band allows it. In `remusd compare` (issue
 *    11's workload, bursts 4000:200ms:10s, 20 seeds) this and the kept rates of (1) raised the share in band
 *    from 93.8 % to 94.1 %; without bursts nothing changes (no outliers, G = T).
 * Pure: all it remembers is in PredictiveState.
 */
export class PredictivePolicy implements Policy<PredictiveState> {
  readonly kind = 'predictive';
  readonly window: number;
  readonly change: number;
  readonly deadband: number;
  readonly target: TargetRule;
  readonly #logChange: number;

  constructor(options: PredictiveOptions = {}) {
    this.window = checkedParameter('predictive', 'window', options.window);
    this.change = checkedParameter('predictive', 'change', options.change);
    this.deadband = checkedParameter('predictive', 'deadband', options.deadband);
    this.target = checkedParameter('predictive', 'target', options.target);
    this.#logChange = Math.log(this.change);
  }

  initialState(): PredictiveState {
    return {
      logRates: [],
      pending: null,
      workingSetPages: null,
      olderMs: Number.NaN,
      olderPages: Number.NaN,
      newerMs: Number.NaN,
      newerPages: Number.NaN,
      burstPages: 0,
    };
  }

  decide(state: PredictiveState, observation: Observation, band: Band): { decision: Decision; state: PredictiveState } {
    const out = this.#aim(state, observation, band);
    const intent = sizeIntent(observation, band);
    const from = startingMs(observation, band);
    const next = out.decision.nextIntervalMs;
    if ((intent === 'shrink' && next > from) || (intent === 'grow' && next < from)) {
      const fallback = SAFETY_NET.evaluate(observation, band);
      const explain = () =>
        `the estimate pointed against the size (${out.decision.reason}); threshold rule: ${fallback.reason}`;
      return { decision: decided(fallback.nextIntervalMs, fallback.decision, explain), state: out.state };
    }
    return out;
  }

  // Steps 1 to 5.
  #aim(state: PredictiveState, observation: Observation, band: Band): { decision: Decision; state: PredictiveState } {
    assertBand(band);
    const start = startingInterval(observation, band);
    const { elapsedMs, pagesWritten: pages, pageSize } = observation;
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
      return { decision: hold(observation, start, unusable(elapsedMs, pages, pageSize, start.ms)), state };
    }
    const logRate = Math.log(Math.max(pages, 0.5) / elapsedMs);
    const inBand = sizeIntent(observation, band) === 'hold' && observation.sizeBytes > 0;
    const workingSetPages = workingSetAfter(state, elapsedMs, pages, this.change);
    let burstPages = state.burstPages * BURST_DECAY;

    // Steps 1 and 2: which rates the estimate is made of (each mean taken once: a simulation decides millions).
    const oldMean = state.logRates.length > 0 ? mean(state.logRates) : 0;
    const farFromOld = state.logRates.length > 0 && Math.abs(logRate - oldMean) > this.#logChange;
    let rates: readonly number[];
    // What happened to the estimate: its words are written when the reason is read (noteText).
    let note: Note = '';
    // A change first seen in this observation (its window may hold some of the old rate too), and the rate before it.
    let changed: 'up' | 'down' | undefined;
    let before = 0;
    if (state.pending !== null) {
      const pendingMean = state.pending.length > 0 ? mean(state.pending) : 0;
      if (!farFromOld) {
        rates = appended(state.logRates, logRate, this.window);
        note = 'confirmed';
      } else if (!(state.pending.length > 0 && Math.abs(logRate - pendingMean) > this.#logChange)) {
        rates = appended(state.pending, logRate, this.window);
        // The outlier is the observation before this one.
        if (!Number.isNaN(state.newerMs))
          burstPages = Math.max(burstPages, state.newerPages - Math.exp(pendingMean) * state.newerMs);
        note = 'outlier';
      } else {
        before = Math.exp(oldMean);
        changed = logRate > oldMean ? 'up' : 'down';
        rates = [logRate];
        note = 'again';
      }
    } else if (farFromOld) {
      if (inBand && logRate > oldMean) {
        return {
          decision: hold(
            observation,
            start,
            awaitingConfirmation(logRate, this.change, oldMean, observation.sizeBytes, start.ms),
          ),
          state: stateAfter(state, [logRate], state.logRates, workingSetPages, burstPages, observation),
        };
      }
      before = Math.exp(oldMean);
      changed = logRate > oldMean ? 'up' : 'down';
      rates = [logRate];
      note = 'changed';
    } else if (!inBand && state.logRates.length > 0) {
      // Out of band without a change of rate: the estimate failed (it lags a drift, or the size saturated
      // above lmax), so it starts over from the newest rate.
      rates = [logRate];
      note = 'restarted';
    } else {
      rates = appended(state.logRates, logRate, this.window);
    }
    // A rise may be a burst: the next observation may still restore the rates from before it.
    const next = stateAfter(
      state,
      rates,
      changed === 'up' ? state.logRates : null,
      workingSetPages,
      burstPages,
      observation,
    );
    const ratePerMs = Math.exp(mean(rates));
    // For the reasons of steps 4 and 5. No closure here: it would keep every number alive, boxed (~1 KB a decision).
    const words: Estimate = { note, state, logRate, oldMean, observation, ratePerMs, used: rates.length };
    const targetOfBand = targetBytes(band, this.target);
    // Headroom for the bursts seen: aim low enough that the largest recent burst on top of the aim stays
    // under lmax, but never below halfway (geometrically) from lmin to the target.
    const goalBytes = Math.min(
      targetOfBand,
      Math.max(band.lmaxBytes - burstPages * pageSize, Math.sqrt(Math.max(band.lminBytes, 1) * targetOfBand)),
    );

    // Step 3: a saturated working set no larger than lmax: the longest interval costs least.
    if (
      workingSetPages !== null &&
      workingSetPages * pageSize <= band.lmaxBytes &&
      pages * SAME_SIZE >= workingSetPages
    ) {
      return {
        decision: move(observation, start, band.maxMs, saturated(workingSetPages, pageSize, band.maxMs)),
        state: next,
      };
    }
    // Step 4: the deadband.
    const predictedBytes = ratePerMs * start.ms * pageSize;
    const low = Math.max(band.lminBytes, Math.min(goalBytes, targetOfBand / this.deadband));
    const high = Math.min(band.lmaxBytes, goalBytes * this.deadband);
    if (inBand && predictedBytes >= low && predictedBytes <= high) {
      return {
        decision: hold(observation, start, inDeadband(words, predictedBytes, start.ms, low, high, goalBytes)),
        state: next,
      };
    }
    // Step 5 just after a change: if one interval keeps both the old and the newest rate inside the deadband,
    // take it (the next checkpoint tells which rate holds; a burst then costs no move back).
    if (changed !== undefined) {
      const hedge =
        hedgeMs(before, ratePerMs, low, high, pageSize) ??
        hedgeMs(before, ratePerMs, band.lminBytes * HEDGE_MARGIN, band.lmaxBytes / HEDGE_MARGIN, pageSize);
      if (hedge !== undefined) {
        const nextMs = clampToBand(Math.round(hedge.ms), band).ms;
        return { decision: move(observation, start, nextMs, hedged(words, nextMs, before, hedge)), state: next };
      }
    }
    // Step 5: aim; just after a change, towards the deadband's edge on the side the newest rate errs towards.
    const aimBytes =
      changed === 'up' ? Math.sqrt(low * goalBytes) : changed === 'down' ? Math.sqrt(high * goalBytes) : goalBytes;
    const desiredMs = aimBytes / (ratePerMs * pageSize);
    const clamped = clampToBand(Math.round(desiredMs), band);
    return {
      decision: move(observation, start, clamped.ms, aimed(words, changed, goalBytes, aimBytes, desiredMs, clamped)),
      state: next,
    };
  }
}

// The state after a usable observation, which becomes the newer one (and the newer one the older).
function stateAfter(
  state: PredictiveState,
  logRates: readonly number[],
  pending: readonly number[] | null,
  workingSetPages: number | null,
  burstPages: number,
  observation: Observation,
): PredictiveState {
  const { newerMs: olderMs, newerPages: olderPages } = state;
  const { elapsedMs: newerMs, pagesWritten: newerPages } = observation;
  return { logRates, pending, workingSetPages, olderMs, olderPages, newerMs, newerPages, burstPages };
}

// The interval in force, held (the reason is written when read).
function hold(observation: Observation, start: Start, reason: () => string): Decision {
  return decided(start.ms, directionOf(observation, start, start.ms), reason, start.note);
}

// A new interval (already within [min, max]).
function move(observation: Observation, start: Start, nextMs: number, reason: () => string): Decision {
  return decided(nextMs, directionOf(observation, start, nextMs), reason, start.note);
}
