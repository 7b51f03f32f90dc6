import { removable } from '../store/chain.js';
import { removeCheckpoints, scanCheckpoints } from '../store/checkpoints.js';
import type { ReplicationLog } from './events.js';

// Retention on the backup (only while no transfer is in progress, so that none loses the parent it is
// landing on): the same rule as the supervisor's (src/store/chain.ts), within one run's directory: no run's
// checkpoints ever push out another's. After a compaction, the links it replaced go at the next prune.
export async function prune(dir: string, keep: number, log: ReplicationLog): Promise<void> {
  const doomed = removable(scanCheckpoints(dir), keep);
  if (doomed.length === 0) return;
  await removeCheckpoints(dir, doomed);
  log.info('retention removed checkpoints', { removed: doomed.map((c) => c.name), keep });
}
