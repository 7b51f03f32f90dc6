// Aims straight at the middle of the band instead of stepping towards it: estimate the workload's dirty rate
// (and working set) from recent checkpoints, then pick the interval whose predicted size hits the target.

import type { Band, Decision, Observation, Policy } from '../model/policy.js';
import { formatBytes, formatMs } from '../units/units.js';
import { assertBand, clampToBand, directionOf, startingInterval } from './bounds.js';
import { checkedParameter, type TargetRule } from './defaults.js';
import { fitDirtyModel, type DirtyModel, type Sample } from './fit.js';
import { judgeSize, ThresholdPolicy, type ThresholdOptions } from './threshold.js';

/** Options of the predictive policy; shrink and grow are for its threshold fallback. */
export interface PredictiveOptions extends ThresholdOptions {
  /** How many recent observations the estimate uses (3..64). */
  window?: number;
  /** Largest change per decision, as a factor (the interval moves at most ×maxStep or ÷maxStep). */
  maxStep?: number;
  /** Where in the band to aim: geometric sqrt(lmin·lmax) or arithmetic (lmin+lmax)/2. */
  target?: TargetRule;
  /** The fit is refused when the median observation is further than this (relative) from it. */
  maxFitError?: number;
}

/** The policy's memory: the most recent usable observations, oldest first. */
export interface PredictiveState {
  readonly window: readonly Sample[];
}

/** The size to aim at: geometric middle (arithmetic when lmin is 0, where the geometric one is 0). */
export function targetBytes(band: Band, rule: TargetRule): number {
  if (rule === 'geometric' && band.lminBytes > 0) return Math.sqrt(band.lminBytes * band.lmaxBytes);
  return rule === 'geometric' ? band.lmaxBytes / 2 : (band.lminBytes + band.lmaxBytes) / 2;
}

/**
 * Predictive rule, each decision:
 * 1. add the observation (elapsedMs, pagesWritten) to the window of the last `window` observations;
 * 2. fit pages(t) = min(rate·t, W) robustly (see fitDirtyModel); with fewer than 3 observations, all at one
 *    interval, or a poor fit, FALL BACK to the threshold rule and say why;
 * 3. target pages P = target size / page size; next = P / rate, or max when the working set W < P (longer
 *    intervals no longer raise the size, so only the overhead would change);
 * 4. limit the step to [interval ÷ maxStep, interval × maxStep], round to whole ms, clamp to [min, max];
 * 5. never move against the observed size (grow while size > lmax, shrink while size < lmin): that means
 *    the estimate is stale, so fall back to the threshold rule. Holding is allowed once, which is what makes
 *    a single outlier harmless; but when the previous size was out of the band on the same side too, a hold
 *    is not allowed either (fall back): a lasting change of rate must not leave the size out of the band for
 *    the window/2 checkpoints the median needs to follow it.
 * Sizes are predicted as pages × page size, which is the Observation contract for sizeBytes.
 */
export class PredictivePolicy implements Policy<PredictiveState> {
  readonly kind = 'predictive';
  readonly window: number;
  readonly maxStep: number;
  readonly target: TargetRule;
  readonly maxFitError: number;
  /** The fallback, with this policy's shrink and grow. */
  readonly threshold: ThresholdPolicy;

  constructor(options: PredictiveOptions = {}) {
    this.window = checkedParameter('predictive', 'window', options.window);
    this.maxStep = checkedParameter('predictive', 'maxStep', options.maxStep);
    this.target = checkedParameter('predictive', 'target', options.target);
    this.maxFitError = checkedParameter('predictive', 'maxFitError', options.maxFitError);
    this.threshold = new ThresholdPolicy({
      shrink: checkedParameter('predictive', 'shrink', options.shrink),
      grow: checkedParameter('predictive', 'grow', options.grow),
    });
  }

  initialState(): PredictiveState {
    return { window: [] };
  }

  decide(
    state: PredictiveState,
    observation: Observation,
    band: Band,
  ): { decision: Decision; state: PredictiveState } {
    assertBand(band);
    const usable = isUsable(observation);
    const window = usable
      ? [...state.window, { elapsedMs: observation.elapsedMs, pages: observation.pagesWritten }].slice(-this.window)
      : state.window;
    const next = { window };
    const fallback = (why: string) => {
      const decision = this.threshold.evaluate(observation, band);
      return { decision: { ...decision, reason: `fallback to threshold: ${why}; ${decision.reason}` }, state: next };
    };

    if (!usable) {
      const { elapsedMs, pagesWritten } = observation;
      return fallback(`observation not usable (elapsed ${elapsedMs} ms, ${pagesWritten} pages)`);
    }
    if (!(Number.isFinite(observation.pageSize) && observation.pageSize > 0)) {
      return fallback(`page size ${observation.pageSize} not usable`);
    }
    const fit = fitDirtyModel(window, { maxFitError: this.maxFitError });
    if (!fit.ok) return fallback(fit.why);

    const start = startingInterval(observation, band);
    const goalBytes = targetBytes(band, this.target);
    const { desiredMs, story } = this.aim(fit.model, goalBytes, observation.pageSize, band);

    const low = start.ms / this.maxStep;
    const high = start.ms * this.maxStep;
    const stepped = Math.min(Math.max(desiredMs, low), high);
    const rounded = Math.round(stepped);
    let reason = story;
    if (stepped !== desiredMs) {
      const limit = `${desiredMs > high ? '×' : '÷'}${this.maxStep}`;
      reason += `, limited to ${limit} per step: ${formatMs(start.ms)} → ${formatMs(rounded)}`;
    }
    const clamped = clampToBand(rounded, band);
    if (clamped.clampedTo !== null && clamped.ms !== rounded) {
      reason +=
        clamped.ms === start.ms
          ? `, already at ${clamped.clampedTo} ${formatMs(clamped.ms)}, hold`
          : `, clamped to ${clamped.clampedTo} ${formatMs(clamped.ms)}`;
    }

    const verdict = judgeSize(observation, band);
    if (
      (verdict.intent === 'shrink' && clamped.ms > start.ms) ||
      (verdict.intent === 'grow' && clamped.ms < start.ms)
    ) {
      return fallback(`prediction ${formatMs(clamped.ms)} goes against the observed ${verdict.rule}`);
    }
    const previous = window.at(-2);
    const previousIntent =
      previous === undefined
        ? undefined
        : judgeSize({ ...observation, pagesWritten: previous.pages, sizeBytes: previous.pages * observation.pageSize }, band).intent;
    if (verdict.intent !== 'hold' && previousIntent === verdict.intent && clamped.ms === start.ms && clamped.clampedTo === null) {
      return fallback(`two sizes in a row out of the band and the prediction holds; now ${verdict.rule}`);
    }
    return {
      decision: {
        nextIntervalMs: clamped.ms,
        decision: directionOf(observation, start, clamped.ms),
        reason: reason + start.note,
      },
      state: next,
    };
  }

  // Step 3: the interval the model says hits the target, and the sentence that says so.
  private aim(
    model: DirtyModel,
    goalBytes: number,
    pageSize: number,
    band: Band,
  ): { desiredMs: number; story: string } {
    const goalPages = goalBytes / pageSize;
    const fitFrom = `fit from ${model.samples} obs`;
    const rate = `predicted rate ${formatRate(model.ratePerMs)}`;
    if (model.capPages !== null && model.capPages < goalPages) {
      return {
        desiredMs: band.maxMs,
        story:
          `working set saturates at ${Math.round(model.capPages)} pages (${formatBytes(model.capPages * pageSize)}, ` +
          `${model.plateauCount} of ${model.samples} obs on the plateau) below target ${formatBytes(goalBytes)}: ` +
          `longer intervals no longer raise the size → max ${formatMs(band.maxMs)}`,
      };
    }
    if (model.ratePerMs <= 0) {
      return { desiredMs: band.maxMs, story: `${rate} (${fitFrom}): nothing to bound → max ${formatMs(band.maxMs)}` };
    }
    const desiredMs = goalPages / model.ratePerMs;
    const cap =
      model.capPages === null
        ? ''
        : ` up to a working set of ${Math.round(model.capPages)} pages (${formatBytes(model.capPages * pageSize)})`;
    return {
      desiredMs,
      story: `${rate}${cap} (${fitFrom}) → ${formatMs(desiredMs)} for target ${formatBytes(goalBytes)}`,
    };
  }
}

// An observation the estimate can use: some time passed and a page count was read.
function isUsable(observation: Observation): boolean {
  const { elapsedMs, pagesWritten } = observation;
  return Number.isFinite(elapsedMs) && elapsedMs > 0 && Number.isFinite(pagesWritten) && pagesWritten >= 0;
}

function formatRate(pagesPerMs: number): string {
  const perSecond = pagesPerMs * 1000;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} pages/s`;
}
