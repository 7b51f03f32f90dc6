// The words of the predictive policy's reasons (the rule is in predictive.ts). Each function returns the
// reason of one kind of decision as a closure over just the numbers it names, to be called when the reason
// is read: a simulation takes millions of decisions and reads none, and closures made inside the policy
// kept every number of the decision alive in one context (a boxed double each, ~1 KB per decision).
import type { Observation } from '../model/policy.js';
import { formatBytes, formatMs } from '../units/units.js';
import type { Clamped } from './bounds.js';
import type { PredictiveState } from './predictive.js';

/** What happened to the estimate at a decision (steps 1 and 2), named; its words are in noteText. */
export type Note = '' | 'confirmed' | 'outlier' | 'again' | 'changed' | 'restarted';

/** What the words about the estimate are made of. */
export interface Estimate {
  note: Note;
  /** The state before this decision. */
  state: PredictiveState;
  logRate: number;
  /** Mean of state.logRates (0 when there are none). */
  oldMean: number;
  observation: Observation;
  ratePerMs: number;
  /** How many rates the estimate averages. */
  used: number;
}

/** An observation the policy cannot use: the interval is held. */
export function unusable(elapsedMs: number, pages: number, pageSize: number, holdMs: number): () => string {
  return () =>
    `observation not usable (elapsed ${elapsedMs} ms, ${pages} pages, page size ${pageSize} B): hold at ${formatMs(holdMs)}`;
}

/** A rise seen while in band, waiting for a confirmation. */
export function awaitingConfirmation(
  logRate: number,
  change: number,
  oldMean: number,
  sizeBytes: number,
  holdMs: number,
): () => string {
  return () =>
    `rate ${formatRate(Math.exp(logRate))} is beyond ×${change} of the estimate ${formatRate(Math.exp(oldMean))}, size ${formatBytes(sizeBytes)} in band: hold at ${formatMs(holdMs)} until the next checkpoint confirms`;
}

/** Step 3: the working set saturates under lmax. */
export function saturated(workingSetPages: number, pageSize: number, maxMs: number): () => string {
  return () =>
    `working set saturates at ${workingSetPages} pages (${formatBytes(workingSetPages * pageSize)} ≤ lmax): ` +
    `longer intervals no longer raise the size → max ${formatMs(maxMs)}`;
}

/** Step 4: the predicted size is within the deadband. */
export function inDeadband(
  estimate: Estimate,
  predictedBytes: number,
  holdMs: number,
  low: number,
  high: number,
  goalBytes: number,
): () => string {
  return () =>
    `${estimateText(estimate)}: ${formatBytes(predictedBytes)} predicted at ${formatMs(holdMs)}, within [${formatBytes(low)}, ${formatBytes(high)}] around target ${formatBytes(goalBytes)}: hold`;
}

/** Step 5 after a change: an interval that suits both rates. */
export function hedged(
  estimate: Estimate,
  nextMs: number,
  previous: number,
  hedge: { lowBytes: number; highBytes: number },
): () => string {
  return () =>
    `${estimateText(estimate)}: ${formatMs(nextMs)} keeps both it and the previous ${formatRate(previous)} within ` +
    `[${formatBytes(hedge.lowBytes)}, ${formatBytes(hedge.highBytes)}], until the next checkpoint tells which holds`;
}

/** Step 5: aimed at the goal (or, after a change, towards the deadband's edge). */
export function aimed(
  estimate: Estimate,
  side: 'up' | 'down' | undefined,
  goalBytes: number,
  aimBytes: number,
  desiredMs: number,
  clamped: Clamped,
): () => string {
  return () => {
    const at =
      side === undefined
        ? `target ${formatBytes(goalBytes)}`
        : `${formatBytes(aimBytes)}, halfway to the deadband's ${side === 'up' ? 'low' : 'high'} edge (the change may have come within the interval)`;
    const clampNote = clamped.clampedTo === null ? '' : `, clamped to ${clamped.clampedTo} ${formatMs(clamped.ms)}`;
    return `${estimateText(estimate)} → ${formatMs(desiredMs)} for ${at}${clampNote}`;
  };
}

// What happened to the estimate, and the rate it gives.
function estimateText(e: Estimate): string {
  return `${noteText(e)}rate ${formatRate(e.ratePerMs)} (${e.used === 1 ? 'newest observation' : `mean of ${e.used} since the last change`})`;
}

function noteText({ note, state, logRate, oldMean, observation }: Estimate): string {
  if (note === 'confirmed') return 'change confirmed; ';
  // After a rise the state holds the rise's rate alone (the rule never leaves it empty then).
  const outlier = state.logRates.at(-1);
  if (note === 'outlier' && outlier !== undefined)
    return `the previous rate ${formatRate(Math.exp(outlier))} was an outlier; `;
  if (note === 'again') return 'rate changed again: old rates forgotten; ';
  if (note === 'changed')
    return `rate changed ${formatRate(Math.exp(oldMean))} → ${formatRate(Math.exp(logRate))}: old rates forgotten; `;
  if (note === 'restarted') return `size ${formatBytes(observation.sizeBytes)} out of band: estimate restarted; `;
  return '';
}

/** A rate in pages/s, for people. */
export function formatRate(pagesPerMs: number): string {
  const perSecond = pagesPerMs * 1000;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} pages/s`;
}
