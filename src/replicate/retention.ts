import { existsSync, readdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { removable } from '../store/chain.js';
import { removeCheckpoints, scanCheckpoints } from '../store/checkpoints.js';
import { RUNS_DIR } from './backup-runs.js';
import type { ReplicationLog } from './events.js';
import { readRuns } from './failover.js';
import { runsToPrune } from './run-retention.js';

// Retention on the backup (only while no transfer is in progress, so that none loses the parent it is
// landing on, and never once a failover has closed the intake, so that nothing it reads goes): the same rule
// as the supervisor's (src/store/chain.ts), within one run's directory: no run's checkpoints ever push out
// another's. After a compaction, the links it replaced go at the next prune.
export async function prune(dir: string, keep: number, log: ReplicationLog): Promise<void> {
  const doomed = removable(scanCheckpoints(dir), keep);
  if (doomed.length === 0) return;
  await removeCheckpoints(dir, doomed);
  log.info('retention removed checkpoints', { removed: doomed.map((c) => c.name), keep });
}

/** A run directory being removed: renamed first, so that no reader takes a half-deleted run for a run. */
const PRUNING = /^\.[0-9a-f-]{36}\.pruning$/;

/**
 * Removes whole runs past the newest keepRuns (run-retention.ts), never one in `receiving`. Each is renamed
 * out of runs/ in one synchronous pass, before anything is awaited: a sender's hello handled meanwhile finds
 * its run either whole or gone (and starts it anew), never half-deleted.
 */
export async function pruneRuns(
  root: string,
  keepRuns: number,
  receiving: ReadonlySet<string>,
  log: ReplicationLog,
): Promise<void> {
  if (!existsSync(join(root, RUNS_DIR))) return; // no run has landed yet
  const doomed = runsToPrune(readRuns(root), keepRuns, receiving);
  if (doomed.length === 0) return;
  const runs = join(root, RUNS_DIR);
  for (const { id } of doomed) renameSync(join(runs, id), join(runs, `.${id}.pruning`));
  for (const { id, why } of doomed) log.info(`retention removed run ${id}: ${why}`, { keep_runs: keepRuns });
  await removeLeftoverRuns(root);
}

/** Finishes removing runs whose removal was cut short (a crash after the rename); returns their names. */
export async function removeLeftoverRuns(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(join(root, RUNS_DIR)).filter((name) => PRUNING.test(name));
  } catch {
    return [];
  }
  await Promise.all(names.map((name) => rm(join(root, RUNS_DIR, name), { recursive: true, force: true })));
  return names;
}
