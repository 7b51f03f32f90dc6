// The arithmetic of the predictive rule (predictive.ts): its window of log rates, their mean, and the interval
// that suits two rates at once. Pure.

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
  for (let i = from; i < values.length; i++) out[i - from] = values[i]!;
  out[out.length - 1] = value;
  return out;
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
