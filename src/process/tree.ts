import { readdir, readFile } from 'node:fs/promises';

// A process tree found through /proc: what a timed-out CRIU leaves behind. CRIU's restore forks the
// workload's tasks, and those call setsid() early (the restored root is a session leader again), so
// they leave CRIU's process group: a group kill alone misses them. Seen here: a restore of a truncated
// pages image left the restored root spinning at 100 % CPU in its own session, CRIU's main process
// blocking every signal but SIGKILL, and a `timeout` that killed only the top process.

interface ProcEntry {
  ppid: number;
  pgrp: number;
}

/** pid → parent and process group, for every live process in /proc (zombies are dead already: skipped). */
async function processTable(): Promise<Map<number, ProcEntry>> {
  const table = new Map<number, ProcEntry>();
  const names = await readdir('/proc');
  await Promise.all(
    names
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        try {
          const stat = await readFile(`/proc/${name}/stat`, 'utf8');
          // state ppid pgrp … follow the command name, which may itself contain spaces and parentheses.
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (fields[0] !== 'Z' && fields[0] !== 'X')
            table.set(Number(name), { ppid: Number(fields[1]), pgrp: Number(fields[2]) });
        } catch {
          // gone between readdir and read
        }
      }),
  );
  return table;
}

/** The processes of group `pgid` and every descendant of `root` or of `known` (by parent links). */
export async function treeMembers(
  root: number,
  pgid: number,
  known: ReadonlySet<number> = new Set(),
): Promise<number[]> {
  const table = await processTable();
  const members = new Set<number>([...known].filter((pid) => table.has(pid)));
  if (table.has(root)) members.add(root);
  for (const [pid, entry] of table) if (entry.pgrp === pgid) members.add(pid);
  // Parent links, to a fixed point: a child's entry may come before its parent's in the table.
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, entry] of table) {
      if (!members.has(pid) && members.has(entry.ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return [...members];
}

/**
 * Kills `root`, its process group `pgid` and all their descendants with SIGKILL, and returns the pids it
 * signalled. Every member is stopped (SIGSTOP) first, round after round until no new one appears, so
 * that nothing forks or reparents itself out of reach between the listing and the kill. `beforeKill` runs
 * between the stop and the kill, on the stopped members (src/criu/safe-kill.ts picks the moment there).
 */
export async function killTree(
  root: number,
  pgid = root,
  beforeKill?: (members: readonly number[]) => Promise<void>,
): Promise<number[]> {
  // A group id of 0 or 1, or our own, would signal far more than a CRIU tree: never.
  if (!(root > 1 && pgid > 1 && pgid !== process.pid))
    throw new RangeError(`refusing to kill the tree of pid ${root}, group ${pgid}`);
  const seen = new Set<number>();
  for (let round = 0; round < 50; round++) {
    const fresh = (await treeMembers(root, pgid, seen)).filter((pid) => !seen.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      seen.add(pid);
      signal(pid, 'SIGSTOP');
    }
  }
  await beforeKill?.([...seen]);
  for (const pid of seen) signal(pid, 'SIGKILL');
  signal(-pgid, 'SIGKILL');
  return [...seen];
}

/** Sends a signal to pid; a process that is already gone is no error. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
