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
  if (previous === undefined) return { parent: undefined, reason: 'first checkpoint of this run: new chain' };
  const { links, bytes } = walkChain(checkpoints, previous.seq);
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
  return new ParentLink(previous, links + 1);
}

// The usual plan: continue the chain. Its reason is written when read (a record asks, a simulation does not:
// the text was a tenth of what a simulated checkpoint allocated).
class ParentLink {
  constructor(
    readonly parent: StoredCheckpoint,
    private readonly link: number,
  ) {}

  get reason(): string {
    return `parent ${this.parent.name} (link ${this.link})`;
  }
}

/**
 * Which checkpoints may be deleted: all but the `keep` newest, except any that a kept checkpoint's parent
 * chain reaches (deleting those would make a kept checkpoint unrestorable). Oldest first.
 */
export function removable(checkpoints: readonly StoredCheckpoint[], keep: number): readonly StoredCheckpoint[] {
  const kept = Math.max(1, keep);
  if (checkpoints.length <= kept) return NONE;
  // The loop calls this after every checkpoint, the simulator millions of times: checkpoints arrive in seq
  // order, so there is no sort, no map and no set to build then (they made 30 % of a simulation's time).
  const sorted = isAscending(checkpoints) ? checkpoints : [...checkpoints].sort((a, b) => a.seq - b.seq);
  const needed = scratch(sorted.length);
  let count = 0;
  for (let newest = sorted.length - 1; newest >= sorted.length - kept; newest--) {
    // Walks down each kept chain until a link already needed (chains share their older links).
    for (let at = newest; at >= 0 && needed[at] === 0;) {
      needed[at] = 1;
      count += 1;
      const parent = sorted[at]?.parentSeq;
      // A parent is usually the checkpoint just before its child: one comparison, a search only when it is not.
      at = parent === undefined ? -1 : sorted[at - 1]?.seq === parent ? at - 1 : indexOfSeq(sorted, parent);
    }
  }
  return count === sorted.length ? NONE : sorted.filter((_, i) => needed[i] === 0);
}

/** Removes the doomed checkpoints from a list (which holds each once), in place (the loop's own list: a new one per checkpoint was garbage). */
export function removeInPlace(stored: StoredCheckpoint[], doomed: readonly StoredCheckpoint[]): void {
  // removable() lists them in the list's own order (when it is in seq order, as the loop's is): one pass then,
  // each doomed checkpoint met in turn; otherwise a search of the doomed for each checkpoint.
  const inOrder = isSubsequence(doomed, stored);
  let kept = 0;
  let next = 0;
  for (let i = 0; i < stored.length; i++) {
    const c = stored[i];
    if (c === undefined) continue;
    if (inOrder ? doomed[next] === c : doomed.includes(c)) next += 1;
    else stored[kept++] = c;
  }
  stored.length = kept;
}

// Whether every item of part appears in whole, in the same order.
function isSubsequence<T>(part: readonly T[], whole: readonly T[]): boolean {
  let next = 0;
  for (let i = 0; i < whole.length && next < part.length; i++) if (whole[i] === part[next]) next += 1;
  return next === part.length;
}

/** Replaces the checkpoint of the same seq by its compacted form (a base), in place (the loop's own list). */
export function replaceCompacted(stored: StoredCheckpoint[], compacted: StoredCheckpoint): void {
  for (let i = 0; i < stored.length; i++) if (stored[i]?.seq === compacted.seq) stored[i] = compacted;
}

// What removable() answers most of the time: one frozen empty list, not a new one per checkpoint.
const NONE: readonly StoredCheckpoint[] = Object.freeze([]);

// At least n flags, the first n zeroed, reused from call to call: a fresh typed array per checkpoint was one of
// the costliest allocations of a simulated checkpoint. Single-threaded use only, never kept past a call.
let flags = new Uint8Array(64);
function scratch(n: number): Uint8Array {
  if (flags.length < n) flags = new Uint8Array(Math.max(n, 2 * flags.length));
  flags.fill(0, 0, n);
  return flags;
}

/** What a walk down one chain found (links as chainOf counts them). */
interface ChainWalk {
  links: number;
  bytes: number;
  /** Its oldest link is a base (names no parent), rather than one whose parent is missing. */
  complete: boolean;
  /** The link COMPACTION_LAG behind the newest, if the chain is that long. */
  lagged: StoredCheckpoint | undefined;
}

// One walk's result, rewritten by each walk and read at once (the loop walks a chain three times per
// checkpoint: an object each was garbage). Single-threaded use only, never kept past a call.
const walked: ChainWalk = { links: 0, bytes: 0, complete: false, lagged: undefined };

// The chain ending at seq, walked without building it when the checkpoints are in seq order (as the loop's
// are); otherwise, or when a parent is not older than its child, from chainOf (which stops at a loop).
function walkChain(checkpoints: readonly StoredCheckpoint[], seq: number): Readonly<ChainWalk> {
  if (!(isAscending(checkpoints) && walkAscending(checkpoints, seq))) {
    const chain = chainOf(checkpoints, seq);
    walked.links = chain.length;
    walked.bytes = chain.reduce((sum, link) => sum + link.sizeBytes, 0);
    walked.complete = chain.at(-1)?.parentSeq === undefined;
    walked.lagged = chain[COMPACTION_LAG];
  }
  return walked;
}

// walkChain over checkpoints in seq order: a parent is usually the checkpoint just before its child, so each
// link costs one comparison (a binary search only when it is not). False, having walked nothing, at a parent
// not older than its child (a loop may follow).
function walkAscending(sorted: readonly StoredCheckpoint[], seq: number): boolean {
  let links = 0;
  let bytes = 0;
  let complete = false;
  let lagged: StoredCheckpoint | undefined;
  for (let at = indexOfSeq(sorted, seq); at >= 0;) {
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
    at = at > 0 && sorted[at - 1]?.seq === parent ? at - 1 : indexOfSeq(sorted, parent);
  }
  walked.links = links;
  walked.bytes = bytes;
  walked.complete = complete;
  walked.lagged = lagged;
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

function isAscending(checkpoints: readonly StoredCheckpoint[]): boolean {
  let previous: number | undefined;
  for (const { seq } of checkpoints) {
    if (previous !== undefined && !(previous < seq)) return false;
    previous = seq;
  }
  return true;
}

// The index of seq in checkpoints sorted by ascending seq, or -1.
function indexOfSeq(sorted: readonly StoredCheckpoint[], seq: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = sorted[mid]?.seq;
    if (at === undefined) return -1; // never: mid is in lo..hi, inside the array
    if (at === seq) return mid;
    if (at < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
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
  // The loop asks after every checkpoint: one walk, and no array built.
  const { links, complete, lagged } = walkChain(checkpoints, newestSeq);
  if (links < Math.max(compactAt, COMPACTION_LAG + 2)) return undefined;
  // A chain whose oldest link still names a parent is incomplete here: nothing to flatten it onto.
  return complete ? lagged : undefined;
}
