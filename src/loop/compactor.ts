// Compaction in the background of the loop: at most one at a time, and never while the workload is frozen.
// The loop pauses the compactor before each dump (CRIU freezes the workload then, and a merge reading and
// writing tens of MiB on the same 2 cores and disk would lengthen the freeze) and resumes it as soon as CRIU
// has let go of the workload. It then runs beside the dump's rewrite and through the interval: paused for
// the whole checkpoint, a merge on this loaded machine starved whenever checkpoints ran back to back. The
// merge stops only between its steps (one chunk of pages, one file), so pausing waits for the step in
// progress.
import type { StoredCheckpoint } from '../store/chain.js';
import type { CompactionOutcome } from './checkpointer.js';
import type { MaybePromise } from './drive.js';

/**
 * What the loop drives compaction through: at most one at a time, in the background, held while the workload
 * is frozen. The real one (Compactor) runs a merge on disk; a simulation's (src/sim/model-compactor.ts)
 * models its time on the virtual clock and answers at once.
 */
export interface CompactionRunner {
  readonly busy: boolean;
  /** Starts flattening `target` (the caller checks busy first). */
  start(target: StoredCheckpoint): void;
  /** The outcome of a compaction that ended since the last call, once. */
  takeOutcome(): CompactionOutcome | undefined;
  /** Holds the merge at its next step boundary; done once it is there (or not running). */
  pause(): MaybePromise<void>;
  resume(): void;
  /** Abandons a merge in progress (the chain is left as it was); done once it has stopped. */
  stop(): MaybePromise<void>;
}

/** The merge on disk, through the checkpointer's compact(). */
export class Compactor implements CompactionRunner {
  private running: Promise<void> | undefined;
  private paused = false;
  private stopped = false;
  /** Resolves the merge's wait at a step boundary once resumed. */
  private release: (() => void) | undefined;
  /** Resolves the loop's pause() once the merge has reached a step boundary. */
  private parked: (() => void) | undefined;
  private done: CompactionOutcome | undefined;

  constructor(
    private readonly run: (target: StoredCheckpoint, step: () => Promise<void>) => Promise<CompactionOutcome>,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Starts flattening `target` in the background (the caller checks busy first). */
  start(target: StoredCheckpoint): void {
    this.running = this.run(target, () => this.step())
      .then(
        (outcome) => void (this.done = outcome),
        (error: Error) => void (this.done = { ok: false, target, reason: error.message }),
      )
      .finally(() => {
        this.running = undefined;
        this.parked?.();
      });
  }

  /** The outcome of a compaction that ended since the last call, once. */
  takeOutcome(): CompactionOutcome | undefined {
    const outcome = this.done;
    this.done = undefined;
    return outcome;
  }

  /** Holds the merge at its next step boundary; resolves once it is there (or not running). */
  async pause(): Promise<void> {
    this.paused = true;
    if (this.running === undefined || this.release !== undefined) return;
    await new Promise<void>((resolve) => (this.parked = resolve));
    this.parked = undefined;
  }

  resume(): void {
    this.paused = false;
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  /** Abandons the merge at its next step (its copy is removed, the chain is left as it was) and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await this.running;
  }

  private async step(): Promise<void> {
    if (this.stopped) throw new Error('stopped before it finished');
    // Gives timers and I/O their turn between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.paused && !this.stopped) {
      this.parked?.();
      await new Promise<void>((resolve) => (this.release = resolve));
    }
    if (this.stopped) throw new Error('stopped before it finished');
  }
}
