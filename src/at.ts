// Indexing where the caller knows the index is in range, checked anyway: with noUncheckedIndexedAccess,
// `values[i]` is `T | undefined`, and a wrong index here is a bug, said as one (which index, which range)
// rather than an undefined that surfaces later as a NaN in a table or a TypeError somewhere else.

/** values[i]; a RangeError naming the index and the range when there is no element there. */
export function at<T>(values: ArrayLike<T>, i: number): T {
  const value = values[i];
  if (value === undefined) throw new RangeError(`index ${i} outside 0..${values.length - 1}`);
  return value;
}
