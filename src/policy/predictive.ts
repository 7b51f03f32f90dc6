// Aims straight at the middle of the band instead of stepping towards it: estimate the workload's dirty rate
// from the newest checkpoints (and the working set where the size stops growing), then pick the interval
// whose predicted size hits the target.

import type { Band, Decision, Observation, Policy } from '../model/policy.js';
import { checkedParameter, type TargetRule } from './defaults.js';
import { MEMORY_BEFORE_ANY, PredictiveDecider } from './predictive-decider.js';

export { targetBytes } from './predictive-arithmetic.js';

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

/**
 * Predictive rule (v2), each decision, with r = max(pages, ½) / elapsed (pages/ms) of the newest observation:
 * 1. change: if ln r is further than ln(change) from the estimate, the rate changed and the old rates are
 *    forgotten at once (estimate = r). A rise seen while the size is still in band waits one checkpoint for
 *    confirmation (hold): a lone burst then moves nothing. A fall never waits: a burst adds writes and never
 *    takes any away. After a rise the rates from before it are kept for one more checkpoint: if the next
 *    rate matches them, the rise was an outlier (a burst) and they are restored. A rise first seen on a
 *    checkpoint that started before its interval was up (elapsed < interval: the dirty-size probe started it
 *    as the writes reached its aim, often inside a burst) waits one checkpoint more: the rest of that burst
 *    lands in the next window, which then looks like a confirmation.
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
 *    just outgrown), and the threshold rule with its default factors decides instead. And no shorter
 *    interval after a checkpoint that started before its interval was up with its size in band: the probe
 *    keeps the sizes in band at the interval in force, and a window it cut ended where the writes ran
 *    fastest, so its rate overstates the workload's. (Without the probe no checkpoint starts early, and
 *    neither rule of an early start applies.)
 * 7. burst headroom: an outlier (1) tells how many pages a burst added above the estimate. The largest one
 *    seen (halving every 64 decisions) lowers the goal G from T to lmax − burst, but never below sqrt(lmin·T):
 *    the next burst of that size then stays under lmax where the band allows it. In `remusd compare` (issue
 *    11's workload, bursts 4000:200ms:10s, 20 seeds) this and the kept rates of (1) raised the share in band
 *    from 93.8 % to 94.1 %; without bursts nothing changes (no outliers, G = T).
 * Pure: all it remembers is in PredictiveState. The rule itself is PredictiveDecider's (predictive-decider.ts),
 * which the loop keeps and which decides in place; decide() runs it on a copy of the state.
 */
export class PredictivePolicy implements Policy<PredictiveState> {
  readonly kind = 'predictive';
  readonly window: number;
  readonly change: number;
  readonly deadband: number;
  readonly target: TargetRule;
  #copies: PredictiveDecider | undefined;

  constructor(options: PredictiveOptions = {}) {
    this.window = checkedParameter('predictive', 'window', options.window);
    this.change = checkedParameter('predictive', 'change', options.change);
    this.deadband = checkedParameter('predictive', 'deadband', options.deadband);
    this.target = checkedParameter('predictive', 'target', options.target);
  }

  initialState(): PredictiveState {
    return { logRates: [], pending: null, ...MEMORY_BEFORE_ANY };
  }

  // The in-place rule on a copy of the state: the state handed in is never changed, and comes back as it was
  // (the same object) when the observation was not usable. One decider is reused for the copies (a new one
  // each time made this 4× slower than the rule it runs); each decision is a new value.
  decide(state: PredictiveState, observation: Observation, band: Band): { decision: Decision; state: PredictiveState } {
    const decider = this.#copies ?? new PredictiveDecider(this, state);
    this.#copies = decider;
    decider.reset(state);
    const decision = decider.decideAfresh(observation, band);
    return { decision, state: decider.state() };
  }

  decider(state: PredictiveState): PredictiveDecider {
    return new PredictiveDecider(this, state);
  }
}
