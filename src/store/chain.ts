/** One checkpoint directory that exists on disk, as the chain planner sees it. */
export interface StoredCheckpoint {
  seq: number;
  /** Directory name (not path) under the images root, e.g. "000012". */
  name: string;
  /** seq of the checkpoint this one's `parent` link points at, if any. */
  parentSeq: number | undefined;
  /** Bytes of this checkpoint's pages images. */
  sizeBytes: number;
}

export interface ChainRules {
  /**
   * Start a new chain (no parent) when the current chain already has this many links. With compaction this
   * is only the hard bound, reached when compaction falls behind.
   */
  newChainEvery: number;
  /** Compaction (mode delta): flatten old links once the chain has this many; undefined: no compaction. */
  compactAt?: number | undefined;
  /** Start a new chain when the chain's pages on disk would pass this many bytes. */
  maxChainBytes: number | undefined;
  /** Keep this many newest checkpoints (and whatever their parent links need). */
  keep: number;
}

/** The links of the chain ending at `seq`, newest first. */
export function chainOf(checkpoints: readonly StoredCheckpoint[], seq: number, bySeq = indexBySeq(checkpoints)): StoredCheckpoint[] {
  const chain: StoredCheckpoint[] = [];
  for (let c = bySeq.get(seq); c !== undefined && !chain.includes(c); c = c.parentSeq === undefined ? undefined : bySeq.get(c.parentSeq)) {
    chain.push(c);
  }
  return chain;
}

/**
 * Whether the next checkpoint may use `previous` as its parent, and if not why: the chain is long enough,
 * or big enough on disk, that a fresh full checkpoint is cheaper to keep and faster to restore.
 */
export function parentFor(
  checkpoints: readonly StoredCheckpoint[],
  previous: StoredCheckpoint | undefined,
  rules: ChainRules,
): { parent: StoredCheckpoint | undefined; reason: string } {
  if (previous === undefined) return { parent: undefined, reason: 'first checkpoint of this run: new chain' };
  const chain = chainOf(checkpoints, previous.seq);
  if (chain.length >= rules.newChainEvery) {
    const behind = rules.compactAt === undefined ? '' : ', compaction fell behind';
    return { parent: undefined, reason: `chain has ${chain.length} links (new_chain_every ${rules.newChainEvery}${behind}): new chain` };
  }
  const bytes = chain.reduce((sum, c) => sum + c.sizeBytes, 0);
  if (rules.maxChainBytes !== undefined && bytes >= rules.maxChainBytes) {
    return { parent: undefined, reason: `chain holds ${bytes} bytes (max_chain_bytes ${rules.maxChainBytes}): new chain` };
  }
  return { parent: previous, reason: `parent ${previous.name} (link ${chain.length + 1})` };
}

/**
 * Which checkpoints may be deleted: all but the `keep` newest, except any that a kept checkpoint's parent
 * chain reaches (deleting those would make a kept checkpoint unrestorable).
 */
export function removable(checkpoints: readonly StoredCheckpoint[], keep: number): StoredCheckpoint[] {
  const newestFirst = [...checkpoints].sort((a, b) => b.seq - a.seq);
  const needed = new Set<number>();
  // One index for every kept checkpoint's walk: the simulator calls this once per checkpoint.
  const bySeq = indexBySeq(checkpoints);
  for (const kept of newestFirst.slice(0, Math.max(1, keep))) {
    for (const link of chainOf(checkpoints, kept.seq, bySeq)) needed.add(link.seq);
  }
  return newestFirst.filter((c) => !needed.has(c.seq)).reverse();
}

function indexBySeq(checkpoints: readonly StoredCheckpoint[]): Map<number, StoredCheckpoint> {
  return new Map(checkpoints.map((c) => [c.seq, c]));
}

/**
 * How many links behind the newest the flattened base is put: the newest and its parent are never rewritten.
 * The newest is what the next delta is compared with (its files are checked before use), and its parent may
 * still be on its way to the backup (a shipper reads a checkpoint twice: to hash it, then to send it).
 */
export const COMPACTION_LAG = 2;

/**
 * Which link to flatten now so that the chain ending at `newestSeq` gets short again, or undefined: once
 * the chain has `compactAt` links, the link COMPACTION_LAG behind the newest becomes a base holding every
 * page its chain restores, and the links behind it are needed no more. The primary and the backup apply this
 * same rule each to its own copy of the chain; compaction never renames a link nor changes the parent of a
 * newer one, so either side may compact at another time (or not at all) and shipping is not affected.
 */
export function compactionTarget(checkpoints: readonly StoredCheckpoint[], newestSeq: number, compactAt: number): StoredCheckpoint | undefined {
  const chain = chainOf(checkpoints, newestSeq);
  if (chain.length < Math.max(compactAt, COMPACTION_LAG + 2)) return undefined;
  // A chain whose oldest link still names a parent is incomplete here: nothing to flatten it onto.
  if (chain.at(-1)?.parentSeq !== undefined) return undefined;
  return chain[COMPACTION_LAG];
}
