import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL } from '../store/checkpoints.js';

/** The checkpoint ROOT/latest names (the newest complete one), or undefined if there is none yet. */
export async function currentLatest(root: string): Promise<string | undefined> {
  try {
    return await readlink(join(root, 'latest'));
  } catch {
    return undefined;
  }
}

/** Whether the supervisor is writing a checkpoint newer than `latest` (a `.NNNNNNNN.partial` directory). */
export async function checkpointInProgress(root: string): Promise<boolean> {
  const latest = Number((await currentLatest(root)) ?? 0);
  const names = await readdir(root).catch((): string[] => []);
  return names.some((name) => PARTIAL.test(name) && Number(name.slice(1, 9)) > latest);
}
