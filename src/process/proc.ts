import { readdir, readFile } from 'node:fs/promises';

/** The fields of /proc/PID/stat after the command name (state first), or undefined when the process is gone. */
async function statFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces or parentheses: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU time a process has used, user and system, in clock ticks (USER_HZ: 100 a second on Linux), or undefined when it is gone. */
export async function cpuTicks(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid); // utime and stime are fields 14 and 15 of /proc/PID/stat
  return fields === undefined ? undefined : Number(fields[11]) + Number(fields[12]);
}

/** The one-letter state of a process from /proc/PID/stat (R, S, D, T, t, Z, X…), or undefined when it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  return (await statFields(pid))?.[0];
}

/**
 * Waits, at most timeoutMs, while any of pids is a zombie: dead, but its pid not yet released. An orphan's
 * zombie waits for PID 1, which reaped after 1-4 s here, and CRIU cannot restore over it meanwhile ("Can't
 * fork for PID: File exists"). Returns the pids still held when time ran out.
 */
export async function waitWhileZombies(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const held: number[] = [];
    for (const pid of pids) if ((await processState(pid)) === 'Z') held.push(pid);
    if (held.length === 0 || performance.now() >= deadline) return held;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True while the process exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The session id of a process (field 6 of /proc/PID/stat), or undefined when it is gone. */
export async function sessionId(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid);
  return fields === undefined ? undefined : Number(fields[3]);
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is
 * gone. A pid and its start time name one process for good: a recycled pid has a later start time.
 */
export async function startTime(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid);
  return fields === undefined ? undefined : Number(fields[19]);
}

/** What /proc/PID/stat says about a process's place: state, parent, session, and whether it is a kernel thread. */
export interface ProcessPlace {
  state: string;
  parent: number;
  sessionId: number;
  kernelThread: boolean;
}

// PF_KTHREAD in the flags field (field 9) of /proc/PID/stat.
const PF_KTHREAD = 0x00200000;

/** The process's place (see ProcessPlace), or undefined when it is gone. */
export async function processPlace(pid: number): Promise<ProcessPlace | undefined> {
  const fields = await statFields(pid);
  if (fields === undefined) return undefined;
  return {
    state: fields[0] ?? '?',
    parent: Number(fields[1]),
    sessionId: Number(fields[3]),
    kernelThread: (Number(fields[6]) & PF_KTHREAD) !== 0,
  };
}

/** The pids from `pid` up to init, following parents (pid first). */
export async function ancestry(pid: number): Promise<number[]> {
  const chain: number[] = [];
  for (let current = pid; current > 0 && !chain.includes(current) && chain.length < 4096;) {
    chain.push(current);
    const place = await processPlace(current);
    if (place === undefined) break;
    current = place.parent;
  }
  return chain;
}

/** The children of every thread of a process (a thread's children file lists those it forked); [] when gone. */
export async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  const lists = await Promise.all(
    tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')),
  );
  return lists.flatMap((list) =>
    list
      .split(' ')
      .filter((word) => word !== '')
      .map(Number),
  );
}
