import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readlink, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { sleep } from './wait.js';

// A slow disk for chosen processes: a cgroup whose members read the block device under a path at most N
// bytes a second. cgroup v1 (this machine, the CI machines): the blkio controller's
// blkio.throttle.read_bps_device. cgroup v2 (the qemu VM, most current distributions): the io controller's
// io.max ("MAJ:MIN rbps=N"), enabled in the root's cgroup.subtree_control first. Only the processes moved into
// it are slowed; the rest of the machine reads that disk as before. Pages already in the page cache are not
// read from the disk at all: drop a file's pages first (flushAndDropCache) for its reads to be slow.

/** Where and how a read limit is written, per cgroup version. */
export interface ThrottleLayout {
  version: 1 | 2;
  /** The hierarchy's root: the new cgroup is made below it, and members go back to it at the end. */
  root: string;
  /** The file in the new cgroup that takes the limit. */
  file: string;
  /** Its content for a disk and a rate. */
  line(device: string, bytesPerSecond: number): string;
}

const V1: ThrottleLayout = {
  version: 1,
  root: '/sys/fs/cgroup/blkio',
  file: 'blkio.throttle.read_bps_device',
  line: (device, rate) => `${device} ${rate}\n`,
};
const V2: ThrottleLayout = {
  version: 2,
  root: '/sys/fs/cgroup',
  file: 'io.max',
  line: (device, rate) => `${device} rbps=${rate}\n`,
};

/**
 * The layout this machine offers: v1 blkio where it is mounted, else v2 with the io controller available at
 * the root (cgroup.controllers lists it); undefined, with what was looked at, when neither is.
 */
export function throttleLayout(
  exists: (path: string) => boolean,
  controllers: () => string | undefined,
): ThrottleLayout | string {
  if (exists(join(V1.root, V1.file))) return V1;
  if ((controllers() ?? '').split(/\s+/).includes('io')) return V2;
  return (
    `neither ${join(V1.root, V1.file)} (cgroup v1 blkio) nor the io controller in ${join(V2.root, 'cgroup.controllers')} (cgroup v2) is there: ` +
    `mount one (v1: mkdir -p ${V1.root} && mount -t cgroup -o blkio cgroup ${V1.root}; v2: mount -t cgroup2 cgroup2 ${V2.root})`
  );
}

let made = 0;

export interface SlowDisk {
  /** Moves a process (all its threads) into the cgroup. */
  add(pid: number): Promise<void>;
  /** Moves whatever is still in the cgroup back to the root one and removes the cgroup. */
  remove(): Promise<void>;
}

/** A cgroup named PREFIX-PID-N whose members read the disk holding `path` at most bytesPerSecond. */
export async function slowDiskFor(prefix: string, path: string, bytesPerSecond: number): Promise<SlowDisk> {
  const layout = throttleLayout(existsSync, () => {
    try {
      return readFileSync(join(V2.root, 'cgroup.controllers'), 'utf8');
    } catch {
      return undefined;
    }
  });
  if (typeof layout === 'string') throw new Error(`a slow disk needs a cgroup read limit: ${layout}`);
  const device = await wholeDisk(path);
  // v2: a child gets the io controller only once its parent enables it for its children.
  if (layout.version === 2) await writeFile(join(layout.root, 'cgroup.subtree_control'), '+io\n');
  const dir = join(layout.root, `${prefix}-${process.pid}-${++made}`);
  await mkdir(dir);
  try {
    await writeFile(join(dir, layout.file), layout.line(device, bytesPerSecond));
  } catch (error) {
    await rmdir(dir);
    throw error;
  }
  return {
    add: (pid) => writeFile(join(dir, 'cgroup.procs'), `${pid}\n`),
    async remove() {
      for (let i = 0; i < 100; i++) {
        const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
        for (const pid of pids) await writeFile(join(layout.root, 'cgroup.procs'), `${pid}\n`).catch(() => undefined);
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
