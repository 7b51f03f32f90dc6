// Records (real or simulated, read by src/loop/record-reader.ts) as the rows a plot needs, each with the
// band its decision was taken against: the record's own (schema 2), so a reload that changed the band
// mid-run is drawn as it was, or one given band for every record (--config, an explicit override).

import type { ReadRecord } from '../loop/record-reader.js';
import type { Band } from '../model/policy.js';

/** One checkpoint on the plot. */
export interface PlotPoint {
  seq: number;
  /** Seconds since the first record's start. */
  t: number;
  intervalMs: number;
  nextIntervalMs: number;
  sizeBytes: number;
  sizeMiB: number;
  decision: string;
  /** The first checkpoint of a chain: a full dump, not a dirty set. */
  chainStart: boolean;
  /** The band this checkpoint's decision was taken against. */
  band: Band;
}

/**
 * The records as plot rows (time from the first record's start), against their own bands or `override`.
 * Throws a RangeError when there are none, or when a record carries no band (schema 1) and there is no override.
 */
export function plotPoints(records: readonly ReadRecord[], source: string, override?: Band): PlotPoint[] {
  const first = records[0];
  if (first === undefined) throw new RangeError(`${source}: no records to plot`);
  const origin = first.startMs;
  return records.map((r) => {
    const band = override ?? r.band;
    if (band === undefined) {
      throw new RangeError(
        `${r.where}: the record carries no band (records before schema 2); name the run's config with --config FILE to draw its band`,
      );
    }
    return {
      seq: r.seq,
      t: (r.startMs - origin) / 1000,
      intervalMs: r.intervalMs,
      nextIntervalMs: r.nextIntervalMs,
      sizeBytes: r.sizeBytes,
      sizeMiB: r.sizeBytes / 2 ** 20,
      decision: r.decision ?? 'unknown',
      chainStart: r.chainStart,
      band,
    };
  });
}

/** The distinct bands of the points, in the order they first appear (one for a run no reload changed). */
export function bandsOf(points: readonly PlotPoint[]): Band[] {
  const bands: Band[] = [];
  for (const { band } of points) if (!bands.some((b) => sameBand(b, band))) bands.push(band);
  return bands;
}

function sameBand(a: Band, b: Band): boolean {
  return a.lminBytes === b.lminBytes && a.lmaxBytes === b.lmaxBytes && a.minMs === b.minMs && a.maxMs === b.maxMs;
}
