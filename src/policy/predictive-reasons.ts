// The predictive policy's decision and the words of its reasons (the rule is in predictive-decider.ts). A
// decision keeps the numbers its reason names, and the reason is written from them when it is first read: a
// simulation takes millions of decisions and reads none. The loop's decider rewrites one such decision for
// every checkpoint (a closure per decision kept every number of it alive, boxed: ~1 KB a decision).
import type { Band, Decision, DecisionKind } from '../model/policy.js';
import { formatBytes, formatMs } from '../units/units.js';
import { startNote, type Clamped } from './bounds.js';

/** What happened to the estimate at a decision (steps 1 and 2), named; its words are in noteText. */
export type Note = '' | 'confirmed' | 'outlier' | 'again' | 'changed' | 'restarted';

/** Which rule decided (the class doc of predictive.ts numbers them). */
export type Rule = 'unusable' | 'awaiting' | 'saturated' | 'deadband' | 'hedged' | 'aimed' | 'early' | 'unconfirmed';

/** One decision of the predictive policy, with the numbers its reason is written from. */
export class PredictiveDecision implements Decision {
  nextIntervalMs = 0;
  decision: DecisionKind = 'hold';
  rule: Rule = 'unusable';
  /** The interval the rule chose (nextIntervalMs unless the safety net overruled it). */
  ruledMs = 0;
  /** The threshold rule's decision, when the safety net (step 6) overruled the estimate. */
  fallback: Decision | undefined = undefined;
  // The interval in force as observed (maybe out of the band, or NaN), the band, and the interval started from.
  inForceMs = 0;
  band: Band | undefined = undefined;
  startMs = 0;
  // The observation's numbers.
  elapsedMs = 0;
  pages = 0;
  pageSize = 0;
  sizeBytes = 0;
  // The estimate (steps 1 and 2): the newest rate, the old estimate, the rate used and of how many rates.
  note: Note = '';
  /** The newest rate before this decision (ln pages/ms): after an outlier, the outlier's; NaN when none. */
  outlierLogRate = Number.NaN;
  logRate = 0;
  oldMean = 0;
  ratePerMs = 0;
  used = 0;
  change = 0;
  /** The elapsed time of the observation that saw the rise (rule 'unconfirmed'). */
  previousElapsedMs = 0;
  // Step 3.
  workingSetPages = 0;
  // Steps 4 and 5: the deadband, the goal, the hedge, the aim.
  predictedBytes = 0;
  low = 0;
  high = 0;
  goalBytes = 0;
  before = 0;
  hedgeLowBytes = 0;
  hedgeHighBytes = 0;
  side: 'up' | 'down' | undefined = undefined;
  aimBytes = 0;
  desiredMs = 0;
  clampedTo: Clamped['clampedTo'] = null;
  #reason: string | undefined = undefined;

  /** A new decision: the last one's reason is forgotten, and the safety net has not spoken. */
  begin(inForceMs: number, band: Band): void {
    this.inForceMs = inForceMs;
    this.band = band;
    this.fallback = undefined;
    this.#reason = undefined;
  }

  /** Decided by `rule`: the interval and its direction (the rule's numbers are set beside). */
  decided(rule: Rule, nextIntervalMs: number, kind: DecisionKind): void {
    this.rule = rule;
    this.ruledMs = nextIntervalMs;
    this.nextIntervalMs = nextIntervalMs;
    this.decision = kind;
  }

  /** The safety net's decision replaces the estimate's (whose words stay in the reason). */
  overruledBy(fallback: Decision): void {
    this.fallback = fallback;
    this.nextIntervalMs = fallback.nextIntervalMs;
    this.decision = fallback.decision;
  }

  get reason(): string {
    this.#reason ??= reasonOf(this);
    return this.#reason;
  }

  toJSON(): Decision {
    return { nextIntervalMs: this.nextIntervalMs, decision: this.decision, reason: this.reason };
  }
}

function reasonOf(d: PredictiveDecision): string {
  const own = ruleText(d) + (d.band === undefined ? '' : startNote(d.inForceMs, d.band));
  if (d.fallback === undefined) return own;
  return `the estimate pointed against the size (${own}); threshold rule: ${d.fallback.reason}`;
}

function ruleText(d: PredictiveDecision): string {
  switch (d.rule) {
    case 'unusable':
      return `observation not usable (elapsed ${d.elapsedMs} ms, ${d.pages} pages, page size ${d.pageSize} B): hold at ${formatMs(d.startMs)}`;
    case 'awaiting':
      return `rate ${formatRate(Math.exp(d.logRate))} is beyond ×${d.change} of the estimate ${formatRate(Math.exp(d.oldMean))}, size ${formatBytes(d.sizeBytes)} in band: hold at ${formatMs(d.startMs)} until the next checkpoint confirms`;
    case 'saturated':
      return (
        `working set saturates at ${d.workingSetPages} pages (${formatBytes(d.workingSetPages * d.pageSize)} ≤ lmax): ` +
        `longer intervals no longer raise the size → max ${formatMs(d.ruledMs)}`
      );
    case 'deadband':
      return `${estimateText(d)}: ${formatBytes(d.predictedBytes)} predicted at ${formatMs(d.startMs)}, within [${formatBytes(d.low)}, ${formatBytes(d.high)}] around target ${formatBytes(d.goalBytes)}: hold`;
    case 'hedged':
      return (
        `${estimateText(d)}: ${formatMs(d.ruledMs)} keeps both it and the previous ${formatRate(d.before)} within ` +
        `[${formatBytes(d.hedgeLowBytes)}, ${formatBytes(d.hedgeHighBytes)}], until the next checkpoint tells which holds`
      );
    case 'unconfirmed':
      return (
        `rate ${formatRate(Math.exp(d.logRate))} is still beyond ×${d.change} of the estimate before the rise (${formatRate(d.before)}), ` +
        `but the rise was seen on a checkpoint started early (after ${formatMs(d.previousElapsedMs)} of ${formatMs(d.startMs)}), ` +
        `whose burst may have run on into this one: hold at ${formatMs(d.startMs)} until one more checkpoint confirms`
      );
    case 'early':
      return (
        `${estimateText(d)}, but the checkpoint started early (after ${formatMs(d.elapsedMs)} of ${formatMs(d.startMs)}) ` +
        `with ${formatBytes(d.sizeBytes)}, in band: no shorter interval, hold at ${formatMs(d.startMs)}`
      );
    case 'aimed': {
      const at =
        d.side === undefined
          ? `target ${formatBytes(d.goalBytes)}`
          : `${formatBytes(d.aimBytes)}, halfway to the deadband's ${d.side === 'up' ? 'low' : 'high'} edge (the change may have come within the interval)`;
      const clampNote = d.clampedTo === null ? '' : `, clamped to ${d.clampedTo} ${formatMs(d.ruledMs)}`;
      return `${estimateText(d)} → ${formatMs(d.desiredMs)} for ${at}${clampNote}`;
    }
  }
}

// What happened to the estimate, and the rate it gives.
function estimateText(d: PredictiveDecision): string {
  return `${noteText(d)}rate ${formatRate(d.ratePerMs)} (${d.used === 1 ? 'newest observation' : `mean of ${d.used} since the last change`})`;
}

function noteText(d: PredictiveDecision): string {
  const { note } = d;
  if (note === 'confirmed') return 'change confirmed; ';
  // After a rise the state holds the rise's rate alone (the rule never leaves it empty then).
  if (note === 'outlier' && !Number.isNaN(d.outlierLogRate))
    return `the previous rate ${formatRate(Math.exp(d.outlierLogRate))} was an outlier; `;
  if (note === 'again') return 'rate changed again: old rates forgotten; ';
  if (note === 'changed')
    return `rate changed ${formatRate(Math.exp(d.oldMean))} → ${formatRate(Math.exp(d.logRate))}: old rates forgotten; `;
  if (note === 'restarted') return `size ${formatBytes(d.sizeBytes)} out of band: estimate restarted; `;
  return '';
}

/** A rate in pages/s, for people. */
export function formatRate(pagesPerMs: number): string {
  const perSecond = pagesPerMs * 1000;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} pages/s`;
}
