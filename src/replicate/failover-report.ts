// failover.json: what a backup directory says about the failover made from it. It decides "at most once"
// across restarts (a backup started with --failover-after refuses a directory whose failover.json records a
// restore), so a file that cannot be read is never taken for "no failover yet": that would arm a second
// restore of a workload that may be running already (a split brain).

import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomically } from '../fs/atomic-file.js';
import { errorMessage } from '../fs/error-code.js';
import { FileReadError, readRegularFile } from '../fs/regular-file.js';
import { describeFirstIssue } from './messages.js';
import type { FailoverResult } from './failover.js';
import type { RestoredNetwork } from './restore-network.js';
import type { FailoverReason } from './trigger.js';

/** The report's name in the backup directory. */
export const FAILOVER_REPORT = 'failover.json';

/** failover.json, written in the backup directory after a failover (restored or not). */
export interface FailoverReport {
  ok: boolean;
  /** What started it: a trigger of the automatic failover, or `remusd failover` run by hand. */
  reason: FailoverReason | 'manual';
  /** Why, in words: who reported what, or how long the silence lasted. */
  message: string;
  /** For reason silence: how long nothing had been heard when it fired. */
  silent_ms?: number;
  triggered_at: string;
  /** The run restored from, and why that one (the newest by the primary's clock, or the only one). */
  run?: string;
  run_reason?: string;
  checkpoint?: string;
  chain_length?: number;
  pid?: number;
  /** From the trigger to the restored process running (waiting for a transfer in flight included). */
  trigger_to_restored_ms?: number;
  /** Verifying the chain before the restore (every file hashed again against its manifest). */
  verify_ms?: number;
  /** criu restore's own wall time. */
  restore_ms?: number;
  /** With a network section: the namespace restored into, and how long moving the route took. */
  network?: RestoredNetwork;
  restored_at?: string;
  skipped?: FailoverResult['skipped'];
  /** When ok is false: what went wrong (CRIU's log tail included). */
  error?: string;
  /** The restore was refused on purpose: the primary released output newer than the newest checkpoint here. */
  refused?: 'stale-checkpoint';
}

// What is read back from an earlier failover.json: the fields that decide and describe "failed over already".
// Checked, not cast: the file is on disk between runs, and anything may have written it since.
const previousFailoverSchema = z.object({
  ok: z.boolean(),
  reason: z.string(),
  checkpoint: z.string().optional(),
  pid: z.number().optional(),
  restored_at: z.string().optional(),
});

/** What an earlier failover's failover.json says about itself. */
export type PreviousFailover = z.infer<typeof previousFailoverSchema>;

/** A failover.json with a CRIU log tail is a few KiB; anything past this is not one. */
const REPORT_MAX_BYTES = 1 << 20;

/** What dir says about an earlier failover: none (no failover.json), its report, or why it cannot be read. */
export type PreviousFailoverState =
  | { state: 'none' }
  | { state: 'recorded'; report: PreviousFailover }
  | { state: 'unreadable'; path: string; problem: string };

/** Reads dir's failover.json; only a missing file means "no earlier failover". */
export async function previousFailover(dir: string): Promise<PreviousFailoverState> {
  const path = join(dir, FAILOVER_REPORT);
  const expected = 'a JSON object with at least "ok" (boolean) and "reason" (string), as remusd writes it';
  let text: string;
  try {
    text = (await readRegularFile(path, REPORT_MAX_BYTES)).toString('utf8');
  } catch (error) {
    if (error instanceof FileReadError && error.code === 'ENOENT') return { state: 'none' };
    const why = error instanceof FileReadError ? error.reason : `cannot be read (${errorMessage(error)})`;
    return { state: 'unreadable', path, problem: `${path} ${why}; expected ${expected}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { state: 'unreadable', path, problem: `${path} is not JSON (${errorMessage(error)}); expected ${expected}` };
  }
  const parsed = previousFailoverSchema.safeParse(value);
  if (!parsed.success)
    return { state: 'unreadable', path, problem: `${path}: ${describeFirstIssue(parsed.error)}; expected ${expected}` };
  return { state: 'recorded', report: parsed.data };
}

/**
 * Writes dir's failover.json atomically and durably (a reader sees the old report or the new one, never half
 * of one, also when the automatic failover and one by hand write at once), within the size it is read back with.
 */
export async function writeFailoverReport(dir: string, report: FailoverReport): Promise<void> {
  await writeJsonAtomically(join(dir, FAILOVER_REPORT), report, { maxBytes: REPORT_MAX_BYTES, indent: 2 });
}
