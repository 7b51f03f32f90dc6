// `remusd run --pid P` refuses, before the first dump, a target that CRIU cannot or must not checkpoint:
// otherwise each attempt fails (or freezes something vital) and remusd gives up only after five failures.

import { nestedPidNamespace, type NestedPidNamespace } from './pid-namespace.js';
import { ancestry, processPlace, type ProcessPlace } from './proc.js';

/** What the refusal is decided from (gathered from /proc by attachFacts). */
export interface AttachFacts {
  pid: number;
  /** undefined: no such process. */
  place: ProcessPlace | undefined;
  /** remusd's own pid first, then its parent, … up to init. */
  selfAncestry: readonly number[];
  /** criu.extra_args has --shell-job (CRIU then dumps a process that is not a session leader). */
  shellJob: boolean;
  /** A process below pid in a pid namespace of its own (CRIU cannot dump it with pid's tree). */
  nested: NestedPidNamespace | undefined;
}

/** Why the process cannot be supervised, in a sentence that says what to do; undefined when it can. */
export function attachRefusal(facts: AttachFacts): string | undefined {
  const { pid, place, selfAncestry, shellJob, nested } = facts;
  if (!Number.isSafeInteger(pid) || pid < 1) return 'is not a process id; give a positive whole number';
  if (pid === 1) return 'is init: CRIU cannot dump it, and freezing it would stall the whole machine';
  if (pid === selfAncestry[0]) return 'is remusd itself: CRIU would freeze the process that runs it';
  if (selfAncestry.includes(pid)) {
    return 'is an ancestor of remusd (e.g. the shell that started it): CRIU would dump remusd and CRIU with it; start the workload separately and attach to its pid';
  }
  if (place === undefined) return 'does not exist (no /proc entry): check the pid';
  if (place.state === 'Z' || place.state === 'X')
    return 'is a zombie: it has exited and only waits for its parent to reap it';
  if (place.kernelThread) return 'is a kernel thread: CRIU checkpoints user processes only';
  if (nested !== undefined) {
    const hint =
      nested.parent === pid
        ? `if ${pid} is unshare and ${nested.pid} the init it forked, give --pid ${nested.pid}`
        : `give --pid the namespace's init (${nested.pid} is one of its processes)`;
    return `has a descendant, ${nested.pid}, in a pid namespace of its own, and CRIU cannot dump a nested pid namespace: ${hint}`;
  }
  if (place.sessionId !== pid && !shellJob) {
    return (
      `is not a session leader (it belongs to session ${place.sessionId}), and CRIU dumps only whole sessions: ` +
      'start it with setsid (or use `remusd run -- CMD`, which does), or add --shell-job to criu.extra_args if it is a job of a shell'
    );
  }
  return undefined;
}

/** Gathers the facts about pid and remusd itself from /proc. */
export async function attachFacts(pid: number, shellJob: boolean): Promise<AttachFacts> {
  const valid = Number.isSafeInteger(pid) && pid >= 1;
  return {
    pid,
    place: valid ? await processPlace(pid) : undefined,
    selfAncestry: await ancestry(process.pid),
    shellJob,
    nested: valid ? await nestedPidNamespace(pid) : undefined,
  };
}
