// Finding checkpoints in a list kept in seq order, as the loop keeps its own: the chain planner's and
// retention's shared helpers.

import type { StoredCheckpoint } from './chain.js';

/** Whether the checkpoints are in strictly ascending seq order (as the loop keeps them). */
export function isAscending(checkpoints: readonly StoredCheckpoint[]): boolean {
  let previous: number | undefined;
  for (const { seq } of checkpoints) {
    if (previous !== undefined && !(previous < seq)) return false;
    previous = seq;
  }
  return true;
}

/** The index of seq in checkpoints sorted by ascending seq, or -1. */
export function indexOfSeq(sorted: readonly StoredCheckpoint[], seq: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = sorted[mid]?.seq;
    if (at === undefined) return -1; // never: mid is in lo..hi, inside the array
    if (at === seq) return mid;
    if (at < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
