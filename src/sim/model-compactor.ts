// Compaction in virtual time: what the loop's Compactor does on disk (src/delta/compact.ts), modelled for the
// simulator. A merge reads every link of the target's chain and writes the flattened base: the whole memory,
// as a chain start would, but locally, never frozen and never shipped. Its time is charged with the cost
// model's rewrite coefficients (pages read as scanned, the base's pages as written): the nearest work measured,
// reading, hashing and writing pages outside the freeze. It runs only while the loop lets it: held from just
// before each dump until CRIU lets the workload go, as the real one is, so a merge spans several intervals
// when the checkpoints leave it little time, and the chain grows meanwhile.
import type { CompactionOutcome } from '../loop/checkpointer.js';
import type { Clock } from '../loop/clock.js';
import type { CompactionRunner } from '../loop/compactor.js';
import type { StoredCheckpoint } from '../store/chain.js';
import { linearMs, type CostModel } from './cost.js';
import type { CheckpointPool } from './model-checkpoint.js';

/** The model's checkpoints on "disk": the links a merge reads, and where the flattened base goes. */
export interface ModelStore {
  find(seq: number): StoredCheckpoint | undefined;
  /** Adds a checkpoint, or replaces the one of its seq: returns the one replaced (undefined: none was). */
  replace(checkpoint: StoredCheckpoint): StoredCheckpoint | undefined;
}

export interface ModelCompactorOptions {
  clock: Clock;
  cost: CostModel;
  pageSize: number;
  /** The process's memory in pages: what a base holds (0: unknown, then every page the chain holds). */
  memoryPages: number;
  store: ModelStore;
  /**
   * Where bases come from and replaced links go back to (the model checkpointer's pool); default none: each
   * base is a new plain object.
   */
  checkpoints?: CheckpointPool | undefined;
}

/** A CompactionRunner whose merges take modelled time on the virtual clock; every call answers at once. */
export class ModelCompactor implements CompactionRunner {
  #target: StoredCheckpoint | undefined;
  #links = 0;
  #basePages = 0;
  #startedAtMs = 0;
  /** Unfrozen time the merge still needs, ms. */
  #workLeftMs = 0;
  /**
   * When it last resumed (virtual ms), or NaN while held: a field that holds only numbers is rewritten in place,
   * where one that may hold undefined boxes each new number (an allocation per checkpoint).
   */
  #runningSince = Number.NaN;
  #done: CompactionOutcome | undefined;
  // The link the last base replaced in the store, until the loop takes the outcome (then it goes to the pool).
  #replaced: StoredCheckpoint | undefined;

  constructor(private readonly options: ModelCompactorOptions) {}

  get busy(): boolean {
    return this.#target !== undefined;
  }

  start(target: StoredCheckpoint): void {
    const { store, pageSize, memoryPages, cost, clock } = this.options;
    let links = 0;
    let readPages = 0;
    // Parents are older than their children: the walk ends (a missing parent ends it too).
    for (
      let c: StoredCheckpoint | undefined = target;
      c !== undefined;
      c = c.parentSeq === undefined || c.parentSeq >= c.seq ? undefined : store.find(c.parentSeq)
    ) {
      links += 1;
      readPages += c.sizeBytes / pageSize;
    }
    this.#target = target;
    this.#links = links;
    this.#basePages = memoryPages > 0 ? memoryPages : readPages;
    this.#workLeftMs = linearMs(cost.rewrite, readPages, this.#basePages);
    this.#startedAtMs = clock.now();
    this.#runningSince = this.#startedAtMs;
  }

  /**
   * The merge that ended, once. The link its base replaced goes back to the pool here: the loop drops it as it
   * takes the outcome (both drivers do so before their next checkpoint, and only checkpoints and bases take from
   * the pool).
   */
  takeOutcome(): CompactionOutcome | undefined {
    const done = this.#done;
    this.#done = undefined;
    const replaced = this.#replaced;
    this.#replaced = undefined;
    if (replaced !== undefined) this.options.checkpoints?.release(replaced);
    return done;
  }

  // Counts the time run since the last resume; a merge whose work is done then ends (when it ended, in virtual time).
  pause(): void {
    const target = this.#target;
    if (target === undefined || Number.isNaN(this.#runningSince)) return;
    const now = this.options.clock.now();
    const ranMs = now - this.#runningSince;
    this.#runningSince = Number.NaN;
    if (ranMs < this.#workLeftMs) {
      this.#workLeftMs -= ranMs;
      return;
    }
    const endedAtMs = now - (ranMs - this.#workLeftMs);
    const { pageSize, store, checkpoints } = this.options;
    const bytesWritten = this.#basePages * pageSize;
    const compacted: StoredCheckpoint =
      checkpoints === undefined
        ? { seq: target.seq, name: target.name, parentSeq: undefined, sizeBytes: bytesWritten }
        : checkpoints.make(target.seq, undefined, bytesWritten);
    // Only a link the store still held is let go of: one retention deleted during the merge went back already.
    this.#replaced = store.replace(compacted);
    this.#done = {
      ok: true,
      target,
      compacted,
      links: this.#links,
      bytesWritten,
      elapsedMs: endedAtMs - this.#startedAtMs,
    };
    this.#target = undefined;
  }

  resume(): void {
    if (this.#target !== undefined && Number.isNaN(this.#runningSince)) this.#runningSince = this.options.clock.now();
  }

  stop(): void {
    if (this.#target !== undefined)
      this.#done = { ok: false, target: this.#target, reason: 'stopped before it finished' };
    this.#target = undefined;
    this.#runningSince = Number.NaN;
  }
}
