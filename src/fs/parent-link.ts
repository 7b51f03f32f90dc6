// A checkpoint's `parent` link: CRIU's incremental images take the pages they do not hold from the
// directory it names. remusd and CRIU only ever write `../NAME`, NAME a sibling checkpoint, and this is the
// one reader of it. Anything else is refused before anything reads through it: a copied store or a backup
// directory is not trusted, and `parent -> ../../elsewhere` (or `/`) would make a verify, a compaction, a
// restore's chain check, a shipper or a fsync walk read or sync directories outside the store.

import { readlinkSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, errorText } from './error-code.js';

/** The link's name inside a checkpoint directory. */
export const PARENT_LINK = 'parent';

/** NAME_MAX: a longer name cannot be a directory entry, so the link cannot name a sibling. */
const NAME_MAX = 255;

/** A `parent` link that is not `../NAME` of a sibling, or that cannot be read. */
export class ParentLinkError extends Error {
  constructor(
    /** The checkpoint directory holding the link. */
    readonly dir: string,
    /** What is wrong, as a phrase after "DIR/parent". */
    readonly reason: string,
  ) {
    super(`${join(dir, PARENT_LINK)} ${reason}`);
    this.name = 'ParentLinkError';
  }
}

/** The sibling directory a link target names; throws ParentLinkError for any other target. */
export function siblingOf(dir: string, target: string): string {
  const name = target.startsWith('../') ? target.slice(3) : undefined;
  if (
    name === undefined ||
    name.length === 0 ||
    name.length > NAME_MAX ||
    name.includes('/') ||
    name === '.' ||
    name === '..' ||
    name.includes('\0')
  )
    throw new ParentLinkError(
      dir,
      `points at ${JSON.stringify(target.length > 300 ? `${target.slice(0, 300)}…` : target)}: a parent must be ../NAME, a directory beside this one (NAME without '/', not '..', at most ${NAME_MAX} characters)`,
    );
  return name;
}

/** The name of dir's parent (a sibling of dir), or undefined when dir has no `parent` link. */
export async function readParentLink(dir: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await readlink(join(dir, PARENT_LINK));
  } catch (error) {
    return noLink(dir, error);
  }
  return siblingOf(dir, target);
}

/** readParentLink, synchronously (the store's scan is synchronous on purpose: see store/checkpoints.ts). */
export function readParentLinkSync(dir: string): string | undefined {
  let target: string;
  try {
    target = readlinkSync(join(dir, PARENT_LINK));
  } catch (error) {
    return noLink(dir, error);
  }
  return siblingOf(dir, target);
}

// No link at all is a full checkpoint; a `parent` that is not a symbolic link (EINVAL) or cannot be read is
// refused with what was found.
function noLink(dir: string, error: unknown): undefined {
  const code = errorCode(error);
  if (code === 'ENOENT') return undefined;
  throw new ParentLinkError(dir, code === 'EINVAL' ? 'is not a symbolic link' : `cannot be read (${errorText(error)})`);
}
