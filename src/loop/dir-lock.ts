// One supervisor per images directory. Two `run`s on one directory deleted each other's partial checkpoints
// (one crashed), so the second is refused, naming the holder. Node has no flock(2); the lock is a file
// created with O_EXCL holding the owner's pid and start time. A lock whose owner is gone (kill -9, a
// reboot) is stale and taken over; the start time tells the owner from a later process given its pid.

import { closeSync, openSync, rmSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { errorCode } from '../fs/error-code.js';
import { readRegularFileSync } from '../fs/regular-file.js';
import { startTime } from '../process/proc.js';

/** The lock file's name inside the images directory. */
export const LOCK_NAME = '.remusd.lock';

/** A held lock. */
export interface DirLock {
  path: string;
  /** Removes the lock file, if it is still ours. */
  release(): void;
}

/** The directory is held by a live process. */
export class DirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {
    super(
      `${dir} is in use by remusd pid ${holderPid} (lock ${join(dir, LOCK_NAME)}); stop that one first, or use another checkpoint.dir`,
    );
    this.name = 'DirLockedError';
  }
}

// The lock file's content: the owner's pid and its start time (clock ticks after boot, from /proc).
const ownerSchema = z.object({ pid: z.number().int(), start_time: z.number().int() });
type Owner = z.infer<typeof ownerSchema>;

/** Takes the directory's lock for this process; throws DirLockedError when a live process holds it. */
export async function lockDirectory(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_NAME);
  const me: Owner = { pid: process.pid, start_time: (await startTime(process.pid)) ?? 0 };
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      const holder = readOwner(path);
      if (holder !== undefined && (await holds(holder))) throw new DirLockedError(dir, holder.pid);
      // Stale (or unreadable garbage): remove it if it is still the file just read, then try again. Two
      // starts racing on one stale lock can both get here; the O_EXCL create decides between them.
      if (sameText(readOwner(path), holder)) rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return {
      path,
      release() {
        if (readOwner(path)?.pid === me.pid) rmSync(path, { force: true });
      },
    };
  }
  throw new Error(`could not take ${path}: it keeps reappearing`);
}

function readOwner(path: string): Owner | undefined {
  try {
    const owner = ownerSchema.safeParse(JSON.parse(readRegularFileSync(path, 4096).toString('utf8')));
    return owner.success ? owner.data : undefined;
  } catch {
    return undefined;
  }
}

function sameText(a: Owner | undefined, b: Owner | undefined): boolean {
  return a?.pid === b?.pid && a?.start_time === b?.start_time;
}

async function holds(owner: Owner): Promise<boolean> {
  const started = await startTime(owner.pid);
  return started !== undefined && started === owner.start_time;
}
