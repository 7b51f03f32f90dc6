import { isAlive } from '../process/proc.js';
import type { SessionProcess } from '../process/session-leader.js';
import type { Target } from './supervisor-deps.js';

/** A workload remusd started itself: its exit is reported by the child's exit event. */
export function startedTarget(child: SessionProcess): Target {
  let status: string | undefined;
  let code: number | undefined;
  child.exited.then(
    (exit) => {
      status = exit.signal ? `killed by ${exit.signal}` : `exited with status ${exit.code}`;
      code = exit.signal ? undefined : (exit.code ?? undefined);
    },
    (error: Error) => (status = `could not start: ${error.message}`),
  );
  return {
    pid: child.pid,
    alive: async () => status === undefined && (await isAlive(child.pid)),
    exitStatus: () => status ?? 'gone (status unknown)',
    exitCode: () => code,
  };
}

/** A workload remusd attached to by pid: it is not our child, so only its disappearance can be seen. */
export function attachedTarget(pid: number): Target {
  return {
    pid,
    alive: () => isAlive(pid),
    exitStatus: () => `process ${pid} is gone (not our child: exit status unknown)`,
    exitCode: () => undefined,
  };
}
