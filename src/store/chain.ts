// The chain planner: the links of a chain, whether the next checkpoint continues it, and which link to compact
// (retention, which deletes, is in chain-retention.ts).

import { indexOfSeq, isAscending } from './chain-order.js';

export { removable, removableAfter, removeInPlace, replaceCompacted } from './chain-retention.js';

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
export function chainOf(
  checkpoints: readonly StoredCheckpoint[],
  seq: number,
  find = finder(checkpoints),
): StoredCheckpoint[] {
  const chain: StoredCheckpoint[] = [];
  // Parents have smaller seqs: until a link breaks that, no loop is possible and none is looked for.
  let ordered = true;
  for (let c = find(seq); c !== undefined; c = c.parentSeq === undefined ? undefined : find(c.parentSeq)) {
    const last = chain[chain.length - 1];
    if (last !== undefined && c.seq >= last.seq) ordered = false;
    if (!ordered && chain.includes(c)) break; // a loop ends the chain at its first repeated link
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
  return parentAfter(previous, previous === undefined ? undefined : walkChain(checkpoints, previous.seq), rules);
}

/**
 * parentFor, given the walk of previous's chain (walkChain: the loop keeps the one of its newest checkpoint).
 * A plan that continues the chain is written into `reuse` when given (the loop's own, rewritten per checkpoint).
 */
export function parentAfter(
  previous: StoredCheckpoint | undefined,
  chain: Readonly<ChainWalk> | undefined,
  rules: ChainRules,
  reuse?: ParentLink,
): { parent: StoredCheckpoint | undefined; reason: string } {
  if (previous === undefined || chain === undefined)
    return { parent: undefined, reason: 'first checkpoint of this run: new chain' };
  const { links, bytes } = chain;
  if (links >= rules.newChainEvery) {
    const behind = rules.compactAt === undefined ? '' : ', compaction fell behind';
    return {
      parent: undefined,
      reason: `chain has ${links} links (new_chain_every ${rules.newChainEvery}${behind}): new chain`,
    };
  }
  if (rules.maxChainBytes !== undefined && bytes >= rules.maxChainBytes) {
    return {
      parent: undefined,
      reason: `chain holds ${bytes} bytes (max_chain_bytes ${rules.maxChainBytes}): new chain`,
    };
  }
  if (reuse === undefined) return new ParentLink(previous, links + 1);
  reuse.parent = previous;
  reuse.link = links + 1;
  return reuse;
}

/**
 * The usual plan: continue the chain. Its reason is written when read (a record asks, a simulation does not:
 * the text was a tenth of what a simulated checkpoint allocated).
 */
export class ParentLink {
  constructor(
    public parent: StoredCheckpoint,
    public link: number,
  ) {}

  get reason(): string {
    return `parent ${this.parent.name} (link ${this.link})`;
  }
}

/** What a walk down one chain found (links as chainOf counts them). */
export interface ChainWalk {
  links: number;
  bytes: number;
  /** Its oldest link is a base (names no parent), rather than one whose parent is missing. */
  complete: boolean;
  /** The link COMPACTION_LAG behind the newest, if the chain is that long. */
  lagged: StoredCheckpoint | undefined;
  /** Where its newest link was in the list walked (-1: not there), and whether each parent was just before. */
  startIndex: number;
  contiguous: boolean;
}

/** A walk to be rewritten by walkChain. */
export function blankWalk(): ChainWalk {
  return { links: 0, bytes: 0, complete: false, lagged: undefined, startIndex: -1, contiguous: false };
}

// The result of walks nobody keeps, rewritten by each (an object per walk was garbage: the loop walks a chain
// after every checkpoint). Single-threaded use only, never kept past a call.
const walked = blankWalk();

/**
 * Walks the chain ending at seq into `into`, without building it when the checkpoints are in seq order (as
 * the loop's are); otherwise, or when a parent is not older than its child, from chainOf (which stops at a loop).
 * knownAscending: the caller knows they are in seq order (the loop keeps track), and they are not checked.
 */
export function walkChain(
  checkpoints: readonly StoredCheckpoint[],
  seq: number,
  into: ChainWalk = walked,
  knownAscending = false,
): Readonly<ChainWalk> {
  if (!((knownAscending || isAscending(checkpoints)) && walkAscending(checkpoints, seq, into))) {
    const chain = chainOf(checkpoints, seq);
    into.links = chain.length;
    into.bytes = chain.reduce((sum, link) => sum + link.sizeBytes, 0);
    into.complete = chain.at(-1)?.parentSeq === undefined;
    into.lagged = chain[COMPACTION_LAG];
    into.startIndex = -1;
    into.contiguous = false;
  }
  return into;
}

/**
 * walkChain's answer for the list's newest checkpoint, from the walk of the one before it: when that one was
 * the list's last, its chain contiguous, and the newest (just pushed) names it as parent, the newest's chain
 * is that chain and one more link, and `walk` is rewritten so (the loop's list grows so at nearly every
 * checkpoint: a walk of up to compact_at links each time). Returns false, having changed nothing, otherwise.
 * Sizes are whole bytes: summed in another order, they give the same total as walkChain's.
 */
export function extendWalk(walk: ChainWalk, checkpoints: readonly StoredCheckpoint[]): boolean {
  const n = checkpoints.length;
  const newest = checkpoints[n - 1];
  const parent = checkpoints[n - 2];
  if (
    newest === undefined ||
    parent === undefined ||
    !(walk.contiguous && walk.startIndex === n - 2) ||
    newest.parentSeq !== parent.seq ||
    !(parent.seq < newest.seq)
  )
    return false;
  const bytes = walk.bytes + newest.sizeBytes;
  if (!(Number.isSafeInteger(walk.bytes) && Number.isSafeInteger(newest.sizeBytes) && Number.isSafeInteger(bytes)))
    return false;
  // The link COMPACTION_LAG behind the newest, in a contiguous chain: that many places before it in the list.
  walk.lagged = walk.links >= COMPACTION_LAG ? checkpoints[n - 1 - COMPACTION_LAG] : undefined;
  walk.links += 1;
  walk.bytes = bytes;
  walk.startIndex = n - 1;
  return true;
}

// walkChain over checkpoints in seq order: a parent is usually the checkpoint just before its child, so each
// link costs one comparison (a binary search only when it is not). False, having walked nothing, at a parent
// not older than its child (a loop may follow).
function walkAscending(sorted: readonly StoredCheckpoint[], seq: number, into: ChainWalk): boolean {
  let links = 0;
  let bytes = 0;
  let complete = false;
  let contiguous = true;
  let lagged: StoredCheckpoint | undefined;
  const startIndex = indexOfSeq(sorted, seq);
  for (let at = startIndex; at >= 0;) {
    const c = sorted[at];
    if (c === undefined) break;
    if (links === COMPACTION_LAG) lagged = c;
    links += 1;
    bytes += c.sizeBytes;
    const parent = c.parentSeq;
    if (parent === undefined) {
      complete = true;
      break;
    }
    if (parent >= c.seq) return false;
    if (at > 0 && sorted[at - 1]?.seq === parent) at -= 1;
    else {
      contiguous = false;
      at = indexOfSeq(sorted, parent);
    }
  }
  into.links = links;
  into.bytes = bytes;
  into.complete = complete;
  into.lagged = lagged;
  into.startIndex = startIndex;
  into.contiguous = contiguous && startIndex >= 0;
  return true;
}

// Finds a checkpoint by seq: a binary search when they are in seq order (as the loop keeps them), else a map.
function finder(checkpoints: readonly StoredCheckpoint[]): (seq: number) => StoredCheckpoint | undefined {
  if (isAscending(checkpoints)) {
    return (seq) => {
      const at = indexOfSeq(checkpoints, seq);
      return at < 0 ? undefined : checkpoints[at];
    };
  }
  const bySeq = new Map(checkpoints.map((c) => [c.seq, c]));
  return (seq) => bySeq.get(seq);
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
export function compactionTarget(
  checkpoints: readonly StoredCheckpoint[],
  newestSeq: number,
  compactAt: number,
): StoredCheckpoint | undefined {
  return compactionTargetAfter(walkChain(checkpoints, newestSeq), compactAt);
}

/** compactionTarget, given the walk of the newest checkpoint's chain. */
export function compactionTargetAfter(newest: Readonly<ChainWalk>, compactAt: number): StoredCheckpoint | undefined {
  if (newest.links < Math.max(compactAt, COMPACTION_LAG + 2)) return undefined;
  // A chain whose oldest link still names a parent is incomplete here: nothing to flatten it onto.
  return newest.complete ? newest.lagged : undefined;
}
