// The model checkpointer's checkpoints on "disk" (those retention keeps), for the compactor's merges: a list
// in seq order. It was a Map: a set and a delete per simulated checkpoint, hashed, and its table rebuilt as
// deletions piled up, for a few dozen entries that are always added newest last.

import { objectList } from '../object-list.js';
import type { StoredCheckpoint } from '../store/chain.js';
import type { ModelStore } from './model-compactor.js';

export class LiveCheckpoints implements ModelStore {
  readonly #list: StoredCheckpoint[] = objectList();

  /** Adds a checkpoint, or replaces the one of its seq. */
  replace(checkpoint: StoredCheckpoint): void {
    const list = this.#list;
    const { seq } = checkpoint;
    let at = list.length;
    // Newest last: a new checkpoint is appended at once; a replaced one is found walking back.
    while (at > 0 && (list[at - 1]?.seq ?? Number.NEGATIVE_INFINITY) > seq) at -= 1;
    if (at > 0 && list[at - 1]?.seq === seq) list[at - 1] = checkpoint;
    else if (at === list.length) list.push(checkpoint);
    else list.splice(at, 0, checkpoint);
  }

  find(seq: number): StoredCheckpoint | undefined {
    const list = this.#list;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = list[mid];
      if (c === undefined) return undefined; // never: mid is in lo..hi, inside the list
      if (c.seq === seq) return c;
      if (c.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Forgets the checkpoints of these seqs. */
  remove(checkpoints: readonly StoredCheckpoint[]): void {
    const list = this.#list;
    let kept = 0;
    for (const c of list) if (!hasSeq(checkpoints, c.seq)) list[kept++] = c;
    list.length = kept;
  }
}

function hasSeq(checkpoints: readonly StoredCheckpoint[], seq: number): boolean {
  for (const c of checkpoints) if (c.seq === seq) return true;
  return false;
}
