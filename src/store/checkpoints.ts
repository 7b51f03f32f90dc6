import { mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { TEMPORARY_NAME } from '../fs/atomic-file.js';
import { errorCode } from '../fs/error-code.js';
import { removeStaleTemporaries, type Sweep } from '../fs/stale-temporaries.js';
import { ParentLinkError, readParentLinkSync } from '../fs/parent-link.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredCheckpoint } from './chain.js';

// On-disk layout of the images root:
//   00000012/            a complete checkpoint (renamed into place only after CRIU succeeded)
//   .00000013.partial/   a checkpoint being written; left over only by a crash, removed at the next start
//   latest -> 00000012   the newest complete checkpoint (what a restore or a shipper should take)
//   .00000009.compact/   a compaction's flattened copy of 00000009, swapped in atomically when complete (or,
//                        after the swap, the old 00000009 being deleted); a leftover is removed at the next start
//
// The small operations here are synchronous on purpose: they sit on the loop's critical path between two
// checkpoints, and on these machines a thread-pool round trip costs ~0.4 ms, far more than the syscall.

/** The name of a complete checkpoint directory (also what the replication protocol accepts). */
export const COMPLETE = /^\d{8}$/;
/** The name of a checkpoint being written. */
export const PARTIAL = /^\.\d{8}\.partial$/;

/** The name a compaction of a checkpoint works under. */
export const COMPACTING = /^\.\d{8}\.compact$/;

/** The directory name of checkpoint `seq`. */
export function checkpointName(seq: number): string {
  const digits = String(seq);
  // The same as padStart(8, '0'), which cost a simulated checkpoint ~5 % of its time.
  return digits.length >= 8 ? digits : ZEROS.slice(digits.length) + digits;
}

const ZEROS = '00000000';

/** The temporary name CRIU writes checkpoint `seq` under. */
export function partialName(seq: number): string {
  return `.${checkpointName(seq)}.partial`;
}

/** The name a compaction writes checkpoint `seq`'s flattened copy under. */
export function compactingName(seq: number): string {
  return `.${checkpointName(seq)}.compact`;
}

/**
 * What a scan does with a checkpoint whose parent link is refused (ParentLinkError): 'throw' (the default: the
 * supervisor, retention, the shipper), or 'list-without-parent' for a caller that checks every link itself
 * before using it (a failover verifies each chain, refuses that link naming it, and falls back to an older
 * checkpoint rather than restoring nothing).
 */
export type BadParentLink = 'throw' | 'list-without-parent';

/** Lists the complete checkpoints under root with their parent links and page sizes, oldest first. */
export function scanCheckpoints(root: string, badParentLink: BadParentLink = 'throw'): StoredCheckpoint[] {
  return readdirSync(root)
    .filter((name) => COMPLETE.test(name))
    .sort()
    .map((name) => describeCheckpoint(root, name, badParentLink));
}

/** Reads one checkpoint directory's parent link and the size of its pages images. */
export function describeCheckpoint(
  root: string,
  name: string,
  badParentLink: BadParentLink = 'throw',
): StoredCheckpoint {
  const dir = join(root, name);
  let parentSeq: number | undefined;
  try {
    parentSeq = parentSeqOf(dir);
  } catch (error) {
    if (badParentLink === 'throw' || !(error instanceof ParentLinkError)) throw error;
    parentSeq = undefined;
  }
  let sizeBytes = 0;
  for (const file of readdirSync(dir)) {
    if (/^pages-\d+\.img$/.test(file)) sizeBytes += statSync(join(dir, file)).size;
  }
  return { seq: Number(name), name, parentSeq, sizeBytes };
}

// A link out of root is refused (it threw nothing before and counted by its last component: a link to
// ../../elsewhere/00000005 planned retention and shipping as if 00000005 here were the parent).
function parentSeqOf(dir: string): number | undefined {
  const parent = readParentLinkSync(dir);
  if (parent !== undefined && !COMPLETE.test(parent))
    throw new ParentLinkError(dir, `points at "../${parent}": a parent must be ../NNNNNNNN, a checkpoint beside it`);
  return parent === undefined ? undefined : Number(parent);
}

/** Creates an empty directory for a new checkpoint, replacing any stale one of the same name. */
export function freshDirectory(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path);
  }
}

/**
 * Removes checkpoints half-written by a crashed run, and what a crashed compaction left beside its chain (its
 * unfinished copy, or the replaced directory it had not deleted yet); returns their names.
 */
export function removePartials(root: string): string[] {
  const partials = readdirSync(root).filter((name) => PARTIAL.test(name) || COMPACTING.test(name));
  for (const name of partials) rmSync(join(root, name), { recursive: true, force: true });
  return partials;
}

/** markLatest's temporary link `.latest.PID`, the writer's pid captured. */
export const LATEST_TEMPORARY = /^\.latest\.(\d+)$/;

/**
 * Removes the temporary names of writers that died mid-write (writeFileAtomically's run.json, workload.pid,
 * fenced.json, a backup's run.json and failover.json; markLatest's link) from dir; see fs/stale-temporaries.ts.
 */
export function removeStaleWrites(dir: string): Promise<Sweep> {
  return removeStaleTemporaries(dir, [TEMPORARY_NAME, LATEST_TEMPORARY]);
}

/** Renames a finished checkpoint into place. */
export function publish(from: string, to: string): void {
  renameSync(from, to);
}

/** Points root/latest at a checkpoint, atomically (a reader sees the old or the new link, never none). */
export function markLatest(root: string, name: string): void {
  const temp = join(root, `.latest.${process.pid}`);
  rmSync(temp, { force: true });
  symlinkSync(name, temp);
  renameSync(temp, join(root, 'latest'));
}

/** Deletes checkpoint directories (asynchronous: large, and done off the loop's critical path). */
export async function removeCheckpoints(root: string, checkpoints: readonly StoredCheckpoint[]): Promise<void> {
  await Promise.all(checkpoints.map((c) => rm(join(root, c.name), { recursive: true, force: true })));
}
