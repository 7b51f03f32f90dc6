// The simulator's driver of the supervisor loop. Every decision (chain planning, the step and the policy,
// retention, back-off, compaction's rule, facts and records) is LoopCycle's (src/loop/cycle.ts), which
// `supervise()` drives for `remusd run`; this drives it in a plain loop, in the same order, with a model
// checkpointer and a virtual clock that answer at once: no promise, no generator step, and nothing to wait
// for between two simulated checkpoints.

import type { CheckpointRequest, CheckpointResult } from '../loop/checkpointer.js';
import type { Clock } from '../loop/clock.js';
import { LoopCycle, type CycleDeps } from '../loop/cycle.js';
import type { StoredCheckpoint } from '../store/chain.js';
import type { ModelCompactor } from './model-compactor.js';

/** A checkpointer that answers at once (the model checkpointer is one). */
export interface ImmediateCheckpointer {
  open(): { stored: StoredCheckpoint[]; previous: StoredCheckpoint | undefined };
  take(request: CheckpointRequest): CheckpointResult;
  remove(checkpoints: readonly StoredCheckpoint[]): void;
  /** Compaction in virtual time, when it is modelled. */
  readonly compactor: ModelCompactor | undefined;
}

/** What the simulated loop runs on. */
export interface ModelLoopDeps extends Omit<CycleDeps, 'compacting'> {
  checkpointer: ImmediateCheckpointer;
  /** A clock whose sleep returns at once, having moved time on. */
  clock: Clock & { sleep(ms: number): void };
  /** Checkpoints start strictly before this virtual time (the simulated workload "exits" there). */
  endMs: number;
  /** Aborting ends the loop before the next checkpoint. */
  signal?: AbortSignal | undefined;
}

/** Runs the loop until endMs (or the signal); returns how many checkpoints were taken. */
export function runModelLoop(deps: ModelLoopDeps): number {
  const { checkpointer, clock, endMs, signal } = deps;
  const { compactor } = checkpointer;
  const cycle = new LoopCycle({ ...deps, compacting: compactor !== undefined }, checkpointer.open(), clock.now());
  // Once "CRIU" has let go of the workload, compaction runs again.
  const onDumped = () => compactor?.resume();
  try {
    for (;;) {
      compactor?.resume();
      clock.sleep(cycle.nextStartAtMs - clock.now());
      // Never while the workload is frozen: held from here until the model's dump has let go of it.
      compactor?.pause();
      cycle.compactionEnded(compactor?.takeOutcome());
      if (signal?.aborted === true || !(clock.now() < endMs)) return cycle.checkpoints;
      const result = checkpointer.take(cycle.begin(clock.now(), clock.wallNowMs(), onDumped));
      if (!result.ok) {
        if (!(clock.now() < endMs) || cycle.failed(result, clock.now()) !== undefined) return cycle.checkpoints;
        continue;
      }
      const doomed = cycle.taken(result, clock.now());
      cycle.finish(clock.now(), undefined);
      if (doomed.length > 0) checkpointer.remove(doomed);
      const flatten = compactor === undefined || compactor.busy ? undefined : cycle.nextCompaction();
      if (flatten !== undefined) compactor?.start(flatten);
    }
  } finally {
    compactor?.stop();
  }
}
