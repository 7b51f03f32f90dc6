import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { killAndWait } from './workload.js';

/** A process holding a chosen pid, as any unrelated process on a long-running backup may. */
export interface PidHolder {
  pid: number;
  release(): Promise<void>;
}

// How many forks may try for the pid: others on this machine fork too, and each one that comes between our
// write and our fork takes the pid we aimed at (then we try again; the pid only comes round after pid_max).
const ATTEMPTS = 200;

/**
 * Starts `sleep` with exactly `pid` (which must be free): the kernel gives the next fork ns_last_pid + 1, so
 * write pid - 1 there and fork, until the fork gets it. Root only.
 */
export async function occupyPid(pid: number): Promise<PidHolder> {
  const got: number[] = [];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    await writeFile('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
    child.unref();
    if (child.pid === pid) return { pid, release: () => killAndWait(pid) };
    if (child.pid === undefined) continue; // spawn failed: 'sleep' is on every machine, so try again
    got.push(child.pid);
    await killAndWait(child.pid);
  }
  throw new Error(`could not start a process with pid ${pid} in ${ATTEMPTS} forks (got ${got.slice(-5).join(', ')})`);
}

/** The NSpid line of /proc/PID/status: the process's pid in each pid namespace it is in, the host's first. */
export async function namespacePids(pid: number): Promise<number[]> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return (/^NSpid:\s+(.*)$/m.exec(status)?.[1] ?? '').split(/\s+/).map(Number);
}
