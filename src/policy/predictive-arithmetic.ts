// The arithmetic of the predictive rule (predictive.ts): its window of log rates, their mean, the interval
// that suits two rates at once, and the working set's test. Pure.

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

/** The newest `window` of values followed by value, in one new array. */
export function appended(values: readonly number[], value: number, window: number): number[] {
  const from = Math.max(0, values.length + 1 - window);
  // Made at its size: slice then push made two arrays (push outgrows what slice allocates).
  const out = new Array<number>(values.length - from + 1);
  for (let i = from; i < values.length; i++) {
    // An index loop (i < values.length: in range), run twice per decision: for-of cost an iterator step per value.
    // oxlint-disable-next-line typescript/no-non-null-assertion
    out[i - from] = values[i]!;
  }
  out[out.length - 1] = value;
  return out;
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  // As in appended: an index loop, in range by its bound.
  // oxlint-disable-next-line typescript/no-non-null-assertion
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** Page counts within this ratio of each other are "the same size" for the saturation test. */
export const SAME_SIZE = 1.1;

/**
 * Step 3's bookkeeping: the working set after an observation (elapsed ms, pages), given the two before it.
 * Saturation needs three sizes in a row within ×1.1 while the elapsed time grew by ≥ ×change²: two alone are
 * also what a fall of the rate by the factor the interval grew looks like (the first interval after a step down).
 */
export function workingSetAfter(
  seen: {
    workingSetPages: number | null;
    olderMs: number;
    olderPages: number;
    newerMs: number;
    newerPages: number;
  },
  elapsedMs: number,
  pages: number,
  change: number,
): number | null {
  let known = seen.workingSetPages;
  if (known !== null && pages > known * SAME_SIZE) known = null; // the working set grew
  const { olderMs, olderPages, newerMs, newerPages } = seen;
  if (Number.isNaN(olderMs) || Number.isNaN(newerMs) || !(pages > 0)) return known;
  const largest = Math.max(olderPages, newerPages, pages);
  const flat = largest <= Math.min(olderPages, newerPages, pages) * SAME_SIZE;
  if (flat && olderMs < newerMs && newerMs < elapsedMs && elapsedMs >= olderMs * change ** 2) known = largest;
  return known;
}
