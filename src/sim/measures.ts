// The measures a simulated run is reported by, one list for every output (compare's spread table, its
// --json and --csv, simulate's --csv), and their spread across seeds (pure).
//
//   in_band_share        share of measured checkpoints in band (the scorecard's: no chain starts, no warm-up)
//   back_in_band_mean    checkpoints until back in band after a step of the rate (none when no step happened)
//   reversal_share       moves opposite to the previous move, as a share of decisions
//   overruns_per_run     checkpoints that took longer than their interval, per run
//   checkpoints_per_run  checkpoints per run
//   interval_mean_ms     mean interval
//   size_median_bytes, size_p90_bytes    checkpoint size
//   frozen_median_ms     time the workload was frozen per checkpoint
//   frozen_share         frozen time / run time
//   chain_starts_per_run     checkpoints that started a chain (full size), per run
//   stored_bytes_per_min     bytes the checkpoints stored (= what ship sends) per minute of run
//   compaction_bytes_per_min bytes compaction wrote locally per minute (never frozen, never shipped)
//
// Spread: each seed's run gives one value per measure; the median, p10 and p90 of those values are
// simple-statistics' quantiles (linear interpolation between order statistics: R's type 7, numpy's default).
// A seed whose run has no value for a measure (no step of the rate, no checkpoint) is left out of that
// measure, and `n` says how many seeds counted.

import { quantileSorted } from 'simple-statistics';
import type { PolicyScore } from './scorecard.js';
import type { SimSummary } from './summary.js';

/** What a measure is counted in, for formatting: a share (0..1), a count, ms or bytes. */
export type MeasureUnit = 'share' | 'count' | 'ms' | 'bytes';

/** One or more runs of one policy, as the measures read them. */
export interface RunResult {
  summary: SimSummary | undefined;
  score: PolicyScore;
  /** How many runs were pooled into summary and score. */
  runs: number;
}

interface Measure {
  name: string;
  unit: MeasureUnit;
  /** The value, or undefined where the runs have none. */
  of(result: RunResult): number | undefined;
}

const finite = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? undefined : v);

/** Every measure, in report order. */
export const MEASURES: readonly Measure[] = [
  { name: 'in_band_share', unit: 'share', of: ({ score }) => finite(score.inBandShare) },
  {
    name: 'back_in_band_mean',
    unit: 'count',
    of: ({ score }) => (score.steps === 0 ? undefined : finite(score.backInBand.mean)),
  },
  {
    name: 'reversal_share',
    unit: 'share',
    of: ({ score }) => (score.decisions === 0 ? undefined : score.reversalShare),
  },
  { name: 'overruns_per_run', unit: 'count', of: ({ score, runs }) => score.overruns / runs },
  { name: 'checkpoints_per_run', unit: 'count', of: ({ summary, runs }) => (summary?.checkpoints ?? 0) / runs },
  { name: 'interval_mean_ms', unit: 'ms', of: ({ summary }) => summary?.intervalMs.mean },
  { name: 'size_median_bytes', unit: 'bytes', of: ({ summary }) => summary?.sizeBytes.median },
  { name: 'size_p90_bytes', unit: 'bytes', of: ({ summary }) => summary?.sizeBytes.p90 },
  { name: 'frozen_median_ms', unit: 'ms', of: ({ summary }) => summary?.frozenMs.median },
  { name: 'frozen_share', unit: 'share', of: ({ summary }) => summary?.frozenShare },
  { name: 'chain_starts_per_run', unit: 'count', of: ({ summary, runs }) => (summary?.chainStarts ?? 0) / runs },
  { name: 'stored_bytes_per_min', unit: 'bytes', of: ({ summary }) => summary?.storedBytesPerMin },
  { name: 'compaction_bytes_per_min', unit: 'bytes', of: ({ summary }) => summary?.compactionBytesPerMin },
];

/** The spread of one measure across seeds. */
export interface Spread {
  median: number;
  p10: number;
  p90: number;
  /** Seeds that had a value. */
  n: number;
}

/** Median, p10 and p90 of the values; null when there are none. */
export function spreadOf(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantileSorted(sorted, 0.5),
    p10: quantileSorted(sorted, 0.1),
    p90: quantileSorted(sorted, 0.9),
    n: sorted.length,
  };
}

/** Each measure's spread over the per-seed results (one run each), by measure name. */
export function spreadAcrossSeeds(perSeed: readonly RunResult[]): Record<string, Spread | null> {
  const spread: Record<string, Spread | null> = {};
  for (const measure of MEASURES) {
    spread[measure.name] = spreadOf(
      perSeed.flatMap((result) => {
        const value = measure.of(result);
        return value === undefined ? [] : [value];
      }),
    );
  }
  return spread;
}
