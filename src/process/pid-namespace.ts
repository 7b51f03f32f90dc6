// A workload run as the init of a pid namespace of its own. CRIU dumps the tree rooted at that init and
// restores it into a NEW pid namespace: the pids inside are the dumped ones, and the restore needs none of
// the host's pids free. Without it a restore recreates the tree's host pids, and fails ("Can't fork for PID:
// File exists") as soon as any unrelated process holds one, which on a backup that runs for months is a
// matter of time.
//
// Checked here with CRIU 4.2.1: `unshare --pid --fork setsid CMD` dumped (`criu dump -t INIT`), its host pid
// then held by another process, restored with `criu restore -d --pidfile F` into a new pid namespace (F got
// the new host pid), also with --external net[…] and --inherit-fd into a fresh network namespace. Two
// variants failed:
// - `unshare --kill-child`: the restored init was SIGKILLed at once. CRIU restores the parent-death signal,
//   and the restored init's parent is CRIU, which exits right after a detached restore.
// - `unshare --mount-proc`: a mount namespace of its own, which CRIU refused to dump here ("mnt: …/run/netns/…
//   doesn't have a proper root mount"). Without it the workload sees the host's /proc, where /proc/self is its
//   host pid while getpid() says 1.

import { readlink } from 'node:fs/promises';
import { childrenOf, sessionId } from './proc.js';

/** The pid of a pid namespace's init, inside it. */
export const INIT_PID = 1;

/**
 * The command line that runs COMMAND as the init of a new pid namespace and the leader of a session of its
 * own (CRIU dumps a session leader without --shell-job). unshare stays outside as the init's parent: it
 * exits with the init's status. `setsid` never forks here: the init is not a process group leader.
 */
export function inPidNamespace(command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: 'unshare', args: ['--pid', '--fork', 'setsid', command, ...args] };
}

/**
 * The host pids a restore of a dumped tree with these pids (as the images name them) needs free: none when
 * the tree is a pid namespace's init and its descendants, because CRIU restores it into a new namespace.
 * Such a tree is the only one with pid 1 in its images: CRIU dumps a pid namespace only from its init, and
 * remusd never dumps the host's init (`run --pid 1` is refused).
 */
export function hostPidsNeeded(dumpedPids: readonly number[]): number[] {
  return dumpedPids.includes(INIT_PID) ? [] : [...dumpedPids];
}

/**
 * The host pid of the init that `unshare --pid --fork` (running as unsharePid) forked, once it leads its own
 * session (setsid has run): before that, CRIU would refuse it as a job of unshare's session.
 */
export async function pidNamespaceInit(unsharePid: number, timeoutMs = 5000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const children = await childrenOf(unsharePid);
    const init = children[0];
    if (init !== undefined && (await sessionId(init)) === init) return init;
    if (performance.now() >= deadline)
      throw new Error(
        `unshare (pid ${unsharePid}) has no child leading its own session after ${timeoutMs} ms (children: "${children.join(' ')}")`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A process below a root that lives in another pid namespace than the root, and its parent. */
export interface NestedPidNamespace {
  pid: number;
  parent: number;
}

// How many of the root's descendants nestedPidNamespace looks at: a workload tree is a few processes; a
// fork bomb under the root must not make `remusd run` walk /proc for ever.
const MAX_DESCENDANTS = 4096;

/**
 * The first descendant of root (breadth first, at most MAX_DESCENDANTS looked at) whose pid namespace is not
 * root's, or undefined. CRIU cannot dump such a tree ("Can't dump nested pid namespace"): it dumps a pid
 * namespace only from its init. The usual case is `--pid` given unshare's pid instead of the init it forked.
 */
export async function nestedPidNamespace(root: number): Promise<NestedPidNamespace | undefined> {
  const rootNamespace = await pidNamespaceOf(root);
  if (rootNamespace === undefined) return undefined;
  const queue = [root];
  for (let looked = 0; looked < queue.length && looked < MAX_DESCENDANTS; looked++) {
    const parent = queue[looked] ?? root;
    for (const child of await childrenOf(parent)) {
      const namespace = await pidNamespaceOf(child);
      if (namespace !== undefined && namespace !== rootNamespace) return { pid: child, parent };
      queue.push(child);
    }
  }
  return undefined;
}

// The pid namespace a process lives in ("pid:[4026531836]"), or undefined when it is gone.
async function pidNamespaceOf(pid: number): Promise<string | undefined> {
  return readlink(`/proc/${pid}/ns/pid`).catch(() => undefined);
}
