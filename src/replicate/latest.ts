import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, errorText } from '../fs/error-code.js';
import { COMPLETE, PARTIAL } from '../store/checkpoints.js';

/**
 * The checkpoint ROOT/latest names (the newest complete one), or undefined if there is none yet. A `latest`
 * that names anything but a checkpoint beside it (NNNNNNNN) throws, naming it: its target was taken for a
 * checkpoint name, so in a copied images directory `latest -> ../../etc` had the shipper read and hash every
 * file there for an offer (which the backup then refused by name).
 */
export async function currentLatest(root: string): Promise<string | undefined> {
  const link = join(root, 'latest');
  let target: string;
  try {
    target = await readlink(link);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new Error(`${link} cannot be read as a link (${errorText(error)})`, { cause: error });
  }
  if (!COMPLETE.test(target))
    throw new Error(
      `${link} points at ${JSON.stringify(target.slice(0, 300))}: expected NNNNNNNN, a checkpoint beside it`,
    );
  return target;
}

/** Whether the supervisor is writing a checkpoint newer than `latest` (a `.NNNNNNNN.partial` directory). */
export async function checkpointInProgress(root: string): Promise<boolean> {
  const latest = Number((await currentLatest(root)) ?? 0);
  const names = await readdir(root).catch((): string[] => []);
  return names.some((name) => PARTIAL.test(name) && Number(name.slice(1, 9)) > latest);
}
