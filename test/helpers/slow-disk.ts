import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { sleep } from './wait.js';

// A slow disk for chosen processes: a cgroup (v1 blkio) whose members read the block device under a path
// at most N bytes a second (blkio.throttle.read_bps_device). Only the processes moved into it are slowed;
// the rest of the machine reads that disk as before. Pages already in the page cache are not read from the
// disk at all: drop a file's pages first (flushAndDropCache) for its reads to be slow.

const BLKIO = '/sys/fs/cgroup/blkio';
let made = 0;

export interface SlowDisk {
  /** Moves a process (all its threads) into the cgroup. */
  add(pid: number): Promise<void>;
  /** Moves whatever is still in the cgroup back to the root one and removes the cgroup. */
  remove(): Promise<void>;
}

/** A cgroup named PREFIX-PID-N whose members read the disk holding `path` at most bytesPerSecond. */
export async function slowDiskFor(prefix: string, path: string, bytesPerSecond: number): Promise<SlowDisk> {
  if (!existsSync(join(BLKIO, 'blkio.throttle.read_bps_device')))
    throw new Error(
      `${BLKIO}/blkio.throttle.read_bps_device is missing: this test needs the cgroup v1 blkio controller (mount it: mkdir -p ${BLKIO} && mount -t cgroup -o blkio cgroup ${BLKIO})`,
    );
  const device = await wholeDisk(path);
  const dir = join(BLKIO, `${prefix}-${process.pid}-${++made}`);
  await mkdir(dir);
  try {
    await writeFile(join(dir, 'blkio.throttle.read_bps_device'), `${device} ${bytesPerSecond}\n`);
  } catch (error) {
    await rmdir(dir);
    throw error;
  }
  return {
    add: (pid) => writeFile(join(dir, 'cgroup.procs'), `${pid}\n`),
    async remove() {
      for (let i = 0; i < 100; i++) {
        const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
        for (const pid of pids) await writeFile(join(BLKIO, 'cgroup.procs'), `${pid}\n`).catch(() => undefined);
        try {
          await rmdir(dir);
          return;
        } catch {
          await sleep(20); // a member exiting right now
        }
      }
      await rmdir(dir);
    },
  };
}

// The MAJOR:MINOR of the whole disk holding path (blkio throttles whole disks, not partitions).
async function wholeDisk(path: string): Promise<string> {
  const { dev } = await stat(path);
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  if (major === 0)
    throw new Error(
      `${path} is on a file system with no block device (major 0: tmpfs, overlay, …): a slow disk needs one; set TMPDIR to a directory on a disk`,
    );
  const sysfs = resolve('/sys/dev/block', await readlink(`/sys/dev/block/${major}:${minor}`));
  if (!existsSync(join(sysfs, 'partition'))) return `${major}:${minor}`;
  return (await readFile(join(dirname(sysfs), 'dev'), 'utf8')).trim();
}
