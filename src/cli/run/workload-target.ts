import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Target } from '../../loop/supervisor-deps.js';
import { attachedTarget, startedTarget } from '../../loop/target.js';
import { readPidFile, writePidFile } from '../../process/pid-file.js';
import { inPidNamespace, pidNamespaceInit } from '../../process/pid-namespace.js';
import { isAlive } from '../../process/proc.js';
import { killTree } from '../../process/tree.js';
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

/**
 * --stop-workload's default grace (--stop-grace): SIGTERM first, SIGKILL of the tree after this long. The init
 * of a pid namespace (--pid-namespace) without a SIGTERM handler never sees SIGTERM from outside (the kernel
 * drops it), and a daemon may just be slow: waiting forever would hang remusd's stop, giving up would leave
 * the workload running although the operator asked for it to stop.
 */
export const DEFAULT_STOP_GRACE_MS = 10_000;
// After SIGKILL: how long to wait for the pid to go (a zombie is reaped by its parent, remusd for a started one).
const AFTER_KILL_MS = 5000;

/** What --stop-workload needed: nothing (gone already), SIGTERM, or SIGKILL after the grace. */
export type StopOutcome = 'gone' | 'SIGTERM' | 'SIGKILL';

/** --stop-workload: SIGTERM, then, if it still runs after graceMs, SIGKILL of its whole tree; says which it needed. */
export async function stopWorkload(target: Target, graceMs: number, log: Logger): Promise<StopOutcome> {
  if (!(await target.alive())) return 'gone';
  log.info(`--stop-workload: sending SIGTERM to ${target.pid}`);
  signal(target.pid, 'SIGTERM');
  const started = performance.now();
  if (await exitsWithin(target, graceMs)) {
    log.info(
      `--stop-workload: workload ${target.pid} exited ${Math.round(performance.now() - started)} ms after SIGTERM`,
    );
    return 'SIGTERM';
  }
  log.warn(
    `--stop-workload: workload ${target.pid} still runs ${graceMs} ms after SIGTERM (a pid namespace's init without a SIGTERM handler ignores it): sending SIGKILL to its process tree`,
  );
  await killTree(target.pid);
  if (await exitsWithin(target, AFTER_KILL_MS)) log.warn(`--stop-workload: workload ${target.pid} killed (SIGKILL)`);
  else log.error(`--stop-workload: workload ${target.pid} still there ${AFTER_KILL_MS} ms after SIGKILL`);
  return 'SIGKILL';
}

// Polls target until it is gone (true) or ms have passed (false).
async function exitsWithin(target: Target, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (await target.alive()) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone meanwhile
  }
}
