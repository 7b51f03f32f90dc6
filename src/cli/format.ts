import type { RunSummary } from '../loop/summary.js';
import { formatBytes, formatMs } from '../units/units.js';

/** Left-aligned two-column text table, for human output. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** The rows `remusd demo` and `remusd simulate` both start their summary with. */
export function runSummaryRows(summary: RunSummary): string[][] {
  const { intervalMs, sizeBytes } = summary;
  return [
    ['checkpoints', `${summary.checkpoints} (${summary.overruns} overran their interval)`],
    ['in band', `${(summary.inBandShare * 100).toFixed(0)}% of checkpoints`],
    ['interval', `mean ${formatMs(intervalMs.mean)}, from ${formatMs(intervalMs.min)} to ${formatMs(intervalMs.max)}`],
    [
      'size',
      `median ${formatBytes(sizeBytes.median)}, p90 ${formatBytes(sizeBytes.p90)}, max ${formatBytes(sizeBytes.max)}`,
    ],
  ];
}
