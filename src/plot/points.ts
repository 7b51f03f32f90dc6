// Records (real or simulated, read by src/loop/record-reader.ts) as the rows a plot needs.

import type { ReadRecord } from '../loop/record-reader.js';

/** One checkpoint on the plot. */
export interface PlotPoint {
  seq: number;
  /** Seconds since the first record's start. */
  t: number;
  intervalMs: number;
  nextIntervalMs: number;
  sizeMiB: number;
  decision: string;
  /** The first checkpoint of a chain: a full dump, not a dirty set. */
  chainStart: boolean;
}

/** The records as plot rows (time from the first record's start); throws a RangeError when there are none. */
export function plotPoints(records: readonly ReadRecord[], source: string): PlotPoint[] {
  if (records.length === 0) throw new RangeError(`${source}: no records to plot`);
  const origin = records[0]!.startMs;
  return records.map((r) => ({
    seq: r.seq,
    t: (r.startMs - origin) / 1000,
    intervalMs: r.intervalMs,
    nextIntervalMs: r.nextIntervalMs,
    sizeMiB: r.sizeBytes / 2 ** 20,
    decision: r.decision ?? 'unknown',
    chainStart: r.chainStart,
  }));
}
