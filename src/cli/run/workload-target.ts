import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Target } from '../../loop/supervisor-deps.js';
import { attachedTarget, startedTarget } from '../../loop/target.js';
import { readPidFile, writePidFile } from '../../process/pid-file.js';
import { inPidNamespace, pidNamespaceInit } from '../../process/pid-namespace.js';
import { isAlive } from '../../process/proc.js';
import { startSessionLeader, type SessionProcess } from '../../process/session-leader.js';
import { UserError } from '../errors.js';
import type { RunNetwork } from '../run-network.js';

/**
 * The workload of `remusd run`: a running process to attach to, or a command to start. With `resume` (the
 * config's workload.command), a process that an earlier remusd started on this images directory and that
 * still runs is supervised again instead of starting a second copy (remusd restarted by its unit).
 */
export type WorkloadSpec =
  | { pid: number }
  | { command: string; args: string[]; logFile: string | undefined; resume?: boolean; pidNamespace?: boolean };

/** Where remusd records the workload it started ("PID STARTTIME"), in the images directory. */
export const STARTED_WORKLOAD_FILE = 'workload.pid';

/** Attaches to the workload or starts it (inside the run's network namespace, when there is one). */
export async function acquireTarget(
  workload: WorkloadSpec,
  root: string,
  network: RunNetwork | undefined,
  log: Logger,
): Promise<Target> {
  if ('pid' in workload) {
    // `remusd run` refused unfit targets already (src/process/attach-check.ts); this catches one that died since.
    if (!(await isAlive(workload.pid))) throw new UserError(`--pid ${workload.pid}: no such process`);
    return attachedTarget(workload.pid);
  }
  const started = join(root, STARTED_WORKLOAD_FILE);
  if (workload.resume === true) {
    // The start time recorded beside the pid: a process that merely got the same pid is not ours.
    const earlier = await readPidFile(started);
    if (earlier.ok) {
      log.info(
        `workload.command: pid ${earlier.pid}, started by an earlier remusd on ${root}, still runs: supervising it instead of starting another`,
      );
      return attachedTarget(earlier.pid);
    }
  }
  const logFile = workload.logFile ?? join(root, 'workload.out');
  // In a pid namespace: nsenter --net=… unshare --pid --fork setsid CMD, and the workload is unshare's child.
  const inner = workload.pidNamespace === true ? inPidNamespace(workload.command, workload.args) : workload;
  const { command, args } = network?.wrap(inner.command, inner.args) ?? inner;
  const child = startSessionLeader(command, args, logFile);
  if (child.pid < 0) {
    const failure = await child.exited.catch((error: Error) => error);
    throw new UserError(
      `cannot start ${workload.command}: ${failure instanceof Error ? failure.message : 'unknown error'}`,
    );
  }
  const workloadPid = workload.pidNamespace === true ? await namespaceInit(child, workload.command) : child.pid;
  log.info(
    `started ${workload.command} as pid ${workloadPid} (${workload.pidNamespace === true ? 'init of its own pid namespace, ' : ''}session leader; output in ${logFile})`,
  );
  if (workload.resume === true) {
    await writePidFile(started, workloadPid).catch((error: Error) =>
      log.warn(
        `could not record the workload's pid in ${started} (${error.message}): a restarted remusd would start another copy`,
      ),
    );
  }
  return startedTarget({ pid: workloadPid, exited: child.exited });
}

// The init unshare forked (unshare exits with its status, so its exit stands for the init's), or why none came.
async function namespaceInit(unshare: SessionProcess, command: string): Promise<number> {
  const exited = unshare.exited.then((exit) => {
    throw new UserError(
      `cannot start ${command} in a pid namespace: unshare ${exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`} (see its output in the workload log)`,
    );
  });
  exited.catch(() => undefined); // once the init is found, its exit is the workload's, which startedTarget reports
  return Promise.race([pidNamespaceInit(unshare.pid), exited]).catch((error: unknown) => {
    throw error instanceof UserError
      ? error
      : new UserError(`cannot start ${command} in a pid namespace: ${String(error)}`);
  });
}

// How long --stop-workload waits for the workload to exit before its network namespace is closed (kept if it still runs).
const STOP_GRACE_MS = 5000;

/** --stop-workload: SIGTERM, and with a network namespace to close afterwards, a short wait for the exit. */
export async function stopWorkload(target: Target, network: RunNetwork | undefined, log: Logger): Promise<void> {
  if (!(await target.alive())) return;
  log.info(`--stop-workload: sending SIGTERM to ${target.pid}`);
  process.kill(target.pid, 'SIGTERM');
  if (network === undefined) return;
  const deadline = performance.now() + STOP_GRACE_MS;
  while ((await target.alive()) && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
}
