import { isAlive } from '../process/proc.js';
import type { SessionProcess } from '../process/session.js';
import type { Target } from './supervisor.js';

/** A workload remusd started itself: its exit is reported by the child's exit event. */
export function startedTarget(child: SessionProcess): Target {
  let status: string | undefined;
  child.exited.then(
    ({ code, signal }) => (status = signal ? `killed by ${signal}` : `exited with status ${code}`),
    (error: Error) => (status = `could not start: ${error.message}`),
  );
  return {
    pid: child.pid,
    alive: async () => status === undefined && (await isAlive(child.pid)),
    exitStatus: () => status ?? 'gone (status unknown)',
  };
}

/** A workload remusd attached to by pid: it is not our child, so only its disappearance can be seen. */
export function attachedTarget(pid: number): Target {
  return {
    pid,
    alive: () => isAlive(pid),
    exitStatus: () => `process ${pid} is gone (not our child: exit status unknown)`,
  };
}
