import { readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { StoredCheckpoint } from './chain.js';

// On-disk layout of the images root:
//   00000012/            a complete checkpoint (renamed into place only after CRIU succeeded)
//   .00000013.partial/   a checkpoint being written; left over only by a crash, removed at the next start
//   latest -> 00000012   the newest complete checkpoint (what a restore or a shipper should take)

const COMPLETE = /^\d{8}$/;
const PARTIAL = /^\.\d{8}\.partial$/;

/** The directory name of checkpoint `seq`. */
export function checkpointName(seq: number): string {
  return String(seq).padStart(8, '0');
}

/** The temporary name CRIU writes checkpoint `seq` under. */
export function partialName(seq: number): string {
  return `.${checkpointName(seq)}.partial`;
}

/** Lists the complete checkpoints under root with their parent links and page sizes, oldest first. */
export async function scanCheckpoints(root: string): Promise<StoredCheckpoint[]> {
  const names = (await readdir(root)).filter((name) => COMPLETE.test(name)).sort();
  return Promise.all(names.map((name) => describeCheckpoint(root, name)));
}

/** Reads one checkpoint directory's parent link and the size of its pages images. */
export async function describeCheckpoint(root: string, name: string): Promise<StoredCheckpoint> {
  const dir = join(root, name);
  let parentSeq: number | undefined;
  try {
    const target = basename(await readlink(join(dir, 'parent')));
    parentSeq = COMPLETE.test(target) ? Number(target) : undefined;
  } catch {
    parentSeq = undefined;
  }
  let sizeBytes = 0;
  for (const file of await readdir(dir)) {
    if (/^pages-\d+\.img$/.test(file)) sizeBytes += (await stat(join(dir, file))).size;
  }
  return { seq: Number(name), name, parentSeq, sizeBytes };
}

/** Removes checkpoints half-written by a crashed run; returns their names. */
export async function removePartials(root: string): Promise<string[]> {
  const partials = (await readdir(root)).filter((name) => PARTIAL.test(name));
  await Promise.all(partials.map((name) => rm(join(root, name), { recursive: true, force: true })));
  return partials;
}

/** Points root/latest at a checkpoint, atomically (a reader sees the old or the new link, never none). */
export async function markLatest(root: string, name: string): Promise<void> {
  const temp = join(root, `.latest.${process.pid}`);
  await rm(temp, { force: true });
  await symlink(name, temp);
  await rename(temp, join(root, 'latest'));
}

/** Deletes checkpoint directories. */
export async function removeCheckpoints(root: string, checkpoints: readonly StoredCheckpoint[]): Promise<void> {
  await Promise.all(checkpoints.map((c) => rm(join(root, c.name), { recursive: true, force: true })));
}
