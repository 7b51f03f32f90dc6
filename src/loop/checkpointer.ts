// What the loop needs from whatever takes checkpoints: CRIU on a real process (criu-checkpointer.ts) or a
// workload model in virtual time (src/sim/model-checkpointer.ts). The loop decides, the checkpointer does.

import { errorCode, errorMessage } from '../fs/error-code.js';
import type { DumpStats } from '../model/stats.js';
import type { StoredCheckpoint } from '../store/chain.js';
import { isThenable, type MaybePromise } from './drive.js';

/** What the loop asks of one take: one object, rewritten for each checkpoint (copy what must outlive the take). */
export interface CheckpointRequest {
  seq: number;
  /** The checkpoint to build on; undefined starts a new chain (a full checkpoint). */
  parent: StoredCheckpoint | undefined;
  logLevel: number;
  extraArgs: readonly string[];
  timeoutMs: number;
  /**
   * Called once CRIU has let go of the workload (it is frozen no more, its sockets are out of repair mode),
   * before any rewrite of the dump: compaction resumes and the inbound hold ends there.
   */
  onDumped?: () => void | Promise<void>;
}

/** What a software delta did to CRIU's full dump (mode delta only). */
export interface DeltaSummary {
  /** Pages whose content changed: what the checkpoint stores. */
  changedPages: number;
  /** Pages CRIU dumped. */
  totalPages: number;
  /** The rewrite's time (hashing, comparing, writing, saving the hashes), ms. */
  elapsedMs: number;
  /** Whether the planned parent was used; when not, reason says why a new chain started. */
  parentUsed: boolean;
  reason: string;
  /** How shared memory was handled, in words. */
  shmem: string;
}

/** A checkpoint taken and stored; `Extra` is what its checkpointer adds (the loop's CheckpointResult: `delta`). */
export type CheckpointTaken<Extra> = {
  ok: true;
  stored: StoredCheckpoint;
  dir: string;
  stats: DumpStats;
  criuWallMs: number;
  /**
   * When the workload was frozen, in ms after the checkpoint was asked for, if the checkpointer can tell:
   * the dirty-size probe learns from it what is written between its reading and the freeze (cycle.ts). The
   * simulator's model freezes as it starts (undefined: 0).
   */
  freezeAfterMs?: number | undefined;
} & Extra;

/** A checkpoint that failed: nothing was stored. */
export interface CheckpointFailed {
  ok: false;
  criuWallMs: number;
  reason: string;
  logTail: string;
}

export type CheckpointResult = CheckpointTaken<{ delta: DeltaSummary | undefined }> | CheckpointFailed;

/** How a compaction ended: the flattened link as it is now stored, or why nothing changed. */
export type CompactionOutcome =
  | {
      ok: true;
      target: StoredCheckpoint;
      compacted: StoredCheckpoint;
      links: number;
      bytesWritten: number;
      elapsedMs: number;
    }
  | { ok: false; target: StoredCheckpoint; reason: string };

/**
 * Where the loop's checkpoints come from and go to. A checkpointer that answers at once (a model) returns
 * plain values, and the loop then runs without a promise per checkpoint (drive.ts).
 */
export interface Checkpointer {
  /**
   * Before the first checkpoint: removes what a crash left half-written and lists the complete
   * checkpoints, oldest first, with the one the next checkpoint may build on (a chain to continue).
   */
  open(): MaybePromise<{ stored: StoredCheckpoint[]; previous: StoredCheckpoint | undefined }>;
  /** Takes one checkpoint; a success is complete and, unless it is a pre-dump, marked as the latest. */
  take(request: CheckpointRequest): MaybePromise<CheckpointResult>;
  /** Deletes checkpoints retention no longer needs (off the critical path; done before the next take). */
  remove(checkpoints: readonly StoredCheckpoint[]): MaybePromise<void>;
  /**
   * Mode delta: flattens `target` (an old link of the current chain) into a base, atomically, awaiting `step`
   * between steps of the merge. Absent: this checkpointer cannot compact, and chains restart instead.
   */
  compact?(target: StoredCheckpoint, step: () => Promise<void>): Promise<CompactionOutcome>;
}

/**
 * An I/O error around CRIU (creating the partial directory, renaming it into place on a full or read-only
 * disk) is a failed attempt like a failed CRIU run: retried with back-off, counted towards max_consecutive.
 */
export function asFailedAttempt(error: unknown): CheckpointFailed {
  if (errorCode(error) === undefined) throw error;
  return { ok: false, criuWallMs: 0, reason: `I/O error: ${errorMessage(error)}`, logTail: '' };
}

/** Deletes old checkpoints off the critical path; a failure is only a warning. */
export function removeQuietly(
  checkpointer: Checkpointer,
  doomed: readonly StoredCheckpoint[],
  events: { warn(message: string, fields?: Record<string, unknown>): void },
): MaybePromise<void> {
  const warn = (error: unknown) =>
    events.warn(`could not delete old checkpoints: ${errorMessage(error)}`, {
      checkpoints: doomed.map((c) => c.name),
    });
  try {
    const removing = checkpointer.remove(doomed);
    return isThenable(removing) ? Promise.resolve(removing).catch(warn) : undefined;
  } catch (error) {
    warn(error);
    return undefined;
  }
}
