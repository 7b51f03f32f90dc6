import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fsyncDirectory, fsyncPath } from './fsync.js';
import { readParentLink } from './parent-link.js';

// A delta checkpoint restores only together with its parents (the `parent` link, then its parent's, …), so
// releasing output on the strength of a local fsync must make the whole chain durable, not only the newest
// directory. With release_after backup-ack the links written while acks were awaited were never fsynced
// here; a degraded release (output_commit.degrade_after) that synced only its own directory could lose
// them to a crash of the host, and with them the only local copy of the state clients had seen.

/** Links walked before giving up on a chain (CRIU's own chains stay far below: new_chain_every is ≤ 1000). */
const MAX_LINKS = 10_000;
/** Directories remembered as durable; past this the oldest are forgotten (and synced again if met). */
const REMEMBERED = 4_096;

/**
 * Makes checkpoint chains durable, remembering which links are already, by directory identity (device, inode,
 * birth and change time: a link replaced by compaction is a new directory). A walk stops at the first link remembered,
 * because a link is remembered only once everything below it was durable: each release then costs the new
 * links' fsyncs plus one readlink and one stat.
 */
export class DurableChains {
  private readonly durable = new Map<string, true>();

  /** fsyncs dir, every ancestor its `parent` links lead to that is not durable yet, and root. */
  async sync(root: string, dir: string): Promise<void> {
    const pending: { dir: string; key: string }[] = [];
    for (let link: string | undefined = dir; link !== undefined; link = await parentOf(link)) {
      const key = await identity(link);
      if (this.durable.has(key)) break;
      pending.push({ dir: link, key });
      if (pending.length > MAX_LINKS)
        throw new Error(`${dir}: its parent links go on past ${MAX_LINKS} checkpoints (a loop?)`);
    }
    // Oldest first, and each remembered only once its own ancestors are: a failure part-way leaves no newer
    // link remembered above an ancestor that is not durable.
    for (const link of pending.reverse()) {
      await fsyncDirectory(link.dir);
      this.remember(link.key);
    }
    await fsyncPath(root); // the checkpoints' names and `latest`
  }

  private remember(key: string): void {
    this.durable.set(key, true);
    if (this.durable.size > REMEMBERED) {
      const oldest = this.durable.keys().next();
      if (oldest.done !== true) this.durable.delete(oldest.value);
    }
  }
}

// Which directory this is, and as what: inode numbers are reused once retention deletes a checkpoint, so the
// birth time tells a new directory from a remembered one, and the change time a directory changed since (an
// entry added or renamed: it is synced again).
async function identity(dir: string): Promise<string> {
  const stats = await stat(dir, { bigint: true });
  return `${stats.dev}:${stats.ino}:${stats.birthtimeNs}:${stats.ctimeNs}`;
}

// The sibling directory a checkpoint's `parent` link names, or undefined without one. A link out of the
// directory is refused (parent-link.ts): the walk fsyncs every file of each link it reaches.
async function parentOf(dir: string): Promise<string | undefined> {
  const name = await readParentLink(dir);
  return name === undefined ? undefined : join(dirname(resolve(dir)), name);
}
