// Retention: which checkpoints may be deleted without making a kept one unrestorable, and the loop's own
// list kept up to date in place (removals, compacted links).

import type { ChainWalk, StoredCheckpoint } from './chain.js';
import { at } from '../at.js';
import { dropPrefix, truncate } from '../object-list.js';
import { indexOfSeq, isAscending } from './chain-order.js';

/**
 * Which checkpoints may be deleted: all but the `keep` newest, except any that a kept checkpoint's parent
 * chain reaches (deleting those would make a kept checkpoint unrestorable). Oldest first.
 */
export function removable(checkpoints: readonly StoredCheckpoint[], keep: number): readonly StoredCheckpoint[] {
  const kept = Math.max(1, keep);
  if (checkpoints.length <= kept) return NONE;
  // The loop calls this after every checkpoint, the simulator millions of times: checkpoints arrive in seq
  // order, so there is no sort, no map and no set to build then (they made 30 % of a simulation's time).
  const sorted = isAscending(checkpoints) ? checkpoints : [...checkpoints].sort((a, b) => a.seq - b.seq);
  const needed = scratch(sorted.length);
  let count = 0;
  for (let newest = sorted.length - 1; newest >= sorted.length - kept; newest--) {
    // Walks down each kept chain until a link already needed (chains share their older links).
    for (let at = newest; at >= 0 && needed[at] === 0;) {
      needed[at] = 1;
      count += 1;
      const parent = sorted[at]?.parentSeq;
      // A parent is usually the checkpoint just before its child: one comparison, a search only when it is not.
      at = parent === undefined ? -1 : sorted[at - 1]?.seq === parent ? at - 1 : indexOfSeq(sorted, parent);
    }
  }
  return count === sorted.length ? NONE : sorted.filter((_, i) => needed[i] === 0);
}

/**
 * removable, given the walk of the newest checkpoint's chain (the list's last): when that chain is the list's
 * last `links` entries (each link's parent just before it, as the loop's chains are) and holds the kept ones,
 * every kept checkpoint's chain lies inside it, and all before it may go, with no walk of the kept chains.
 * Those are written into `into` when given.
 */
export function removableAfter(
  checkpoints: readonly StoredCheckpoint[],
  keep: number,
  newest: Readonly<ChainWalk>,
  into?: StoredCheckpoint[],
): readonly StoredCheckpoint[] {
  const n = checkpoints.length;
  if (!(newest.contiguous && newest.startIndex === n - 1 && newest.links >= Math.max(1, keep)))
    return removable(checkpoints, keep);
  if (newest.links === n) return NONE;
  if (into === undefined) return checkpoints.slice(0, n - newest.links);
  // The caller's list, rewritten (the loop's: a new one per checkpoint was garbage). Written by index, then cut
  // to length (by popping: see truncate): emptied first, V8 would drop its storage and allocate it again.
  const count = n - newest.links;
  for (let i = 0; i < count; i++) into[i] = at(checkpoints, i);
  truncate(into, count);
  return into;
}

/** Removes the doomed checkpoints from a list (which holds each once), in place (the loop's own list: a new one per checkpoint was garbage). */
export function removeInPlace(stored: StoredCheckpoint[], doomed: readonly StoredCheckpoint[]): void {
  // Most often they are the list's first ones (dropPrefix). Else removable() lists them in the list's own order
  // (when it is in seq order, as the loop's is): one pass then, each doomed checkpoint met in turn; otherwise a
  // search of the doomed for each checkpoint.
  if (dropPrefix(stored, doomed)) return;
  const inOrder = isSubsequence(doomed, stored);
  let kept = 0;
  let next = 0;
  for (let i = 0; i < stored.length; i++) {
    const c = stored[i];
    if (c === undefined) continue;
    if (inOrder ? doomed[next] === c : doomed.includes(c)) next += 1;
    else stored[kept++] = c;
  }
  truncate(stored, kept);
}

// Whether every item of part appears in whole, in the same order.
function isSubsequence<T>(part: readonly T[], whole: readonly T[]): boolean {
  let next = 0;
  for (let i = 0; i < whole.length && next < part.length; i++) if (whole[i] === part[next]) next += 1;
  return next === part.length;
}

/** Replaces the checkpoint of the same seq by its compacted form (a base), in place (the loop's own list). */
export function replaceCompacted(stored: StoredCheckpoint[], compacted: StoredCheckpoint): void {
  for (let i = 0; i < stored.length; i++) if (stored[i]?.seq === compacted.seq) stored[i] = compacted;
}

// What removable() answers most of the time: one frozen empty list, not a new one per checkpoint.
const NONE: readonly StoredCheckpoint[] = Object.freeze([]);

// At least n flags, the first n zeroed, reused from call to call: a fresh typed array per checkpoint was one of
// the costliest allocations of a simulated checkpoint. Single-threaded use only, never kept past a call.
let flags = new Uint8Array(64);
function scratch(n: number): Uint8Array {
  if (flags.length < n) flags = new Uint8Array(Math.max(n, 2 * flags.length));
  flags.fill(0, 0, n);
  return flags;
}
