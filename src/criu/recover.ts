// After a CRIU run that ended abnormally (killed by a timeout or by anyone, crashed): how the workload was
// left, and the repair of what can be repaired: a group stop is continued. What cannot be repaired (death,
// a thread still traced) is returned for the caller to say loudly.

import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../fs/error-code.js';
import { judgeLeftovers, type LeftoversVerdict } from '../process/criu-leftovers.js';
import { isFrozen, thaw } from '../process/freezer.js';
import { snapshotProcess } from '../process/leftovers-snapshot.js';

/** What was found, what was done about it, and how the workload is now. */
export interface Recovery {
  found: LeftoversVerdict;
  /** What was done, in words (empty: nothing needed). */
  actions: string[];
  now: LeftoversVerdict;
}

// A dead tracer's tracees are detached as it exits; give that and a parasite's return a moment.
const SETTLE_MS = 1000;

/**
 * Looks at the workload after CRIU ended abnormally and continues it if it was left in a group stop.
 * `stoppedBefore`: the workload was stopped before CRIU ran (its own stop, then left alone). `stoppedOnPurpose`:
 * someone meant it to stop during the dump (the fence SIGSTOPs a fenced workload and cancels the dump): a
 * stop is then reported, never continued.
 */
export async function recoverAfterCriu(
  pid: number,
  options: {
    stoppedBefore: boolean;
    stoppedOnPurpose?: string | undefined;
    /** CRIU's --freeze-cgroup, and whether it was frozen before CRIU ran (then it is not CRIU's to thaw). */
    freezer?: { cgroup: string; frozenBefore: boolean } | undefined;
  },
): Promise<Recovery> {
  const look = async () => judgeLeftovers(await snapshotProcess(pid), options.stoppedBefore);
  // A SIGTRAP a dead CRIU left lands as its tracee wakes: look only after that has had time to happen.
  await sleep(100);
  let found = await look();
  const deadline = performance.now() + SETTLE_MS;
  while (found.condition === 'traced' && performance.now() < deadline) {
    await sleep(20);
    found = await look();
  }
  const actions: string[] = [];
  const { freezer } = options;
  if (freezer !== undefined && !freezer.frozenBefore && (await isFrozen(freezer.cgroup)) === true) {
    if (options.stoppedOnPurpose !== undefined)
      actions.push(`left the freezer cgroup ${freezer.cgroup} frozen: ${options.stoppedOnPurpose}`);
    else {
      await thaw(freezer.cgroup).then(
        () => actions.push(`thawed the freezer cgroup ${freezer.cgroup}, which CRIU had frozen`),
        (error: unknown) => actions.push(`could not thaw the freezer cgroup ${freezer.cgroup}: ${errorMessage(error)}`),
      );
    }
  }
  if (found.stoppedThreads.length > 0 && options.stoppedOnPurpose !== undefined) {
    actions.push(`left it stopped: ${options.stoppedOnPurpose}`);
  } else if (found.stoppedThreads.length > 0) {
    try {
      process.kill(pid, 'SIGCONT');
      actions.push(`sent SIGCONT to ${pid} (threads ${found.stoppedThreads.join(', ')} were stopped)`);
    } catch (error) {
      actions.push(`could not send SIGCONT to ${pid}: ${errorMessage(error)}`);
    }
    await sleep(50);
  }
  return { found, actions, now: actions.length > 0 ? await look() : found };
}
