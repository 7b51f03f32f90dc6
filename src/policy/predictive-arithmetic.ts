// The arithmetic of the predictive rule (predictive-decider.ts): the size it aims at, its window of log rates
// and their mean, the interval that suits two rates at once, and the working set's test. Pure, but for the
// window, which the decider rewrites in place.

import type { Band } from '../model/policy.js';
import type { TargetRule } from './defaults.js';

/** The size to aim at: geometric middle (arithmetic when lmin is 0, where the geometric one is 0). */
export function targetBytes(band: Band, rule: TargetRule): number {
  if (rule === 'geometric' && band.lminBytes > 0) return Math.sqrt(band.lminBytes * band.lmaxBytes);
  return rule === 'geometric' ? band.lmaxBytes / 2 : (band.lminBytes + band.lmaxBytes) / 2;
}

/**
 * The interval that keeps the sizes predicted from both rates within [lowBytes, highBytes] (the geometric
 * middle of the intervals that do), if there is one.
 */
export function hedgeMs(
  before: number,
  after: number,
  lowBytes: number,
  highBytes: number,
  pageSize: number,
): { ms: number; lowBytes: number; highBytes: number } | undefined {
  const fromMs = lowBytes / (Math.min(before, after) * pageSize);
  const toMs = highBytes / (Math.max(before, after) * pageSize);
  return fromMs <= toMs ? { ms: Math.sqrt(fromMs * toMs), lowBytes, highBytes } : undefined;
}

/**
 * Log rates, oldest first, in a typed array rewritten in place: the estimate's window, or the rates kept
 * while a rise waits to be confirmed. Sums run oldest first, as a plain array's would: the same bits.
 */
export class RateWindow {
  // A ring whose values are written twice, at i and at i + capacity, so that the window from its oldest value
  // is always one run [#head, #head + #count) and its sums a plain loop: a full window drops its oldest value by
  // moving #head, not by shifting the others (an index loop over the 8 values of the default window at nearly
  // every decision, ~150 instructions with its call; a plain array's copyWithin took the generic path, a typed
  // array's is a call into C++).
  readonly #values: Float64Array;
  readonly #capacity: number;
  /** Where the oldest value is (< capacity). */
  #head = 0;
  #count = 0;
  // The mean, taken as the values change (once per decision, in push(), a call that returns nothing) and read as
  // a field: a decision asks for the window's mean before its push and after it, and the one before is the one
  // after the previous decision's push (~70 instructions of a simulated checkpoint's ~10 k). Computed out of the
  // caller, a mean returned from a call V8 leaves out of line is a new heap number. Same sum, same order, same bits.
  #mean = Number.NaN;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
    this.#values = new Float64Array(2 * this.#capacity);
  }

  get count(): number {
    return this.#count;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The newest value (NaN when there is none). */
  get newest(): number {
    return this.#count === 0 ? Number.NaN : this.#at(this.#count - 1);
  }

  /** Holds these values (the window's capacity must hold them). */
  load(values: readonly number[]): void {
    this.#values.set(values);
    this.#values.set(values, this.#capacity);
    this.#head = 0;
    this.#count = values.length;
    this.#takeMean();
  }

  /** Holds value alone. */
  only(value: number): void {
    this.#values[0] = value;
    this.#values[this.#capacity] = value;
    this.#head = 0;
    this.#count = 1;
    this.#takeMean();
  }

  /** Keeps the newest `window` of the values followed by value (window ≤ capacity). */
  push(value: number, window: number): void {
    const capacity = this.#capacity;
    const drop = Math.max(0, this.#count + 1 - window);
    const head = this.#head + drop;
    this.#head = head >= capacity ? head - capacity : head;
    this.#count -= drop;
    const end = this.#head + this.#count;
    const at = end >= capacity ? end - capacity : end;
    this.#values[at] = value;
    this.#values[at + capacity] = value;
    this.#count += 1;
    this.#takeMean();
  }

  mean(): number {
    return this.#mean;
  }

  toArray(): number[] {
    // An index loop: Array.from over a subarray went through the iterator protocol (the pure decide() calls
    // this twice per decision).
    const out = new Array<number>(this.#count);
    for (let i = 0; i < this.#count; i++) out[i] = this.#at(i);
    return out;
  }

  // The values' mean, oldest first (NaN when there are none).
  #takeMean(): void {
    let sum = 0;
    for (let i = 0; i < this.#count; i++) sum += this.#at(i);
    this.#mean = sum / this.#count;
  }

  // The i-th value from the oldest (i < count ≤ capacity), read in the loops that decide millions of times.
  #at(i: number): number {
    // oxlint-disable-next-line typescript/no-non-null-assertion
    return this.#values[this.#head + i]!;
  }
}

/** Page counts within this ratio of each other are "the same size" for the saturation test. */
export const SAME_SIZE = 1.1;

/**
 * Step 3's bookkeeping: the working set after an observation (elapsed ms, pages), given the two before it;
 * NaN for none (a number, not null: see the decider's Memory). Saturation needs three sizes in a row within
 * ×1.1 while the elapsed time grew by ≥ ×change²: two alone are also what a fall of the rate by the factor the
 * interval grew looks like (the first interval after a step down).
 */
export function workingSetAfter(
  seen: {
    workingSetPages: number;
    olderMs: number;
    olderPages: number;
    newerMs: number;
    newerPages: number;
  },
  elapsedMs: number,
  pages: number,
  change: number,
): number {
  let known = seen.workingSetPages;
  if (!Number.isNaN(known) && pages > known * SAME_SIZE) known = Number.NaN; // the working set grew
  const { olderMs, olderPages, newerMs, newerPages } = seen;
  if (Number.isNaN(olderMs) || Number.isNaN(newerMs) || !(pages > 0)) return known;
  const largest = Math.max(olderPages, newerPages, pages);
  const flat = largest <= Math.min(olderPages, newerPages, pages) * SAME_SIZE;
  if (flat && olderMs < newerMs && newerMs < elapsedMs && elapsedMs >= olderMs * change ** 2) known = largest;
  return known;
}
