import type { RunSummary } from '../loop/summary.js';
import type { PolicyScore } from '../sim/scorecard.js';
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

/**
 * The "back in band" cell of compare and score: mean and worst number of checkpoints after a step of the
 * rate until the size was in band again, over the steps that came back; then the steps that did not (still
 * out at the next step, or when the run ended: "not back: 1 before the end"). "no step" when the workload (or
 * trace) had no step of ×2 or more that a checkpoint saw.
 */
export function backInBandCell(score: PolicyScore): string {
  const { steps, backInBand: b } = score;
  if (steps === 0) return 'no step';
  const missed = [b.never > 0 ? `${b.never} before the next step` : '', b.atEnd > 0 ? `${b.atEnd} before the end` : '']
    .filter((part) => part !== '')
    .join(', ');
  const back = steps - b.never - b.atEnd;
  if (back === 0) return `not back: ${missed}`;
  return `${b.mean.toFixed(2)}, max ${b.max}${missed === '' ? '' : `; not back: ${missed}`}`;
}
