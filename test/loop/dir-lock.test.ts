import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirLockedError, LOCK_NAME, lockDirectory } from '../../src/loop/dir-lock.js';
import { startTime } from '../../src/process/proc.js';
import { imagesDir } from '../helpers/criu.js';

describe('images directory lock', () => {
  it('is refused while a live process holds it, naming its pid; released, it can be taken again', async () => {
    const dir = await imagesDir('remusd-lock-');
    const lock = await lockDirectory(dir);
    const error = await lockDirectory(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirLockedError);
    expect((error as DirLockedError).holderPid).toBe(process.pid);
    lock.release();
    (await lockDirectory(dir)).release();
  });

  it('takes over a stale lock: a dead owner, or a recycled pid (same pid, another start time), or garbage', async () => {
    const dir = await imagesDir('remusd-lock-');
    const path = join(dir, LOCK_NAME);
    const init = await startTime(1);
    for (const stale of [
      JSON.stringify({ pid: 4_000_000, start_time: 1 }), // no such process
      JSON.stringify({ pid: 1, start_time: init! + 1 }), // pid 1 lives, but is not the process that locked
      '\u0000garbage',
    ]) {
      await writeFile(path, stale);
      const lock = await lockDirectory(dir);
      expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
      lock.release();
    }
    await writeFile(path, JSON.stringify({ pid: 1, start_time: init }));
    await expect(lockDirectory(dir)).rejects.toThrow(/in use by remusd pid 1 /);
  });
});
