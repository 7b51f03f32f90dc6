// Killing a CRIU that dumps a workload at a moment that does not kill the workload with it.

import { setTimeout as sleep } from 'node:timers/promises';
import { unsafeToKillCriu } from '../process/criu-safe-point.js';
import { snapshotProcess } from '../process/leftovers-snapshot.js';
import { processState } from '../process/proc.js';
import { killTree, signal } from '../process/tree.js';

/** How a kill of CRIU went: the pids killed, and whether the workload was at a safe point then. */
export interface CriuKill {
  killed: number[];
  /** ms from CRIU's stop to its kill: the time spent letting it reach a safe point. */
  waitedMs: number;
  /** Why the kill could still hurt the workload, when the budget ran out first (empty: it was safe). */
  unsafe: string[];
  /** What the first look after CRIU's stop found unsafe (empty: it was safe at once). */
  firstLook: string[];
}

// How long CRIU runs between two looks at the workload, when it must move on to a safe point. A dump's
// injected syscalls and parasite commands take microseconds to a few ms each.
const RESUME_MS = 2;

/**
 * Kills CRIU's tree (src/process/tree.ts) but, between its stop and its kill, lets it run in short steps
 * until no thread of the workload is where a dead CRIU would kill it (src/process/criu-safe-point.ts), at
 * most budgetMs; then kills it anyway (its frozen workload is the worse harm) and says why it was unsafe.
 */
export async function killCriuSafely(criuPid: number, workloadPid: number, budgetMs = 2000): Promise<CriuKill> {
  let unsafe: string[] = [];
  let firstLook: string[] = [];
  let waitedMs = 0;
  const killed = await killTree(criuPid, criuPid, async (members) => {
    const since = performance.now();
    await whileRunning(members, 200);
    for (let look = 0; ; look++) {
      unsafe = unsafeToKillCriu(await snapshotProcess(workloadPid));
      if (look === 0) firstLook = unsafe;
      if (unsafe.length === 0 || performance.now() - since > budgetMs) break;
      // A traced thread that runs (parasite code, an injected syscall) gets there by itself: look again
      // first. One stopped at an unsafe point moves on only when CRIU does.
      if (look % 2 === 0 && unsafe.every((reason) => reason.includes('running'))) {
        await sleep(1);
        continue;
      }
      for (const pid of members) signal(pid, 'SIGCONT');
      await sleep(RESUME_MS);
      for (const pid of members) signal(pid, 'SIGSTOP');
      await whileRunning(members, 200);
    }
    waitedMs = performance.now() - since;
  });
  return { killed, waitedMs, unsafe, firstLook };
}

// Waits, at most timeoutMs, until every one of pids is stopped (State T) or gone: SIGSTOP takes effect
// only when the process next runs.
async function whileRunning(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(pids.map((pid) => processState(pid)));
    if (states.every((state) => state === undefined || state === 'T' || state === 'Z' || state === 'X')) return;
    if (performance.now() > deadline) return;
    await sleep(1);
  }
}
