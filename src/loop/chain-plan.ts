// The loop's view of its chain: the checkpoints on disk (its own list, kept in seq order), the newest one, and
// the rules that plan the next checkpoint's parent, delete what retention may, and pick the link to compact.
// The newest chain is walked once after each checkpoint and that walk serves all three (three walks of it per
// checkpoint were a fifth of a simulation's time), until a compacted link changes it.

import type { RecordMode } from '../model/record.js';
import { objectList } from '../object-list.js';
import { isAscending } from '../store/chain-order.js';
import {
  blankWalk,
  compactionTargetAfter,
  extendWalk,
  parentAfter,
  parentFor,
  ParentLink,
  removableAfter,
  removeInPlace,
  replaceCompacted,
  walkChain,
  type ChainRules,
  type ChainWalk,
  type StoredCheckpoint,
} from '../store/chain.js';
import { shippedCompactionTarget, type ShippedCompaction } from '../store/shipped-compaction.js';
import type { SupervisorSettings } from './supervisor-deps.js';

/** A plan for the next checkpoint: its parent (undefined: a new chain), and why. */
export type ChainChoice = { parent: StoredCheckpoint | undefined; reason: string };

export class ChainPlan {
  /** The checkpoints on disk, oldest first (retention removes from it in place). */
  readonly #stored: StoredCheckpoint[];
  // Whether #stored is in seq order, kept as it changes (the walks checked it on every checkpoint): pushes of a
  // newer checkpoint keep it so, removals and compacted links (same seq) never change the order.
  #ascending: boolean;
  #previous: StoredCheckpoint | undefined;
  readonly #previousChain = blankWalk();
  #previousChainFresh = false;
  // The chain rules of the settings in force (made again only when a reload changes them).
  #rulesOf: SupervisorSettings | undefined;
  #rules: ChainRules;
  // The plan that continues the chain, rewritten for each checkpoint (valid until the next plan()).
  #link: ParentLink | undefined;
  // What retention deletes after a checkpoint, rewritten likewise.
  readonly #doomed: StoredCheckpoint[] = objectList();

  constructor(
    opened: { stored: readonly StoredCheckpoint[]; previous: StoredCheckpoint | undefined },
    rules: ChainRules,
  ) {
    this.#stored = objectList(opened.stored);
    this.#ascending = isAscending(this.#stored);
    this.#previous = opened.previous;
    this.#rules = rules;
  }

  /** The highest seq on disk (0 when none). */
  get highestSeq(): number {
    return this.#stored.reduce((max, c) => Math.max(max, c.seq), 0);
  }

  /** A compaction flattened a link: its base replaces it. */
  compacted(base: StoredCheckpoint): void {
    replaceCompacted(this.#stored, base);
    this.#previousChainFresh = false;
  }

  /** The next checkpoint's parent under these settings (compaction's rule applies when a compactor runs). */
  plan(settings: SupervisorSettings, mode: RecordMode, compacting: boolean): ChainChoice {
    if (this.#rulesOf !== settings) {
      this.#rulesOf = settings;
      this.#rules = {
        ...settings.retention,
        compactAt: compacting && settings.retention.compact === true ? settings.retention.compactAt : undefined,
      };
    }
    if (mode === 'full') return FULL_DUMP;
    if (!this.#previousChainFresh) return parentFor(this.#stored, this.#previous, this.#rules);
    const choice = parentAfter(this.#previous, this.#previousChain, this.#rules, this.#link);
    if (choice instanceof ParentLink) this.#link = choice;
    return choice;
  }

  /** A checkpoint failed: the chain's dirty tracking may be inconsistent now, so the next one starts a new one. */
  failed(): void {
    this.#previous = undefined;
    this.#previousChainFresh = false;
  }

  /**
   * A checkpoint was stored: it is the newest; returns what retention deletes (already off the list), in a list
   * valid until the next call (both drivers have removed them by then).
   */
  added(stored: StoredCheckpoint, keep: number): readonly StoredCheckpoint[] {
    const newest = this.#stored.at(-1);
    if (newest !== undefined && !(newest.seq < stored.seq)) this.#ascending = false;
    this.#stored.push(stored);
    this.#previous = stored;
    // The previous walk and one more link, when it can be (the walk of it, kept since, is still of this list).
    if (!(this.#previousChainFresh && this.#ascending && extendWalk(this.#previousChain, this.#stored)))
      walkChain(this.#stored, stored.seq, this.#previousChain, this.#ascending);
    this.#previousChainFresh = true;
    const doomed = removableAfter(this.#stored, keep, this.#previousChain, this.#doomed);
    if (doomed.length > 0) {
      removeInPlace(this.#stored, doomed);
      // The newest is kept, and last: the walk's index of it moves with the removals (all before it).
      if (this.#previousChain.startIndex >= 0) this.#previousChain.startIndex = this.#stored.length - 1;
    }
    return doomed;
  }

  // The link to compact now, if the chain is long enough (ask only while no compaction runs). Links retention
  // deletes are never targets: the target is two links behind the newest, which keep() ≥ 1 keeps through its chain.
  nextCompaction(): StoredCheckpoint | undefined {
    const { compactAt } = this.#rules;
    const newest = this.#previous;
    if (compactAt === undefined || newest === undefined) return undefined;
    return compactionTargetAfter(this.#chainOf(newest), compactAt);
  }

  /** nextCompaction's pick `usual`, moved to a link the backup holds when it lacks that one (shipped-compaction.ts). */
  shippedCompaction(usual: StoredCheckpoint, backupHolds: number): ShippedCompaction {
    const newest = this.#previous;
    if (newest === undefined) return { link: usual, why: 'usual' }; // nextCompaction picks nothing then
    const { links } = this.#chainOf(newest);
    return shippedCompactionTarget(this.#stored, newest, links, usual, backupHolds, this.#rules.newChainEvery);
  }

  // The walk of the newest checkpoint's chain: the one keep() made for it, else a fresh one.
  #chainOf(newest: StoredCheckpoint): Readonly<ChainWalk> {
    return this.#previousChainFresh
      ? this.#previousChain
      : walkChain(this.#stored, newest.seq, undefined, this.#ascending);
  }
}

// Mode full plans no chain.
const FULL_DUMP: ChainChoice = Object.freeze({ parent: undefined, reason: 'full dump: no parent' });
