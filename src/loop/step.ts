import type { RecordMode } from '../model/record.js';
import type { Band, Decision, Observation, Policy, PolicyDecider } from '../model/policy.js';
import { directionOf, startingInterval } from '../policy/bounds.js';
import { deciderOf } from '../policy/decider.js';

/** What the loop carries from one checkpoint to the next. */
export interface LoopState {
  /** Interval in force (ms, start-to-start). */
  intervalMs: number;
  policyState: unknown;
}

/** What one checkpoint produced, as the step sees it (times in ms on the supervisor's monotonic clock). */
export interface CheckpointOutcome {
  observation: Observation;
  /**
   * Why this checkpoint's size says nothing about the interval, when it does not: a full checkpoint that
   * starts a chain in an incremental mode (its size is the whole memory, not what the workload dirtied), or
   * the first checkpoint of a run (its interval began before the run did). The policy is not asked then.
   * In mode full every checkpoint is what is stored and shipped, and the policy sees each one.
   * The interval is held then, brought into [band.minMs, band.maxMs] if a reload moved the band under it.
   */
  unmeasured: string | undefined;
  startedAtMs: number;
  finishedAtMs: number;
}

/** What the step decides for one checkpoint. */
export interface StepDecision {
  decision: Decision;
  /** When the next checkpoint is due (monotonic ms): start + next interval, or now if that has passed. */
  nextStartAtMs: number;
  /** The checkpoint took longer than the interval in force: the next one starts at once. */
  overrun: boolean;
}

export interface StepResult extends StepDecision {
  state: LoopState;
}

/**
 * The pure step of the supervisor: from the checkpoint that just finished and the state, the next interval
 * and when to start. Level-based: the next start depends only on this checkpoint's start and the decision,
 * so a missed tick or a slow checkpoint never accumulates drift.
 */
export function step(policy: Policy, state: LoopState, outcome: CheckpointOutcome, band: Band): StepResult {
  const decider = deciderOf(policy, state.policyState);
  const { decision, nextStartAtMs, overrun } = stepInPlace(decider, state.intervalMs, outcome, band, {
    decision: NO_DECISION,
    nextStartAtMs: 0,
    overrun: false,
  });
  return {
    decision,
    state: { intervalMs: decision.nextIntervalMs, policyState: decider.state() },
    nextStartAtMs,
    overrun,
  };
}

/**
 * step() for the loop, which keeps its policy's state in a decider (the policy's own when it decides in place)
 * and one StepDecision that this rewrites: a simulated checkpoint then makes no object for its decision.
 */
export function stepInPlace(
  decider: PolicyDecider,
  intervalMs: number,
  outcome: CheckpointOutcome,
  band: Band,
  out: StepDecision,
): StepDecision {
  const decision =
    outcome.unmeasured === undefined ? decider.decide(outcome.observation, band) : held(intervalMs, outcome, band);
  out.decision = decision;
  out.overrun = outcome.finishedAtMs - outcome.startedAtMs > intervalMs;
  out.nextStartAtMs = Math.max(outcome.startedAtMs + decision.nextIntervalMs, outcome.finishedAtMs);
  return out;
}

/** A StepDecision's decision before the first step. */
export const NO_DECISION: Decision = Object.freeze({
  nextIntervalMs: Number.NaN,
  decision: 'hold',
  reason: 'none yet',
});

// The decision for an unmeasured checkpoint: the interval in force, clamped into the band like any policy's.
function held(intervalMs: number, outcome: CheckpointOutcome, band: Band): Decision {
  const observation = { ...outcome.observation, intervalMs };
  const start = startingInterval(observation, band);
  return {
    nextIntervalMs: start.ms,
    decision: directionOf(observation, start, start.ms),
    reason: `${outcome.unmeasured}; interval held${start.note}`,
  };
}

/**
 * Why a checkpoint's size says nothing about the interval (CheckpointOutcome.unmeasured), if it does not.
 * In mode full every checkpoint is what is stored and shipped: the policy sees each one, the first included.
 */
export function unmeasured(
  mode: RecordMode,
  chainStart: boolean,
  pagesWritten: number,
  firstOfRun: boolean,
): string | undefined {
  if (mode === 'full') return undefined;
  if (chainStart) return `chain start: a full checkpoint (${pagesWritten} pages) measures no dirty set`;
  if (firstOfRun) return 'first checkpoint of this run: the pages it holds were dirtied over an unknown time';
  return undefined;
}
