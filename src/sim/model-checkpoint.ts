// The simulator's checkpoints, and the pool that makes deleted ones new again. A simulation takes millions of
// checkpoints and keeps a few dozen: each new object was garbage soon, and, being young, cost a write barrier
// (V8's RecordWrite) at each of the ~5 places the loop stores it into its older lists and objects.

import { checkpointName } from '../store/checkpoints.js';
import type { StoredCheckpoint } from '../store/chain.js';
import { objectList } from '../object-list.js';

/** A modelled checkpoint; its directory name is written only when asked for (records and logs ask, summaries do not). */
export class ModelCheckpoint implements StoredCheckpoint {
  constructor(
    public seq: number,
    public parentSeq: number | undefined,
    public sizeBytes: number,
  ) {}

  /** This object as another checkpoint (once the loop has let go of the one it was). */
  rewrite(seq: number, parentSeq: number | undefined, sizeBytes: number): this {
    this.seq = seq;
    this.parentSeq = parentSeq;
    this.sizeBytes = sizeBytes;
    return this;
  }

  get name(): string {
    return checkpointName(this.seq);
  }
}

/** The checkpoints nobody holds any more (a bounded few), handed out again as new ones. */
export class CheckpointPool {
  readonly #free: ModelCheckpoint[] = objectList();

  /** A checkpoint of these numbers: a released one rewritten, or a new one when none is left. */
  make(seq: number, parentSeq: number | undefined, sizeBytes: number): ModelCheckpoint {
    return this.#free.pop()?.rewrite(seq, parentSeq, sizeBytes) ?? new ModelCheckpoint(seq, parentSeq, sizeBytes);
  }

  /** The loop and the store hold this checkpoint no more (deleted, or replaced by its compacted base). */
  release(checkpoint: StoredCheckpoint): void {
    if (checkpoint instanceof ModelCheckpoint && this.#free.length < 64) this.#free.push(checkpoint);
  }
}
