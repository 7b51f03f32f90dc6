// `remusd plot --csv`: the data behind the figure, one row per checkpoint (pure). Columns:
//
//   seq            the record's sequence number
//   t_s            seconds since the first record's start (the x axis)
//   start          the record's wall-clock start, ISO 8601 (the virtual clock's, from 1970, for mode sim)
//   mode           pre-dump, dump, full, delta or sim
//   policy         the policy kind that decided (empty for records before schema 2)
//   decision       shrink, hold or grow (empty when the record has none)
//   chain_start    true for a chain's first checkpoint (a full dump: its size is no dirty set)
//   interval_ms    the interval that ran up to this checkpoint
//   next_interval_ms  the interval decided after it
//   size_bytes     what the checkpoint stored
//   lmin_bytes, lmax_bytes, min_ms, max_ms   the band drawn for it (the record's own, or --config's)
//   in_band        size_bytes within [lmin_bytes, lmax_bytes]

import type { ReadRecord } from '../loop/record-reader.js';
import { inBand } from '../loop/status-line.js';
import type { PlotPoint } from './points.js';

export const PLOT_CSV_COLUMNS = [
  'seq',
  't_s',
  'start',
  'mode',
  'policy',
  'decision',
  'chain_start',
  'interval_ms',
  'next_interval_ms',
  'size_bytes',
  'lmin_bytes',
  'lmax_bytes',
  'min_ms',
  'max_ms',
  'in_band',
] as const;

/** One row per plotted checkpoint (points[i] is records[i]), in PLOT_CSV_COLUMNS order. */
export function plotCsvRows(
  records: readonly ReadRecord[],
  points: readonly PlotPoint[],
): (string | number | boolean | undefined)[][] {
  return points.map((p, i) => {
    const r = records[i];
    if (r === undefined)
      throw new RangeError(`plot point ${i} has no record (${points.length} points, ${records.length} records)`);
    const { band } = p;
    return [
      p.seq,
      p.t,
      new Date(r.startMs).toISOString(),
      r.mode,
      r.policy,
      r.decision,
      p.chainStart,
      p.intervalMs,
      p.nextIntervalMs,
      p.sizeBytes,
      band.lminBytes,
      band.lmaxBytes,
      band.minMs,
      band.maxMs,
      inBand(p.sizeBytes, band),
    ];
  });
}
