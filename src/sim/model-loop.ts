// The simulator's driver of the supervisor loop. Every decision (chain planning, the step and the policy,
// retention, back-off, compaction's rule, facts and records) is LoopCycle's (src/loop/cycle.ts), which
// `supervise()` drives for `remusd run`; this drives it in a plain loop, in the same order, with a model
// checkpointer and a virtual clock that answer at once: no promise, no generator step, and nothing to wait
// for between two simulated checkpoints.

import type { CheckpointRequest, CheckpointResult } from '../loop/checkpointer.js';
import type { Clock } from '../loop/clock.js';
import { LoopCycle, type CycleDeps } from '../loop/cycle.js';
import { waitByInstants, type ProbeStart } from '../loop/probe-rule.js';
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

/** What the probe would read, modelled: a reading that never falls between two resets. */
export interface ModelProbe {
  /** The accessed bits are cleared at nowMs (once the model's dump lets go of the workload). */
  reset(nowMs: number): void;
  /** The reading (bytes) at tMs of what the workload touched since the last reset. */
  readingAt(tMs: number): number;
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
  const run = new ModelLoopRun(deps);
  try {
    while (run.next());
    return run.checkpoints;
  } finally {
    run.stop();
  }
}

// One simulated run, a checkpoint per call of next(). Not one function with the loop inside: V8 optimizes such
// a function while it runs (on-stack replacement, for its loop only), and the next run entered it through code
// that had never run optimized, deoptimized and ran most of its first 27 k checkpoints at ~0.15× the speed
// of later runs while the loop waited to be replaced again. A method called per checkpoint is optimized whole.
class ModelLoopRun {
  readonly #checkpointer: ImmediateCheckpointer;
  readonly #compactor: ModelCompactor | undefined;
  readonly #clock: ModelLoopDeps['clock'];
  readonly #endMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #cycle: LoopCycle;
  readonly #onDumped: () => void;
  // When and why the probed wait ends, rewritten for each checkpoint.
  readonly #start: ProbeStart = { atMs: 0, trigger: 'aim', reading: 0 };
  readonly #readingAt: ((tMs: number) => number) | undefined;

  constructor(deps: ModelLoopDeps) {
    const { checkpointer, clock } = deps;
    const { compactor } = checkpointer;
    this.#checkpointer = checkpointer;
    this.#compactor = compactor;
    this.#clock = clock;
    this.#endMs = deps.endMs;
    this.#signal = deps.signal;
    this.#cycle = new LoopCycle({ ...deps, compacting: compactor !== undefined }, checkpointer.open(), clock.now());
    const probe = checkpointer.probe;
    const cycle = this.#cycle;
    // Once "CRIU" has let go of the workload: compaction runs again, and the probe's bits are cleared.
    this.#onDumped = () => {
      compactor?.resume();
      if (probe !== undefined && cycle.probing) {
        cycle.probeReset(clock.now());
        probe.reset(clock.now());
      }
    };
    this.#readingAt = probe === undefined ? undefined : (tMs) => probe.readingAt(tMs);
  }

  get checkpoints(): number {
    return this.#cycle.checkpoints;
  }

  /** The next checkpoint (or a failed attempt at it); false when the run has ended instead. */
  next(): boolean {
    const checkpointer = this.#checkpointer;
    const compactor = this.#compactor;
    const clock = this.#clock;
    const cycle = this.#cycle;
    const endMs = this.#endMs;
    compactor?.resume();
    const readingAt = this.#readingAt;
    const plan = readingAt === undefined ? undefined : cycle.probePlan(clock.now());
    if (plan === undefined || readingAt === undefined) {
      clock.sleep(cycle.nextStartAtMs - clock.now());
    } else {
      // Read at every instant as supervise() does, the model's readings taking no time: no event per tick.
      const start = waitByInstants(plan, readingAt, this.#start);
      clock.sleep(start.atMs - clock.now());
      // A trace replay's sleeps end late (startLate): the checkpoint starts on what is read when it wakes.
      const atMs = clock.now();
      cycle.probeStart(start.trigger, atMs === start.atMs ? start.reading : readingAt(atMs), atMs);
    }
    // Never while the workload is frozen: held from here until the model's dump has let go of it.
    compactor?.pause();
    cycle.compactionEnded(compactor?.takeOutcome());
    if (this.#signal?.aborted === true || !(clock.now() < endMs)) return false;
    const result = checkpointer.take(cycle.begin(clock.now(), clock.wallNowMs(), this.#onDumped));
    if (!result.ok) return clock.now() < endMs && cycle.failed(result, clock.now()) === undefined;
    const doomed = cycle.taken(result, clock.now());
    cycle.finish(clock.now(), undefined);
    if (doomed.length > 0) checkpointer.remove(doomed);
    const flatten = compactor === undefined || compactor.busy ? undefined : cycle.nextCompaction();
    if (flatten !== undefined) compactor?.start(flatten);
    return true;
  }

  stop(): void {
    this.#compactor?.stop();
  }
}
