// The model checkpointer's checkpoints on "disk" (those retention keeps), for the compactor's merges: a list
// in seq order. It was a Map: a set and a delete per simulated checkpoint, hashed, and its table rebuilt as
// deletions piled up, for a few dozen entries that are always added newest last.

import { dropPrefix, objectList, truncate } from '../object-list.js';
import { isAscending } from '../store/chain-order.js';
import type { StoredCheckpoint } from '../store/chain.js';
import type { ModelStore } from './model-compactor.js';

export class LiveCheckpoints implements ModelStore {
  readonly #list: StoredCheckpoint[] = objectList();
  // Where find() found the last one (a hint only: the list may have changed since).
  #found = 0;

  /** Adds a checkpoint, or replaces the one of its seq: returns the one replaced (undefined: none was). */
  replace(checkpoint: StoredCheckpoint): StoredCheckpoint | undefined {
    const list = this.#list;
    const { seq } = checkpoint;
    let at = list.length;
    // Newest last: a new checkpoint is appended at once; a replaced one is found walking back.
    while (at > 0 && (list[at - 1]?.seq ?? Number.NEGATIVE_INFINITY) > seq) at -= 1;
    // Never list[-1]: a negative index is a property name to V8, and one such read made this load megamorphic.
    const before = at > 0 ? list[at - 1] : undefined;
    if (before !== undefined && before.seq === seq) {
      list[at - 1] = checkpoint;
      return before;
    }
    if (at === list.length) list.push(checkpoint);
    else list.splice(at, 0, checkpoint);
    return undefined;
  }

  find(seq: number): StoredCheckpoint | undefined {
    const list = this.#list;
    // A merge walks a chain down this list (ModelCompactor.start), each link's parent most often the entry just
    // before it: looked at first, before a binary search (~16 of them per merge, ~100 instructions per checkpoint).
    const guess = this.#found - 1;
    const near = guess >= 0 && guess < list.length ? list[guess] : undefined;
    if (near !== undefined && near.seq === seq) {
      this.#found = guess;
      return near;
    }
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = list[mid];
      if (c === undefined) return undefined; // never: mid is in lo..hi, inside the list
      if (c.seq === seq) {
        this.#found = mid;
        return c;
      }
      if (c.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /**
   * Forgets the checkpoints of these seqs. Retention lists them oldest first, as this list is kept: one pass over
   * both then (a search of them for each checkpoint here was ~500 instructions per simulated checkpoint).
   */
  remove(checkpoints: readonly StoredCheckpoint[]): void {
    const list = this.#list;
    // Most often they are this list's first ones, the same objects (dropPrefix): the pass below was ~150
    // instructions per simulated checkpoint.
    if (dropPrefix(list, checkpoints)) return;
    const ascending = isAscending(checkpoints);
    let kept = 0;
    let next = 0;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (c === undefined) continue; // never: i is inside the list
      if (ascending) {
        // Skip the doomed seqs below this one (those not here); drop this one if it is the next. Each seq is
        // compared as a number, never as number-or-undefined: V8 made that comparison a generic call.
        let doomed = checkpoints[next];
        while (doomed !== undefined && doomed.seq < c.seq) doomed = checkpoints[++next];
        if (doomed !== undefined && doomed.seq === c.seq) continue;
      } else if (hasSeq(checkpoints, c.seq)) continue;
      list[kept++] = c;
    }
    truncate(list, kept);
  }
}

function hasSeq(checkpoints: readonly StoredCheckpoint[], seq: number): boolean {
  for (const c of checkpoints) if (c.seq === seq) return true;
  return false;
}
