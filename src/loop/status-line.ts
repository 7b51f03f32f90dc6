import { formatBytes } from '../units/units.js';
import type { Band } from '../model/policy.js';
import type { CheckpointRecord } from '../model/record.js';

/** Running totals for the live status line. */
export interface StatusTally {
  checkpoints: number;
  inBand: number;
}

/** One line: current interval, last size against the band, share of checkpoints in band, frozen time. */
export function statusLine(record: CheckpointRecord, band: Band, tally: StatusTally): string {
  const where =
    record.size_bytes > band.lmaxBytes ? '> lmax' : record.size_bytes < band.lminBytes ? '< lmin' : 'in band';
  const share = tally.checkpoints === 0 ? 0 : (100 * tally.inBand) / tally.checkpoints;
  return (
    `#${record.seq} ${record.mode}  interval ${record.interval_ms.toFixed(0)}→${record.next_interval_ms.toFixed(0)} ms  ` +
    `size ${formatBytes(record.size_bytes)} ${where} [${formatBytes(band.lminBytes)}, ${formatBytes(band.lmaxBytes)}]  ` +
    `in band ${share.toFixed(0)}% of ${tally.checkpoints}  frozen ${(record.frozen_us / 1000).toFixed(1)} ms` +
    outputPart(record) +
    (record.overrun ? '  OVERRUN' : '')
  );
}

/** Whether a size lies in the band (edges included). */
export function inBand(sizeBytes: number, band: Band): boolean {
  return sizeBytes >= band.lminBytes && sizeBytes <= band.lmaxBytes;
}

// Output commit: the latency the held epoch added for clients (packets released since the previous line).
function outputPart(record: CheckpointRecord): string {
  if (typeof record.output_packets !== 'number') return '';
  const p50 = record.hold_p50_ms;
  const p99 = record.hold_p99_ms;
  const latency =
    typeof p50 === 'number' && typeof p99 === 'number'
      ? `  added latency p50 ${p50.toFixed(0)} p99 ${p99.toFixed(0)} ms`
      : '';
  // Loud: output is going out without the backup's ack (output_commit.degrade_after).
  const degraded = record.degraded === true ? "  DEGRADED (unprotected: released without the backup's ack)" : '';
  // Pacing: the checkpoint started late because the backup had not acknowledged the one before last.
  const paced =
    typeof record.paced_ms === 'number' && record.paced_ms >= 1 ? `  paced ${record.paced_ms.toFixed(0)} ms` : '';
  return `  held ${record.output_packets} pkts${latency}${paced}${degraded}`;
}
