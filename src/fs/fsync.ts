import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** fsyncs one file or directory. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every file in dir, then dir itself (which holds their names). */
export async function fsyncDirectory(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  await Promise.all(entries.filter((e) => e.isFile()).map((e) => fsyncPath(join(dir, e.name))));
  await fsyncPath(dir);
}

/**
 * Makes a published checkpoint durable: every file in it, its directory, and root (which holds its name and
 * `latest`). CRIU writes without fsync; output commit may only release an epoch once its checkpoint is on disk.
 */
export async function fsyncCheckpoint(root: string, dir: string): Promise<void> {
  await fsyncDirectory(dir);
  await fsyncPath(root);
}
