// Which link a primary compacts while `remusd ship` is behind. The usual target (compactionTargetAfter: two
// links behind the newest) may not be on the backup yet; flattening it then turns the delta the backup still
// needs into a full base under the same name, and the shipper sends the whole memory (or finds the older links
// gone: ENOENT, a retry). So the primary flattens the newest link the backup holds instead (any link of the
// chain flattened restores the same memory), which keeps chains short by the same amount once the shipper
// catches up. When the backup holds no link above the chain's base (the shipper is stalled, or the backup is
// down), compaction waits while the chain has room, and flattens the usual target once it nears
// new_chain_every: a full base for the backup later is cheaper than a new chain (a full dump, frozen, and
// then shipped in full all the same).

import { chainOf, COMPACTION_LAG, type StoredCheckpoint } from './chain.js';

/** What compaction does now, and why: the usual target, the newest link shipped, none (waits), or the usual one at the bound. */
export type ShippedCompaction =
  | { link: StoredCheckpoint; why: 'usual' | 'shipped' | 'bound' }
  | { link: undefined; why: 'waits' };

/**
 * The link to compact given `usual` (compactionTargetAfter's pick for the chain ending at `newest`, which has
 * `links` links) and the newest seq whose whole chain the backup holds. The chain must keep this much room
 * below newChainEvery when compaction starts: it grows while the merge runs (one link per interval).
 */
export function shippedCompactionTarget(
  stored: readonly StoredCheckpoint[],
  newest: StoredCheckpoint,
  links: number,
  usual: StoredCheckpoint,
  backupHolds: number,
  newChainEvery: number,
): ShippedCompaction {
  if (usual.seq <= backupHolds) return { link: usual, why: 'usual' };
  // Newest first: the usual target is at COMPACTION_LAG, the base last. Flattening the base changes nothing.
  const chain = chainOf(stored, newest.seq);
  for (let i = COMPACTION_LAG + 1; i < chain.length - 1; i++) {
    const link = chain[i];
    if (link !== undefined && link.seq <= backupHolds) return { link, why: 'shipped' };
  }
  return links >= newChainEvery - BOUND_ROOM ? { link: usual, why: 'bound' } : { link: undefined, why: 'waits' };
}

/** Links left below new_chain_every when a waiting compaction gives up on the backup (a merge's worth of intervals). */
export const BOUND_ROOM = 2 * COMPACTION_LAG;
