// The simulator's driver of the supervisor loop. Every decision (chain planning, the step and the policy,
// retention, back-off, compaction's rule, facts and records) is LoopCycle's (src/loop/cycle.ts), which
// `supervise()` drives for `remusd run`; this drives it in a plain loop, in the same order, with a model
// checkpointer and a virtual clock that answer at once: no promise, no generator step, and nothing to wait
// for between two simulated checkpoints.

import type { CheckpointRequest, CheckpointResult } from '../loop/checkpointer.js';
import type { Clock } from '../loop/clock.js';
import { LoopCycle, type CycleDeps } from '../loop/cycle.js';
import { firstTrigger, type ProbeStart } from '../loop/probe-rule.js';
import type { StoredCheckpoint } from '../store/chain.js';
import type { ModelCompactor } from './model-compactor.js';

/** A checkpointer that answers at once (the model checkpointer is one). */
export interface ImmediateCheckpointer {
  open(): { stored: StoredCheckpoint[]; previous: StoredCheckpoint | undefined };
  take(request: CheckpointRequest): CheckpointResult;
  remove(checkpoints: readonly StoredCheckpoint[]): void;
  /** Compaction in virtual time, when it is modelled. */
  readonly compactor: ModelCompactor | undefined;
  /** The dirty-size probe's model, when the workload model can say when its writes reach a level. */
  readonly probe?: ModelProbe | undefined;
}

/** What the probe would read, modelled: a reading that never falls between two checkpoint starts. */
export interface ModelProbe {
  /** The reading (bytes) at tMs of what the workload touched since fromMs. */
  readingAt(fromMs: number, tMs: number): number;
  /** The earliest time, at most untilMs, at which readingAt(fromMs, t) reaches bytes; Infinity if none. */
  reachesAt(fromMs: number, bytes: number, untilMs: number): number;
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
  const { probe } = checkpointer;
  const start: ProbeStart = { atMs: 0, trigger: 'aim' };
  try {
    for (;;) {
      compactor?.resume();
      const plan = probe === undefined ? undefined : cycle.probePlan(clock.now());
      if (plan === undefined || probe === undefined) {
        clock.sleep(cycle.nextStartAtMs - clock.now());
      } else {
        // Where reading at every instant would end the wait (supervise() reads; this computes): no event per tick.
        const { fromMs, latestMs, deadlineMs } = plan;
        const aimAtMs = probe.reachesAt(fromMs, plan.aimReading, latestMs);
        // The floor matters only while deferring past the deadline, and only if the aim is not reached by then.
        const floorAtMs =
          latestMs > deadlineMs && aimAtMs > deadlineMs
            ? probe.reachesAt(fromMs, plan.floorReading, latestMs)
            : Number.POSITIVE_INFINITY;
        firstTrigger(plan, aimAtMs, floorAtMs, start);
        clock.sleep(start.atMs - clock.now());
        cycle.probeStart(start.trigger, probe.readingAt(fromMs, clock.now()));
      }
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
