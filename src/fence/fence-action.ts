// Stopping a fenced workload: SIGSTOP (freeze, the default) or SIGKILL of its whole process tree.
//
// Why SIGSTOP and not the cgroup freezer: the freezer needs the workload in a cgroup of its own from the
// start, and CRIU records cgroup membership in the images and recreates it on restore (the backup would
// need the same hierarchy); SIGSTOP works on any workload, attached with --pid or started by remusd, and
// cannot be caught, blocked or ignored. Its weakness: anyone may SIGCONT it again, so an operator must not
// (the fence's log line says so). The tree is found from /proc: every process in the workload's session
// (it is a session leader) and every descendant, rescanned until a pass finds nothing new, so a fork racing
// the walk is caught on the next pass (a stopped parent forks no more).

import { readdirSync, readFileSync } from 'node:fs';
import type { FenceAction } from '../config/fencing.js';

/** A process as the tree walk needs it. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  sid: number;
}

/** The pids of root's tree among procs: root, its descendants, and the members of its session. */
export function treeOf(procs: readonly ProcEntry[], root: number): number[] {
  const rootEntry = procs.find((p) => p.pid === root);
  if (rootEntry === undefined) return [];
  const inTree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (inTree.has(p.pid)) continue;
      if (inTree.has(p.ppid) || (rootEntry.sid === root && p.sid === root)) {
        inTree.add(p.pid);
        grew = true;
      }
    }
  }
  return [...inTree];
}

// Synchronous on purpose: the async fs calls queue behind libuv's 4 threads, which a checkpoint in progress
// keeps busy writing and fsyncing images (measured: a fence took 1.6 s to stop the workload that way; a
// synchronous pass over /proc takes a few ms here).
function scanProcs(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(fields[1]), sid: Number(fields[3]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** What the fence did to the workload. */
export interface FenceOutcome {
  action: FenceAction;
  /** Every pid signalled. */
  pids: number[];
  elapsedMs: number;
}

/**
 * Freezes (SIGSTOP) or kills (SIGKILL) root's process tree. Kill freezes first and then kills every pid
 * found: killing the root first would reparent its children to init and hide them from the walk.
 */
export function stopWorkload(root: number, action: FenceAction): FenceOutcome {
  const started = performance.now();
  const signalled = new Set<number>();
  const send = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = (pid: number) => {
    send(pid, 'SIGSTOP');
    signalled.add(pid);
  };
  stop(root); // first: a stopped root forks no more children
  for (let pass = 0; pass < 10; pass++) {
    const fresh = treeOf(scanProcs(), root).filter((pid) => !signalled.has(pid));
    if (fresh.length === 0 && pass > 0) break;
    fresh.forEach(stop);
  }
  if (action === 'kill') for (const pid of signalled) send(pid, 'SIGKILL');
  return { action, pids: [...signalled], elapsedMs: performance.now() - started };
}
