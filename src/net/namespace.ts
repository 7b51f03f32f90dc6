import { mkdir, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ip, ipIn } from './ip.js';

/** Where iproute2 keeps named network namespaces (bind mounts of nsfs). */
export const NETNS_DIR = '/run/netns';
/** Namespaces remusd created carry a marker here (tmpfs, like /run/netns: both vanish at reboot). */
const OWNED_DIR = '/run/remusd/netns';
const NSFS_MAGIC = 0x6e736673;

/** /run/netns/NAME: what nsenter --net= and CRIU's --inherit-fd open. */
export function netnsPath(name: string): string {
  return join(NETNS_DIR, name);
}

/** Whether /run/netns/NAME is a live namespace (an nsfs mount), a stale file left without its mount, or absent. */
export async function namespaceState(name: string): Promise<'live' | 'stale' | 'absent'> {
  try {
    return (await statfs(netnsPath(name))).type === NSFS_MAGIC ? 'live' : 'stale';
  } catch {
    return 'absent';
  }
}

/** Creates the named namespace with its loopback up, and marks it as remusd's. */
export async function createNamespace(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ipIn(name, ['link', 'set', 'lo', 'up']);
  await mkdir(OWNED_DIR, { recursive: true });
  await writeFile(
    join(OWNED_DIR, name),
    `${JSON.stringify({ created_by_pid: process.pid, created_at: new Date().toISOString() })}\n`,
  );
}

/** Removes /run/netns/NAME (processes still inside keep the namespace itself alive) and remusd's marker. */
export async function deleteNamespace(name: string): Promise<void> {
  if ((await namespaceState(name)) === 'live') await ip(['netns', 'delete', name]);
  else await rm(netnsPath(name), { force: true });
  await rm(join(OWNED_DIR, name), { force: true });
}

/** Whether remusd created the namespace (so it may delete it), as opposed to an operator. */
export async function createdByRemusd(name: string): Promise<boolean> {
  return stat(join(OWNED_DIR, name)).then(
    () => true,
    () => false,
  );
}

/** The namespace's inode: what CRIU's --external net[INODE] names. */
export async function namespaceInode(name: string): Promise<number> {
  return (await stat(netnsPath(name))).ino;
}

/** The inode of the network namespace a process is in, or undefined when the process is gone. */
export async function processNamespaceInode(pid: number): Promise<number | undefined> {
  return stat(`/proc/${pid}/ns/net`).then(
    (s) => s.ino,
    () => undefined,
  );
}

/** The processes inside the network namespace with this inode (a scan of /proc). */
export async function processesInNamespace(inode: number): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const inodes = await Promise.all(pids.map(processNamespaceInode));
  return pids.filter((_, i) => inodes[i] === inode);
}
