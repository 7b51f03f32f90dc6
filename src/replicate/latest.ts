import { readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The checkpoint ROOT/latest names (the newest complete one), or undefined if there is none yet. */
export async function currentLatest(root: string): Promise<string | undefined> {
  try {
    return await readlink(join(root, 'latest'));
  } catch {
    return undefined;
  }
}
