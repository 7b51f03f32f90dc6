// Hold-time histograms, as the TUN gate helper reports them (src/gate/tun-store.c, hist_count): log-linear
// buckets of microseconds, 16 per power of two, so a quantile read from them is within 1/16 (6 %) of the
// true value. Bucket i < 16 holds exactly i µs; above, bucket 16 + (e-4)·16 + m holds [(16+m)·2^(e-4), +2^(e-4)).

/** Number of buckets (the helper clamps larger holds into the last one: about 2^37 µs, 38 hours). */
export const HOLD_BUCKETS = 544;

/** Counts per bucket index; sparse. */
export type HoldHistogram = Map<number, number>;

/** The bucket a hold of `us` microseconds falls into (the helper's formula, for tests and the plug gate). */
export function bucketOf(us: number): number {
  const v = Math.max(0, Math.floor(us));
  if (v < 16) return v;
  const e = Math.floor(Math.log2(v));
  const index = 16 + (e - 4) * 16 + (Math.floor(v / 2 ** (e - 4)) - 16);
  return Math.min(index, HOLD_BUCKETS - 1);
}

/** The range [low, high) of microseconds bucket `index` holds. */
export function bucketRange(index: number): { low: number; high: number } {
  if (index < 16) return { low: index, high: index + 1 };
  const e = 4 + Math.floor((index - 16) / 16);
  const m = (index - 16) % 16;
  const width = 2 ** (e - 4);
  return { low: (16 + m) * width, high: (17 + m) * width };
}

/** Parses the helper's "idx:count,idx:count" (or "-") text; throws on anything else. */
export function parseHistogram(text: string): HoldHistogram {
  const histogram: HoldHistogram = new Map();
  if (text === '-') return histogram;
  for (const pair of text.split(',')) {
    const match = /^(\d{1,4}):(\d{1,10})$/.exec(pair);
    const index = Number(match?.[1]);
    if (match === null || index >= HOLD_BUCKETS) throw new Error(`bad histogram entry ${JSON.stringify(pair)}`);
    histogram.set(index, (histogram.get(index) ?? 0) + Number(match[2]));
  }
  return histogram;
}

/** Adds `from` into `into`. */
export function mergeInto(into: HoldHistogram, from: HoldHistogram): void {
  for (const [index, count] of from) into.set(index, (into.get(index) ?? 0) + count);
}

/** Total count. */
export function countOf(histogram: HoldHistogram): number {
  let total = 0;
  for (const count of histogram.values()) total += count;
  return total;
}

/** The q-quantile in milliseconds (bucket midpoint), or undefined for an empty histogram. */
export function quantileMs(histogram: HoldHistogram, q: number): number | undefined {
  const total = countOf(histogram);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [index, count] of [...histogram.entries()].sort(([a], [b]) => a - b)) {
    seen += count;
    if (seen >= rank) {
      const { low, high } = bucketRange(index);
      return (low + high) / 2 / 1000;
    }
  }
  return undefined;
}
