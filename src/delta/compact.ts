// Compaction: one link of a delta chain replaced by its flattened form (flatten.ts), so that the links
// behind it are needed no more and the chain stays short without a new full dump or a full shipment.
//
// Crash safety. The flattened copy is written beside the chain as ROOT/.NNNNNNNN.compact, fsynced, and only
// then swapped with ROOT/NNNNNNNN in one renameat2(RENAME_EXCHANGE) (exchange.ts), after which the old
// directory (now under the dot name) is deleted. A crash before the swap leaves the old chain untouched; a
// crash after it leaves the flattened link, which restores the same memory. Whatever is left under the dot
// name is removed at the next start (removePartials). At no moment is NNNNNNNN missing or half-written, so
// even a restore running at the same time finds a whole chain.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { at } from '../at.js';
import { fsyncCheckpoint } from '../fs/fsync.js';
import { PARENT_LINK, readParentLink } from '../fs/parent-link.js';
import { COMPLETE, compactingName } from '../store/checkpoints.js';
import { exchangeDirectories } from './exchange.js';
import { flattenChain } from './flatten.js';
import { HASHES_FILE } from './persist.js';

export interface CompactOptions {
  /** The directory holding the chain: an images directory, or one run's directory on a backup. */
  root: string;
  /** The link to flatten (never the newest: see COMPACTION_LAG). */
  name: string;
  pageSize: number;
  /**
   * The target's files to carry over (default: its regular files, except dot files and the saved page hashes,
   * which describe the delta form and would never match the flattened one).
   */
  files?: readonly string[];
  /** Given the finished copy before it is swapped in (a backup writes the copy's manifest there). */
  beforeSwitch?: (dir: string) => Promise<void>;
  /** Awaited between steps of the merge (see FlattenOptions.step). */
  step?: () => Promise<void>;
}

export interface CompactResult {
  name: string;
  /** Links the flattened checkpoint replaces (itself and its ancestors). */
  links: number;
  pages: number;
  bytesWritten: number;
  elapsedMs: number;
}

/** The longest chain a compaction follows (a chain is bounded by new_chain_every; this stops a loop of links). */
const MAX_LINKS = 10_000;

/** Flattens checkpoint `name` of `root` in place, atomically; throws (nothing changed) if it cannot. */
export async function compactCheckpoint(options: CompactOptions): Promise<CompactResult> {
  const started = performance.now();
  const { root, name } = options;
  const chain = await chainDirectories(root, name);
  const target = at(chain, 0); // chainDirectories returns two links or more
  const files = options.files ?? (await defaultFiles(target));
  const copy = join(root, compactingName(Number(name)));
  await rm(copy, { recursive: true, force: true });
  await mkdir(copy);
  try {
    const step = options.step ?? (() => Promise.resolve());
    let steps = 0;
    const flat = await flattenChain({
      chain,
      out: copy,
      files,
      pageSize: options.pageSize,
      step: async () => {
        if (++steps === 2) testKillPoint('merging');
        await step();
      },
    });
    await options.beforeSwitch?.(copy);
    await step();
    await fsyncCheckpoint(root, copy);
    testKillPoint('merged');
    await step();
    await exchangeDirectories(copy, target);
    testKillPoint('swapped');
    return {
      name,
      links: chain.length,
      pages: flat.pages,
      bytesWritten: flat.bytesWritten,
      elapsedMs: performance.now() - started,
    };
  } finally {
    // Before the swap: the unfinished copy; after it: the replaced chain link.
    await rm(copy, { recursive: true, force: true });
  }
}

// The directories of the chain ending at `name`, newest first. A parent link must read ../NNNNNNNN.
async function chainDirectories(root: string, name: string): Promise<string[]> {
  const chain: string[] = [];
  for (let current: string | undefined = name; current !== undefined;) {
    if (chain.length >= MAX_LINKS)
      throw new Error(`${join(root, name)}: its chain has more than ${MAX_LINKS} links (a loop of parent links?)`);
    const dir = join(root, current);
    chain.push(dir);
    const parent = await readParentLink(dir); // refuses a link out of root
    if (parent === undefined) break;
    if (!COMPLETE.test(parent))
      throw new Error(`${join(dir, PARENT_LINK)} points at "../${parent}": a parent must be ../NNNNNNNN`);
    current = parent;
  }
  if (chain.length < 2) throw new Error(`${chain[0]} has no parent: nothing to compact`);
  return chain;
}

async function defaultFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name !== HASHES_FILE)
    .map((e) => e.name);
  // A symbolic link other than `parent` is not a file of a checkpoint CRIU wrote.
  for (const e of entries)
    if (e.isSymbolicLink() && e.name !== 'parent') throw new Error(`${join(dir, e.name)} is a symbolic link`);
  return files.sort();
}

/**
 * Tests only: REMUSD_TEST_COMPACTION_KILL=merging|merged|swapped makes this process kill itself (SIGKILL)
 * at that point of a compaction, to show what a crash there leaves behind.
 */
function testKillPoint(point: 'merging' | 'merged' | 'swapped'): void {
  if (process.env.REMUSD_TEST_COMPACTION_KILL === point) process.kill(process.pid, 'SIGKILL');
}
