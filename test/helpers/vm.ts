import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointRecord } from '../../src/model/record.js';
import type { Progress } from '../../src/workload/progress.js';

// Shared by the test/vm/ files, which run only inside the soft-dirty VM (npm run test:vm).

/** Throws unless this process runs inside the soft-dirty VM: scripts/vm/run.sh sets REMUSD_VM=1 there. */
export function requireVm(): void {
  if (process.env.REMUSD_VM !== '1') {
    throw new Error(
      'test/vm/ tests run only inside the soft-dirty VM (REMUSD_VM=1 is not set here): they need a kernel with ' +
        'CONFIG_MEM_SOFT_DIRTY, which this machine lacks. Run them with `npm run test:vm`.',
    );
  }
}

export { readRecords } from './records.js';

// Pages a dump writes besides the dirtier's buffer: its stack, libc's data, the vDSO data... (the first
// pre-dump in the VM: 12315 pages for a 12288-page buffer).
export const RUNTIME_PAGES = 64;

/** The longest the freeze can have come after the record's start: CRIU froze the task, then still ran frozen_us. */
export function freezeDelayMaxMs(record: CheckpointRecord): number {
  return record.criu_wall_ms + record.supervisor_overhead_ms - record.frozen_us / 1000;
}

/** Wall-clock start of a record, ms since the epoch. */
export function startMs(record: CheckpointRecord): number {
  return Date.parse(record.start);
}

/**
 * The workload's write counter at a wall-clock time, interpolated between its progress lines. The dirtier
 * paces its writes by wall time (it catches up after a freeze), so the counter is linear between reports.
 */
export function writesAt(progress: readonly Progress[], realMs: number): number {
  const first = progress[0];
  if (first === undefined) throw new Error('the workload reported no progress');
  if (realMs <= first.realMs) return first.writes;
  for (let i = 1; i < progress.length; i++) {
    const a = progress[i - 1]!;
    const b = progress[i]!;
    if (realMs <= b.realMs)
      return a.writes + ((b.writes - a.writes) * (realMs - a.realMs)) / Math.max(b.realMs - a.realMs, 1e-9);
  }
  throw new Error(`no progress line after ${new Date(realMs).toISOString()}: read the output after the run`);
}

/** The phase indexes the workload reported during [fromMs, toMs] (one index: the window lies in one phase). */
export function phasesDuring(progress: readonly Progress[], fromMs: number, toMs: number): number[] {
  const inside = progress.filter((p) => p.realMs >= fromMs && p.realMs <= toMs).map((p) => p.phase);
  const before = progress.filter((p) => p.realMs < fromMs).at(-1);
  const after = progress.find((p) => p.realMs > toMs);
  return [...new Set([before?.phase, ...inside, after?.phase].filter((phase): phase is number => phase !== undefined))];
}

/** A plain-text table: the header, then one row per line, columns right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => row.map((cell, i) => cell.padStart(widths[i]!)).join('  ')).join('\n');
}

/** The middle value (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Keeps a file of a test's results in the --share directory that scripts/vm/run-tests.mjs passes as
 * REMUSD_VM_RESULTS (on the host after the VM is gone); does nothing without it.
 */
export async function keepResult(name: string, content: string): Promise<void> {
  const dir = process.env.REMUSD_VM_RESULTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), content);
}
