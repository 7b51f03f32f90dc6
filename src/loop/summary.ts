import { mean, median, quantile } from 'simple-statistics';
import type { Band } from '../model/policy.js';
import type { CheckpointRecord } from '../model/record.js';
import { inBand } from './status-line.js';

/** What a run of checkpoints amounted to: the numbers a researcher compares policies by. */
export interface RunSummary {
  checkpoints: number;
  inBandShare: number;
  overruns: number;
  intervalMs: { mean: number; min: number; max: number };
  sizeBytes: { median: number; p90: number; max: number };
  frozenMs: { median: number; p90: number; max: number };
  criuWallMs: { median: number };
  supervisorOverheadMs: { median: number; max: number };
}

/** Summarizes records against the band (undefined when there are none). */
export function summarize(records: readonly CheckpointRecord[], band: Band): RunSummary | undefined {
  if (records.length === 0) return undefined;
  const intervals = records.map((r) => r.interval_ms);
  const sizes = records.map((r) => r.size_bytes);
  const frozen = records.map((r) => r.frozen_us / 1000);
  const overhead = records.map((r) => r.supervisor_overhead_ms);
  return {
    checkpoints: records.length,
    inBandShare: records.filter((r) => inBand(r.size_bytes, band)).length / records.length,
    overruns: records.filter((r) => r.overrun).length,
    intervalMs: { mean: mean(intervals), min: Math.min(...intervals), max: Math.max(...intervals) },
    sizeBytes: { median: median(sizes), p90: quantile(sizes, 0.9), max: Math.max(...sizes) },
    frozenMs: { median: median(frozen), p90: quantile(frozen, 0.9), max: Math.max(...frozen) },
    criuWallMs: { median: median(records.map((r) => r.criu_wall_ms)) },
    supervisorOverheadMs: { median: median(overhead), max: Math.max(...overhead) },
  };
}
