import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DirLockedError, lockDirectory, type DirLock } from '../../loop/dir-lock.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { errorText } from '../../fs/error-code.js';

/** mkdir and lock the images directory: in use, unwritable or not a directory is a user error before anything starts. */
export async function takeImagesDir(root: string): Promise<DirLock> {
  try {
    await mkdir(root, { recursive: true });
    return await lockDirectory(root);
  } catch (error) {
    if (error instanceof DirLockedError) throw new UserError(`checkpoint.dir ${error.message}`, EXIT.usage);
    throw new UserError(`checkpoint.dir ${root}: cannot write there (${errorText(error)})`, EXIT.usage);
  }
}

/** Removes everything in dir except the names in keep (the demo: a summary of this run only). */
export async function emptyDirectory(dir: string, keep: readonly string[]): Promise<void> {
  const names = (await readdir(dir)).filter((name) => !keep.includes(name));
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}
