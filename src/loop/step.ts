import type { RecordMode } from '../model/record.js';
import type { Band, Decision, Observation, Policy } from '../model/policy.js';
import { directionOf, startingInterval } from '../policy/bounds.js';

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

export interface StepResult {
  decision: Decision;
  state: LoopState;
  /** When the next checkpoint is due (monotonic ms): start + next interval, or now if that has passed. */
  nextStartAtMs: number;
  /** The checkpoint took longer than the interval in force: the next one starts at once. */
  overrun: boolean;
}

/**
 * The pure step of the supervisor: from the checkpoint that just finished and the state, the next interval
 * and when to start. Level-based: the next start depends only on this checkpoint's start and the decision,
 * so a missed tick or a slow checkpoint never accumulates drift.
 */
export function step(policy: Policy, state: LoopState, outcome: CheckpointOutcome, band: Band): StepResult {
  const { decision, state: policyState } =
    outcome.unmeasured === undefined
      ? policy.decide(state.policyState, outcome.observation, band)
      : { decision: held(state.intervalMs, outcome, band), state: state.policyState };
  const overrun = outcome.finishedAtMs - outcome.startedAtMs > state.intervalMs;
  const due = outcome.startedAtMs + decision.nextIntervalMs;
  return {
    decision,
    state: { intervalMs: decision.nextIntervalMs, policyState },
    nextStartAtMs: Math.max(due, outcome.finishedAtMs),
    overrun,
  };
}

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
