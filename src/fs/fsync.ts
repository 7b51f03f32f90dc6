import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes a published checkpoint durable: every file in it, its directory, and root (which holds its name and
 * `latest`). CRIU writes without fsync; output commit may only release an epoch once its checkpoint is on disk.
 */
export async function fsyncCheckpoint(root: string, dir: string): Promise<void> {
  const sync = async (path: string) => {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  const entries = await readdir(dir, { withFileTypes: true });
  await Promise.all(entries.filter((e) => e.isFile()).map((e) => sync(join(dir, e.name))));
  await sync(dir);
  await sync(root);
}
