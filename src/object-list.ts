// Lists of objects that V8 holds as lists of objects from the start. An empty array literal starts out as a
// list of small integers; its first object moves it to another elements kind, and code optimized on the
// lists of an earlier run (already of objects) is thrown away when that first push comes ("not a Smi"
// deopts). The simulator makes new lists for every run: each run then re-optimized its loop, and ran its first
// ~50 k checkpoints at a third to a half of the speed of later ones.

import { at } from './at.js';

/** A new array holding items (none by default), already of the elements kind for objects. */
export function objectList<T extends object>(items: readonly T[] = []): T[] {
  const list: T[] = [];
  // An object stored and removed: the array keeps the kind that object gave it.
  const widened: object[] = list;
  widened.push(OBJECT);
  widened.pop();
  for (const item of items) list.push(item);
  return list;
}

const OBJECT = Object.freeze({});

/**
 * Cuts a list to its first n items (n ≤ its length) by popping: `list.length = n` is a call into V8's runtime
 * from optimized code (its setter, ~280 instructions), where a pop is a few. The loop's lists lose a handful at
 * a time, about one cut in four simulated checkpoints (three lists), ~70 instructions of each.
 */
export function truncate(list: unknown[], n: number): void {
  while (list.length > n) list.pop();
}

/**
 * Removes `items` from the front of `list`, in place, when they are its first entries (the same objects, in
 * order): the rest moves down and the list is cut (truncate). Returns false, having changed nothing, otherwise.
 * Retention deletes the oldest checkpoints, the first of the lists the loop and the model keep (~13 at a time
 * after each merge of a simulated chain): this takes no seq comparisons and no search.
 */
export function dropPrefix<T extends object>(list: T[], items: readonly T[]): boolean {
  const n = items.length;
  if (n > list.length) return false;
  for (let i = 0; i < n; i++) if (list[i] !== items[i]) return false;
  for (let i = n; i < list.length; i++) list[i - n] = at(list, i);
  truncate(list, list.length - n);
  return true;
}
